//! `cargo xtask conformance`: the public SCIM checker scim2-tester against `scimd`.
//!
//! For each backend (SQLite, then PostgreSQL) it gives a freshly built `scimd` a fresh
//! database, creates a token with `scimd`'s own CLI, starts `scimd serve` on a free loopback
//! port and runs `conformance/driver.py` from a virtualenv pinned by
//! `conformance/requirements.txt`. Any check that does not pass fails the command unless
//! `conformance/allowlist.txt` names it with a reason; entries that no longer fail are reported
//! so the list only shrinks. Every process started here runs under a time bound, and the server
//! and the database are removed on the way out, on failure too.
//!
//! Everything it leaves is under `target/conformance/`: the virtualenv, and per backend the
//! checker's JSON lines (`sqlite.jsonl`), its stderr (`sqlite-driver.log`) and the server's log
//! (`sqlite-scimd.log`).

use std::collections::{BTreeMap, BTreeSet};
use std::env;
use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde::Deserialize;

use crate::process::{
    describe, expect_success, on_path, run_bounded, run_logged, run_quiet, tail, wait_bounded,
};
use crate::random_suffix;
use crate::scimd::{self, free_port, Backend, Profile, Server};

/// Bound on each `scimd org|token` command and each psql/createdb call.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);
/// Bound on creating the virtualenv and installing the pinned packages from PyPI.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(900);
const DEFAULT_CHECKER_TIMEOUT: Duration = Duration::from_secs(900);
/// The driver reads the token from here, which keeps it out of the process list.
const TOKEN_ENV: &str = "SCIM_CONFORMANCE_TOKEN";
/// The same fallback server the storage tests use (crates/scim-test-db).
const LOCAL_POSTGRES: &str = "postgres://postgres@127.0.0.1:5432/postgres?connect_timeout=3";
/// scim2-tester and its HTTP client require it.
const MIN_PYTHON: (u32, u32) = (3, 11);
/// Failing checks printed per backend; the rest are in the JSON lines file.
const SHOWN_FAILURES: usize = 30;

/// Runs `cargo xtask conformance ARGS`.
pub(crate) fn run(args: &[String]) -> Result<(), String> {
    let options = Options::parse(args)?;
    let paths = Paths::new();
    fs::create_dir_all(&paths.work)
        .map_err(|e| format!("cannot create {}: {e}", paths.work.display()))?;
    // Read first: a malformed list should fail before minutes of building and checking.
    let allowlist = Allowlist::load(&paths.allowlist)?;
    let python = ensure_checker(&paths)?;

    let mut runs = Vec::new();
    if let Some(server) = &options.external {
        clear_artifacts(&paths, "external");
        let outcome = run_checker(
            &python,
            &paths,
            "external",
            &server.url,
            server.token.as_deref(),
            options.checker_timeout,
        );
        runs.push(("external", outcome));
    } else {
        let scimd = match &options.scimd {
            Some(scimd) if scimd.is_file() => scimd.clone(),
            Some(scimd) => return Err(format!("conformance: no file at {}", scimd.display())),
            None => scimd::build(Profile::Debug)?,
        };
        for backend in &options.backends {
            clear_artifacts(&paths, backend.name());
            let outcome = run_backend(
                *backend,
                backend.name(),
                &[],
                &scimd,
                &python,
                &paths,
                options.checker_timeout,
            );
            runs.push((backend.name(), outcome));
        }
        // Declared schemas go through the same code on both backends (the storage tests show
        // it); more runs let the checker drive them too: the extension on SQLite, the new
        // resource types (in the store's shared table) on each backend asked for.
        for (backend, label, schemas) in DECLARED_RUNS {
            if !options.backends.contains(&backend) {
                continue;
            }
            let dir = paths.root.join(schemas);
            let extra = ["--schemas-dir".to_owned(), dir.display().to_string()];
            clear_artifacts(&paths, label);
            let outcome = run_backend(
                backend,
                label,
                &extra,
                &scimd,
                &python,
                &paths,
                options.checker_timeout,
            );
            runs.push((label, outcome));
        }
    }
    report(&runs, &allowlist)
}

/// The extra runs with declared schemas: each one's backend, label (its artifacts are
/// `target/conformance/LABEL.*`) and schemas directory, relative to the workspace root. The
/// Entra custom-extension example of docs/schemas.md drives an extension of User; the agent
/// drafts' files drive two new resource types with endpoints of their own.
const DECLARED_RUNS: [(Backend, &str, &str); 3] = [
    (
        Backend::Sqlite,
        "sqlite-declared",
        "docs/schemas/examples/entra",
    ),
    (Backend::Sqlite, "sqlite-agents", "docs/schemas/agents"),
    (Backend::Postgres, "postgres-agents", "docs/schemas/agents"),
];

