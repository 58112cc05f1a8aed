//! The administration commands: `--help`, `migrate`, `org`, `token` (SPEC: tokens are random,
//! shown once, named, listable, revocable, optionally expiring).

use std::time::{Duration, SystemTime};

use crate::{is_token, request, Scratch, Server};

#[test]
fn every_command_has_help() {
    let scratch = Scratch::new();
    for args in [
        &["--help"][..],
        &["help"],
        &["serve", "--help"],
        &["config", "--help"],
        &["migrate", "--help"],
        &["org", "--help"],
        &["org", "create", "--help"],
        &["org", "list", "--help"],
        &["token", "--help"],
        &["token", "create", "--help"],
        &["token", "list", "--help"],
        &["token", "revoke", "--help"],
        &["purge-tombstones", "--help"],
        &["org", "set", "--help"],
        &["admin-token", "--help"],
        &["admin-token", "create", "--help"],
        &["webhook", "--help"],
        &["webhook", "add", "--help"],
        &["webhook", "status", "--help"],
    ] {
        let out = scratch.ok(args);
        assert!(out.contains("Usage: scimd"), "{args:?}: {out}");
    }
    // --help touches no database.
    assert!(!scratch.dir.path().join("db").exists());
    let version = scratch.ok(&["--version"]);
    assert!(version.starts_with("scimd "), "{version}");
    // A mistake is a usage error, not a panic.
    let output = scratch.run(&["token", "create", "--org", "x"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn migrate_creates_the_database_and_its_directory() {
    let scratch = Scratch::new();
    let out = scratch.ok(&["migrate"]);
    assert!(out.contains("up to date"), "{out}");
    assert!(scratch.dir.path().join("db").join("scim.db").is_file());
    // Idempotent.
    scratch.ok(&["migrate"]);
}

#[test]
fn organisations_are_created_and_listed() {
    let scratch = Scratch::new();
    let out = scratch.ok(&["org", "create", "acme"]);
    assert!(out.contains("acme"), "{out}");
    scratch.ok(&["org", "create", "globex"]);
    let error = scratch.fails(&["org", "create", "acme"]);
    assert!(error.contains("already exists"), "{error}");
    let error = scratch.fails(&["org", "create", " "]);
    assert!(error.contains("empty"), "{error}");
    let list = scratch.ok(&["org", "list"]);
    let names: Vec<&str> = list
        .lines()
        .skip(1)
        .map(|line| line.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(names, ["acme", "globex"], "{list}");
    // --database-url on the command line wins over SCIM_DATABASE_URL.
    let other = Scratch::new();
    let out = scratch.ok(&["--database-url", &other.url, "org", "list"]);
    assert_eq!(out.lines().count(), 1, "{out}");
}

#[test]
fn tokens_are_created_listed_without_secrets_and_revoked() {
    let scratch = Scratch::new();
    let error = scratch.fails(&["token", "create", "--org", "acme", "--name", "okta"]);
    assert!(error.contains("no organisation named `acme`"), "{error}");
    scratch.ok(&["org", "create", "acme"]);

    // stdout is exactly the token, so `TOKEN=$(scimd token create …)` works.
    let okta = scratch.ok(&["token", "create", "--org", "acme", "--name", "okta"]);
    assert!(okta.ends_with('\n'));
    let okta = okta.trim_end_matches('\n');
    assert!(is_token(okta), "{okta:?}");
    let entra = scratch.ok(&[
        "token",
        "create",
        "--org",
        "acme",
        "--name",
        "entra",
        "--expires-in",
        "90d",
    ]);
    let entra = entra.trim_end();
    assert!(is_token(entra), "{entra:?}");
    assert_ne!(okta, entra);
    let error = scratch.fails(&["token", "create", "--org", "acme", "--name", "okta"]);
    assert!(
        error.contains("already has a token named `okta`"),
        "{error}"
    );
    let error = scratch.fails(&[
        "token",
        "create",
        "--org",
        "acme",
        "--name",
        "x",
        "--expires-in",
        "soon",
    ]);
    assert!(error.contains("invalid duration"), "{error}");

    let list = scratch.ok(&["token", "list", "--org", "acme"]);
    for token in [okta, entra] {
        let (id, secret) = token["scim_".len()..].split_once('_').unwrap();
        assert!(list.contains(id), "{list}");
        assert!(!list.contains(secret), "a secret is listed: {list}");
    }
    assert!(!list.contains("argon2"), "a hash is listed: {list}");
    let row = |name: &str| -> Vec<String> {
        let list = scratch.ok(&["token", "list", "--org", "acme"]);
        list.lines()
            .find(|line| line.split_whitespace().nth(1) == Some(name))
            .unwrap_or_else(|| panic!("no {name} in {list}"))
            .split_whitespace()
            .map(str::to_owned)
            .collect()
    };
    // ID NAME CREATED EXPIRES REVOKED LAST-USED
    let okta_row = row("okta");
    assert_eq!(okta_row[3..], ["never", "-", "never"]);
    let entra_row = row("entra");
    let expires = humantime::parse_rfc3339(&entra_row[3]).unwrap();
    let in_90_days = SystemTime::now() + Duration::from_secs(90 * 86_400);
    let off = in_90_days
        .duration_since(expires)
        .unwrap_or_else(|e| e.duration());
    assert!(off < Duration::from_secs(3600), "{entra_row:?}");

    let okta_id = &okta_row[0];
    let out = scratch.ok(&["token", "revoke", okta_id]);
    assert!(out.contains(okta_id.as_str()), "{out}");
    let revoked = row("okta");
    assert!(humantime::parse_rfc3339(&revoked[4]).is_ok(), "{revoked:?}");
    let error = scratch.fails(&["token", "revoke", "NoSuchTokenId12"]);
    assert!(error.contains("no token"), "{error}");
    let error = scratch.fails(&["token", "list", "--org", "nope"]);
    assert!(error.contains("no organisation"), "{error}");
}

// Tombstones keep a deleted user's data until the retention scrubs it (issue 9); an operator
// who must erase them now runs `scimd purge-tombstones`, beside the running server.
#[test]
fn purge_tombstones_deletes_them_and_says_how_many() {
    let scratch = Scratch::new();
    let server = Server::start(&scratch, &[]);
    let token = server.printed_token().unwrap();
    let mut ids = Vec::new();
    for name in ["bjensen", "jsmith"] {
        let body = format!(
            r#"{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"{name}","password":"t1meMa$heen"}}"#
        );
        let (status, created) = request(
            server.port,
            "POST",
            "/scim/v2/Users",
            Some(&token),
            Some(&body),
        )
        .unwrap();
        assert_eq!(status, 201, "{created}");
        let created: serde_json::Value = serde_json::from_str(&created).unwrap();
        ids.push(created["id"].as_str().unwrap().to_owned());
    }
    let (status, _) = request(
        server.port,
        "DELETE",
        &format!("/scim/v2/Users/{}", ids[0]),
        Some(&token),
        None,
    )
    .unwrap();
    assert_eq!(status, 204);

    let out = scratch.ok(&["purge-tombstones", "--older-than", "1h"]);
    assert_eq!(out.trim(), "purged 0 tombstones");
    let out = scratch.ok(&["purge-tombstones"]);
    assert_eq!(out.trim(), "purged 1 tombstone");
    let out = scratch.ok(&["purge-tombstones"]);
    assert_eq!(out.trim(), "purged 0 tombstones");
    // The live user is untouched.
    let (status, _) = server.get(&format!("/scim/v2/Users/{}", ids[1]), Some(&token));
    assert_eq!(status, 200);
    let error = scratch.fails(&["purge-tombstones", "--older-than", "soon"]);
    assert!(error.contains("invalid duration"), "{error}");
}

/// `migrate status|down` and what `/healthz` and `/readyz` say about a database behind.
#[test]
fn migrations_are_listed_and_reverted_and_readiness_follows() {
    let scratch = Scratch::new();
    scratch.ok(&["migrate"]);
    let status = scratch.ok(&["migrate", "status"]);
    assert!(status.lines().count() > 3, "{status}");
    assert!(
        status.lines().all(|line| line.starts_with("applied ")),
        "{status}"
    );
    let reverted = scratch.ok(&["migrate", "down"]);
    assert!(reverted.starts_with("reverted "), "{reverted}");
    let status = scratch.ok(&["migrate", "status"]);
    assert!(
        status.lines().last().unwrap().starts_with("pending "),
        "{status}"
    );

    // Alive, but not ready: a migration is missing.
    let server = Server::start(&scratch, &["--no-migrate"]);
    assert_eq!(server.get("/healthz", None).0, 200);
    let (status, body) = server.get("/readyz", None);
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("migrations are pending"), "{body}");
    assert!(!body.contains("sqlite"), "no database details: {body}");
    drop(server);

    scratch.ok(&["migrate", "up"]);
    let server = Server::start(&scratch, &["--no-migrate"]);
    assert_eq!(
        server.get("/readyz", None),
        (200, r#"{"status":"ready"}"#.to_owned())
    );
}

/// `/readyz` says 503 when the database stops answering, while `/healthz` stays 200: the
/// PostgreSQL database the server runs on is dropped under it.
#[test]
fn readiness_follows_the_database() {
    let scratch = Scratch::new();
    let db = scim_test_db::TestDb::postgres();
    let url = db.url().to_owned();
    let server = Server::start(&scratch, &["--database-url", &url]);
    assert_eq!(server.get("/readyz", None).0, 200);
    drop(db); // DROP DATABASE … WITH (FORCE): every connection of the server ends
    let (status, body) = server.get("/readyz", None);
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("does not answer"), "{body}");
    assert!(!body.contains("postgres"), "no database details: {body}");
    assert_eq!(server.get("/healthz", None).0, 200);
}
