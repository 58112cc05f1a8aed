//! `cargo xtask faults`: a release `scimd` under the faults an operator meets on PostgreSQL.
//!
//! 1. **PostgreSQL restarted under a write load.** Client threads POST users while the
//!    database is restarted (`pg_ctl restart -m fast`), then stopped for longer than scimd's
//!    pool waits for a connection and started again. scimd must answer every request, with
//!    `201` or `503` + `Retry-After` (never a `500`, never silence), recover on its own within
//!    [`RECOVERY_BOUND`], and keep every write it acknowledged.
//! 2. **Two replicas on one database.** The same new userName POSTed to both at once gives one
//!    `201` and one `409`, every round; a token revoked with `scimd token revoke` (another
//!    process, as an operator does it) is refused by both within their `--token-cache-ttl`
//!    plus a margin.
//!
//! The database is a private cluster made with `initdb` under `target/faults/postgres`, on a
//! free loopback port — never the machine's own server — run as `postgres` through `runuser`
//! when xtask runs as root (PostgreSQL refuses root). Every loop is bounded in count and
//! time, all traffic goes to 127.0.0.1, and the servers and the cluster are stopped by guards
//! on the way out, on failure too. What stays behind: the logs under `target/faults/`.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};
use std::{env, io};

use crate::process::{expect_success, run_bounded, tail};
use crate::random_suffix;
use crate::scimd::{self, free_port, Profile, Server};

/// Bound on each `scimd org|token` command, `initdb` and `pg_ctl` call.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// What `pg_ctl -t` waits for the server to start or stop, below [`COMMAND_TIMEOUT`].
const PG_CTL_WAIT_SECS: &str = "50";
/// Client threads of the write load.
const CLIENTS: usize = 4;
/// Pause between one client's requests: a steady load that leaves the two shared cores to
/// scimd and PostgreSQL rather than to the clients.
const PACE: Duration = Duration::from_millis(20);
/// Bound on one request. scimd waits up to 5 s for a pooled connection before answering 503,
/// so a request may rightly take that long while the database is down; twice that is silence.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long PostgreSQL stays stopped: longer than scimd's 5 s pool wait, so requests run
/// into a database that is down rather than one that comes back while they wait.
const OUTAGE: Duration = Duration::from_secs(8);
/// Writes must succeed again this soon after PostgreSQL is back, without restarting scimd.
const RECOVERY_BOUND: Duration = Duration::from_secs(30);
/// Bounds on the load, whatever happens to the steps that stop it.
const LOAD_DEADLINE: Duration = Duration::from_secs(240);
const MAX_REQUESTS_PER_CLIENT: usize = 10_000;
/// Rounds of the same userName POSTed to both replicas at once.
const RACE_ROUNDS: usize = 20;
/// The replicas' `--token-cache-ttl`: the documented bound on how late a revocation bites.
const CACHE_TTL_SECS: u64 = 2;
/// Allowance over the TTL for polling and a busy machine.
const REVOCATION_MARGIN: Duration = Duration::from_secs(2);
/// Between polls of a revoked token.
const POLL: Duration = Duration::from_millis(100);
const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// The organisation the run's tokens act for.
const ORG: &str = "faults";

/// Runs `cargo xtask faults ARGS`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let scimd = match args {
        [] => scimd::build(Profile::Release)?,
        [flag, path] if flag == "--scimd" => {
            let path = PathBuf::from(path);
            if !path.is_file() {
                return Err(format!("faults: no file at {}", path.display()));
            }
            // The servers run in the work directory: a relative path would point elsewhere.
            path.canonicalize()
                .map_err(|e| format!("faults: {}: {e}", path.display()))?
        }
        _ => return Err("faults: the only argument is `--scimd PATH`".into()),
    };
    let work = crate::target_dir().join("faults");
    fs::create_dir_all(&work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;
    let started = Instant::now();
    let mut report = Report::default();
    if let Err(e) = run_checks(&scimd, &work, &mut report) {
        report.fail("the fault tests ran to the end", &e);
    }
    println!(
        "(took {:.0} s without the build; logs in {})",
        started.elapsed().as_secs_f64(),
        work.display()
    );
    report.finish()
}

