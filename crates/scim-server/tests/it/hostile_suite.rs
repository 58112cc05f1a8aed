//! Hostile input, generated, against the real service on both backends (issue 9).
//!
//! RFC 7644 §3.12: "SCIM uses the HTTP status response status codes defined in Section 6 of
//! [RFC7231] to indicate operation success or failure. In addition to returning an HTTP
//! response code, implementers MUST return the errors in the body of the response in a JSON
//! format, using the attributes described below. Error responses are identified using the
//! following "schema" URI: "urn:ietf:params:scim:api:messages:2.0:Error"." Its table gives
//! every client mistake a 4xx; 500 is "An internal error". So whatever a client sends, the
//! answer is a success or a 4xx with that body, and never a 500.
//!
//! For every generated request the suite asserts:
//! - **no 5xx, no panic**, and every error is a §3.12 body whose `status` is the HTTP status;
//! - **no hang**: each request runs under [`REQUEST_LIMIT`] (one that overruns is waited for,
//!   to say how long it took), and a watchdog aborts the process if one keeps the test thread
//!   busy for [`WATCHDOG_LIMIT`] (a spin no timer can interrupt);
//! - **nothing half-written**: a request that is not a successful write (every 4xx and 5xx,
//!   every read) leaves the organisation's live resources, memberships and event outbox
//!   exactly as they were; a successful write reads back with the `ETag` it answered, and
//!   appends to the outbox exactly when it changed something;
//! - the refusals the RFC leaves no doubt about: no valid token is 401; another organisation's
//!   token never reaches this organisation's resources; a PATCH `add` without a `value`
//!   (§3.5.2.1 "MUST contain a value") or with an unknown `op` is never applied.
//!
//! Every case starts from the same [`Fixture`] (two users, two nested groups) in an
//! organisation of its own. The requests go to `/Users`, `/Users/{id}`, `/Groups`,
//! `/Groups/{id}`, the `.search` endpoints, discovery and other paths, with random ids, query
//! strings, methods, headers, content types and bodies (see [`case`]). Attribute names come
//! from `SchemaRegistry::standard()`, so a schema change changes what is generated; a sweep
//! first sends every wrong JSON type to every attribute and sub-attribute of every served
//! schema ([`sweep`]).
//!
//! The run is deterministic: a fixed seed ([`SEED`]) and [`DEFAULT_CASES`] cases per backend.
//! A failure is shrunk by proptest to a minimal request showing the same kind of defect,
//! printed with the violation and the request as first found. Environment variables:
//! - `SCIM_HOSTILE_CASES=N`: N generated cases (`cargo xtask fuzz hostile [CASES]` runs it
//!   long);
//! - `SCIM_HOSTILE_SEED=text`: another seed;
//! - `SCIM_HOSTILE_SURVEY=1`: go on after failures, report the first of each kind (unshrunk);
//! - `SCIM_HOSTILE_FIXED=name,…`: ignore those [`KNOWN_DEFECTS`], to check a fix.
//!
//! Defects already reported and being fixed elsewhere are in [`KNOWN_DEFECTS`], each for
//! exactly its symptom, backends and request shape: tolerated (everything else about such a
//! request, no panic, no hang, nothing half-written, is still asserted) or, when sending the
//! request would cost minutes, not sent. Remove an entry when its fix lands.

use std::cell::{Cell, RefCell};
use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::fmt;
use std::rc::Rc;
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::{Duration, Instant};

use actix_http::Request;
use actix_web::body::{to_bytes, MessageBody};
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use actix_web::http::{Method, StatusCode, Uri};
use actix_web::rt::SystemRunner;
use actix_web::{test, App};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::{select, Index};
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};
use scim_model::schema::{Attribute, AttributeType, SchemaRegistry};
use scim_server::{scope, ServerConfig};
use scim_store::events::{self, EventRecord};
use scim_store::members::{self, Member};
use scim_store::resources::{self, ListQuery, Record, ResourceKind, Search, GROUPS, USERS};
use scim_store::{Dialect, OrgId, Store};
use scim_test_db::store_test;
use serde_json::{json, Map, Value};

use crate::{percent_encode, test_verifier, Harness, ERROR_SCHEMA};

/// Generated requests per backend in the normal run: enough to reach every generator many
/// times, few enough that `cargo xtask ci` stays fast.
const DEFAULT_CASES: u32 = 800;

/// The number of generated requests, when set (`cargo xtask fuzz hostile` sets it).
const CASES_VAR: &str = "SCIM_HOSTILE_CASES";

/// Another seed, when set: any text.
const SEED_VAR: &str = "SCIM_HOSTILE_SEED";

/// When set, a survey: every kind of defect is reported once, unshrunk, and the run goes on.
const SURVEY_VAR: &str = "SCIM_HOSTILE_SURVEY";

/// Names of [`KNOWN_DEFECTS`] (comma-separated) to treat as fixed: their entries are ignored,
/// so a fix can be checked before its entry is removed.
const FIXED_VAR: &str = "SCIM_HOSTILE_FIXED";

/// The fixed seed: the same requests on every run, so a failure reproduces.
const SEED: [u8; 32] = *b"scim-server hostile input suite!";

/// How long one request may take. Generous: two cores may be shared by several test binaries,
/// and the largest bodies are 1 MiB.
const REQUEST_LIMIT: Duration = Duration::from_secs(20);

/// How long a request that overran [`REQUEST_LIMIT`] is waited for, to report how long it
/// took and to keep its locks from failing the next requests.
const ABANDON_AFTER: Duration = Duration::from_secs(300);

/// How long the test thread may stay inside one case (a request and its read-back, each
/// waited for up to [`REQUEST_LIMIT`] and [`ABANDON_AFTER`]) before the watchdog aborts: only a
/// spin that never yields to the timer gets this far.
const WATCHDOG_LIMIT: Duration = Duration::from_secs(700);

const USER: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const ENTERPRISE: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const PATCH_OP: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const SEARCH_REQUEST: &str = "urn:ietf:params:scim:api:messages:2.0:SearchRequest";

/// The longest URI generated: http::Uri refuses 64 KiB and more.
const MAX_URI: usize = 60_000;

/// The string a [`Body::Spliced`] document holds where the splice goes.
const SPLICE: &str = "@@splice@@";

/// The body limit the service runs with (`ServerConfig::default`).
fn max_body() -> usize {
    ServerConfig::default().max_body_bytes
}

// ---------------------------------------------------------------------------------------------
// Known defects
// ---------------------------------------------------------------------------------------------

/// A defect already reported and being fixed elsewhere: on its backends, for the requests it
/// applies to and nowhere else, the violation it causes is tolerated (or the request is not
/// sent at all).
struct KnownDefect {
    /// A short name, printed when the defect is seen.
    name: &'static str,
    /// What is wrong, in one line.
    description: &'static str,
    /// Where it happens.
    backends: &'static [Backend],
    /// What the suite does about it.
    handling: Handling,
    /// The requests that show it.
    applies: fn(&Rendered) -> bool,
}

/// What the suite does about a known defect.
#[allow(
    dead_code,
    reason = "no defect is known today; the next one found gets an entry again"
)]
enum Handling {
    /// The request is sent and a violation for which this holds is tolerated; everything else
    /// about the answer is still asserted.
    Tolerate(fn(&Violation) -> bool),
    /// The request is not sent: sending it would cost minutes, and its locks would fail the
    /// requests after it.
    Skip,
}

/// Known defects, tolerated until their fixes land; remove an entry when its fix does (the
/// suite then asserts the fix). Each is as narrow as the defect: one symptom, its backends,
/// the request shape that shows it.
static KNOWN_DEFECTS: &[KnownDefect] = &[
    // Empty: the seven defects this suite first found (NUL in bodies, ids and filters on
    // PostgreSQL; over-long indexed strings on PostgreSQL; sortBy=schemas on SQLite; PATCH add
    // without a value; quadratic multi-valued PATCH) are fixed, and the suite asserts it.
];

/// The known defects of `backend`, less those [`FIXED_VAR`] names.
fn known_defects(backend: Backend) -> Vec<&'static KnownDefect> {
    let fixed = std::env::var(FIXED_VAR).unwrap_or_default();
    let fixed: Vec<&str> = fixed.split(',').map(str::trim).collect();
    for name in &fixed {
        assert!(
            name.is_empty() || KNOWN_DEFECTS.iter().any(|defect| defect.name == *name),
            "{FIXED_VAR} names {name:?}, which is no known defect"
        );
    }
    KNOWN_DEFECTS
        .iter()
        .filter(|defect| defect.backends.contains(&backend) && !fixed.contains(&defect.name))
        .collect()
}

/// The rule a PATCH add without a value breaks.
const ADD_NEEDS_VALUE: &str = "PATCH add needs a value";

// ---------------------------------------------------------------------------------------------
// The test
// ---------------------------------------------------------------------------------------------

store_test!(hostile_requests_never_break_the_service, |store| {
    run_suite(&store);
});

/// Which database the suite runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    fn of(store: &Store) -> Self {
        match store.dialect() {
            Dialect::Postgres => Backend::Postgres,
            Dialect::Sqlite => Backend::Sqlite,
        }
    }
}

/// The resources every case starts from, in an organisation of their own: a user with most
/// attributes (its manager the second user), a deactivated second user, a group holding the
/// first user, and a second group holding the first group and the second user, so a member
/// list can make a cycle.
#[derive(Debug, Clone)]
struct Fixture {
    org: OrgId,
    token: String,
    user: String,
    user2: String,
    group: String,
    group2: String,
}

impl Fixture {
    /// A fixture with ids as long as real ones, to measure a case's URI before it is sent.
    fn placeholder() -> Self {
        let id = "00000000-0000-4000-8000-000000000000".to_owned();
        Fixture {
            org: OrgId(0),
            token: String::new(),
            user: id.clone(),
            user2: id.clone(),
            group: id.clone(),
            group2: id,
        }
    }

    /// `text` with the placeholders of generated requests replaced by the fixture's ids.
    fn fill(&self, text: &str) -> String {
        if !text.contains("{{") {
            return text.to_owned();
        }
        text.replace("{{user}}", &self.user)
            .replace("{{USER}}", &self.user.to_uppercase())
            .replace("{{user2}}", &self.user2)
            .replace("{{group}}", &self.group)
            .replace("{{group2}}", &self.group2)
    }

    fn fill_bytes(&self, bytes: &[u8]) -> Vec<u8> {
        if !bytes.windows(2).any(|pair| pair == b"{{") {
            return bytes.to_vec();
        }
        match std::str::from_utf8(bytes) {
            Ok(text) => self.fill(text).into_bytes(),
            // Random bytes are sent as generated.
            Err(_) => bytes.to_vec(),
        }
    }
}

/// The state of an organisation a request may change: its live users and groups, the
/// memberships, and its event outbox.
#[derive(Debug, Clone, PartialEq)]
struct Snapshot {
    users: Vec<Record>,
    groups: Vec<Record>,
    members: Vec<(String, Member)>,
    events: Vec<EventRecord>,
}

impl Snapshot {
    fn take(store: &Store, org: OrgId) -> Result<Self, String> {
        let mut conn = store.get().map_err(|e| format!("no connection: {e}"))?;
        let mut list = |kind: &'static ResourceKind| {
            let query = ListQuery::new(
                kind,
                store.dialect(),
                org,
                &Search {
                    filter: None,
                    sort: None,
                    offset: 0,
                    limit: 100_000,
                    location_prefix: None,
                },
            )
            .map_err(|e| e.to_string())?;
            let mut items = resources::list(&mut conn, &query)
                .map_err(|e| format!("listing {}: {e}", kind.name))?
                .items;
            items.sort_by(|a, b| a.id.cmp(&b.id));
            Ok::<_, String>(items)
        };
        let users = list(&USERS)?;
        let groups = list(&GROUPS)?;
        let ids: Vec<String> = groups.iter().map(|g| g.id.clone()).collect();
        let mut members =
            members::list(&mut conn, org, &ids).map_err(|e| format!("members: {e}"))?;
        members.sort_by(|a, b| (&a.0, &a.1.value).cmp(&(&b.0, &b.1.value)));
        let events =
            events::list_after(&mut conn, org, 0, 1_000_000).map_err(|e| format!("events: {e}"))?;
        Ok(Snapshot {
            users,
            groups,
            members,
            events,
        })
    }

    /// Whether the resources or memberships differ (the outbox aside).
    fn resources_differ(&self, other: &Snapshot) -> bool {
        self.users != other.users || self.groups != other.groups || self.members != other.members
    }

    /// What changed from `self` to `after`, for a report.
    fn diff(&self, after: &Snapshot) -> String {
        let mut out = Vec::new();
        for (kind, a, b) in [
            ("user", &self.users, &after.users),
            ("group", &self.groups, &after.groups),
        ] {
            for record in a {
                match b.iter().find(|r| r.id == record.id) {
                    None => out.push(format!("{kind} {} disappeared", record.id)),
                    Some(now) if now != record => out.push(format!(
                        "{kind} {} changed: version {} -> {}, document {} -> {}",
                        record.id, record.version, now.version, record.document, now.document
                    )),
                    Some(_) => {}
                }
            }
            for record in b {
                if !a.iter().any(|r| r.id == record.id) {
                    out.push(format!(
                        "{kind} {} appeared: {}",
                        record.id, record.document
                    ));
                }
            }
        }
        if self.members != after.members {
            out.push(format!("members {:?} -> {:?}", self.members, after.members));
        }
        if self.events != after.events {
            let new: Vec<String> = after
                .events
                .iter()
                .filter(|e| !self.events.contains(e))
                .map(|e| {
                    format!(
                        "{} {} {}",
                        e.kind.as_str(),
                        e.resource_type.as_str(),
                        e.resource_id
                    )
                })
                .collect();
            out.push(format!(
                "outbox: {} -> {} events; new: {new:?}",
                self.events.len(),
                after.events.len()
            ));
        }
        out.join("; ")
    }
}

