//! Finding (or starting) a PostgreSQL server for tests, the migrated template, and the
//! per-test databases cloned from it.

use std::collections::hash_map::DefaultHasher;
use std::fs::{self, File};
use std::hash::{Hash, Hasher};
use std::net::TcpListener;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use diesel::connection::SimpleConnection;
use diesel::sql_types::{BigInt, Text};
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};
use scim_store::{PoolConfig, Store};

type Error = Box<dyn std::error::Error + Send + Sync>;

const LOCAL_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres?connect_timeout=3";
/// One-key advisory lock guarding the template's creation (the store's own locks use the
/// two-key space or other keys).
const TEMPLATE_LOCK: i64 = 0x5C1E_7E57_0000_0001;

/// The admin URL of a server the tests can create databases on, found once per process.
pub(crate) fn server() -> Result<&'static str, &'static str> {
    static SERVER: OnceLock<Result<String, String>> = OnceLock::new();
    SERVER
        .get_or_init(|| {
            let url = find_server()?;
            ensure_template(&url)
                .map_err(|e| format!("cannot build the template database: {e}"))?;
            Ok(url)
        })
        .as_deref()
        .map_err(String::as_str)
}

fn find_server() -> Result<String, String> {
    let mut tried = Vec::new();
    if let Ok(url) = std::env::var("SCIM_TEST_DATABASE_URL") {
        match PgConnection::establish(&url) {
            Ok(_) => return Ok(url),
            Err(e) => {
                eprintln!(
                    "scim-test-db: SCIM_TEST_DATABASE_URL does not answer ({e}); trying others"
                );
                tried.push(format!("SCIM_TEST_DATABASE_URL: {e}"));
            }
        }
    }
    if std::env::var("SCIM_TEST_SKIP_LOCAL_POSTGRES").as_deref() == Ok("1") {
        tried.push("127.0.0.1:5432: skipped (SCIM_TEST_SKIP_LOCAL_POSTGRES=1)".into());
    } else {
        match PgConnection::establish(LOCAL_URL) {
            Ok(_) => return Ok(LOCAL_URL.to_owned()),
            Err(e) => tried.push(format!("127.0.0.1:5432 as postgres: {e}")),
        }
    }
    match throwaway_cluster() {
        Ok(url) => return Ok(url),
        Err(e) => tried.push(format!(
            "a throwaway cluster in {}: {e}",
            cluster_dir().display()
        )),
    }
    Err(format!(
        "no PostgreSQL server for the tests. Tried:\n  - {}\nInstall PostgreSQL (e.g. `apt-get \
         install postgresql`: its initdb and pg_ctl are enough, the tests start their own \
         cluster), or set SCIM_TEST_DATABASE_URL=postgres://USER@HOST:PORT/DB to a server where \
         USER may CREATE DATABASE.",
        tried.join("\n  - ")
    ))
}

fn cluster_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/pg-test")
}

/// Starts (or reuses) the throwaway cluster and returns its admin URL.
fn throwaway_cluster() -> Result<String, Error> {
    let bin = pg_bin_dir()
        .ok_or("initdb and pg_ctl are not on PATH nor under /usr/lib/postgresql/*/bin")?;
    let dir = cluster_dir();
    fs::create_dir_all(&dir)?;
    let dir = dir.canonicalize()?;
    // Every test process of every crate shares the cluster: one of them creates or starts it.
    let lock = File::create(dir.join("lock"))?;
    lock.lock()?;

    let port_file = dir.join("port");
    if let Ok(port) = fs::read_to_string(&port_file) {
        let url = cluster_url(port.trim());
        if PgConnection::establish(&url).is_ok() {
            return Ok(url);
        }
    }

    let as_root = fs::metadata("/proc/self")?.uid() == 0;
    let data = dir.join("data");
    let socket_dir = dir.join("socket");
    fs::create_dir_all(&socket_dir)?;
    if as_root {
        // initdb and postgres refuse to run as root: the cluster belongs to `postgres`.
        run(Command::new("chown").arg("-R").arg("postgres:").arg(&dir))?;
    }
    if !data.join("PG_VERSION").exists() {
        let _ = fs::remove_dir_all(&data);
        let mut initdb = pg_command(&bin, "initdb", as_root);
        initdb.arg("-D").arg(&data).args([
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        ]);
        run(&mut initdb)?;
    } else {
        // A cluster that is not answering on its recorded port: stop whatever is left of it.
        let mut stop = pg_command(&bin, "pg_ctl", as_root);
        stop.arg("stop")
            .arg("-D")
            .arg(&data)
            .args(["-m", "immediate"]);
        let _ = stop.output();
    }

    let port = free_port()?;
    let mut start = pg_command(&bin, "pg_ctl", as_root);
    start
        .arg("start")
        .arg("-D")
        .arg(&data)
        .arg("-l")
        .arg(dir.join("log"))
        .args(["-w", "-t", "60", "-o"])
        // fsync off: a test cluster trades durability for speed.
        .arg(format!(
            "-p {port} -k '{}' -c listen_addresses=127.0.0.1 -F",
            socket_dir.display()
        ));
    run(&mut start)?;
    fs::write(&port_file, port.to_string())?;
    Ok(cluster_url(&port.to_string()))
}

