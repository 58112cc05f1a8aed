//! Schema invariants, read from each backend's catalog after the migrations ran.
//!
//! Every table but `organizations` is keyed by organisation: its primary key and each of its
//! indexes lead with org_id, so distributing by org_id (Citus) needs no rewrite. Deliberate
//! exceptions, each checked to be exactly what it is:
//! - `tokens_id_idx` on `tokens (id)`: authentication finds a token by id before it knows the
//!   organisation (and it is not unique, which a distributed table could not enforce); likewise
//!   `oauth_clients_id_idx` and `oauth_client_secrets_id_idx` for the OAuth token endpoint;
//! - `value_index_state`, one row per resource type saying which attributes its entries in
//!   `resource_values` were built for: global, like `organizations`;
//! - `admin_tokens`: an admin credential may cover several organisations or all of them, so
//!   it is global, like `organizations`;
//! - on SQLite only, `events` is keyed by its rowid alias `seq` (SQLite cannot auto-increment a
//!   composite key); its `(org_id, seq)` index serves the reads.

use std::collections::BTreeSet;

use diesel::sql_types::{Bool, Nullable, Text};
use diesel::{QueryableByName, RunQueryDsl};
use scim_store::{DbConnection, Dialect, Store};
use scim_test_db::store_test;

const TENANT_TABLES: [&str; 13] = [
    "events",
    "group_members",
    "groups",
    "oauth_access_tokens",
    "oauth_assertion_ids",
    "oauth_client_secrets",
    "oauth_clients",
    "resource_values",
    "resources",
    "tokens",
    "unique_values",
    "users",
    "webhooks",
];

/// One index (or primary key) of a table, from the catalog.
#[derive(QueryableByName, Debug)]
struct Index {
    #[diesel(sql_type = Text)]
    table_name: String,
    #[diesel(sql_type = Text)]
    index_name: String,
    #[diesel(sql_type = Text)]
    first_column: String,
    #[diesel(sql_type = Bool)]
    is_unique: bool,
    #[diesel(sql_type = Nullable<Text>)]
    predicate: Option<String>,
}

fn indexes(store: &Store) -> Vec<Index> {
    let mut conn = store.get().unwrap();
    let sql = match conn.dialect() {
        Dialect::Postgres => {
            "SELECT t.relname::text AS table_name, i.relname::text AS index_name, \
                    a.attname::text AS first_column, x.indisunique AS is_unique, \
                    pg_get_expr(x.indpred, x.indrelid) AS predicate \
             FROM pg_index x \
             JOIN pg_class i ON i.oid = x.indexrelid \
             JOIN pg_class t ON t.oid = x.indrelid \
             JOIN pg_namespace n ON n.oid = t.relnamespace \
             JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = x.indkey[0] \
             WHERE n.nspname = current_schema() AND t.relname NOT LIKE '\\_\\_diesel%'"
        }
        // Rowid keys (INTEGER PRIMARY KEY) have no index entry: they are checked apart.
        Dialect::Sqlite => {
            "SELECT m.name AS table_name, il.name AS index_name, ii.name AS first_column, \
                    il.\"unique\" AS is_unique, \
                    CASE WHEN il.partial THEN \
                        (SELECT s.sql FROM sqlite_master s WHERE s.name = il.name) END AS predicate \
             FROM sqlite_master m, pragma_index_list(m.name) il, pragma_index_info(il.name) ii \
             WHERE m.type = 'table' AND ii.seqno = 0 AND m.name NOT LIKE '\\_\\_diesel%' ESCAPE '\\' \
               AND m.name <> 'sqlite_sequence'"
        }
    };
    diesel::sql_query(sql).load::<Index>(conn.diesel()).unwrap()
}

#[derive(QueryableByName)]
struct Column {
    #[diesel(sql_type = Text)]
    name: String,
}