/// What went wrong with one request.
#[derive(Debug, Clone, PartialEq)]
enum Violation {
    /// No answer within [`REQUEST_LIMIT`]; `took` is when it came, if within
    /// [`ABANDON_AFTER`].
    Hang { took: Option<Duration> },
    /// The service panicked.
    Panic(String),
    /// A 5xx.
    ServerError { status: u16, detail: String },
    /// An error answer that is not a §3.12 body.
    NotScimError(String),
    /// The organisation changed though the request did not succeed as a write, or a successful
    /// write changed it without recording an event (or the reverse).
    HalfWritten(String),
    /// A successful write does not read back.
    NotReadBack(String),
    /// A refusal the RFC requires was not made: `rule` says which.
    NotRefused { rule: &'static str, detail: String },
    /// The harness could not look (a store error in a snapshot).
    Harness(String),
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Violation::Hang { took: Some(took) } => {
                write!(f, "no answer within {REQUEST_LIMIT:?}: it took {took:.1?}")
            }
            Violation::Hang { took: None } => write!(
                f,
                "no answer within {REQUEST_LIMIT:?}, nor within {ABANDON_AFTER:?} (abandoned)"
            ),
            Violation::Panic(message) => write!(f, "the service panicked: {message}"),
            Violation::ServerError { status, detail } => write!(f, "{status}: {detail}"),
            Violation::NotScimError(why) => write!(f, "not a §3.12 error body: {why}"),
            Violation::HalfWritten(what) => write!(f, "half-written: {what}"),
            Violation::NotReadBack(what) => {
                write!(f, "a successful write does not read back: {what}")
            }
            Violation::NotRefused { rule, detail } => write!(f, "not refused ({rule}): {detail}"),
            Violation::Harness(what) => write!(f, "the harness failed: {what}"),
        }
    }
}

impl Violation {
    /// What kind of defect this is: shrinking keeps to one kind, and the survey reports each
    /// kind once.
    fn signature(&self) -> String {
        match self {
            Violation::Hang { .. } => "hang".into(),
            Violation::Panic(_) => "panic".into(),
            Violation::ServerError { status, .. } => format!("status {status}"),
            Violation::NotScimError(_) => "not a §3.12 error".into(),
            Violation::HalfWritten(_) => "half-written".into(),
            Violation::NotReadBack(_) => "not read back".into(),
            Violation::NotRefused { rule, .. } => format!("not refused: {rule}"),
            Violation::Harness(_) => "harness".into(),
        }
    }
}

/// Why a request failed the suite: the kinds of its violations, and the report.
#[derive(Debug, Clone)]
struct Failure {
    signature: String,
    /// The request's method, endpoint and notable features, to tell defects of one kind apart
    /// in a survey.
    shape: String,
    report: String,
}

/// One answer, read.
#[derive(Debug, Clone)]
struct Exchange {
    status: StatusCode,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Exchange {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// Keeps an eye on the test thread: aborts the process when one request keeps it busy longer
/// than [`WATCHDOG_LIMIT`], after printing the request.
struct Watchdog {
    current: Arc<Mutex<Option<(Instant, String)>>>,
}

impl Watchdog {
    fn start(backend: Backend) -> Self {
        let current: Arc<Mutex<Option<(Instant, String)>>> = Arc::default();
        let watched: Weak<Mutex<Option<(Instant, String)>>> = Arc::downgrade(&current);
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_secs(1));
            let Some(current) = watched.upgrade() else {
                return;
            };
            let guard = current
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some((since, request)) = &*guard {
                if since.elapsed() > WATCHDOG_LIMIT {
                    eprintln!(
                        "hostile ({backend:?}): a request kept the test thread busy for over \
                         {WATCHDOG_LIMIT:?}; aborting. The request:\n{request}"
                    );
                    std::process::abort();
                }
            }
        });
        Watchdog { current }
    }

    fn arm(&self, request: String) {
        *self.current.lock().unwrap() = Some((Instant::now(), request));
    }

    fn disarm(&self) {
        *self.current.lock().unwrap() = None;
    }
}

/// The suite on one backend: the service, the fixture, and what was tolerated.
struct Suite<S> {
    backend: Backend,
    harness: Harness,
    app: Rc<S>,
    /// A token of another organisation, for isolation.
    other_token: String,
    fixture: RefCell<Option<Fixture>>,
    /// Organisations made so far, to name the next one.
    orgs: Cell<usize>,
    tolerated: RefCell<BTreeMap<&'static str, usize>>,
    /// In a survey, the first report of each kind of defect.
    survey: Option<RefCell<BTreeMap<String, String>>>,
    /// The known defects in force on this backend ([`FIXED_VAR`] aside).
    known: Vec<&'static KnownDefect>,
    watchdog: Watchdog,
}

/// The sweep, then the generated cases, on `store`'s backend.
fn run_suite(store: &Store) {
    let backend = Backend::of(store);
    let verifier = scim_auth::VerifierConfig {
        // Thousands of requests fail authentication on purpose; none may be throttled, so
        // that "no token is 401" holds for every one of them.
        failures_before_throttle: u32::MAX / 2,
        client_hash_failures_before_throttle: u32::MAX / 2,
        ..test_verifier()
    };
    let harness = Harness::with(store, ServerConfig::default(), verifier);
    let other = harness.org("hostile-other");
    let (other_token, _) = harness.token(other, "other");
    let system = actix_web::rt::System::new();
    let app = Rc::new(system.block_on(test::init_service(
        App::new().service(scope("/scim/v2", harness.state.clone())),
    )));
    let suite = Suite {
        backend,
        harness,
        app,
        other_token,
        fixture: RefCell::new(None),
        orgs: Cell::new(0),
        tolerated: RefCell::new(BTreeMap::new()),
        survey: std::env::var_os(SURVEY_VAR).map(|_| RefCell::default()),
        known: known_defects(backend),
        watchdog: Watchdog::start(backend),
    };
    let started = Instant::now();
    let swept = suite.sweep(&system);
    let cases = std::env::var(CASES_VAR)
        .ok()
        .map(|text| {
            text.trim()
                .parse::<u32>()
                .unwrap_or_else(|_| panic!("{CASES_VAR} must be a number, not {text:?}"))
        })
        .unwrap_or(DEFAULT_CASES);
    suite.generated(&system, cases);
    eprintln!(
        "hostile ({backend:?}): {swept} swept and {cases} generated requests in {:.1?}",
        started.elapsed()
    );
    for (name, count) in suite.tolerated.borrow().iter() {
        let description = KNOWN_DEFECTS
            .iter()
            .find(|defect| defect.name == *name)
            .map_or("", |defect| defect.description);
        eprintln!("  known defect {name}, {count} requests: {description}");
    }
    if let Some(survey) = &suite.survey {
        let survey = survey.borrow();
        assert!(
            survey.is_empty(),
            "hostile survey on {backend:?}: {} kinds of defect:\n\n{}",
            survey.len(),
            survey.values().cloned().collect::<Vec<_>>().join("\n\n")
        );
    }
}

impl<S, B> Suite<S>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    /// Every wrong JSON type at every attribute and sub-attribute; returns how many requests.
    fn sweep(&self, system: &SystemRunner) -> usize {
        let cases = sweep();
        for case in &cases {
            if let Err(failure) = self.check(system, case) {
                if !self.surveyed(&failure) {
                    panic!(
                        "hostile input found a defect in the sweep ({}):\n{}\n\nthe case: {case:?}",
                        failure.signature, failure.report
                    );
                }
            }
        }
        cases.len()
    }

    /// `cases` generated requests; on failure, shrunk to a minimal request showing the same
    /// kind of defect.
    fn generated(&self, system: &SystemRunner, cases: u32) {
        let seed = match std::env::var(SEED_VAR) {
            Ok(text) => seed_of(&text),
            Err(_) => SEED,
        };
        let config = Config {
            cases,
            // The seed is fixed, so a failure reproduces without a regressions file.
            failure_persistence: None,
            max_shrink_iters: 4096,
            max_shrink_time: 300_000,
            ..Config::default()
        };
        let mut runner =
            TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed));
        let done = Cell::new(0_u32);
        let first: RefCell<Option<Failure>> = RefCell::new(None);
        let result = runner.run(&case(), |case| {
            done.set(done.get() + 1);
            if cases > DEFAULT_CASES && done.get().is_multiple_of(5000) {
                eprintln!("hostile ({:?}): {} requests", self.backend, done.get());
            }
            let Err(failure) = self.check(system, &case) else {
                return Ok(());
            };
            if self.surveyed(&failure) {
                return Ok(());
            }
            let mut first = first.borrow_mut();
            let original = first.get_or_insert_with(|| failure.clone());
            if original.signature == failure.signature {
                Err(TestCaseError::fail(failure.report))
            } else {
                // While shrinking, a request that shows another kind of defect does not
                // count: the minimal request must show the defect first found.
                Ok(())
            }
        });
        match result {
            Ok(()) => {}
            Err(TestError::Fail(report, case)) => {
                let (signature, original) = first
                    .borrow()
                    .as_ref()
                    .map(|f| (f.signature.clone(), f.report.clone()))
                    .unwrap_or_default();
                panic!(
                    "hostile input found a defect ({signature}), shrunk to a minimal request:\n\
                     {report}\n\nthe generated case: {case:?}\n\nas first found:\n{original}"
                )
            }
            Err(TestError::Abort(why)) => panic!("the generator gave up: {why}"),
        }
    }

    /// In a survey (`SCIM_HOSTILE_SURVEY` set), records the first failure of each kind and
    /// says to go on; otherwise says to stop.
    fn surveyed(&self, failure: &Failure) -> bool {
        let Some(survey) = &self.survey else {
            return false;
        };
        let mut survey = survey.borrow_mut();
        let key = format!("{} on {}", failure.signature, failure.shape);
        if let Entry::Vacant(entry) = survey.entry(key) {
            eprintln!(
                "hostile survey: new kind of defect ({}):\n{}\n",
                entry.key(),
                failure.report
            );
            entry.insert(failure.report.clone());
        }
        true
    }

    /// The fixture, made in a fresh organisation when there is none (the last case changed
    /// it).
    fn fixture(&self, system: &SystemRunner) -> Fixture {
        if let Some(fixture) = &*self.fixture.borrow() {
            return fixture.clone();
        }
        let n = self.orgs.get() + 1;
        self.orgs.set(n);
        let org = self.harness.org(&format!("hostile-{n}"));
        let (token, _) = self.harness.token(org, "hostile");
        let fixture = system.block_on(async {
            let create = |path: &'static str, body: Value| {
                let token = token.clone();
                async move {
                    let req = test::TestRequest::post()
                        .uri(path)
                        .insert_header(("Authorization", format!("Bearer {token}")))
                        .insert_header(("Content-Type", "application/scim+json"))
                        .set_payload(body.to_string())
                        .to_request();
                    let reply = exchange(self.app.clone(), req).await.unwrap();
                    assert_eq!(reply.status, StatusCode::CREATED, "fixture {path}: {reply:?}");
                    reply.json().unwrap()["id"].as_str().unwrap().to_owned()
                }
            };
            let user2 = create(
                "/scim/v2/Users",
                json!({"schemas": [USER], "userName": "hostile-b", "active": false}),
            )
            .await;
            let user = create(
                "/scim/v2/Users",
                json!({
                    "schemas": [USER, ENTERPRISE],
                    "userName": "hostile-a",
                    "externalId": "ext-a",
                    "name": {"givenName": "Ada", "familyName": "Hostile"},
                    "displayName": "Ada Hostile",
                    "emails": [{"value": "a@example.com", "type": "work", "primary": true}],
                    "phoneNumbers": [{"value": "+1 555 0100", "type": "work"}],
                    "addresses": [{"streetAddress": "1 Main St", "type": "work"}],
                    "roles": [{"value": "admin"}],
                    "active": true,
                    ENTERPRISE: {"employeeNumber": "1", "manager": {"value": user2}},
                }),
            )
            .await;
            let group = create(
                "/scim/v2/Groups",
                json!({"schemas": [GROUP], "displayName": "hostile-g1", "members": [{"value": user}]}),
            )
            .await;
            let group2 = create(
                "/scim/v2/Groups",
                json!({
                    "schemas": [GROUP],
                    "displayName": "hostile-g2",
                    "members": [{"value": group, "type": "Group"}, {"value": user2}],
                }),
            )
            .await;
            Fixture {
                org,
                token: token.clone(),
                user,
                user2,
                group,
                group2,
            }
        });
        *self.fixture.borrow_mut() = Some(fixture.clone());
        fixture
    }

    /// Sends `case` and judges the answer; the report of an intolerable violation otherwise.
    fn check(&self, system: &SystemRunner, case: &Case) -> Result<(), Failure> {
        let fixture = self.fixture(system);
        let rendered = case.render(&fixture, &self.other_token);
        let report = |violations: &[Violation]| {
            let list: Vec<String> = violations.iter().map(ToString::to_string).collect();
            let mut kinds: Vec<String> = violations.iter().map(Violation::signature).collect();
            kinds.sort();
            kinds.dedup();
            Failure {
                signature: kinds.join(" + "),
                shape: format!(
                    "{} {} {}",
                    rendered.method,
                    case.target.label(),
                    rendered.features()
                ),
                report: format!(
                    "on {:?}: {}\nthe request:\n{rendered}",
                    self.backend,
                    list.join("\n  and ")
                ),
            }
        };
        let uri_ok = Uri::try_from(rendered.uri.as_str()).is_ok();
        assert!(
            uri_ok,
            "the generator made an invalid URI: {:?}",
            rendered.uri
        );
        if let Some(defect) = self
            .known
            .iter()
            .find(|defect| matches!(defect.handling, Handling::Skip) && (defect.applies)(&rendered))
        {
            *self.tolerated.borrow_mut().entry(defect.name).or_default() += 1;
            return Ok(());
        }
        let before = Snapshot::take(&self.harness.store, fixture.org)
            .map_err(|e| report(&[Violation::Harness(e)]))?;
        self.watchdog.arm(rendered.to_string());
        let (answer, readback) = system.block_on(async {
            let answer = exchange(self.app.clone(), rendered.to_request()).await;
            let readback = match &answer {
                Ok(reply) if reply.status.is_success() => match case.write() {
                    Some(write) => Some(self.read_back(&rendered, write, reply).await),
                    None => None,
                },
                _ => None,
            };
            (answer, readback)
        });
        self.watchdog.disarm();
        let after = Snapshot::take(&self.harness.store, fixture.org)
            .map_err(|e| report(&[Violation::Harness(e)]))?;
        if before != after {
            // The next case starts from a fresh fixture.
            *self.fixture.borrow_mut() = None;
        }
        let violations = judge(case, &rendered, &answer, readback, &before, &after);
        let untolerated: Vec<Violation> = violations
            .into_iter()
            .filter(|violation| {
                let known = self.known.iter().find(|defect| {
                    matches!(defect.handling, Handling::Tolerate(symptom) if symptom(violation))
                        && (defect.applies)(&rendered)
                });
                if let Some(defect) = known {
                    *self.tolerated.borrow_mut().entry(defect.name).or_default() += 1;
                }
                known.is_none()
            })
            .collect();
        if untolerated.is_empty() {
            Ok(())
        } else {
            Err(report(&untolerated))
        }
    }

    /// Reads back what a successful write made: `None` when it reads back as it should.
    async fn read_back(
        &self,
        rendered: &Rendered,
        write: Write,
        reply: &Exchange,
    ) -> Option<String> {
        let path = match write {
            Write::Create(kind) => {
                let Some(id) = reply
                    .json()
                    .and_then(|body| body["id"].as_str().map(str::to_owned))
                else {
                    return Some(format!("a {} answer without an id", reply.status));
                };
                format!("/scim/v2/{}/{}", kind.endpoint(), percent_encode(&id))
            }
            Write::Update | Write::Delete => rendered.path.clone(),
        };
        let mut req = test::TestRequest::get().uri(&path);
        if let Some(auth) = &rendered.authorization {
            req = req.insert_header((actix_web::http::header::AUTHORIZATION, auth.clone()));
        }
        let read = match exchange(self.app.clone(), req.to_request()).await {
            Ok(read) => read,
            Err(violation) => return Some(format!("GET {path}: {violation}")),
        };
        match write {
            Write::Delete if read.status == StatusCode::NOT_FOUND => None,
            Write::Delete => Some(format!("GET {path} after DELETE answered {}", read.status)),
            _ if read.status != StatusCode::OK => {
                Some(format!("GET {path} answered {}", read.status))
            }
            _ => match (reply.header("etag"), read.header("etag")) {
                (Some(written), Some(read_etag)) if written != read_etag => Some(format!(
                    "the write answered ETag {written}, GET {path} answers {read_etag}"
                )),
                _ => None,
            },
        }
    }
}

