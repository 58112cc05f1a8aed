//! The lookups identity providers make before every create, through the real HTTP service (in
//! process), at 10,000 and 1,000,000 users, measured right after loading: no `ANALYZE`, so
//! the plans are those of a first sync into a fresh table.
//!
//! Each figure is the median of 20 sequential requests, each for a different user spread over
//! the table (a cache holding one user's pages would flatter the figure).

use std::time::{Duration, Instant};

use actix_web::{test, App};
use scim_server::scope;
use scim_test_db::fixtures::{load_users, user_id};
use scim_test_db::TestDb;

use crate::service;

/// Table sizes measured.
const SIZES: [u64; 2] = [10_000, 1_000_000];
/// Requests per figure.
const REQUESTS: u64 = 20;

/// A lookup: its label and the request path for user `k` of a table of `size`.
type Lookup = (&'static str, fn(u64, u64) -> String);

fn filtered(filter: &str) -> String {
    format!("/scim/v2/Users?filter={}", encode(filter))
}

const LOOKUPS: &[Lookup] = &[
    ("GET /Users/{id}", |k, _| {
        format!("/scim/v2/Users/{}", user_id(k))
    }),
    ("userName eq", |k, _| {
        filtered(&format!(r#"userName eq "user{k}@example.com""#))
    }),
    ("externalId eq", |k, _| {
        filtered(&format!(r#"externalId eq "ext-{k}""#))
    }),
    ("emails.value eq", |k, _| {
        filtered(&format!(r#"emails.value eq "user{k}@example.com""#))
    }),
    ("emails[type eq \"work\" and value eq] (IPSIE)", |k, _| {
        filtered(&format!(
            r#"emails[type eq "work" and value eq "user{k}@example.com"]"#
        ))
    }),
    ("emails[type eq \"work\"].value eq (Entra)", |k, _| {
        filtered(&format!(
            r#"emails[type eq "work"].value eq "user{k}@example.com""#
        ))
    }),
    ("emails[value eq]", |k, _| {
        filtered(&format!(r#"emails[value eq "user{k}@example.com"]"#))
    }),
    ("userName eq a or userName eq b", |k, _| {
        filtered(&format!(
            r#"userName eq "user{k}@example.com" or userName eq "user{}@example.com""#,
            k + 1
        ))
    }),
    // A prefix that 11 users share at either size: k, k0 … k9.
    ("userName sw (11 matches)", |k, size| {
        filtered(&format!(r#"userName sw "user{}""#, size / 100 + k % 50))
    }),
    ("displayName eq", |k, _| {
        filtered(&format!(r#"displayName eq "User {k}""#))
    }),
    ("name.familyName eq", |k, _| {
        filtered(&format!(r#"name.familyName eq "Family{k}""#))
    }),
    ("meta.lastModified gt (0 rows)", |_, _| {
        filtered(r#"meta.lastModified gt "2030-01-01T00:00:00Z""#)
    }),
    ("active eq false (0 rows)", |_, _| {
        filtered("active eq false")
    }),
];

pub(crate) fn run(name: &str, db: fn() -> TestDb) {
    println!("\n# lookups on {name} (HTTP through the service, in process, no ANALYZE)");
    let result = actix_web::rt::System::new().block_on(bench(db));
    match result {
        Ok(figures) => summary(&figures),
        Err(error) => println!("lookups bench failed: {error}"),
    }
}

/// Per size, per lookup: the median request time.
type Figures = Vec<(u64, Vec<Duration>)>;

async fn bench(db: fn() -> TestDb) -> Result<Figures, String> {
    let mut figures = Vec::new();
    for size in SIZES {
        let db = db();
        let store = db.store();
        let (state, org, bearer) = service(store, "lookups")?;
        let start = Instant::now();
        load_users(store, org, 1, size)?;
        let seconds = start.elapsed().as_secs_f64();
        println!(
            "loaded {size} users in {seconds:.1} s ({:.0} users/s)",
            size as f64 / seconds
        );
        let app = test::init_service(App::new().service(scope("/scim/v2", state))).await;
        let mut row = Vec::new();
        for (label, path) in LOOKUPS {
            let mut times = Vec::new();
            for i in 0..REQUESTS {
                // Users spread over the whole table.
                let k = 1 + (i * 7919 + 13) * (size / REQUESTS) % size;
                let request = test::TestRequest::get()
                    .uri(&path(k, size))
                    .insert_header(("Authorization", bearer.clone()))
                    .to_request();
                let start = Instant::now();
                let response = test::call_service(&app, request).await;
                let status = response.status().as_u16();
                let body = test::read_body(response).await;
                times.push(start.elapsed());
                if status != 200 {
                    return Err(format!(
                        "{label}: {status} {}",
                        String::from_utf8_lossy(&body)
                    ));
                }
            }
            times.sort_unstable();
            let median = times[times.len() / 2];
            println!(
                "{size:>9} users  {label:<48} {:>9.3} ms p50  {:>9.3} ms max",
                median.as_secs_f64() * 1e3,
                times.last().map_or(0.0, |t| t.as_secs_f64() * 1e3)
            );
            row.push(median);
        }
        figures.push((size, row));
    }
    Ok(figures)
}

fn summary(figures: &Figures) {
    let [(small, first), (large, last)] = figures.as_slice() else {
        return;
    };
    println!(
        "\n{:<48} {:>10} {:>10} {:>7}   (p50 ms; target at 1M: ≤ 2 ms on PostgreSQL, ≤ 1.5× of 10k)",
        "lookup",
        format!("{small}"),
        format!("{large}"),
        "ratio"
    );
    for ((label, _), (a, b)) in LOOKUPS.iter().zip(first.iter().zip(last)) {
        println!(
            "{label:<48} {:>10.3} {:>10.3} {:>7.2}",
            a.as_secs_f64() * 1e3,
            b.as_secs_f64() * 1e3,
            b.as_secs_f64() / a.as_secs_f64()
        );
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}
