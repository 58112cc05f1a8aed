//! Generators of users and filters for property tests, here and in the crates built on this
//! one (the store's SQL is tested against the in-memory evaluator on exactly these).
//!
//! Enabled by the `testing` feature; never part of a release build.

use proptest::prelude::*;
use scim_filter::{AttrPath, CompValue, CompareOp, Filter};
use serde_json::{json, Map, Value};

use crate::schema::ENTERPRISE_USER;

/// Fragments strings are made of: case pairs (ASCII and not), characters SQL `LIKE` would treat
/// specially, ones whose lowercase form differs in length, and `é` decomposed (`e` + U+0301),
/// which folds to the precomposed `é` (NFC).
const PIECES: &[&str] = &[
    "a", "A", "b", "é", "É", "e\u{301}", "E\u{301}", "ß", "İ", "%", "_", "\\", "x@y.com",
    "X@Y.COM", "work", "Work", " ",
];

/// A string of zero to three fragments.
pub fn arb_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 0..4).prop_map(|parts| parts.concat())
}

/// An `xsd:dateTime` around 2021, in several offsets and precisions.
pub fn arb_date_time() -> impl Strategy<Value = String> {
    (
        0i64..4,
        0i64..3,
        prop::sample::select(vec![0i32, 60, -150, 330]),
        prop::option::of(0u32..1000),
    )
        .prop_map(|(day, hour, offset_minutes, millis)| {
            let base = 1_609_459_200 + day * 86_400 + hour * 3_600;
            let offset = chrono::FixedOffset::east_opt(offset_minutes * 60).unwrap_or_else(|| {
                chrono::FixedOffset::east_opt(0).unwrap_or_else(|| unreachable!())
            });
            let at = chrono::DateTime::from_timestamp(base, millis.unwrap_or(0) * 1_000_000)
                .unwrap_or_default()
                .with_timezone(&offset);
            let format = if millis.is_some() {
                "%Y-%m-%dT%H:%M:%S%.3f%:z"
            } else {
                "%Y-%m-%dT%H:%M:%S%:z"
            };
            at.format(format).to_string()
        })
}

fn optional(map: &mut Map<String, Value>, key: &str, value: Option<Value>) {
    if let Some(value) = value {
        map.insert(key.to_owned(), value);
    }
}

/// A User resource as the server stores it (canonical keys), with optional and empty values,
/// emails, a name, meta dates and sometimes the enterprise extension.
pub fn arb_user() -> impl Strategy<Value = Value> {
    let email = (
        prop::option::of(arb_text()),
        prop::option::of(prop::sample::select(vec!["work", "home", "Work", "other"])),
        prop::option::of(any::<bool>()),
    )
        .prop_map(|(value, kind, primary)| {
            let mut email = Map::new();
            optional(&mut email, "value", value.map(Value::from));
            optional(&mut email, "type", kind.map(Value::from));
            optional(&mut email, "primary", primary.map(Value::from));
            Value::Object(email)
        });
    let enterprise = (prop::option::of(arb_text()), prop::option::of(arb_text())).prop_map(
        |(number, manager)| {
            let mut extension = Map::new();
            optional(&mut extension, "employeeNumber", number.map(Value::from));
            optional(
                &mut extension,
                "manager",
                manager.map(|m| json!({ "value": m })),
            );
            Value::Object(extension)
        },
    );
    (
        (
            arb_text(),
            prop::option::of(arb_text()),
            prop::option::of(arb_text()),
        ),
        (
            prop::option::of(arb_text()),
            prop::option::of(any::<bool>()),
        ),
        (prop::option::of(arb_text()), prop::option::of(arb_text())),
        prop::collection::vec(email, 0..3),
        (arb_date_time(), arb_date_time()),
        prop::option::of(enterprise),
    )
        .prop_map(
            |(
                (user_name, external_id, display_name),
                (title, active),
                (given, family),
                emails,
                (created, modified),
                enterprise,
            )| {
                let mut user = Map::new();
                let mut schemas = vec![Value::from(crate::schema::USER)];
                user.insert("userName".into(), user_name.into());
                optional(&mut user, "externalId", external_id.map(Value::from));
                optional(&mut user, "displayName", display_name.map(Value::from));
                optional(&mut user, "title", title.map(Value::from));
                optional(&mut user, "active", active.map(Value::from));
                if given.is_some() || family.is_some() {
                    let mut name = Map::new();
                    optional(&mut name, "givenName", given.map(Value::from));
                    optional(&mut name, "familyName", family.map(Value::from));
                    user.insert("name".into(), Value::Object(name));
                }
                if !emails.is_empty() {
                    user.insert("emails".into(), Value::Array(emails));
                }
                user.insert(
                    "meta".into(),
                    json!({"resourceType": "User", "created": created, "lastModified": modified}),
                );
                if let Some(extension) = enterprise {
                    schemas.push(Value::from(ENTERPRISE_USER));
                    user.insert(ENTERPRISE_USER.into(), extension);
                }
                user.insert("schemas".into(), Value::Array(schemas));
                Value::Object(user)
            },
        )
}

fn path(text: &str) -> AttrPath {
    match scim_filter::parse_path(text) {
        Ok(scim_filter::PatchPath::Attr(path)) => path,
        _ => AttrPath::new(text),
    }
}

