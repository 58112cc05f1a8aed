//! Users: create, get, replace, delete, list, uniqueness, versions, deactivation, scoping.

use std::sync::{Arc, Barrier};

use scim_model::filter::CompiledFilter;
use scim_model::schema::SchemaRegistry;
use scim_store::events::{self, EventKind};
use scim_store::resources::{self, ListQuery, Search, USERS};
use scim_store::users::{self, DeleteMode};
use scim_store::{Store, StoreError, UniqueField};
use scim_test_db::store_test;

use crate::{new_user, org, update_of};

// RFC 7644 §3.3 (creating resources) and §3.4.1 (retrieving a known resource): what was created
// is what GET returns; meta.version starts at 1 and meta.created equals meta.lastModified.
store_test!(create_then_get, |store| {
    let org = org(&store, "acme");
    let mut conn = store.get().unwrap();
    let new = new_user("u1", "Bjensen");
    let created = users::create(&mut conn, org, &new).unwrap();

    assert_eq!(created.org, org);
    assert_eq!(created.id, "u1");
    assert_eq!(created.name, "Bjensen");
    assert_eq!(created.name_key, "bjensen");
    assert_eq!(created.external_id.as_deref(), Some("ext-u1"));
    assert!(created.active);
    assert_eq!(created.version, 1);
    assert_eq!(created.session_version, 1);
    assert_eq!(created.created, created.last_modified);
    assert_eq!(created.document, new.columns.document);
    assert_eq!(created.search, new.columns.search);

    assert_eq!(users::get(&mut conn, org, "u1").unwrap(), Some(created));
    assert_eq!(users::get(&mut conn, org, "nobody").unwrap(), None);
});

// RFC 7643 §4.1.1: userName is unique and not case-exact ("caseExact": false); RFC 7644 §3.3: a
// duplicate userName is a conflict (409 uniqueness) — and it writes nothing, event included.
store_test!(user_name_is_unique_case_insensitively, |store| {
    let org = org(&store, "acme");
    let mut conn = store.get().unwrap();
    users::create(&mut conn, org, &new_user("u1", "Bjensen")).unwrap();

    let err = users::create(&mut conn, org, &new_user("u2", "BJENSEN")).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::UniqueViolation {
                field: UniqueField::UserName,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(users::get(&mut conn, org, "u2").unwrap(), None);
    assert_eq!(events::list_after(&mut conn, org, 0, 100).unwrap().len(), 1);

    // Renaming another user onto the taken key is the same conflict.
    let other = users::create(&mut conn, org, &new_user("u3", "other")).unwrap();
    let rename = update_of(&other, |u| {
        u.columns.name = "bJensen".into();
        u.columns.name_key = "bjensen".into();
    });
    let err = users::replace(&mut conn, org, "u3", None, &rename).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::UniqueViolation {
                field: UniqueField::UserName,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(users::get(&mut conn, org, "u3").unwrap(), Some(other));
});

// RFC 7644 §3.3: two concurrent POSTs of the same userName — exactly one may succeed, the other
// is a conflict, never a second row or a 500.
store_test!(
    concurrent_creates_of_one_user_name_let_exactly_one_win,
    |store| {
        let org = org(&store, "acme");
        let barrier = Arc::new(Barrier::new(2));
        let threads: Vec<_> = ["u1", "u2"]
            .into_iter()
            .map(|id| {
                let store = store.clone();
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    let mut conn = store.get().unwrap();
                    barrier.wait();
                    users::create(
                        &mut conn,
                        org,
                        &new_user(id, if id == "u1" { "Race" } else { "RACE" }),
                    )
                })
            })
            .collect();
        let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();

        let wins = results.iter().filter(|r| r.is_ok()).count();
        assert_eq!(wins, 1, "{results:?}");
        assert!(results.iter().any(|r| matches!(
            r,
            Err(StoreError::UniqueViolation {
                field: UniqueField::UserName,
                ..
            })
        )));
        let mut conn = store.get().unwrap();
        assert_eq!(users::page(&mut conn, org, 0, 10).unwrap().total, 1);
        assert_eq!(events::list_after(&mut conn, org, 0, 10).unwrap().len(), 1);
    }
);

