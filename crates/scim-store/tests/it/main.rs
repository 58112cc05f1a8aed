//! Integration tests of scim-store: every test runs on PostgreSQL and on SQLite, each on its own
//! brand-new database (see `scim_test_db::store_test!`). One test binary keeps link time down.
#![expect(
    clippy::unwrap_used,
    reason = "in a test helper as in a test, a failed step fails the test"
)]

mod contention;
mod cursor;
mod events;
mod filter_sql;
mod groups;
mod orgs;
mod plans;
mod schema;
mod store;
mod tokens;
mod tombstones;
mod users;

use scim_store::users::{NewUser, UserColumns, UserRecord, UserUpdate};
use scim_store::{orgs as org_store, OrgId, Store};

/// A new organisation named `name` in `store`.
fn org(store: &Store, name: &str) -> OrgId {
    let mut conn = store.get().unwrap();
    org_store::create(&mut conn, name).unwrap().id
}

/// A user as a server would store it: `userName` folded with `to_lowercase` for its key, a
/// document and a search document carrying it, one work email.
fn new_user(id: &str, user_name: &str) -> NewUser {
    NewUser {
        id: id.to_owned(),
        columns: UserColumns {
            name: user_name.to_owned(),
            name_key: user_name.to_lowercase(),
            external_id: Some(format!("ext-{id}")),
            active: true,
            document: format!(r#"{{"id":"{id}","userName":"{user_name}"}}"#),
            search: format!(
                r#"{{"userName":"{key}","name":{{"familyName":"F{id}"}},"emails":[{{"value":"{key}@example.com","type":"work","primary":true}}]}}"#,
                key = user_name.to_lowercase()
            ),
        },
        token_id: Some("tok1".into()),
        attributes: vec!["userName".into(), "emails".into()],
    }
}

/// The update that writes `record` back unchanged but for what `change` does to it.
fn update_of(record: &UserRecord, change: impl FnOnce(&mut UserUpdate)) -> UserUpdate {
    let mut update = UserUpdate {
        columns: UserColumns {
            name: record.name.clone(),
            name_key: record.name_key.clone(),
            external_id: record.external_id.clone(),
            active: record.active,
            document: record.document.clone(),
            search: record.search.clone(),
        },
        token_id: Some("tok1".into()),
        attributes: vec![],
    };
    change(&mut update);
    update
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// The `n` column of `sql`'s one row: a test's look behind the API.
fn count(store: &Store, sql: &str) -> i64 {
    use diesel::RunQueryDsl;
    let mut conn = store.get().unwrap();
    diesel::sql_query(sql)
        .get_result::<Count>(conn.diesel())
        .unwrap()
        .n
}

/// Runs `sql` on `store`, which must succeed.
fn execute(store: &Store, sql: &str) {
    use diesel::RunQueryDsl;
    let mut conn = store.get().unwrap();
    diesel::sql_query(sql).execute(conn.diesel()).unwrap();
}
