//! Parses SCIM filters (RFC 7644 §3.4.2.2) with `scim-filter`, prints each tree and its
//! canonical form, and evaluates it against a user held as JSON with `scim-model`.
//!
//! `cargo run -p filter-parse` runs the built-in filters and checks what each must give, so CI
//! notices when an answer changes; `cargo run -p filter-parse -- 'name.familyName sw "J"'`
//! shows your own filters instead.

use std::fmt::Write as _;
use std::process::ExitCode;

use scim_filter::{parse, Filter};
use scim_model::filter::CompiledFilter;
use scim_model::schema::{ResourceTypeView, SchemaRegistry};
use serde_json::{json, Value};

/// What a built-in filter must give against [`user`].
#[derive(Debug, PartialEq)]
enum Expected {
    Matches,
    DoesNotMatch,
    /// The parser refuses it, at this position (characters before the problem).
    SyntaxErrorAt(usize),
    /// It parses, but the User schema makes it meaningless (`invalidFilter`).
    Refused,
}

const BUILT_IN: &[(&str, Expected)] = &[
    (r#"userName eq "BJENSEN""#, Expected::Matches),
    (
        r#"emails[type eq "work" and value ew "@example.com"]"#,
        Expected::Matches,
    ),
    (
        r#"name.familyName sw "J" and not (active eq false)"#,
        Expected::Matches,
    ),
    (
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "Tours" or title pr"#,
        Expected::Matches,
    ),
    (
        r#"meta.lastModified gt "2026-01-01T00:00:00Z""#,
        Expected::DoesNotMatch,
    ),
    (r#"userName equals "bjensen""#, Expected::SyntaxErrorAt(9)),
    (r#"emails[type eq "work""#, Expected::SyntaxErrorAt(21)),
    (r#"password eq "t1meMa$heen""#, Expected::Refused),
];

fn user() -> Value {
    json!({
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        ],
        "id": "2819c223-7f76-453a-919d-413861904646",
        "userName": "bjensen",
        "name": {"givenName": "Barbara", "familyName": "Jensen"},
        "active": true,
        "emails": [
            {"value": "bjensen@example.com", "type": "work", "primary": true},
            {"value": "babs@jensen.org", "type": "home"},
        ],
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "Tours"},
        "meta": {"resourceType": "User", "lastModified": "2025-06-01T08:00:00Z"},
    })
}

fn main() -> ExitCode {
    let registry = SchemaRegistry::standard();
    let Some(users) = registry.resource_type("User") else {
        eprintln!("the standard registry has no User resource type");
        return ExitCode::FAILURE;
    };
    let user = user();
    let own: Vec<String> = std::env::args().skip(1).collect();
    if !own.is_empty() {
        for input in &own {
            println!("{}", report(input, users, &user).0);
        }
        return ExitCode::SUCCESS;
    }
    println!("The user: {user:#}\n");
    let mut wrong = 0;
    for (input, expected) in BUILT_IN {
        let (text, outcome) = report(input, users, &user);
        println!("{text}");
        if outcome != *expected {
            eprintln!("UNEXPECTED: {input}: {outcome:?}, expected {expected:?}\n");
            wrong += 1;
        }
    }
    if wrong == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// What `input` parses to, and what it gives against `user`.
fn report(input: &str, users: ResourceTypeView<'_>, user: &Value) -> (String, Expected) {
    let mut text = format!("filter    {input}\n");
    let filter = match parse(input) {
        Ok(filter) => filter,
        Err(error) => {
            // The position counts characters, so a caret under the input points at it.
            let caret = " ".repeat(error.position());
            let _ = writeln!(text, "          {caret}^\nerror     {error}");
            return (text, Expected::SyntaxErrorAt(error.position()));
        }
    };
    let _ = writeln!(text, "canonical {filter}\ntree");
    tree(&filter, 1, &mut text);
    let outcome = match CompiledFilter::compile(&filter, users) {
        Ok(compiled) if compiled.matches(user) => Expected::Matches,
        Ok(_) => Expected::DoesNotMatch,
        Err(error) => {
            let _ = writeln!(text, "refused   {} {error}", error.status());
            return (text, Expected::Refused);
        }
    };
    let answer = match outcome {
        Expected::Matches => "matches the user",
        _ => "does not match the user",
    };
    let _ = writeln!(text, "result    {answer}");
    (text, outcome)
}

/// The filter as an indented tree, one node a line.
fn tree(filter: &Filter, depth: usize, out: &mut String) {
    let indent = "  ".repeat(depth);
    match filter {
        Filter::Compare { path, op, value } => {
            let _ = writeln!(out, "{indent}compare  {path} {op} {value}");
        }
        Filter::Present(path) => {
            let _ = writeln!(out, "{indent}present  {path}");
        }
        Filter::And(parts) | Filter::Or(parts) => {
            let word = if matches!(filter, Filter::And(_)) {
                "and"
            } else {
                "or"
            };
            let _ = writeln!(out, "{indent}{word}");
            for part in parts {
                tree(part, depth + 1, out);
            }
        }
        Filter::Not(inner) => {
            let _ = writeln!(out, "{indent}not");
            tree(inner, depth + 1, out);
        }
        Filter::ValuePath { attr, filter } => {
            let _ = writeln!(out, "{indent}some value of {attr} where");
            tree(filter, depth + 1, out);
        }
    }
}
