//! `cargo xtask load` (also `cargo xtask bench --http`): the release `scimd` under an HTTP load,
//! next to what PostgreSQL itself does on the same machine.
//!
//! For each backend it makes a fresh database (an SQLite file under `target/load/`, or a new
//! database on the PostgreSQL server), starts `scimd serve` on it, loads [`USERS`] users and
//! [`GROUPS`] groups through the API, then drives each workload from `--connections` keep-alive
//! connections for `--seconds`, one blocking thread per connection. It prints requests per
//! second, latency percentiles, errors (anything but the expected status) and the server's
//! resident memory. Against the same PostgreSQL it runs `pgbench -S` (select only) and `-N`
//! (simple update) with the same client count, and gives each workload's rate as a share of
//! the one it compares with: reads of `-S`, writes of `-N`.
//!
//! The load generator shares the machine's cores with the server and the database, as a real
//! client on the same box would; the figures are what this machine does, never pass/fail.

use std::fs;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::conformance::{psql_command, with_database};
use crate::process::{expect_success, on_path, run_bounded};
use crate::random_suffix;
use crate::scimd::{self, free_port, Backend, Profile, Server};

/// Users loaded before the workloads, as in the measurements issue 10 started from.
const USERS: usize = 1_000;
/// Groups the member workload adds users to and removes them from.
const GROUPS: usize = 16;
/// Bound on one `scimd`, `psql` or `pgbench -i` call.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);
/// Bound on one request: far above any answer the figures would count as good.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";
const ORG: &str = "load";
const DEFAULT_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres";

/// What `cargo xtask load` was asked for.
struct Options {
    seconds: u64,
    connections: usize,
    backends: Vec<Backend>,
    scimd: Option<PathBuf>,
    postgres: String,
    /// Only these workloads (by their short names), or all.
    only: Vec<String>,
    /// Record a system-wide `perf` profile of each workload under `target/load/`.
    perf: bool,
}

pub(crate) const USAGE: &str = "\
usage: cargo xtask load [--seconds N] [--connections N] [--backend sqlite|postgres]...
                        [--workload NAME]... [--database-url URL] [--scimd PATH] [--perf]

  --seconds N        how long each workload runs (default 15)
  --connections N    keep-alive connections, and pgbench clients (default 16)
  --backend B        sqlite or postgres; repeatable (default both)
  --workload NAME    get, filter, list, post, patch, member; repeatable (default all)
  --database-url URL a PostgreSQL server where the user may create databases
                     (default SCIM_LOAD_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/postgres)
  --scimd PATH       use this scimd binary instead of building the release one
  --perf             record a system-wide profile of each workload with `perf record -a -g`
                     into target/load/perf-BACKEND-WORKLOAD.data (Debian: linux-perf); read
                     it with `perf report -i FILE`
";

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        seconds: 15,
        connections: 16,
        backends: Vec::new(),
        scimd: None,
        postgres: std::env::var("SCIM_LOAD_DATABASE_URL")
            .unwrap_or_else(|_| DEFAULT_POSTGRES.to_owned()),
        only: Vec::new(),
        perf: false,
    };
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let mut value = || {
            args.next()
                .cloned()
                .ok_or_else(|| format!("load: {flag} needs a value\n\n{USAGE}"))
        };
        match flag.as_str() {
            "--seconds" => {
                options.seconds = value()?
                    .parse()
                    .ok()
                    .filter(|&s| s > 0)
                    .ok_or("load: --seconds takes a whole number above 0")?;
            }
            "--connections" => {
                options.connections = value()?
                    .parse()
                    .ok()
                    .filter(|&c| (1..=256).contains(&c))
                    .ok_or("load: --connections takes a number from 1 to 256")?;
            }
            "--backend" => {
                let name = value()?;
                let backend = Backend::parse(&name)
                    .ok_or_else(|| format!("load: unknown backend `{name}`"))?;
                options.backends.push(backend);
            }
            "--workload" => {
                let name = value()?;
                if !WORKLOADS.iter().any(|w| w.name == name) {
                    return Err(format!("load: unknown workload `{name}`\n\n{USAGE}"));
                }
                options.only.push(name);
            }
            "--database-url" => options.postgres = value()?,
            "--scimd" => options.scimd = Some(PathBuf::from(value()?)),
            "--http" => {}
            "--perf" => options.perf = true,
            other => return Err(format!("load: unknown argument `{other}`\n\n{USAGE}")),
        }
    }
    if options.backends.is_empty() {
        options.backends = vec![Backend::Sqlite, Backend::Postgres];
    }
    Ok(options)
}