fn run_checks(scimd: &Path, work: &Path, report: &mut Report) -> Result<(), String> {
    // Declared first, so it is dropped last: every server lets go of it before it stops.
    let cluster = Cluster::start(&work.join("postgres"))?;
    let url = cluster.url();
    println!(
        "PostgreSQL: a private cluster on 127.0.0.1:{} (data in {})",
        cluster.port,
        cluster.data.display()
    );
    let cli = Cli {
        scimd,
        work,
        url: &url,
    };
    cli.run(&["org", "create", ORG])?;
    let token = cli.create_token("load")?;
    let prefix = format!("faults-{}", random_suffix());

    println!("\n1. PostgreSQL restarted under a write load");
    if let Err(e) = restart_under_load(&cli, &cluster, &token, &prefix, report) {
        report.fail("the restart under load ran to the end", &e);
    }
    // The replicas need the database up, even if the first part stopped half-way.
    if !cluster.is_running() {
        cluster.pg_ctl(&["start"])?;
    }

    println!("\n2. Two scimd replicas on one PostgreSQL database");
    if let Err(e) = two_replicas(&cli, &token, &prefix, report) {
        report.fail("the two-replica checks ran to the end", &e);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// 1. PostgreSQL restarted under a write load

fn restart_under_load(
    cli: &Cli<'_>,
    cluster: &Cluster,
    token: &str,
    prefix: &str,
    report: &mut Report,
) -> Result<(), String> {
    let port = free_port()?;
    // The write load is one organisation's; this test is about the database, not its limit.
    let mut server = cli.serve(port, &["--rate-limit", "off"], "scimd-load.log")?;
    server.wait_until_ready(port, token)?;

    let load = Load::start(port, token, &format!("{prefix}-load"));
    let begun = Instant::now();
    if load.first_created_after(begun, RECOVERY_BOUND).is_none() {
        return Err(format!(
            "no write succeeded within {} s before any fault: {}",
            RECOVERY_BOUND.as_secs(),
            load.summary()
        ));
    }
    thread::sleep(Duration::from_secs(1));

    println!(
        "   fault: `pg_ctl restart -m fast` under {CLIENTS} writing clients, scimd left running"
    );
    let restart_begun = Instant::now();
    cluster.pg_ctl(&["restart", "-m", "fast"])?;
    let back = Instant::now();
    let recovered = load.first_created_after(back, RECOVERY_BOUND);
    report.check(
        recovered.is_some(),
        &format!(
            "writes succeed again within {} s of the restart, scimd not restarted",
            RECOVERY_BOUND.as_secs()
        ),
        &recovered.map_or_else(
            || "no 201 since".to_owned(),
            |after| format!("first 201 {:.2} s after PostgreSQL was back", secs(after)),
        ),
    );
    thread::sleep(Duration::from_secs(1));

    println!(
        "   fault: `pg_ctl stop -m fast`, {} s down, `pg_ctl start`",
        OUTAGE.as_secs()
    );
    cluster.pg_ctl(&["stop", "-m", "fast"])?;
    let stopped = Instant::now();
    thread::sleep(OUTAGE);
    let start_begun = Instant::now();
    cluster.pg_ctl(&["start"])?;
    let back = Instant::now();
    let recovered = load.first_created_after(back, RECOVERY_BOUND);
    report.check(
        recovered.is_some(),
        &format!(
            "writes succeed again within {} s of the start, scimd not restarted",
            RECOVERY_BOUND.as_secs()
        ),
        &recovered.map_or_else(
            || "no 201 since".to_owned(),
            |after| format!("first 201 {:.2} s after PostgreSQL was back", secs(after)),
        ),
    );
    thread::sleep(Duration::from_secs(1));
    let writes = load.stop();

    report.check(
        server.still_running().is_ok(),
        "scimd kept running through both faults",
        "",
    );

    let total = writes.len();
    let created: Vec<&Attempt> = writes
        .iter()
        .filter(|w| matches!(w.answer, Answer::Created(_)))
        .collect();
    let unavailable = writes
        .iter()
        .filter(|w| matches!(w.answer, Answer::Unavailable { retry_after: true }))
        .count();
    let wrong: Vec<&Attempt> = writes
        .iter()
        .filter(|w| {
            !matches!(
                w.answer,
                Answer::Created(_) | Answer::Unavailable { retry_after: true }
            )
        })
        .collect();
    let mut detail = format!(
        "{total} writes: {} answered 201, {unavailable} answered 503 with Retry-After",
        created.len()
    );
    for w in wrong.iter().take(5) {
        detail.push_str(&format!(
            "\n         {} ({})",
            w.answer,
            when(
                w.finished,
                &[
                    ("the restart", restart_begun),
                    ("the stop", stopped),
                    ("the start", start_begun)
                ]
            )
        ));
    }
    if wrong.len() > 5 {
        detail.push_str(&format!("\n         … and {} more", wrong.len() - 5));
    }
    report.check(
        wrong.is_empty(),
        "every write was answered 201, or 503 with Retry-After: never a 500, never no answer",
        &detail,
    );

    // The answers to requests that ended while PostgreSQL was stopped.
    let outage: Vec<&Attempt> = writes
        .iter()
        .filter(|w| w.finished > stopped && w.finished < start_begun)
        .collect();
    let outage_503 = outage
        .iter()
        .filter(|w| matches!(w.answer, Answer::Unavailable { retry_after: true }))
        .count();
    report.check(
        outage_503 > 0 && outage_503 == outage.len(),
        "while PostgreSQL was stopped, writes were answered 503 with Retry-After",
        &format!(
            "{} answers while it was down, {outage_503} of them 503 with Retry-After",
            outage.len()
        ),
    );

    let missing = missing_writes(port, token, &created)?;
    let stored = count_users(port, token, &format!("{prefix}-load"))?;
    let mut detail = format!(
        "{} of {} acknowledged writes read back with GET /Users/{{id}}; {stored} users with \
         the run's prefix in the database",
        created.len() - missing.len(),
        created.len()
    );
    for (user_name, why) in missing.iter().take(5) {
        detail.push_str(&format!("\n         {user_name}: {why}"));
    }
    report.check(
        missing.is_empty() && stored >= created.len(),
        "every write answered 201 is in the database afterwards",
        &detail,
    );
    Ok(())
}

/// Reads back each created user; returns the userName and what went wrong for those that
/// could not be read.
fn missing_writes(
    port: u16,
    token: &str,
    created: &[&Attempt],
) -> Result<Vec<(String, String)>, String> {
    let chunk = created.len().div_ceil(CLIENTS).max(1);
    let missing = thread::scope(|scope| {
        let readers: Vec<_> = created
            .chunks(chunk)
            .map(|writes| {
                scope.spawn(move || {
                    let mut missing = Vec::new();
                    for write in writes {
                        let Answer::Created(id) = &write.answer else {
                            continue;
                        };
                        let path = format!("/scim/v2/Users/{id}");
                        match request(port, "GET", &path, token, None, REQUEST_TIMEOUT) {
                            Ok(response) if response.status == 200 => {}
                            Ok(response) => missing.push((
                                write.user_name.clone(),
                                format!("GET answered {}", response.status),
                            )),
                            Err(e) => missing.push((write.user_name.clone(), e)),
                        }
                    }
                    missing
                })
            })
            .collect();
        readers
            .into_iter()
            .map(|reader| reader.join())
            .collect::<Result<Vec<_>, _>>()
    })
    .map_err(|_| "a reader thread panicked".to_owned())?;
    Ok(missing.into_iter().flatten().collect())
}

/// How many users have a userName starting with `prefix`.
fn count_users(port: u16, token: &str, prefix: &str) -> Result<usize, String> {
    let path = format!("/scim/v2/Users?filter=userName%20sw%20%22{prefix}%22&count=0");
    let response = request(port, "GET", &path, token, None, REQUEST_TIMEOUT)?;
    if response.status != 200 {
        return Err(format!(
            "GET {path} answered {}: {}",
            response.status, response.body
        ));
    }
    serde_json::from_str::<serde_json::Value>(&response.body)
        .ok()
        .and_then(|body| body.get("totalResults")?.as_u64())
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| format!("GET {path} gave no totalResults: {}", response.body))
}

/// What one write got back.
#[derive(Debug)]
enum Answer {
    /// 201 and the new user's id.
    Created(String),
    /// 503, and whether it said when to retry.
    Unavailable { retry_after: bool },
    /// Any other status.
    Other { status: u16, body: String },
    /// No HTTP answer: refused, reset or timed out.
    Silence(String),
}

impl std::fmt::Display for Answer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Answer::Created(id) => write!(f, "201 (id {id})"),
            Answer::Unavailable { retry_after: true } => f.write_str("503 with Retry-After"),
            Answer::Unavailable { retry_after: false } => f.write_str("503 without Retry-After"),
            Answer::Other { status, body } => {
                let body: String = body.chars().take(200).collect();
                write!(f, "{status}: {body}")
            }
            Answer::Silence(why) => write!(f, "no answer: {why}"),
        }
    }
}

