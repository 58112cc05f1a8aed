//! Tombstones do not keep personal data for ever (issue 9): scrubbed after the retention, purged
//! on demand.

use std::time::{Duration, SystemTime};

use diesel::sql_types::{Nullable, Text};
use diesel::{QueryableByName, RunQueryDsl};
use scim_store::resources::{self, Columns, DeleteMode, NewResource, GROUPS, USERS};
use scim_store::{events, users, DbConnection, OrgId};
use scim_test_db::store_test;

use crate::{new_user, org};

/// What a row holds, read straight from the table (tombstones are invisible to the API).
#[derive(QueryableByName, Debug, PartialEq)]
struct Row {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    name_key: String,
    #[diesel(sql_type = Nullable<Text>)]
    external_id: Option<String>,
    #[diesel(sql_type = Text)]
    document: String,
    #[diesel(sql_type = Text)]
    search: String,
}

fn row(conn: &mut DbConnection, table: &str, name: &str, id: &str) -> Option<Row> {
    diesel::sql_query(format!(
        "SELECT {name}_name AS name, {name}_name_key AS name_key, external_id, document, search \
         FROM {table} WHERE id = '{id}'"
    ))
    .get_result::<Row>(conn.diesel())
    .ok()
}

fn user_row(conn: &mut DbConnection, id: &str) -> Option<Row> {
    row(conn, "users", "user", id)
}

fn group_row(conn: &mut DbConnection, id: &str) -> Option<Row> {
    row(conn, "groups", "display", id)
}

/// A user whose document carries a password hash, as the server stores one.
fn user_with_password(id: &str, user_name: &str) -> NewResource {
    let mut new = new_user(id, user_name);
    new.columns.document = format!(
        r#"{{"id":"{id}","userName":"{user_name}","password":"$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"}}"#
    );
    new
}