/// Runs `cargo xtask load ARGS`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    if args.iter().any(|a| a == "-h" || a == "--help") {
        print!("{USAGE}");
        return Ok(());
    }
    let options = parse(args)?;
    let scimd = match &options.scimd {
        Some(path) if path.is_file() => path
            .canonicalize()
            .map_err(|e| format!("load: {}: {e}", path.display()))?,
        Some(path) => return Err(format!("load: no file at {}", path.display())),
        None => scimd::build(Profile::Release)?,
    };
    let work = crate::target_dir().join("load");
    fs::create_dir_all(&work).map_err(|e| format!("cannot create {}: {e}", work.display()))?;

    let mut rows = Vec::new();
    let mut baseline = Baseline::default();
    let mut notes = Vec::new();
    if options.backends.contains(&Backend::Postgres) {
        match Postgres::new(&options.postgres) {
            Ok(pg) => match pgbench(&pg, &options) {
                Ok(found) => baseline = found,
                Err(e) => notes.push(format!("pgbench: {e}")),
            },
            Err(e) => notes.push(e),
        }
    }
    for &backend in &options.backends {
        match run_backend(&scimd, &work, backend, &options) {
            Ok((mut found, rss)) => {
                rows.append(&mut found);
                notes.push(format!(
                    "scimd on {}: peak resident memory {:.1} MiB",
                    backend.label(),
                    rss as f64 / 1024.0
                ));
            }
            Err(e) => notes.push(format!("{}: not measured: {e}", backend.label())),
        }
    }
    print_table(&options, &rows, &baseline, &notes);
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL and pgbench

/// A PostgreSQL server reached with `psql`, where the run makes and drops its databases.
struct Postgres {
    admin_url: String,
}

impl Postgres {
    fn new(url: &str) -> Result<Postgres, String> {
        if on_path("psql").is_none() {
            return Err(
                "PostgreSQL: not measured: psql is missing (Debian: `apt-get install \
                        postgresql-client`)"
                    .into(),
            );
        }
        let pg = Postgres {
            admin_url: url.to_owned(),
        };
        pg.psql(&pg.admin_url, "SELECT 1").map_err(|e| {
            format!(
                "PostgreSQL: not measured: {url} does not answer ({e}); start a server or pass \
                 --database-url"
            )
        })?;
        Ok(pg)
    }

    fn psql(&self, url: &str, sql: &str) -> Result<String, String> {
        psql(url, sql)
    }

    /// A new empty database, dropped when the guard is.
    fn database(&self, prefix: &str) -> Result<Database<'_>, String> {
        let name = format!("{prefix}_{}", random_suffix());
        self.psql(&self.admin_url, &format!("CREATE DATABASE {name}"))?;
        Ok(Database { pg: self, name })
    }
}

/// Runs `sql` with `psql` on the database at `url`; its output, trimmed.
fn psql(url: &str, sql: &str) -> Result<String, String> {
    let mut cmd = psql_command(Path::new("psql"), url);
    cmd.args(["-t", "-A", "-c", sql]);
    let output = run_bounded(&mut cmd, COMMAND_TIMEOUT)?;
    expect_success(&output, "psql")?;
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

struct Database<'a> {
    pg: &'a Postgres,
    name: String,
}

