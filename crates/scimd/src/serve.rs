//! `scimd serve`: the HTTP server, its first-run bootstrap and its graceful shutdown.

use std::io::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use actix_web::http::Method;
use actix_web::middleware::from_fn;
use actix_web::{web, App, HttpResponse, HttpServer};
use anyhow::Context as _;
use scim_auth::VerifierConfig;
use scim_server::ScimState;
use scim_store::{orgs, tokens, Store, StoreError, UniqueField};

use crate::settings::{Bootstrap, Settings, SCIM_PATH};

/// Where the admin API is served.
pub const ADMIN_PATH: &str = "/admin/v1";

/// The organisation and token a first start creates.
const FIRST_ORG: &str = "default";
const FIRST_TOKEN: &str = "initial";

/// Runs the server until SIGTERM or SIGINT, then lets requests in flight finish (up to the
/// shutdown timeout).
///
/// # Errors
/// When the database cannot be opened or migrated, the address cannot be bound, or the
/// configuration is invalid.
pub fn run(settings: &Settings) -> anyhow::Result<()> {
    let serve = &settings.serve;
    let store = crate::db::open(
        &settings.database_url,
        serve.pool_config(serve.pool_size),
        serve.migrate,
    )?;
    if !serve.migrate {
        crate::db::check_unmigrated(&store, &settings.database_url)?;
    }
    if let Some(warning) = settings.base_url_warning() {
        tracing::warn!("{warning}");
    }
    match &serve.bootstrap {
        Bootstrap::Off => {
            if orgs::list(&mut *store.get()?)?.is_empty() {
                tracing::info!(
                    "no organisation yet and bootstrap is off: create one with `scimd org \
                     create NAME` and its token with `scimd token create --org NAME --name LABEL`"
                );
            }
        }
        Bootstrap::Stdout => {
            if let Some(token) = bootstrap(&store)? {
                print_first_token(&token, &curl_base(settings));
            }
        }
        Bootstrap::File(path) => bootstrap_to_file(&store, path, &curl_base(settings))?,
    }
    let verifier = VerifierConfig {
        cache_ttl: serve.token_cache_ttl,
        ..VerifierConfig::default()
    };
    let state = ScimState::new(store.clone(), serve.server.clone(), verifier)
        .context("invalid configuration")?;
    actix_web::rt::System::new().block_on(serve_until_signal(state, store, settings))
}

async fn serve_until_signal(
    state: ScimState,
    store: Store,
    settings: &Settings,
) -> anyhow::Result<()> {
    let serve = &settings.serve;
    let app_state = state.clone();
    let mut server = HttpServer::new(move || {
        App::new()
            .wrap(from_fn(scim_server::request_ids))
            .app_data(web::Data::new(store.clone()))
            .service(
                scim_server::resource("/healthz", &[Method::GET]).route(web::get().to(healthz)),
            )
            .service(scim_server::resource("/readyz", &[Method::GET]).route(web::get().to(readyz)))
            .service(scim_server::scope(SCIM_PATH, app_state.clone()))
            .service(scim_server::admin_scope(ADMIN_PATH, app_state.clone()))
            .service(scim_server::console())
            .configure(|cfg| scim_server::oauth_routes(cfg, app_state.clone()))
            .default_service(web::to(scim_server::not_found))
    })
    .shutdown_timeout(whole_seconds(serve.shutdown_timeout))
    .shutdown_signal(shutdown_signal());
    if let Some(workers) = serve.workers {
        server = server.workers(workers);
    }
    let server = server
        .bind(&serve.listen)
        .with_context(|| format!("cannot listen on {}", serve.listen))?;
    let addrs: Vec<String> = server.addrs().iter().map(SocketAddr::to_string).collect();
    tracing::info!(
        listen = %addrs.join(", "),
        scim = SCIM_PATH,
        database = %crate::settings::redact_database_url(&settings.database_url),
        "serving"
    );
    // Webhooks pending from before a restart go out without waiting for a request.
    state.start_background_tasks();
    if let Some(addr) = &serve.metrics_listen {
        match metrics_server(addr, state.clone()) {
            Ok(metrics) => {
                tracing::info!(listen = %addr, "metrics at /metrics");
                actix_web::rt::spawn(metrics);
            }
            Err(error) if !serve.metrics_listen_chosen => {
                tracing::warn!("metrics are off: {error:#} (set --metrics-listen)");
            }
            Err(error) => return Err(error),
        }
    }
    server.run().await.context("the server failed")?;
    match state.flush_last_used().await {
        Ok(_) => {}
        Err(error) => tracing::warn!(%error, "could not write the last token last-use times"),
    }
    tracing::info!("stopped");
    Ok(())
}

