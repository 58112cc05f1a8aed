//! Every lookup an identity provider makes is answered through indexes, however the filter is
//! spelled (RFC 7644 §3.4.2.2 value paths, `and` / `or`), on a freshly loaded table that the
//! database has gathered no statistics for: the plans of the count and of the page never read
//! the whole table. Plans, not timings: `cargo xtask bench lookups` measures the speed.
//!
//! PostgreSQL's autovacuum may analyze the tables while a test runs; the plans must be indexed
//! either way, so the assertions hold with or without statistics.

use scim_model::filter::CompiledFilter;
use scim_model::schema::SchemaRegistry;
use scim_store::resources::{self, ListQuery, ResourceKind, Search, GROUPS, USERS};
use scim_store::{Dialect, OrgId, Store};
use scim_test_db::fixtures::{load_groups, load_users};
use scim_test_db::store_test;

/// Enough rows that reading them all costs a planner far more than any index lookup.
const LOADED: u64 = 20_000;

/// The filters identity providers and the interoperability profiles send before a create, in
/// every spelling, and the other predicates an index answers.
const USER_LOOKUPS: &[&str] = &[
    r#"id eq "lu-777""#,
    r#"userName eq "User777@example.com""#,
    r#"externalId eq "ext-777""#,
    r#"emails.value eq "user777@example.com""#,
    // IPSIE SCIM profile.
    r#"emails[type eq "work" and value eq "user777@example.com"]"#,
    // Microsoft Entra ID.
    r#"emails[type eq "work"].value eq "user777@example.com""#,
    r#"emails[value eq "user777@example.com"]"#,
    r#"userName eq "user1@example.com" or userName eq "user2@example.com""#,
    r#"userName sw "user1777""#,
    r#"displayName eq "User 777""#,
    r#"displayName sw "user 17""#,
    r#"name.familyName eq "Family777""#,
    r#"name.givenName eq "Given7""#,
    r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "777""#,
    r#"meta.lastModified gt "2030-01-01T00:00:00Z""#,
    r#"meta.created ge "2030-01-01T00:00:00Z""#,
    r#"meta.created lt "2000-01-01T00:00:00Z""#,
    r#"active eq false"#,
    r#"groups.value eq "lg-7""#,
    r#"groups.value eq "lg-6""#,
    r#"title eq "Engineer" and externalId eq "ext-777""#,
    r#"not (active eq false) and userName eq "user777@example.com""#,
    r#"externalId eq "ext-1" or emails[type eq "work"].value eq "user2@example.com""#,
    r#"(userName eq "user1@example.com" or externalId eq "ext-2") and title pr"#,
];

const GROUP_LOOKUPS: &[&str] = &[
    r#"displayName eq "Group 777""#,
    r#"displayName sw "group 17""#,
    r#"externalId eq "gext-777""#,
    r#"members.value eq "lu-7""#,
    r#"meta.lastModified gt "2030-01-01T00:00:00Z""#,
    r#"externalId eq "gext-1" or displayName eq "group 2""#,
];

/// Tables and aliases a lookup must never read whole.
const LARGE: &[&str] = &[
    "users",
    "groups",
    "resource_values",
    "group_members",
    "p",
    "v",
    "gm",
];

/// The first 100 of `org`'s resources of `kind` that match `filter`, as a query.
fn query(store: &Store, org: OrgId, kind: &'static ResourceKind, filter: &str) -> ListQuery {
    let registry = SchemaRegistry::standard();
    let resource_type = registry.resource_type(kind.name).unwrap();
    let parsed = scim_filter::parse(filter).unwrap();
    let compiled = CompiledFilter::compile(&parsed, resource_type).unwrap();
    let search = Search {
        filter: Some(&compiled),
        sort: None,
        offset: 0,
        limit: 100,
        location_prefix: None,
    };
    ListQuery::new(kind, store.dialect(), org, &search).unwrap()
}

fn plans(store: &Store, org: OrgId, kind: &'static ResourceKind, filter: &str) -> Vec<String> {
    let query = query(store, org, kind, filter);
    let mut conn = store.get().unwrap();
    let plans = resources::explain(&mut conn, &query).unwrap();
    let mut lines = plans.count;
    lines.extend(plans.page);
    lines
}

