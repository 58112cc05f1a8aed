//! The host application's commands (`admin-token`, `webhook`, `org set`) and webhook delivery
//! by the real binary, killed mid-delivery.

use std::time::{Duration, Instant};

use scim_test_db::receiver::Receiver;
use serde_json::Value;

use crate::{is_token, request, Scratch, Server};

#[test]
fn admin_tokens_webhooks_and_the_scim_managed_flag_from_the_command_line() {
    let scratch = Scratch::new();
    scratch.ok(&["org", "create", "acme"]);
    scratch.ok(&["org", "create", "globex"]);

    let global = scratch.ok(&["admin-token", "create"]);
    assert!(is_token(global.trim_end()), "{global:?}");
    let limited = scratch.ok(&[
        "admin-token",
        "create",
        "--org",
        "acme",
        "--name",
        "acme-ops",
    ]);
    assert!(is_token(limited.trim_end()), "{limited:?}");
    let error = scratch.fails(&["admin-token", "create", "--org", "nope"]);
    assert!(error.contains("no organisation named `nope`"), "{error}");
    let list = scratch.ok(&["admin-token", "list"]);
    let (_, secret) = global.trim_end()["scim_".len()..].split_once('_').unwrap();
    assert!(!list.contains(secret), "a secret is listed: {list}");
    assert!(list.contains("acme-ops") && list.contains("all"), "{list}");
    let id = &limited.trim_end()["scim_".len().."scim_".len() + 16];
    assert!(scratch.ok(&["admin-token", "revoke", id]).contains(id));

    let added = scratch.ok(&[
        "webhook",
        "add",
        "--org",
        "acme",
        "--url",
        "https://hooks.example.com/scim",
        "--events",
        "deactivated,deleted",
    ]);
    let lines: Vec<&str> = added.lines().collect();
    assert_eq!(lines.len(), 2, "exactly id and secret: {added}");
    let webhook = lines[0].strip_prefix("id=").unwrap();
    let secret = lines[1].strip_prefix("secret=").unwrap();
    assert!(secret.starts_with("whsec_"));
    let status = scratch.ok(&["webhook", "status", "--org", "acme"]);
    assert!(
        status.contains(webhook) && status.contains("ok"),
        "{status}"
    );
    assert!(!status.contains(secret), "{status}");
    let rotated = scratch.ok(&["webhook", "rotate-secret", "--org", "acme", webhook]);
    assert!(rotated.starts_with("secret=whsec_") && !rotated.contains(secret));
    for bad in [
        &["webhook", "add", "--org", "acme", "--url", "ftp://x/"][..],
        &[
            "webhook",
            "add",
            "--org",
            "acme",
            "--url",
            "https://x/",
            "--events",
            "nope",
        ],
        &["webhook", "remove", "--org", "globex", webhook],
    ] {
        scratch.fails(bad);
    }
    scratch.ok(&["webhook", "remove", "--org", "acme", webhook]);
    assert_eq!(
        scratch
            .ok(&["webhook", "list", "--org", "acme"])
            .lines()
            .count(),
        1
    );

    let set = scratch.ok(&["org", "set", "acme", "--scim-managed", "false"]);
    assert!(set.contains("false"), "{set}");
    let set = scratch.ok(&["org", "set", "acme", "--scim-managed", "unset"]);
    assert!(set.contains("unset"), "{set}");
    scratch.fails(&["org", "set", "acme", "--scim-managed", "maybe"]);
}

/// A `scimd serve` killed (SIGKILL) while a webhook request is in flight loses nothing: started
/// again, it sends that event again, then the rest, in order.
#[test]
fn a_server_killed_mid_delivery_loses_no_event() {
    let scratch = Scratch::new();
    scratch.ok(&["org", "create", "acme"]);
    let token = scratch.ok(&["token", "create", "--org", "acme", "--name", "idp"]);
    let token = token.trim_end();
    let receiver = Receiver::start();
    // The first request is left unanswered: the server dies waiting for it.
    receiver
        .holding
        .store(1, std::sync::atomic::Ordering::SeqCst);
    scratch.ok(&["webhook", "add", "--org", "acme", "--url", &receiver.url]);
    let args = ["--webhook-lease", "2s"];
    let server = Server::start(&scratch, &args);
    for name in ["a", "b", "c"] {
        let body = format!(
            r#"{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"{name}"}}"#
        );
        let (status, _) = request(
            server.port,
            "POST",
            "/scim/v2/Users",
            Some(token),
            Some(&body),
        )
        .expect("the server answers");
        assert_eq!(status, 201);
    }
    wait_for(|| !receiver.all().is_empty());
    drop(server); // SIGKILL, the first event unacknowledged
    assert!(receiver.accepted().is_empty());

    let _again = Server::start(&scratch, &args);
    wait_for(|| receiver.accepted().len() >= 3);
    let seqs: Vec<i64> = receiver
        .accepted()
        .iter()
        .map(|d| d.body()["data"]["seq"].as_i64().unwrap())
        .collect();
    assert_eq!(seqs.len(), 3, "{seqs:?}");
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    let held = &receiver.all()[0];
    assert_eq!(
        held.id,
        receiver.accepted()[0].id,
        "the held event went again first"
    );
    assert_eq!(held.body()["type"], Value::from("user.created"));
}

fn wait_for(mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !check() {
        assert!(Instant::now() < deadline, "timed out");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `/metrics` on its own listener, in the Prometheus text format, after a few requests.
#[test]
fn metrics_are_served_apart_from_scim() {
    let scratch = Scratch::new();
    scratch.ok(&["org", "create", "acme"]);
    let token = scratch.ok(&["token", "create", "--org", "acme", "--name", "idp"]);
    let token = token.trim_end();
    let metrics_port = crate::free_port();
    let listen = format!("127.0.0.1:{metrics_port}");
    let server = Server::start(&scratch, &["--metrics-listen", &listen]);
    assert_eq!(server.get("/scim/v2/Users", Some(token)).0, 200);
    assert_eq!(server.get("/scim/v2/Users", Some("scim_wrong")).0, 401);
    // Not on the SCIM listener.
    assert_eq!(server.get("/metrics", None).0, 404);

    let (status, text) = crate::get(metrics_port, "/metrics", None).expect("metrics answer");
    assert_eq!(status, 200);
    for expected in [
        r#"scim_http_requests_total{route="/scim/v2/Users",method="GET",status="200"} 1"#,
        r#"scim_auth_failures_total{reason="malformed"} 1"#,
        "scim_http_request_duration_seconds_count",
        r#"scim_db_pool_connections{state="in_use"}"#,
        "scim_token_hashes_total",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
    // No organisation, id or token among the labels.
    assert!(
        !text.contains("acme") && !text.contains(&token[5..21]),
        "{text}"
    );
}
