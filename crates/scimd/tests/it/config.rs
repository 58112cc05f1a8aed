//! Configuration precedence: flag > environment > file > default, `deny_unknown_fields`.

use crate::Scratch;

fn value<'a>(printed: &'a str, key: &str) -> &'a str {
    printed
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{key} = ")))
        .unwrap_or_else(|| panic!("no {key} in {printed}"))
}

#[test]
fn flags_beat_environment_beats_file_beats_defaults() {
    let scratch = Scratch::new();
    let file = scratch.dir.path().join("scimd.toml");
    std::fs::write(
        &file,
        "listen = \"127.0.0.1:7001\"\nmax_page_size = 500\ntoken_cache_ttl = \"10s\"\n\
         log_format = \"json\"\ntombstone_retention = \"off\"\n",
    )
    .unwrap();
    let file = file.to_str().unwrap();

    let defaults = scratch.ok(&["config"]);
    assert_eq!(value(&defaults, "listen"), "\"127.0.0.1:8080\"");
    assert_eq!(value(&defaults, "max_page_size"), "1000");
    assert_eq!(value(&defaults, "migrate"), "true");
    assert_eq!(value(&defaults, "statement_timeout"), "\"10s\"");
    assert_eq!(value(&defaults, "lock_timeout"), "\"5s\"");
    assert_eq!(value(&defaults, "tombstone_retention"), "\"30d\"");
    assert_eq!(value(&defaults, "event_retention"), "\"90d\"");
    assert_eq!(value(&defaults, "token_cache_ttl"), "\"1m\"");

    let from_file = scratch.ok(&["--config", file, "config"]);
    assert_eq!(value(&from_file, "listen"), "\"127.0.0.1:7001\"");
    assert_eq!(value(&from_file, "max_page_size"), "500");
    assert_eq!(value(&from_file, "token_cache_ttl"), "\"10s\"");
    assert_eq!(value(&from_file, "log_format"), "\"json\"");
    assert_eq!(value(&from_file, "tombstone_retention"), "\"off\"");

    let from_env = scratch
        .scimd()
        .args(["config"])
        .env("SCIM_CONFIG", file)
        .env("SCIM_LISTEN", "127.0.0.1:7002")
        .env("SCIM_MIGRATE", "false")
        .env("SCIM_LOG_FORMAT", "human")
        .output()
        .unwrap();
    assert!(from_env.status.success());
    let from_env = String::from_utf8(from_env.stdout).unwrap();
    assert_eq!(value(&from_env, "listen"), "\"127.0.0.1:7002\"");
    assert_eq!(value(&from_env, "max_page_size"), "500");
    assert_eq!(value(&from_env, "migrate"), "false");
    assert_eq!(value(&from_env, "log_format"), "\"human\"");

    let from_flag = scratch
        .scimd()
        .args([
            "config",
            "--listen",
            "127.0.0.1:7003",
            "--max-page-size",
            "200",
        ])
        .env("SCIM_CONFIG", file)
        .env("SCIM_LISTEN", "127.0.0.1:7002")
        .output()
        .unwrap();
    assert!(from_flag.status.success());
    let from_flag = String::from_utf8(from_flag.stdout).unwrap();
    assert_eq!(value(&from_flag, "listen"), "\"127.0.0.1:7003\"");
    assert_eq!(value(&from_flag, "max_page_size"), "200");

    // What `config` prints is a file `--config` accepts.
    let printed = scratch.dir.path().join("printed.toml");
    std::fs::write(&printed, &from_flag).unwrap();
    let again = scratch.ok(&["--config", printed.to_str().unwrap(), "config"]);
    assert_eq!(again, from_flag);
}

#[test]
fn bad_configuration_is_refused_with_a_reason() {
    let scratch = Scratch::new();
    let file = scratch.dir.path().join("bad.toml");
    std::fs::write(&file, "listen = \"127.0.0.1:1\"\nlisten_port = 8080\n").unwrap();
    let error = scratch.fails(&["--config", file.to_str().unwrap(), "config"]);
    assert!(error.contains("listen_port"), "{error}");
    let error = scratch.fails(&["--config", "/nonexistent/scimd.toml", "config"]);
    assert!(error.contains("cannot read"), "{error}");
    let error = scratch.fails(&["config", "--default-page-size", "5000"]);
    assert!(error.contains("default_page_size"), "{error}");
    let error = scratch.fails(&["config", "--base-url", "scim.example.com"]);
    assert!(error.contains("base_url"), "{error}");
    let error = scratch.fails(&["--database-url", "mysql://x", "migrate"]);
    assert!(error.contains("unsupported database url"), "{error}");
}

#[test]
fn trusted_proxies_come_from_flags_and_environment() {
    let scratch = Scratch::new();
    let flags = scratch.ok(&[
        "config",
        "--trusted-proxy",
        "10.0.0.0/8",
        "--trusted-proxy",
        "::1",
    ]);
    assert_eq!(
        value(&flags, "trusted_proxies"),
        r#"["10.0.0.0/8", "::1/128"]"#
    );
    let env = |value: &str| {
        let output = scratch
            .scimd()
            .args(["config"])
            .env("SCIM_TRUSTED_PROXIES", value)
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout).unwrap()
    };
    assert_eq!(
        value(&env("10.0.0.0/8, 192.0.2.10"), "trusted_proxies"),
        r#"["10.0.0.0/8", "192.0.2.10/32"]"#
    );
    assert_eq!(value(&env(""), "trusted_proxies"), "[]");
    let error = scratch.fails(&["config", "--trusted-proxy", "10.0.0.1/8"]);
    assert!(error.contains("10.0.0.0/8"), "{error}");
    // The old switch is refused, never silently dropped.
    let error = scratch.fails(&["config", "--trust-forwarded-for"]);
    assert!(error.contains("trusted_proxies"), "{error}");
}