/// The plan lines that read a large table whole: a sequential scan on PostgreSQL; on SQLite a
/// `SCAN` (with or without an index: a full index scan is still every row).
fn full_scans(dialect: Dialect, lines: &[String]) -> Vec<String> {
    lines
        .iter()
        .filter(|line| {
            let line = line.trim_start_matches([' ', '-', '>']);
            LARGE.iter().any(|table| match dialect {
                Dialect::Postgres => {
                    let scan = format!("Seq Scan on {table} ");
                    line.starts_with(&scan) || line.starts_with(scan.trim_end())
                }
                Dialect::Sqlite => {
                    line == format!("SCAN {table}") || line.starts_with(&format!("SCAN {table} "))
                }
            })
        })
        .chain(
            lines
                .iter()
                .enumerate()
                .filter(|(i, line)| whole_organisation(dialect, line, &lines[..*i]))
                .map(|(_, line)| line),
        )
        .cloned()
        .collect()
}

/// Whether a plan line reads an index by the organisation alone: every row of the
/// organisation, which on a one-tenant database is the table. Not so for the partial index of
/// deactivated users, which holds nothing else. `before` are the lines above it (PostgreSQL
/// prints an index condition below the scan it belongs to).
fn whole_organisation(dialect: Dialect, line: &str, before: &[String]) -> bool {
    let line = line.trim();
    let scan = match dialect {
        Dialect::Postgres => before
            .iter()
            .rev()
            .find(|above| above.contains(" Scan "))
            .map_or("", String::as_str),
        Dialect::Sqlite => line,
    };
    if scan.contains("users_org_id_inactive_idx") {
        return false;
    }
    match dialect {
        Dialect::Postgres => line.starts_with("Index Cond: (org_id = ") && !line.contains(" AND "),
        Dialect::Sqlite => line.starts_with("SEARCH ") && line.ends_with("(org_id=?)"),
    }
}

fn uses_an_index(dialect: Dialect, lines: &[String]) -> bool {
    lines.iter().any(|line| match dialect {
        Dialect::Postgres => line.contains("Index"),
        Dialect::Sqlite => line.starts_with("SEARCH"),
    })
}