impl Answer {
    fn of(result: Result<Response, String>) -> Answer {
        let response = match result {
            Ok(response) => response,
            Err(e) => return Answer::Silence(e),
        };
        match response.status {
            201 => {
                let id = serde_json::from_str::<serde_json::Value>(&response.body)
                    .ok()
                    .and_then(|body| body.get("id")?.as_str().map(str::to_owned));
                match id {
                    Some(id) => Answer::Created(id),
                    None => Answer::Other {
                        status: 201,
                        body: response.body,
                    },
                }
            }
            503 => Answer::Unavailable {
                retry_after: response.retry_after.is_some(),
            },
            status => Answer::Other {
                status,
                body: response.body,
            },
        }
    }
}

struct Attempt {
    user_name: String,
    finished: Instant,
    answer: Answer,
}

/// Client threads POSTing users with fresh userNames until stopped; stopped when dropped.
struct Load {
    stop: Arc<AtomicBool>,
    writes: Arc<Mutex<Vec<Attempt>>>,
    clients: Vec<JoinHandle<()>>,
}

impl Load {
    fn start(port: u16, token: &str, prefix: &str) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let writes = Arc::new(Mutex::new(Vec::new()));
        let deadline = Instant::now() + LOAD_DEADLINE;
        let clients = (0..CLIENTS)
            .map(|client| {
                let (stop, writes) = (Arc::clone(&stop), Arc::clone(&writes));
                let (token, prefix) = (token.to_owned(), prefix.to_owned());
                thread::spawn(move || {
                    for n in 0..MAX_REQUESTS_PER_CLIENT {
                        if stop.load(Ordering::Relaxed) || Instant::now() >= deadline {
                            break;
                        }
                        let user_name = format!("{prefix}-{client}-{n}");
                        let body = serde_json::json!({
                            "schemas": [USER_SCHEMA],
                            "userName": user_name,
                        })
                        .to_string();
                        let result = request(
                            port,
                            "POST",
                            "/scim/v2/Users",
                            &token,
                            Some(&body),
                            REQUEST_TIMEOUT,
                        );
                        let attempt = Attempt {
                            user_name,
                            finished: Instant::now(),
                            answer: Answer::of(result),
                        };
                        lock(&writes).push(attempt);
                        thread::sleep(PACE);
                    }
                })
            })
            .collect();
        Load {
            stop,
            writes,
            clients,
        }
    }

    /// How long after `since` the first write answered 201 ended, waiting up to `bound`.
    fn first_created_after(&self, since: Instant, bound: Duration) -> Option<Duration> {
        let deadline = Instant::now() + bound;
        let mut seen = 0;
        loop {
            {
                let writes = lock(&self.writes);
                if let Some(write) = writes[seen..]
                    .iter()
                    .find(|w| w.finished >= since && matches!(w.answer, Answer::Created(_)))
                {
                    return Some(write.finished - since);
                }
                seen = writes.len();
            }
            if Instant::now() >= deadline || self.clients.iter().all(JoinHandle::is_finished) {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    fn summary(&self) -> String {
        let writes = lock(&self.writes);
        match writes.last() {
            Some(last) => format!("{} writes, the last {}", writes.len(), last.answer),
            None => "no write has ended".to_owned(),
        }
    }

    /// Stops the clients and returns every write in the order they ended.
    fn stop(mut self) -> Vec<Attempt> {
        self.join();
        std::mem::take(&mut *lock(&self.writes))
    }

    fn join(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for client in self.clients.drain(..) {
            // A client that panicked has nothing more to give; its writes are recorded.
            let _ = client.join();
        }
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        self.join();
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A client that panicked mid-push leaves a whole Vec: its contents are still good.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

// ---------------------------------------------------------------------------------------------
// 2. Two replicas on one database

fn two_replicas(
    cli: &Cli<'_>,
    token: &str,
    prefix: &str,
    report: &mut Report,
) -> Result<(), String> {
    let ttl = format!("{CACHE_TTL_SECS}s");
    let flags = ["--token-cache-ttl", ttl.as_str()];
    let port_a = free_port()?;
    let mut port_b = free_port()?;
    // The system may hand out a port just released; two servers cannot share it.
    for _ in 0..10 {
        if port_b != port_a {
            break;
        }
        port_b = free_port()?;
    }
    let mut a = cli.serve(port_a, &flags, "scimd-replica-a.log")?;
    let mut b = cli.serve(port_b, &flags, "scimd-replica-b.log")?;
    a.wait_until_ready(port_a, token)?;
    b.wait_until_ready(port_b, token)?;
    println!(
        "   replicas A on 127.0.0.1:{port_a} and B on 127.0.0.1:{port_b}, \
         --token-cache-ttl {ttl}"
    );

    race_creates(port_a, port_b, token, prefix, report)?;
    revocation(cli, port_a, port_b, report)?;

    report.check(
        a.still_running().is_ok() && b.still_running().is_ok(),
        "both replicas kept running",
        "",
    );
    Ok(())
}

fn race_creates(
    port_a: u16,
    port_b: u16,
    token: &str,
    prefix: &str,
    report: &mut Report,
) -> Result<(), String> {
    let mut wins = (0, 0);
    let mut wrong = Vec::new();
    let mut user_names = Vec::new();
    for round in 0..RACE_ROUNDS {
        let user_name = format!("{prefix}-race-{round}");
        let body = serde_json::json!({"schemas": [USER_SCHEMA], "userName": user_name}).to_string();
        // Both requests leave together: the two threads meet at a barrier first.
        let barrier = Barrier::new(2);
        let post = |port: u16| {
            barrier.wait();
            request(
                port,
                "POST",
                "/scim/v2/Users",
                token,
                Some(&body),
                REQUEST_TIMEOUT,
            )
        };
        let (at_a, at_b) = thread::scope(|scope| {
            let a = scope.spawn(|| post(port_a));
            let b = scope.spawn(|| post(port_b));
            (a.join(), b.join())
        });
        let status = |outcome: thread::Result<Result<Response, String>>| match outcome {
            Ok(Ok(response)) => Ok(response.status),
            Ok(Err(e)) => Err(e),
            Err(_) => Err("the client thread panicked".to_owned()),
        };
        match (status(at_a), status(at_b)) {
            (Ok(201), Ok(409)) => wins.0 += 1,
            (Ok(409), Ok(201)) => wins.1 += 1,
            (a, b) => wrong.push(format!("round {round}: A {a:?}, B {b:?}")),
        }
        user_names.push(user_name);
    }
    let mut detail = format!("A won {}, B won {}", wins.0, wins.1);
    for line in &wrong {
        detail.push_str(&format!("\n         {line}"));
    }
    report.check(
        wrong.is_empty(),
        &format!(
            "{RACE_ROUNDS} rounds of one new userName POSTed to both replicas at once: one 201 \
             and one 409 each round"
        ),
        &detail,
    );

    let mut duplicated = Vec::new();
    for user_name in &user_names {
        let path = format!("/scim/v2/Users?filter=userName%20eq%20%22{user_name}%22&count=0");
        let response = request(port_a, "GET", &path, token, None, REQUEST_TIMEOUT)?;
        let found = serde_json::from_str::<serde_json::Value>(&response.body)
            .ok()
            .and_then(|body| body.get("totalResults")?.as_u64());
        if response.status != 200 || found != Some(1) {
            duplicated.push(format!(
                "{user_name}: {} with totalResults {found:?}",
                response.status
            ));
        }
    }
    report.check(
        duplicated.is_empty(),
        "each raced userName is stored exactly once",
        &duplicated.join("\n         "),
    );
    Ok(())
}

fn revocation(cli: &Cli<'_>, port_a: u16, port_b: u16, report: &mut Report) -> Result<(), String> {
    let token = cli.create_token(&format!("revoke-{}", random_suffix()))?;
    let id = token_id(&token).ok_or("`scimd token create` printed no scim_<id>_<secret>")?;
    let probe = |port: u16| {
        request(
            port,
            "GET",
            "/scim/v2/ServiceProviderConfig",
            &token,
            None,
            REQUEST_TIMEOUT,
        )
        .map(|response| response.status)
    };
    // Both replicas verify the token now and keep it in their cache for the TTL.
    for (name, port) in [("A", port_a), ("B", port_b)] {
        match probe(port)? {
            200 => {}
            status => {
                return Err(format!(
                    "replica {name} answered {status} to a fresh token before its revocation"
                ))
            }
        }
    }
    cli.run(&["token", "revoke", id])?;
    let revoked = Instant::now();

    let bound = Duration::from_secs(CACHE_TTL_SECS) + REVOCATION_MARGIN;
    let mut refused: [Option<Duration>; 2] = [None, None];
    let mut accepted_after: [Option<Duration>; 2] = [None, None];
    let mut unexpected = Vec::new();
    let polls = bound.as_millis() / POLL.as_millis() + 1;
    for _ in 0..polls {
        for (i, port) in [port_a, port_b].into_iter().enumerate() {
            if refused[i].is_some() {
                continue;
            }
            match probe(port) {
                Ok(401) => refused[i] = Some(revoked.elapsed()),
                Ok(200) => accepted_after[i] = Some(revoked.elapsed()),
                Ok(status) => unexpected.push(format!("{} answered {status}", replica(i))),
                Err(e) => unexpected.push(format!("{}: {e}", replica(i))),
            }
        }
        if refused.iter().all(Option::is_some) || revoked.elapsed() > bound {
            break;
        }
        thread::sleep(POLL);
    }
    // Refused for good: a second request after the first refusal.
    for (i, port) in [port_a, port_b].into_iter().enumerate() {
        if refused[i].is_some() {
            match probe(port) {
                Ok(401) => {}
                Ok(status) => unexpected.push(format!(
                    "{} answered {status} after refusing the token",
                    replica(i)
                )),
                Err(e) => unexpected.push(format!("{}: {e}", replica(i))),
            }
        }
    }
    let mut detail = format!(
        "bound checked: token_cache_ttl {CACHE_TTL_SECS} s + {} s margin = {} s after \
         `scimd token revoke` returned",
        REVOCATION_MARGIN.as_secs(),
        bound.as_secs()
    );
    for i in 0..2 {
        detail.push_str(&format!("\n         {}: ", replica(i)));
        match refused[i] {
            Some(at) => detail.push_str(&format!("401 after {:.2} s", secs(at))),
            None => detail.push_str("never refused it"),
        }
        if let Some(at) = accepted_after[i] {
            detail.push_str(&format!(
                " (still accepted from its cache {:.2} s after)",
                secs(at)
            ));
        }
    }
    for line in &unexpected {
        detail.push_str(&format!("\n         {line}"));
    }
    report.check(
        unexpected.is_empty() && refused.iter().all(|r| r.is_some_and(|at| at <= bound)),
        "a token revoked with `scimd token revoke` is refused (401) by both replicas within \
         the cache TTL",
        &detail,
    );
    Ok(())
}

fn replica(index: usize) -> &'static str {
    if index == 0 {
        "replica A"
    } else {
        "replica B"
    }
}

/// The id of a `scim_<id>_<secret>` token, as `scimd token revoke` takes it.
fn token_id(token: &str) -> Option<&str> {
    let (id, _secret) = token.strip_prefix("scim_")?.split_once('_')?;
    Some(id).filter(|id| !id.is_empty())
}

// ---------------------------------------------------------------------------------------------
// scimd, its command line and HTTP

/// `scimd` run against the cluster.
struct Cli<'a> {
    scimd: &'a Path,
    work: &'a Path,
    url: &'a str,
}

impl Cli<'_> {
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(self.scimd);
        cmd.current_dir(self.work)
            .args(args)
            .args(["--database-url", self.url]);
        cmd
    }

    /// Runs a `scimd` command to completion and returns its stdout.
    fn run(&self, args: &[&str]) -> Result<String, String> {
        let output = run_bounded(&mut self.command(args), COMMAND_TIMEOUT)?;
        expect_success(&output, &format!("scimd {}", args.join(" ")))?;
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    }

    fn create_token(&self, name: &str) -> Result<String, String> {
        let token = self.run(&["token", "create", "--org", ORG, "--name", name])?;
        if token_id(&token).is_none() || token.contains(char::is_whitespace) {
            return Err(format!(
                "`scimd token create` should print only a token, it printed {token:?}"
            ));
        }
        Ok(token)
    }

    fn serve(&self, port: u16, flags: &[&str], log: &str) -> Result<Server, String> {
        Server::start(
            self.scimd,
            self.work,
            port,
            self.url,
            flags,
            &self.work.join(log),
        )
    }
}

