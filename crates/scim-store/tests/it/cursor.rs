//! Keyset pages (`scim_store::paging`), the store's half of RFC 9865 cursor paging: a walk
//! from position to position shows exactly what one offset listing shows, in the same order,
//! for every sort (RFC 9865 §2.2: cursor pages are sorted as RFC 7644 §3.4.2.3 says), and a
//! walk that runs beside inserts and deletes never repeats a row and never skips one that
//! existed for the whole walk.

use std::collections::{BTreeSet, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use scim_model::filter::CompiledFilter;
use scim_model::schema::{ResolvedAttribute, SchemaRegistry};
use scim_store::paging::{self, Position};
use scim_store::resources::{self, ListQuery, Search, USERS};
use scim_store::users::{self, DeleteMode, UserColumns};
use scim_store::{orgs, DbConnection, OrgId, Store};
use scim_test_db::store_test;
use serde_json::{json, Value};

/// Every row of `query`, walked `page` rows at a time from position to position; each position
/// goes through its JSON form, as it does inside a cursor.
fn walk(conn: &mut DbConnection, query: &ListQuery, page: i64) -> Vec<String> {
    let mut ids = Vec::new();
    let mut after: Option<Position> = None;
    loop {
        let window = query.clone().with_window(0, page);
        let window = match after.take() {
            Some(position) => window.after(position).unwrap(),
            None => window,
        };
        let found = paging::list_after(conn, &window).unwrap();
        ids.extend(found.items.iter().map(|(record, _)| record.id.clone()));
        let Some((_, last)) = found.items.last() else {
            assert!(!found.more, "an empty page claims more rows");
            break;
        };
        after = Some(Position::from_json(&last.to_json()).unwrap());
        if !found.more {
            break;
        }
        assert!(ids.len() < 100_000, "the walk does not end");
    }
    ids
}

fn create_user(conn: &mut DbConnection, org: OrgId, id: &str, document: &Value) {
    let registry = SchemaRegistry::standard();
    let rt = registry.resource_type("User").unwrap();
    let new = UserColumns::derive(document, rt, &USERS).into_new(id.to_owned(), None, vec![]);
    users::create(conn, org, &new).unwrap();
}

/// Users whose sort keys repeat (so the `created_at, id` tie-breakers matter), are unassigned
/// (NULL keys, last ascending and first descending), or come from a multi-valued attribute.
fn seed(conn: &mut DbConnection, org: OrgId) {
    for i in 0..37 {
        let mut user = json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": format!("user{:02}", (i * 7) % 37),
            "active": i % 3 != 0,
        });
        if i % 4 != 0 {
            user["displayName"] = json!(format!("Team {}", i % 5));
        }
        if i % 5 != 0 {
            user["emails"] = json!([
                {"value": format!("x{}@example.com", i % 6), "type": "home"},
                {"value": format!("p{}@example.com", i % 4), "primary": i % 2 == 0},
            ]);
        }
        if i % 3 != 0 {
            user["name"] = json!({"familyName": format!("F{}", i % 4)});
        }
        create_user(conn, org, &format!("id{i:02}"), &user);
    }
}

fn resolve<'r>(rt: scim_model::schema::ResourceTypeView<'r>, path: &str) -> ResolvedAttribute<'r> {
    let scim_filter::PatchPath::Attr(attr) = scim_filter::parse_path(path).unwrap() else {
        unreachable!()
    };
    rt.resolve(attr.urn.as_deref(), &attr.name, attr.sub_attr.as_deref())
        .unwrap()
}

// RFC 9865 §2 and §2.2: a cursor walk shows the index-paged result, in order, for the default
// order and every kind of sort key, with and without a filter, at several page sizes.
store_test!(cursor_walk_equals_index_paging, |store| {
    let registry = SchemaRegistry::standard();
    let rt = registry.resource_type("User").unwrap();
    let mut conn = store.get().unwrap();
    let org = orgs::create(&mut conn, "acme").unwrap().id;
    let other = orgs::create(&mut conn, "other").unwrap().id;
    seed(&mut conn, org);
    seed(&mut conn, other);
    let sorts = [
        None,
        Some("userName"),
        Some("displayName"),
        Some("name.familyName"),
        Some("emails"),
        Some("emails.type"),
        Some("active"),
        Some("meta.lastModified"),
        Some("id"),
    ];
    let filters = [
        None,
        Some("displayName pr"),
        Some("userName sw \"user1\" or emails.value co \"p1\""),
    ];
    for filter_text in filters {
        let parsed = filter_text.map(|text| scim_filter::parse(text).unwrap());
        let compiled = parsed
            .as_ref()
            .map(|filter| CompiledFilter::compile(filter, rt).unwrap());
        for sort_by in sorts {
            let resolved = sort_by.map(|path| resolve(rt, path));
            for descending in [false, true] {
                let search = Search {
                    filter: compiled.as_ref(),
                    sort: resolved.as_ref().map(|attr| (attr, descending)),
                    offset: 0,
                    limit: 1_000,
                    location_prefix: None,
                };
                let query = ListQuery::new(&USERS, store.dialect(), org, &search).unwrap();
                let indexed: Vec<String> = resources::list(&mut conn, &query)
                    .unwrap()
                    .items
                    .into_iter()
                    .map(|record| record.id)
                    .collect();
                assert!(!indexed.is_empty(), "{filter_text:?}");
                for page in [1, 4, 100] {
                    assert_eq!(
                        walk(&mut conn, &query, page),
                        indexed,
                        "filter {filter_text:?}, sortBy {sort_by:?}, descending {descending}, \
                         pages of {page}"
                    );
                }
            }
        }
    }
});

