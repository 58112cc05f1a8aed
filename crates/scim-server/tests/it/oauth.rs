//! OAuth 2.0 client credentials (RFC 6749 §4.4): each client authentication method, with keys
//! generated here for private_key_jwt (RFC 7523 §2.2); the errors of RFC 6749 §5.2; secret
//! rotation without a gap; revocation; token expiry; RFC 8414 metadata.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_http::Request;
use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::{test, App};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use rsa::traits::PublicKeyParts;
use scim_server::{oauth_routes, scope, OAuthConfig, ServerConfig};
use scim_store::oauth::{self, NewSecret};
use scim_store::OrgId;
use scim_test_db::store_test;
use serde_json::{json, Value};

use crate::{call, get, run, test_verifier, Harness, Reply};

const TOKEN_URL: &str = "http://localhost:8080/oauth/token";

impl Harness {
    /// The SCIM scope and the OAuth routes, as scimd mounts them.
    async fn oauth_app(
        &self,
    ) -> impl Service<Request, Response = ServiceResponse<impl MessageBody>, Error = actix_web::Error>
    {
        let state = self.state.clone();
        test::init_service(
            App::new()
                .service(scope("/scim/v2", self.state.clone()))
                .configure(move |cfg| oauth_routes(cfg, state)),
        )
        .await
    }

    /// A client of `org` with one secret (returned) and the optional JWK set.
    fn client(&self, org: OrgId, name: &str, jwks: Option<&str>) -> (String, String) {
        let id = scim_auth::TokenId::generate().unwrap().to_string();
        let secret = self.state.client_verifier().issue().unwrap();
        let mut conn = self.store.get().unwrap();
        oauth::create_client(
            &mut conn,
            org,
            &id,
            name,
            jwks,
            &NewSecret {
                id: secret.id().to_string(),
                secret_hash: secret.phc_hash().to_owned(),
                expires_at: SystemTime::now() + Duration::from_secs(3600),
            },
        )
        .unwrap();
        (id, secret.expose_token().to_owned())
    }
}

/// `POST /oauth/token` with `form` and an optional `Authorization`.
fn token_request(form: &[(&str, &str)], authorization: Option<String>) -> test::TestRequest {
    let body = serde_urlencoded::to_string(form).unwrap();
    let mut req = test::TestRequest::post()
        .uri("/oauth/token")
        .insert_header(("Host", "localhost:8080"))
        .insert_header(("Content-Type", "application/x-www-form-urlencoded"))
        .set_payload(body);
    if let Some(value) = authorization {
        req = req.insert_header(("Authorization", value));
    }
    req
}

fn basic(id: &str, secret: &str) -> Option<String> {
    Some(format!(
        "Basic {}",
        STANDARD.encode(format!("{id}:{secret}"))
    ))
}

fn assert_oauth_error(reply: &Reply, status: u16, code: &str) {
    assert_eq!(reply.status.as_u16(), status, "{reply:?}");
    assert_eq!(reply.body["error"], code, "{reply:?}");
    assert_eq!(reply.header("cache-control"), Some("no-store"));
}

fn access_token(reply: &Reply) -> String {
    assert_eq!(reply.status, 200, "{reply:?}");
    assert_eq!(reply.body["token_type"], "Bearer");
    assert_eq!(reply.body["scope"], "scim");
    assert_eq!(reply.header("cache-control"), Some("no-store"));
    reply.body["access_token"].as_str().unwrap().to_owned()
}

/// An RSA key pair: the private key as PKCS#8 PEM and the public key as a JWK.
fn rsa_key(kid: &str) -> (String, Value) {
    let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
    let pem = key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
    let jwk = json!({
        "kty": "RSA", "kid": kid, "use": "sig",
        "n": URL_SAFE_NO_PAD.encode(key.n().to_bytes_be()),
        "e": URL_SAFE_NO_PAD.encode(key.e().to_bytes_be()),
    });
    (pem, jwk)
}