fn string_paths() -> Vec<AttrPath> {
    [
        "userName",
        "USERNAME",
        "externalId",
        "displayName",
        "title",
        "name.givenName",
        "name.familyName",
        "emails.value",
        "emails.type",
        "employeeNumber",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
        "urn:ietf:params:scim:schemas:core:2.0:User:userName",
    ]
    .into_iter()
    .map(path)
    .collect()
}

fn present_paths() -> Vec<AttrPath> {
    let mut paths = string_paths();
    paths.extend(
        [
            "emails",
            "active",
            "name",
            "emails.primary",
            "meta.lastModified",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
        ]
        .map(path),
    );
    paths
}

/// The operators a complex attribute takes: it compares its `value`, and is never ordered.
const UNORDERED: [CompareOp; 5] = [
    CompareOp::Eq,
    CompareOp::Ne,
    CompareOp::Co,
    CompareOp::Sw,
    CompareOp::Ew,
];

fn text_literal() -> impl Strategy<Value = CompValue> {
    prop_oneof![8 => arb_text().prop_map(CompValue::String), 1 => Just(CompValue::Null)]
}

fn comparison(paths: Vec<AttrPath>, ops: &[CompareOp]) -> impl Strategy<Value = Filter> {
    (
        prop::sample::select(paths),
        prop::sample::select(ops.to_vec()),
        text_literal(),
    )
        .prop_map(|(path, op, value)| {
            let op = if value == CompValue::Null && !matches!(op, CompareOp::Eq | CompareOp::Ne) {
                CompareOp::Eq
            } else {
                op
            };
            Filter::compare(path, op, value)
        })
}

fn leaf() -> impl Strategy<Value = Filter> {
    let boolean = (
        prop::sample::select(vec![path("active"), path("emails.primary")]),
        prop::sample::select(vec![CompareOp::Eq, CompareOp::Ne]),
        any::<bool>(),
    )
        .prop_map(|(path, op, b)| Filter::compare(path, op, CompValue::Bool(b)));
    let date = (
        prop::sample::select(vec![path("meta.lastModified"), path("meta.created")]),
        prop::sample::select(vec![
            CompareOp::Eq,
            CompareOp::Ne,
            CompareOp::Gt,
            CompareOp::Ge,
            CompareOp::Lt,
            CompareOp::Le,
        ]),
        arb_date_time(),
    )
        .prop_map(|(path, op, at)| Filter::compare(path, op, CompValue::String(at)));
    let present = prop::sample::select(present_paths()).prop_map(Filter::Present);
    prop_oneof![
        6 => comparison(string_paths(), &CompareOp::ALL),
        1 => comparison(vec![path("emails")], &UNORDERED),
        2 => boolean,
        2 => date,
        2 => present,
        2 => email_value_path(),
        2 => email_lookup(),
    ]
}

/// The spellings of one email lookup that identity providers and the interoperability profiles
/// send, which must all mean the same thing: `emails.value eq`, `emails[value eq]`,
/// `emails[type eq … and value eq …]` (IPSIE) and `emails[type eq …].value eq …` (Entra ID).
fn email_lookup() -> impl Strategy<Value = Filter> {
    (0..4usize, arb_text(), arb_text()).prop_map(|(spelling, kind, value)| {
        let json = |text: &str| Value::String(text.to_owned()).to_string();
        let (kind_literal, value_literal) = (json(&kind), json(&value));
        let text = match spelling {
            0 => format!("emails.value eq {value_literal}"),
            1 => format!("emails[value eq {value_literal}]"),
            2 => format!("emails[type eq {kind_literal} and value eq {value_literal}]"),
            _ => format!("emails[type eq {kind_literal}].value eq {value_literal}"),
        };
        scim_filter::parse(&text).unwrap_or_else(|_| {
            Filter::compare(
                path("emails.value"),
                CompareOp::Eq,
                CompValue::String(value),
            )
        })
    })
}

fn email_value_path() -> impl Strategy<Value = Filter> {
    let inner_leaf = prop_oneof![
        comparison(
            vec![AttrPath::new("value"), AttrPath::new("type")],
            &CompareOp::ALL
        ),
        any::<bool>().prop_map(|b| Filter::compare(
            AttrPath::new("primary"),
            CompareOp::Eq,
            CompValue::Bool(b)
        )),
        prop::sample::select(vec!["value", "type", "primary"])
            .prop_map(|name| Filter::Present(AttrPath::new(name))),
    ];
    let inner = inner_leaf.prop_recursive(2, 6, 2, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..3).prop_map(Filter::And),
            prop::collection::vec(inner.clone(), 2..3).prop_map(Filter::Or),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    });
    inner.prop_map(|filter| Filter::ValuePath {
        attr: AttrPath::new("emails"),
        filter: Box::new(filter),
    })
}

/// A filter over the attributes [`arb_user`] fills, every one valid for the User type.
pub fn arb_user_filter() -> impl Strategy<Value = Filter> {
    leaf().prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 2..4).prop_map(Filter::And),
            prop::collection::vec(inner.clone(), 2..4).prop_map(Filter::Or),
            inner.prop_map(|f| Filter::Not(Box::new(f))),
        ]
    })
}