/// Sends `req` to `app` on its own task, so a panic is caught and the runtime survives it,
/// and reports a hang after [`REQUEST_LIMIT`].
async fn exchange<S, B>(app: Rc<S>, req: Request) -> Result<Exchange, Violation>
where
    S: Service<Request, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    let mut task = actix_web::rt::spawn(async move {
        match app.call(req).await {
            Ok(response) => {
                let status = response.status();
                let headers = response.headers().clone();
                let body = to_bytes(response.into_body()).await.map_err(|e| {
                    let e: Box<dyn std::error::Error> = e.into();
                    format!("the response body failed: {e}")
                })?;
                Ok(Exchange {
                    status,
                    headers,
                    body: body.to_vec(),
                })
            }
            // What actix's dispatcher would send for an error that escapes the service.
            Err(error) => {
                let response = error.error_response();
                let status = response.status();
                let headers = response.headers().clone();
                let body = to_bytes(response.into_body())
                    .await
                    .map_err(|e| format!("the error body failed: {e}"))?;
                Ok(Exchange {
                    status,
                    headers,
                    body: body.to_vec(),
                })
            }
        }
    });
    let started = Instant::now();
    match actix_web::rt::time::timeout(REQUEST_LIMIT, &mut task).await {
        Err(_) => {
            // Wait for the answer anyway: a store call on a blocking thread cannot be
            // cancelled, and the next requests would queue behind its locks (as 503s).
            let took = match actix_web::rt::time::timeout(ABANDON_AFTER, &mut task).await {
                Ok(_) => Some(started.elapsed()),
                Err(_) => {
                    task.abort();
                    None
                }
            };
            Err(Violation::Hang { took })
        }
        Ok(Err(join)) if join.is_panic() => {
            let payload = join.into_panic();
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "(a non-string payload)".to_owned());
            Err(Violation::Panic(message))
        }
        Ok(Err(join)) => Err(Violation::Panic(format!("the task failed: {join}"))),
        Ok(Ok(Err(why))) => Err(Violation::Panic(why)),
        Ok(Ok(Ok(reply))) => Ok(reply),
    }
}

/// Every violation of the suite's rules by one request and its answer.
fn judge(
    case: &Case,
    rendered: &Rendered,
    answer: &Result<Exchange, Violation>,
    readback: Option<Option<String>>,
    before: &Snapshot,
    after: &Snapshot,
) -> Vec<Violation> {
    let mut violations = Vec::new();
    let changed = before != after;
    let reply = match answer {
        Ok(reply) => reply,
        Err(violation) => {
            violations.push(violation.clone());
            if changed {
                violations.push(Violation::HalfWritten(before.diff(after)));
            }
            return violations;
        }
    };
    let status = reply.status;

    // Nothing half-written: only a successful write of this organisation changes it, and then
    // its resources and its outbox change together.
    let may_write = status.is_success() && case.write().is_some() && case.auth.is_fixture_org();
    if changed && !may_write {
        violations.push(Violation::HalfWritten(format!(
            "a {status} answer to a request that is no successful write changed the \
             organisation: {}",
            before.diff(after)
        )));
    }
    if may_write {
        let kept_history = after.events.starts_with(&before.events);
        let appended = after.events.len() > before.events.len();
        if !kept_history || before.resources_differ(after) != appended {
            violations.push(Violation::HalfWritten(format!(
                "resources and outbox disagree: {}",
                before.diff(after)
            )));
        }
    }
    if let Some(Some(why)) = readback {
        violations.push(Violation::NotReadBack(why));
    }

    // No 5xx; errors are §3.12 bodies.
    if status.is_server_error() {
        let detail = reply
            .json()
            .and_then(|body| body["detail"].as_str().map(str::to_owned))
            .unwrap_or_else(|| String::from_utf8_lossy(&reply.body).into_owned());
        violations.push(Violation::ServerError {
            status: status.as_u16(),
            detail,
        });
    }
    if status.is_client_error() || status.is_server_error() {
        if let Some(why) = not_a_scim_error(reply) {
            violations.push(Violation::NotScimError(why));
        }
    }

    // The refusals the RFC leaves no doubt about.
    if case.auth.is_unauthenticated() && status != StatusCode::UNAUTHORIZED {
        violations.push(Violation::NotRefused {
            rule: "no valid token is 401",
            detail: format!("answered {status}"),
        });
    }
    if case.auth == Auth::OtherOrg && status.is_success() && case.target.names_fixture() {
        violations.push(Violation::NotRefused {
            rule: "organisations are isolated",
            detail: format!("another organisation's token got {status} for this one's resource"),
        });
    }
    if rendered.method == Method::PATCH && status.is_success() {
        if let Some((rule, detail)) = unappliable_patch(&rendered.body) {
            violations.push(Violation::NotRefused {
                rule,
                detail: format!("{status} to a PATCH with {detail}"),
            });
        }
    }
    violations
}

/// Why `reply` is not an RFC 7644 §3.12 error body for its status, if it is not.
fn not_a_scim_error(reply: &Exchange) -> Option<String> {
    let content_type = reply.header("content-type").unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !(essence.eq_ignore_ascii_case("application/scim+json")
        || essence.eq_ignore_ascii_case("application/json"))
    {
        return Some(format!("Content-Type {content_type:?}"));
    }
    let Some(body) = reply.json() else {
        return Some(format!(
            "the body is not JSON: {:?}",
            String::from_utf8_lossy(&reply.body)
        ));
    };
    if body["schemas"] != json!([ERROR_SCHEMA]) {
        return Some(format!("schemas is {}", body["schemas"]));
    }
    if body["status"] != json!(reply.status.as_u16().to_string()) {
        return Some(format!(
            "status is {} for a {}",
            body["status"], reply.status
        ));
    }
    None
}

/// The most values one `add` or `replace` operation of a PATCH gives a multi-valued attribute
/// other than a group's `members` (which become set changes, never work for the PATCH
/// engine), by path or in a path-less value object.
fn patch_values_for_multi_valued(request: &Rendered) -> usize {
    // `emails[type eq "work"].value` and `urn:…:User:emails` both name `emails`.
    fn attribute_name(path: &str) -> String {
        let path = path.split('[').next().unwrap_or("");
        let path = path.rsplit(':').next().unwrap_or("");
        path.split('.').next().unwrap_or("").to_ascii_lowercase()
    }
    let multi_valued: Vec<String> = SLOTS
        .iter()
        .filter(|slot| slot.multi && slot.sub.is_none() && slot.name != "members")
        .map(|slot| slot.name.to_ascii_lowercase())
        .collect();
    let count = |name: &str, value: &Value| match value {
        Value::Array(items) if multi_valued.iter().any(|m| m == name) => items.len(),
        _ => 0,
    };
    if request.method != Method::PATCH {
        return 0;
    }
    let Ok(body) = serde_json::from_slice::<Value>(&request.body) else {
        return 0;
    };
    let Some(operations) = body.get("Operations").and_then(Value::as_array) else {
        return 0;
    };
    operations
        .iter()
        .filter(|operation| {
            let op = operation.get("op").and_then(Value::as_str).unwrap_or("");
            op.eq_ignore_ascii_case("add") || op.eq_ignore_ascii_case("replace")
        })
        .map(|operation| {
            let value = operation.get("value").unwrap_or(&Value::Null);
            match (operation.get("path").and_then(Value::as_str), value) {
                (Some(path), value) => count(&attribute_name(path), value),
                (None, Value::Object(object)) => object
                    .iter()
                    .map(|(key, value)| count(&attribute_name(key), value))
                    .max()
                    .unwrap_or(0),
                (None, _) => 0,
            }
        })
        .max()
        .unwrap_or(0)
}

/// Why a PATCH body must not be applied (RFC 7644 §3.5.2): an `add` without `value`
/// (§3.5.2.1: the operation "MUST contain a "value" member"), or an `op` that is none of
/// add, remove, replace.
fn unappliable_patch(body: &[u8]) -> Option<(&'static str, String)> {
    let body: Value = serde_json::from_slice(body).ok()?;
    let operations = body.get("Operations")?.as_array()?;
    for operation in operations {
        let Some(op) = operation.get("op") else {
            continue;
        };
        let name = op.as_str().unwrap_or("").to_ascii_lowercase();
        if name == "add" && operation.get("value").is_none() {
            return Some((
                ADD_NEEDS_VALUE,
                "an add operation without a value".to_owned(),
            ));
        }
        if !matches!(name.as_str(), "add" | "remove" | "replace") {
            return Some(("PATCH op is add, remove or replace", format!("the op {op}")));
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------------

/// A served resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    User,
    Group,
}

impl Kind {
    fn endpoint(self) -> &'static str {
        match self {
            Kind::User => "Users",
            Kind::Group => "Groups",
        }
    }

    fn placeholders(self) -> (&'static str, &'static str) {
        match self {
            Kind::User => ("{{user}}", "{{user2}}"),
            Kind::Group => ("{{group}}", "{{group2}}"),
        }
    }

    fn other(self) -> Kind {
        match self {
            Kind::User => Kind::Group,
            Kind::Group => Kind::User,
        }
    }

    fn core_schema(self) -> &'static str {
        match self {
            Kind::User => USER,
            Kind::Group => GROUP,
        }
    }

    /// The attribute that names a resource of this type, unique per organisation.
    fn name_attribute(self) -> &'static str {
        match self {
            Kind::User => "userName",
            Kind::Group => "displayName",
        }
    }
}

/// A resource id in a path.
#[derive(Debug, Clone)]
enum Id {
    /// The fixture's first resource of the endpoint's type.
    Existing,
    /// The fixture's second one.
    Second,
    /// A fixture id of the other type.
    OtherKind,
    /// Any text, percent-encoded.
    Text(String),
    /// A segment sent exactly as written (placeholders filled in).
    Verbatim(&'static str),
    /// A very long id.
    Long { fill: char, len: usize },
}

impl Id {
    fn segment(&self, kind: Kind, fixture: &Fixture) -> String {
        match self {
            Id::Existing => fixture.fill(kind.placeholders().0),
            Id::Second => fixture.fill(kind.placeholders().1),
            Id::OtherKind => fixture.fill(kind.other().placeholders().0),
            Id::Text(text) => percent_encode(&fixture.fill(text)),
            Id::Verbatim(text) => fixture.fill(text),
            Id::Long { fill, len } => percent_encode(&fill.to_string().repeat(*len)),
        }
    }
}

/// Where a request goes, below `/scim/v2`.
#[derive(Debug, Clone)]
enum Target {
    Collection(Kind),
    One(Kind, Id),
    Search(Kind),
    RootSearch,
    /// A discovery path (`Schemas/…`, `ResourceTypes/…`, `ServiceProviderConfig`).
    Discovery(String),
    /// Anything else, as written (placeholders filled in).
    Raw(String),
}

impl Target {
    fn path(&self, fixture: &Fixture) -> String {
        match self {
            Target::Collection(kind) => format!("/scim/v2/{}", kind.endpoint()),
            Target::One(kind, id) => {
                format!(
                    "/scim/v2/{}/{}",
                    kind.endpoint(),
                    id.segment(*kind, fixture)
                )
            }
            Target::Search(kind) => format!("/scim/v2/{}/.search", kind.endpoint()),
            Target::RootSearch => "/scim/v2/.search".to_owned(),
            Target::Discovery(path) => format!("/scim/v2/{path}"),
            Target::Raw(path) => format!("/scim/v2{}", fixture.fill(path)),
        }
    }

