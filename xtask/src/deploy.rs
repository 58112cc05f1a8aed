//! Migrations as a developer drives them (`cargo xtask migrate`, `cargo xtask new-migration`),
//! and the check of the deployment files (`Dockerfile`, `docker-compose.yml`), which Docker
//! cannot run on every machine that runs the tests.

use std::path::Path;
use std::process::Command;

use crate::scimd::{self, Profile};

/// The arguments of the release build of `scimd` that xtask makes and the Dockerfile's build
/// stage repeats.
pub(crate) const RELEASE_BUILD: [&str; 4] = ["build", "--package", "scimd", "--release"];

/// `cargo xtask migrate [--database-url URL] up|down|status`: `scimd migrate` on the database
/// (default: what `scimd` itself would open, e.g. `SCIM_DATABASE_URL`).
pub(crate) fn migrate(args: &[String]) -> Result<(), String> {
    let mut url = None;
    let mut action = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--database-url" => {
                url = Some(rest.next().ok_or("--database-url needs a URL")?.clone());
            }
            "up" | "down" | "status" if action.is_none() => action = Some(arg.clone()),
            other => {
                return Err(format!(
                    "usage: cargo xtask migrate [--database-url URL] up|down|status (not `{other}`)"
                ))
            }
        }
    }
    let action = action.ok_or("usage: cargo xtask migrate [--database-url URL] up|down|status")?;
    let binary = scimd::build(Profile::Debug)?;
    let mut cmd = Command::new(binary);
    if let Some(url) = url {
        cmd.args(["--database-url", &url]);
    }
    cmd.args(["migrate", &action]);
    crate::run(cmd)
}

/// `cargo xtask new-migration NAME`: the PostgreSQL and SQLite migration directories side by
/// side, each with an `up.sql` and a `down.sql` to fill in, named after today and the next
/// free number.
pub(crate) fn new_migration(args: &[String]) -> Result<(), String> {
    let [name] = args else {
        return Err("usage: cargo xtask new-migration NAME (lowercase letters, digits, _)".into());
    };
    let root = crate::root().join("migrations");
    for dir in create_migration(&root, name, &today()?)? {
        println!("created {}", dir.display());
    }
    Ok(())
}

/// Creates `<backend>/<date>-<NNNNNN>_<name>/{up,down}.sql` under `root` for both backends,
/// NNNNNN one above the highest of that date; returns the directories.
fn create_migration(
    root: &Path,
    name: &str,
    date: &str,
) -> Result<Vec<std::path::PathBuf>, String> {
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    {
        return Err(format!(
            "a migration name is lowercase letters, digits and _: `{name}`"
        ));
    }
    let mut next = 0;
    for backend in ["postgres", "sqlite"] {
        let entries = std::fs::read_dir(root.join(backend))
            .map_err(|e| format!("cannot read {}: {e}", root.join(backend).display()))?;
        for entry in entries.flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            if let Some(number) = file
                .strip_prefix(&format!("{date}-"))
                .and_then(|rest| rest.split('_').next())
                .and_then(|number| number.parse::<u32>().ok())
            {
                next = next.max(number + 1);
            }
        }
    }
    let mut made = Vec::new();
    for backend in ["postgres", "sqlite"] {
        let dir = root.join(backend).join(format!("{date}-{next:06}_{name}"));
        std::fs::create_dir_all(&dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        for (file, text) in [
            (
                "up.sql",
                format!("-- {name} on {backend}: what it changes and why.\n"),
            ),
            ("down.sql", format!("-- Undoes {name} on {backend}.\n")),
        ] {
            std::fs::write(dir.join(file), text)
                .map_err(|e| format!("cannot write {}: {e}", dir.join(file).display()))?;
        }
        made.push(dir);
    }
    Ok(made)
}

