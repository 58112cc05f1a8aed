//! The store itself: connecting, pooling, migrating, per-connection settings.

use std::time::Duration;

use diesel::sql_types::{BigInt, Text};
use diesel::{QueryableByName, RunQueryDsl};
use scim_store::{orgs, users, OrgId, PoolConfig, Store, StoreError};
use scim_test_db::{store_test, TestDb};

use crate::new_user;

store_test!(migrating_again_applies_nothing, |store| {
    assert_eq!(store.migrate().unwrap(), Vec::<String>::new());
});

// Foreign keys hold on both backends (on SQLite only because every pooled connection turns them
// on): a user of an organisation that does not exist is refused.
store_test!(foreign_keys_are_enforced, |store| {
    let mut conn = store.get().unwrap();
    let err = users::create(&mut conn, OrgId(4242), &new_user("u1", "x")).unwrap_err();
    assert!(matches!(err, StoreError::Other(_)), "{err:?}");
});

// Pool exhaustion is "unavailable" (a 503 to retry), not a hang or a 500.
store_test!(an_exhausted_pool_answers_unavailable, |_store, db| {
    let db_url = db.url().to_owned();
    let config = PoolConfig {
        max_size: 1,
        min_idle: Some(1),
        connection_timeout: Duration::from_millis(300),
        ..PoolConfig::default()
    };
    let small = Store::connect(&db_url, config).unwrap();
    let _held = small.get().unwrap();
    assert!(matches!(small.get(), Err(StoreError::Unavailable(_))));
});

#[derive(QueryableByName)]
struct Setting {
    #[diesel(sql_type = Text)]
    value: String,
}

#[derive(QueryableByName)]
struct Number {
    #[diesel(sql_type = BigInt)]
    value: i64,
}

#[test]
fn every_pooled_sqlite_connection_gets_wal_foreign_keys_and_a_busy_timeout() {
    let db = TestDb::sqlite();
    let config = PoolConfig {
        sqlite_busy_timeout: Duration::from_millis(1234),
        ..PoolConfig::default()
    };
    let store = Store::connect(db.url(), config).unwrap();
    // Three connections open at once: each was set up, not just the first.
    let mut conns: Vec<_> = (0..3).map(|_| store.get().unwrap()).collect();
    for conn in &mut conns {
        let mode = diesel::sql_query("SELECT journal_mode AS value FROM pragma_journal_mode")
            .get_result::<Setting>(conn.diesel())
            .unwrap();
        assert_eq!(mode.value, "wal");
        let keys = diesel::sql_query("SELECT foreign_keys AS value FROM pragma_foreign_keys")
            .get_result::<Number>(conn.diesel())
            .unwrap();
        assert_eq!(keys.value, 1);
        let timeout = diesel::sql_query("SELECT timeout AS value FROM pragma_busy_timeout")
            .get_result::<Number>(conn.diesel())
            .unwrap();
        assert_eq!(timeout.value, 1234);
    }
}

#[test]
fn an_in_memory_database_is_one_database_for_the_whole_pool() {
    let store = Store::connect("sqlite::memory:", PoolConfig::default()).unwrap();
    store.migrate().unwrap();
    let org = orgs::create(&mut store.get().unwrap(), "acme").unwrap();
    let clone = store.clone();
    let found =
        std::thread::spawn(move || orgs::by_name(&mut clone.get().unwrap(), "acme").unwrap())
            .join()
            .unwrap();
    assert_eq!(found, Some(org));
}

#[test]
fn bad_configuration_is_refused_up_front() {
    for url in ["mysql://h/db", "scim.db", "sqlite://"] {
        assert!(
            matches!(
                Store::connect(url, PoolConfig::default()),
                Err(StoreError::Config(_))
            ),
            "{url}"
        );
    }
    let zero = PoolConfig {
        max_size: 0,
        ..PoolConfig::default()
    };
    assert!(matches!(
        Store::connect("sqlite::memory:", zero),
        Err(StoreError::Config(_))
    ));
    let idle = PoolConfig {
        max_size: 2,
        min_idle: Some(3),
        ..PoolConfig::default()
    };
    assert!(matches!(
        Store::connect("sqlite::memory:", idle),
        Err(StoreError::Config(_))
    ));
}

#[test]
fn an_unreachable_postgres_is_unavailable() {
    let config = PoolConfig {
        connection_timeout: Duration::from_millis(500),
        ..PoolConfig::default()
    };
    // Port 1 on loopback: nothing listens there, the connection is refused at once.
    let err = Store::connect("postgres://postgres@127.0.0.1:1/scim", config).unwrap_err();
    assert!(matches!(err, StoreError::Unavailable(_)), "{err:?}");
}
