//! Child processes under a time bound: every program xtask starts, apart from cargo, is waited
//! for at most a given time and killed after it, so no command can hang a run.

use std::env;
use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// The program and its arguments, without the environment (which may carry the token).
pub(crate) fn describe(cmd: &Command) -> String {
    let mut shown = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        shown.push(' ');
        shown.push_str(&arg.to_string_lossy());
    }
    shown
}

/// Runs `cmd` like [`run_quiet`], saying first what it runs.
pub(crate) fn run_bounded(cmd: &mut Command, timeout: Duration) -> Result<Output, String> {
    eprintln!("xtask: running {}", describe(cmd));
    run_quiet(cmd, timeout)
}

/// Runs `cmd` to completion with its output captured, killing it after `timeout`.
pub(crate) fn run_quiet(cmd: &mut Command, timeout: Duration) -> Result<Output, String> {
    let shown = describe(cmd);
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("could not start `{shown}`: {e}"))?;
    // Drained on threads so a chatty child cannot fill a pipe and stall.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        pipe.map(|mut pipe| {
            thread::spawn(move || {
                let mut bytes = Vec::new();
                let _ = pipe.read_to_end(&mut bytes);
                bytes
            })
        })
    };
    let stdout = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let stderr = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    // On a timeout the readers are left behind: a grandchild may still hold the pipes.
    let status = wait_bounded(&mut child, timeout).map_err(|e| format!("`{shown}` {e}"))?;
    let collect = |reader: Option<thread::JoinHandle<Vec<u8>>>| {
        reader.and_then(|r| r.join().ok()).unwrap_or_default()
    };
    Ok(Output {
        status,
        stdout: collect(stdout),
        stderr: collect(stderr),
    })
}

/// Runs `cmd` with its output appended to `log`, killing it after `timeout`.
pub(crate) fn run_logged(cmd: &mut Command, timeout: Duration, log: &Path) -> Result<(), String> {
    let shown = describe(cmd);
    eprintln!("xtask: running {shown}");
    let open = || {
        File::options()
            .create(true)
            .append(true)
            .open(log)
            .map_err(|e| format!("cannot open {}: {e}", log.display()))
    };
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(open()?)
        .stderr(open()?)
        .spawn()
        .map_err(|e| format!("could not start `{shown}`: {e}"))?;
    let status = wait_bounded(&mut child, timeout).map_err(|e| format!("`{shown}` {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{shown}` failed with {status}"))
    }
}

/// Waits for `child` to exit, killing it after `timeout`.
pub(crate) fn wait_bounded(child: &mut Child, timeout: Duration) -> Result<ExitStatus, String> {
    let deadline = Instant::now() + timeout;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(50)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "timed out after {} s and was killed",
                    timeout.as_secs()
                ));
            }
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("could not be waited for: {e}"));
            }
        }
    }
}

/// The last `count` lines of a log file, indented, for an error message.
pub(crate) fn tail(path: &Path, count: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    if text.trim().is_empty() {
        return "    (nothing)".into();
    }
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(count);
    lines[start..]
        .iter()
        .map(|line| format!("    {line}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first file named `program` in a directory of `PATH`.
pub(crate) fn on_path(program: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}

/// `Ok` when `output` is a success, else an error with its stderr, naming it `what`.
pub(crate) fn expect_success(output: &Output, what: &str) -> Result<(), String> {
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "`{what}` failed with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_leaves_the_environment_out() {
        let mut cmd = Command::new("python3");
        cmd.args(["driver.py", "--url", "http://h"])
            .env("SCIM_CONFORMANCE_TOKEN", "secret");
        assert_eq!(describe(&cmd), "python3 driver.py --url http://h");
    }

    #[test]
    fn run_quiet_kills_what_overstays() {
        let started = Instant::now();
        let err =
            run_quiet(Command::new("sleep").arg("30"), Duration::from_millis(200)).unwrap_err();
        assert!(err.contains("timed out"), "{err}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn run_quiet_captures_both_streams() {
        let output = run_quiet(
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            Duration::from_secs(10),
        )
        .unwrap();
        assert_eq!(output.status.code(), Some(3));
        assert_eq!(output.stdout, b"out\n");
        assert_eq!(output.stderr, b"err\n");
    }
}