/// A server someone else started, named by `--url`.
#[derive(Debug, PartialEq, Eq)]
struct External {
    url: String,
    token: Option<String>,
}

#[derive(Debug, PartialEq, Eq)]
struct Options {
    backends: Vec<Backend>,
    external: Option<External>,
    /// A `scimd` built elsewhere (a release build, say) instead of `cargo build -p scimd`.
    scimd: Option<PathBuf>,
    checker_timeout: Duration,
}

impl Options {
    fn parse(args: &[String]) -> Result<Options, String> {
        let mut backends = Vec::new();
        let mut url = None;
        let mut token = None;
        let mut scimd = None;
        let mut checker_timeout = DEFAULT_CHECKER_TIMEOUT;
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let mut value = |name: &str| {
                args.next()
                    .cloned()
                    .ok_or_else(|| format!("conformance: {name} needs a value"))
            };
            match arg.as_str() {
                "--backend" => {
                    let name = value("--backend")?;
                    let backend = Backend::parse(&name).ok_or_else(|| {
                        format!("conformance: unknown backend `{name}` (sqlite or postgres)")
                    })?;
                    backends.push(backend);
                }
                "--url" => url = Some(value("--url")?),
                "--token" => token = Some(value("--token")?),
                "--scimd" => scimd = Some(PathBuf::from(value("--scimd")?)),
                "--timeout" => {
                    let raw = value("--timeout")?;
                    let seconds: u64 =
                        raw.parse().ok().filter(|s| *s > 0).ok_or_else(|| {
                            format!("conformance: --timeout `{raw}` is not seconds")
                        })?;
                    checker_timeout = Duration::from_secs(seconds);
                }
                other => return Err(format!("conformance: unknown argument `{other}`")),
            }
        }
        let external = match (url, token) {
            (Some(url), token) => {
                if !backends.is_empty() || scimd.is_some() {
                    return Err("conformance: --url checks a running server; --backend and \
                                --scimd start one: pick one of them"
                        .into());
                }
                let token = token.or_else(|| env::var(TOKEN_ENV).ok().filter(|t| !t.is_empty()));
                Some(External { url, token })
            }
            (None, Some(_)) => return Err("conformance: --token goes with --url".into()),
            (None, None) => None,
        };
        if backends.is_empty() {
            backends = vec![Backend::Sqlite, Backend::Postgres];
        }
        let mut unique = Vec::new();
        for backend in backends {
            if !unique.contains(&backend) {
                unique.push(backend);
            }
        }
        let backends = unique;
        Ok(Options {
            backends,
            external,
            scimd,
            checker_timeout,
        })
    }
}

struct Paths {
    root: PathBuf,
    /// `target/conformance`: everything this command leaves behind.
    work: PathBuf,
    venv: PathBuf,
    requirements: PathBuf,
    driver: PathBuf,
    allowlist: PathBuf,
}

impl Paths {
    fn new() -> Paths {
        let root = super::root();
        let work = super::target_dir().join("conformance");
        Paths {
            venv: work.join("venv"),
            requirements: root.join("conformance/requirements.txt"),
            driver: root.join("conformance/driver.py"),
            allowlist: root.join("conformance/allowlist.txt"),
            root,
            work,
        }
    }
}

/// Removes what an earlier run left for `label`, so no stale log is read as this run's.
fn clear_artifacts(paths: &Paths, label: &str) {
    for suffix in [".jsonl", "-driver.log", "-scimd.log"] {
        let _ = fs::remove_file(paths.work.join(format!("{label}{suffix}")));
    }
}

// ---------------------------------------------------------------------------------------------
// The checker's virtualenv

