//! Errors: what was expected where, limits, leniency.

use scim_filter::{parse, parse_path, CompValue, ErrorKind, Filter, ParseOptions};

fn syntax_at(input: &str) -> (usize, String) {
    let err = parse(input).unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::Syntax { .. }),
        "{input}: {err:?}"
    );
    (err.position(), err.to_string())
}

#[test]
fn errors_name_the_position_and_what_was_expected() {
    let (pos, msg) = syntax_at(r#"userName equals "x""#);
    assert_eq!(pos, 9);
    assert!(msg.contains("expected an operator"), "{msg}");
    assert!(msg.contains("after 9 characters"), "{msg}");
    assert!(msg.contains(r#"found "equals \"x\"""#), "{msg}");

    let (pos, msg) = syntax_at(r#"userName eq"#);
    assert_eq!(pos, 11, "{msg}");

    let (pos, msg) = syntax_at(r#"userName eq "x" and"#);
    assert_eq!(pos, 19, "{msg}");
    assert!(msg.contains("expected a filter expression"), "{msg}");

    let (pos, msg) = syntax_at(r#"userName eq "x" xor b pr"#);
    assert_eq!(pos, 16, "{msg}");
    assert!(msg.contains("end of the expression"), "{msg}");

    let (pos, msg) = syntax_at(r#"userName eq "unterminated"#);
    assert_eq!(pos, 12, "{msg}");
    assert!(msg.contains("a value"), "{msg}");

    let (_, msg) = syntax_at(r#"(userName eq "x""#);
    assert!(msg.contains("found the end of the input"), "{msg}");

    // Positions count characters, not bytes.
    let (pos, _) = syntax_at("a eq \"é\" xx");
    assert_eq!(pos, 9);
    // Only ASCII letters start an attribute name (RFC 7644 ATTRNAME = ALPHA *(nameChar)).
    assert_eq!(syntax_at("émail pr").0, 0);
}

#[test]
fn malformed_inputs_are_errors() {
    for input in [
        "",
        "   ",
        "userName",
        "userName eq",
        r#"eq "x""#,
        r#"userName eq "x" or"#,
        r#"userName eq "x" and and b pr"#,
        r#"userName eq 'x'"#,
        r#"userName eq "x"  garbage"#,
        r#"(userName eq "x""#,
        r#"userName eq "x")"#,
        r#"emails[type eq "work""#,
        r#"emails[]"#,
        r#"not userName eq "x""#,
        r#"1abc eq "x""#,
        r#"name. eq "x""#,
        r#"name.given.more eq "x""#,
        r#"a eq 01"#,
        r#"a eq 1."#,
        r#"a eq .5"#,
        r#"a eq +1"#,
        r#"a eq truex"#,
        r#"a eq 12abc"#,
        "a eq \"tab\tinside\"",
        r#"a eq "\x""#,
        r#"a eq "\ud800""#,
        r#"a eq 1e999"#,
        r#"userName eq"x""#,
        r#"a pr and(b pr)"#,
        r#"urn:ietf:params:scim:schemas:core:2.0:User: eq 1"#,
    ] {
        assert!(parse(input).is_err(), "accepted {input:?}");
    }
}

#[test]
fn specific_error_kinds() {
    assert_eq!(parse("").unwrap_err().kind(), &ErrorKind::Empty);
    assert!(matches!(
        parse(r#"a eq "\ud800""#).unwrap_err().kind(),
        ErrorKind::InvalidString(_)
    ));
    assert_eq!(
        parse("a eq 1e999").unwrap_err().kind(),
        &ErrorKind::InvalidNumber
    );
    assert_eq!(
        parse("a eq jyoung").unwrap_err().kind(),
        &ErrorKind::UnquotedValue
    );
}

#[test]
fn path_errors() {
    for input in [
        "",
        "members[",
        "members[value eq \"x\"",
        "members[value eq \"x\"].",
        "members[value eq \"x\"].a.b",
        "members.value.x",
        "members value",
        "\"members\"",
    ] {
        assert!(parse_path(input).is_err(), "accepted {input:?}");
    }
}

/// Hostile nesting is refused by a linear pre-scan, long before the recursive parser could
/// overflow its stack.
#[test]
fn nesting_limit() {
    let options = ParseOptions::default();
    let deep = |n: usize| format!("{}a pr{}", "(".repeat(n), ")".repeat(n));
    assert!(options.parse(&deep(options.max_depth)).is_ok());
    let err = options.parse(&deep(options.max_depth + 1)).unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::TooDeep {
            max: options.max_depth
        }
    );
    assert_eq!(err.position(), options.max_depth);

    // Far past the limit, and unbalanced: still a clean error.
    let huge = "(".repeat(15_000);
    assert!(matches!(
        parse(&huge).unwrap_err().kind(),
        ErrorKind::TooDeep { .. }
    ));
    let not_chain = "not (".repeat(3_000) + "a pr" + &")".repeat(3_000);
    assert!(parse(&not_chain).is_err());

    // Parentheses inside strings do not count.
    let inside = format!("a eq \"{}\"", "(".repeat(1_000));
    assert!(parse(&inside).is_ok());
    // Brackets count as nesting too.
    let strict = ParseOptions {
        max_depth: 1,
        ..ParseOptions::default()
    };
    assert!(strict.parse(r#"emails[type eq "work"]"#).is_ok());
    assert!(strict.parse(r#"(emails[type eq "work"])"#).is_err());
}

#[test]
fn length_limit() {
    let options = ParseOptions {
        max_length: 20,
        ..ParseOptions::default()
    };
    assert!(options.parse(r#"userName eq "abcde""#).is_ok());
    let err = options.parse(r#"userName eq "abcdefgh""#).unwrap_err();
    assert_eq!(
        err.kind(),
        &ErrorKind::TooLong {
            length: 22,
            max: 20
        }
    );
    assert_eq!(
        err.to_string(),
        "expression is 22 characters long, more than the limit of 20"
    );
    // A long flat chain is fine within the default limit: it is parsed without recursion.
    let chain = vec![r#"id eq "0123456789""#; 500].join(" or ");
    let Filter::Or(items) = parse(&chain).unwrap() else {
        panic!("an or")
    };
    assert_eq!(items.len(), 500);
}

#[test]
fn unquoted_values_only_when_asked() {
    let lenient = ParseOptions {
        allow_unquoted_values: true,
        ..ParseOptions::default()
    };
    let value = |input: &str| match lenient.parse(input).unwrap() {
        Filter::Compare { value, .. } => value,
        other => panic!("{other:?}"),
    };
    assert_eq!(
        value("externalId eq jyoung"),
        CompValue::String("jyoung".into())
    );
    assert_eq!(
        value("externalId eq 0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef"),
        CompValue::String("0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef".into())
    );
    // Words that read as literals keep their meaning.
    assert_eq!(value("active eq true"), CompValue::Bool(true));
    assert_eq!(value("n eq 12"), CompValue::Number(12.into()));
    // A word that is not a number is a word, even when it starts with digits (GUIDs do).
    assert_eq!(value("n eq 12abc"), CompValue::String("12abc".into()));
    // Ambiguous forms are still errors: stray quotes, brackets.
    assert!(lenient.parse("n eq \"abc").is_err());
    assert!(lenient.parse("n eq ab\"c").is_err());
    // Printing quotes the value, so the canonical form parses without leniency.
    let f = lenient.parse("externalId eq jyoung and a pr").unwrap();
    assert_eq!(f.to_string(), r#"externalId eq "jyoung" and a pr"#);
    assert_eq!(parse(&f.to_string()).unwrap(), f);
}

#[test]
fn messages_read_well() {
    for (input, expected) in [
        ("userName", "expected an operator (eq, ne, co, sw, ew, gt, lt, ge, le or pr) after 8 characters, found the end of the input"),
        ("userName eq", "expected a value (a quoted string, a number, true, false or null) after 11 characters, found the end of the input"),
        ("userName eq 'x'", "string values must be quoted after 12 characters, found \"'x'\""),
        ("= 1", "expected a filter expression at the start, found \"= 1\""),
        ("a", "expected an operator (eq, ne, co, sw, ew, gt, lt, ge, le or pr) after 1 character, found the end of the input"),
    ] {
        assert_eq!(parse(input).unwrap_err().to_string(), expected, "{input}");
    }
}

/// The number a message prints is `position()`, which counts characters, not bytes: the input
/// after that many characters is what the message quotes as "found".
#[test]
fn the_message_prints_the_position() {
    for input in [
        r#"userName equals "x""#,
        r#"name.givenName eq "Zoë" and émails[type eq "work"] xx"#,
        r#"emails[type eq "work" and value co "@"] or"#,
        "(((a pr)",
        "title pr and ((((",
        r#"displayName eq "日本語" and"#,
        "userName eq 'x'",
        "a",
    ] {
        let error = parse(input).unwrap_err();
        let position = error.position();
        let message = error.to_string();
        let printed = match position {
            0 => "at the start".to_owned(),
            1 => "after 1 character".to_owned(),
            n => format!("after {n} characters"),
        };
        assert!(message.contains(&printed), "{input}: {position}: {message}");
        let rest: String = input.chars().skip(position).take(12).collect();
        if rest.is_empty() {
            assert!(message.ends_with("found the end of the input"), "{message}");
        } else {
            // The quoted snippet may go on with `…`, so its closing quote is not compared.
            let quoted = format!("{rest:?}");
            let opening = quoted.strip_suffix('"').unwrap_or(&quoted);
            assert!(
                message.contains(&format!("found {opening}")),
                "{input}: {message}"
            );
        }
    }
}

/// A string literal holding U+0000 is refused whatever its spelling (a JSON `\u0000` escape in a
/// quoted string, or the raw character in an unquoted word), in filters and PATCH paths alike:
/// RFC 7644 §3.4.2.2 compares attribute values, and no SCIM value can hold NUL (PostgreSQL's
/// `text` cannot store it, so a server could only answer such a comparison with an error).
#[test]
fn nul_in_a_string_value_is_refused() {
    let lenient = ParseOptions {
        allow_unquoted_values: true,
        ..ParseOptions::default()
    };
    for input in [
        r#"userName eq "a\u0000b""#,
        r#"emails[value co "\u0000"]"#,
        r#"title pr or name.givenName sw "x\u0000""#,
    ] {
        let error = parse(input).unwrap_err();
        assert_eq!(error.kind(), &ErrorKind::NulInString, "{input}");
        assert!(error.to_string().contains("U+0000"), "{error}");
    }
    assert_eq!(
        lenient.parse("externalId eq a\u{0}b").unwrap_err().kind(),
        &ErrorKind::NulInString
    );
    assert_eq!(
        parse_path(r#"members[value eq "\u0000"]"#)
            .unwrap_err()
            .kind(),
        &ErrorKind::NulInString
    );
    // Other escaped control characters are ordinary characters of a value.
    assert_eq!(
        parse(r#"title eq "a\u0001\tb""#).unwrap(),
        parse("title eq \"a\\u0001\\tb\"").unwrap()
    );
}

/// The node count is bounded: each comparison, `pr`, `and`, `or`, `not` and value filter counts
/// one, so a flat chain that passes the length limit cannot make evaluation (or the SQL built
/// from the tree) arbitrarily large.
#[test]
fn node_limit() {
    let options = ParseOptions {
        max_nodes: 5,
        ..ParseOptions::default()
    };
    // `a pr or b pr or c pr or d pr`: four `pr` and one `or`.
    assert!(options.parse("a pr or b pr or c pr or d pr").is_ok());
    let error = options
        .parse("a pr or b pr or c pr or d pr or e pr")
        .unwrap_err();
    assert_eq!(error.kind(), &ErrorKind::TooManyNodes { max: 5 });
    // `not`, `and` inside brackets, the value filter and its folded tail all count.
    assert!(options
        .parse(r#"not (emails[type eq "work"].value eq "x")"#)
        .is_ok());
    assert!(options
        .parse(r#"not (emails[type eq "work" and primary eq true].value eq "x")"#)
        .is_err());
    assert!(options
        .parse_path(r#"emails[a pr or b pr or c pr]"#)
        .is_ok());
    assert!(options
        .parse_path(r#"emails[a pr or b pr or c pr or d pr or e pr]"#)
        .is_err());

    // The default: 1 000 nodes; 999 `or`ed comparisons and their `or` are 1 000.
    let chain = |n: usize| vec!["a pr"; n].join(" or ");
    assert!(parse(&chain(999)).is_ok());
    assert_eq!(
        parse(&chain(1000)).unwrap_err().kind(),
        &ErrorKind::TooManyNodes { max: 1000 }
    );
}