/// Today's date as migrations are named (`2026-12-01`), in UTC, from `date`.
fn today() -> Result<String, String> {
    let output = Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .map_err(|e| format!("cannot run date: {e}"))?;
    let text = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if text.len() == 10 {
        Ok(text)
    } else {
        Err(format!("date printed `{text}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(file: &str) -> String {
        std::fs::read_to_string(crate::root().join(file)).unwrap()
    }

    /// The Dockerfile builds scimd as xtask does, ships only the binary, and runs it unprivileged.
    #[test]
    fn the_dockerfile_builds_and_runs_scimd_as_ci_does() {
        let dockerfile = read("Dockerfile");
        let stages: Vec<&str> = dockerfile
            .lines()
            .filter(|line| line.starts_with("FROM "))
            .collect();
        assert_eq!(
            stages.len(),
            2,
            "a build stage and a final stage: {stages:?}"
        );
        assert!(stages[0].ends_with(" AS build"), "{stages:?}");
        let build = dockerfile
            .lines()
            .find(|line| line.starts_with("RUN cargo "))
            .unwrap();
        let words: Vec<&str> = build["RUN cargo ".len()..].split_whitespace().collect();
        assert_eq!(&words[..4], RELEASE_BUILD, "{build}");
        let final_stage = &dockerfile[dockerfile.find(stages[1]).unwrap()..];
        let copies: Vec<&str> = final_stage
            .lines()
            .filter(|line| line.starts_with("COPY"))
            .collect();
        assert_eq!(
            copies,
            ["COPY --from=build /src/target/release/scimd /usr/local/bin/scimd"],
            "the release binary only"
        );
        assert!(final_stage.lines().any(|line| line == "USER scim"));
        assert!(final_stage.contains("SCIM_LISTEN=0.0.0.0:8080"));
        assert!(final_stage.contains("EXPOSE 8080"));
        assert!(final_stage.contains(r#"CMD ["serve"]"#));
    }

    /// docker-compose.yml wires scimd to a healthy PostgreSQL by `SCIM_*` variables.
    #[test]
    fn the_compose_file_wires_scimd_to_a_healthy_postgres() {
        let text = read("docker-compose.yml");
        let compose: serde_json::Value = serde_yaml::from_str(&text).unwrap();
        let postgres = &compose["services"]["postgres"];
        let scimd = &compose["services"]["scimd"];
        assert!(postgres["image"].as_str().unwrap().starts_with("postgres:"));
        let check = postgres["healthcheck"]["test"].to_string();
        assert!(check.contains("pg_isready"), "{check}");
        assert_eq!(postgres["volumes"][0], "pgdata:/var/lib/postgresql/data");
        assert!(compose["volumes"].get("pgdata").is_some());

        assert_eq!(scimd["build"], ".");
        assert_eq!(
            scimd["depends_on"]["postgres"]["condition"],
            "service_healthy"
        );
        let env = &scimd["environment"];
        let url = env["SCIM_DATABASE_URL"].as_str().unwrap();
        let user = postgres["environment"]["POSTGRES_USER"].as_str().unwrap();
        let password = postgres["environment"]["POSTGRES_PASSWORD"]
            .as_str()
            .unwrap();
        let db = postgres["environment"]["POSTGRES_DB"].as_str().unwrap();
        assert_eq!(
            url,
            format!("postgres://{user}:{password}@postgres:5432/{db}")
        );
        let listen = env["SCIM_LISTEN"].as_str().unwrap();
        let port = listen.rsplit(':').next().unwrap();
        assert_eq!(scimd["ports"][0], format!("{port}:{port}"));
        for key in env.as_object().unwrap().keys() {
            assert!(key.starts_with("SCIM_"), "{key}");
        }
    }

    #[test]
    fn new_migrations_come_in_pairs_numbered_after_the_day_s_last() {
        let root =
            std::env::temp_dir().join(format!("xtask-migrations-{}", crate::random_suffix()));
        for backend in ["postgres", "sqlite"] {
            std::fs::create_dir_all(root.join(backend).join("2026-12-02-000003_old")).unwrap();
        }
        let made = create_migration(&root, "add_badges", "2026-12-02").unwrap();
        assert!(made[0].ends_with("postgres/2026-12-02-000004_add_badges"));
        assert!(made[1].ends_with("sqlite/2026-12-02-000004_add_badges"));
        for dir in &made {
            assert!(dir.join("up.sql").is_file() && dir.join("down.sql").is_file());
        }
        assert!(create_migration(&root, "Bad Name", "2026-12-02").is_err());
        std::fs::remove_dir_all(root).unwrap();
    }
}
