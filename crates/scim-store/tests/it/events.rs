//! The outbox: ordered, complete, and written atomically with each change.

use std::collections::HashSet;

use scim_store::events::{self, EventKind, ResourceType};
use scim_store::users::{self, DeleteMode};
use scim_store::StoreError;
use scim_test_db::store_test;

use crate::{new_user, org, update_of};

// SPEC (change feed): every change is recorded, in order, naming the attributes it touched and
// the token that made it — never the values.
store_test!(events_follow_the_changes_in_order, |store| {
    let org = org(&store, "acme");
    let mut conn = store.get().unwrap();
    let u1 = users::create(&mut conn, org, &new_user("u1", "one")).unwrap();
    users::create(&mut conn, org, &new_user("u2", "two")).unwrap();
    users::replace(
        &mut conn,
        org,
        "u1",
        None,
        &update_of(&u1, |u| {
            u.columns.document = r#"{"userName":"one","title":"secret title"}"#.into();
            u.attributes = vec!["title".into()];
            u.token_id = Some("tok2".into());
        }),
    )
    .unwrap();
    users::delete(
        &mut conn,
        org,
        "u2",
        DeleteMode::Tombstone,
        None,
        Some("tok3"),
    )
    .unwrap();

    let all = events::list_after(&mut conn, org, 0, 100).unwrap();
    let summary: Vec<_> = all
        .iter()
        .map(|e| (e.kind, e.resource_id.as_str(), e.token_id.as_deref()))
        .collect();
    assert_eq!(
        summary,
        [
            (EventKind::Created, "u1", Some("tok1")),
            (EventKind::Created, "u2", Some("tok1")),
            (EventKind::Updated, "u1", Some("tok2")),
            (EventKind::Deleted, "u2", Some("tok3")),
        ]
    );
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq));
    assert!(all.windows(2).all(|w| w[0].occurred_at <= w[1].occurred_at));
    assert!(all
        .iter()
        .all(|e| e.org == org && e.resource_type == ResourceType::User));
    assert_eq!(all[0].attributes, ["userName", "emails"]);
    assert_eq!(all[2].attributes, ["title"]);
    assert!(all[3].attributes.is_empty());

    // Reading on from a seq, and in limited batches.
    let rest = events::list_after(&mut conn, org, all[1].seq, 100).unwrap();
    assert_eq!(rest, all[2..]);
    let first_two = events::list_after(&mut conn, org, 0, 2).unwrap();
    assert_eq!(first_two, all[..2]);
    assert!(events::list_after(&mut conn, org, all[3].seq, 100)
        .unwrap()
        .is_empty());
});

// SPEC: the outbox is written in the same transaction as the change — a write that fails, or a
// transaction that rolls back, leaves neither the change nor its event.
store_test!(events_commit_and_roll_back_with_their_change, |store| {
    let org = org(&store, "acme");
    let result: Result<(), StoreError> = store.transaction(|conn| {
        users::create(conn, org, &new_user("u1", "one"))?;
        Err(StoreError::NotFound)
    });
    assert!(matches!(result, Err(StoreError::NotFound)));
    let mut conn = store.get().unwrap();
    assert_eq!(users::get(&mut conn, org, "u1").unwrap(), None);
    assert!(events::list_after(&mut conn, org, 0, 10)
        .unwrap()
        .is_empty());

    // A write that fails inside a larger transaction is undone alone (a savepoint), event
    // included, and the transaction goes on — on PostgreSQL too, where an error would otherwise
    // abort the whole transaction.
    store
        .transaction(|conn| -> Result<(), StoreError> {
            users::create(conn, org, &new_user("u3", "three"))?;
            let duplicate = users::create(conn, org, &new_user("u4", "THREE"));
            assert!(
                matches!(duplicate, Err(StoreError::UniqueViolation { .. })),
                "{duplicate:?}"
            );
            users::create(conn, org, &new_user("u5", "five"))?;
            Ok(())
        })
        .unwrap();
    let kinds: Vec<_> = events::list_after(&mut conn, org, 0, 10)
        .unwrap()
        .into_iter()
        .map(|e| (e.kind, e.resource_id))
        .collect();
    assert_eq!(
        kinds,
        [
            (EventKind::Created, "u3".into()),
            (EventKind::Created, "u5".into())
        ]
    );

    // The transaction's events are written as it commits, after all its other statements: a
    // savepoint rolled back after its write succeeded (a bulk operation failing half-way)
    // takes its event with it, and those kept come out in the order they were recorded.
    let after = events::list_after(&mut conn, org, 0, 10).unwrap().len();
    store
        .transaction(|conn| -> Result<(), StoreError> {
            users::create(conn, org, &new_user("u6", "six"))?;
            let undone: Result<(), StoreError> = scim_store::savepoint(conn, |conn| {
                users::create(conn, org, &new_user("u7", "seven"))?;
                Err(StoreError::NotFound)
            });
            assert!(matches!(undone, Err(StoreError::NotFound)));
            users::create(conn, org, &new_user("u8", "eight"))?;
            Ok(())
        })
        .unwrap();
    let ids: Vec<_> = events::list_after(&mut conn, org, 0, 10)
        .unwrap()
        .into_iter()
        .skip(after)
        .map(|e| e.resource_id)
        .collect();
    assert_eq!(ids, ["u6", "u8"]);
    assert_eq!(users::get(&mut conn, org, "u7").unwrap(), None);
});

// Concurrent writers each get their own seq: none is lost or duplicated.
store_test!(concurrent_writers_get_distinct_seqs, |store| {
    let org = org(&store, "acme");
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                let mut conn = store.get().unwrap();
                for n in 0..5 {
                    let id = format!("t{t}n{n}");
                    users::create(&mut conn, org, &new_user(&id, &id)).unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let mut conn = store.get().unwrap();
    let all = events::list_after(&mut conn, org, 0, 100).unwrap();
    assert_eq!(all.len(), 20);
    assert!(all.windows(2).all(|w| w[0].seq < w[1].seq));
    let ids: HashSet<_> = all.iter().map(|e| e.resource_id.as_str()).collect();
    assert_eq!(ids.len(), 20);
});