/// The Prometheus endpoint, on a listener of its own so it is never exposed with the SCIM
/// service by accident: installs the process's metrics recorder and serves `GET /metrics`.
fn metrics_server(addr: &str, state: ScimState) -> anyhow::Result<actix_web::dev::Server> {
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .context("cannot install the metrics recorder")?;
    let server = HttpServer::new(move || {
        let (handle, state) = (handle.clone(), state.clone());
        App::new().wrap(from_fn(scim_server::request_ids)).route(
            "/metrics",
            web::get().to(move || {
                let (handle, state) = (handle.clone(), state.clone());
                async move {
                    state.record_gauges();
                    HttpResponse::Ok()
                        .content_type("text/plain; version=0.0.4; charset=utf-8")
                        .body(handle.render())
                }
            }),
        )
    })
    .workers(1)
    .disable_signals()
    .bind(addr)
    .with_context(|| format!("cannot listen on {addr} for metrics"))?
    .run();
    Ok(server)
}

/// `duration` in whole seconds, rounded up: a timeout of 1.5 s waits 2 s rather than 1.
fn whole_seconds(duration: Duration) -> u64 {
    duration.as_secs() + u64::from(duration.subsec_nanos() > 0)
}

/// `GET /healthz`: 200 while the process serves requests, whatever the database does: for a
/// liveness probe, which restarts a process that answers nothing.
async fn healthz() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(r#"{"status":"ok"}"#)
}

/// `GET /readyz`: 200 when a database connection can be had and the database has exactly the
/// migrations this build expects; else 503 saying which (never a secret). For a readiness
/// probe or a load balancer, which send traffic only to a ready process.
async fn readyz(store: web::Data<Store>) -> HttpResponse {
    let store = store.get_ref().clone();
    let checked = web::block(move || store.migration_status()).await;
    let unready = |reason: &str| {
        HttpResponse::ServiceUnavailable()
            .content_type("application/json")
            .insert_header(("Retry-After", "5"))
            .body(serde_json::json!({"status": "unavailable", "reason": reason}).to_string())
    };
    match checked {
        Ok(Ok(status)) if status.is_current() => HttpResponse::Ok()
            .content_type("application/json")
            .body(r#"{"status":"ready"}"#),
        Ok(Ok(_)) => unready("database migrations are pending"),
        Ok(Err(error)) => {
            tracing::warn!(%error, "readiness check: the database does not answer");
            unready("the database does not answer")
        }
        Err(_) => unready("the check could not run"),
    }
}

/// Resolves on SIGTERM or SIGINT (both graceful: actix's own handling makes SIGINT abrupt).
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use actix_web::rt::signal::unix::{signal, SignalKind};
        use std::task::Poll;
        match (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) {
            (Ok(mut term), Ok(mut int)) => {
                let name = std::future::poll_fn(|cx| {
                    if term.poll_recv(cx).is_ready() {
                        Poll::Ready("SIGTERM")
                    } else if int.poll_recv(cx).is_ready() {
                        Poll::Ready("SIGINT")
                    } else {
                        Poll::Pending
                    }
                })
                .await;
                tracing::info!(signal = name, "shutting down: finishing requests in flight");
            }
            (Err(error), _) | (_, Err(error)) => {
                tracing::error!(%error, "cannot listen for signals; stop the process with SIGKILL");
                std::future::pending::<()>().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        if actix_web::rt::signal::ctrl_c().await.is_ok() {
            tracing::info!("shutting down: finishing requests in flight");
        } else {
            std::future::pending::<()>().await;
        }
    }
}

/// On a database with no organisation: creates `default` and its token `initial`, and returns
/// the token to show once. `None` when there already is an organisation (also when another
/// replica created it at the same moment).
fn bootstrap(store: &Store) -> anyhow::Result<Option<String>> {
    // The connection goes back to the pool before the transaction takes one (a pool of one
    // would otherwise wait on itself).
    let any_org = !orgs::list(&mut *store.get()?)?.is_empty();
    if any_org {
        return Ok(None);
    }
    // Hashed before the transaction, which holds SQLite's write lock while it runs (and may run
    // more than once on PostgreSQL).
    let issued = crate::token::generate()?;
    let row = crate::token::row(&issued, FIRST_TOKEN, None);
    let created = store.transaction(|conn| -> Result<bool, StoreError> {
        // Checked again inside the transaction: another replica may have just done it.
        if !orgs::list(conn)?.is_empty() {
            return Ok(false);
        }
        let org = orgs::create(conn, FIRST_ORG)?;
        tokens::insert(conn, org.id, &row)?;
        Ok(true)
    });
    match created {
        Ok(created) => {
            let token = created.then(|| issued.expose_token().to_owned());
            if token.is_some() {
                tracing::info!(
                    org = FIRST_ORG,
                    token = FIRST_TOKEN,
                    "first start: organisation and token created"
                );
            }
            Ok(token)
        }
        Err(StoreError::UniqueViolation {
            field: UniqueField::OrganizationName,
            ..
        }) => Ok(None),
        Err(error) => {
            Err(anyhow::Error::new(error).context("cannot create the first organisation and token"))
        }
    }
}

/// The first start with `--bootstrap-token-file`: the token goes to a new file, mode 0600;
/// stdout says where it is, never the token. The file is created before the organisation, so
/// a path that cannot be created (it exists, its directory does not) leaves the database empty
/// and the next start tries again.
fn bootstrap_to_file(store: &Store, path: &Path, base: &str) -> anyhow::Result<()> {
    if !orgs::list(&mut *store.get()?)?.is_empty() {
        return Ok(());
    }
    let mut file = create_secret_file(path)?;
    let outcome = bootstrap(store).and_then(|token| match token {
        Some(token) => {
            writeln!(file, "{token}")
                .and_then(|()| file.sync_all())
                .with_context(|| {
                    format!(
                        "cannot write the first token to {}; the organisation \"{FIRST_ORG}\" \
                         exists now, so make its token with `scimd token create --org \
                         {FIRST_ORG} --name NAME`",
                        path.display()
                    )
                })?;
            Ok(true)
        }
        None => Ok(false),
    });
    match outcome {
        Ok(true) => {
            tracing::info!(file = %path.display(), "first token written");
            let mut out = std::io::stdout().lock();
            // As for the printed token: with stdout gone, the file still holds it.
            let _ = writeln!(
                out,
                "\nFirst start: created the organisation \"{FIRST_ORG}\" and its token \
                 \"{FIRST_TOKEN}\".\nThe token is in {} (mode 0600), and nowhere else; it is \
                 not printed.\n\nTry it:\n\n    curl -H \"Authorization: Bearer $(cat {})\" \
                 {base}/Users\n",
                path.display(),
                path.display()
            );
            let _ = out.flush();
            Ok(())
        }
        // Another replica bootstrapped meanwhile: no token to keep.
        Ok(false) => {
            drop(file);
            let _ = std::fs::remove_file(path);
            Ok(())
        }
        Err(error) => {
            drop(file);
            let _ = std::fs::remove_file(path);
            Err(error)
        }
    }
}

/// Creates `path`, which must not exist, readable and writable by its owner only.
fn create_secret_file(path: &Path) -> anyhow::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options.open(path).map_err(|error| {
        let reason = if error.kind() == std::io::ErrorKind::AlreadyExists {
            "it exists, and is never overwritten: move it away, or make a token with `scimd \
             token create`"
                .to_owned()
        } else {
            error.to_string()
        };
        anyhow::anyhow!(
            "cannot create the bootstrap token file {}: {reason}",
            path.display()
        )
    })
}

