//! The SQL translation of filters answers exactly as the in-memory evaluator
//! (`scim_model::filter::CompiledFilter::matches`), on generated users and filters, on both
//! backends (RFC 7644 §3.4.2.2 semantics, as documented in `scim_model::filter`).

use std::collections::BTreeSet;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use scim_model::filter::CompiledFilter;
use scim_model::schema::SchemaRegistry;
use scim_model::testing::{arb_user, arb_user_filter};
use scim_model::value::format_date_time;
use scim_store::resources::{self, ListQuery, Search, USERS};
use scim_store::users::{self, UserColumns, UserRecord};
use scim_store::{orgs, StoreError};
use scim_test_db::store_test;
use serde_json::{json, Value};

const LOCATION: &str = "https://scim.example.com/scim/v2/Users/";

/// The resource a client would read back: the stored document with `id` and `meta`.
fn as_returned(record: &UserRecord) -> Value {
    let mut resource: Value = serde_json::from_str(&record.document).unwrap();
    let created = chrono::DateTime::<chrono::Utc>::from(record.created);
    let modified = chrono::DateTime::<chrono::Utc>::from(record.last_modified);
    resource["id"] = json!(record.id);
    resource["meta"] = json!({
        "resourceType": "User",
        "created": format_date_time(&created),
        "lastModified": format_date_time(&modified),
        "location": format!("{LOCATION}{}", record.id),
        "version": scim_model::meta::etag(record.version),
    });
    resource
}