#[derive(Debug, PartialEq, Eq)]
struct Response {
    status: u16,
    retry_after: Option<String>,
    body: String,
}

/// One HTTP/1.1 request to 127.0.0.1:`port`, on a connection of its own, answered within
/// `timeout` or not at all.
fn request(
    port: u16,
    method: &str,
    path: &str,
    token: &str,
    body: Option<&str>,
    timeout: Duration,
) -> Result<Response, String> {
    let deadline = Instant::now() + timeout;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, timeout)
        .map_err(|e| format!("{method} {path}: cannot connect: {e}"))?;
    let body = body.unwrap_or("");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nAuthorization: Bearer {token}\r\n\
         Accept: application/scim+json\r\nContent-Type: application/scim+json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let remaining = || {
        deadline
            .checked_duration_since(Instant::now())
            .filter(|d| !d.is_zero())
            .ok_or_else(|| {
                format!(
                    "{method} {path}: no answer within {} s",
                    timeout.as_secs_f64()
                )
            })
    };
    stream
        .set_write_timeout(Some(remaining()?))
        .and_then(|()| stream.write_all(head.as_bytes()))
        .and_then(|()| stream.write_all(body.as_bytes()))
        .map_err(|e| format!("{method} {path}: cannot send: {e}"))?;
    // `Connection: close`: the answer ends where the stream does.
    let mut raw = Vec::new();
    let mut buf = [0_u8; 8192];
    loop {
        stream
            .set_read_timeout(Some(remaining()?))
            .map_err(|e| format!("{method} {path}: {e}"))?;
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                remaining()?;
            }
            Err(e) => return Err(format!("{method} {path}: {e}")),
        }
    }
    parse_response(&raw).map_err(|e| format!("{method} {path}: {e}"))
}