impl Database<'_> {
    fn url(&self) -> String {
        with_database(&self.pg.admin_url, &self.name)
    }
}

impl Drop for Database<'_> {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = self.pg.psql(&self.pg.admin_url, &sql) {
            eprintln!("xtask: warning: could not drop database {}: {e}", self.name);
        }
    }
}

/// pgbench's transactions per second: select only (`-S`) and simple update (`-N`).
#[derive(Debug, Default)]
struct Baseline {
    select: Option<f64>,
    update: Option<f64>,
}

fn pgbench(pg: &Postgres, options: &Options) -> Result<Baseline, String> {
    if on_path("pgbench").is_none() {
        return Err(
            "missing: it comes with PostgreSQL's client programs (Debian: `apt-get \
                    install postgresql-client`, or postgresql-contrib on older releases)"
                .into(),
        );
    }
    let db = pg.database("scim_load_pgbench")?;
    let url = db.url();
    let mut init = Command::new("pgbench");
    init.args(["-i", "-q", "-s", "1", &url]);
    expect_success(&run_bounded(&mut init, COMMAND_TIMEOUT)?, "pgbench -i")?;
    let clients = options.connections.to_string();
    let seconds = options.seconds.to_string();
    let tps = |mode: &str| -> Result<f64, String> {
        let mut cmd = Command::new("pgbench");
        // Two threads: the machine's cores, as scimd's workers.
        cmd.args([mode, "-c", &clients, "-j", "2", "-T", &seconds, &url]);
        let output = run_bounded(&mut cmd, Duration::from_secs(options.seconds + 120))?;
        expect_success(&output, &format!("pgbench {mode}"))?;
        let text = String::from_utf8_lossy(&output.stdout);
        text.lines()
            .find_map(|line| {
                line.strip_prefix("tps = ")
                    .and_then(|rest| rest.split_whitespace().next())
                    .and_then(|n| n.parse().ok())
            })
            .ok_or_else(|| format!("pgbench {mode} printed no `tps = ` line:\n{text}"))
    };
    Ok(Baseline {
        select: Some(tps("-S")?),
        update: Some(tps("-N")?),
    })
}

// ---------------------------------------------------------------------------------------------
// One backend

/// One workload's figures on one backend.
struct Row {
    workload: &'static Workload,
    backend: Backend,
    stats: Stats,
}

/// Loads the data, runs the workloads, and returns their rows and the server's peak RSS in KiB.
fn run_backend(
    scimd: &Path,
    work: &Path,
    backend: Backend,
    options: &Options,
) -> Result<(Vec<Row>, u64), String> {
    let pg;
    let database;
    let (url, sqlite_file) = match backend {
        Backend::Sqlite => {
            let file = work.join(format!("load-{}.db", random_suffix()));
            (format!("sqlite://{}", file.display()), Some(file))
        }
        Backend::Postgres => {
            pg = Postgres::new(&options.postgres)?;
            database = pg.database("scim_load")?;
            (database.url(), None)
        }
    };
    let result = measure(scimd, work, backend, &url, options);
    if let Some(file) = sqlite_file {
        for suffix in ["", "-wal", "-shm"] {
            let _ = fs::remove_file(format!("{}{suffix}", file.display()));
        }
    }
    result
}