    /// The endpoint, for a survey.
    fn label(&self) -> String {
        match self {
            Target::Collection(kind) => format!("/{}", kind.endpoint()),
            Target::One(kind, _) => format!("/{}/{{id}}", kind.endpoint()),
            Target::Search(kind) => format!("/{}/.search", kind.endpoint()),
            Target::RootSearch => "/.search".into(),
            Target::Discovery(_) => "discovery".into(),
            Target::Raw(_) => "another path".into(),
        }
    }

    /// Whether the path names a resource of the fixture.
    fn names_fixture(&self) -> bool {
        matches!(
            self,
            Target::One(_, Id::Existing | Id::Second | Id::OtherKind)
        )
    }
}

/// How a query value is encoded.
#[derive(Debug, Clone)]
enum Encoding {
    /// Everything but unreserved characters percent-encoded.
    Strict,
    /// As a browser would: sub-delimiters kept, space as `+`.
    Loose,
    /// Strict, then this raw tail (a broken escape, `%00`, …).
    Broken(&'static str),
    /// Percent-encoded twice.
    Double,
}

/// One piece of a query string.
#[derive(Debug, Clone)]
enum QueryPart {
    Pair {
        name: String,
        value: String,
        encoding: Encoding,
    },
    /// Written as is (`&&`, `=`, a name without a value).
    Raw(&'static str),
}

fn encode(text: &str, encoding: &Encoding) -> String {
    match encoding {
        Encoding::Strict => percent_encode(text),
        Encoding::Loose => {
            let mut out = String::new();
            for byte in text.bytes() {
                match byte {
                    b' ' => out.push('+'),
                    b'A'..=b'Z'
                    | b'a'..=b'z'
                    | b'0'..=b'9'
                    | b'-'
                    | b'.'
                    | b'_'
                    | b'~'
                    | b'!'
                    | b'$'
                    | b'\''
                    | b'('
                    | b')'
                    | b'*'
                    | b','
                    | b';'
                    | b':'
                    | b'@'
                    | b'/'
                    | b'?' => out.push(char::from(byte)),
                    _ => out.push_str(&format!("%{byte:02X}")),
                }
            }
            out
        }
        Encoding::Broken(tail) => format!("{}{tail}", percent_encode(text)),
        Encoding::Double => percent_encode(&percent_encode(text)),
    }
}

/// How the request authenticates.
#[derive(Debug, Clone, PartialEq)]
enum Auth {
    /// `Bearer <the fixture's token>`.
    Valid,
    /// The fixture's token under another spelling of the scheme (`bearer`, `BEARER`, two
    /// spaces): RFC 9110 makes the scheme case-insensitive, so it may or may not be accepted.
    Scheme(&'static str),
    /// A valid token of another organisation.
    OtherOrg,
    /// No `Authorization` header.
    Missing,
    /// The fixture's token with its secret's last character changed.
    WrongSecret,
    /// Garbage.
    Garbage(String),
}

impl Auth {
    fn is_unauthenticated(&self) -> bool {
        matches!(self, Auth::Missing | Auth::WrongSecret | Auth::Garbage(_))
    }

    /// Whether a request that succeeds speaks for the fixture's organisation.
    fn is_fixture_org(&self) -> bool {
        matches!(self, Auth::Valid | Auth::Scheme(_))
    }

    fn header(&self, fixture: &Fixture, other_token: &str) -> Option<Vec<u8>> {
        match self {
            Auth::Valid => Some(format!("Bearer {}", fixture.token).into_bytes()),
            Auth::Scheme(scheme) => Some(format!("{scheme}{}", fixture.token).into_bytes()),
            Auth::OtherOrg => Some(format!("Bearer {other_token}").into_bytes()),
            Auth::Missing => None,
            Auth::WrongSecret => {
                let mut token = fixture.token.clone();
                let last = token.pop().unwrap_or('x');
                token.push(if last == 'A' { 'B' } else { 'A' });
                Some(format!("Bearer {token}").into_bytes())
            }
            Auth::Garbage(text) => Some(header_bytes(text.as_bytes())),
        }
    }
}

/// A header's value.
#[derive(Debug, Clone)]
enum HeaderText {
    Text(String),
    /// `fill` repeated `len` times: a huge header.
    Long {
        fill: char,
        len: usize,
    },
}

/// One generated header.
#[derive(Debug, Clone)]
struct Header {
    name: String,
    value: HeaderText,
}

/// What splices into a [`Body::Spliced`] document.
#[derive(Debug, Clone)]
enum Splice {
    /// JSON text as is (a huge number, a raw literal).
    Literal(String),
    /// A JSON string of about `len` bytes of `fill`.
    Long { fill: char, len: usize },
    /// A JSON string of `len` pseudo-random letters from `seed`: unlike a repeated character,
    /// it does not compress, so it stays as long in a database index.
    Noise { seed: u64, len: usize },
    /// Arrays or objects nested `depth` deep, closed or not.
    Nested {
        depth: usize,
        object: bool,
        closed: bool,
    },
}

impl Splice {
    fn text(&self) -> String {
        match self {
            Splice::Literal(text) => text.clone(),
            Splice::Long { fill, len } => {
                let count = (*len / fill.len_utf8()).max(1);
                serde_json::to_string(&fill.to_string().repeat(count)).unwrap()
            }
            Splice::Noise { seed, len } => {
                let mut state = seed.wrapping_add(0x9E37_79B9_7F4A_7C15) | 1;
                let letters: String = (0..*len)
                    .map(|_| {
                        // xorshift64: cheap, and enough to defeat compression.
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        char::from(b'a' + u8::try_from(state % 26).unwrap())
                    })
                    .collect();
                format!("\"{letters}\"")
            }
            Splice::Nested {
                depth,
                object,
                closed,
            } => {
                let (open, close) = if *object {
                    ("{\"a\":", "}")
                } else {
                    ("[", "]")
                };
                let mut text = open.repeat(*depth);
                text.push('1');
                if *closed {
                    text.push_str(&close.repeat(*depth));
                }
                text
            }
        }
    }
}

/// A request body.
#[derive(Debug, Clone)]
enum Body {
    None,
    /// A JSON document.
    Json(Value),
    /// A JSON document whose string [`SPLICE`] is replaced by the splice's text.
    Spliced(Value, Splice),
    /// Text as is (duplicate keys, truncated JSON).
    Text(String),
    /// Bytes as is (random bytes, invalid UTF-8).
    Bytes(Vec<u8>),
}

impl Body {
    fn bytes(&self, fixture: &Fixture) -> Option<Vec<u8>> {
        match self {
            Body::None => None,
            Body::Json(value) => Some(fixture.fill(&value.to_string()).into_bytes()),
            Body::Spliced(value, splice) => {
                let text = fixture.fill(&value.to_string());
                let marker = format!("\"{SPLICE}\"");
                Some(text.replacen(&marker, &splice.text(), 1).into_bytes())
            }
            Body::Text(text) => Some(fixture.fill(text).into_bytes()),
            Body::Bytes(bytes) => Some(fixture.fill_bytes(bytes)),
        }
    }
}

/// One generated request, with placeholders for the fixture's ids and token.
#[derive(Debug, Clone)]
struct Case {
    method: Method,
    target: Target,
    query: Vec<QueryPart>,
    auth: Auth,
    /// `None`: no `Content-Type`.
    content_type: Option<String>,
    headers: Vec<Header>,
    body: Body,
}

/// What a successful request of a case writes.
#[derive(Debug, Clone, Copy)]
enum Write {
    Create(Kind),
    Update,
    Delete,
}

impl Case {
    fn write(&self) -> Option<Write> {
        match (&self.target, &self.method) {
            (Target::Collection(kind), &Method::POST) => Some(Write::Create(*kind)),
            (Target::One(..), &Method::PUT | &Method::PATCH) => Some(Write::Update),
            (Target::One(..), &Method::DELETE) => Some(Write::Delete),
            _ => None,
        }
    }

    /// The path, and the URI with its query.
    fn uri(&self, fixture: &Fixture) -> (String, String) {
        let path = self.target.path(fixture);
        let query: Vec<String> = self
            .query
            .iter()
            .map(|part| match part {
                QueryPart::Pair {
                    name,
                    value,
                    encoding,
                } => format!(
                    "{}={}",
                    encode(&fixture.fill(name), encoding),
                    encode(&fixture.fill(value), encoding)
                ),
                QueryPart::Raw(text) => (*text).to_owned(),
            })
            .collect();
        let uri = if query.is_empty() {
            path.clone()
        } else {
            format!("{path}?{}", query.join("&"))
        };
        (path, uri)
    }

    fn render(&self, fixture: &Fixture, other_token: &str) -> Rendered {
        let (path, uri) = self.uri(fixture);
        let mut headers = Vec::new();
        if let Some(content_type) = &self.content_type {
            headers.push((CONTENT_TYPE, header_bytes(content_type.as_bytes())));
        }
        for header in &self.headers {
            let value = match &header.value {
                HeaderText::Text(text) => header_bytes(fixture.fill(text).as_bytes()),
                HeaderText::Long { fill, len } => {
                    header_bytes(fill.to_string().repeat(*len).as_bytes())
                }
            };
            if let Ok(name) = HeaderName::from_bytes(header.name.as_bytes()) {
                headers.push((name, value));
            }
        }
        Rendered {
            method: self.method.clone(),
            uri,
            path,
            authorization: self.auth.header(fixture, other_token),
            headers,
            body: self.body.bytes(fixture).unwrap_or_default(),
            has_body: !matches!(self.body, Body::None),
        }
    }
}

/// The length in bytes of the longest string (key or value) in `value`.
fn longest_string(value: &Value) -> usize {
    match value {
        Value::String(text) => text.len(),
        Value::Array(items) => items.iter().map(longest_string).max().unwrap_or(0),
        Value::Object(map) => map
            .iter()
            .map(|(key, value)| key.len().max(longest_string(value)))
            .max()
            .unwrap_or(0),
        _ => 0,
    }
}

/// `bytes` made a valid header value: control characters (but tab) become `?`.
fn header_bytes(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .map(|&b| {
            if (b < 0x20 && b != b'\t') || b == 0x7f {
                b'?'
            } else {
                b
            }
        })
        .collect()
}

/// A case made concrete for one fixture: what goes on the wire.
#[derive(Debug, Clone)]
struct Rendered {
    method: Method,
    uri: String,
    /// The URI without its query.
    path: String,
    authorization: Option<Vec<u8>>,
    headers: Vec<(HeaderName, Vec<u8>)>,
    body: Vec<u8>,
    has_body: bool,
}

impl Rendered {
    fn to_request(&self) -> Request {
        let mut req = test::TestRequest::default()
            .method(self.method.clone())
            .uri(&self.uri);
        if let Some(auth) = &self.authorization {
            req = req.insert_header((
                actix_web::http::header::AUTHORIZATION,
                HeaderValue::from_bytes(auth).unwrap(),
            ));
        }
        if self.has_body {
            req = req.set_payload(self.body.clone());
        }
        // After the payload, so a generated Content-Length contradicts the true one.
        for (name, value) in &self.headers {
            req = req.append_header((name.clone(), HeaderValue::from_bytes(value).unwrap()));
        }
        req.to_request()
    }

    fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// What is notable about the request, for a survey: where it carries NUL characters, and
    /// how long its longest string is.
    fn features(&self) -> String {
        let mut features = Vec::new();
        if self.nul_in_path() {
            features.push("NUL in path".to_owned());
        }
        if self.nul_in_filter() {
            features.push("NUL in filter".to_owned());
        }
        if self.nul_in_document() {
            features.push("NUL in body".to_owned());
        }
        let longest = serde_json::from_slice::<Value>(&self.body)
            .map(|body| longest_string(&body))
            .unwrap_or(0);
        if longest > 1000 {
            features.push(format!("a {}-byte string", longest));
        }
        features.join(", ")
    }

    /// Whether the path (not the query) holds a `%00`.
    fn nul_in_path(&self) -> bool {
        self.path.to_ascii_lowercase().contains("%00")
    }

    /// Whether a filter, in the query or in a `.search` body, holds a NUL: a `\u0000` escape
    /// the filter grammar turns into one.
    fn nul_in_filter(&self) -> bool {
        let query = self.uri.split_once('?').map_or("", |(_, query)| query);
        let in_query = query.split('&').any(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            percent_decode(name).eq_ignore_ascii_case("filter")
                && has_nul_escape(&percent_decode(value))
        });
        let in_search = self.path.ends_with(".search")
            && serde_json::from_slice::<Value>(&self.body)
                .ok()
                .and_then(|body| {
                    body.get("filter")
                        .and_then(Value::as_str)
                        .map(has_nul_escape)
                })
                .unwrap_or(false);
        in_query || in_search
    }

