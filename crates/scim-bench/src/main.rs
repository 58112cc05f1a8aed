//! Prints how fast the hot paths are: run through `cargo xtask bench` (a release build).
//!
//! Figures, not verdicts: nothing here fails on timing. Each measure repeats its work enough
//! times to take a measurable while and reports the median of several rounds.

use std::hint::black_box;
use std::time::{Duration, Instant};

use proptest::strategy::{Strategy, ValueTree};
use proptest::test_runner::TestRunner;
use scim_auth::VerifierConfig;
use scim_model::filter::CompiledFilter;
use scim_model::schema::SchemaRegistry;
use scim_model::testing::arb_user;
use scim_server::{ScimState, ServerConfig};
use scim_store::resources::{self, ListQuery, Search, USERS};
use scim_store::users::{self, UserColumns};
use scim_store::{orgs, tokens, OrgId, Store};
use scim_test_db::TestDb;
use serde_json::Value;

mod bulk;
mod groups;
mod lists;
mod lookups;
mod writers;

pub(crate) const ROUNDS: usize = 5;

/// A lookup to time: its label, the filter of iteration `i`, the page size, the iterations.
type Lookup = (&'static str, Box<dyn Fn(usize) -> String>, i64, usize);

/// The median wall time per iteration of `body`, run `iterations` times per round.
pub(crate) fn measure(iterations: usize, mut body: impl FnMut(usize)) -> Duration {
    let mut rounds: Vec<Duration> = (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            for i in 0..iterations {
                body(i);
            }
            start.elapsed() / u32::try_from(iterations).unwrap_or(u32::MAX)
        })
        .collect();
    rounds.sort_unstable();
    rounds[ROUNDS / 2]
}

pub(crate) fn report(what: &str, per_op: Duration) {
    let micros = per_op.as_secs_f64() * 1e6;
    let rate = if micros > 0.0 {
        1e6 / micros
    } else {
        f64::INFINITY
    };
    println!("{what:<58} {micros:>12.2} µs/op {rate:>14.0} op/s");
}

const FILTERS: &[&str] = &[
    r#"userName eq "bjensen@example.com""#,
    r#"emails[type eq "work"].value eq "bjensen@example.com""#,
    r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
];

fn users(count: usize) -> Vec<Value> {
    let mut runner = TestRunner::deterministic();
    let strategy = arb_user();
    (0..count)
        .map(|i| {
            let mut user = strategy
                .new_tree(&mut runner)
                .map(|tree| tree.current())
                .unwrap_or_else(|_| Value::Null);
            // Distinct names, so every generated user can be stored.
            user["userName"] = Value::String(format!("user{i}@example.com"));
            if let Some(object) = user.as_object_mut() {
                object.remove("meta");
            }
            user
        })
        .collect()
}

fn filters() {
    println!("\n# filters (in memory)");
    for text in FILTERS {
        let per_op = measure(20_000, |_| {
            black_box(scim_filter::parse(black_box(text)).ok());
        });
        report(&format!("parse {:.40}", text), per_op);
    }
    let registry = SchemaRegistry::standard();
    let Some(rt) = registry.resource_type("User") else {
        return;
    };
    let population = users(10_000);
    for text in FILTERS {
        let Ok(parsed) = scim_filter::parse(text) else {
            continue;
        };
        let Ok(compiled) = CompiledFilter::compile(&parsed, rt) else {
            continue;
        };
        let per_op = measure(population.len(), |i| {
            black_box(compiled.matches(&population[i]));
        });
        report(&format!("evaluate on one user {:.30}", text), per_op);
    }
}

