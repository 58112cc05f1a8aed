//! argon2id hashing of secrets.
//!
//! RFC 7644 §7.4 asks that bearer tokens resist guessing; the store keeps only an argon2id
//! hash, so a leaked database does not hand out working tokens.

use scim_auth::{
    hash_secret, owasp_params, verify_secret, HashError, IssuedToken, Token, VerifierConfig,
};

use crate::support::cheap_params;

#[test]
fn a_secret_verifies_against_its_own_hash_only() {
    let token = Token::generate().unwrap();
    let other = Token::generate().unwrap();
    let phc = hash_secret(token.secret(), &cheap_params()).unwrap();
    assert!(phc.starts_with("$argon2id$v=19$m=8,t=1,p=1$"), "{phc}");
    assert!(!phc.contains(token.secret().expose_secret()));
    assert!(verify_secret(token.secret(), &phc).unwrap());
    assert!(!verify_secret(other.secret(), &phc).unwrap());
}

#[test]
fn every_hash_has_a_fresh_salt() {
    let token = Token::generate().unwrap();
    let a = hash_secret(token.secret(), &cheap_params()).unwrap();
    let b = hash_secret(token.secret(), &cheap_params()).unwrap();
    assert_ne!(a, b);
    let salt = |phc: &str| phc.split('$').nth(4).unwrap().to_owned();
    assert_ne!(salt(&a), salt(&b));
    assert!(verify_secret(token.secret(), &a).unwrap());
    assert!(verify_secret(token.secret(), &b).unwrap());
}

#[test]
fn issued_tokens_carry_a_hash_of_their_secret() {
    let issued = IssuedToken::generate(&cheap_params()).unwrap();
    let token = Token::parse(issued.expose_token()).unwrap();
    assert_eq!(token.id(), issued.id());
    assert!(verify_secret(token.secret(), issued.phc_hash()).unwrap());
}

#[test]
fn unusable_stored_hashes_are_errors_not_mismatches() {
    let token = Token::generate().unwrap();
    assert!(matches!(
        verify_secret(token.secret(), "not a phc string"),
        Err(HashError::Argon2(_))
    ));
    assert!(matches!(
        verify_secret(token.secret(), ""),
        Err(HashError::Argon2(_))
    ));
    for incomplete in ["$argon2id$garbage", "$argon2id$v=19$m=8,t=1,p=1"] {
        assert!(
            matches!(
                verify_secret(token.secret(), incomplete),
                Err(HashError::Incomplete)
            ),
            "{incomplete}"
        );
    }
    // A well-formed PHC string of argon2i (not argon2id) is refused.
    let argon2i = "$argon2i$v=19$m=8,t=1,p=1$c29tZXNhbHQ$mIZJ0vBnFHqY6sW5tPYbtQ";
    assert!(matches!(
        verify_secret(token.secret(), argon2i),
        Err(HashError::NotArgon2id)
    ));
}

#[test]
fn default_parameters_are_owasps() {
    let params = owasp_params();
    assert_eq!(
        (params.m_cost(), params.t_cost(), params.p_cost()),
        (19456, 2, 1)
    );
    let config = VerifierConfig::default().argon2;
    assert_eq!(
        (config.m_cost(), config.t_cost(), config.p_cost()),
        (19456, 2, 1)
    );
}

#[test]
fn default_parameters_produce_a_verifiable_hash() {
    let token = Token::generate().unwrap();
    let phc = hash_secret(token.secret(), &owasp_params()).unwrap();
    assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
    assert!(verify_secret(token.secret(), &phc).unwrap());
}

/// RFC 7643 §4.1.1: a user's password is stored as an argon2id hash, salted afresh each time,
/// made under the verifier's cap on concurrent hashes.
#[test]
fn passwords_hash_to_salted_argon2id() {
    use argon2::PasswordVerifier;
    let source = std::sync::Arc::new(scim_auth::MemoryTokenSource::new());
    let config = scim_auth::VerifierConfig {
        argon2: cheap_params(),
        ..scim_auth::VerifierConfig::default()
    };
    let verifier = scim_auth::Verifier::new(source, config);
    let first = verifier.hash_password(&"org", "t1meMa$heen").unwrap();
    let second = verifier.hash_password(&"org", "t1meMa$heen").unwrap();
    assert!(scim_auth::is_argon2id_phc(&first), "{first}");
    assert_ne!(first, second, "a fresh salt per hash");
    assert!(!first.contains("t1meMa$heen"));
    let parsed = argon2::PasswordHash::new(&first).unwrap();
    assert!(argon2::Argon2::default()
        .verify_password(b"t1meMa$heen", &parsed)
        .is_ok());
    assert!(argon2::Argon2::default()
        .verify_password(b"wrong", &parsed)
        .is_err());
    assert!(!scim_auth::is_argon2id_phc("t1meMa$heen"));
}