    /// Whether the query or a `.search` body sorts by `schemas` (in any case, with or without
    /// a URN prefix).
    fn sorts_by_schemas(&self) -> bool {
        let is_schemas = |text: &str| {
            text.trim()
                .rsplit(':')
                .next()
                .is_some_and(|name| name.eq_ignore_ascii_case("schemas"))
        };
        let query = self.uri.split_once('?').map_or("", |(_, query)| query);
        let in_query = query.split('&').any(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            percent_decode(name).eq_ignore_ascii_case("sortBy")
                && is_schemas(&percent_decode(value))
        });
        let in_search = self.path.ends_with(".search")
            && serde_json::from_slice::<Value>(&self.body)
                .ok()
                .and_then(|body| body.get("sortBy").and_then(Value::as_str).map(is_schemas))
                .unwrap_or(false);
        in_query || in_search
    }

    /// Whether a resource body (not a `.search` body) carries a NUL in a string.
    fn nul_in_document(&self) -> bool {
        let body = self.body_text().to_ascii_lowercase();
        !self.path.ends_with(".search") && (self.body.contains(&0) || body.contains("\\u0000"))
    }

    /// Whether the body gives a string of `min` bytes or more to an attribute the store
    /// indexes: `userName`, `externalId`, `emails.value`, and a group's `displayName`.
    fn long_indexed_string(&self, min: usize) -> bool {
        let Ok(body) = serde_json::from_slice::<Value>(&self.body) else {
            return false;
        };
        let group = self.path.contains("/Groups");
        long_string_at(&body, "", min, &|context: &str| {
            ["username", "externalid", "emails.value"]
                .iter()
                .any(|name| context.ends_with(name))
                || (group && context.ends_with("displayname"))
        })
    }
}

/// Whether a filter's text holds a `\u0000` escape.
fn has_nul_escape(filter: &str) -> bool {
    filter.to_ascii_lowercase().contains("\\u0000")
}

/// `text` percent-decoded, lossily (`+` stays a plus: only the escapes matter here).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|pair| std::str::from_utf8(pair).ok())
            .and_then(|pair| u8::from_str_radix(pair, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Whether `value` holds a string of `min` bytes or more where `indexed` holds for its
/// context: the lowercased attribute path leading to it (`emails.value`), a PATCH operation's
/// `value` taking the context of its `path`.
fn long_string_at(
    value: &Value,
    context: &str,
    min: usize,
    indexed: &dyn Fn(&str) -> bool,
) -> bool {
    match value {
        Value::String(text) => text.len() >= min && indexed(context),
        Value::Array(items) => items
            .iter()
            .any(|item| long_string_at(item, context, min, indexed)),
        Value::Object(map) => {
            let path = map.get("path").and_then(Value::as_str).map(|path| {
                // `emails[type eq "work"].value` is `emails.value`; a URN prefix goes.
                let mut plain = String::new();
                let mut depth = 0_usize;
                for c in path.chars() {
                    match c {
                        '[' => depth += 1,
                        ']' => depth = depth.saturating_sub(1),
                        c if depth == 0 => plain.push(c),
                        _ => {}
                    }
                }
                plain.rsplit(':').next().unwrap_or("").to_ascii_lowercase()
            });
            map.iter().any(|(key, item)| {
                let name = key.rsplit(':').next().unwrap_or("").to_ascii_lowercase();
                let inner = match (&path, key.as_str()) {
                    (Some(path), "value") => path.clone(),
                    _ if context.is_empty() => name,
                    _ => format!("{context}.{name}"),
                };
                long_string_at(item, &inner, min, indexed)
            })
        }
        _ => false,
    }
}

impl fmt::Display for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const SHOWN: usize = 1500;
        let shorten = |text: String| {
            if text.len() <= SHOWN {
                text
            } else {
                let mut end = SHOWN;
                while !text.is_char_boundary(end) {
                    end -= 1;
                }
                format!("{}… ({} bytes in all)", &text[..end], text.len())
            }
        };
        writeln!(f, "  {} {}", self.method, shorten(self.uri.clone()))?;
        if let Some(auth) = &self.authorization {
            writeln!(
                f,
                "  Authorization: {}",
                shorten(String::from_utf8_lossy(auth).into())
            )?;
        }
        for (name, value) in &self.headers {
            writeln!(
                f,
                "  {name}: {}",
                shorten(String::from_utf8_lossy(value).into())
            )?;
        }
        if self.has_body {
            write!(f, "\n  {}", shorten(format!("{:?}", self.body_text())))?;
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Attributes, from the schemas
// ---------------------------------------------------------------------------------------------

/// Where an attribute or sub-attribute sits in a resource.
#[derive(Debug, Clone)]
struct Slot {
    kind: Kind,
    /// The extension schema's URN; `None` for core and common attributes.
    urn: Option<String>,
    name: String,
    sub: Option<String>,
    ty: AttributeType,
    /// Whether the attribute (for a sub-attribute: its parent) is multi-valued.
    multi: bool,
}

impl Slot {
    /// The attribute path (RFC 7644 §3.10): `name`, `name.sub`, `urn:name.sub`.
    fn path(&self) -> String {
        let base = match &self.sub {
            Some(sub) => format!("{}.{sub}", self.name),
            None => self.name.clone(),
        };
        match &self.urn {
            Some(urn) => format!("{urn}:{base}"),
            None => base,
        }
    }

    /// Puts `value` at this slot of `document`.
    fn place(&self, document: &mut Map<String, Value>, value: Value) {
        let holder = match &self.urn {
            Some(urn) => {
                if let Some(Value::Array(schemas)) = document.get_mut("schemas") {
                    schemas.push(Value::from(urn.as_str()));
                }
                let entry = document.entry(urn.clone()).or_insert_with(|| json!({}));
                if !entry.is_object() {
                    *entry = json!({});
                }
                entry.as_object_mut().unwrap()
            }
            None => document,
        };
        let value = match &self.sub {
            None => value,
            Some(sub) => {
                let mut inner = Map::new();
                inner.insert(sub.clone(), value);
                if self.multi {
                    json!([inner])
                } else {
                    Value::Object(inner)
                }
            }
        };
        holder.insert(self.name.clone(), value);
    }
}

/// Every attribute and sub-attribute of every served resource type, common ones included.
static SLOTS: LazyLock<Vec<Slot>> = LazyLock::new(|| {
    let registry = SchemaRegistry::standard();
    let mut slots = Vec::new();
    for rt in registry.resource_types() {
        let kind = match rt.name() {
            "User" => Kind::User,
            "Group" => Kind::Group,
            other => panic!("resource type {other} has no endpoint in the hostile suite yet"),
        };
        let mut add = |urn: Option<&str>, attributes: &[Attribute]| {
            for attribute in attributes {
                slots.push(Slot {
                    kind,
                    urn: urn.map(str::to_owned),
                    name: attribute.name().to_owned(),
                    sub: None,
                    ty: attribute.attribute_type(),
                    multi: attribute.is_multi_valued(),
                });
                for sub in attribute.sub_attributes() {
                    slots.push(Slot {
                        kind,
                        urn: urn.map(str::to_owned),
                        name: attribute.name().to_owned(),
                        sub: Some(sub.name().to_owned()),
                        ty: sub.attribute_type(),
                        multi: attribute.is_multi_valued(),
                    });
                }
            }
        };
        add(None, rt.common_attributes());
        add(None, rt.core_schema().attributes());
        for extension in rt.extensions() {
            add(Some(extension.schema.id()), extension.schema.attributes());
        }
    }
    slots
});

fn slots_of(kind: Kind) -> Vec<Slot> {
    SLOTS
        .iter()
        .filter(|slot| slot.kind == kind)
        .cloned()
        .collect()
}

/// Every attribute path of every type, for filters, `attributes` lists and `sortBy`.
fn all_paths() -> Vec<String> {
    let mut paths: Vec<String> = SLOTS.iter().map(Slot::path).collect();
    paths.sort();
    paths.dedup();
    paths
}

/// A new resource of `kind` with its required attributes, named so it collides with nothing.
fn base_document(kind: Kind) -> Map<String, Value> {
    let mut document = Map::new();
    document.insert("schemas".into(), json!([kind.core_schema()]));
    document.insert(kind.name_attribute().into(), json!("hostile-new"));
    document
}

/// `base_document(kind)` with `value` at `slot`.
fn document_with(kind: Kind, slot: &Slot, value: Value) -> Value {
    let mut document = base_document(kind);
    slot.place(&mut document, value);
    Value::Object(document)
}

/// One value of each JSON type, for the sweep.
fn one_of_each_type() -> Vec<Value> {
    vec![
        Value::Null,
        json!(true),
        json!(42),
        json!(-1.5),
        json!("text"),
        json!(["text"]),
        json!({"value": "text"}),
    ]
}

/// Whether `value` has the JSON type an attribute of `ty` holds (one value of it).
fn has_type(ty: AttributeType, value: &Value) -> bool {
    match ty {
        AttributeType::Boolean => value.is_boolean(),
        AttributeType::Integer => value.is_i64() || value.is_u64(),
        AttributeType::Decimal => value.is_number(),
        AttributeType::Complex => value.is_object(),
        _ => value.is_string(),
    }
}

/// The sweep: every wrong JSON type at every attribute and sub-attribute, sent as a POST, a
/// PUT and a PATCH (`replace` with a path, and path-less `add`) in turn.
fn sweep() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut turn = 0_usize;
    for slot in SLOTS.iter() {
        for value in one_of_each_type() {
            if has_type(slot.ty, &value) {
                continue;
            }
            turn += 1;
            let kind = slot.kind;
            let (method, target, body) = match turn % 4 {
                0 => (
                    Method::POST,
                    Target::Collection(kind),
                    document_with(kind, slot, value),
                ),
                1 => (
                    Method::PUT,
                    Target::One(kind, Id::Existing),
                    document_with(kind, slot, value),
                ),
                2 => (
                    Method::PATCH,
                    Target::One(kind, Id::Existing),
                    json!({
                        "schemas": [PATCH_OP],
                        "Operations": [{"op": "replace", "path": slot.path(), "value": value}],
                    }),
                ),
                _ => {
                    let mut object = Map::new();
                    slot.place(&mut object, value);
                    (
                        Method::PATCH,
                        Target::One(kind, Id::Existing),
                        json!({
                            "schemas": [PATCH_OP],
                            "Operations": [{"op": "add", "value": object}],
                        }),
                    )
                }
            };
            cases.push(Case {
                method,
                target,
                query: Vec::new(),
                auth: Auth::Valid,
                content_type: Some("application/scim+json".into()),
                headers: Vec::new(),
                body: Body::Json(body),
            });
        }
    }
    cases
}

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

/// Strings a server may choke on: NUL and other control characters, odd Unicode, injection
/// attempts, placeholders for the fixture's ids, and arbitrary text.
fn hostile_string() -> BoxedStrategy<String> {
    let pieces = select(vec![
        "",
        " ",
        "\0",
        "a\0b",
        "\u{1}\u{8}\u{1b}\u{1f}\u{7f}",
        "\r\n",
        "\t",
        "\u{202e}evil",
        "\u{feff}",
        "\u{fffd}",
        "\u{ffff}",
        "\u{10ffff}",
        "𝄞",
        "ﬀ",
        "İ",
        "ß",
        "ǅ",
        "e\u{301}",
        "'; DROP TABLE users; --",
        "\\",
        "\"",
        "%00",
        "%s%n",
        "..",
        "../../etc/passwd",
        "${jndi:ldap://x/}",
        "<script>",
        "null",
        "1e400",
        "{{user}}",
        "{{group}}",
        "{{USER}}",
    ])
    .prop_map(str::to_owned);
    prop_oneof![
        3 => any::<String>(),
        3 => pieces.clone(),
        2 => (pieces.clone(), "[a-z]{0,4}", pieces).prop_map(|(a, b, c)| format!("{a}{b}{c}")),
        2 => "[a-zA-Z0-9 .@_-]{0,24}",
    ]
    .boxed()
}

/// A placeholder for a fixture id, or an id that names nothing.
fn reference_id() -> BoxedStrategy<String> {
    prop_oneof![
        4 => select(vec!["{{user}}", "{{user2}}", "{{group}}", "{{group2}}", "{{USER}}"])
            .prop_map(str::to_owned),
        1 => Just("00000000-0000-4000-8000-000000000000".to_owned()),
        1 => hostile_string(),
    ]
    .boxed()
}

/// Any JSON leaf, extremes included.
fn json_leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        3 => hostile_string().prop_map(Value::String),
        1 => reference_id().prop_map(Value::String),
    ]
    .boxed()
}

/// An object key: an attribute name or path, or anything.
fn key() -> BoxedStrategy<String> {
    let mut names: Vec<String> = SLOTS
        .iter()
        .flat_map(|slot| [slot.name.clone(), slot.path()])
        .chain(slot_sub_names())
        .collect();
    names.extend(
        [
            USER,
            GROUP,
            ENTERPRISE,
            "schemas",
            "Operations",
            "op",
            "path",
            "value",
            "urn:x:y",
        ]
        .map(str::to_owned),
    );
    names.sort();
    names.dedup();
    prop_oneof![3 => select(names), 1 => hostile_string()].boxed()
}

fn slot_sub_names() -> Vec<String> {
    SLOTS.iter().filter_map(|slot| slot.sub.clone()).collect()
}

/// Any JSON value, a few levels deep.
fn json_value() -> BoxedStrategy<Value> {
    json_leaf()
        .prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                vec(inner.clone(), 0..4).prop_map(Value::Array),
                vec((key(), inner), 0..4)
                    .prop_map(|pairs| Value::Object(pairs.into_iter().collect())),
            ]
        })
        .boxed()
}