// RFC 7644 §3.6: a deleted resource is not considered in conflict calculation, so its userName
// can be used again at once — whether the row was purged or tombstoned.
store_test!(
    a_deleted_user_name_is_free_at_once_in_both_delete_modes,
    |store| {
        let org = org(&store, "acme");
        let mut conn = store.get().unwrap();
        for (mode, old, new) in [
            (DeleteMode::Purge, "p1", "p2"),
            (DeleteMode::Tombstone, "t1", "t2"),
        ] {
            users::create(&mut conn, org, &new_user(old, "reused")).unwrap();
            users::delete(&mut conn, org, old, mode, None, Some("tok1")).unwrap();
            let again = users::create(&mut conn, org, &new_user(new, "Reused")).unwrap();
            assert_eq!(again.name_key, "reused");
            assert_eq!(users::get(&mut conn, org, old).unwrap(), None, "{mode:?}");
            users::delete(&mut conn, org, new, mode, None, None).unwrap();
        }
    }
);

// RFC 7644 §3.6: after DELETE every operation on the id answers 404 and the resource is omitted
// from query results, also when the service provider keeps the row (a tombstone).
store_test!(a_tombstone_is_invisible, |store| {
    let org = org(&store, "acme");
    let mut conn = store.get().unwrap();
    let user = users::create(&mut conn, org, &new_user("u1", "gone")).unwrap();
    users::create(&mut conn, org, &new_user("u2", "stays")).unwrap();
    users::delete(&mut conn, org, "u1", DeleteMode::Tombstone, None, None).unwrap();

    assert_eq!(users::get(&mut conn, org, "u1").unwrap(), None);
    let page = users::page(&mut conn, org, 0, 10).unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(
        page.items.iter().map(|u| u.id.as_str()).collect::<Vec<_>>(),
        ["u2"]
    );
    assert!(matches!(
        users::replace(&mut conn, org, "u1", None, &update_of(&user, |_| {})),
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        users::delete(&mut conn, org, "u1", DeleteMode::Tombstone, None, None),
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        users::delete(&mut conn, org, "u1", DeleteMode::Purge, None, None),
        Err(StoreError::NotFound)
    ));
    // Its index entries went with it, so lookups need not know about tombstones.
    assert_eq!(
        crate::count(
            &store,
            "SELECT COUNT(*) AS n FROM resource_values WHERE resource_id = 'u1'"
        ),
        0
    );
    assert_eq!(
        crate::count(
            &store,
            "SELECT COUNT(*) AS n FROM resource_values WHERE resource_id = 'u2' AND attr = 'emails.value'"
        ),
        1
    );
});

// RFC 7643 §3.1 (meta.version) and RFC 7644 §3.14: the version changes with every write.
store_test!(every_write_increments_the_version, |store| {
    let org = org(&store, "acme");
    let mut conn = store.get().unwrap();
    let v1 = users::create(&mut conn, org, &new_user("u1", "bjensen")).unwrap();
    let v2 = users::replace(
        &mut conn,
        org,
        "u1",
        None,
        &update_of(&v1, |u| {
            u.columns.document = r#"{"userName":"bjensen","title":"Tour Guide"}"#.into();
        }),
    )
    .unwrap();
    assert_eq!(v2.version, 2);
    assert_eq!(v2.created, v1.created);
    assert!(v2.last_modified >= v1.last_modified);
    assert_eq!(
        v2.document,
        r#"{"userName":"bjensen","title":"Tour Guide"}"#
    );
    let v3 = users::replace(&mut conn, org, "u1", Some(2), &update_of(&v2, |_| {})).unwrap();
    assert_eq!(v3.version, 3);
    assert_eq!(users::get(&mut conn, org, "u1").unwrap(), Some(v3));
});

