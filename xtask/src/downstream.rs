//! `cargo xtask downstream` (part of `cargo xtask ci`): builds a throwaway application against
//! the reusable crates as another team would, outside this workspace and its lock file, so cargo
//! picks the newest actix-web, diesel and everything else the crates' requirements allow; once
//! per backend feature set. It also checks that a one-backend build leaves the other backend's
//! native libraries out.

use std::fs;
use std::path::Path;
use std::process::Command;

use crate::{cargo, root, run, target_dir};

/// A feature set of the crates, and the native library crates it must not pull in.
struct FeatureSet {
    name: &'static str,
    store: &'static [&'static str],
    server: &'static [&'static str],
    absent: &'static [&'static str],
}

const FEATURE_SETS: &[FeatureSet] = &[
    FeatureSet {
        name: "sqlite",
        store: &["sqlite"],
        server: &["sqlite"],
        absent: &["pq-sys", "openssl-sys"],
    },
    FeatureSet {
        name: "postgres",
        store: &["postgres"],
        server: &["postgres"],
        absent: &["libsqlite3-sys"],
    },
    FeatureSet {
        name: "both",
        store: &["postgres", "sqlite"],
        server: &["postgres", "sqlite", "webhook-tls"],
        absent: &[],
    },
];

/// The application: an actix-web service of its own with the SCIM service mounted beside it, on
/// a store whose URL comes from the command line.
const MAIN_RS: &str = r#"//! A team's own actix-web application that mounts the SCIM service.

use actix_web::{web, App, HttpResponse, HttpServer};
use scim_auth::VerifierConfig;
use scim_server::{scope, ScimState, ServerConfig};
use scim_store::{orgs, PoolConfig, Store};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::args().nth(1).unwrap_or_else(|| "sqlite::memory:".to_owned());
    let store = Store::connect(&url, PoolConfig::default())?;
    store.migrate()?;
    let mut conn = store.get()?;
    let org = orgs::get_or_create(&mut conn, "default")?;
    let issued = scim_server::issue_token(&mut conn, org.id, "idp", None, &Default::default())?;
    drop(conn);
    println!("token for the identity provider: {}", issued.expose_token());
    let state = ScimState::new(store, ServerConfig::default(), VerifierConfig::default())?;
    if std::env::args().any(|arg| arg == "--check") {
        return Ok(());
    }
    actix_web::rt::System::new().block_on(async move {
        HttpServer::new(move || {
            App::new()
                .route("/", web::get().to(|| async { HttpResponse::Ok().body("our own app") }))
                .service(scope("/scim/v2", state.clone()))
        })
        .bind("127.0.0.1:0")?
        .run()
        .await
    })?;
    Ok(())
}
"#;

/// Builds the throwaway application once per feature set; `args` may name the sets to build.
pub(crate) fn run_downstream(args: &[String]) -> Result<(), String> {
    let dir = target_dir().join("downstream");
    let crates = root().join("crates");
    for set in FEATURE_SETS {
        if !args.is_empty() && !args.iter().any(|a| a == set.name) {
            continue;
        }
        let app = dir.join(set.name);
        write_app(&app, &crates, set)?;
        eprintln!(
            "xtask: downstream `{}`: a new application on the crates' newest compatible \
             dependencies",
            set.name
        );
        // No lock file of its own: `cargo update` resolves the newest versions allowed.
        let mut update = cargo();
        update.current_dir(&app).arg("update");
        run(update)?;
        for absent in set.absent {
            check_absent(&app, absent)?;
        }
        let mut build = cargo();
        build
            .current_dir(&app)
            .args(["build", "--quiet"])
            // One target directory for every set, so the sets share what they have in common.
            .env("CARGO_TARGET_DIR", dir.join("target"));
        run(build)?;
        let binary = dir.join("target/debug/downstream-app");
        if set.store.contains(&"sqlite") {
            // The application starts: migrates an in-memory store and issues a token.
            let mut check = Command::new(&binary);
            check.args(["sqlite::memory:", "--check"]);
            run(check)?;
        }
        if !set.store.contains(&"postgres") {
            refuses_missing_backend(&binary)?;
        }
    }
    Ok(())
}

fn write_app(app: &Path, crates: &Path, set: &FeatureSet) -> Result<(), String> {
    fs::create_dir_all(app.join("src")).map_err(|e| format!("{}: {e}", app.display()))?;
    let path = |name: &str| crates.join(name).display().to_string();
    let list = |features: &[&str]| {
        features
            .iter()
            .map(|f| format!("\"{f}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let manifest = format!(
        r#"[package]
name = "downstream-app"
version = "0.0.0"
edition = "2021"
publish = false

# Not a member of the scim workspace: resolved on its own, like another team's application.
[workspace]

[dependencies]
actix-web = "4"
scim-auth = {{ path = "{auth}" }}
scim-server = {{ path = "{server}", default-features = false, features = [{server_features}] }}
scim-store = {{ path = "{store}", default-features = false, features = [{store_features}] }}
"#,
        auth = path("scim-auth"),
        server = path("scim-server"),
        store = path("scim-store"),
        server_features = list(set.server),
        store_features = list(set.store),
    );
    fs::write(app.join("Cargo.toml"), manifest).map_err(|e| e.to_string())?;
    fs::write(app.join("src/main.rs"), MAIN_RS).map_err(|e| e.to_string())?;
    // A lock file left by an earlier run would pin what it resolved then.
    let _ = fs::remove_file(app.join("Cargo.lock"));
    Ok(())
}

/// Fails when the application's dependency tree has `package`.
fn check_absent(app: &Path, package: &str) -> Result<(), String> {
    let output = cargo()
        .current_dir(app)
        .args([
            "tree",
            "--edges",
            "normal,build",
            "--prefix",
            "none",
            "--format",
            "{p}",
        ])
        .output()
        .map_err(|e| format!("cargo tree: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "cargo tree failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let tree = String::from_utf8_lossy(&output.stdout);
    if tree
        .lines()
        .any(|line| line.split_whitespace().next() == Some(package))
    {
        return Err(format!(
            "{} pulls in {package}, which that backend set must leave out",
            app.display()
        ));
    }
    Ok(())
}

/// A build without PostgreSQL, given a PostgreSQL URL, stops with a message naming the feature.
fn refuses_missing_backend(binary: &Path) -> Result<(), String> {
    let output = Command::new(binary)
        .args(["postgres://127.0.0.1/none", "--check"])
        .output()
        .map_err(|e| format!("{}: {e}", binary.display()))?;
    let said = String::from_utf8_lossy(&output.stderr);
    if output.status.success() || !said.contains("`postgres` feature") {
        return Err(format!(
            "a build without PostgreSQL took a postgres:// URL ({}): {said}",
            output.status
        ));
    }
    Ok(())
}