fn parse_response(raw: &[u8]) -> Result<Response, String> {
    if raw.is_empty() {
        return Err("the connection closed without an answer".into());
    }
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("the answer has no end of headers")?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .strip_prefix("HTTP/1.")
        .and_then(|rest| rest.split(' ').nth(1))
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| format!("not an HTTP status line: {status_line:?}"))?;
    let mut retry_after = None;
    let mut chunked = false;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("retry-after") {
            retry_after = Some(value.to_owned());
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        }
    }
    let body = &raw[end + 4..];
    let body = if chunked {
        dechunk(body)?
    } else {
        body.to_vec()
    };
    Ok(Response {
        status,
        retry_after,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}

/// The body of a `Transfer-Encoding: chunked` answer.
fn dechunk(mut raw: &[u8]) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    loop {
        let line_end = raw
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or("a chunk has no size line")?;
        let size_text = String::from_utf8_lossy(&raw[..line_end]);
        let size_text = size_text.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("bad chunk size {size_text:?}"))?;
        raw = &raw[line_end + 2..];
        if size == 0 {
            return Ok(body);
        }
        let chunk = raw.get(..size).ok_or("a chunk is cut short")?;
        body.extend_from_slice(chunk);
        raw = raw.get(size + 2..).ok_or("a chunk is cut short")?;
    }
}

