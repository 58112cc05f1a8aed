//! Listeners: the change feed inside the process, for applications that mount the SCIM scope
//! in their own actix-web service and keep their own sessions.
//!
//! A listener is handed the events of the outbox, in commit order per organisation, shortly
//! after they commit: at once for writes of this process, and within a few seconds for writes
//! of other processes on the same database (a sweep every [`SWEEP_INTERVAL`]). It starts with
//! the events written after it was added. If it returns an error, the same events are offered
//! again a second later, and nothing after them before they succeed: at least once, never out
//! of order. Its position lives in memory only: a listener that must not miss events across
//! restarts keeps its own `seq` and reads the feed (`/admin/v1/orgs/{org}/events`) on start,
//! or uses a webhook.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use scim_store::events::{self, EventRecord};
use scim_store::OrgId;
use tokio::sync::Notify;

use crate::ScimState;

/// What a listener's failure is: any error; it is logged and the events are offered again.
pub type ListenerError = Box<dyn std::error::Error + Send + Sync>;

/// Receives committed events. Implement it and pass it to [`ScimState::add_listener`].
///
/// It runs on a blocking thread, one call at a time per listener, so it may do blocking work
/// (a database write of its own); a slow listener delays only itself.
pub trait EventListener: Send + Sync + 'static {
    /// `events` of `org`, in commit order, following those of the previous call for `org`. An
    /// error has the same events offered again.
    ///
    /// # Errors
    /// Any: the events are offered again after a second.
    fn on_events(&self, org: OrgId, events: &[EventRecord]) -> Result<(), ListenerError>;
}

/// How often a listener looks for writes of other processes.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(2);

/// Events per call of a listener.
const BATCH: i64 = 500;

/// One registered listener: the organisations with news for it, and how to wake it.
pub(crate) struct Registration {
    listener: Arc<dyn EventListener>,
    dirty: Mutex<HashSet<OrgId>>,
    wake: Notify,
    /// Each organisation's last seq handed over, as of registration for those that existed.
    cursors: Mutex<Option<HashMap<OrgId, i64>>>,
    /// Whether its dispatcher was started: once only, whoever gets there first.
    started: AtomicBool,
}

impl Registration {
    pub(crate) fn new(listener: Arc<dyn EventListener>) -> Arc<Self> {
        Arc::new(Registration {
            listener,
            dirty: Mutex::new(HashSet::new()),
            wake: Notify::new(),
            cursors: Mutex::new(None),
            started: AtomicBool::new(false),
        })
    }

    /// Starts its dispatcher on the current runtime, unless it was started already.
    pub(crate) fn spawn(self: &Arc<Self>, state: &ScimState) {
        if !self.started.swap(true, Ordering::AcqRel) {
            actix_web::rt::spawn(run(state.clone(), self.clone()));
        }
    }

    /// `org` has new events: wake the dispatcher.
    pub(crate) fn mark(&self, org: OrgId) {
        self.dirty
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(org);
        self.wake.notify_one();
    }

    /// Takes the positions where this listener starts: the newest seq of every organisation,
    /// read now. Called when it is added, so it gets exactly what commits afterwards.
    pub(crate) fn start_at(&self, cursors: HashMap<OrgId, i64>) {
        *self.cursors.lock().unwrap_or_else(PoisonError::into_inner) = Some(cursors);
    }
}

/// The dispatcher of one listener: runs until the runtime stops.
async fn run(state: ScimState, registration: Arc<Registration>) {
    let mut cursors = match take_cursors(&state, &registration).await {
        Some(cursors) => cursors,
        None => return,
    };
    let mut sweep_due = tokio::time::Instant::now() + SWEEP_INTERVAL;
    loop {
        let woken = registration.wake.notified();
        let mut woken = std::pin::pin!(woken);
        woken.as_mut().enable();
        let mut orgs: HashSet<OrgId> = std::mem::take(
            &mut *registration
                .dirty
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        if tokio::time::Instant::now() >= sweep_due {
            sweep_due = tokio::time::Instant::now() + SWEEP_INTERVAL;
            match state
                .service_conn(|conn| Ok(events::latest_seqs(conn)?))
                .await
            {
                Ok(latest) => orgs.extend(
                    latest
                        .into_iter()
                        .filter(|(org, seq)| cursors.get(org).is_none_or(|at| seq > at))
                        .map(|(org, _)| org),
                ),
                Err(error) => tracing::warn!(%error, "listener sweep failed"),
            }
        }
        let mut failed = false;
        for org in orgs {
            if !hand_over(&state, &registration, org, &mut cursors).await {
                registration.mark(org);
                failed = true;
            }
        }
        let nap = if failed {
            Duration::from_secs(1)
        } else {
            sweep_due.saturating_duration_since(tokio::time::Instant::now())
        };
        if failed {
            actix_web::rt::time::sleep(nap).await;
        } else {
            let _ = actix_web::rt::time::timeout(nap, woken).await;
        }
    }
}

/// The registration's starting positions, read from the store if it was added before the
/// runtime started.
async fn take_cursors(
    state: &ScimState,
    registration: &Registration,
) -> Option<HashMap<OrgId, i64>> {
    let taken = registration
        .cursors
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .take();
    if let Some(cursors) = taken {
        return Some(cursors);
    }
    match state
        .service_conn(|conn| Ok(events::latest_seqs(conn)?))
        .await
    {
        Ok(latest) => Some(latest.into_iter().collect()),
        Err(error) => {
            tracing::error!(%error, "a listener cannot learn where to start; it gets no events");
            None
        }
    }
}

/// Hands `org`'s events after its cursor to the listener, a batch at a time; false when the
/// store or the listener failed (the cursor stays at the last batch that succeeded).
async fn hand_over(
    state: &ScimState,
    registration: &Arc<Registration>,
    org: OrgId,
    cursors: &mut HashMap<OrgId, i64>,
) -> bool {
    loop {
        // An organisation created after the listener started begins at its first event.
        let after = cursors.get(&org).copied().unwrap_or(0);
        let batch = match state
            .service_conn(move |conn| Ok(events::list_after(conn, org, after, BATCH)?))
            .await
        {
            Ok(batch) => batch,
            Err(error) => {
                tracing::warn!(org = org.0, %error, "listener could not read events");
                return false;
            }
        };
        let Some(last) = batch.last().map(|event| event.seq) else {
            return true;
        };
        let full = i64::try_from(batch.len()).unwrap_or(i64::MAX) >= BATCH;
        let listener = registration.listener.clone();
        match actix_web::web::block(move || listener.on_events(org, &batch)).await {
            Ok(Ok(())) => {
                cursors.insert(org, last);
            }
            Ok(Err(error)) => {
                tracing::warn!(org = org.0, %error, "listener failed; its events come again");
                return false;
            }
            Err(_) => {
                tracing::error!(org = org.0, "listener panicked; its events come again");
                return false;
            }
        }
        if !full {
            return true;
        }
    }
}
