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
use scim_store::filter_sql::UserFilterSql;
use scim_store::user_documents::UserColumns;
use scim_store::users::{self, UserQuery, UserRecord};
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
        "version": format!("W/\"{}\"", record.version),
    });
    resource
}

store_test!(sql_filters_answer_like_the_evaluator, |store| {
    let registry = SchemaRegistry::standard();
    let rt = registry.resource_type("User").unwrap();
    let translator = UserFilterSql::new(store.dialect(), Some(LOCATION.to_owned()));
    let mut runner = TestRunner::new(Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    });
    let case = std::sync::atomic::AtomicU32::new(0);
    let strategy = (
        prop::collection::vec(arb_user(), 1..8),
        prop::collection::vec(arb_user_filter(), 1..12),
    );
    let result = runner.run(&strategy, |(generated, filters)| {
        let case = case.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut conn = store.get().unwrap();
        // A fresh organisation per case isolates the cases as a fresh database would.
        let org = orgs::create(&mut conn, &format!("case-{case}")).unwrap().id;
        let mut stored = Vec::new();
        for (i, mut document) in generated.into_iter().enumerate() {
            document.as_object_mut().unwrap().remove("meta");
            let columns = UserColumns::derive(&document, rt);
            let new = columns.into_new_user(format!("u{i}"), None, vec![]);
            match users::create(&mut conn, org, &new) {
                Ok(record) => stored.push(record),
                // Generated userNames can collide case-insensitively; that user is just absent.
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
            let query = UserQuery {
                filter: Some(translator.condition(&compiled)),
                ..UserQuery::page(0, 1000)
            };
            let page = users::list(&mut conn, org, &query).map_err(|e| {
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