fn measure(
    scimd: &Path,
    work: &Path,
    backend: Backend,
    url: &str,
    options: &Options,
) -> Result<(Vec<Row>, u64), String> {
    let cli = |args: &[&str]| -> Result<String, String> {
        let mut cmd = Command::new(scimd);
        cmd.current_dir(work)
            .args(args)
            .args(["--database-url", url]);
        let output = run_bounded(&mut cmd, COMMAND_TIMEOUT)?;
        expect_success(&output, &format!("scimd {}", args.join(" ")))?;
        Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
    };
    cli(&["org", "create", ORG])?;
    let token = cli(&["token", "create", "--org", ORG, "--name", "load"])?;
    let port = free_port()?;
    let log = work.join(format!("scimd-{}.log", backend.name()));
    // One organisation drives the whole load: its rate limit would measure the limit, not
    // the server.
    let mut server = Server::start(scimd, work, port, url, &["--rate-limit", "off"], &log)?;
    server.wait_until_ready(port, &token)?;
    let target = Target {
        addr: SocketAddr::from(([127, 0, 0, 1], port)),
        auth: format!("Bearer {token}"),
    };

    println!(
        "{}: loading {USERS} users and {GROUPS} groups",
        backend.label()
    );
    let data = Arc::new(load(&target, options.connections)?);
    if backend == Backend::Postgres {
        // What `pgbench -i` does after loading, and autovacuum soon after on a live server:
        // statistics and a visibility map, so the figures are of a settled database, not of
        // its first minute.
        psql(url, "VACUUM ANALYZE")?;
    }
    let mut rows = Vec::new();
    for workload in WORKLOADS {
        if !options.only.is_empty() && !options.only.iter().any(|n| n == workload.name) {
            continue;
        }
        let profile = if options.perf {
            let file = work.join(format!("perf-{}-{}.data", backend.name(), workload.name));
            Some(Profiler::start(&file, options.seconds)?)
        } else {
            None
        };
        let stats = drive(&target, &data, workload, options)?;
        if let Some(profile) = profile {
            profile.finish()?;
        }
        println!(
            "{}: {:<28} {:>8.0} req/s  p99 {:>7.2} ms  {} errors",
            backend.label(),
            workload.label,
            stats.rate(),
            stats.percentile(99.0),
            stats.errors
        );
        server.still_running()?;
        rows.push(Row {
            workload,
            backend,
            stats,
        });
    }
    let rss = server.peak_rss_kib().unwrap_or(0);
    Ok((rows, rss))
}

/// A `perf record` of the whole machine, over one workload after its warm-up.
struct Profiler {
    child: std::process::Child,
    seconds: u64,
}

impl Profiler {
    fn start(file: &Path, seconds: u64) -> Result<Profiler, String> {
        if on_path("perf").is_none() {
            return Err("--perf needs `perf` (Debian: `apt-get install linux-perf`)".into());
        }
        let mut cmd = Command::new("perf");
        cmd.args(["record", "-a", "-g", "-q", "-o"])
            .arg(file)
            .args(["--", "sh", "-c"])
            .arg(format!("sleep 1; exec sleep {seconds}"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null());
        let child = cmd
            .spawn()
            .map_err(|e| format!("could not start perf: {e}"))?;
        Ok(Profiler { child, seconds })
    }

    fn finish(mut self) -> Result<(), String> {
        let status =
            crate::process::wait_bounded(&mut self.child, Duration::from_secs(self.seconds + 60))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("perf record failed with {status}"))
        }
    }
}

/// Where the requests go.
struct Target {
    addr: SocketAddr,
    auth: String,
}

/// The ids the workloads pick from.
struct Data {
    users: Vec<String>,
    groups: Vec<String>,
    /// Distinguishes this run's POSTed userNames from the loaded ones and other runs'.
    run: String,
}