// RFC 7644 §3.14: a PUT, PATCH or DELETE whose If-Match names another version fails with 412
// and changes nothing; no event is recorded either.
store_test!(an_if_match_mismatch_writes_nothing, |store| {
    let org = org(&store, "acme");
    let mut conn = store.get().unwrap();
    let user = users::create(&mut conn, org, &new_user("u1", "bjensen")).unwrap();

    let err = users::replace(
        &mut conn,
        org,
        "u1",
        Some(7),
        &update_of(&user, |u| u.columns.active = false),
    )
    .unwrap_err();
    assert!(
        matches!(err, StoreError::VersionMismatch { current: 1 }),
        "{err:?}"
    );
    let err = users::delete(&mut conn, org, "u1", DeleteMode::Purge, Some(7), None).unwrap_err();
    assert!(
        matches!(err, StoreError::VersionMismatch { current: 1 }),
        "{err:?}"
    );

    assert_eq!(users::get(&mut conn, org, "u1").unwrap(), Some(user));
    assert_eq!(events::list_after(&mut conn, org, 0, 100).unwrap().len(), 1);

    users::delete(&mut conn, org, "u1", DeleteMode::Purge, Some(1), None).unwrap();
    assert_eq!(users::get(&mut conn, org, "u1").unwrap(), None);
});

// RFC 7643 §4.1.1 `active`: deactivation keeps the user, bumps the session version (so the host
// application can end its sessions) and records a `deactivated` event; reactivation records
// `reactivated`; other writes record `updated` and leave the session version alone.
store_test!(
    deactivation_bumps_the_session_version_and_is_recorded,
    |store| {
        let org = org(&store, "acme");
        let mut conn = store.get().unwrap();
        let user = users::create(&mut conn, org, &new_user("u1", "bjensen")).unwrap();

        let off = users::replace(
            &mut conn,
            org,
            "u1",
            None,
            &update_of(&user, |u| {
                u.columns.active = false;
                u.attributes = vec!["active".into()];
            }),
        )
        .unwrap();
        assert!(!off.active);
        assert_eq!(off.session_version, 2);

        let still_off = users::replace(
            &mut conn,
            org,
            "u1",
            None,
            &update_of(&off, |u| {
                u.columns.document = r#"{"userName":"bjensen","nickName":"Babs"}"#.into();
                u.attributes = vec!["nickName".into()];
            }),
        )
        .unwrap();
        assert_eq!(still_off.session_version, 2);

        let on = users::replace(
            &mut conn,
            org,
            "u1",
            None,
            &update_of(&still_off, |u| {
                u.columns.active = true;
                u.attributes = vec!["active".into()];
            }),
        )
        .unwrap();
        assert!(on.active);
        assert_eq!(on.session_version, 2);
        assert_eq!(on.version, 4);

        let events = events::list_after(&mut conn, org, 0, 100).unwrap();
        let kinds: Vec<_> = events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [
                EventKind::Created,
                EventKind::Deactivated,
                EventKind::Updated,
                EventKind::Reactivated
            ]
        );
        assert_eq!(events[1].attributes, ["active"]);
        assert_eq!(events[2].attributes, ["nickName"]);
        assert!(events.iter().all(|e| e.resource_id == "u1"));
    }
);