fn store(name: &str, store: &Store) {
    println!("\n# store on {name}");
    let registry = SchemaRegistry::standard();
    let Some(rt) = registry.resource_type("User") else {
        return;
    };
    let Ok(mut conn) = store.get() else {
        println!("no connection");
        return;
    };
    let Ok(org) = orgs::create(&mut conn, "bench") else {
        println!("cannot create the organisation");
        return;
    };
    let population = users(5_000);
    let start = Instant::now();
    for (i, user) in population.iter().enumerate() {
        let new = UserColumns::derive(user, rt, &USERS).into_new(format!("u{i}"), None, vec![]);
        if let Err(error) = users::create(&mut conn, org.id, &new) {
            println!("create failed: {error}");
            return;
        }
    }
    report(
        &format!("create (one transaction each, {} users)", population.len()),
        start.elapsed() / u32::try_from(population.len()).unwrap_or(1),
    );
    // Fresh rows have no planner statistics yet; a running database gathers them on its own.
    if let Err(error) = conn.batch_execute("ANALYZE") {
        println!("ANALYZE failed: {error}");
    }
    let dialect = store.dialect();
    let lookup = |text: &str, limit: i64| {
        let parsed = scim_filter::parse(text).ok()?;
        let compiled = CompiledFilter::compile(&parsed, rt).ok()?;
        let search = Search {
            filter: Some(&compiled),
            sort: None,
            offset: 0,
            limit,
            location_prefix: None,
        };
        ListQuery::new(&USERS, dialect, org.id, &search).ok()
    };
    let cases: [Lookup; 4] = [
        (
            "userName eq (index)",
            Box::new(|i| format!(r#"userName eq "USER{}@example.com""#, i % 5_000)),
            1,
            2_000,
        ),
        (
            "externalId eq (index)",
            Box::new(|i| format!(r#"externalId eq "x{i}""#)),
            1,
            2_000,
        ),
        (
            "emails.value eq (index)",
            Box::new(|i| format!(r#"emails.value eq "user{}@example.com""#, i % 5_000)),
            1,
            2_000,
        ),
        (
            "displayName co (scan, first 100)",
            Box::new(|_| r#"displayName co "é""#.to_owned()),
            100,
            50,
        ),
    ];
    for (what, make, limit, iterations) in cases {
        let per_op = measure(iterations, |i| {
            if let Some(query) = lookup(&make(i), limit) {
                black_box(resources::list(&mut conn, &query).ok());
            }
        });
        report(what, per_op);
    }
    let Ok(user_name) = rt.resolve(None, "userName", None) else {
        return;
    };
    let search = Search {
        filter: None,
        sort: Some((&user_name, false)),
        offset: 2_000,
        limit: 100,
        location_prefix: None,
    };
    let Ok(sorted) = ListQuery::new(&USERS, dialect, org.id, &search) else {
        return;
    };
    let per_op = measure(50, |_| {
        black_box(resources::list(&mut conn, &sorted).ok());
    });
    report("page of 100 sorted by userName, startIndex 2001", per_op);
}

/// The service over `store` with a new organisation `name` and a token for it: the state, the
/// organisation and the `Authorization` header value.
pub(crate) fn service(store: &Store, name: &str) -> Result<(ScimState, OrgId, String), String> {
    service_with(store, name, ServerConfig::default())
}

/// [`service`] with `config`.
pub(crate) fn service_with(
    store: &Store,
    name: &str,
    config: ServerConfig,
) -> Result<(ScimState, OrgId, String), String> {
    // Cheap hashing: the figures are about the service, not about Argon2.
    let verifier = VerifierConfig {
        argon2: scim_auth::argon2::Params::new(8, 1, 1, None).map_err(|e| e.to_string())?,
        ..VerifierConfig::default()
    };
    let state = ScimState::new(store.clone(), config, verifier).map_err(|e| e.to_string())?;
    let mut conn = store.get().map_err(|e| e.to_string())?;
    let org = orgs::create(&mut conn, name).map_err(|e| e.to_string())?.id;
    let issued = state.verifier().issue().map_err(|e| e.to_string())?;
    tokens::insert(
        &mut conn,
        org,
        &tokens::NewToken {
            id: issued.id().to_string(),
            name: "bench".into(),
            secret_hash: issued.phc_hash().into(),
            expires_at: None,
        },
    )
    .map_err(|e| e.to_string())?;
    Ok((state, org, format!("Bearer {}", issued.expose_token())))
}

/// Runs every section, or only those named on the command line (`filters`, `store`, `groups`,
/// `lists`, `writers`, `bulk`, `lookups`), e.g. `cargo run --release -p scim-bench -- writers`.
fn main() {
    let named: Vec<String> = std::env::args().skip(1).collect();
    let wanted = |section: &str| named.is_empty() || named.iter().any(|name| name == section);
    if wanted("filters") {
        filters();
    }
    if wanted("lookups") {
        lookups::run("SQLite (file, WAL)", TestDb::sqlite);
        lookups::run("PostgreSQL", TestDb::postgres);
    }
    for (name, db) in [
        ("SQLite (file, WAL)", TestDb::sqlite as fn() -> TestDb),
        ("PostgreSQL", TestDb::postgres),
    ] {
        if !["store", "groups", "lists", "writers", "bulk"]
            .into_iter()
            .any(wanted)
        {
            break;
        }
        let db = db();
        if wanted("store") {
            store(name, db.store());
        }
        if wanted("groups") {
            groups::run(name, db.store());
        }
        if wanted("lists") {
            lists::run(name, db.store());
        }
        if wanted("writers") {
            writers::run(name, db.url());
        }
        if wanted("bulk") {
            bulk::run(name, db.store());
        }
    }
}