fn load(target: &Target, connections: usize) -> Result<Data, String> {
    let run = random_suffix();
    // Loaded from every connection at once: the same requests, in a fraction of the time.
    let create_all = |what: &'static str, count: usize, body: fn(usize) -> String| {
        let per = count.div_ceil(connections);
        let handles: Vec<_> = (0..count)
            .step_by(per)
            .map(|first| {
                let mut conn = Conn::new(target);
                thread::spawn(move || {
                    (first..(first + per).min(count))
                        .map(|n| conn.create(what, &body(n)))
                        .collect::<Result<Vec<_>, _>>()
                })
            })
            .collect();
        let mut ids = Vec::with_capacity(count);
        for handle in handles {
            ids.extend(
                handle
                    .join()
                    .map_err(|_| "a loading thread panicked".to_owned())??,
            );
        }
        Ok::<_, String>(ids)
    };
    let users = create_all("/scim/v2/Users", USERS, |n| {
        user_body(&format!("load-{n:06}"), n)
    })?;
    let groups = create_all("/scim/v2/Groups", GROUPS, |n| {
        format!(r#"{{"schemas":["{GROUP_SCHEMA}"],"displayName":"load group {n}"}}"#)
    })?;
    Ok(Data { users, groups, run })
}

fn user_body(user_name: &str, n: usize) -> String {
    format!(
        r#"{{"schemas":["{USER_SCHEMA}"],"userName":"{user_name}","externalId":"ext-{user_name}","name":{{"givenName":"Given{n}","familyName":"Family{n}"}},"displayName":"User {n}","emails":[{{"value":"{user_name}@example.com","type":"work","primary":true}}],"active":true}}"#
    )
}

// ---------------------------------------------------------------------------------------------
// Workloads

/// One kind of request, repeated with different ids.
struct Workload {
    name: &'static str,
    label: &'static str,
    /// The statuses a correct answer may have.
    expect: &'static [u16],
    /// Whether the rate is compared with pgbench's `-N` (writes) or `-S` (reads).
    writes: bool,
    request: fn(&Data, &mut Rng, u64) -> Request,
}

struct Request {
    method: &'static str,
    path: String,
    body: Option<String>,
}

fn get(path: String) -> Request {
    Request {
        method: "GET",
        path,
        body: None,
    }
}

fn patch(path: String, operations: &str) -> Request {
    Request {
        method: "PATCH",
        path,
        body: Some(format!(
            r#"{{"schemas":["{PATCH_SCHEMA}"],"Operations":{operations}}}"#
        )),
    }
}