// ---------------------------------------------------------------------------------------------
// The private PostgreSQL cluster

/// A PostgreSQL cluster of its own under `dir`, stopped and its data removed when dropped.
struct Cluster {
    bin: PathBuf,
    dir: PathBuf,
    data: PathBuf,
    log: PathBuf,
    port: u16,
    as_root: bool,
}

impl Cluster {
    fn start(dir: &Path) -> Result<Cluster, String> {
        let bin = pg_bin_dir().ok_or(
            "initdb and pg_ctl are neither on PATH nor under /usr/lib/postgresql/*/bin: \
             install PostgreSQL (e.g. `apt-get install postgresql`; the server need not run)",
        )?;
        let as_root = running_as_root();
        let data = dir.join("data");
        let mut cluster = Cluster {
            bin,
            dir: dir.to_path_buf(),
            log: dir.join("postgres.log"),
            data,
            port: 0,
            as_root,
        };
        // A run killed before its clean-up may have left its server running: stop it, then
        // start from nothing.
        if cluster.data.join("postmaster.pid").exists() {
            let _ = cluster.pg_ctl(&["stop", "-m", "immediate"]);
        }
        match fs::remove_dir_all(dir) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(format!("cannot remove {}: {e}", dir.display())),
        }
        let socket = dir.join("socket");
        fs::create_dir_all(&socket)
            .map_err(|e| format!("cannot create {}: {e}", socket.display()))?;
        if as_root {
            // initdb and postgres refuse to run as root: the cluster belongs to `postgres`.
            let mut chown = Command::new("chown");
            chown.arg("-R").arg("postgres:").arg(dir);
            expect_success(&run_bounded(&mut chown, COMMAND_TIMEOUT)?, "chown")?;
        }
        let mut initdb = cluster.tool("initdb");
        initdb.arg("-D").arg(&cluster.data).args([
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        ]);
        expect_success(&run_bounded(&mut initdb, COMMAND_TIMEOUT)?, "initdb")?;
        cluster.port = pg_port()?;
        // Only on loopback, with its socket in its own directory; fsync off: the faults are
        // restarts, not crashes of the machine, and a throwaway cluster trades durability
        // for speed.
        let options = format!(
            "port = {}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{}'\n\
             fsync = off\n",
            cluster.port,
            socket.display()
        );
        append(&cluster.data.join("postgresql.conf"), &options)?;
        cluster.pg_ctl(&["start"])?;
        Ok(cluster)
    }

    fn url(&self) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/postgres?connect_timeout=3",
            self.port
        )
    }

    fn tool(&self, name: &str) -> Command {
        if self.as_root {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(self.bin.join(name));
            cmd
        } else {
            Command::new(self.bin.join(name))
        }
    }

    /// `pg_ctl ACTION …` on this cluster, waiting for it to finish. The server's output goes
    /// to the log file: on our pipes it would keep them open after pg_ctl exits.
    fn pg_ctl(&self, args: &[&str]) -> Result<(), String> {
        let mut cmd = self.tool("pg_ctl");
        cmd.args(args)
            .arg("-D")
            .arg(&self.data)
            .arg("-l")
            .arg(&self.log)
            .args(["-w", "-t", PG_CTL_WAIT_SECS]);
        let output = run_bounded(&mut cmd, COMMAND_TIMEOUT)?;
        expect_success(&output, &format!("pg_ctl {}", args.join(" "))).map_err(|e| {
            format!(
                "{e}\nlast lines of {}:\n{}",
                self.log.display(),
                tail(&self.log, 10)
            )
        })
    }

    fn is_running(&self) -> bool {
        let mut status = self.tool("pg_ctl");
        status.arg("status").arg("-D").arg(&self.data);
        // 0: running; 3: not running; anything else: cannot tell, so not usable.
        run_bounded(&mut status, COMMAND_TIMEOUT).is_ok_and(|output| output.status.success())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Err(e) = self.pg_ctl(&["stop", "-m", "immediate"]) {
            if self.is_running() {
                eprintln!("xtask: warning: the PostgreSQL cluster may still run: {e}");
                return;
            }
        }
        // The log stays for a look after the run; the data is of no use.
        let _ = fs::remove_dir_all(&self.data);
        let _ = fs::remove_dir_all(self.dir.join("socket"));
    }
}

