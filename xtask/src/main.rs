//! Project automation, run as `cargo xtask <command>`.
//!
//! It shells out to cargo and friends and knows nothing of the crates' insides; every command
//! prints what it runs so a failure can be reproduced by hand.

mod conformance;
mod deploy;
mod downstream;
mod faults;
mod load;
mod process;
mod scimd;

use std::collections::hash_map::RandomState;
use std::env;
use std::hash::{BuildHasher, Hasher};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{SystemTime, UNIX_EPOCH};

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  ci      format check, clippy with warnings denied, every test of the workspace (property
          tests from a fixed seed unless PROPTEST_RNG_SEED is set; doc tests included, so
          each crate's README example), the example programs examples/filter-parse and
          examples/model-patch (examples/host-app serves until stopped; its tests run with
          the workspace's), `doc`, `downstream` and the conformance run below on both
          backends
  doc     the API docs of the workspace's crates under target/doc, one crate at a time in
          dependency order (so a link to another crate's item is a link, not text), with
          rustdoc warnings denied
  downstream [sqlite|postgres|both]...
          builds a throwaway application outside the workspace against scim-auth,
          scim-server and scim-store with the newest dependency versions their requirements
          allow (cargo update), once per backend feature set, checks that a one-backend set
          leaves the other backend's native library out, and starts the SQLite builds once
  fuzz    build the cargo-fuzz targets under fuzz/ (installs cargo-fuzz if missing);
          `cargo xtask fuzz run [TARGET] [SECONDS]` runs one (default filter_parse, 60 s);
          `cargo xtask fuzz hostile [CASES]` runs scim-server's hostile-input suite with
          CASES generated requests per backend (default 100000; SCIM_HOSTILE_SEED=text for
          another seed)
  bench   prints the speed of filter parsing and evaluation, of store writes and lookups, of
          lists and cursor pages, of 16 concurrent writers, of /Bulk imports and of the
          lookups identity providers make at 10,000 and 1,000,000 users, on SQLite and
          PostgreSQL (a release build; figures, never pass/fail); `cargo xtask bench writers`
          runs only the named sections (filters, store, groups, lists, writers, bulk, lookups)
          `cargo xtask bench --http` is `cargo xtask load`
  load    the release scimd on each backend under an HTTP load from keep-alive connections
          (GET by id, filter, list page, POST, PATCH, group member PATCH), beside pgbench -S
          and -N on the same PostgreSQL: req/s, p50/p90/p99, errors, server memory and the
          share of pgbench (figures, never pass/fail); `cargo xtask load --help` for options
  conformance
          the public SCIM checker scim2-tester against scimd on SQLite and on PostgreSQL,
          and once more on SQLite with the declared schemas of docs/schemas/examples/entra
          (`sqlite-declared`); `--backend sqlite|postgres` (repeatable) picks backends (the
          declared run comes with sqlite), `--timeout SECS` bounds
          each checker run (default 900), `--scimd PATH` uses that binary instead of building
          one, `--url URL [--token TOKEN]` checks a server that is already running (the
          token may come from SCIM_CONFORMANCE_TOKEN)
  migrate [--database-url URL] up|down|status
          `scimd migrate` on that database (default: what scimd opens, e.g.
          SCIM_DATABASE_URL): apply, revert the newest, or list the migrations
  new-migration NAME
          creates migrations/postgres/<date>-<n>_NAME and migrations/sqlite/<date>-<n>_NAME,
          each with up.sql and down.sql to fill in
  faults  a release scimd under faults, on a private PostgreSQL cluster under target/faults:
          the database restarted and stopped under a write load (503 with Retry-After,
          recovery without a restart, no acknowledged write lost), and two replicas on one
          database (one 201 and one 409 for a raced userName, a revoked token refused within
          the token cache TTL); about a minute after the build. `--scimd PATH` uses that
          binary instead of building one
";

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("fuzz") => fuzz(&args[1..]),
        Some("conformance") => conformance::run(&args[1..]),
        Some("faults") => faults::run(&args[1..]),
        Some("bench") if args.iter().any(|a| a == "--http") => load::run(&args[1..]),
        Some("bench") => bench(&args[1..]),
        Some("doc") => doc(),
        Some("load") => load::run(&args[1..]),
        Some("migrate") => deploy::migrate(&args[1..]),
        Some("downstream") => downstream::run_downstream(&args[1..]),
        Some("new-migration") => deploy::new_migration(&args[1..]),
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
pub(crate) fn root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// Cargo's target directory: `CARGO_TARGET_DIR` if set, else `target/` under the root.
pub(crate) fn target_dir() -> PathBuf {
    // Cargo reads a relative CARGO_TARGET_DIR from the directory it was started in.
    env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|dir| env::current_dir().map_or(dir.clone(), |cwd| cwd.join(dir)))
        .unwrap_or_else(|| root().join("target"))
}

/// Twelve hex digits, different for every run (RandomState is seeded randomly per process).
pub(crate) fn random_suffix() -> String {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    hasher.write_u128(nanos);
    format!("{:012x}", hasher.finish() & 0xffff_ffff_ffff)
}

pub(crate) fn cargo() -> Command {
    let mut cmd = Command::new(env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(root());
    cmd
}

pub(crate) fn run(mut cmd: Command) -> Result<(), String> {
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

/// The variable proptest reads its RNG seed from.
const PROPTEST_SEED_VAR: &str = "PROPTEST_RNG_SEED";

/// The seed of the property tests in `cargo xtask ci`.
const CI_PROPTEST_SEED: &str = "20261201";

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
    // The property tests draw from a fixed seed here, so a run of CI is repeatable and never
    // fails on a case no change brought; `cargo test` alone, and `cargo xtask fuzz`, draw new
    // ones. A seed of the caller's own (PROPTEST_RNG_SEED) wins.
    if env::var_os(PROPTEST_SEED_VAR).is_none() {
        test.env(PROPTEST_SEED_VAR, CI_PROPTEST_SEED);
    }
    run(test)?;

    // The example programs check their own outcomes and fail when one changes.
    for example in EXAMPLES {
        let mut cmd = cargo();
        cmd.args(["run", "--quiet", "--package", example]);
        run(cmd)?;
    }

    doc()?;
    downstream::run_downstream(&[])?;
    conformance::run(&[])
}

/// The example programs `cargo xtask ci` runs: each terminates, and fails when what it shows no
/// longer holds.
const EXAMPLES: &[&str] = &["filter-parse", "model-patch"];

/// The workspace's documented crates, each after the crates it links to (not `scimd`: a
/// binary's doc comments are its `--help` text, written for a terminal rather than rustdoc). rustdoc renders a link
/// to another crate's item as plain text when that crate's docs are not written yet, and `cargo
/// doc --workspace --no-deps` documents the members in parallel, in no such order.
const DOC_ORDER: &[&str] = &[
    "scim-filter",
    "scim-model",
    "scim-auth",
    "scim-store",
    "scim-server",
    "host-app",
];

fn doc() -> Result<(), String> {
    for package in DOC_ORDER {
        let mut cmd = cargo();
        cmd.env("RUSTDOCFLAGS", "-D warnings")
            .args(["doc", "--no-deps", "--package", package]);
        run(cmd)?;
    }
    Ok(())
}

fn bench(sections: &[String]) -> Result<(), String> {
    let mut cmd = cargo();
    cmd.args(["run", "--release", "--package", "scim-bench", "--"])
        .args(sections);
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

/// The hostile-input suite of scim-server (`crates/scim-server/tests/it/hostile_suite.rs`), long: the
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
        "hostile_suite",
        "--nocapture",
    ]);
    run(cmd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_suffixes_differ() {
        let a = random_suffix();
        assert_eq!(a.len(), 12);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, random_suffix());
    }
}