/// A P-256 key pair: the private key as PKCS#8 PEM and the public key as a JWK.
fn ec_key(kid: &str) -> (String, Value) {
    let key = p256::SecretKey::random(&mut rand::thread_rng());
    let pem = key.to_pkcs8_pem(LineEnding::LF).unwrap().to_string();
    let mut jwk: Value = serde_json::from_str(&key.public_key().to_jwk_string()).unwrap();
    jwk["kid"] = json!(kid);
    (pem, jwk)
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A client assertion signed with `pem` as `alg`, with `claims` over the defaults.
fn assertion(alg: Algorithm, kid: &str, pem: &str, client: &str, claims: Value) -> String {
    let mut body = json!({
        "iss": client, "sub": client, "aud": TOKEN_URL,
        "exp": now() + 60, "iat": now(), "jti": scim_auth::TokenId::generate().unwrap().to_string(),
    });
    for (key, value) in claims.as_object().unwrap() {
        body[key] = value.clone();
    }
    let mut header = Header::new(alg);
    header.kid = Some(kid.to_owned());
    let key = match alg {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
        _ => EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
    };
    jsonwebtoken::encode(&header, &body, &key).unwrap()
}

fn jwt_form(assertion: &str) -> Vec<(&'static str, String)> {
    vec![
        ("grant_type", "client_credentials".into()),
        (
            "client_assertion_type",
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
        ),
        ("client_assertion", assertion.to_owned()),
    ]
}

fn borrowed<'a>(form: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    form.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

store_test!(
    client_secrets_by_basic_and_by_post_get_tokens_scim_accepts,
    |store| {
        run(async {
            let h = Harness::new(&store);
            let org = h.org("acme");
            let (id, secret) = h.client(org, "entra", None);
            let app = h.oauth_app().await;

            let grant = [("grant_type", "client_credentials"), ("scope", "scim")];
            let by_basic = call(&app, token_request(&grant, basic(&id, &secret))).await;
            let token = access_token(&by_basic);
            assert_eq!(by_basic.body["expires_in"], 3600);
            let users = call(&app, get("/scim/v2/Users", &token)).await;
            assert_eq!(users.status, 200, "{users:?}");

            let by_post = [
                ("grant_type", "client_credentials"),
                ("client_id", id.as_str()),
                ("client_secret", secret.as_str()),
            ];
            let token = access_token(&call(&app, token_request(&by_post, None)).await);
            // Writes made with it name the client in the audit trail.
            let user =
                json!({"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "b"});
            let created = call(&app, crate::post("/scim/v2/Users", &token, &user)).await;
            assert_eq!(created.status, 201);
            let events =
                scim_store::events::list_after(&mut h.store.get().unwrap(), org, 0, 10).unwrap();
            assert_eq!(events[0].token_id.as_deref(), Some(id.as_str()));
        });
    }
);

store_test!(token_endpoint_errors_follow_rfc_6749_section_5_2, |store| {
    run(async {
        let h = Harness::new(&store);
        let org = h.org("acme");
        let (id, secret) = h.client(org, "entra", None);
        let (other, other_secret) = h.client(h.org("globex"), "okta", None);
        let app = h.oauth_app().await;
        let grant = [("grant_type", "client_credentials")];

        let wrong = call(
            &app,
            token_request(&grant, basic(&id, "scim_AAAAAAAAAAAAAAAA_x")),
        )
        .await;
        assert_oauth_error(&wrong, 401, "invalid_client");
        assert!(wrong
            .header("www-authenticate")
            .unwrap()
            .starts_with("Basic"));
        // Another client's valid secret is no secret of this client.
        let crossed = call(&app, token_request(&grant, basic(&id, &other_secret))).await;
        assert_oauth_error(&crossed, 401, "invalid_client");
        let unknown = call(&app, token_request(&grant, basic("nobody", &secret))).await;
        assert_oauth_error(&unknown, 401, "invalid_client");
        assert_oauth_error(
            &call(&app, token_request(&grant, None)).await,
            401,
            "invalid_client",
        );

        let ok = basic(&id, &secret);
        let password = [("grant_type", "password")];
        assert_oauth_error(
            &call(&app, token_request(&password, ok.clone())).await,
            400,
            "unsupported_grant_type",
        );
        let admin_scope = [
            ("grant_type", "client_credentials"),
            ("scope", "scim admin"),
        ];
        assert_oauth_error(
            &call(&app, token_request(&admin_scope, ok.clone())).await,
            400,
            "invalid_scope",
        );
        assert_oauth_error(
            &call(&app, token_request(&[], ok.clone())).await,
            400,
            "invalid_request",
        );
        let repeated = [
            ("grant_type", "client_credentials"),
            ("grant_type", "client_credentials"),
        ];
        assert_oauth_error(
            &call(&app, token_request(&repeated, ok.clone())).await,
            400,
            "invalid_request",
        );
        let two_methods = [
            ("grant_type", "client_credentials"),
            ("client_id", other.as_str()),
            ("client_secret", other_secret.as_str()),
        ];
        assert_oauth_error(
            &call(&app, token_request(&two_methods, ok.clone())).await,
            400,
            "invalid_request",
        );
        let json_body = test::TestRequest::post()
            .uri("/oauth/token")
            .insert_header(("Content-Type", "application/json"))
            .set_payload(r#"{"grant_type":"client_credentials"}"#);
        assert_oauth_error(&call(&app, json_body).await, 400, "invalid_request");
        let get = test::TestRequest::get().uri("/oauth/token");
        assert_eq!(call(&app, get).await.status, 405);

        // A SCIM request with a made-up access token is a plain 401.
        let forged = format!("scimat_{}_{}", org.0, "A".repeat(43));
        call(&app, crate::get("/scim/v2/Users", &forged))
            .await
            .assert_error(401);
    });
});

store_test!(rotation_has_no_gap_and_revocation_ends_tokens, |store| {
    run(async {
        let h = Harness::new(&store);
        let org = h.org("acme");
        let (id, old) = h.client(org, "entra", None);
        let fresh = h.state.client_verifier().issue().unwrap();
        let mut conn = h.store.get().unwrap();
        oauth::add_secret(
            &mut conn,
            org,
            &id,
            &NewSecret {
                id: fresh.id().to_string(),
                secret_hash: fresh.phc_hash().to_owned(),
                expires_at: SystemTime::now() + Duration::from_secs(3600),
            },
        )
        .unwrap();
        let app = h.oauth_app().await;
        let grant = [("grant_type", "client_credentials")];
        // Both secrets work while the identity provider switches over.
        access_token(&call(&app, token_request(&grant, basic(&id, &old))).await);
        let token = access_token(
            &call(
                &app,
                token_request(&grant, basic(&id, fresh.expose_token())),
            )
            .await,
        );
        let old_id = &old["scim_".len().."scim_".len() + 16];
        oauth::revoke_secret(&mut conn, old_id).unwrap();
        h.state
            .client_verifier()
            .forget(&scim_auth::TokenId::parse(old_id).unwrap());
        let refused = call(&app, token_request(&grant, basic(&id, &old))).await;
        assert_oauth_error(&refused, 401, "invalid_client");
        assert_eq!(call(&app, get("/scim/v2/Users", &token)).await.status, 200);

        // Revoking the client ends its access tokens and its secrets.
        oauth::revoke_client(&mut conn, Some(org), &id).unwrap();
        h.state.forget_client(&id);
        call(&app, get("/scim/v2/Users", &token))
            .await
            .assert_error(401);
        let refused = call(
            &app,
            token_request(&grant, basic(&id, fresh.expose_token())),
        )
        .await;
        assert_oauth_error(&refused, 401, "invalid_client");
    });
});

store_test!(access_tokens_expire, |store| {
    run(async {
        let config = ServerConfig {
            oauth: OAuthConfig {
                access_token_lifetime: Duration::from_secs(1),
                ..OAuthConfig::default()
            },
            ..ServerConfig::default()
        };
        let h = Harness::with(&store, config, test_verifier());
        let org = h.org("acme");
        let (id, secret) = h.client(org, "entra", None);
        let app = h.oauth_app().await;
        let grant = [("grant_type", "client_credentials")];
        let reply = call(&app, token_request(&grant, basic(&id, &secret))).await;
        assert_eq!(reply.body["expires_in"], 1);
        let token = access_token(&reply);
        assert_eq!(call(&app, get("/scim/v2/Users", &token)).await.status, 200);
        actix_web::rt::time::sleep(Duration::from_millis(1100)).await;
        call(&app, get("/scim/v2/Users", &token))
            .await
            .assert_error(401);
    });
});

store_test!(private_key_jwt_with_rs256_and_es256, |store| {
    run(async {
        let h = Harness::new(&store);
        let org = h.org("acme");
        let (rsa_pem, rsa_jwk) = rsa_key("rsa-1");
        let (ec_pem, ec_jwk) = ec_key("ec-1");
        let jwks = json!({"keys": [rsa_jwk, ec_jwk]}).to_string();
        let (id, _) = h.client(org, "entra", Some(&jwks));
        let app = h.oauth_app().await;
        let send = |assertion: &str| {
            let form = jwt_form(assertion);
            token_request(&borrowed(&form), None)
        };

        for (alg, kid, pem) in [
            (Algorithm::RS256, "rsa-1", &rsa_pem),
            (Algorithm::ES256, "ec-1", &ec_pem),
        ] {
            let signed = assertion(alg, kid, pem, &id, json!({}));
            let token = access_token(&call(&app, send(&signed)).await);
            assert_eq!(call(&app, get("/scim/v2/Users", &token)).await.status, 200);
            // RFC 7523 §3: the same jti is not accepted twice.
            assert_oauth_error(&call(&app, send(&signed)).await, 401, "invalid_client");
        }

        let refused = |claims: Value| assertion(Algorithm::ES256, "ec-1", &ec_pem, &id, claims);
        for (why, signed) in [
            ("expired", refused(json!({"exp": now() - 120}))),
            ("too long", refused(json!({"exp": now() + 3600}))),
            (
                "wrong audience",
                refused(json!({"aud": "https://elsewhere/token"})),
            ),
            ("no jti", {
                let mut claims = json!({"iss": id, "sub": id, "aud": TOKEN_URL, "exp": now() + 60});
                claims.as_object_mut().unwrap().remove("jti");
                let mut header = Header::new(Algorithm::ES256);
                header.kid = Some("ec-1".into());
                let key = EncodingKey::from_ec_pem(ec_pem.as_bytes()).unwrap();
                jsonwebtoken::encode(&header, &claims, &key).unwrap()
            }),
            (
                "another client",
                refused(json!({"iss": "someone", "sub": "someone"})),
            ),
            // Signed by a key the client never registered, under a registered kid.
            ("unknown key", {
                let (stranger, _) = ec_key("ec-1");
                assertion(Algorithm::ES256, "ec-1", &stranger, &id, json!({}))
            }),
            (
                "unknown kid",
                assertion(Algorithm::ES256, "ec-9", &ec_pem, &id, json!({})),
            ),
        ] {
            let reply = call(&app, send(&signed)).await;
            assert_eq!(reply.status, 401, "{why}: {reply:?}");
            assert_eq!(reply.body["error"], "invalid_client", "{why}");
        }

        // A client without keys cannot use private_key_jwt.
        let (keyless, _) = h.client(org, "okta", None);
        let signed = assertion(Algorithm::ES256, "ec-1", &ec_pem, &keyless, json!({}));
        assert_oauth_error(&call(&app, send(&signed)).await, 401, "invalid_client");
    });
});

store_test!(metadata_describes_the_token_endpoint, |store| {
    run(async {
        let h = Harness::new(&store);
        let app = h.oauth_app().await;
        let req = test::TestRequest::get()
            .uri("/.well-known/oauth-authorization-server")
            .insert_header(("Host", "localhost:8080"));
        let reply = call(&app, req).await;
        assert_eq!(reply.status, 200);
        // RFC 8414 §2.
        assert_eq!(reply.body["issuer"], "http://localhost:8080");
        assert_eq!(reply.body["token_endpoint"], TOKEN_URL);
        assert_eq!(
            reply.body["grant_types_supported"],
            json!(["client_credentials"])
        );
        let methods = reply.body["token_endpoint_auth_methods_supported"].clone();
        for method in [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
        ] {
            assert!(methods.as_array().unwrap().contains(&json!(method)));
        }
        assert_eq!(reply.body["scopes_supported"], json!(["scim"]));
    });
});
