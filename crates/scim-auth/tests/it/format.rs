//! The token format: generation, strict parsing, redaction.
//!
//! RFC 7644 §7.4: bearer tokens "MUST contain sufficient entropy to prevent a random guessing
//! attack"; RFC 7644 §2 leaves the scheme to the implementer, so the format is ours.

use std::collections::HashSet;

use scim_auth::{
    AuthError, IssuedToken, Token, TokenId, TokenParseError, TokenSecret, ID_LEN, SECRET_LEN,
    TOKEN_LEN, TOKEN_PREFIX,
};

use crate::support::cheap_params;

const ID: &str = "AbCdEfGh01234567";
const SECRET: &str = "0123456789abcdefghijABCDEFGHIJklmnopqrstUVW";

fn valid() -> String {
    format!("scim_{ID}_{SECRET}")
}

#[test]
fn constants_describe_the_format() {
    assert_eq!(TOKEN_PREFIX, "scim_");
    assert_eq!(ID.len(), ID_LEN);
    assert_eq!(SECRET.len(), SECRET_LEN);
    assert_eq!(valid().len(), TOKEN_LEN);
    // At least 256 random bits in the secret (RFC 7644 §7.4 entropy).
    assert!(SECRET_LEN as f64 * 62f64.log2() >= 256.0);
}

#[test]
fn generated_tokens_round_trip_through_the_parser() {
    for _ in 0..50 {
        let token = Token::generate().unwrap();
        let text = token.expose();
        assert_eq!(text.len(), TOKEN_LEN);
        assert!(text.starts_with(TOKEN_PREFIX));
        let rest = &text[TOKEN_PREFIX.len()..];
        assert!(rest[..ID_LEN].bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(&rest[ID_LEN..=ID_LEN], "_");
        assert!(rest[ID_LEN + 1..]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric()));

        let parsed = Token::parse(&text).unwrap();
        assert_eq!(parsed.id(), token.id());
        assert_eq!(
            parsed.secret().expose_secret(),
            token.secret().expose_secret()
        );
        assert_eq!(*parsed.expose(), *text);
    }
}

#[test]
fn generated_ids_and_secrets_do_not_repeat() {
    let mut ids = HashSet::new();
    let mut secrets = HashSet::new();
    for _ in 0..1000 {
        let token = Token::generate().unwrap();
        assert!(ids.insert(token.id().clone()));
        assert!(secrets.insert(token.secret().expose_secret().to_owned()));
    }
}

#[test]
fn a_hand_written_token_parses() {
    let token = Token::parse(&valid()).unwrap();
    assert_eq!(token.id().as_str(), ID);
    assert_eq!(token.secret().expose_secret(), SECRET);
    assert_eq!(valid().parse::<Token>().unwrap().id().as_str(), ID);
}

