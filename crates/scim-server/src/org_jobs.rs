//! A bound on the database jobs one organisation runs at once, so that one tenant sending
//! expensive queries (or a burst of writes) cannot hold every pooled connection while the
//! others wait for one.
//!
//! Each organisation with a job running or waiting has a semaphore of
//! [`ServerConfig::max_org_db_jobs`](crate::ServerConfig::max_org_db_jobs) permits. A request
//! waits for one asynchronously — holding no connection and no thread — for at most
//! [`ServerConfig::org_db_wait`](crate::ServerConfig::org_db_wait), and is then refused with
//! 429 and `Retry-After` ([`ApiError::OrgBusy`]). Organisations never wait on each other: the
//! map from organisation to semaphore is locked only to look an entry up, add or remove it.
//! An entry lives while a job of its organisation holds or waits for a permit, so the map never
//! has more entries than there are requests in flight.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use scim_store::OrgId;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::error::ApiError;

/// The semaphores of the organisations with jobs running or waiting.
pub(crate) struct OrgJobs {
    per_org: usize,
    wait: Duration,
    orgs: Mutex<HashMap<OrgId, Arc<Semaphore>>>,
}

/// One of an organisation's job slots, held for as long as its job runs.
pub(crate) struct OrgJobPermit {
    // Declared first so it is dropped first: the slot's clean-up counts who still holds the
    // semaphore.
    _permit: OwnedSemaphorePermit,
    _entry: Entry,
}

/// A hold on an organisation's map entry; the last hold removes the entry.
struct Entry {
    jobs: Arc<OrgJobs>,
    org: OrgId,
    semaphore: Option<Arc<Semaphore>>,
}

impl OrgJobs {
    /// `per_org` jobs at once per organisation (at least 1), waiting at most `wait` for one.
    pub(crate) fn new(per_org: usize, wait: Duration) -> Self {
        OrgJobs {
            per_org: per_org.max(1),
            wait,
            orgs: Mutex::new(HashMap::new()),
        }
    }

    /// The most jobs one organisation runs at once.
    pub(crate) fn per_org(&self) -> usize {
        self.per_org
    }

    // A map of Arcs that every step leaves whole: a panic elsewhere while it was locked cannot
    // have left it half-changed, so it is used as it is.
    fn lock(&self) -> MutexGuard<'_, HashMap<OrgId, Arc<Semaphore>>> {
        self.orgs.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A job slot of `org`, once one is free.
    ///
    /// # Errors
    /// [`ApiError::OrgBusy`] when none frees up within the wait.
    pub(crate) async fn acquire(self: &Arc<Self>, org: OrgId) -> Result<OrgJobPermit, ApiError> {
        let semaphore = Arc::clone(
            self.lock()
                .entry(org)
                .or_insert_with(|| Arc::new(Semaphore::new(self.per_org))),
        );
        let entry = Entry {
            jobs: Arc::clone(self),
            org,
            semaphore: Some(Arc::clone(&semaphore)),
        };
        match actix_web::rt::time::timeout(self.wait, semaphore.acquire_owned()).await {
            Ok(Ok(permit)) => Ok(OrgJobPermit {
                _permit: permit,
                _entry: entry,
            }),
            // Timed out; or closed, which these semaphores never are.
            Err(_) | Ok(Err(_)) => {
                tracing::warn!(
                    org = org.0,
                    jobs = self.per_org,
                    "the organisation's database jobs are all busy"
                );
                Err(ApiError::OrgBusy)
            }
        }
    }

    #[cfg(test)]
    fn entries(&self) -> usize {
        self.lock().len()
    }
}

impl Drop for Entry {
    fn drop(&mut self) {
        drop(self.semaphore.take());
        let mut orgs = self.jobs.lock();
        // Clones are only made under this lock, so a count of one (the map's) cannot grow
        // behind our back: nobody holds or waits for this semaphore any more.
        if orgs
            .get(&self.org)
            .is_some_and(|semaphore| Arc::strong_count(semaphore) == 1)
        {
            orgs.remove(&self.org);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_organisation_gets_its_share_and_others_are_not_held_up() {
        actix_web::rt::System::new().block_on(shares());
    }

    async fn shares() {
        let jobs = Arc::new(OrgJobs::new(1, Duration::from_millis(50)));
        let (a, b) = (OrgId(1), OrgId(2));
        let held = jobs.acquire(a).await.unwrap();
        assert!(matches!(jobs.acquire(a).await, Err(ApiError::OrgBusy)));
        let other = jobs.acquire(b).await.unwrap();
        assert_eq!(jobs.entries(), 2);
        drop(held);
        drop(other);
        // Nobody holds or waits: the map is empty again.
        assert_eq!(jobs.entries(), 0);
        let again = jobs.acquire(a).await.unwrap();
        assert_eq!(jobs.entries(), 1);
        drop(again);
        assert_eq!(jobs.entries(), 0);
    }
}
