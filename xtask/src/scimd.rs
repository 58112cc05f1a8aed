//! The `scimd` binary as xtask's commands use it: built by cargo, served on a loopback port,
//! waited for until it answers HTTP, and killed when no longer needed.

use std::fs::File;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::process::{describe, tail};

/// How long `scimd serve` may take to answer HTTP once started.
const SERVER_START: Duration = Duration::from_secs(30);

/// A database backend `scimd` runs on, as xtask's commands name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// How `--backend` spells it, and file names use it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// How reports show it.
    pub(crate) fn label(self) -> &'static str {
        match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        }
    }

    /// The backend `--backend` names.
    pub(crate) fn parse(name: &str) -> Option<Backend> {
        match name {
            "sqlite" => Some(Backend::Sqlite),
            "postgres" => Some(Backend::Postgres),
            _ => None,
        }
    }
}

/// The cargo profile to build `scimd` with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Profile {
    /// Quick to build: enough to check behaviour.
    Debug,
    /// What operators run: needed where speed and timing matter.
    Release,
}

/// Builds `scimd` with `profile` and returns the binary's path.
pub(crate) fn build(profile: Profile) -> Result<PathBuf, String> {
    if !crate::root().join("crates/scimd/Cargo.toml").is_file() {
        return Err("crates/scimd does not exist yet, so there is no server to run".into());
    }
    let mut build = crate::cargo();
    match profile {
        // The Dockerfile's build stage runs the same (`deploy::RELEASE_BUILD`, tested there).
        Profile::Release => build.args(crate::deploy::RELEASE_BUILD),
        Profile::Debug => build.args(["build", "--package", "scimd"]),
    };
    // Unbounded like every cargo call of xtask: a cold build on a busy machine has no useful
    // upper bound, and cargo itself never waits on the network or the server.
    crate::run(build)?;
    let dir = match profile {
        Profile::Debug => "debug",
        Profile::Release => "release",
    };
    let binary = crate::target_dir().join(dir).join("scimd");
    if binary.is_file() {
        Ok(binary)
    } else {
        Err(format!(
            "cargo built scimd but {} is missing",
            binary.display()
        ))
    }
}

/// A running `scimd serve`, killed when dropped.
pub(crate) struct Server {
    child: Child,
    log: PathBuf,
}

impl Server {
    /// Starts `scimd serve` on 127.0.0.1:`port` against `url`, with `extra` serve flags, its
    /// stdout and stderr going to `log`.
    pub(crate) fn start(
        scimd: &Path,
        dir: &Path,
        port: u16,
        url: &str,
        extra: &[&str],
        log: &Path,
    ) -> Result<Server, String> {
        let listen = format!("127.0.0.1:{port}");
        let mut cmd = Command::new(scimd);
        cmd.current_dir(dir)
            .args(["serve", "--listen", &listen, "--database-url", url])
            .args(extra);
        eprintln!("xtask: running {}", describe(&cmd));
        let out = File::create(log).map_err(|e| format!("cannot create {}: {e}", log.display()))?;
        let err = out
            .try_clone()
            .map_err(|e| format!("cannot share {}: {e}", log.display()))?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .map_err(|e| format!("could not start {}: {e}", scimd.display()))?;
        Ok(Server {
            child,
            log: log.to_path_buf(),
        })
    }

    /// Polls until the server answers HTTP, it dies, or [`SERVER_START`] passes.
    pub(crate) fn wait_until_ready(&mut self, port: u16, token: &str) -> Result<(), String> {
        let deadline = Instant::now() + SERVER_START;
        loop {
            self.still_running()?;
            if answers_http(port, token) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "scimd did not answer on 127.0.0.1:{port} within {} s; last lines of {}:\n{}",
                    SERVER_START.as_secs(),
                    self.log.display(),
                    tail(&self.log, 20)
                ));
            }
            thread::sleep(Duration::from_millis(200));
        }
    }

    /// The most resident memory the server has used so far (`VmHWM`), in KiB; `None` where
    /// `/proc` does not say.
    pub(crate) fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status.lines().find_map(|line| {
            line.strip_prefix("VmHWM:")?
                .trim()
                .strip_suffix("kB")?
                .trim()
                .parse()
                .ok()
        })
    }

    pub(crate) fn still_running(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!(
                "scimd exited with {status}; last lines of {}:\n{}",
                self.log.display(),
                tail(&self.log, 20)
            )),
            Err(e) => Err(format!("cannot watch scimd: {e}")),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Whether something answers an HTTP request for the service provider configuration.
pub(crate) fn answers_http(port: u16, token: &str) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_secs(1)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(2)));
    let request = format!(
        "GET /scim/v2/ServiceProviderConfig HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\
         Authorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    let mut head = [0_u8; 7];
    stream.write_all(request.as_bytes()).is_ok()
        && stream.read_exact(&mut head).is_ok()
        && head == *b"HTTP/1."
}

/// A port nothing listens on right now. Another process could take it before scimd binds
/// it; scimd then exits and the run says so, which is rare enough not to retry.
pub(crate) fn free_port() -> Result<u16, String> {
    TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| format!("cannot find a free port on 127.0.0.1: {e}"))
}
