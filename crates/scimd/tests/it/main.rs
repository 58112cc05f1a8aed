//! Tests of the built `scimd` binary against a temporary SQLite file: the commands, and a
//! started server answering over HTTP. Every wait is bounded; every server is killed.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "in a test helper as in a test, a failed step fails the test"
)]

mod admin;
mod config;
mod console;
mod host;
mod operator;
mod serve;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// How long anything may take before a test gives up.
const PATIENCE: Duration = Duration::from_secs(60);

/// A scratch directory with the database URL `scimd` is pointed at.
pub(crate) struct Scratch {
    pub(crate) dir: TempDir,
    pub(crate) url: String,
}

impl Scratch {
    pub(crate) fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("scimd-test-")
            .tempdir()
            .unwrap();
        let url = format!(
            "sqlite://{}",
            dir.path().join("db").join("scim.db").display()
        );
        Scratch { dir, url }
    }

    /// `scimd` with this scratch's database, in its directory, with no `SCIM_*` variable
    /// inherited from the environment running the tests.
    pub(crate) fn scimd(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_scimd"));
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("SCIM_") {
                cmd.env_remove(key);
            }
        }
        cmd.env("SCIM_DATABASE_URL", &self.url)
            .current_dir(self.dir.path())
            .stdin(Stdio::null());
        cmd
    }

    /// Runs `scimd args…` to completion; asserts it succeeded; returns stdout.
    pub(crate) fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "scimd {args:?} failed: {}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// Runs `scimd args…` to completion; asserts it failed; returns stderr.
    pub(crate) fn fails(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            !output.status.success(),
            "scimd {args:?} succeeded: {}",
            String::from_utf8_lossy(&output.stdout)
        );
        String::from_utf8(output.stderr).unwrap()
    }

    pub(crate) fn run(&self, args: &[&str]) -> Output {
        self.scimd().args(args).output().unwrap()
    }
}

/// Whether `s` is exactly one token: `scim_` + 16 + `_` + 43 base62 characters.
pub(crate) fn is_token(s: &str) -> bool {
    let Some(rest) = s.strip_prefix("scim_") else {
        return false;
    };
    let Some((id, secret)) = rest.split_once('_') else {
        return false;
    };
    id.len() == 16
        && secret.len() == 43
        && id
            .bytes()
            .chain(secret.bytes())
            .all(|b| b.is_ascii_alphanumeric())
}

/// A port nothing listens on right now.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `scimd serve`, killed when dropped.
pub(crate) struct Server {
    child: Child,
    pub(crate) port: u16,
    stdout: Receiver<String>,
    /// Lines already taken from `stdout`.
    seen: Mutex<Vec<String>>,
    stdout_reader: Option<JoinHandle<()>>,
    stderr: Arc<Mutex<String>>,
}

impl Server {
    /// Starts `scimd serve` on a free port with `extra` arguments and waits until /healthz
    /// answers.
    pub(crate) fn start(scratch: &Scratch, extra: &[&str]) -> Server {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut child = scratch
            .scimd()
            .args(["serve", "--listen", &listen, "--workers", "1"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (lines, stdout) = mpsc::channel();
        let out = child.stdout.take().unwrap();
        let stdout_reader = std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if lines.send(line).is_err() {
                    break;
                }
            }
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let sink = Arc::clone(&stderr);
        let mut err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let mut server = Server {
            child,
            port,
            stdout,
            seen: Mutex::new(Vec::new()),
            stdout_reader: Some(stdout_reader),
            stderr,
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("scimd serve exited early ({status}):\n{}", self.stderr());
            }
            if get(self.port, "/healthz", None).is_some_and(|(status, _)| status == 200) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "scimd serve did not answer in time:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// What the server wrote to stderr so far.
    pub(crate) fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// The first token the server printed, waiting for the line a bounded time.
    pub(crate) fn printed_token(&self) -> Option<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.stdout.recv_timeout(left) {
                Ok(line) => {
                    let token = line
                        .split_whitespace()
                        .find(|w| is_token(w))
                        .map(str::to_owned);
                    self.seen.lock().unwrap().push(line);
                    if token.is_some() {
                        return token;
                    }
                }
                Err(_) => return None,
            }
        }
        None
    }

    /// A GET against the server; `(status, body)`.
    pub(crate) fn get(&self, path: &str, token: Option<&str>) -> (u16, String) {
        get(self.port, path, token).expect("the server answers")
    }

    /// SIGTERM, then waits (bounded) for a clean exit; returns the exit status and everything
    /// it printed on stdout.
    pub(crate) fn stop(mut self) -> (ExitStatus, String) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "scimd serve did not stop on SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(50));
        };
        if let Some(reader) = self.stdout_reader.take() {
            reader.join().unwrap();
        }
        let mut printed = std::mem::take(&mut *self.seen.lock().unwrap());
        printed.extend(self.stdout.try_iter());
        (status, printed.join("\n"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `GET path` on 127.0.0.1:`port` over HTTP/1.1; `None` if nothing answers.
pub(crate) fn get(port: u16, path: &str, token: Option<&str>) -> Option<(u16, String)> {
    request(port, "GET", path, token, None)
}

/// `method path` on 127.0.0.1:`port` over HTTP/1.1, with a SCIM JSON body if given; `None` if
/// nothing answers.
pub(crate) fn request(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Option<(u16, String)> {
    exchange(port, method, path, token, body).map(|reply| (reply.status, reply.body))
}

/// An HTTP answer: its status, its header lines (names lower-cased) and its body.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Reply {
    /// The first value of header `name` (lower case).
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// `method path` on 127.0.0.1:`port`, the whole answer; `None` if nothing answers.
pub(crate) fn exchange(
    port: u16,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&str>,
) -> Option<Reply> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .ok()?;
    stream
        .set_write_timeout(Some(Duration::from_secs(5)))
        .ok()?;
    let auth = token.map_or_else(String::new, |t| format!("Authorization: Bearer {t}\r\n"));
    let content = body.map_or_else(String::new, |body| {
        format!(
            "Content-Type: application/scim+json\r\nContent-Length: {}\r\n",
            body.len()
        )
    });
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{auth}{content}\
         Connection: close\r\n\r\n{}",
        body.unwrap_or_default()
    )
    .ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let status = response.split_whitespace().nth(1)?.parse().ok()?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or((response.as_str(), ""));
    let headers = head
        .lines()
        .skip(1)
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    Some(Reply {
        status,
        headers,
        body: body.to_owned(),
    })
}