/// Makes sure the virtualenv holds exactly the pinned packages and returns its interpreter.
///
/// The venv is reused while a stamp inside it matches the hash of the requirements file and
/// the Python version, and it still imports the checker; otherwise it is rebuilt from scratch.
fn ensure_checker(paths: &Paths) -> Result<PathBuf, String> {
    let version = python_version()?;
    let requirements = fs::read(&paths.requirements)
        .map_err(|e| format!("cannot read {}: {e}", paths.requirements.display()))?;
    let mut stamped = requirements;
    stamped.extend_from_slice(version.as_bytes());
    let stamp = format!("{:016x}\n", fnv1a64(&stamped));
    let stamp_file = paths.venv.join(".requirements-hash");
    let python = paths.venv.join("bin/python");

    if fs::read_to_string(&stamp_file).is_ok_and(|s| s == stamp) && imports_checker(&python) {
        return Ok(python);
    }

    eprintln!(
        "xtask: installing the pinned conformance checker into {}",
        paths.venv.display()
    );
    if paths.venv.exists() {
        fs::remove_dir_all(&paths.venv)
            .map_err(|e| format!("cannot remove the stale {}: {e}", paths.venv.display()))?;
    }
    let log = paths.work.join("pip.log");
    let mut venv = Command::new("python3");
    venv.arg("-m").arg("venv").arg(&paths.venv);
    run_logged(&mut venv, INSTALL_TIMEOUT, &log).map_err(|e| {
        format!(
            "{e}\n(Debian and Ubuntu ship venv apart: `apt-get install python3-venv`)\n{}",
            tail(&log, 10)
        )
    })?;

    let mut pip = Command::new(&python);
    pip.args([
        "-m",
        "pip",
        "install",
        "--disable-pip-version-check",
        "--no-input",
        "-r",
    ])
    .arg(&paths.requirements);
    run_logged(&mut pip, INSTALL_TIMEOUT, &log)
        .map_err(|e| format!("{e}\nlast lines of {}:\n{}", log.display(), tail(&log, 15)))?;

    let mut check = Command::new(&python);
    check.args(["-m", "pip", "check", "--disable-pip-version-check"]);
    run_logged(&mut check, COMMAND_TIMEOUT, &log).map_err(|e| {
        format!(
            "the pinned packages do not fit together ({e}):\n{}\nfix conformance/requirements.txt",
            tail(&log, 10)
        )
    })?;
    if !imports_checker(&python) {
        return Err(format!(
            "the virtualenv {} does not import scim2_tester after installing {}",
            paths.venv.display(),
            paths.requirements.display()
        ));
    }
    // Written last, so an interrupted install is redone next time.
    fs::write(&stamp_file, stamp)
        .map_err(|e| format!("cannot write {}: {e}", stamp_file.display()))?;
    Ok(python)
}

/// The `major.minor.micro` of `python3`, or why it cannot serve.
fn python_version() -> Result<String, String> {
    let missing = "python3 was not found: the conformance checker needs Python >= 3.11 with \
                   venv and pip (`apt-get install python3 python3-venv`)";
    let mut cmd = Command::new("python3");
    cmd.args(["-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"]);
    let output = match run_quiet(&mut cmd, COMMAND_TIMEOUT) {
        Ok(output) if output.status.success() => output,
        Ok(_) | Err(_) => return Err(missing.into()),
    };
    let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let found = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if found < MIN_PYTHON {
        return Err(format!(
            "python3 is {version}; the conformance checker needs Python >= {}.{}",
            MIN_PYTHON.0, MIN_PYTHON.1
        ));
    }
    Ok(version)
}

fn imports_checker(python: &Path) -> bool {
    let mut cmd = Command::new(python);
    cmd.args([
        "-B",
        "-c",
        "import scim2_tester, scim2_client.engines.httpx2",
    ]);
    python.is_file() && run_quiet(&mut cmd, COMMAND_TIMEOUT).is_ok_and(|o| o.status.success())
}

