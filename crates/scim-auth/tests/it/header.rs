//! Extracting the token from `Authorization`, and a parser that never panics.
//!
//! RFC 7644 §2 shows `Authorization: Bearer h480djs93hd8`; RFC 7644 §3.12 answers an invalid
//! or missing authorization header with 401. RFC 7235 §2.1 makes the scheme case-insensitive.

use proptest::prelude::*;

use scim_auth::{bearer_token, AuthError, Token, TokenId, TokenParseError, MAX_AUTHORIZATION_LEN};

use crate::support::{test_config, Harness};

#[test]
fn bearer_values_are_extracted() {
    for (header, token) in [
        ("Bearer abc", "abc"),
        ("bearer abc", "abc"),
        ("BEARER abc", "abc"),
        ("bEaReR abc", "abc"),
        ("  Bearer    abc  ", "abc"),
        ("Bearer\tabc", "abc"),
        ("\tBearer \t abc\t", "abc"),
    ] {
        assert_eq!(bearer_token(header), Ok(token), "{header:?}");
    }
}

#[test]
fn missing_and_malformed_values_are_told_apart() {
    for header in ["", "   ", "Bearer", "Bearer   ", "\tbearer\t"] {
        assert_eq!(bearer_token(header), Err(AuthError::Missing), "{header:?}");
    }
    for header in ["Basic dXNlcjpwYXNz", "Bearerabc", "Token abc", "abc"] {
        assert_eq!(
            bearer_token(header),
            Err(AuthError::Malformed(TokenParseError::NotBearer)),
            "{header:?}"
        );
    }
    for header in ["Bearer abc def", "Bearer abc\u{a0}"] {
        assert_eq!(
            bearer_token(header),
            Err(AuthError::Malformed(TokenParseError::ExtraCredentials)),
            "{header:?}"
        );
    }
    let huge = format!("Bearer {}", "a".repeat(MAX_AUTHORIZATION_LEN));
    assert_eq!(
        bearer_token(&huge),
        Err(AuthError::Malformed(TokenParseError::TooLong {
            max: MAX_AUTHORIZATION_LEN
        }))
    );
}

#[test]
fn verify_header_turns_an_absent_header_into_missing() {
    let h = Harness::new(test_config());
    let (id, token) = h.add_token(3, None);
    assert_eq!(h.verifier.verify_header(None, "c"), Err(AuthError::Missing));
    let context = h
        .verifier
        .verify_header(Some(&format!("bearer  {token} ")), "c")
        .unwrap();
    assert_eq!(context.token_id, id);
    assert_eq!(context.org_id, 3);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_header_values_never_panic(value in any::<String>()) {
        let _ = bearer_token(&value);
        let _ = Token::parse(&value);
        let _ = TokenId::parse(&value);
    }

    #[test]
    fn bearer_shaped_values_never_panic(
        value in "[ \t]*(?i:bearer)?[ \t]*(scim_)?[A-Za-z0-9_é\u{0}=+/ -]{0,80}[ \t]*"
    ) {
        if let Ok(token) = bearer_token(&value) {
            prop_assert!(!token.is_empty());
            prop_assert!(!token.contains(char::is_whitespace));
            let _ = Token::parse(token);
        }
    }

    #[test]
    fn near_valid_tokens_never_panic_and_parse_only_if_well_formed(
        id in "[A-Za-z0-9_é]{0,20}",
        secret in "[A-Za-z0-9_é]{0,50}",
    ) {
        let raw = format!("scim_{id}_{secret}");
        let well_formed = id.len() == 16
            && secret.len() == 43
            && id.bytes().chain(secret.bytes()).all(|b| b.is_ascii_alphanumeric());
        prop_assert_eq!(Token::parse(&raw).is_ok(), well_formed);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn the_verifier_never_panics_on_arbitrary_headers(value in any::<String>()) {
        let h = Harness::new(test_config());
        let result = h.verifier.verify_header(Some(&value), "client");
        prop_assert!(result.is_err());
    }
}