// The store serves one organisation per token (SPEC: a token only ever sees its organisation's
// resources): org B can neither read, list, change nor delete org A's user, and has its own
// userName namespace.
store_test!(organisations_never_see_each_others_users, |store| {
    let a = org(&store, "a");
    let b = org(&store, "b");
    let mut conn = store.get().unwrap();
    let user = users::create(&mut conn, a, &new_user("u1", "bjensen")).unwrap();

    assert_eq!(users::get(&mut conn, b, "u1").unwrap(), None);
    let page = users::page(&mut conn, b, 0, 10).unwrap();
    assert_eq!((page.total, page.items.len()), (0, 0));
    assert!(matches!(
        users::replace(
            &mut conn,
            b,
            "u1",
            None,
            &update_of(&user, |u| u.columns.active = false)
        ),
        Err(StoreError::NotFound)
    ));
    for mode in [DeleteMode::Purge, DeleteMode::Tombstone] {
        assert!(matches!(
            users::delete(&mut conn, b, "u1", mode, None, None),
            Err(StoreError::NotFound)
        ));
    }
    assert_eq!(users::get(&mut conn, a, "u1").unwrap(), Some(user));
    assert!(events::list_after(&mut conn, b, 0, 10).unwrap().is_empty());

    // The same id and userName are free in B.
    users::create(&mut conn, b, &new_user("u1", "bjensen")).unwrap();
    assert_eq!(users::page(&mut conn, a, 0, 10).unwrap().total, 1);
});

// RFC 7644 §3.4.2.4: totalResults counts every match, whatever page is asked for; pages follow
// one stable order.
store_test!(list_pages_report_the_total, |store| {
    let other = org(&store, "other");
    let org = org(&store, "acme");
    let mut conn = store.get().unwrap();
    for n in 0..5 {
        users::create(
            &mut conn,
            org,
            &new_user(&format!("u{n}"), &format!("user{n}")),
        )
        .unwrap();
    }
    users::create(&mut conn, other, &new_user("x", "x")).unwrap();

    let ids = |offset, limit| {
        let mut conn = store.get().unwrap();
        let page = users::page(&mut conn, org, offset, limit).unwrap();
        (
            page.total,
            page.items.into_iter().map(|u| u.id).collect::<Vec<_>>(),
        )
    };
    assert_eq!(ids(0, 2), (5, vec!["u0".to_owned(), "u1".to_owned()]));
    assert_eq!(ids(2, 2), (5, vec!["u2".to_owned(), "u3".to_owned()]));
    // A page that is not full ends the matches: its end is the total, without a count. Past the
    // end, an empty page says nothing of the rows before it, and the total is counted.
    assert_eq!(ids(4, 2), (5, vec!["u4".to_owned()]));
    assert_eq!(ids(0, 10).0, 5);
    assert_eq!(ids(3, 10).0, 5);
    assert_eq!(ids(10, 2), (5, vec![]));
    // RFC 7644 §3.4.2.4: count=0 asks for the total alone.
    assert_eq!(ids(0, 0), (5, vec![]));
    assert_eq!(ids(-3, -1), (5, vec![]));
});

