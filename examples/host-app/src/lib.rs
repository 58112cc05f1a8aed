//! A host application in miniature: it mounts the SCIM service in its own actix-web app, signs
//! users in with sessions of its own, and ends a user's sessions as soon as the identity
//! provider deactivates or deletes them, through an [`EventListener`].
//!
//! Sign-in (`POST /login` with `{"userName": …}`) refuses inactive users and stamps the session
//! with the user's session version; `GET /me` (header `x-session`) accepts a session only while
//! its stamp is at least the version the listener last saw for the user. The listener and the
//! stamp together close the race between a deactivation and a sign-in in flight: a session
//! stamped before the deactivation is refused whichever comes first.
//!
//! A real application would check a password or an SSO assertion at sign-in; this one trusts the
//! userName, as it only shows the SCIM side.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use actix_web::{web, HttpRequest, HttpResponse};
use scim_server::{EventListener, ListenerError, ScimState};
use scim_store::events::{EventKind, EventRecord, ResourceType};
use scim_store::resources::{self, USERS};
use scim_store::{OrgId, Store};
use serde::Deserialize;
use serde_json::json;

/// The application's sessions: who is signed in, and the lowest session version still valid
/// per user.
#[derive(Debug, Default)]
pub struct Sessions {
    inner: Mutex<SessionTable>,
}

#[derive(Debug, Default)]
struct SessionTable {
    /// Session id → (user id, userName, session version stamped at sign-in).
    open: HashMap<String, (String, String, i64)>,
    /// User id → the lowest session version still valid.
    valid_from: HashMap<String, i64>,
}

impl Sessions {
    /// Opens a session for a user whose current session version is `version`; returns its id.
    pub fn open(&self, user_id: &str, user_name: &str, version: i64) -> String {
        let id = uuid::Uuid::new_v4().simple().to_string();
        self.table().open.insert(
            id.clone(),
            (user_id.to_owned(), user_name.to_owned(), version),
        );
        id
    }

    /// The userName of session `id`, if it is still valid.
    pub fn check(&self, id: &str) -> Option<String> {
        let table = self.table();
        let (user, name, version) = table.open.get(id)?;
        let valid_from = table.valid_from.get(user).copied().unwrap_or(0);
        (*version >= valid_from).then(|| name.clone())
    }

    /// Ends every session of `user_id` stamped below `version`; returns how many.
    pub fn end_below(&self, user_id: &str, version: i64) -> usize {
        let mut table = self.table();
        let entry = table.valid_from.entry(user_id.to_owned()).or_insert(0);
        *entry = (*entry).max(version);
        let before = table.open.len();
        table
            .open
            .retain(|_, (user, _, stamped)| user != user_id || *stamped >= version);
        before - table.open.len()
    }

    /// Sessions open now.
    pub fn len(&self) -> usize {
        self.table().open.len()
    }

    /// Whether no session is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn table(&self) -> std::sync::MutexGuard<'_, SessionTable> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Ends a user's sessions when the identity provider deactivates or deletes them.
#[derive(Debug, Clone)]
pub struct LogoutOnDeprovision {
    sessions: Arc<Sessions>,
}

impl LogoutOnDeprovision {
    /// A listener ending sessions in `sessions`.
    pub fn new(sessions: Arc<Sessions>) -> Self {
        LogoutOnDeprovision { sessions }
    }
}

impl EventListener for LogoutOnDeprovision {
    fn on_events(&self, _org: OrgId, events: &[EventRecord]) -> Result<(), ListenerError> {
        for event in events {
            let ends_sessions = matches!(event.kind, EventKind::Deactivated | EventKind::Deleted);
            if event.resource_type != ResourceType::User || !ends_sessions {
                continue;
            }
            let version = event
                .data
                .as_ref()
                .and_then(|data| data["sessionVersion"].as_i64())
                .ok_or("a deactivation without sessionVersion")?;
            self.sessions.end_below(&event.resource_id, version);
        }
        Ok(())
    }
}

/// The application's routes (`/login`, `/me`) for the users of organisation `org` in `scim`'s
/// store; mount the SCIM scope beside them.
pub fn routes(cfg: &mut web::ServiceConfig, scim: &ScimState, org: OrgId, sessions: Arc<Sessions>) {
    cfg.app_data(web::Data::new(AppState {
        store: scim.store().clone(),
        org,
        sessions,
    }))
    .route("/login", web::post().to(login))
    .route("/me", web::get().to(me));
}

struct AppState {
    store: Store,
    org: OrgId,
    sessions: Arc<Sessions>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Login {
    user_name: String,
}

async fn login(app: web::Data<AppState>, body: web::Json<Login>) -> HttpResponse {
    let store = app.store.clone();
    let org = app.org;
    let name = body.into_inner().user_name;
    let found = web::block(move || {
        let mut conn = store.get()?;
        resources::get_by_name(&mut conn, &USERS, org, &name)
    })
    .await;
    match found {
        Ok(Ok(Some(user))) if user.active => {
            let id = app
                .sessions
                .open(&user.id, &user.name, user.session_version);
            HttpResponse::Ok().json(json!({ "session": id }))
        }
        Ok(Ok(_)) => HttpResponse::Forbidden().json(json!({ "error": "no such active user" })),
        _ => HttpResponse::ServiceUnavailable().json(json!({ "error": "try again" })),
    }
}

async fn me(app: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let session = req
        .headers()
        .get("x-session")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    match app.sessions.check(session) {
        Some(user_name) => HttpResponse::Ok().json(json!({ "userName": user_name })),
        None => HttpResponse::Unauthorized().json(json!({ "error": "signed out" })),
    }
}
