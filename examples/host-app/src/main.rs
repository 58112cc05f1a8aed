//! Runs the example host application on an SQLite file: the SCIM service at
//! `http://127.0.0.1:8090/scim/v2` (for the identity provider), and `/login` and `/me` for the
//! application's own users. See the library's docs for what it shows.

use std::sync::Arc;

use actix_web::{App, HttpServer};
use anyhow::Context as _;
use scim_auth::VerifierConfig;
use scim_server::{scope, ScimState, ServerConfig};
use scim_store::{orgs, tokens, PoolConfig, Store};

use host_app::{routes, LogoutOnDeprovision, Sessions};

fn main() -> anyhow::Result<()> {
    std::fs::create_dir_all("data").context("cannot create ./data")?;
    let store = Store::connect("sqlite://data/host-app.db", PoolConfig::default())?;
    store.migrate()?;
    let mut conn = store.get()?;
    let org = orgs::get_or_create(&mut conn, "default")?;
    let state = ScimState::new(
        store.clone(),
        ServerConfig::default(),
        VerifierConfig::default(),
    )?;
    if tokens::list(&mut conn, org.id)?.is_empty() {
        // One call: generates, hashes (argon2id) and stores the token, and hands back the only
        // copy of its secret.
        let issued = scim_server::issue_token(
            &mut conn,
            org.id,
            "idp",
            None,
            &scim_auth::argon2::Params::default(),
        )?;
        println!(
            "SCIM token for your identity provider: {}",
            issued.expose_token()
        );
    }
    drop(conn);
    let sessions = Arc::new(Sessions::default());
    state.add_listener(Arc::new(LogoutOnDeprovision::new(sessions.clone())))?;
    println!("SCIM at http://127.0.0.1:8090/scim/v2; sign in with POST /login {{\"userName\": …}}");
    actix_web::rt::System::new().block_on(async move {
        state.start_background_tasks();
        HttpServer::new(move || {
            let sessions = sessions.clone();
            let scim = state.clone();
            App::new()
                .service(scope("/scim/v2", state.clone()))
                .configure(move |cfg| routes(cfg, &scim, org.id, sessions))
        })
        .bind("127.0.0.1:8090")?
        .run()
        .await
    })?;
    Ok(())
}
