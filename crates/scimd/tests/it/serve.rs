//! `scimd serve` as an operator meets it: the first start prints a token once, tokens made by
//! the CLI authenticate against the running server (RFC 7644 §2), a revoked one gets 401
//! (§3.12), SIGTERM stops it cleanly, and the second start prints nothing.

use serde_json::Value;

use crate::{is_token, Scratch, Server};

const SPC: &str = "/scim/v2/ServiceProviderConfig";

#[test]
fn first_start_tokens_revocation_and_restart() {
    let scratch = Scratch::new();
    // A zero cache TTL makes a revocation take effect at once (the documented bound).
    let server = Server::start(&scratch, &["--token-cache-ttl", "0s"]);
    let initial = server
        .printed_token()
        .unwrap_or_else(|| panic!("no first token printed:\n{}", server.stderr()));

    let (status, body) = server.get(SPC, Some(&initial));
    assert_eq!(status, 200, "{body}");
    let config: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        config["meta"]["location"],
        format!(
            "http://127.0.0.1:{}/scim/v2/ServiceProviderConfig",
            server.port
        )
    );
    assert_eq!(server.get(SPC, None).0, 401);
    let (status, body) = server.get("/nowhere", None);
    assert_eq!(status, 404);
    assert!(
        body.contains("urn:ietf:params:scim:api:messages:2.0:Error"),
        "{body}"
    );

    // The CLI works on the database the server is using.
    let list = scratch.ok(&["org", "list"]);
    assert!(list.contains("default"), "{list}");
    let ci = scratch.ok(&["token", "create", "--org", "default", "--name", "ci"]);
    let ci = ci.trim_end();
    assert!(is_token(ci));
    assert_eq!(server.get(SPC, Some(ci)).0, 200);

    let list = scratch.ok(&["token", "list", "--org", "default"]);
    assert!(list.contains("initial") && list.contains("ci"), "{list}");
    for token in [initial.as_str(), ci] {
        let secret = token.rsplit('_').next().unwrap();
        assert!(!list.contains(secret), "a secret is listed: {list}");
    }
    let ci_id = ci["scim_".len()..].split('_').next().unwrap().to_owned();
    scratch.ok(&["token", "revoke", &ci_id]);
    assert_eq!(server.get(SPC, Some(ci)).0, 401);
    assert_eq!(server.get(SPC, Some(&initial)).0, 200);

    let stderr = server.stderr();
    assert!(!stderr.contains(&initial), "a token reached the log");
    let (status, printed) = server.stop();
    assert!(status.success(), "exit after SIGTERM: {status}");
    assert_eq!(printed.matches(&initial).count(), 2, "{printed}"); // the token and the curl line

    // The second start finds an organisation: no new token, and the old one still works.
    let server = Server::start(&scratch, &["--log-format", "json"]);
    assert_eq!(server.get(SPC, Some(&initial)).0, 200);
    let stderr = server.stderr();
    let (status, printed) = server.stop();
    assert!(status.success());
    assert!(
        !printed.contains("scim_"),
        "a token was printed again: {printed}"
    );
    for line in stderr.lines() {
        let event: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
        assert!(event["level"].is_string(), "{line}");
    }
    // The last-use time made it to the database.
    let list = scratch.ok(&["token", "list", "--org", "default"]);
    let initial_row = list.lines().find(|l| l.contains("initial")).unwrap();
    assert!(!initial_row.trim_end().ends_with("never"), "{list}");
}