const WORKLOADS: &[Workload] = &[
    Workload {
        name: "get",
        label: "GET /Users/{id}",
        expect: &[200],
        writes: false,
        request: |data, rng, _| get(format!("/scim/v2/Users/{}", rng.pick(&data.users))),
    },
    Workload {
        name: "filter",
        label: "GET /Users?filter=userName eq",
        expect: &[200],
        writes: false,
        request: |_, rng, _| {
            let n = rng.below(USERS as u64);
            get(format!(
                "/scim/v2/Users?filter=userName%20eq%20%22load-{n:06}%22"
            ))
        },
    },
    Workload {
        name: "list",
        label: "GET /Users page of 50",
        expect: &[200],
        writes: false,
        request: |_, rng, _| {
            let start = 1 + rng.below(USERS as u64 - 50);
            get(format!("/scim/v2/Users?startIndex={start}&count=50"))
        },
    },
    Workload {
        name: "post",
        label: "POST /Users",
        expect: &[201],
        writes: true,
        request: |data, _, seq| Request {
            method: "POST",
            path: "/scim/v2/Users".into(),
            body: Some(user_body(&format!("post-{}-{seq}", data.run), 0)),
        },
    },
    Workload {
        name: "patch",
        label: "PATCH /Users/{id} one attr",
        expect: &[200],
        writes: true,
        request: |data, rng, seq| {
            patch(
                format!("/scim/v2/Users/{}", rng.pick(&data.users)),
                &format!(r#"[{{"op":"replace","path":"displayName","value":"Renamed {seq}"}}]"#),
            )
        },
    },
    Workload {
        name: "member",
        label: "PATCH /Groups/{id} member",
        expect: &[200, 204],
        writes: true,
        // Adds and removes alternate, so groups stay near their size and every request
        // changes something.
        request: |data, rng, seq| {
            let group = rng.pick(&data.groups);
            let user = rng.pick(&data.users);
            let operations = if seq % 2 == 0 {
                format!(r#"[{{"op":"add","path":"members","value":[{{"value":"{user}"}}]}}]"#)
            } else {
                format!(r#"[{{"op":"remove","path":"members[value eq \"{user}\"]"}}]"#)
            };
            patch(format!("/scim/v2/Groups/{group}"), &operations)
        },
    },
];

/// Latencies and outcomes of one workload.
struct Stats {
    elapsed: Duration,
    /// Microseconds per answered request, sorted.
    latencies: Vec<u32>,
    errors: u64,
    first_error: Option<String>,
}

impl Stats {
    fn rate(&self) -> f64 {
        self.latencies.len() as f64 / self.elapsed.as_secs_f64()
    }

    fn percentile(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * self.latencies.len() as f64).ceil() as usize;
        let index = rank.clamp(1, self.latencies.len()) - 1;
        f64::from(self.latencies[index]) / 1000.0
    }
}

fn drive(
    target: &Target,
    data: &Arc<Data>,
    workload: &'static Workload,
    options: &Options,
) -> Result<Stats, String> {
    // A short warm-up on every connection, not counted: connections opened, caches filled.
    let warm_up = Duration::from_secs(1);
    let duration = Duration::from_secs(options.seconds);
    let sequence = Arc::new(AtomicU64::new(0));
    let seed = u64::from_str_radix(&random_suffix(), 16).unwrap_or(1);
    let started = Instant::now();
    let (warm_until, stop_at) = (started + warm_up, started + warm_up + duration);
    let threads: Vec<_> = (0..options.connections)
        .map(|i| {
            let data = Arc::clone(data);
            let sequence = Arc::clone(&sequence);
            let mut conn = Conn::new(target);
            let mut rng = Rng(seed ^ (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
            thread::spawn(move || {
                let mut latencies = Vec::new();
                let mut errors = 0;
                let mut first_error = None;
                loop {
                    let now = Instant::now();
                    if now >= stop_at {
                        break;
                    }
                    let seq = sequence.fetch_add(1, Ordering::Relaxed);
                    let request = (workload.request)(&data, &mut rng, seq);
                    let sent = Instant::now();
                    let outcome = conn.send(&request);
                    let took = sent.elapsed();
                    if sent < warm_until {
                        continue;
                    }
                    match outcome {
                        Ok(answer) if workload.expect.contains(&answer.status) => {
                            latencies.push(u32::try_from(took.as_micros()).unwrap_or(u32::MAX));
                        }
                        Ok(answer) => {
                            errors += 1;
                            first_error.get_or_insert_with(|| {
                                format!("{} {}: {}", request.method, answer.status, answer.body)
                            });
                        }
                        Err(e) => {
                            errors += 1;
                            first_error.get_or_insert(e);
                        }
                    }
                }
                (latencies, errors, first_error)
            })
        })
        .collect();
    let mut stats = Stats {
        elapsed: duration,
        latencies: Vec::new(),
        errors: 0,
        first_error: None,
    };
    for handle in threads {
        let (mut latencies, errors, first_error) = handle
            .join()
            .map_err(|_| "a load thread panicked".to_owned())?;
        stats.latencies.append(&mut latencies);
        stats.errors += errors;
        if stats.first_error.is_none() {
            stats.first_error = first_error;
        }
    }
    stats.latencies.sort_unstable();
    if let Some(e) = &stats.first_error {
        let shown: String = e.chars().take(300).collect();
        eprintln!("xtask: {}: first error: {shown}", workload.label);
    }
    Ok(stats)
}

/// xorshift64*: enough to spread requests over ids, seeded per run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0.max(1);
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    fn pick<'a>(&mut self, items: &'a [String]) -> &'a str {
        let index = self.below(items.len() as u64) as usize;
        items.get(index).map_or("", String::as_str)
    }
}

// ---------------------------------------------------------------------------------------------
// A keep-alive HTTP/1.1 client

/// One keep-alive connection, reopened when the server closes it.
struct Conn {
    addr: SocketAddr,
    auth: String,
    stream: Option<BufReader<TcpStream>>,
    head: String,
}

struct Answer {
    status: u16,
    body: String,
}

impl Conn {
    fn new(target: &Target) -> Conn {
        Conn {
            addr: target.addr,
            auth: target.auth.clone(),
            stream: None,
            head: String::with_capacity(512),
        }
    }

    /// POSTs `body` and returns the new resource's id.
    fn create(&mut self, path: &str, body: &str) -> Result<String, String> {
        let answer = self.send(&Request {
            method: "POST",
            path: path.to_owned(),
            body: Some(body.to_owned()),
        })?;
        if answer.status != 201 {
            return Err(format!(
                "POST {path}: {} {}",
                answer.status,
                answer.body.chars().take(300).collect::<String>()
            ));
        }
        let marker = "\"id\":\"";
        let start = answer
            .body
            .find(marker)
            .map(|i| i + marker.len())
            .ok_or_else(|| format!("POST {path}: no id in {}", answer.body))?;
        let end = answer.body[start..]
            .find('"')
            .ok_or_else(|| format!("POST {path}: no id in {}", answer.body))?;
        Ok(answer.body[start..start + end].to_owned())
    }

    fn send(&mut self, request: &Request) -> Result<Answer, String> {
        // A connection the server closed while idle fails on first use: retry once on a new one.
        match self.try_send(request) {
            Ok(answer) => Ok(answer),
            Err(_) if self.stream.is_none() => self.try_send(request),
            Err(e) => Err(e),
        }
    }

    fn try_send(&mut self, request: &Request) -> Result<Answer, String> {
        let fail = |conn: &mut Conn, e: io::Error| {
            conn.stream = None;
            format!("{} {}: {e}", request.method, request.path)
        };
        if self.stream.is_none() {
            let stream = TcpStream::connect_timeout(&self.addr, REQUEST_TIMEOUT)
                .map_err(|e| format!("cannot connect: {e}"))?;
            let _ = stream.set_nodelay(true);
            let _ = stream.set_read_timeout(Some(REQUEST_TIMEOUT));
            let _ = stream.set_write_timeout(Some(REQUEST_TIMEOUT));
            self.stream = Some(BufReader::with_capacity(64 * 1024, stream));
        }
        let body = request.body.as_deref().unwrap_or("");
        let mut out = format!(
            "{} {} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: {}\r\nAccept: application/scim+json\r\n",
            request.method, request.path, self.auth
        );
        if request.body.is_some() {
            out.push_str("Content-Type: application/scim+json\r\n");
        }
        out.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
        out.push_str(body);
        let Some(stream) = self.stream.as_mut() else {
            return Err("no connection".into());
        };
        if let Err(e) = stream.get_mut().write_all(out.as_bytes()) {
            return Err(fail(self, e));
        }
        match read_answer(stream, &mut self.head) {
            Ok((answer, keep)) => {
                if !keep {
                    self.stream = None;
                }
                Ok(answer)
            }
            Err(e) => Err(fail(self, e)),
        }
    }
}

/// Reads one answer; the flag says whether the connection stays open.
fn read_answer(stream: &mut BufReader<TcpStream>, line: &mut String) -> io::Result<(Answer, bool)> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, what.to_owned());
    line.clear();
    if stream.read_line(line)? == 0 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "closed before answering",
        ));
    }
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse::<u16>().ok())
        .ok_or_else(|| bad("not an HTTP status line"))?;
    let mut length = None;
    let mut chunked = false;
    let mut keep = true;
    loop {
        line.clear();
        if stream.read_line(line)? == 0 {
            return Err(bad("headers cut short"));
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        let Some((name, value)) = header.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            length = Some(
                value
                    .parse::<usize>()
                    .map_err(|_| bad("bad Content-Length"))?,
            );
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.eq_ignore_ascii_case("chunked");
        } else if name.eq_ignore_ascii_case("connection") {
            keep = !value.eq_ignore_ascii_case("close");
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            line.clear();
            stream.read_line(line)?;
            let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| bad("bad chunk size"))?;
            if size == 0 {
                line.clear();
                stream.read_line(line)?;
                break;
            }
            let start = body.len();
            body.resize(start + size, 0);
            stream.read_exact(&mut body[start..])?;
            let mut crlf = [0_u8; 2];
            stream.read_exact(&mut crlf)?;
        }
    } else if let Some(length) = length {
        body.resize(length, 0);
        stream.read_exact(&mut body)?;
    } else if status != 204 && status != 304 {
        stream.read_to_end(&mut body)?;
        keep = false;
    }
    Ok((
        Answer {
            status,
            body: String::from_utf8_lossy(&body).into_owned(),
        },
        keep,
    ))
}