/// The columns of `table`'s primary key, in key order.
fn primary_key(conn: &mut DbConnection, table: &str) -> Vec<String> {
    let sql = match conn.dialect() {
        Dialect::Postgres => format!(
            "SELECT a.attname::text AS name \
             FROM pg_index x, unnest(x.indkey) WITH ORDINALITY AS k(attnum, ord), pg_attribute a \
             WHERE x.indrelid = '{table}'::regclass AND x.indisprimary \
               AND a.attrelid = x.indrelid AND a.attnum = k.attnum ORDER BY k.ord"
        ),
        Dialect::Sqlite => {
            format!("SELECT name FROM pragma_table_info('{table}') WHERE pk > 0 ORDER BY pk")
        }
    };
    diesel::sql_query(sql)
        .load::<Column>(conn.diesel())
        .unwrap()
        .into_iter()
        .map(|c| c.name)
        .collect()
}

store_test!(every_key_and_index_leads_with_org_id, |store| {
    let indexes = indexes(&store);
    let is_postgres = store.dialect() == scim_store::Dialect::Postgres;

    for index in &indexes {
        // Global tables: organisations themselves, and which attributes each resource type's
        // index entries were built for.
        if ["organizations", "value_index_state", "admin_tokens"]
            .contains(&index.table_name.as_str())
        {
            continue;
        }
        assert!(
            TENANT_TABLES.contains(&index.table_name.as_str()),
            "table {} is not covered by this test",
            index.table_name
        );
        if ["oauth_clients_id_idx", "oauth_client_secrets_id_idx"]
            .contains(&index.index_name.as_str())
        {
            assert_eq!(index.first_column, "id");
            assert!(
                !index.is_unique,
                "{} must stay non-unique",
                index.index_name
            );
            continue;
        }
        if index.index_name == "tokens_id_idx" {
            assert_eq!(index.first_column, "id");
            assert!(!index.is_unique, "tokens(id) must stay non-unique");
            continue;
        }
        assert_eq!(
            index.first_column, "org_id",
            "{}.{} does not lead with org_id",
            index.table_name, index.index_name
        );
    }

    // The primary keys, rowid keys included.
    let mut conn = store.get().unwrap();
    for table in TENANT_TABLES {
        let key = primary_key(&mut conn, table);
        if table == "events" && !is_postgres {
            assert_eq!(key, ["seq"], "the documented SQLite exception changed");
            continue;
        }
        assert_eq!(
            key.first().map(String::as_str),
            Some("org_id"),
            "primary key of {table}"
        );
    }
    assert_eq!(primary_key(&mut conn, "organizations"), ["id"]);

    // Not vacuous: the indexes the brief asks for are there, on both backends.
    let names: BTreeSet<_> = indexes.iter().map(|i| i.index_name.as_str()).collect();
    for expected in [
        "users_org_id_user_name_key_key",
        "users_org_id_external_id_idx",
        "users_org_id_last_modified_idx",
        "users_org_id_inactive_idx",
        "groups_org_id_last_modified_idx",
        "tokens_org_id_name_key",
        "tokens_id_idx",
        "groups_org_id_display_name_key_key",
        "group_members_org_id_member_id_idx",
        "group_members_org_id_group_id_nested_idx",
    ] {
        assert!(
            names.contains(expected),
            "missing index {expected}: {names:?}"
        );
    }
    let events_by_org = indexes
        .iter()
        .any(|i| i.table_name == "events" && i.first_column == "org_id");
    assert!(events_by_org, "no (org_id, seq) index on events");
});

// The displayName key is unique among live groups only, like the userName key below.
store_test!(
    display_name_uniqueness_is_a_partial_index_over_live_groups,
    |store| {
        let indexes = indexes(&store);
        let index = indexes
            .iter()
            .find(|i| i.index_name == "groups_org_id_display_name_key_key")
            .unwrap();
        assert!(index.is_unique);
        let predicate = index.predicate.as_deref().unwrap_or_default();
        assert!(
            predicate.to_lowercase().contains("deleted_at is null"),
            "{predicate:?}"
        );
    }
);

// The userName key is unique among live users only: the partial index is what frees a deleted
// user's userName at once and refuses the loser of two concurrent creates.
store_test!(
    user_name_uniqueness_is_a_partial_index_over_live_users,
    |store| {
        let indexes = indexes(&store);
        let index = indexes
            .iter()
            .find(|i| i.index_name == "users_org_id_user_name_key_key")
            .unwrap();
        assert!(index.is_unique);
        let predicate = index
            .predicate
            .as_deref()
            .unwrap_or_default()
            .to_lowercase();
        assert!(predicate.contains("deleted_at is null"), "{predicate:?}");
    }
);