// RFC 7644 §3.4.2.2 (filtering) and §3.4.2.3 (sorting): the store takes a compiled filter and
// a sort key, never SQL, and binds every value the client sent.
store_test!(list_takes_a_compiled_filter_and_sort_key, |store| {
    let org = org(&store, "acme");
    let mut conn = store.get().unwrap();
    for (id, name) in [("u1", "alice"), ("u2", "bob"), ("u3", "carol")] {
        let mut new = new_user(id, name);
        if id == "u2" {
            new.columns.search = r#"{"userName":"bob","name":{"familyName":"fu2"}}"#.into();
        }
        users::create(&mut conn, org, &new).unwrap();
    }
    let registry = SchemaRegistry::standard();
    let rt = registry.resource_type("User").unwrap();
    let ids = |conn: &mut scim_store::DbConnection, filter: &str, sort: Option<&str>| {
        let filter = scim_filter::parse(filter).unwrap();
        let compiled = CompiledFilter::compile(&filter, rt).unwrap();
        let sort_attr = sort.map(|name| rt.resolve(None, name, None).unwrap());
        let search = Search {
            filter: Some(&compiled),
            sort: sort_attr.as_ref().map(|attr| (attr, true)),
            offset: 0,
            limit: 10,
            location_prefix: None,
        };
        let query = ListQuery::new(&USERS, store.dialect(), org, &search).unwrap();
        let page = resources::list(conn, &query).unwrap();
        let ids: Vec<String> = page.items.into_iter().map(|u| u.id).collect();
        (page.total, ids)
    };
    assert_eq!(
        ids(
            &mut conn,
            r#"name.familyName eq "Fu2" or emails.value eq "carol@example.com""#,
            Some("userName")
        ),
        (2, vec!["u3".to_owned(), "u2".to_owned()])
    );
    // A bound value is never SQL.
    assert_eq!(
        ids(&mut conn, r#"userName eq "alice' OR '1'='1""#, None),
        (0, vec![])
    );
});

// The attribute–value index follows every write: a replaced user's old addresses no longer
// match.
store_test!(index_entries_are_rewritten_with_each_write, |store| {
    let org = org(&store, "acme");
    let mut conn = store.get().unwrap();
    let user = users::create(&mut conn, org, &new_user("u1", "bjensen")).unwrap();
    assert_eq!(users_with_email(&store, org, "bjensen@example.com"), ["u1"]);

    users::replace(
        &mut conn,
        org,
        "u1",
        None,
        &update_of(&user, |u| {
            u.columns.search = r#"{"userName":"bjensen","emails":[{"value":"babs@example.org"},{"value":"bj@example.net","type":"home","primary":true}]}"#.into();
        }),
    )
    .unwrap();
    assert_eq!(
        users_with_email(&store, org, "bjensen@example.com"),
        Vec::<String>::new()
    );
    assert_eq!(users_with_email(&store, org, "babs@example.org"), ["u1"]);
    assert_eq!(users_with_email(&store, org, "bj@example.net"), ["u1"]);

    users::delete(&mut conn, org, "u1", DeleteMode::Purge, None, None).unwrap();
    assert_eq!(
        users_with_email(&store, org, "bj@example.net"),
        Vec::<String>::new()
    );
});

/// The ids of `org`'s live users with an email `value_key` (`emails.value eq`, served by the
/// attribute–value index).
fn users_with_email(store: &Store, org: scim_store::OrgId, value_key: &str) -> Vec<String> {
    let registry = SchemaRegistry::standard();
    let rt = registry.resource_type("User").unwrap();
    let filter = scim_filter::parse(&format!("emails.value eq {value_key:?}")).unwrap();
    let compiled = CompiledFilter::compile(&filter, rt).unwrap();
    let search = Search {
        filter: Some(&compiled),
        sort: None,
        offset: 0,
        limit: 100,
        location_prefix: None,
    };
    let query = ListQuery::new(&USERS, store.dialect(), org, &search).unwrap();
    let mut conn = store.get().unwrap();
    resources::list(&mut conn, &query)
        .unwrap()
        .items
        .into_iter()
        .map(|u| u.id)
        .collect()
}

// RFC 7644 §3.14: concurrent writers carrying the same If-Match version race; exactly one may
// win, the others see 412 — the version check and the write are one atomic step.
store_test!(concurrent_if_match_writers_let_exactly_one_win, |store| {
    let org = org(&store, "acme");
    let user = users::create(&mut store.get().unwrap(), org, &new_user("u1", "bjensen")).unwrap();
    let barrier = Arc::new(Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|n| {
            let store = store.clone();
            let barrier = Arc::clone(&barrier);
            let update = update_of(&user, |u| {
                u.columns.document = format!(r#"{{"writer":{n}}}"#)
            });
            std::thread::spawn(move || {
                let mut conn = store.get().unwrap();
                barrier.wait();
                users::replace(&mut conn, org, "u1", Some(1), &update)
            })
        })
        .collect();
    let results: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        1,
        "{results:?}"
    );
    assert!(results
        .iter()
        .filter(|r| r.is_err())
        .all(|r| matches!(r, Err(StoreError::VersionMismatch { current: 2 }))));
    let stored = users::get(&mut store.get().unwrap(), org, "u1")
        .unwrap()
        .unwrap();
    assert_eq!(stored.version, 2);
});

// Concurrent writers without If-Match all land, one after the other: no write is lost and none
// fails for want of a lock (on SQLite, write transactions take the write lock up front).
store_test!(concurrent_writers_to_one_user_all_land, |store| {
    let org = org(&store, "acme");
    let user = users::create(&mut store.get().unwrap(), org, &new_user("u1", "bjensen")).unwrap();
    let barrier = Arc::new(Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|n| {
            let store = store.clone();
            let barrier = Arc::clone(&barrier);
            let user = user.clone();
            std::thread::spawn(move || {
                let mut conn = store.get().unwrap();
                barrier.wait();
                for round in 0..5 {
                    let update = update_of(&user, |u| {
                        u.columns.active = round % 2 == 0;
                        u.columns.document = format!(r#"{{"writer":{n},"round":{round}}}"#);
                    });
                    users::replace(&mut conn, org, "u1", None, &update).unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    let mut conn = store.get().unwrap();
    assert_eq!(
        users::get(&mut conn, org, "u1").unwrap().unwrap().version,
        21
    );
    assert_eq!(
        events::list_after(&mut conn, org, 0, 100).unwrap().len(),
        21
    );
});

// A write that has already read and locked the user (RFC 7644 §3.5.2, PATCH reads, changes,
// writes) replaces it without a second read, with the same effects as `replace`: the version
// moves on, the value index and the outbox follow; a name another user holds is refused and
// the caller's transaction rolls back whole.
store_test!(replace_locked_writes_what_replace_writes, |store| {
    let org = org(&store, "acme");
    let mut conn = store.get().unwrap();
    let first = users::create(&mut conn, org, &new_user("u1", "one")).unwrap();
    users::create(&mut conn, org, &new_user("u2", "two")).unwrap();
    let written = store
        .transaction(|conn| {
            let current = resources::lock(conn, &USERS, org, "u1", None)?;
            let update = update_of(&current, |u| {
                u.columns.name = "uno".into();
                u.columns.name_key = "uno".into();
                u.columns.search = r#"{"userName":"uno"}"#.into();
                u.attributes = vec!["userName".into()];
            });
            resources::replace_locked(conn, &USERS, org, &current, &update)
        })
        .unwrap();
    assert_eq!(
        (written.name.as_str(), written.version),
        ("uno", first.version + 1)
    );
    assert_eq!(
        users::get(&mut conn, org, "u1").unwrap().map(|u| u.name),
        Some("uno".to_owned())
    );
    let found = |conn: &mut scim_store::DbConnection, filter: &str| {
        let registry = SchemaRegistry::standard();
        let rt = registry.resource_type("User").unwrap();
        let compiled = CompiledFilter::compile(&scim_filter::parse(filter).unwrap(), rt).unwrap();
        let search = Search {
            filter: Some(&compiled),
            sort: None,
            offset: 0,
            limit: 10,
            location_prefix: None,
        };
        let query = ListQuery::new(&USERS, store.dialect(), org, &search).unwrap();
        resources::list(conn, &query).unwrap().total
    };
    assert_eq!(found(&mut conn, r#"userName eq "uno""#), 1);
    assert_eq!(found(&mut conn, r#"userName eq "one""#), 0);
    let kinds: Vec<_> = events::list_after(&mut conn, org, 0, 10)
        .unwrap()
        .into_iter()
        .map(|e| (e.kind, e.resource_id))
        .collect();
    assert_eq!(kinds.last(), Some(&(EventKind::Updated, "u1".to_owned())));

    let taken: Result<_, StoreError> = store.transaction(|conn| {
        let current = resources::lock(conn, &USERS, org, "u1", None)?;
        let update = update_of(&current, |u| {
            u.columns.name = "two".into();
            u.columns.name_key = "two".into();
        });
        resources::replace_locked(conn, &USERS, org, &current, &update)
    });
    assert!(
        matches!(taken, Err(StoreError::UniqueViolation { .. })),
        "{taken:?}"
    );
    assert_eq!(
        users::get(&mut conn, org, "u1").unwrap().map(|u| u.version),
        Some(first.version + 1)
    );
});