// ---------------------------------------------------------------------------------------------
// The table

fn print_table(options: &Options, rows: &[Row], baseline: &Baseline, notes: &[String]) {
    println!(
        "\n{} connections, {} s per workload after 1 s of warm-up, {USERS} users and {GROUPS} \
         groups loaded (then VACUUM ANALYZE on PostgreSQL, as pgbench -i does)",
        options.connections, options.seconds
    );
    let show = |tps: Option<f64>| tps.map_or("not measured".to_owned(), |t| format!("{t:.0} TPS"));
    println!(
        "pgbench, {} clients, scale 1: -S (select only) {}, -N (simple update) {}\n",
        options.connections,
        show(baseline.select),
        show(baseline.update)
    );
    println!("| workload | backend | req/s | p50 ms | p90 ms | p99 ms | errors | vs pgbench |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|");
    for row in rows {
        let (compared, mode) = if row.workload.writes {
            (baseline.update, "-N")
        } else {
            (baseline.select, "-S")
        };
        let ratio = match (row.backend, compared) {
            (Backend::Postgres, Some(tps)) if tps > 0.0 => {
                format!("{:.0} % of {mode}", 100.0 * row.stats.rate() / tps)
            }
            _ => "—".to_owned(),
        };
        println!(
            "| {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {} | {} |",
            row.workload.label,
            row.backend.label(),
            row.stats.rate(),
            row.stats.percentile(50.0),
            row.stats.percentile(90.0),
            row.stats.percentile(99.0),
            row.stats.errors,
            ratio
        );
    }
    for note in notes {
        println!("\n{note}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls_replace_only_the_database() {
        assert_eq!(
            with_database(
                "postgres://postgres@127.0.0.1:5432/postgres?connect_timeout=3",
                "x1"
            ),
            "postgres://postgres@127.0.0.1:5432/x1?connect_timeout=3"
        );
        assert_eq!(
            with_database("postgres://u@h:5432", "x1"),
            "postgres://u@h:5432/x1"
        );
    }

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let stats = Stats {
            elapsed: Duration::from_secs(1),
            latencies: (1..=100).map(|ms| ms * 1000).collect(),
            errors: 0,
            first_error: None,
        };
        assert_eq!(stats.percentile(50.0), 50.0);
        assert_eq!(stats.percentile(99.0), 99.0);
        assert_eq!(stats.percentile(100.0), 100.0);
        assert_eq!(stats.rate(), 100.0);
    }

    #[test]
    fn options_default_to_both_backends_and_every_workload() {
        let options = parse(&[]).unwrap();
        assert_eq!(options.backends, [Backend::Sqlite, Backend::Postgres]);
        assert!(options.only.is_empty());
        assert!(parse(&["--workload".into(), "nope".into()]).is_err());
        assert!(parse(&["--connections".into(), "0".into()]).is_err());
    }
}