#[test]
fn every_malformed_form_is_rejected_with_its_reason() {
    use TokenParseError::*;
    let long_secret = format!("{SECRET}A");
    let cases: Vec<(String, TokenParseError)> = vec![
        (String::new(), MissingPrefix),
        ("scim".into(), MissingPrefix),
        ("scim_".into(), MissingSeparator),
        (format!("SCIM_{ID}_{SECRET}"), MissingPrefix),
        (format!("scim-{ID}_{SECRET}"), MissingPrefix),
        (format!(" scim_{}_{SECRET}", &ID[1..]), MissingPrefix),
        (format!("xcim_{ID}_{SECRET}"), MissingPrefix),
        (format!("{ID}_{SECRET}"), MissingPrefix),
        (format!("scim_{ID}{SECRET}"), MissingSeparator),
        (
            format!("scim_{ID}_{long_secret}"),
            TooLong { max: TOKEN_LEN },
        ),
        (format!("scim_{ID}_{SECRET} "), TooLong { max: TOKEN_LEN }),
        (
            "scim_".to_owned() + &"a".repeat(10_000),
            TooLong { max: TOKEN_LEN },
        ),
        (
            format!("scim_{}_{SECRET}", &ID[1..]),
            IdLength { expected: ID_LEN },
        ),
        (format!("scim__{SECRET}"), IdLength { expected: ID_LEN }),
        (format!("scim_{}-_{SECRET}", &ID[1..]), IdCharacter),
        (
            format!("scim_{}é_{}", &ID[2..], &SECRET[..SECRET_LEN - 2]),
            IdCharacter,
        ),
        (
            format!("scim_{ID}_{}", &SECRET[1..]),
            SecretLength {
                expected: SECRET_LEN,
            },
        ),
        (
            format!("scim_{ID}_"),
            SecretLength {
                expected: SECRET_LEN,
            },
        ),
        (format!("scim_{ID}_{}_", &SECRET[1..]), SecretCharacter),
        (format!("scim_{ID}_{}=", &SECRET[1..]), SecretCharacter),
        (format!("scim_{ID}_{}+", &SECRET[1..]), SecretCharacter),
        (format!("scim_{ID}_{} ", &SECRET[1..]), SecretCharacter),
        (format!("scim_{ID}_{}\0", &SECRET[1..]), SecretCharacter),
        (format!("scim_{ID}_{}ß", &SECRET[2..]), SecretCharacter),
    ];
    for (input, expected) in cases {
        assert_eq!(
            Token::parse(&input).map(|t| t.id().clone()),
            Err(expected),
            "{input:?}"
        );
    }
}

#[test]
fn token_ids_parse_strictly() {
    assert_eq!(TokenId::parse(ID).unwrap().as_str(), ID);
    assert_eq!(ID.parse::<TokenId>().unwrap().to_string(), ID);
    assert_eq!(
        TokenId::parse(&ID[1..]),
        Err(TokenParseError::IdLength { expected: ID_LEN })
    );
    assert_eq!(
        TokenId::parse("AbCdEfGh0123456_"),
        Err(TokenParseError::IdCharacter)
    );
    assert!(TokenSecret::parse(SECRET).is_ok());
    assert!(TokenSecret::parse(&SECRET[1..]).is_err());
}

#[test]
fn debug_and_display_never_show_a_secret() {
    let token = Token::parse(&valid()).unwrap();
    let secret = token.secret().clone();
    let issued = IssuedToken::generate(&cheap_params()).unwrap();
    let issued_secret = issued.expose_token().rsplit('_').next().unwrap().to_owned();

    let renderings = [
        format!("{token:?}"),
        format!("{token}"),
        format!("{token:#?}"),
        format!("{secret:?}"),
        format!("{secret}"),
        format!("{issued:?}"),
        format!("{issued:#?}"),
    ];
    for text in &renderings {
        assert!(!text.contains(SECRET), "{text}");
        assert!(!text.contains(&issued_secret), "{text}");
        assert!(!text.contains(issued.expose_token()), "{text}");
    }
    // The id is public and does show, so logs can say which token was used.
    assert!(renderings[0].contains(ID));
    assert!(renderings[1].contains(ID));
    assert!(renderings[5].contains(issued.id().as_str()));
    assert!(renderings[3].contains("redacted"));
}

#[test]
fn parse_errors_never_echo_the_input() {
    let secretish = "Zq9Zq9Zq9Zq9Zq9Zq9Zq9Zq9Zq9Zq9Zq9Zq9Zq9Zq9Z";
    for input in [
        format!("scim_{ID}_{secretish}x"),
        format!("scim_{ID}_{}!", &secretish[1..]),
        format!("scam_{ID}_{secretish}"),
    ] {
        let error = Token::parse(&input).unwrap_err();
        let auth = AuthError::Malformed(error);
        for text in [error.to_string(), auth.to_string(), format!("{auth:?}")] {
            assert!(!text.contains("Zq9Zq9"), "{text}");
        }
    }
}