/// Number literals serde_json cannot hold as they are, and other extremes.
fn huge_number() -> BoxedStrategy<Splice> {
    let three_hundred_digits = "9".repeat(300);
    prop_oneof![
        select(vec![
            "1e400".to_owned(),
            "-1e400".to_owned(),
            "1e-400".to_owned(),
            "1E+999999999999".to_owned(),
            three_hundred_digits.clone(),
            format!("-{three_hundred_digits}"),
            format!("0.{}1", "0".repeat(400)),
            "18446744073709551616".to_owned(),
            "-9223372036854775809".to_owned(),
            "9223372036854775807".to_owned(),
            "-0".to_owned(),
            "1.7976931348623157e309".to_owned(),
        ])
        .prop_map(Splice::Literal),
        (1usize..2000).prop_map(|digits| Splice::Literal("7".repeat(digits))),
    ]
    .boxed()
}

/// A string of `len` bytes, from a little to over the body limit.
fn long_splice() -> BoxedStrategy<Splice> {
    let limit = max_body();
    let length = prop_oneof![
        2 => 256usize..2048,
        3 => 2048usize..4096,
        2 => 4096usize..100_000,
        1 => (limit - 4096)..(limit - 64),
        1 => limit..(limit + 64),
    ];
    prop_oneof![
        (
            select(vec!['a', 'é', '𝄞', '\0', '"', '\u{7f}']),
            length.clone()
        )
            .prop_map(|(fill, len)| Splice::Long { fill, len }),
        (any::<u64>(), length).prop_map(|(seed, len)| Splice::Noise { seed, len }),
    ]
    .boxed()
}

/// Arrays or objects nested up to 20,000 deep.
fn nested_splice() -> BoxedStrategy<Splice> {
    (
        prop_oneof![1usize..200, 200usize..20_000],
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(depth, object, closed)| Splice::Nested {
            depth,
            object,
            closed,
        })
        .boxed()
}

fn is_string(ty: AttributeType) -> bool {
    matches!(
        ty,
        AttributeType::String
            | AttributeType::Reference
            | AttributeType::Binary
            | AttributeType::DateTime
    )
}

/// The slots of `kind` that hold strings.
fn string_slots(kind: Kind) -> Vec<Slot> {
    slots_of(kind)
        .into_iter()
        .filter(|slot| is_string(slot.ty))
        .collect()
}

/// The slots the store keeps in columns and indexes of their own (the unique name,
/// `externalId`, email keys, `active`, members) or treats specially (`id`, `schemas`,
/// `password`): where a value reaches SQL, not only a JSON document.
fn key_slots(kind: Kind) -> Vec<Slot> {
    let paths = [
        kind.name_attribute(),
        "externalId",
        "emails.value",
        "emails.type",
        "emails.primary",
        "active",
        "members.value",
        "members.type",
        "members.display",
        "id",
        "schemas",
        "password",
        "displayName",
    ];
    slots_of(kind)
        .into_iter()
        .filter(|slot| paths.contains(&slot.path().as_str()))
        .collect()
}

/// An attribute or sub-attribute of `kind`, the store's key ones more often.
fn slot(kind: Kind) -> BoxedStrategy<Slot> {
    prop_oneof![2 => select(key_slots(kind)), 3 => select(slots_of(kind))].boxed()
}

/// A member of a group, well formed or not.
fn member() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => reference_id().prop_map(|id| json!({"value": id})),
        2 => (reference_id(), select(vec!["User", "Group", "user", "Other", ""]))
            .prop_map(|(id, kind)| json!({"value": id, "type": kind})),
        1 => (reference_id(), hostile_string())
            .prop_map(|(id, display)| json!({"value": id, "display": display})),
        1 => (reference_id(), hostile_string())
            .prop_map(|(id, reference)| json!({"value": id, "$ref": reference})),
        1 => json_value(),
    ]
    .boxed()
}

/// A `members` value: a list, a wrong type, or a list at the per-request cap.
fn members_value() -> BoxedStrategy<Value> {
    prop_oneof![
        6 => vec(member(), 0..6).prop_map(Value::Array),
        2 => json_value(),
        1 => (9_995usize..10_010).prop_map(|count| {
            Value::Array(
                (0..count)
                    .map(|i| json!({"value": format!("00000000-0000-4000-8000-{i:012}")}))
                    .collect(),
            )
        }),
    ]
    .boxed()
}

/// A valid resource of `kind`, to damage.
fn valid_document(kind: Kind) -> Value {
    match kind {
        Kind::User => json!({
            "schemas": [USER, ENTERPRISE],
            "userName": "hostile-new",
            "name": {"givenName": "N", "familyName": "M"},
            "emails": [{"value": "n@example.com", "type": "work", "primary": true}],
            "active": true,
            "password": "t1meMa$heen",
            ENTERPRISE: {"manager": {"value": "{{user}}"}},
        }),
        Kind::Group => json!({
            "schemas": [GROUP],
            "displayName": "hostile-new",
            "members": [{"value": "{{user}}"}, {"value": "{{group}}", "type": "Group"}],
        }),
    }
}

/// A resource body for `kind`, damaged in one of many ways.
fn resource_body(kind: Kind) -> BoxedStrategy<Body> {
    let slots = slot(kind);
    let strings = prop_oneof![
        2 => select(key_slots(kind)).prop_filter("a string", |slot| is_string(slot.ty)),
        3 => select(string_slots(kind)),
    ];
    prop_oneof![
        // A wrong (or right) JSON type at one attribute or sub-attribute.
        5 => (slots.clone(), json_value())
            .prop_map(move |(slot, value)| Body::Json(document_with(kind, &slot, value))),
        // NUL, control characters, odd Unicode in a string attribute.
        3 => (strings.clone(), hostile_string())
            .prop_map(move |(slot, text)| Body::Json(document_with(kind, &slot, json!(text)))),
        // Over-long strings.
        2 => (strings, long_splice()).prop_map(move |(slot, splice)| {
            Body::Spliced(document_with(kind, &slot, json!(SPLICE)), splice)
        }),
        // Numbers serde_json cannot hold.
        1 => (slots.clone(), huge_number()).prop_map(move |(slot, splice)| {
            Body::Spliced(document_with(kind, &slot, json!(SPLICE)), splice)
        }),
        // Deep nesting, as an attribute's value or as the whole body.
        1 => (slots, nested_splice()).prop_map(move |(slot, splice)| {
            Body::Spliced(document_with(kind, &slot, json!(SPLICE)), splice)
        }),
        1 => nested_splice().prop_map(|splice| Body::Spliced(json!(SPLICE), splice)),
        // Random bytes.
        1 => vec(any::<u8>(), 0..512).prop_map(Body::Bytes),
        // Invalid UTF-8 inside a string.
        1 => vec(prop_oneof![0x80u8..=0xff, any::<u8>()], 1..8).prop_map(move |bad| {
            let mut bytes = format!(
                "{{\"schemas\":[\"{}\"],\"{}\":\"x",
                kind.core_schema(),
                kind.name_attribute()
            )
            .into_bytes();
            bytes.extend(bad);
            bytes.extend_from_slice(b"\"}");
            Body::Bytes(bytes)
        }),
        // Truncated JSON.
        1 => any::<Index>().prop_map(move |cut| {
            let text = valid_document(kind).to_string().into_bytes();
            Body::Bytes(text[..cut.index(text.len())].to_vec())
        }),
        // Duplicate keys, in any case.
        1 => duplicate_keys(kind),
        // Unknown attributes and schema URNs.
        1 => unknown_attributes(kind),
        // A group's members.
        1 => members_value().prop_map(move |members| {
            let mut document = base_document(Kind::Group);
            document.insert("members".into(), members);
            if kind == Kind::User {
                document = base_document(Kind::User);
                document.insert("groups".into(), json!([{"value": "{{group}}"}]));
            }
            Body::Json(Value::Object(document))
        }),
        // Any JSON at all.
        1 => json_value().prop_map(Body::Json),
    ]
    .boxed()
}

/// An object with keys drawn from a few, so that some repeat.
fn duplicate_keys(kind: Kind) -> BoxedStrategy<Body> {
    let names = vec![
        kind.name_attribute().to_owned(),
        kind.name_attribute().to_uppercase(),
        "schemas".to_owned(),
        "externalId".to_owned(),
        "active".to_owned(),
        "members".to_owned(),
        "id".to_owned(),
    ];
    vec((select(names), json_leaf()), 1..8)
        .prop_map(move |pairs| {
            let mut text = format!(
                "{{\"schemas\":[\"{}\"],\"{}\":\"hostile-new\"",
                kind.core_schema(),
                kind.name_attribute()
            );
            for (name, value) in pairs {
                text.push_str(&format!(",{}:{value}", json!(name)));
            }
            text.push('}');
            Body::Text(text)
        })
        .boxed()
}

/// A body naming attributes and schemas that do not exist, or the right ones wrongly.
fn unknown_attributes(kind: Kind) -> BoxedStrategy<Body> {
    let schemas = prop_oneof![
        Just(json!([kind.core_schema(), "urn:example:unknown:2.0:Thing"])),
        Just(json!(["urn:example:unknown:2.0:Thing"])),
        Just(json!([])),
        Just(json!(kind.core_schema())),
        Just(json!([kind.core_schema(), kind.core_schema()])),
        Just(json!([kind.core_schema().to_uppercase()])),
        Just(json!([kind.other().core_schema()])),
        json_value(),
    ];
    (schemas, vec((key(), json_value()), 0..4))
        .prop_map(move |(schemas, extra)| {
            let mut document = base_document(kind);
            document.insert("schemas".into(), schemas);
            for (name, value) in extra {
                document.insert(name, value);
            }
            document.insert("urn:example:unknown:2.0:Thing".into(), json!({"x": 1}));
            Body::Json(Value::Object(document))
        })
        .boxed()
}

/// Attribute paths: every real one, in odd spellings, and not.
fn attribute_path() -> BoxedStrategy<String> {
    prop_oneof![
        6 => select(all_paths()),
        1 => select(all_paths()).prop_map(|path| path.to_uppercase()),
        2 => select(vec![
            "members.value",
            "groups.value",
            "meta.lastModified",
            "meta.version",
            "emails[type eq \"work\"].value",
            "name.",
            ".name",
            "a.b.c",
            "urn:example:x:y",
            "urn:ietf:params:scim:schemas:core:2.0:User:",
            "userName.x",
            "password",
            "",
        ])
        .prop_map(str::to_owned),
        1 => hostile_string(),
    ]
    .boxed()
}

/// A comparison value of a filter: any JSON literal, extremes, and broken ones.
fn filter_value() -> BoxedStrategy<String> {
    prop_oneof![
        3 => hostile_string().prop_map(|text| json!(text).to_string()),
        2 => select(vec![
            "true",
            "false",
            "null",
            "1",
            "-1",
            "1.5",
            "1e400",
            "-0",
            "\"2026-01-01T00:00:00Z\"",
            "\"not a date\"",
            "unquoted",
            "\"{{user}}\"",
            "\"unterminated",
            "\"\\u0000\"",
            "\"\\ud800\"",
            "\"\\x\"",
            "",
        ])
        .prop_map(str::to_owned),
        1 => huge_number().prop_map(|splice| splice.text()),
        // Escapes the grammar decodes: NUL and other control characters, lone surrogates.
        1 => select(vec!["\"\\u0000\"", "\"a\\u0000b\"", "\"\\u001f\"", "\"\\udfff\"", "\"\\\\\""])
            .prop_map(str::to_owned),
    ]
    .boxed()
}

/// A filter (RFC 7644 §3.4.2.2): well formed over every attribute, or almost, or not at all;
/// nesting up to 20,000 deep.
fn filter() -> BoxedStrategy<String> {
    let op = select(vec![
        "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "EQ", "Co", "pr", "=", "like", "",
    ]);
    let leaf = prop_oneof![
        5 => (attribute_path(), op, filter_value())
            .prop_map(|(path, op, value)| format!("{path} {op} {value}")),
        1 => attribute_path().prop_map(|path| format!("{path} pr")),
        1 => hostile_string(),
    ];
    let multi: Vec<String> = SLOTS
        .iter()
        .filter(|slot| slot.multi && slot.sub.is_none())
        .map(Slot::path)
        .collect();
    let tree = leaf.prop_recursive(3, 12, 2, move |inner| {
        prop_oneof![
            (
                inner.clone(),
                select(vec!["and", "or", "AND", "Or", "xor", ""]),
                inner.clone()
            )
                .prop_map(|(a, op, b)| format!("{a} {op} {b}")),
            inner.clone().prop_map(|f| format!("not ({f})")),
            inner.clone().prop_map(|f| format!("({f})")),
            (select(multi.clone()), inner).prop_map(|(path, f)| format!("{path}[{f}]")),
        ]
    });
    let deep = (
        prop_oneof![1usize..200, 200usize..20_000],
        select(vec![
            "(",
            "not (",
            "emails[",
            "[",
            "members[value eq \"x\" or ",
        ]),
        any::<bool>(),
    )
        .prop_map(|(depth, open, closed)| {
            let close = if open.ends_with('[') || open.ends_with("or ") {
                "]"
            } else {
                ")"
            };
            let mut text = open.repeat(depth);
            text.push_str("userName eq \"x\"");
            if closed {
                text.push_str(&close.repeat(depth));
            }
            text
        });
    // One comparison on a real attribute with a real operator gets past the parser and the
    // schema, so its value reaches the store.
    let comparison = (
        select(all_paths()),
        select(vec!["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le"]),
        filter_value(),
    )
        .prop_map(|(path, op, value)| format!("{path} {op} {value}"));
    prop_oneof![3 => comparison, 8 => tree, 1 => deep].boxed()
}