/// A free loopback port for PostgreSQL, never the machine's usual 5432.
fn pg_port() -> Result<u16, String> {
    for _ in 0..10 {
        let port = TcpListener::bind(("127.0.0.1", 0))
            .and_then(|listener| listener.local_addr())
            .map(|addr| addr.port())
            .map_err(|e| format!("cannot find a free port on 127.0.0.1: {e}"))?;
        if port != 5432 {
            return Ok(port);
        }
    }
    Err("no free port on 127.0.0.1 other than 5432".into())
}

fn append(path: &Path, text: &str) -> Result<(), String> {
    File::options()
        .append(true)
        .open(path)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .map_err(|e| format!("cannot append to {}: {e}", path.display()))
}

/// Where `initdb` and `pg_ctl` are: on PATH, else the newest /usr/lib/postgresql/*/bin. The
/// same search as crates/scim-test-db, which xtask does not link (it links no workspace crate).
fn pg_bin_dir() -> Option<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(path) = env::var_os("PATH") {
        if let Some(dir) = env::split_paths(&path).find(|dir| has_tools(dir)) {
            return Some(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| {
            let entry = entry.ok()?;
            let version = entry.file_name().to_str()?.parse().ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, dir)| has_tools(dir))
        .collect();
    versions.sort();
    versions.pop().map(|(_, dir)| dir)
}

#[cfg(unix)]
fn running_as_root() -> bool {
    use std::os::unix::fs::MetadataExt as _;
    fs::metadata("/proc/self").is_ok_and(|meta| meta.uid() == 0)
}

#[cfg(not(unix))]
fn running_as_root() -> bool {
    false
}

// ---------------------------------------------------------------------------------------------
// Reporting

/// Checks passed and failed, each printed as it is decided.
#[derive(Debug, Default)]
struct Report {
    passed: usize,
    failed: usize,
}

impl Report {
    fn check(&mut self, ok: bool, what: &str, detail: &str) {
        if ok {
            self.passed += 1;
        } else {
            self.failed += 1;
        }
        let mark = if ok { "ok  " } else { "FAIL" };
        if detail.is_empty() {
            println!("   {mark} {what}");
        } else {
            println!("   {mark} {what}\n         {detail}");
        }
    }

    fn fail(&mut self, what: &str, why: &str) {
        self.check(false, what, why);
    }

    fn finish(self) -> Result<(), String> {
        println!("{} passed, {} failed", self.passed, self.failed);
        if self.failed == 0 {
            Ok(())
        } else {
            Err(format!(
                "faults: {} of {} checks failed",
                self.failed,
                self.passed + self.failed
            ))
        }
    }
}

fn secs(duration: Duration) -> f64 {
    duration.as_secs_f64()
}

/// When `at` was, relative to the nearest of the named moments.
fn when(at: Instant, moments: &[(&str, Instant)]) -> String {
    let offset = |moment: Instant| {
        if at >= moment {
            secs(at - moment)
        } else {
            -secs(moment - at)
        }
    };
    moments
        .iter()
        .min_by(|a, b| offset(a.1).abs().total_cmp(&offset(b.1).abs()))
        .map_or_else(String::new, |(name, moment)| {
            format!("ended {:+.2} s from {name}", offset(*moment))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_plain_answer() {
        let raw =
            b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 2\r\nretry-after: 5\r\n\r\n{}";
        assert_eq!(
            parse_response(raw).unwrap(),
            Response {
                status: 503,
                retry_after: Some("5".into()),
                body: "{}".into()
            }
        );
    }

    #[test]
    fn parses_a_chunked_answer() {
        let raw = b"HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n\
                    4\r\n{\"id\r\n7;x=y\r\n\": \"a\"}\r\n0\r\n\r\n";
        let response = parse_response(raw).unwrap();
        assert_eq!(response.status, 201);
        assert_eq!(response.retry_after, None);
        assert_eq!(response.body, "{\"id\": \"a\"}");
        assert!(matches!(Answer::of(Ok(response)), Answer::Created(id) if id == "a"));
    }

    #[test]
    fn refuses_what_is_not_http() {
        assert!(parse_response(b"").is_err());
        assert!(parse_response(b"HTTP/1.1 200 OK\r\n").is_err());
        assert!(parse_response(b"SSH-2.0-OpenSSH\r\n\r\n").is_err());
        assert!(dechunk(b"zz\r\n").is_err());
        assert!(dechunk(b"10\r\nshort\r\n").is_err());
    }

    #[test]
    fn answers_are_classified() {
        let answer = |status, retry_after: Option<&str>| {
            Answer::of(Ok(Response {
                status,
                retry_after: retry_after.map(str::to_owned),
                body: "{}".into(),
            }))
        };
        assert!(matches!(
            answer(503, Some("5")),
            Answer::Unavailable { retry_after: true }
        ));
        assert!(matches!(
            answer(503, None),
            Answer::Unavailable { retry_after: false }
        ));
        assert!(matches!(
            answer(500, None),
            Answer::Other { status: 500, .. }
        ));
        // A 201 without an id cannot be read back, so it is not counted as a write.
        assert!(matches!(
            answer(201, None),
            Answer::Other { status: 201, .. }
        ));
        assert!(matches!(
            Answer::of(Err("reset".into())),
            Answer::Silence(_)
        ));
    }

    #[test]
    fn token_ids_are_cut_from_tokens() {
        assert_eq!(
            token_id("scim_AbCdEfGh12345678_secretpart"),
            Some("AbCdEfGh12345678")
        );
        assert_eq!(token_id("scim__secret"), None);
        assert_eq!(token_id("bearer"), None);
    }

    #[test]
    fn a_report_fails_on_any_failed_check() {
        let mut report = Report::default();
        report.check(true, "fine", "");
        assert!(report.finish().is_ok());
        let mut report = Report::default();
        report.check(true, "fine", "");
        report.fail("broken", "why");
        assert_eq!((report.passed, report.failed), (1, 1));
        assert!(report.finish().is_err());
    }

    #[test]
    fn moments_are_told_relative_to_the_nearest() {
        let start = Instant::now();
        let later = start + Duration::from_secs(8);
        let at = start + Duration::from_millis(1500);
        assert_eq!(
            when(at, &[("the stop", start), ("the start", later)]),
            "ended +1.50 s from the stop"
        );
    }
}