// A position fits only a listing in its own kind of order: one taken without a sort key is
// refused by a sorted listing and the other way round.
store_test!(cursor_position_of_another_order_is_refused, |store| {
    let registry = SchemaRegistry::standard();
    let rt = registry.resource_type("User").unwrap();
    let mut conn = store.get().unwrap();
    let org = orgs::create(&mut conn, "acme").unwrap().id;
    seed(&mut conn, org);
    let unsorted = ListQuery::page(&USERS, org, 0, 2);
    let first = paging::list_after(&mut conn, &unsorted).unwrap();
    let position = first.items[1].1.clone();
    let user_name = resolve(rt, "userName");
    let search = Search {
        filter: None,
        sort: Some((&user_name, false)),
        offset: 0,
        limit: 2,
        location_prefix: None,
    };
    let sorted = ListQuery::new(&USERS, store.dialect(), org, &search).unwrap();
    assert!(sorted.clone().after(position).is_err());
    let sorted_position = paging::list_after(&mut conn, &sorted).unwrap().items[0]
        .1
        .clone();
    assert!(unsorted.after(sorted_position).is_err());
    for junk in [
        json!(null),
        json!([1]),
        json!(["x", "y"]),
        json!([1, "a", "q", 2]),
    ] {
        assert!(Position::from_json(&junk).is_none(), "{junk}");
    }
});

/// Walks `query` in pages of 7 while two writers insert and delete users; checks the walk never
/// repeats a user and shows every user that existed from before the walk to after it.
fn walk_beside_writers(store: &Store, org: OrgId, query: &ListQuery, round: usize) {
    let mut conn = store.get().unwrap();
    let before: Vec<String> = resources::list(&mut conn, &query.clone().with_window(0, 10_000))
        .unwrap()
        .items
        .into_iter()
        .map(|record| record.id)
        .collect();
    let deleted = Arc::new(Mutex::new(HashSet::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..2)
        .map(|writer| {
            let store = store.clone();
            let stop = Arc::clone(&stop);
            let deleted = Arc::clone(&deleted);
            let victims: Vec<String> = before.iter().skip(writer).step_by(5).cloned().collect();
            std::thread::spawn(move || {
                let mut conn = store.get().unwrap();
                let mut victims = victims.into_iter();
                let mut n = 0;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let user = json!({
                        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                        "userName": format!("new-{round}-{writer}-{n}"),
                        "displayName": format!("Team {}", n % 5),
                    });
                    let id = format!("new-{round}-{writer}-{n:05}");
                    create_user(&mut conn, org, &id, &user);
                    if let Some(victim) = victims.next() {
                        // Recorded before the delete, so the walk never counts it as required.
                        deleted.lock().unwrap().insert(victim.clone());
                        users::delete(&mut conn, org, &victim, DeleteMode::Purge, None, None)
                            .unwrap();
                    }
                }
            })
        })
        .collect();
    let seen = walk(&mut conn, query, 7);
    stop.store(true, Ordering::Relaxed);
    for writer in writers {
        writer.join().unwrap();
    }
    let unique: HashSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "the walk repeated a user");
    let deleted = deleted.lock().unwrap();
    let seen: BTreeSet<&String> = seen.iter().collect();
    for id in before.iter().filter(|id| !deleted.contains(*id)) {
        assert!(
            seen.contains(id),
            "the walk skipped {id}, which existed throughout"
        );
    }
}

// RFC 9865 §2: cursors are for walks over data that changes meanwhile; keyset positions make
// the walk neither repeat nor skip, in the default order and in sorted ones, on both backends.
store_test!(cursor_walk_beside_concurrent_inserts_and_deletes, |store| {
    let registry = SchemaRegistry::standard();
    let rt = registry.resource_type("User").unwrap();
    let org = {
        let mut conn = store.get().unwrap();
        let org = orgs::create(&mut conn, "acme").unwrap().id;
        for i in 0..300 {
            let mut user = json!({
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": format!("u{i:04}"),
            });
            if i % 3 != 0 {
                user["displayName"] = json!(format!("Team {}", i % 5));
            }
            create_user(&mut conn, org, &format!("old-{i:04}"), &user);
        }
        org
    };
    walk_beside_writers(&store, org, &ListQuery::page(&USERS, org, 0, 7), 0);
    let sorts = [
        ("userName", true),
        ("displayName", false),
        ("displayName", true),
    ];
    for (round, (path, descending)) in sorts.into_iter().enumerate() {
        let attr = resolve(rt, path);
        let search = Search {
            filter: None,
            sort: Some((&attr, descending)),
            offset: 0,
            limit: 7,
            location_prefix: None,
        };
        let query = ListQuery::new(&USERS, store.dialect(), org, &search).unwrap();
        walk_beside_writers(&store, org, &query, round + 1);
    }
});