/// A PATCH path: attribute paths, value filters, members paths, garbage.
fn patch_path(kind: Kind) -> BoxedStrategy<Value> {
    let multi: Vec<Slot> = slots_of(kind)
        .into_iter()
        .filter(|slot| slot.multi && slot.sub.is_none())
        .collect();
    let subs = slot_sub_names();
    prop_oneof![
        5 => slot(kind).prop_map(|slot| json!(slot.path())),
        2 => (select(multi), filter(), option::of(select(subs))).prop_map(|(slot, f, sub)| {
            let sub = sub.map(|s| format!(".{s}")).unwrap_or_default();
            json!(format!("{}[{f}]{sub}", slot.path()))
        }),
        2 => select(vec![
            "members",
            "members[value eq \"{{user}}\"]",
            "members[value eq \"{{group2}}\"]",
            "members[value eq \"{{user}}\" or value eq \"{{group}}\"]",
            "members[type eq \"User\"]",
            "members[value eq \"{{user}}\"].display",
            "members.value",
            "urn:ietf:params:scim:schemas:core:2.0:Group:members",
            "emails[type eq \"work\"].value",
            "name.givenName",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            "id",
            "meta.version",
            "schemas",
            "",
        ])
        .prop_map(|path| json!(path)),
        1 => attribute_path().prop_map(|path| json!(path)),
        1 => filter().prop_map(|f| json!(f)),
        1 => json_leaf(),
    ]
    .boxed()
}

/// A PATCH value: any JSON, a path-less object of attributes, a member list.
fn patch_value(kind: Kind) -> BoxedStrategy<Value> {
    prop_oneof![
        3 => json_value(),
        2 => (slot(kind), json_value()).prop_map(|(slot, value)| {
            let mut object = Map::new();
            slot.place(&mut object, value);
            Value::Object(object)
        }),
        1 => (slot(kind), json_value())
            .prop_map(|(slot, value)| json!({ slot.path(): value })),
        2 => members_value(),
        1 => members_value().prop_map(|members| json!({"members": members})),
    ]
    .boxed()
}

/// One PATCH operation; any member may be missing or of the wrong type.
fn patch_operation(kind: Kind) -> BoxedStrategy<Value> {
    let op = prop_oneof![
        8 => select(vec!["add", "remove", "replace"]).prop_map(|op| json!(op)),
        2 => select(vec!["Add", "REPLACE", "Remove", "merge", "", "copy", "add "])
            .prop_map(|op| json!(op)),
        1 => json_leaf(),
    ];
    (
        option::weighted(0.95, op),
        option::weighted(0.85, patch_path(kind)),
        option::weighted(0.8, patch_value(kind)),
        option::weighted(0.05, (key(), json_value())),
    )
        .prop_map(|(op, path, value, extra)| {
            let mut operation = Map::new();
            if let Some(op) = op {
                operation.insert("op".into(), op);
            }
            if let Some(path) = path {
                operation.insert("path".into(), path);
            }
            if let Some(value) = value {
                operation.insert("value".into(), value);
            }
            if let Some((name, value)) = extra {
                operation.insert(name, value);
            }
            Value::Object(operation)
        })
        .boxed()
}

/// A PATCH body: PatchOp messages with random operations, broken envelopes, and every
/// damaged resource body.
fn patch_body(kind: Kind) -> BoxedStrategy<Body> {
    // One operation is likelier to be applied whole, so the engine gets further.
    let operations = prop_oneof![
        3 => vec(patch_operation(kind), 1..2),
        1 => vec(patch_operation(kind), 0..5),
    ];
    prop_oneof![
        8 => operations.clone().prop_map(|ops| {
            Body::Json(json!({"schemas": [PATCH_OP], "Operations": ops}))
        }),
        2 => (operations, json_value(), select(vec![0usize, 1, 2, 3, 4])).prop_map(
            |(ops, junk, shape)| {
                Body::Json(match shape {
                    0 => json!({"Operations": ops}),
                    1 => json!({"schemas": [USER], "Operations": ops}),
                    2 => json!({"schemas": [PATCH_OP], "operations": ops}),
                    3 => json!({"schemas": [PATCH_OP], "Operations": junk}),
                    _ => json!({"schemas": junk, "Operations": ops}),
                })
            }
        ),
        // Over-long strings, huge numbers and deep nesting as an operation's value.
        2 => (
            patch_path(kind),
            prop_oneof![long_splice(), huge_number(), nested_splice()],
            select(vec!["add", "replace"])
        )
            .prop_map(|(path, splice, op)| {
                Body::Spliced(
                    json!({
                        "schemas": [PATCH_OP],
                        "Operations": [{"op": op, "path": path, "value": SPLICE}],
                    }),
                    splice,
                )
            }),
        2 => resource_body(kind),
    ]
    .boxed()
}

/// A list of attribute paths, as a `.search` body holds it (or not).
fn attribute_list() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => vec(attribute_path(), 0..5).prop_map(|paths| json!(paths)),
        1 => vec(attribute_path(), 0..5).prop_map(|paths| json!(paths.join(","))),
        1 => json_value(),
    ]
    .boxed()
}

/// A `.search` body (RFC 7644 §3.4.3), each member missing, wrong or extreme.
fn search_body() -> BoxedStrategy<Body> {
    let number = prop_oneof![
        3 => any::<i64>().prop_map(|n| json!(n)),
        2 => select(vec![0i64, 1, -1, 1000, 1001, i64::MAX, i64::MIN]).prop_map(|n| json!(n)),
        1 => json_leaf(),
    ];
    let order = prop_oneof![
        select(vec!["ascending", "descending", "ASCENDING", "up", ""]).prop_map(|o| json!(o)),
        json_leaf(),
    ];
    let search = (
        option::weighted(
            0.7,
            prop_oneof![4 => filter().prop_map(|f| json!(f)), 1 => json_leaf()],
        ),
        option::weighted(0.3, attribute_list()),
        option::weighted(0.2, attribute_list()),
        option::weighted(0.3, attribute_path().prop_map(|path| json!(path))),
        option::weighted(0.2, order),
        option::weighted(0.3, number.clone()),
        option::weighted(0.3, number),
        option::weighted(0.1, json_value()),
    )
        .prop_map(
            |(filter, attributes, excluded, sort_by, sort_order, start, count, schemas)| {
                let mut body = Map::new();
                body.insert(
                    "schemas".into(),
                    schemas.unwrap_or_else(|| json!([SEARCH_REQUEST])),
                );
                for (name, value) in [
                    ("filter", filter),
                    ("attributes", attributes),
                    ("excludedAttributes", excluded),
                    ("sortBy", sort_by),
                    ("sortOrder", sort_order),
                    ("startIndex", start),
                    ("count", count),
                ] {
                    if let Some(value) = value {
                        body.insert(name.into(), value);
                    }
                }
                Body::Json(Value::Object(body))
            },
        );
    prop_oneof![
        6 => search,
        1 => (select(vec!["startIndex", "count", "filter"]), huge_number()).prop_map(
            |(name, splice)| {
                Body::Spliced(json!({"schemas": [SEARCH_REQUEST], name: SPLICE}), splice)
            }
        ),
        1 => long_splice().prop_map(|splice| {
            Body::Spliced(json!({"schemas": [SEARCH_REQUEST], "filter": SPLICE}), splice)
        }),
        2 => resource_body(Kind::User),
    ]
    .boxed()
}

/// A number in a query string: negative, huge, or no number at all.
fn number_text() -> BoxedStrategy<String> {
    prop_oneof![
        2 => any::<i64>().prop_map(|n| n.to_string()),
        2 => select(vec![
            "0", "-1", "-0", "1e3", "1.5", "", "abc", "+5", " 5", "0x10", "１",
            "99999999999999999999999", "9223372036854775807", "-9223372036854775808", "NaN",
        ])
        .prop_map(str::to_owned),
        1 => huge_number().prop_map(|splice| splice.text()),
    ]
    .boxed()
}

/// A query string: the list parameters of RFC 7644 §3.4.2 with hostile values, misspelt
/// names, odd percent-encoding, stray separators.
fn query() -> BoxedStrategy<Vec<QueryPart>> {
    let encoding = prop_oneof![
        6 => Just(Encoding::Strict),
        2 => Just(Encoding::Loose),
        1 => select(vec!["%", "%Z", "%0", "%%", "%C3", "%FF", "%00", "%2", "%G0", "%u0041", "%E2%82"])
            .prop_map(Encoding::Broken),
        1 => Just(Encoding::Double),
    ];
    let pair = prop_oneof![
        3 => (Just("filter".to_owned()), filter()),
        1 => (Just("sortBy".to_owned()), attribute_path()),
        1 => (
            Just("sortOrder".to_owned()),
            prop_oneof![
                select(vec!["ascending", "descending", "ASC", ""]).prop_map(str::to_owned),
                hostile_string()
            ]
        ),
        2 => (
            select(vec!["attributes".to_owned(), "excludedAttributes".to_owned()]),
            vec(attribute_path(), 0..4).prop_map(|paths| paths.join(","))
        ),
        2 => (select(vec!["startIndex".to_owned(), "count".to_owned()]), number_text()),
        1 => (
            prop_oneof![
                select(vec!["FILTER", "Count", "startindex", "filter[]", "", "attributes "])
                    .prop_map(str::to_owned),
                hostile_string()
            ],
            hostile_string()
        ),
    ];
    let part = prop_oneof![
        8 => (pair, encoding).prop_map(|((name, value), encoding)| QueryPart::Pair {
            name,
            value,
            encoding,
        }),
        1 => select(vec!["&", "=", "filter", "count=", "=x", ";", "%", "filter=a&filter=b", "+"])
            .prop_map(QueryPart::Raw),
    ];
    prop_oneof![
        // A filter alone is likelier to reach the store.
        2 => filter().prop_map(|filter| vec![QueryPart::Pair {
            name: "filter".to_owned(),
            value: filter,
            encoding: Encoding::Strict,
        }]),
        3 => vec(part, 0..5),
    ]
    .boxed()
}

/// A resource id in a path: mostly the fixture's, else anything.
fn id() -> BoxedStrategy<Id> {
    prop_oneof![
        8 => Just(Id::Existing),
        1 => Just(Id::Second),
        1 => any_id(),
    ]
    .boxed()
}

/// An id that is not (quite) the fixture's.
fn any_id() -> BoxedStrategy<Id> {
    prop_oneof![
        1 => Just(Id::OtherKind),
        2 => hostile_string().prop_map(Id::Text),
        3 => select(vec![
            "..",
            ".",
            "%2e%2e",
            "%2E",
            "%00",
            "{{user}}%00",
            "{{group}}%00",
            "%2F",
            "{{user}}%2Fextra",
            "{{user}}/extra",
            "{{group}}/members",
            "",
            "{{USER}}",
            "%20{{user}}",
            "{{user}}%20",
            "%ZZ",
            "%",
            "%C3%28",
            "%FF%FE",
            "..%2F..%2Fetc%2Fpasswd",
            "*",
            ";",
            "{{user}};v=1",
            "{{user}}.json",
            ".search",
            "%2Esearch",
            "%E2%80%AE",
            "0",
            "-1",
            "00000000-0000-0000-0000-000000000000",
        ])
        .prop_map(Id::Verbatim),
        1 => (select(vec!['a', '9', 'é', '/', '%']), 1usize..8_000)
            .prop_map(|(fill, len)| Id::Long { fill, len }),
    ]
    .boxed()
}

/// Any target, odd paths included.
fn any_target() -> BoxedStrategy<Target> {
    let kind = prop_oneof![Just(Kind::User), Just(Kind::Group)];
    prop_oneof![
        2 => kind.clone().prop_map(Target::Collection),
        3 => (kind.clone(), any_id()).prop_map(|(kind, id)| Target::One(kind, id)),
        1 => kind.prop_map(Target::Search),
        1 => Just(Target::RootSearch),
        2 => prop_oneof![
            select(vec![
                "ServiceProviderConfig",
                "ResourceTypes",
                "ResourceTypes/User",
                "ResourceTypes/Group",
                "ResourceTypes/Nope",
                "Schemas",
                "Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
                "Schemas/urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                "Schemas/urn%3Aietf%3Aparams%3Ascim%3Aschemas%3Acore%3A2.0%3AGroup",
                "Schemas/..",
                "Schemas/%00",
                "ServiceProviderConfig/",
            ])
            .prop_map(str::to_owned),
            (select(vec!["ResourceTypes/", "Schemas/"]), hostile_string())
                .prop_map(|(base, text)| format!("{base}{}", percent_encode(&text))),
        ]
        .prop_map(Target::Discovery),
        2 => prop_oneof![
            select(vec![
                "",
                "/",
                "//Users",
                "/Users/",
                "/users",
                "/USERS/{{user}}",
                "/Users/.search/x",
                "/Users/{{user}}/extra",
                "/Groups/{{group}}/members",
                "/Bulk",
                "/Me",
                "/.search/",
                "/%55sers",
                "/Users;x",
                "/Users%2F{{user}}",
                "/./Users",
                "/Users/../Groups",
                "/Users/%2e%2e/Groups",
            ])
            .prop_map(str::to_owned),
            hostile_string().prop_map(|text| format!("/{}", percent_encode(&text))),
        ]
        .prop_map(Target::Raw),
    ]
    .boxed()
}

/// Methods: the five SCIM uses, the other standard ones, and made-up ones.
fn method() -> BoxedStrategy<Method> {
    prop_oneof![
        6 => select(vec![Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE]),
        2 => select(vec![Method::HEAD, Method::OPTIONS, Method::TRACE, Method::CONNECT]),
        1 => "[A-Za-z]{1,12}".prop_map(|name| Method::from_bytes(name.as_bytes()).unwrap()),
    ]
    .boxed()
}

