//! The operator's first hour (issue 15): where the first token goes, what `migrate` says, what
//! `serve --no-migrate` says on an empty database, a `config` file that reproduces the running
//! settings, an honest revocation bound, a `--base-url` without the SCIM path, and
//! `X-Request-Id` on every route.

use crate::{exchange, free_port, is_token, Scratch, Server};

const SPC: &str = "/scim/v2/ServiceProviderConfig";

fn value<'a>(printed: &'a str, key: &str) -> Option<&'a str> {
    printed
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{key} = ")))
}

#[test]
fn the_first_token_can_go_to_a_private_file_and_nowhere_else() {
    let scratch = Scratch::new();
    let file = scratch.dir.path().join("secrets").join("initial-token");
    std::fs::create_dir(file.parent().unwrap()).unwrap();
    let server = Server::start(
        &scratch,
        &["--bootstrap-token-file", file.to_str().unwrap()],
    );
    let token = std::fs::read_to_string(&file).unwrap();
    let token = token.trim_end();
    assert!(is_token(token), "{token:?}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
    assert_eq!(server.get(SPC, Some(token)).0, 200);
    let stderr = server.stderr();
    let (status, printed) = server.stop();
    assert!(status.success());
    assert!(!printed.contains(token), "the token was printed: {printed}");
    assert!(!stderr.contains(token), "the token was logged: {stderr}");
    // stdout says where it is.
    assert!(printed.contains(file.to_str().unwrap()), "{printed}");

    // A later start has nothing to create, so the file that now exists is no obstacle.
    let server = Server::start(
        &scratch,
        &["--bootstrap-token-file", file.to_str().unwrap()],
    );
    assert_eq!(server.get(SPC, Some(token)).0, 200);
    drop(server);
    assert_eq!(std::fs::read_to_string(&file).unwrap().trim_end(), token);

    // On an empty database an existing file is never overwritten, and nothing is created.
    let fresh = Scratch::new();
    let taken = fresh.dir.path().join("taken");
    std::fs::write(&taken, "keep me\n").unwrap();
    let error = fresh.fails(&[
        "serve",
        "--listen",
        &format!("127.0.0.1:{}", free_port()),
        "--metrics-listen",
        "off",
        "--bootstrap-token-file",
        taken.to_str().unwrap(),
    ]);
    assert!(error.contains("never overwritten"), "{error}");
    assert_eq!(std::fs::read_to_string(&taken).unwrap(), "keep me\n");
    let orgs = fresh.ok(&["org", "list"]);
    assert_eq!(
        orgs.lines().count(),
        1,
        "an organisation was created: {orgs}"
    );
}

#[test]
fn no_bootstrap_creates_no_organisation_and_prints_no_token() {
    let scratch = Scratch::new();
    let server = Server::start(&scratch, &["--no-bootstrap"]);
    let stderr = server.stderr();
    let (status, printed) = server.stop();
    assert!(status.success());
    assert!(!printed.contains("scim_"), "{printed}");
    assert!(stderr.contains("scimd org create"), "{stderr}");
    let orgs = scratch.ok(&["org", "list"]);
    assert_eq!(orgs.lines().count(), 1, "{orgs}");
    // The variable and the file say the same; a contradiction is refused.
    let out = scratch
        .scimd()
        .args(["config"])
        .env("SCIM_BOOTSTRAP", "false")
        .output()
        .unwrap();
    assert_eq!(
        value(&String::from_utf8(out.stdout).unwrap(), "bootstrap"),
        Some("false")
    );
    let error = scratch.fails(&["config", "--bootstrap=false", "--bootstrap-token-file", "x"]);
    assert!(error.contains("bootstrap"), "{error}");
}

#[test]
fn migrate_says_what_it_applied_and_serve_no_migrate_says_what_to_run() {
    let scratch = Scratch::new();
    let listen = format!("127.0.0.1:{}", free_port());
    let error = scratch.fails(&["serve", "--listen", &listen, "--no-migrate"]);
    assert!(error.contains("scimd migrate"), "{error}");
    assert!(!error.contains("no such table"), "{error}");

    let status = scratch.ok(&["migrate", "status"]);
    let pending: Vec<&str> = status
        .lines()
        .filter_map(|line| line.strip_prefix("pending "))
        .collect();
    assert!(!pending.is_empty(), "{status}");
    let out = scratch.ok(&["migrate"]);
    let applied: Vec<&str> = out
        .lines()
        .filter_map(|line| line.strip_prefix("applied "))
        .collect();
    assert_eq!(applied, pending, "{out}");
    assert!(
        out.contains(&format!("applied {} migrations", pending.len())),
        "{out}"
    );
    let again = scratch.ok(&["migrate", "up"]);
    assert_eq!(
        again.trim_end(),
        "database is up to date: no migration was pending"
    );
    // Now --no-migrate serves.
    let server = Server::start(&scratch, &["--no-migrate"]);
    assert_eq!(server.get("/readyz", None).0, 200);
}

#[test]
fn config_prints_a_file_that_reproduces_the_settings() {
    let scratch = Scratch::new();
    // A relative SQLite path, as the default is, is printed absolute.
    let relative = scratch
        .scimd()
        .args(["config", "--listen", "127.0.0.1:7100"])
        .env("SCIM_DATABASE_URL", "sqlite://./rel/scim.db")
        .output()
        .unwrap();
    assert!(relative.status.success());
    let printed = String::from_utf8(relative.stdout).unwrap();
    let expected = format!(
        "\"sqlite://{}\"",
        scratch.dir.path().join("rel").join("scim.db").display()
    );
    assert_eq!(value(&printed, "database_url"), Some(expected.as_str()));
    // Read back from another directory, it names the same database.
    let file = scratch.dir.path().join("scimd.toml");
    std::fs::write(&file, &printed).unwrap();
    let elsewhere = Scratch::new();
    let again = elsewhere
        .scimd()
        .env_remove("SCIM_DATABASE_URL")
        .args(["--config", file.to_str().unwrap(), "config"])
        .output()
        .unwrap();
    assert!(again.status.success(), "{again:?}");
    assert_eq!(String::from_utf8(again.stdout).unwrap(), printed);

    // A URL in a file is named by its absolute path, never printed.
    let url_file = scratch.dir.path().join("database-url");
    std::fs::write(&url_file, format!("{}\n", scratch.url)).unwrap();
    let from_file = scratch
        .scimd()
        .env_remove("SCIM_DATABASE_URL")
        .env("SCIM_DATABASE_URL_FILE", "database-url")
        .args(["config"])
        .output()
        .unwrap();
    assert!(from_file.status.success(), "{from_file:?}");
    let printed = String::from_utf8(from_file.stdout).unwrap();
    assert!(!printed.contains(&scratch.url), "{printed}");
    let named = format!("\"{}\"", url_file.display());
    assert_eq!(value(&printed, "database_url_file"), Some(named.as_str()));
    assert_eq!(value(&printed, "database_url"), None);
    std::fs::write(&file, &printed).unwrap();
    // Fed back, it opens that database.
    let org = elsewhere
        .scimd()
        .env_remove("SCIM_DATABASE_URL")
        .args([
            "--config",
            file.to_str().unwrap(),
            "org",
            "create",
            "via-file",
        ])
        .output()
        .unwrap();
    assert!(org.status.success(), "{org:?}");
    assert!(scratch.ok(&["org", "list"]).contains("via-file"));
    let missing = scratch
        .scimd()
        .env_remove("SCIM_DATABASE_URL")
        .args(["--database-url-file", "/nonexistent/url", "org", "list"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    let error = String::from_utf8(missing.stderr).unwrap();
    assert!(
        error.contains("cannot read the database URL file /nonexistent/url"),
        "{error}"
    );

    // A password is never printed; the file says where it must come from instead.
    let secret = scratch.ok(&[
        "--database-url",
        "postgres://scim:s3cret@db.internal/scim?sslmode=require",
        "config",
    ]);
    assert!(
        !secret.contains("s3cret") && !secret.contains("REDACTED"),
        "{secret}"
    );
    assert_eq!(
        value(&secret, "database_url"),
        Some("\"postgres://scim@db.internal/scim?sslmode=require\"")
    );
    assert!(
        secret.starts_with('#') && secret.contains("SCIM_DATABASE_URL"),
        "{secret}"
    );
}

#[test]
fn a_base_url_without_the_scim_path_is_refused_or_warned_about() {
    let scratch = Scratch::new();
    for base in ["https://scim.example.com", "https://scim.example.com/"] {
        let error = scratch.fails(&["config", "--base-url", base]);
        assert!(error.contains("/scim/v2"), "{base}: {error}");
    }
    let output = scratch.run(&["config", "--base-url", "https://example.com/idp/scim"]);
    assert!(output.status.success());
    let warning = String::from_utf8(output.stderr).unwrap();
    assert!(warning.contains("does not end in /scim/v2"), "{warning}");
    let output = scratch.run(&["config", "--base-url", "https://example.com/scim/v2"]);
    assert!(output.status.success());
    assert!(output.stderr.is_empty(), "{output:?}");
}

#[test]
fn revocation_says_which_cache_ttl_it_assumed() {
    let scratch = Scratch::new();
    scratch.ok(&["org", "create", "acme"]);
    let id = |token: &str| token["scim_".len()..].split('_').next().unwrap().to_owned();
    let revoke = |name: &str, extra: &[&str], env: Option<&str>| {
        let token = scratch.ok(&["token", "create", "--org", "acme", "--name", name]);
        let mut cmd = scratch.scimd();
        cmd.args(["token", "revoke", &id(token.trim_end())])
            .args(extra);
        if let Some(ttl) = env {
            cmd.env("SCIM_TOKEN_CACHE_TTL", ttl);
        }
        let output = cmd.output().unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stderr).unwrap()
    };
    let default = revoke("a", &[], None);
    assert!(
        default.contains("default") && default.contains("1m"),
        "{default}"
    );
    assert!(default.contains("--token-cache-ttl"), "{default}");
    let given = revoke("b", &["--token-cache-ttl", "5s"], None);
    assert!(
        given.contains("token_cache_ttl = 5s") && given.contains("within 5s"),
        "{given}"
    );
    let from_env = revoke("c", &[], Some("0s"));
    assert!(from_env.contains("at once"), "{from_env}");
    let file = scratch.dir.path().join("scimd.toml");
    std::fs::write(&file, "token_cache_ttl = \"10s\"\n").unwrap();
    let from_file = revoke("d", &["--config", file.to_str().unwrap()], None);
    assert!(
        from_file.contains("token_cache_ttl = 10s") && from_file.contains("--config file"),
        "{from_file}"
    );
}

#[test]
fn every_route_answers_with_a_request_id() {
    let scratch = Scratch::new();
    let metrics = free_port();
    let server = Server::start(
        &scratch,
        &["--metrics-listen", &format!("127.0.0.1:{metrics}")],
    );
    let token = server.printed_token().unwrap();
    let routes: [(u16, &str, &str, Option<&str>); 10] = [
        (server.port, "GET", "/healthz", None),
        (server.port, "GET", "/readyz", None),
        (server.port, "GET", SPC, Some(token.as_str())),
        (server.port, "GET", SPC, None),
        (server.port, "GET", "/admin/", None),
        (server.port, "GET", "/admin/v1/orgs", None),
        (server.port, "POST", "/oauth/token", None),
        (
            server.port,
            "GET",
            "/.well-known/oauth-authorization-server",
            None,
        ),
        (server.port, "GET", "/nowhere", None),
        (metrics, "GET", "/metrics", None),
    ];
    let mut seen = Vec::new();
    for (port, method, path, token) in routes {
        let reply = exchange(port, method, path, token, None).unwrap();
        let id = reply
            .header("x-request-id")
            .unwrap_or_else(|| panic!("{method} {path} ({}): no X-Request-Id", reply.status));
        assert!(!seen.contains(&id.to_owned()), "{path}: {id} again");
        seen.push(id.to_owned());
    }
}