fn cluster_url(port: &str) -> String {
    format!("postgres://postgres@127.0.0.1:{port}/postgres?connect_timeout=3")
}

fn pg_bin_dir() -> Option<PathBuf> {
    let has_tools = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(path) = std::env::var_os("PATH") {
        if let Some(dir) = std::env::split_paths(&path).find(|dir| has_tools(dir)) {
            return Some(dir);
        }
    }
    let mut versions: Vec<PathBuf> = fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|entry| entry.ok().map(|e| e.path().join("bin")))
        .filter(|dir| has_tools(dir))
        .collect();
    // The newest version: directories are named by major version.
    versions.sort_by_key(|dir| {
        dir.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
    });
    versions.pop()
}

fn pg_command(bin: &Path, tool: &str, as_root: bool) -> Command {
    if as_root {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(bin.join(tool));
        command
    } else {
        Command::new(bin.join(tool))
    }
}

fn run(command: &mut Command) -> Result<(), Error> {
    let output = command.output()?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{:?} failed ({}): {}{}",
            command,
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
        .into())
    }
}

fn free_port() -> Result<u16, Error> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// `url` with its database name replaced by `database`.
pub(crate) fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{database}?{query}"),
        None => format!("{base}/{database}"),
    }
}

/// The template's name: one per content of the PostgreSQL migrations, so a changed migration
/// gets a new template and an unchanged one is reused across runs and test binaries.
fn template_name() -> Result<String, Error> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations/postgres");
    let mut files = Vec::new();
    let mut pending = vec![root.clone()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                pending.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut hasher = DefaultHasher::new();
    for file in files {
        file.strip_prefix(&root)?.hash(&mut hasher);
        fs::read(&file)?.hash(&mut hasher);
    }
    Ok(format!("scim_template_{:016x}", hasher.finish()))
}

#[derive(QueryableByName)]
struct Found {
    #[diesel(sql_type = BigInt)]
    found: i64,
}

fn database_exists(conn: &mut PgConnection, name: &str) -> Result<bool, Error> {
    let row: Found =
        diesel::sql_query("SELECT COUNT(*) AS found FROM pg_database WHERE datname = $1")
            .bind::<Text, _>(name)
            .get_result(conn)?;
    Ok(row.found > 0)
}

/// Creates the migrated template if it does not exist, under an advisory lock so concurrent
/// test processes build it once. It is built under a temporary name and renamed when complete,
/// so a process that died half-way leaves nothing that looks finished.
fn ensure_template(admin_url: &str) -> Result<(), Error> {
    let template = template_name()?;
    let mut admin = PgConnection::establish(admin_url)?;
    diesel::sql_query("SELECT pg_advisory_lock($1)")
        .bind::<BigInt, _>(TEMPLATE_LOCK)
        .execute(&mut admin)?;
    let result = build_template(&mut admin, admin_url, &template);
    let _ = diesel::sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<BigInt, _>(TEMPLATE_LOCK)
        .execute(&mut admin);
    result
}