fn assert_indexed(store: &Store, org: OrgId, kind: &'static ResourceKind, filters: &[&str]) {
    let dialect = store.dialect();
    let mut failures = Vec::new();
    for filter in filters {
        let lines = plans(store, org, kind, filter);
        let scans = full_scans(dialect, &lines);
        if !scans.is_empty() || !uses_an_index(dialect, &lines) {
            failures.push(format!("{filter}\n    {}", lines.join("\n    ")));
        }
    }
    assert!(
        failures.is_empty(),
        "{dialect}: {} filter(s) read a table whole:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

store_test!(user_lookups_are_index_backed_without_statistics, |store| {
    let org = crate::org(&store, "acme");
    load_users(&store, org, 1, LOADED).unwrap();
    // Every user in one of 20 groups; groups 1 to 5 nested in group 6.
    load_groups(&store, org, 1, 20).unwrap();
    let sequence = match store.dialect() {
        Dialect::Postgres => format!("generate_series(1, {LOADED}) AS g(n)"),
        Dialect::Sqlite => format!(
            "(WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {LOADED}) \
             SELECT n FROM s) AS g"
        ),
    };
    crate::execute(
        &store,
        &format!(
            "INSERT INTO group_members (org_id, group_id, member_id, member_type) \
             SELECT {org}, 'lg-' || CAST(1 + n % 20 AS TEXT), 'lu-' || CAST(n AS TEXT), 'User' \
             FROM {sequence}"
        ),
    );
    crate::execute(
        &store,
        &format!(
            "INSERT INTO group_members (org_id, group_id, member_id, member_type) \
             VALUES ({org}, 'lg-6', 'lg-1', 'Group'), ({org}, 'lg-6', 'lg-2', 'Group'), \
             ({org}, 'lg-6', 'lg-3', 'Group'), ({org}, 'lg-6', 'lg-4', 'Group'), \
             ({org}, 'lg-6', 'lg-5', 'Group')"
        ),
    );
    assert_indexed(&store, org, &USERS, USER_LOOKUPS);
});

store_test!(group_lookups_are_index_backed_without_statistics, |store| {
    let org = crate::org(&store, "acme");
    load_groups(&store, org, 1, LOADED).unwrap();
    assert_indexed(&store, org, &GROUPS, GROUP_LOOKUPS);
});

// A lookup by one attribute (`userName eq`, `emails[value eq]`) is kept prepared by each
// connection, and PostgreSQL may then run it with a generic plan, made without the values:
// that plan must be index-backed too.
#[test]
fn one_attribute_lookups_stay_indexed_with_generic_plans() {
    let db = scim_test_db::TestDb::postgres();
    let store = db.store();
    let org = crate::org(store, "acme");
    load_users(store, org, 1, LOADED).unwrap();
    let mut conn = store.get().unwrap();
    conn.batch_execute("SET plan_cache_mode = force_generic_plan")
        .unwrap();
    let mut failures = Vec::new();
    for filter in [
        r#"id eq "lu-777""#,
        r#"userName eq "User777@example.com""#,
        r#"externalId eq "ext-777""#,
        r#"emails.value eq "user777@example.com""#,
        r#"emails[value eq "user777@example.com"]"#,
        r#"displayName eq "User 777""#,
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "777""#,
    ] {
        let plans = resources::explain(&mut conn, &query(store, org, &USERS, filter)).unwrap();
        let mut lines = plans.count;
        lines.extend(plans.page);
        // A generic plan shows the parameters it was made without.
        let generic = lines.iter().any(|line| line.contains("$2"));
        if !generic
            || !full_scans(Dialect::Postgres, &lines).is_empty()
            || !uses_an_index(Dialect::Postgres, &lines)
        {
            failures.push(format!("{filter}\n    {}", lines.join("\n    ")));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// A read or write by id (RFC 7644 §3.4.1, §3.5) is one primary-key lookup on a freshly loaded
// table too: not a scan of the organisation through the partial unique index on the name, which
// PostgreSQL prefers without statistics when the query repeats that index's predicate.
store_test!(
    lookups_by_id_use_the_primary_key_without_statistics,
    |store| {
        let org = crate::org(&store, "acme");
        load_users(&store, org, 1, LOADED).unwrap();
        load_groups(&store, org, 1, LOADED).unwrap();
        let dialect = store.dialect();
        let mut conn = store.get().unwrap();
        for (kind, table, id) in [(&USERS, "users", "lu-777"), (&GROUPS, "groups", "lg-777")] {
            for for_update in [false, true] {
                let lines = resources::explain_get(&mut conn, kind, org, id, for_update).unwrap();
                let by_key = lines.iter().any(|line| match dialect {
                    Dialect::Postgres => line.contains(&format!("{table}_pkey")),
                    Dialect::Sqlite => {
                        line.starts_with("SEARCH ") && line.contains("(org_id=? AND id=?)")
                    }
                });
                assert!(
                    by_key && full_scans(dialect, &lines).is_empty(),
                    "{dialect} {} by id (for update: {for_update}):\n    {}",
                    kind.name,
                    lines.join("\n    ")
                );
            }
        }
    }
);

// Not vacuous: a filter no index answers is read by scanning, and the check sees it.
store_test!(an_unindexed_filter_is_seen_scanning, |store| {
    let org = crate::org(&store, "acme");
    load_users(&store, org, 1, 2_000).unwrap();
    let lines = plans(&store, org, &USERS, r#"title co "engine""#);
    assert!(
        !full_scans(store.dialect(), &lines).is_empty()
            || lines
                .iter()
                .any(|line| line.contains("users_org_id_created_at_id_idx")),
        "{lines:#?}"
    );
});

// The loaded rows are what the store itself would write: rebuilding the index entries from the
// search documents finds exactly the loaded ones, and lookups find the loaded users.
store_test!(loaded_users_look_like_written_ones, |store| {
    let org = crate::org(&store, "acme");
    load_users(&store, org, 1, 300).unwrap();
    let before = crate::count(
        &store,
        "SELECT COUNT(*) AS n FROM resource_values WHERE resource_type = 'User'",
    );
    // userName, externalId, displayName, two names, two emails, employeeNumber.
    assert_eq!(before, 300 * 8);
    {
        let mut conn = store.get().unwrap();
        conn.batch_execute("DELETE FROM value_index_state").unwrap();
    }
    store.migrate().unwrap();
    let after = crate::count(
        &store,
        "SELECT COUNT(*) AS n FROM resource_values WHERE resource_type = 'User'",
    );
    assert_eq!(after, before);
    for (filter, expected) in [
        (r#"userName eq "user42@example.com""#, vec!["lu-42"]),
        (
            r#"emails[type eq "work"].value eq "user42@example.com""#,
            vec!["lu-42"],
        ),
        (
            r#"emails[type eq "home"].value eq "user42@example.com""#,
            vec![],
        ),
        (r#"name.givenName eq "given42""#, vec!["lu-42"]),
        (
            r#"userName sw "user29""#,
            vec![
                "lu-29", "lu-290", "lu-291", "lu-292", "lu-293", "lu-294", "lu-295", "lu-296",
                "lu-297", "lu-298", "lu-299",
            ],
        ),
    ] {
        let query = query(&store, org, &USERS, filter);
        let mut conn = store.get().unwrap();
        let page = resources::list(&mut conn, &query).unwrap();
        let ids: Vec<&str> = page.items.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, expected, "{filter}");
    }
});
