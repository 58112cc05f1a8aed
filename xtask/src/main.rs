//! Project automation, run as `cargo xtask <command>`.
//!
//! It shells out to cargo and friends and knows nothing of the crates' insides; every command
//! prints what it runs so a failure can be reproduced by hand.

mod conformance;

use std::env;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  ci      format check, clippy with warnings denied, every test of the workspace, and the
          conformance run below on both backends
  fuzz    build the cargo-fuzz targets under fuzz/ (installs cargo-fuzz if missing);
          `cargo xtask fuzz run [TARGET] [SECONDS]` runs one (default filter_parse, 60 s);
          `cargo xtask fuzz hostile [CASES]` runs scim-server's hostile-input suite with
          CASES generated requests per backend (default 100000; SCIM_HOSTILE_SEED=text for
          another seed)
  bench   prints the speed of filter parsing and evaluation and of store writes and lookups
          on SQLite and PostgreSQL (a release build; figures, never pass/fail)
  conformance
          the public SCIM checker scim2-tester against scimd on SQLite and on PostgreSQL;
          `--backend sqlite|postgres` (repeatable) picks backends, `--timeout SECS` bounds
          each checker run (default 900), `--scimd PATH` uses that binary instead of building
          one, `--url URL [--token TOKEN]` checks a server that is already running (the
          token may come from SCIM_CONFORMANCE_TOKEN)
";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("fuzz") => fuzz(&args[1..]),
        Some("conformance") => conformance::run(&args[1..]),
        Some("bench") => bench(),
        Some("-h" | "--help" | "help") | None => {
            print!("{USAGE}");
            Ok(())
        }
        Some(other) => Err(format!("unknown command `{other}`\n\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root: xtask lives one level below it.
fn root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

fn cargo() -> Command {
    let mut cmd = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

fn run(mut cmd: Command) -> Result<(), String> {
    eprintln!("xtask: running {cmd:?}");
    let status = cmd
        .status()
        .map_err(|e| format!("could not start {:?}: {e}", cmd.get_program()))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{:?} failed with {status}", cmd.get_program()))
    }
}

fn ci() -> Result<(), String> {
    let mut fmt = cargo();
    fmt.args(["fmt", "--all", "--check"]);
    run(fmt)?;

    let mut clippy = cargo();
    clippy.args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--",
        "-D",
        "warnings",
    ]);
    run(clippy)?;

    let mut test = cargo();
    test.args(["test", "--workspace"]);
    run(test)?;

    conformance::run(&[])
}

fn bench() -> Result<(), String> {
    let mut cmd = cargo();
    cmd.args(["run", "--release", "--package", "scim-bench"]);
    run(cmd)
}

/// How many requests `cargo xtask fuzz hostile` sends per backend unless told.
const HOSTILE_CASES: &str = "100000";

fn fuzz(args: &[String]) -> Result<(), String> {
    if args.first().map(String::as_str) == Some("hostile") {
        return fuzz_hostile(args.get(1).map_or(HOSTILE_CASES, String::as_str));
    }
    let has_cargo_fuzz = Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|out| out.status.success());
    if !has_cargo_fuzz {
        let mut install = cargo();
        install.args(["install", "cargo-fuzz", "--locked"]);
        run(install)?;
    }
    let mut cmd = cargo();
    cmd.current_dir(root().join("fuzz"));
    // cargo-fuzz passes unstable flags to rustc; this lets the stable toolchain the project
    // builds with accept them, so fuzzing needs no second toolchain.
    cmd.env("RUSTC_BOOTSTRAP", "1");
    match args.first().map(String::as_str) {
        Some("run") => {
            let target = args.get(1).map_or("filter_parse", String::as_str);
            let seconds = args.get(2).map_or("60", String::as_str);
            let max_time = format!("-max_total_time={seconds}");
            cmd.args(["fuzz", "run", target, "--", &max_time]);
        }
        None | Some("build") => {
            cmd.args(["fuzz", "build"]);
        }
        Some(other) => return Err(format!("unknown fuzz command `{other}`")),
    }
    run(cmd)
}

/// The hostile-input suite of scim-server (`crates/scim-server/tests/it/hostile.rs`), long: the
/// same test `cargo xtask ci` runs, with `cases` generated requests per backend instead of
/// 800. It needs no cargo-fuzz: the generator is proptest, inside the test.
fn fuzz_hostile(cases: &str) -> Result<(), String> {
    if cases.parse::<u32>().is_err() {
        return Err(format!("CASES must be a whole number, not `{cases}`"));
    }
    let mut cmd = cargo();
    cmd.env("SCIM_HOSTILE_CASES", cases);
    // --nocapture shows the progress lines and the summary of known defects seen.
    cmd.args([
        "test",
        "--package",
        "scim-server",
        "--test",
        "it",
        "--",
        "hostile",
        "--nocapture",
    ]);
    run(cmd)
}
