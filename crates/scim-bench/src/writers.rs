//! Concurrent writers: 16 threads creating users at once, each write timed on its own, so the
//! figures show how long the unluckiest writers wait (issue 9: on SQLite the busy handler let
//! writers race for the lock, p99 2.75 s), not just the average.

use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use scim_store::users::{self, NewUser, UserColumns};
use scim_store::{orgs, PoolConfig, Store};

/// Writers at once.
const WRITERS: usize = 16;
/// Writes per writer.
const WRITES: usize = 25;

pub(crate) fn run(name: &str, url: &str) {
    println!(
        "\n# {WRITERS} concurrent writers on {name} ({WRITES} creates each, one transaction each)"
    );
    let config = PoolConfig {
        max_size: u32::try_from(WRITERS).unwrap_or(u32::MAX),
        min_idle: None,
        ..PoolConfig::default()
    };
    let store = match Store::connect(url, config) {
        Ok(store) => store,
        Err(error) => {
            println!("cannot open the store: {error}");
            return;
        }
    };
    let org = match store
        .get()
        .and_then(|mut conn| orgs::create(&mut conn, "writers"))
    {
        Ok(org) => org.id,
        Err(error) => {
            println!("cannot create the organisation: {error}");
            return;
        }
    };
    let barrier = Arc::new(Barrier::new(WRITERS));
    let start = Instant::now();
    let threads: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (store, barrier) = (store.clone(), Arc::clone(&barrier));
            std::thread::spawn(move || {
                barrier.wait();
                let mut latencies = Vec::with_capacity(WRITES);
                let mut failures = 0;
                for write in 0..WRITES {
                    let new = new_user(&format!("w{writer}-{write}"));
                    let begun = Instant::now();
                    match store.transaction(|conn| users::create(conn, org, &new)) {
                        Ok(_) => latencies.push(begun.elapsed()),
                        Err(_) => failures += 1,
                    }
                }
                (latencies, failures)
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(WRITERS * WRITES);
    let mut failures = 0;
    for thread in threads {
        match thread.join() {
            Ok((some, failed)) => {
                latencies.extend(some);
                failures += failed;
            }
            Err(_) => failures += WRITES,
        }
    }
    let elapsed = start.elapsed();
    latencies.sort_unstable();
    let at = |q: f64| -> Duration {
        if latencies.is_empty() {
            return Duration::ZERO;
        }
        // Nearest rank: the smallest value at or above the q-th fraction of the writes.
        let rank = (q * latencies.len() as f64).ceil() as usize;
        latencies[rank.clamp(1, latencies.len()) - 1]
    };
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "write latency: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {} writes in {:.2} s ({:.0}/s), {} failed",
        ms(at(0.50)),
        ms(at(0.99)),
        ms(at(1.0)),
        latencies.len(),
        elapsed.as_secs_f64(),
        latencies.len() as f64 / elapsed.as_secs_f64().max(f64::EPSILON),
        failures
    );
}

fn new_user(name: &str) -> NewUser {
    UserColumns {
        name: name.to_owned(),
        name_key: name.to_owned(),
        external_id: None,
        active: true,
        document: format!(
            r#"{{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"{name}"}}"#
        ),
        search: format!(r#"{{"userName":"{name}"}}"#),
    }
    .into_new(name.to_owned(), None, vec!["userName".into()])
}