store_test!(sql_filters_answer_like_the_evaluator, |store| {
    let registry = SchemaRegistry::standard();
    let rt = registry.resource_type("User").unwrap();
    let dialect = store.dialect();
    let mut runner = TestRunner::new(Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    });
    let case = std::sync::atomic::AtomicU32::new(0);
    // Every other user is then rewritten with a second generated document, so the index
    // entries a replace leaves behind are tested as well as those a create writes.
    let strategy = (
        prop::collection::vec(arb_user(), 1..8),
        prop::collection::vec(arb_user(), 8),
        prop::collection::vec(arb_user_filter(), 1..12),
    );
    let result = runner.run(&strategy, |(generated, rewrites, filters)| {
        let case = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut conn = store.get().unwrap();
        // A fresh organisation per case isolates the cases as a fresh database would.
        let org = orgs::create(&mut conn, &format!("case-{case}")).unwrap().id;
        let mut stored = Vec::new();
        for (i, mut document) in generated.into_iter().enumerate() {
            document.as_object_mut().unwrap().remove("meta");
            let columns = UserColumns::derive(&document, rt, &USERS);
            let new = columns.into_new(format!("u{i}"), None, vec![]);
            match users::create(&mut conn, org, &new) {
                Ok(record) => stored.push(record),
                // Generated userNames can collide case-insensitively; that user is just absent.
                Err(StoreError::UniqueViolation { .. }) => {}
                Err(other) => panic!("{other}"),
            }
        }
        for (record, mut rewrite) in stored.iter_mut().zip(rewrites).step_by(2) {
            rewrite.as_object_mut().unwrap().remove("meta");
            let update = UserColumns::derive(&rewrite, rt, &USERS).into_update(None, vec![]);
            match users::replace(&mut conn, org, &record.id, None, &update) {
                Ok(rewritten) => *record = rewritten,
                Err(StoreError::UniqueViolation { .. }) => {}
                Err(other) => panic!("{other}"),
            }
        }
        let resources: Vec<(String, Value)> = stored
            .iter()
            .map(|r| (r.id.clone(), as_returned(r)))
            .collect();
        for filter in &filters {
            let compiled = CompiledFilter::compile(filter, rt)
                .map_err(|e| TestCaseError::fail(format!("{filter}: {e}")))?;
            let expected: BTreeSet<&str> = resources
                .iter()
                .filter(|(_, resource)| compiled.matches(resource))
                .map(|(id, _)| id.as_str())
                .collect();
            let search = Search {
                filter: Some(&compiled),
                sort: None,
                offset: 0,
                limit: 1000,
                location_prefix: Some(LOCATION),
            };
            let query = ListQuery::new(&USERS, dialect, org, &search)
                .map_err(|e| TestCaseError::fail(format!("{filter}: {e}")))?;
            let page = resources::list(&mut conn, &query).map_err(|e| {
                let source = std::error::Error::source(&e).map(ToString::to_string);
                TestCaseError::fail(format!("{filter}: {e}: {source:?}"))
            })?;
            let actual: BTreeSet<&str> = page.items.iter().map(|r| r.id.as_str()).collect();
            prop_assert_eq!(
                &actual,
                &expected,
                "filter {} over {:#?}",
                filter,
                resources
            );
            prop_assert_eq!(page.total, i64::try_from(expected.len()).unwrap());
        }
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
});

/// The sort key RFC 7644 §3.4.2.3 gives a user, computed from its search document in Rust:
/// the value at the path, or for a multi-valued attribute its primary value, else its first.
fn reference_sort_key(search: &Value, path: &[&str], multi_sub: Option<&str>) -> Option<String> {
    let mut value = search;
    for segment in path {
        value = value.get(segment)?;
    }
    match multi_sub {
        None => value.as_str().map(str::to_owned),
        Some(sub) => {
            let items = value.as_array()?;
            let text = |item: &Value| item.get(sub).and_then(Value::as_str).map(str::to_owned);
            items
                .iter()
                .find(|item| item.get("primary") == Some(&Value::Bool(true)))
                .and_then(text)
                .or_else(|| items.first().and_then(text))
        }
    }
}

store_test!(sorting_follows_rfc7644_3_4_2_3, |store| {
    let registry = SchemaRegistry::standard();
    let rt = registry.resource_type("User").unwrap();
    let dialect = store.dialect();
    let sorts: [(&str, &[&str], Option<&str>); 6] = [
        ("userName", &["userName"], None),
        ("displayName", &["displayName"], None),
        ("name.familyName", &["name", "familyName"], None),
        ("emails", &["emails"], Some("value")),
        ("emails.type", &["emails"], Some("type")),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
            &[
                "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
                "employeeNumber",
            ],
            None,
        ),
    ];
    let mut runner = TestRunner::new(Config {
        cases: 24,
        failure_persistence: None,
        ..Config::default()
    });
    let case = std::sync::atomic::AtomicU32::new(0);
    let result = runner.run(&prop::collection::vec(arb_user(), 0..10), |generated| {
        let case = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut conn = store.get().unwrap();
        let org = orgs::create(&mut conn, &format!("sort-{case}")).unwrap().id;
        let mut stored = Vec::new();
        for (i, mut document) in generated.into_iter().enumerate() {
            document.as_object_mut().unwrap().remove("meta");
            let new = UserColumns::derive(&document, rt, &USERS).into_new(
                format!("u{i:02}"),
                None,
                vec![],
            );
            if let Ok(record) = users::create(&mut conn, org, &new) {
                stored.push(record);
            }
        }
        for (sort_by, path, multi_sub) in sorts {
            let parsed = scim_filter::parse_path(sort_by).unwrap();
            let scim_filter::PatchPath::Attr(attr) = parsed else {
                unreachable!()
            };
            let resolved = rt
                .resolve(attr.urn.as_deref(), &attr.name, attr.sub_attr.as_deref())
                .unwrap();
            for descending in [false, true] {
                let mut expected: Vec<(Option<String>, &UserRecord)> = stored
                    .iter()
                    .map(|r| {
                        let search: Value = serde_json::from_str(&r.search).unwrap();
                        (reference_sort_key(&search, path, multi_sub), r)
                    })
                    .collect();
                expected.sort_by(|(a, ra), (b, rb)| {
                    let keys = match (a, b) {
                        (None, None) => std::cmp::Ordering::Equal,
                        (None, Some(_)) => {
                            if descending {
                                std::cmp::Ordering::Less
                            } else {
                                std::cmp::Ordering::Greater
                            }
                        }
                        (Some(_), None) => {
                            if descending {
                                std::cmp::Ordering::Greater
                            } else {
                                std::cmp::Ordering::Less
                            }
                        }
                        (Some(a), Some(b)) => {
                            if descending {
                                b.cmp(a)
                            } else {
                                a.cmp(b)
                            }
                        }
                    };
                    keys.then(ra.created.cmp(&rb.created))
                        .then(ra.id.cmp(&rb.id))
                });
                let expected: Vec<&str> = expected.iter().map(|(_, r)| r.id.as_str()).collect();
                let search = Search {
                    filter: None,
                    sort: Some((&resolved, descending)),
                    offset: 0,
                    limit: 1000,
                    location_prefix: None,
                };
                let query = ListQuery::new(&USERS, dialect, org, &search)
                    .map_err(|e| TestCaseError::fail(format!("{sort_by}: {e}")))?;
                let page = resources::list(&mut conn, &query).map_err(|e| {
                    let source = std::error::Error::source(&e).map(ToString::to_string);
                    TestCaseError::fail(format!("{sort_by}: {e}: {source:?}"))
                })?;
                let actual: Vec<&str> = page.items.iter().map(|r| r.id.as_str()).collect();
                prop_assert_eq!(
                    actual,
                    expected,
                    "sortBy={} descending={}",
                    sort_by,
                    descending
                );
            }
        }
        Ok(())
    });
    if let Err(failure) = result {
        panic!("{failure}");
    }
});