fn build_template(admin: &mut PgConnection, admin_url: &str, template: &str) -> Result<(), Error> {
    if database_exists(admin, template)? {
        return Ok(());
    }
    let building = format!("{template}_building");
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {building}"))?;
    admin.batch_execute(&format!("CREATE DATABASE {building}"))?;
    {
        let config = PoolConfig {
            max_size: 1,
            ..PoolConfig::default()
        };
        let store = Store::connect(&with_database(admin_url, &building), config)?;
        store.migrate()?;
    }
    // The comment dates the template, so that other checkouts (with other migrations) sharing
    // this server leave it alone while it may still be in use (see `drop_stale_templates`).
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    admin.batch_execute(&format!(
        "ALTER DATABASE {building} RENAME TO {template}; \
         ALTER DATABASE {template} WITH IS_TEMPLATE true; \
         COMMENT ON DATABASE {template} IS 'built {now}'"
    ))?;
    drop_stale_templates(admin, template);
    Ok(())
}

/// How long a template of other migrations is kept: another checkout on the same server (a
/// second branch, a worktree) may still be cloning it.
const TEMPLATE_KEEP: Duration = Duration::from_secs(24 * 60 * 60);

/// Best effort: drops the templates of other migrations built more than [`TEMPLATE_KEEP`] ago,
/// so they do not pile up. One still being cloned cannot be dropped and is left for a later
/// run.
fn drop_stale_templates(admin: &mut PgConnection, current: &str) {
    let Ok(templates) = diesel::sql_query(
        "SELECT datname::text AS name, shobj_description(oid, 'pg_database') AS built \
         FROM pg_database WHERE datname LIKE 'scim\\_template\\_%' AND datname <> $1",
    )
    .bind::<Text, _>(current)
    .load::<Template>(admin) else {
        return;
    };
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    for Template { name, built } in templates {
        // Undated templates predate the dating: old enough.
        let built = built
            .as_deref()
            .and_then(|comment| comment.strip_prefix("built "))
            .and_then(|secs| secs.parse::<u64>().ok())
            .unwrap_or(0);
        if now.saturating_sub(built) < TEMPLATE_KEEP.as_secs() {
            continue;
        }
        // Two statements: DROP DATABASE refuses to run in the implicit transaction of a
        // multi-statement query.
        let _ = admin
            .batch_execute(&format!("ALTER DATABASE {name} WITH IS_TEMPLATE false"))
            .and_then(|()| admin.batch_execute(&format!("DROP DATABASE {name}")));
    }
}

#[derive(QueryableByName)]
struct Template {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<Text>)]
    built: Option<String>,
}

/// Creates a new database from the template and returns its name.
pub(crate) fn create_database(admin_url: &str) -> Result<String, Error> {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let template = template_name()?;
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let name = format!(
        "scim_t_{}_{}_{nanos:09}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin = PgConnection::establish(admin_url)?;
    // Cloning fails while another session is connected to the template — only ever briefly, for
    // an in-flight clone on some servers: retry.
    let mut attempt = 0;
    loop {
        match admin.batch_execute(&format!("CREATE DATABASE {name} TEMPLATE {template}")) {
            Ok(()) => return Ok(name),
            Err(e) if attempt < 20 && e.to_string().contains("being accessed by other users") => {
                attempt += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => return Err(e.into()),
        }
    }
}

/// Drops a test database, ending any session still on it.
pub(crate) fn drop_database(admin_url: &str, database: &str) -> Result<(), Error> {
    let mut admin = PgConnection::establish(admin_url)?;
    // WITH (FORCE) is PostgreSQL 13+; older servers get the plain form.
    if admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
        .is_err()
    {
        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {database}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_the_database_name_of_a_url() {
        assert_eq!(
            with_database("postgres://u@h:5432/postgres?connect_timeout=3", "t1"),
            "postgres://u@h:5432/t1?connect_timeout=3"
        );
        assert_eq!(with_database("postgres://u@h", "t1"), "postgres://u@h/t1");
        assert_eq!(
            with_database("postgresql://h/db", "t2"),
            "postgresql://h/t2"
        );
    }
}
