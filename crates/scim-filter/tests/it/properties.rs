//! Property tests: printing then parsing gives back the tree; no input panics the parser.

use proptest::prelude::*;
use scim_filter::{
    parse, parse_path, AttrPath, CompValue, CompareOp, Filter, ParseOptions, PatchPath,
};

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z][a-zA-Z0-9_-]{0,8}",
        Just("$ref".to_owned()),
        // Names that collide with keywords are still names where a name is expected.
        prop::sample::select(vec!["and", "or", "not", "pr", "eq", "true", "null", "urn"])
            .prop_map(str::to_owned),
    ]
}

fn urn() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("urn:ietf:params:scim:schemas:core:2.0:User".to_owned()),
        Just("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User".to_owned()),
        prop::collection::vec("[a-zA-Z0-9.+-]{1,6}", 1..4)
            .prop_map(|s| format!("urn:{}", s.join(":"))),
    ]
}

fn attr_path(allow_sub: bool) -> impl Strategy<Value = AttrPath> {
    let sub = if allow_sub {
        prop::option::of(name()).boxed()
    } else {
        Just(None).boxed()
    };
    (prop::option::of(urn()), name(), sub).prop_map(|(urn, name, sub_attr)| AttrPath {
        urn,
        name,
        sub_attr,
    })
}

fn comp_value() -> impl Strategy<Value = CompValue> {
    prop_oneof![
        Just(CompValue::Null),
        any::<bool>().prop_map(CompValue::Bool),
        any::<i64>().prop_map(|n| CompValue::Number(n.into())),
        any::<u64>().prop_map(|n| CompValue::Number(n.into())),
        any::<f64>()
            .prop_filter_map("finite", serde_json::Number::from_f64)
            .prop_map(CompValue::Number),
        // No string value holds NUL: the parser refuses it.
        any::<String>().prop_map(|s| CompValue::String(s.replace('\0', ""))),
    ]
}

fn leaf() -> impl Strategy<Value = Filter> {
    prop_oneof![
        (
            attr_path(true),
            prop::sample::select(CompareOp::ALL.to_vec()),
            comp_value()
        )
            .prop_map(|(path, op, value)| Filter::Compare { path, op, value }),
        attr_path(true).prop_map(Filter::Present),
    ]
}

/// Filters without value paths: what may stand inside brackets.
fn value_filter() -> impl Strategy<Value = Filter> {
    leaf().prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Filter::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Filter::Or),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
}

fn filter() -> impl Strategy<Value = Filter> {
    let value_path =
        (attr_path(false), value_filter()).prop_map(|(attr, filter)| Filter::ValuePath {
            attr,
            filter: Box::new(filter),
        });
    prop_oneof![3 => leaf(), 1 => value_path].prop_recursive(4, 32, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..5).prop_map(Filter::And),
            prop::collection::vec(inner.clone(), 2..5).prop_map(Filter::Or),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
}

fn patch_path() -> impl Strategy<Value = PatchPath> {
    prop_oneof![
        attr_path(true).prop_map(PatchPath::Attr),
        (attr_path(false), value_filter(), prop::option::of(name())).prop_map(
            |(attr, filter, sub_attr)| PatchPath::Filtered {
                attr,
                filter,
                sub_attr,
            }
        ),
    ]
}

/// Text that looks like filters, so random inputs reach deep into the grammar.
fn filterish() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            " ",
            " ",
            "(",
            ")",
            "[",
            "]",
            "\"",
            "\\",
            ".",
            ":",
            "a",
            "userName",
            "emails",
            "value",
            "eq",
            "ne",
            "co",
            "pr",
            "gt",
            "and",
            "or",
            "not",
            "true",
            "null",
            "1",
            "-2.5e3",
            "\"x\"",
            "\"\\u00e9\"",
            "urn:ietf:params:scim:schemas:core:2.0:User:",
            "$ref",
            "é",
            "\u{0}",
        ]),
        0..40,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn printed_filters_parse_back_to_the_same_tree(f in filter()) {
        let printed = f.to_string();
        let options = ParseOptions {
            max_length: usize::MAX,
            max_nodes: usize::MAX,
            ..ParseOptions::default()
        };
        let reparsed = options.parse(&printed);
        prop_assert_eq!(reparsed.as_ref(), Ok(&f), "printed: {}", printed);
    }

    #[test]
    fn printed_paths_parse_back_to_the_same_tree(p in patch_path()) {
        let printed = p.to_string();
        let options = ParseOptions {
            max_length: usize::MAX,
            max_nodes: usize::MAX,
            ..ParseOptions::default()
        };
        let reparsed = options.parse_path(&printed);
        prop_assert_eq!(reparsed.as_ref(), Ok(&p), "printed: {}", printed);
    }

    #[test]
    fn arbitrary_strings_never_panic(input in any::<String>()) {
        let _ = parse(&input);
        let _ = parse_path(&input);
    }

    #[test]
    fn filter_like_strings_never_panic_and_reprint_stably(input in filterish()) {
        let _ = parse_path(&input);
        if let Ok(f) = parse(&input) {
            // The canonical form is a fixed point.
            let printed = f.to_string();
            let again = parse(&printed).expect("canonical form parses");
            prop_assert_eq!(&again, &f);
            prop_assert_eq!(again.to_string(), printed);
        }
    }
}