fn new_group(id: &str, name: &str) -> NewResource {
    Columns {
        name: name.to_owned(),
        name_key: name.to_lowercase(),
        external_id: Some(format!("ext-{id}")),
        active: true,
        document: format!(r#"{{"displayName":"{name}"}}"#),
        search: format!(r#"{{"displayName":"{}"}}"#, name.to_lowercase()),
    }
    .into_new(id.to_owned(), None, vec![])
}

fn tombstone(conn: &mut DbConnection, org: OrgId, kind: &resources::ResourceKind, id: &str) {
    resources::delete(conn, kind, org, id, DeleteMode::Tombstone, None, None).unwrap();
}

/// A moment strictly between what happened before and what happens after it (timestamps are
/// microseconds).
fn moment() -> SystemTime {
    std::thread::sleep(Duration::from_millis(2));
    let now = SystemTime::now();
    std::thread::sleep(Duration::from_millis(2));
    now
}

// GDPR Art. 5(1)(e): personal data "kept in a form which permits identification of data subjects
// for no longer than is necessary". A tombstone exists to say that a resource was deleted and
// when; past the retention, what it said about the person goes — document (with the password
// hash), search document, unique name, externalId — and the id, timestamps and events stay.
store_test!(tombstones_past_the_retention_are_scrubbed, |store| {
    let org = org(&store, "acme");
    let other = crate::org(&store, "globex");
    let mut conn = store.get().unwrap();
    resources::create(
        &mut conn,
        &USERS,
        org,
        &user_with_password("old", "Old.User"),
    )
    .unwrap();
    resources::create(&mut conn, &GROUPS, other, &new_group("g-old", "Old Group")).unwrap();
    resources::create(
        &mut conn,
        &USERS,
        org,
        &user_with_password("new", "New.User"),
    )
    .unwrap();
    users::create(&mut conn, org, &new_user("live", "Live.User")).unwrap();
    tombstone(&mut conn, org, &USERS, "old");
    tombstone(&mut conn, other, &GROUPS, "g-old");
    let cutoff = moment();
    tombstone(&mut conn, org, &USERS, "new");
    let live_before = user_row(&mut conn, "live").unwrap();
    let new_before = user_row(&mut conn, "new").unwrap();

    assert_eq!(resources::scrub_tombstones(&mut conn, cutoff).unwrap(), 2);

    let scrubbed = Row {
        name: String::new(),
        name_key: String::new(),
        external_id: None,
        document: "{}".into(),
        search: "{}".into(),
    };
    assert_eq!(user_row(&mut conn, "old").unwrap(), scrubbed);
    assert_eq!(group_row(&mut conn, "g-old").unwrap(), scrubbed);
    // Deleted after the cutoff, and live resources: untouched.
    assert_eq!(user_row(&mut conn, "new").unwrap(), new_before);
    assert!(new_before.document.contains("$argon2id$"));
    assert_eq!(user_row(&mut conn, "live").unwrap(), live_before);
    assert!(users::get(&mut conn, org, "live").unwrap().is_some());
    // The audit trail still says what happened to the scrubbed user.
    let kinds: Vec<_> = events::list_after(&mut conn, org, 0, 100)
        .unwrap()
        .into_iter()
        .filter(|event| event.resource_id == "old")
        .map(|event| event.kind)
        .collect();
    assert_eq!(
        kinds,
        [events::EventKind::Created, events::EventKind::Deleted]
    );
    // Done once: scrubbed tombstones are not counted again.
    assert_eq!(resources::scrub_tombstones(&mut conn, cutoff).unwrap(), 0);
    // The name a scrubbed tombstone held is free (it was already; it stays so).
    users::create(&mut conn, org, &new_user("again", "Old.User")).unwrap();
});

// Scrubbing goes in batches (1,000 rows per statement); a backlog larger than one is done whole.
store_test!(a_backlog_of_tombstones_is_scrubbed_whole, |store| {
    let org = org(&store, "acme");
    let mut conn = store.get().unwrap();
    store
        .transaction(|conn| -> Result<(), scim_store::StoreError> {
            for i in 0..1_005 {
                let id = format!("u{i}");
                users::create(conn, org, &new_user(&id, &id))?;
                users::delete(conn, org, &id, DeleteMode::Tombstone, None, None)?;
            }
            Ok(())
        })
        .unwrap();
    let later = SystemTime::now() + Duration::from_secs(1);
    assert_eq!(
        resources::scrub_tombstones(&mut conn, later).unwrap(),
        1_005
    );
    assert_eq!(user_row(&mut conn, "u1004").unwrap().document, "{}");
});

// `scimd purge-tombstones`: tombstones deleted before the cutoff are gone, scrubbed or not;
// later ones, live resources and the events stay.
store_test!(tombstones_are_purged_on_demand, |store| {
    let org = org(&store, "acme");
    let mut conn = store.get().unwrap();
    for id in ["a", "b", "c", "live"] {
        users::create(&mut conn, org, &new_user(id, id)).unwrap();
    }
    resources::create(&mut conn, &GROUPS, org, &new_group("g", "Group")).unwrap();
    tombstone(&mut conn, org, &USERS, "a");
    tombstone(&mut conn, org, &GROUPS, "g");
    let scrub_cutoff = moment();
    tombstone(&mut conn, org, &USERS, "b");
    assert_eq!(
        resources::scrub_tombstones(&mut conn, scrub_cutoff).unwrap(),
        2
    );
    let cutoff = moment();
    tombstone(&mut conn, org, &USERS, "c");

    assert_eq!(resources::purge_tombstones(&mut conn, cutoff).unwrap(), 3);
    assert!(user_row(&mut conn, "a").is_none());
    assert!(user_row(&mut conn, "b").is_none());
    assert!(group_row(&mut conn, "g").is_none());
    assert!(user_row(&mut conn, "c").is_some());
    assert!(users::get(&mut conn, org, "live").unwrap().is_some());
    assert!(events::list_after(&mut conn, org, 0, 100)
        .unwrap()
        .iter()
        .any(|event| event.resource_id == "a" && event.kind == events::EventKind::Deleted));
    assert_eq!(resources::purge_tombstones(&mut conn, cutoff).unwrap(), 0);
    let later = SystemTime::now() + Duration::from_secs(1);
    assert_eq!(resources::purge_tombstones(&mut conn, later).unwrap(), 1);
});