/// `Content-Type`: mostly SCIM's, sometimes none, anything else now and then.
fn content_type() -> BoxedStrategy<Option<String>> {
    prop_oneof![
        2 => Just(Some("application/json".to_owned())),
        1 => Just(None),
        3 => select(vec![
            "text/plain",
            "application/json; charset=latin1",
            "application/json; charset=utf-8",
            "APPLICATION/SCIM+JSON; charset=\"UTF-8\"",
            "application/scim+json; charset=utf-16",
            "application/xml",
            "multipart/form-data; boundary=x",
            "application/json;;;",
            "application/",
            "/",
            "",
            "application/json; charset=",
            "application/x-www-form-urlencoded",
            "application/scim+json, text/html",
        ])
        .prop_map(|text| Some(text.to_owned())),
        1 => hostile_string().prop_map(Some),
    ]
    .boxed()
}

/// Headers a client may send wrongly: conditions, `Accept`, `Prefer`, lengths, forwarding,
/// made-up ones, huge ones.
fn header() -> BoxedStrategy<Header> {
    let etag = prop_oneof![
        4 => select(vec![
            "*",
            "W/\"1\"",
            "\"1\"",
            "W/\"0\"",
            "W/\"-1\"",
            "W/\"99999999999999999999\"",
            "W/",
            "W/\"\"",
            "\"",
            "W/\"1\", W/\"2\"",
            ",,,",
            "W/\"abc\"",
            "W/\"1e400\"",
            "w/\"1\"",
        ])
        .prop_map(str::to_owned),
        1 => hostile_string(),
    ];
    let text = |strategy: BoxedStrategy<String>| strategy.prop_map(HeaderText::Text).boxed();
    prop_oneof![
        3 => (select(vec!["If-Match", "If-None-Match"]), text(etag.boxed()))
            .prop_map(|(name, value)| (name.to_owned(), value)),
        2 => text(prop_oneof![
            select(vec![
                "application/json",
                "text/html",
                "*/*;q=oops",
                "application/json;q=0",
                ",,;;/",
                "application/scim+json;q=2",
                "",
            ])
            .prop_map(str::to_owned),
            hostile_string()
        ].boxed())
        .prop_map(|value| ("Accept".to_owned(), value)),
        1 => text(select(vec!["return=minimal", "return=representation", "garbage", ""])
            .prop_map(str::to_owned).boxed())
            .prop_map(|value| ("Prefer".to_owned(), value)),
        1 => text(select(vec!["abc", "-1", "99999999999999999999", "0", "1048577"])
            .prop_map(str::to_owned).boxed())
            .prop_map(|value| ("Content-Length".to_owned(), value)),
        1 => (
            select(vec!["X-Forwarded-For", "Forwarded", "X-Forwarded-Host", "X-Forwarded-Proto", "Host"]),
            text(hostile_string())
        )
            .prop_map(|(name, value)| (name.to_owned(), value)),
        1 => ("[A-Za-z][A-Za-z0-9-]{0,20}", text(hostile_string())),
        1 => (
            select(vec!["X-Huge", "Accept", "If-Match", "Cookie"]),
            (select(vec!['a', 'é', ',']), 1usize..200_000)
                .prop_map(|(fill, len)| HeaderText::Long { fill, len })
        )
            .prop_map(|(name, value)| (name.to_owned(), value)),
    ]
    .prop_map(|(name, value)| Header { name, value })
    .boxed()
}

/// How a request authenticates: mostly as the fixture's organisation.
fn auth() -> BoxedStrategy<Auth> {
    prop_oneof![
        40 => Just(Auth::Valid),
        1 => select(vec!["bearer ", "BEARER ", "Bearer  ", "Bearer\t"]).prop_map(Auth::Scheme),
        2 => Just(Auth::OtherOrg),
        1 => Just(Auth::Missing),
        1 => Just(Auth::WrongSecret),
        1 => prop_oneof![
            select(vec![
                "",
                "Bearer",
                "Bearer ",
                "Bearer scim_",
                "Bearer scim__",
                "Bearer scim_x_y",
                "Basic dXNlcjpwYXNz",
                "Negotiate abc",
            ])
            .prop_map(str::to_owned),
            hostile_string().prop_map(|text| format!("Bearer {text}")),
            (1usize..100_000).prop_map(|len| format!("Bearer scim_{}_x", "a".repeat(len))),
        ]
        .prop_map(Auth::Garbage),
    ]
    .boxed()
}

/// What a case is about, before headers and authentication: its method, target, query and
/// body.
type Shape = (Method, Target, Vec<QueryPart>, Body);

/// POST and PUT of damaged resources.
fn write_shape() -> BoxedStrategy<Shape> {
    let kind = prop_oneof![3 => Just(Kind::User), 2 => Just(Kind::Group)];
    (kind, any::<bool>(), id(), option::weighted(0.15, query()))
        .prop_flat_map(|(kind, post, id, query)| {
            let (method, target) = if post {
                (Method::POST, Target::Collection(kind))
            } else {
                (Method::PUT, Target::One(kind, id))
            };
            resource_body(kind).prop_map(move |body| {
                (
                    method.clone(),
                    target.clone(),
                    query.clone().unwrap_or_default(),
                    body,
                )
            })
        })
        .boxed()
}

/// PATCH with random operations.
fn patch_shape() -> BoxedStrategy<Shape> {
    let kind = prop_oneof![Just(Kind::User), Just(Kind::Group)];
    (kind, id(), option::weighted(0.15, query()))
        .prop_flat_map(|(kind, id, query)| {
            patch_body(kind).prop_map(move |body| {
                (
                    Method::PATCH,
                    Target::One(kind, id.clone()),
                    query.clone().unwrap_or_default(),
                    body,
                )
            })
        })
        .boxed()
}

/// `.search` with random bodies.
fn search_shape() -> BoxedStrategy<Shape> {
    let target = prop_oneof![
        Just(Target::Search(Kind::User)),
        Just(Target::Search(Kind::Group)),
        Just(Target::RootSearch),
    ];
    (target, search_body())
        .prop_map(|(target, body)| (Method::POST, target, Vec::new(), body))
        .boxed()
}

/// GET of lists and resources with hostile query strings.
fn list_shape() -> BoxedStrategy<Shape> {
    let target = prop_oneof![
        3 => Just(Target::Collection(Kind::User)),
        3 => Just(Target::Collection(Kind::Group)),
        1 => Just(Target::One(Kind::User, Id::Existing)),
        1 => Just(Target::One(Kind::Group, Id::Existing)),
    ];
    (target, query())
        .prop_map(|(target, query)| (Method::GET, target, query, Body::None))
        .boxed()
}

/// Any method to any path, with a plausible body or none.
fn path_shape() -> BoxedStrategy<Shape> {
    let body = prop_oneof![
        2 => Just(Body::None),
        1 => Just(Body::Json(json!({"schemas": [USER], "userName": "hostile-new"}))),
        1 => Just(Body::Json(json!({"schemas": [PATCH_OP], "Operations": [
            {"op": "replace", "path": "displayName", "value": "x"}
        ]}))),
        1 => json_value().prop_map(Body::Json),
    ];
    (method(), any_target(), option::weighted(0.3, query()), body)
        .prop_map(|(method, target, query, body)| (method, target, query.unwrap_or_default(), body))
        .boxed()
}

/// Every generated request: a shape, then how it authenticates, its `Content-Type` and its
/// other headers, hostile now and then.
fn case() -> BoxedStrategy<Case> {
    let shape = prop_oneof![
        5 => write_shape(),
        4 => patch_shape(),
        2 => search_shape(),
        2 => list_shape(),
        2 => path_shape(),
    ];
    (
        shape,
        auth(),
        option::weighted(0.12, content_type()),
        option::weighted(0.2, vec(header(), 1..3)),
    )
        .prop_map(
            |((method, target, query, body), auth, content_type, headers)| {
                let content_type = match content_type {
                    Some(odd) => odd,
                    None if matches!(body, Body::None) => None,
                    None => Some("application/scim+json".to_owned()),
                };
                Case {
                    method,
                    target,
                    query,
                    auth,
                    content_type,
                    headers: headers.unwrap_or_default(),
                    body,
                }
            },
        )
        // http::Uri holds at most 64 KiB; longer URIs cannot be sent at all.
        .prop_filter("the URI fits in http::Uri", |case| {
            case.uri(&Fixture::placeholder()).1.len() < MAX_URI
        })
        .boxed()
}

/// A seed from any text (`SCIM_HOSTILE_SEED`).
fn seed_of(text: &str) -> [u8; 32] {
    let mut seed = SEED;
    for (i, byte) in text.bytes().enumerate() {
        seed[i % 32] = seed[i % 32].rotate_left(3) ^ byte;
    }
    seed
}

#[test]
fn every_served_attribute_is_generated() {
    // The generators draw from the registry: every attribute of User, Group and the enterprise
    // extension, with its sub-attributes, is there.
    let paths = all_paths();
    for expected in [
        "userName",
        "name.givenName",
        "emails.value",
        "addresses.primary",
        "x509Certificates.value",
        "members.display",
        "externalId",
        "meta.lastModified",
        &format!("{ENTERPRISE}:manager.value"),
        &format!("{ENTERPRISE}:costCenter"),
    ] {
        assert!(
            paths.iter().any(|p| p == expected),
            "{expected} is not generated"
        );
    }
    assert!(sweep().len() > 300, "{}", sweep().len());
}

#[test]
fn known_defects_apply_only_to_their_requests() {
    // The entries of KNOWN_DEFECTS must not hide more than their defect.
    let request = |method: Method, uri: &str, body: Value| {
        let path = uri.split('?').next().unwrap_or(uri).to_owned();
        Rendered {
            method,
            uri: uri.to_owned(),
            path,
            authorization: None,
            headers: Vec::new(),
            body: body.to_string().into_bytes(),
            has_body: true,
        }
    };
    let long = "x".repeat(2_700);
    let post = |path: &str, attribute: &str| {
        let mut body = json!({"schemas": [USER], "userName": "u"});
        body[attribute] = json!(long);
        request(Method::POST, path, body)
    };
    assert!(post("/scim/v2/Users", "userName").long_indexed_string(2_600));
    assert!(post("/scim/v2/Users", "externalId").long_indexed_string(2_600));
    assert!(post("/scim/v2/Groups", "displayName").long_indexed_string(2_600));
    assert!(!post("/scim/v2/Users", "displayName").long_indexed_string(2_600));
    assert!(!post("/scim/v2/Users", "title").long_indexed_string(2_600));
    let patch = |path: &str, value: Value| {
        request(
            Method::PATCH,
            "/scim/v2/Users/1",
            json!({"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": path, "value": value}]}),
        )
    };
    assert!(patch("userName", json!(long)).long_indexed_string(2_600));
    assert!(patch("emails[type eq \"work\"].value", json!(long)).long_indexed_string(2_600));
    assert!(patch("emails", json!([{"value": long}])).long_indexed_string(2_600));
    assert!(!patch("nickName", json!(long)).long_indexed_string(2_600));

    let many = Value::Array(vec![json!({"value": "v"}); 4_000]);
    assert_eq!(
        patch_values_for_multi_valued(&patch("roles", many.clone())),
        4_000
    );
    assert_eq!(
        patch_values_for_multi_valued(&patch(&format!("{USER}:emails"), many.clone())),
        4_000
    );
    assert_eq!(
        patch_values_for_multi_valued(&patch("members", many.clone())),
        0
    );
    assert_eq!(patch_values_for_multi_valued(&patch("title", many)), 0);

    let get = |uri: &str| request(Method::GET, uri, Value::Null);
    assert!(get("/scim/v2/Users/%00").nul_in_path());
    assert!(!get("/scim/v2/Users?filter=%00").nul_in_path());
    assert!(get("/scim/v2/Users?filter=userName%20eq%20%22%5Cu0000%22").nul_in_filter());
    assert!(!get("/scim/v2/Users?attributes=%5Cu0000").nul_in_filter());
    assert!(patch("title", json!("\0")).nul_in_document());
    assert!(get("/scim/v2/Users?sortBy=SCHEMAS").sorts_by_schemas());
    assert!(request(
        Method::POST,
        "/scim/v2/.search",
        json!({"sortBy": "schemas"})
    )
    .sorts_by_schemas());
    assert!(!get("/scim/v2/Users?sortBy=userName&filter=schemas").sorts_by_schemas());
    assert!(!request(Method::POST, "/scim/v2/.search", json!({"filter": "\0"})).nul_in_document());
}

#[test]
fn a_panicking_handler_is_reported_and_the_service_goes_on() {
    // "No panic" is only asserted if a panic reaches the suite as one: a handler's panic must
    // come back as a violation, and the service must still answer afterwards.
    let db = scim_test_db::TestDb::sqlite();
    let harness = Harness::new(db.store());
    let (_, token) = harness.acme();
    let system = actix_web::rt::System::new();
    let app = Rc::new(system.block_on(test::init_service(App::new().service(
        scim_server::scope_with("/scim/v2", harness.state.clone(), |cfg| {
            cfg.route(
                "/boom",
                actix_web::web::get().to(|| async {
                    let boom = true;
                    if boom {
                        panic!("boom");
                    }
                    actix_web::HttpResponse::Ok().finish()
                }),
            );
        }),
    ))));
    let request = |path: &str| {
        test::TestRequest::get()
            .uri(path)
            .insert_header(("Authorization", format!("Bearer {token}")))
            .to_request()
    };
    let answer = system.block_on(exchange(app.clone(), request("/scim/v2/boom")));
    assert!(
        matches!(&answer, Err(Violation::Panic(message)) if message.contains("boom")),
        "{answer:?}"
    );
    let answer = system.block_on(exchange(app, request("/scim/v2/ServiceProviderConfig")));
    assert_eq!(answer.unwrap().status, StatusCode::OK);
}
