//! The search document keeps filter semantics: evaluating a filter on a resource and on its
//! search document gives the same answer, which is what lets the store filter in SQL.

use proptest::prelude::*;
use scim_model::filter::CompiledFilter;
use scim_model::schema::SchemaRegistry;
use scim_model::search::search_document;
use scim_model::testing::{arb_user, arb_user_filter};

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1024))]

    /// RFC 7644 §3.4.2.2 semantics survive the search document's folding and pruning.
    #[test]
    fn search_documents_answer_filters_like_the_resource(
        users in prop::collection::vec(arb_user(), 1..4),
        filter in arb_user_filter(),
    ) {
        let registry = SchemaRegistry::standard();
        let rt = registry.resource_type("User").unwrap();
        let compiled = CompiledFilter::compile(&filter, rt)
            .unwrap_or_else(|e| panic!("generated filter {filter} rejected: {e}"));
        for user in &users {
            let document = search_document(user, rt);
            prop_assert_eq!(
                compiled.matches(user),
                compiled.matches(&document),
                "filter {} on {} / {}", filter, user, document
            );
        }
    }

    /// Folding and normalising twice changes nothing.
    #[test]
    fn search_documents_are_idempotent(user in arb_user()) {
        let registry = SchemaRegistry::standard();
        let rt = registry.resource_type("User").unwrap();
        let once = search_document(&user, rt);
        prop_assert_eq!(search_document(&once, rt), once);
    }
}