/// The URL a person would curl: the configured base URL, else the listen address (a wildcard
/// address shown as loopback) and the mount path.
fn curl_base(settings: &Settings) -> String {
    if let Some(base) = &settings.serve.server.base_url {
        return base.trim_end_matches('/').to_owned();
    }
    let listen = &settings.serve.listen;
    let host = match listen.parse::<SocketAddr>() {
        Ok(addr) if addr.ip().is_unspecified() => format!("127.0.0.1:{}", addr.port()),
        Ok(addr) => addr.to_string(),
        Err(_) => listen.clone(),
    };
    format!("http://{host}{SCIM_PATH}")
}

fn print_first_token(token: &str, base: &str) {
    let mut out = std::io::stdout().lock();
    // If stdout is gone there is no one to show it to; the operator can make another token.
    let _ = writeln!(
        out,
        "\nFirst start: created the organisation \"{FIRST_ORG}\" and its token \"{FIRST_TOKEN}\".\n\
         The token is shown only this once:\n\n    {token}\n\n\
         Try it:\n\n    curl -H \"Authorization: Bearer {token}\" {base}/Users\n"
    );
    let _ = out.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bootstrap_happens_once() {
        let store = Store::connect("sqlite::memory:", scim_store::PoolConfig::default()).unwrap();
        store.migrate().unwrap();
        let token = bootstrap(&store).unwrap().unwrap();
        assert!(token.starts_with("scim_"));
        assert_eq!(bootstrap(&store).unwrap(), None);
        let mut conn = store.get().unwrap();
        let orgs = orgs::list(&mut conn).unwrap();
        assert_eq!(orgs.len(), 1);
        assert_eq!(orgs[0].name, FIRST_ORG);
        let tokens = scim_store::tokens::list(&mut conn, orgs[0].id).unwrap();
        assert_eq!(tokens.len(), 1);
        assert_eq!(tokens[0].name, FIRST_TOKEN);
        assert!(token.contains(&tokens[0].id));
    }

    #[test]
    fn curl_lines_point_somewhere_reachable() {
        let mut settings = crate::settings::Settings::resolve(
            &Default::default(),
            &Default::default(),
            &Default::default(),
        )
        .unwrap();
        assert_eq!(curl_base(&settings), "http://127.0.0.1:8080/scim/v2");
        settings.serve.listen = "0.0.0.0:9000".into();
        assert_eq!(curl_base(&settings), "http://127.0.0.1:9000/scim/v2");
        settings.serve.server.base_url = Some("https://scim.example.com/scim/v2/".into());
        assert_eq!(curl_base(&settings), "https://scim.example.com/scim/v2");
    }

    #[test]
    fn shutdown_timeouts_round_up() {
        assert_eq!(whole_seconds(Duration::from_millis(1500)), 2);
        assert_eq!(whole_seconds(Duration::from_secs(30)), 30);
        assert_eq!(whole_seconds(Duration::ZERO), 0);
    }
}