/// FNV-1a, 64 bits: a stable hash (std's `DefaultHasher` may change between Rust releases)
/// that is plenty to notice an edited requirements file.
fn fnv1a64(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| {
        (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

// ---------------------------------------------------------------------------------------------
// One backend: database, token, server, checker

fn run_backend(
    backend: Backend,
    label: &str,
    serve_args: &[String],
    scimd: &Path,
    python: &Path,
    paths: &Paths,
    checker_timeout: Duration,
) -> Result<Vec<CheckLine>, String> {
    let suffix = random_suffix();
    // Declared before the server so it is dropped after it: the server lets go of the
    // database before the database goes.
    let database: Box<dyn FreshDatabase> = match backend {
        Backend::Sqlite => Box::new(SqliteFile::new(&paths.work, &suffix)),
        Backend::Postgres => Box::new(PgDatabase::create(paths, &suffix)?),
    };
    let url = database.url();
    let scimd_cli = |args: &[&str]| {
        let mut cmd = Command::new(scimd);
        // SQLite URLs are relative to the work directory.
        cmd.current_dir(&paths.work)
            .args(args)
            .args(["--database-url", &url]);
        cmd
    };

    let org = run_bounded(
        &mut scimd_cli(&["org", "create", "default"]),
        COMMAND_TIMEOUT,
    )
    .and_then(|output| expect_success(&output, "scimd org create"));
    let token_output = run_bounded(
        &mut scimd_cli(&[
            "token",
            "create",
            "--org",
            "default",
            "--name",
            "conformance",
        ]),
        COMMAND_TIMEOUT,
    )?;
    if let Err(token_error) = expect_success(&token_output, "scimd token create") {
        // A failed `org create` is only worth mentioning when the token could not follow it.
        return Err(match org {
            Err(org_error) => format!("{org_error}\n{token_error}"),
            Ok(()) => token_error,
        });
    }
    let token = String::from_utf8_lossy(&token_output.stdout)
        .trim()
        .to_owned();
    if token.is_empty() || token.contains(char::is_whitespace) {
        return Err(format!(
            "`scimd token create` should print only a token on stdout, it printed {:?}",
            String::from_utf8_lossy(&token_output.stdout)
        ));
    }

    let port = free_port()?;
    let log = paths.work.join(format!("{label}-scimd.log"));
    let serve_args: Vec<&str> = serve_args.iter().map(String::as_str).collect();
    let mut server = Server::start(scimd, &paths.work, port, &url, &serve_args, &log)?;
    server.wait_until_ready(port, &token)?;

    let base_url = format!("http://127.0.0.1:{port}/scim/v2");
    let lines = run_checker(
        python,
        paths,
        label,
        &base_url,
        Some(&token),
        checker_timeout,
    );
    if let Err(e) = server.still_running() {
        eprintln!("xtask: {e}");
    }
    lines
}

/// A database that exists for one run and is removed when dropped.
trait FreshDatabase {
    fn url(&self) -> String;
}

struct SqliteFile {
    dir: PathBuf,
    name: String,
}

impl SqliteFile {
    fn new(dir: &Path, suffix: &str) -> SqliteFile {
        SqliteFile {
            dir: dir.to_path_buf(),
            name: format!("sqlite-{suffix}.db"),
        }
    }
}

impl FreshDatabase for SqliteFile {
    fn url(&self) -> String {
        format!("sqlite://{}", self.name)
    }
}

impl Drop for SqliteFile {
    fn drop(&mut self) {
        for extension in ["", "-wal", "-shm", "-journal"] {
            let _ = fs::remove_file(self.dir.join(format!("{}{extension}", self.name)));
        }
    }
}

/// The client programs that can create and drop a database, in order of preference.
enum PgTool {
    Psql(PathBuf),
    CreateDb { createdb: PathBuf, dropdb: PathBuf },
}

impl PgTool {
    fn find() -> Result<PgTool, String> {
        if let Some(psql) = on_path("psql") {
            return Ok(PgTool::Psql(psql));
        }
        match (on_path("createdb"), on_path("dropdb")) {
            (Some(createdb), Some(dropdb)) => Ok(PgTool::CreateDb { createdb, dropdb }),
            _ => Err(
                "neither psql nor createdb/dropdb is on PATH: install the PostgreSQL \
                      client (`apt-get install postgresql-client`) or run \
                      `cargo xtask conformance --backend sqlite`"
                    .into(),
            ),
        }
    }

    fn create(&self, admin_url: &str, name: &str) -> Command {
        let mut cmd = match self {
            PgTool::Psql(psql) => {
                let mut cmd = psql_command(psql, admin_url);
                cmd.args(["-c", &format!("CREATE DATABASE {name}")]);
                cmd
            }
            PgTool::CreateDb { createdb, .. } => {
                let mut cmd = Command::new(createdb);
                cmd.arg("--no-password")
                    .arg(format!("--maintenance-db={admin_url}"))
                    .arg(name);
                cmd
            }
        };
        cmd.env("PGCONNECT_TIMEOUT", "5");
        cmd
    }

    fn drop_database(&self, admin_url: &str, name: &str) -> Command {
        let mut cmd = match self {
            PgTool::Psql(psql) => {
                let mut cmd = psql_command(psql, admin_url);
                // FORCE ends the sessions a killed server may have left for a moment.
                cmd.args([
                    "-c",
                    &format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                ]);
                cmd
            }
            PgTool::CreateDb { dropdb, .. } => {
                let mut cmd = Command::new(dropdb);
                cmd.args(["--no-password", "--if-exists", "--force"])
                    .arg(format!("--maintenance-db={admin_url}"))
                    .arg(name);
                cmd
            }
        };
        cmd.env("PGCONNECT_TIMEOUT", "5");
        cmd
    }
}

pub(crate) fn psql_command(psql: &Path, admin_url: &str) -> Command {
    let mut cmd = Command::new(psql);
    // No password prompt, no ~/.psqlrc, stop at the first error.
    cmd.args([
        "--no-password",
        "--no-psqlrc",
        "--quiet",
        "-v",
        "ON_ERROR_STOP=1",
        "-d",
    ])
    .arg(admin_url);
    cmd
}

struct PgDatabase {
    tool: PgTool,
    admin_url: String,
    name: String,
}

impl PgDatabase {
    /// Creates `scim_conformance_<suffix>` on the first server that accepts it: the one the
    /// storage tests use (`SCIM_TEST_DATABASE_URL`, else 127.0.0.1:5432 as `postgres`, else
    /// the throwaway cluster they start under `target/pg-test`).
    fn create(paths: &Paths, suffix: &str) -> Result<PgDatabase, String> {
        let tool = PgTool::find()?;
        let name = format!("scim_conformance_{suffix}");
        let mut tried = Vec::new();
        for (label, admin_url) in admin_candidates(&paths.root) {
            let outcome = run_bounded(&mut tool.create(&admin_url, &name), COMMAND_TIMEOUT)
                .and_then(|output| expect_success(&output, "create database"));
            match outcome {
                Ok(()) => {
                    return Ok(PgDatabase {
                        tool,
                        admin_url,
                        name,
                    })
                }
                Err(e) => tried.push(format!("{label}: {e}")),
            }
        }
        Err(format!(
            "no PostgreSQL server to create a database on. Tried:\n  - {}\nset \
             SCIM_TEST_DATABASE_URL=postgres://USER@HOST:PORT/DB (USER may CREATE DATABASE), or \
             run `cargo xtask conformance --backend sqlite`",
            tried.join("\n  - ")
        ))
    }
}

fn admin_candidates(root: &Path) -> Vec<(String, String)> {
    let mut candidates = Vec::new();
    if let Some(url) = env::var("SCIM_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty())
    {
        candidates.push(("SCIM_TEST_DATABASE_URL".to_owned(), url));
    }
    if env::var("SCIM_TEST_SKIP_LOCAL_POSTGRES").as_deref() != Ok("1") {
        candidates.push((
            "127.0.0.1:5432 as postgres".to_owned(),
            LOCAL_POSTGRES.to_owned(),
        ));
    }
    let port_file = root.join("target/pg-test/port");
    if let Ok(port) = fs::read_to_string(&port_file) {
        let url = format!(
            "postgres://postgres@127.0.0.1:{}/postgres?connect_timeout=3",
            port.trim()
        );
        candidates.push((format!("the test cluster of {}", port_file.display()), url));
    }
    candidates
}

impl FreshDatabase for PgDatabase {
    fn url(&self) -> String {
        with_database(&self.admin_url, &self.name)
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        let outcome = run_quiet(
            &mut self.tool.drop_database(&self.admin_url, &self.name),
            COMMAND_TIMEOUT,
        )
        .and_then(|output| expect_success(&output, "drop database"));
        if let Err(e) = outcome {
            eprintln!(
                "xtask: warning: could not drop the database {}: {e}",
                self.name
            );
        }
    }
}

/// `url` with its database (the path) replaced by `name`, its query string kept.
pub(crate) fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority = base.find("://").map_or(0, |i| i + 3);
    let path = base[authority..]
        .find('/')
        .map_or(base.len(), |i| authority + i);
    let mut out = format!("{}/{name}", &base[..path]);
    if let Some(query) = query {
        out.push('?');
        out.push_str(query);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Running the checker and judging its results

/// One line of `driver.py`'s output; the fields xtask does not read are left to the file.
#[derive(Debug, Deserialize)]
struct CheckLine {
    id: String,
    category: String,
    outcome: String,
    #[serde(default)]
    reason: Option<String>,
}

fn run_checker(
    python: &Path,
    paths: &Paths,
    label: &str,
    url: &str,
    token: Option<&str>,
    timeout: Duration,
) -> Result<Vec<CheckLine>, String> {
    let results = paths.work.join(format!("{label}.jsonl"));
    let log = paths.work.join(format!("{label}-driver.log"));
    let mut cmd = Command::new(python);
    // -B: no __pycache__ beside the driver in the source tree.
    cmd.arg("-B").arg(&paths.driver).args(["--url", url]);
    match token {
        Some(token) => cmd.env(TOKEN_ENV, token),
        None => cmd.env_remove(TOKEN_ENV),
    };
    eprintln!("xtask: running {}", describe(&cmd));
    let create = |path: &Path| {
        File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))
    };
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(create(&results)?)
        .stderr(create(&log)?)
        .spawn()
        .map_err(|e| format!("could not start {}: {e}", python.display()))?;
    let status = wait_bounded(&mut child, timeout).map_err(|e| {
        format!(
            "the checker {e}; last lines of {}:\n{}",
            log.display(),
            tail(&log, 10)
        )
    })?;
    // The driver exits 1 when a check failed, which the allowlist judges; any other status
    // means it did not run, and so does 1 with no results (Python's own status for an
    // uncaught error).
    if !matches!(status.code(), Some(0 | 1)) {
        return Err(format!(
            "the checker failed with {status}; last lines of {}:\n{}",
            log.display(),
            tail(&log, 15)
        ));
    }
    let text = fs::read_to_string(&results)
        .map_err(|e| format!("cannot read {}: {e}", results.display()))?;
    parse_results(&text).map_err(|e| {
        format!(
            "{e} (exit status {status}); last lines of {}:\n{}",
            log.display(),
            tail(&log, 15)
        )
    })
}

fn parse_results(text: &str) -> Result<Vec<CheckLine>, String> {
    let lines = text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(number, line)| {
            serde_json::from_str(line)
                .map_err(|e| format!("line {} of the checker's output: {e}", number + 1))
        })
        .collect::<Result<Vec<CheckLine>, String>>()?;
    if lines.is_empty() {
        return Err("the checker reported no result".into());
    }
    Ok(lines)
}

/// `conformance/allowlist.txt`: checks known to fail, each with the reason.
#[derive(Debug, Default)]
struct Allowlist {
    entries: Vec<AllowEntry>,
}

#[derive(Debug, PartialEq, Eq)]
struct AllowEntry {
    id: String,
    why: String,
    line: usize,
}

impl Allowlist {
    fn load(path: &Path) -> Result<Allowlist, String> {
        match fs::read_to_string(path) {
            Ok(text) => Allowlist::parse(&text).map_err(|e| format!("{}:{e}", path.display())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Allowlist::default()),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    /// One entry a line, `ID # WHY`; blank lines and lines starting with `#` are comments.
    fn parse(text: &str) -> Result<Allowlist, String> {
        let mut entries: Vec<AllowEntry> = Vec::new();
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let (id, why) = trimmed
                .split_once('#')
                .map_or((trimmed, ""), |(id, why)| (id.trim(), why.trim()));
            if why.is_empty() {
                return Err(format!("{line}: `{id}` needs `# WHY` after it"));
            }
            if id.contains(char::is_whitespace) {
                return Err(format!("{line}: `{id}` is not one check identifier"));
            }
            if let Some(first) = entries.iter().find(|e| e.id == id) {
                return Err(format!(
                    "{line}: `{id}` is already listed on line {}",
                    first.line
                ));
            }
            entries.push(AllowEntry {
                id: id.to_owned(),
                why: why.to_owned(),
                line,
            });
        }
        Ok(Allowlist { entries })
    }

    /// The entry excusing a failed check: its exact identifier, or the identifier without
    /// the `[attribute]` qualifier, which covers every attribute of that check.
    fn excuse(&self, id: &str) -> Option<usize> {
        let base = id.split_once('[').map_or(id, |(base, _)| base);
        self.entries
            .iter()
            .position(|e| e.id == id)
            .or_else(|| self.entries.iter().position(|e| e.id == base))
    }
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Counts {
    pass: usize,
    fail: usize,
    skip: usize,
}

impl Counts {
    fn add(&mut self, outcome: &str) {
        match outcome {
            "pass" => self.pass += 1,
            "skip" => self.skip += 1,
            // An outcome this code does not know is not a pass.
            _ => self.fail += 1,
        }
    }
}

/// What one backend's results mean once the allowlist is applied.
#[derive(Debug, Default)]
struct Judgement<'a> {
    total: Counts,
    by_category: BTreeMap<&'a str, Counts>,
    /// Failures no entry excuses.
    unexcused: Vec<&'a CheckLine>,
    excused: usize,
    /// Indexes of the allowlist entries that excused something.
    used: BTreeSet<usize>,
    /// Indexes of the allowlist entries naming a check that ran, whatever its outcome.
    seen: BTreeSet<usize>,
}

fn judge<'a>(lines: &'a [CheckLine], allowlist: &Allowlist) -> Judgement<'a> {
    let mut judgement = Judgement::default();
    for line in lines {
        judgement.total.add(&line.outcome);
        judgement
            .by_category
            .entry(line.category.as_str())
            .or_default()
            .add(&line.outcome);
        let entry = allowlist.excuse(&line.id);
        judgement.seen.extend(entry);
        if line.outcome == "pass" || line.outcome == "skip" {
            continue;
        }
        match entry {
            Some(entry) => {
                judgement.excused += 1;
                judgement.used.insert(entry);
            }
            None => judgement.unexcused.push(line),
        }
    }
    judgement
}

fn report(
    runs: &[(&str, Result<Vec<CheckLine>, String>)],
    allowlist: &Allowlist,
) -> Result<(), String> {
    let mut broken = Vec::new();
    let mut unexcused = 0;
    let mut used = BTreeSet::new();
    let mut seen = BTreeSet::new();
    for (label, outcome) in runs {
        let lines = match outcome {
            Ok(lines) => lines,
            Err(e) => {
                println!("conformance [{label}]: did not run: {e}");
                broken.push(*label);
                continue;
            }
        };
        let judgement = judge(lines, allowlist);
        let Counts { pass, fail, skip } = judgement.total;
        println!(
            "conformance [{label}]: {} results: {pass} pass, {fail} fail ({} allowlisted), {skip} skip",
            lines.len(),
            judgement.excused
        );
        let width = judgement
            .by_category
            .keys()
            .map(|c| c.len())
            .max()
            .unwrap_or(0);
        for (category, counts) in &judgement.by_category {
            println!(
                "  {category:<width$}  {:>4} pass  {:>4} fail  {:>4} skip",
                counts.pass, counts.fail, counts.skip
            );
        }
        for line in judgement.unexcused.iter().take(SHOWN_FAILURES) {
            println!(
                "  FAIL {}: {}",
                line.id,
                one_line(line.reason.as_deref().unwrap_or(""))
            );
        }
        if judgement.unexcused.len() > SHOWN_FAILURES {
            println!(
                "  … and {} more failures in target/conformance/{label}.jsonl",
                judgement.unexcused.len() - SHOWN_FAILURES
            );
        }
        unexcused += judgement.unexcused.len();
        used.extend(judgement.used);
        seen.extend(judgement.seen);
    }
    // Staleness only means something once every backend has run.
    if broken.is_empty() {
        for (index, entry) in allowlist.entries.iter().enumerate() {
            if used.contains(&index) {
                continue;
            }
            let state = if seen.contains(&index) {
                "no longer fails: remove it"
            } else {
                "names no check that ran: misspelt, or its check was not reached"
            };
            println!(
                "warning: conformance/allowlist.txt:{}: `{}` {state} ({})",
                entry.line, entry.id, entry.why
            );
        }
    }
    match (broken.is_empty(), unexcused) {
        (true, 0) => Ok(()),
        (true, n) => Err(format!(
            "conformance: {n} failing checks are not in conformance/allowlist.txt \
             (details in target/conformance/*.jsonl)"
        )),
        (false, _) => Err(format!(
            "conformance: the checker did not run on {}",
            broken.join(", ")
        )),
    }
}

/// The first line of a reason, cut to a terminal line's worth.
fn one_line(text: &str) -> String {
    let first = text.lines().next().unwrap_or("");
    let mut short: String = first.chars().take(160).collect();
    if short.len() < first.len() || text.lines().nth(1).is_some() {
        short.push('…');
    }
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: &str, category: &str, outcome: &str) -> CheckLine {
        CheckLine {
            id: id.into(),
            category: category.into(),
            outcome: outcome.into(),
            reason: Some(format!("{id} {outcome}")),
        }
    }

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn options_default_to_both_backends() {
        let options = Options::parse(&[]).unwrap();
        assert_eq!(options.backends, [Backend::Sqlite, Backend::Postgres]);
        assert_eq!(options.external, None);
        assert_eq!(options.checker_timeout, DEFAULT_CHECKER_TIMEOUT);
    }

    #[test]
    fn options_pick_backends_and_timeout() {
        let picked = [
            "--backend",
            "postgres",
            "--timeout",
            "60",
            "--backend",
            "sqlite",
        ];
        let mut list = args(&picked);
        list.extend(args(&["--backend", "postgres"]));
        let options = Options::parse(&list).unwrap();
        assert_eq!(options.backends, [Backend::Postgres, Backend::Sqlite]);
        assert_eq!(options.checker_timeout, Duration::from_secs(60));
    }

    #[test]
    fn options_refuse_nonsense() {
        for bad in [
            &["--backend", "mysql"][..],
            &["--backend"],
            &["--timeout", "0"],
            &["--timeout", "soon"],
            &["--token", "t"],
            &["--url", "http://127.0.0.1:1/scim/v2", "--backend", "sqlite"],
            &[
                "--url",
                "http://127.0.0.1:1/scim/v2",
                "--scimd",
                "target/release/scimd",
            ],
            &["--verbose"],
        ] {
            assert!(Options::parse(&args(bad)).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn options_take_an_external_server() {
        let options =
            Options::parse(&args(&["--url", "http://h/scim/v2", "--token", "t"])).unwrap();
        assert_eq!(
            options.external,
            Some(External {
                url: "http://h/scim/v2".into(),
                token: Some("t".into())
            })
        );
    }

    #[test]
    fn fnv1a64_matches_the_reference_values() {
        assert_eq!(fnv1a64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn with_database_replaces_only_the_path() {
        assert_eq!(
            with_database(LOCAL_POSTGRES, "scim_conformance_1"),
            "postgres://postgres@127.0.0.1:5432/scim_conformance_1?connect_timeout=3"
        );
        assert_eq!(
            with_database("postgres://u:p@db.local:6543/admin", "x"),
            "postgres://u:p@db.local:6543/x"
        );
        assert_eq!(with_database("postgresql://u@h", "x"), "postgresql://u@h/x");
        assert_eq!(
            with_database("postgres://u@h/?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
    }

    #[test]
    fn allowlist_parses_entries_with_reasons() {
        let list = Allowlist::parse(
            "# header comment\n\n\
             Group/object_creation  # Groups arrive in issue 5\n\
             User/check_add_attribute[x509Certificates] # binary values later\n",
        )
        .unwrap();
        assert_eq!(
            list.entries,
            [
                AllowEntry {
                    id: "Group/object_creation".into(),
                    why: "Groups arrive in issue 5".into(),
                    line: 3
                },
                AllowEntry {
                    id: "User/check_add_attribute[x509Certificates]".into(),
                    why: "binary values later".into(),
                    line: 4
                },
            ]
        );
    }

    #[test]
    fn allowlist_requires_a_reason_and_unique_entries() {
        let err = Allowlist::parse("random_url\n").unwrap_err();
        assert!(err.starts_with("1:"), "{err}");
        assert!(Allowlist::parse("random_url #\n").is_err());
        assert!(Allowlist::parse("a b # two ids\n").is_err());
        let err = Allowlist::parse("random_url # one\nrandom_url # two\n").unwrap_err();
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn an_entry_without_qualifier_covers_every_attribute() {
        let list = Allowlist::parse(
            "User/check_add_attribute # all of them\nUser/check_remove_attribute[title] # one\n",
        )
        .unwrap();
        assert_eq!(list.excuse("User/check_add_attribute[nickName]"), Some(0));
        assert_eq!(list.excuse("User/check_add_attribute"), Some(0));
        assert_eq!(list.excuse("User/check_remove_attribute[title]"), Some(1));
        assert_eq!(list.excuse("User/check_remove_attribute[nickName]"), None);
        assert_eq!(list.excuse("Group/check_add_attribute[displayName]"), None);
    }

    #[test]
    fn judge_counts_per_category_and_applies_the_allowlist() {
        let list = Allowlist::parse(
            "Group/object_creation # Groups arrive in issue 5\nrandom_url # stale\n",
        )
        .unwrap();
        let lines = [
            line("query_all_schemas", "discovery:schemas", "pass"),
            line("User/object_creation", "crud:create", "pass"),
            line("Group/object_creation", "crud:create", "fail"),
            line("User/check_add_attribute[title]", "patch:add", "fail"),
            line("User/check_add_attribute[x]", "patch:add", "skip"),
            line("User/odd", "patch:add", "unknown-outcome"),
        ];
        let judgement = judge(&lines, &list);
        assert_eq!(
            judgement.total,
            Counts {
                pass: 2,
                fail: 3,
                skip: 1
            }
        );
        assert_eq!(
            judgement.by_category["crud:create"],
            Counts {
                pass: 1,
                fail: 1,
                skip: 0
            }
        );
        assert_eq!(
            judgement.by_category["patch:add"],
            Counts {
                pass: 0,
                fail: 2,
                skip: 1
            }
        );
        assert_eq!(judgement.excused, 1);
        let unexcused: Vec<&str> = judgement.unexcused.iter().map(|l| l.id.as_str()).collect();
        assert_eq!(unexcused, ["User/check_add_attribute[title]", "User/odd"]);
        assert_eq!(judgement.used, BTreeSet::from([0]));
        // Entry 1 excused nothing and named nothing that ran: `report` warns of it.
        assert_eq!(judgement.seen, BTreeSet::from([0]));
    }

    #[test]
    fn judge_tells_passing_entries_from_unknown_ones() {
        let list = Allowlist::parse("random_url # fixed since\nrandom_ur # misspelt\n").unwrap();
        let lines = [line("random_url", "misc", "pass")];
        let judgement = judge(&lines, &list);
        assert!(judgement.used.is_empty());
        assert_eq!(judgement.seen, BTreeSet::from([0]));
    }

    #[test]
    fn report_fails_on_unexcused_failures_and_broken_runs() {
        let list = Allowlist::parse("Group/object_creation # Groups arrive in issue 5\n").unwrap();
        let excused = || Ok(vec![line("Group/object_creation", "crud:create", "fail")]);
        assert!(report(&[("sqlite", excused()), ("postgres", excused())], &list).is_ok());

        let failing = Ok(vec![line("User/object_creation", "crud:create", "fail")]);
        assert!(report(&[("sqlite", excused()), ("postgres", failing)], &list).is_err());

        let broken = Err("scimd exited".to_owned());
        assert!(report(&[("sqlite", excused()), ("postgres", broken)], &list).is_err());
    }

    #[test]
    fn parse_results_reads_the_driver_output() {
        let text = "{\"id\": \"random_url\", \"category\": \"misc\", \"tags\": [\"misc\"], \
                    \"status\": \"success\", \"outcome\": \"pass\", \"reason\": null}\n\n";
        let lines = parse_results(text).unwrap();
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].id, "random_url");
        assert_eq!(lines[0].reason, None);
        assert!(parse_results("").is_err());
        assert!(parse_results("Traceback (most recent call last):\n").is_err());
    }

    #[test]
    fn one_line_keeps_the_first_line_and_marks_cuts() {
        assert_eq!(one_line("short"), "short");
        assert_eq!(one_line("first\nsecond"), "first…");
        assert_eq!(one_line(&"x".repeat(200)).chars().count(), 161);
    }
}
