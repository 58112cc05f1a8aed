//! Every filter example of RFC 7644 §3.4.2.2 and every PATCH path example of §3.5.2.

use scim_filter::{parse, parse_path, AttrPath, CompValue, CompareOp, Filter, PatchPath};

fn s(value: &str) -> CompValue {
    CompValue::String(value.to_owned())
}

fn cmp(path: AttrPath, op: CompareOp, value: CompValue) -> Filter {
    Filter::compare(path, op, value)
}

fn attr(name: &str) -> AttrPath {
    AttrPath::new(name)
}

fn sub(name: &str, sub: &str) -> AttrPath {
    AttrPath::with_sub(name, sub)
}

/// RFC 7644 §3.4.2.2, the examples listed after Figure 2, one by one.
#[test]
fn rfc7644_3_4_2_2_filter_examples() {
    use CompareOp::*;
    let last_modified = || sub("meta", "lastModified");
    let cases: Vec<(&str, Filter)> = vec![
        (
            r#"userName eq "bjensen""#,
            cmp(attr("userName"), Eq, s("bjensen")),
        ),
        (
            r#"name.familyName co "O'Malley""#,
            cmp(sub("name", "familyName"), Co, s("O'Malley")),
        ),
        (r#"userName sw "J""#, cmp(attr("userName"), Sw, s("J"))),
        (
            r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "J""#,
            cmp(
                attr("userName").in_schema("urn:ietf:params:scim:schemas:core:2.0:User"),
                Sw,
                s("J"),
            ),
        ),
        ("title pr", Filter::Present(attr("title"))),
        (
            r#"meta.lastModified gt "2011-05-13T04:42:34Z""#,
            cmp(last_modified(), Gt, s("2011-05-13T04:42:34Z")),
        ),
        (
            r#"meta.lastModified ge "2011-05-13T04:42:34Z""#,
            cmp(last_modified(), Ge, s("2011-05-13T04:42:34Z")),
        ),
        (
            r#"meta.lastModified lt "2011-05-13T04:42:34Z""#,
            cmp(last_modified(), Lt, s("2011-05-13T04:42:34Z")),
        ),
        (
            r#"meta.lastModified le "2011-05-13T04:42:34Z""#,
            cmp(last_modified(), Le, s("2011-05-13T04:42:34Z")),
        ),
        (
            r#"title pr and userType eq "Employee""#,
            Filter::And(vec![
                Filter::Present(attr("title")),
                cmp(attr("userType"), Eq, s("Employee")),
            ]),
        ),
        (
            r#"title pr or userType eq "Intern""#,
            Filter::Or(vec![
                Filter::Present(attr("title")),
                cmp(attr("userType"), Eq, s("Intern")),
            ]),
        ),
        (
            r#"schemas eq "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User""#,
            cmp(
                attr("schemas"),
                Eq,
                s("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
            ),
        ),
        (
            r#"userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")"#,
            Filter::And(vec![
                cmp(attr("userType"), Eq, s("Employee")),
                Filter::Or(vec![
                    cmp(attr("emails"), Co, s("example.com")),
                    cmp(sub("emails", "value"), Co, s("example.org")),
                ]),
            ]),
        ),
        (
            r#"userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")"#,
            Filter::And(vec![
                cmp(attr("userType"), Ne, s("Employee")),
                Filter::Not(Box::new(Filter::Or(vec![
                    cmp(attr("emails"), Co, s("example.com")),
                    cmp(sub("emails", "value"), Co, s("example.org")),
                ]))),
            ]),
        ),
        (
            r#"userType eq "Employee" and (emails.type eq "work")"#,
            Filter::And(vec![
                cmp(attr("userType"), Eq, s("Employee")),
                cmp(sub("emails", "type"), Eq, s("work")),
            ]),
        ),
        (
            r#"userType eq "Employee" and emails[type eq "work" and value co "@example.com"]"#,
            Filter::And(vec![
                cmp(attr("userType"), Eq, s("Employee")),
                Filter::ValuePath {
                    attr: attr("emails"),
                    filter: Box::new(Filter::And(vec![
                        cmp(attr("type"), Eq, s("work")),
                        cmp(attr("value"), Co, s("@example.com")),
                    ])),
                },
            ]),
        ),
        (
            r#"emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp" and value co "@foo.com"]"#,
            Filter::Or(vec![
                Filter::ValuePath {
                    attr: attr("emails"),
                    filter: Box::new(Filter::And(vec![
                        cmp(attr("type"), Eq, s("work")),
                        cmp(attr("value"), Co, s("@example.com")),
                    ])),
                },
                Filter::ValuePath {
                    attr: attr("ims"),
                    filter: Box::new(Filter::And(vec![
                        cmp(attr("type"), Eq, s("xmpp")),
                        cmp(attr("value"), Co, s("@foo.com")),
                    ])),
                },
            ]),
        ),
    ];
    for (input, expected) in cases {
        let parsed = parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(parsed, expected, "{input}");
        // The RFC examples are already canonical except for redundant parentheses.
        assert_eq!(parse(&parsed.to_string()).unwrap(), parsed, "{input}");
    }
}

/// RFC 7644 §3.4.2.2: "and" binds tighter than "or"; "not" and grouping.
#[test]
fn rfc7644_3_4_2_2_precedence() {
    let f = parse(r#"a eq 1 or b eq 2 and c eq 3"#).unwrap();
    let Filter::Or(items) = &f else {
        panic!("or at the top: {f:?}")
    };
    assert!(matches!(items[1], Filter::And(_)));
    assert_eq!(f.to_string(), "a eq 1 or b eq 2 and c eq 3");

    let f = parse(r#"(a eq 1 or b eq 2) and c eq 3"#).unwrap();
    assert_eq!(f.to_string(), "(a eq 1 or b eq 2) and c eq 3");
    let Filter::And(items) = &f else {
        panic!("and at the top: {f:?}")
    };
    assert!(matches!(items[0], Filter::Or(_)));

    // Explicit grouping keeps its own node, so the printed form keeps its parentheses.
    let f = parse("a pr and (b pr and c pr)").unwrap();
    assert_eq!(f.to_string(), "a pr and (b pr and c pr)");
    // Redundant parentheses around a single condition are dropped.
    assert_eq!(parse("((a pr))").unwrap().to_string(), "a pr");
}

/// RFC 7644 §3.4.2.2: operators and keywords are case-insensitive; values keep their case.
#[test]
fn rfc7644_3_4_2_2_case_insensitive_keywords() {
    let f = parse(r#"userName EQ "BJensen" AND title PR Or NOT (x Ne True)"#).unwrap();
    assert_eq!(
        f.to_string(),
        r#"userName eq "BJensen" and title pr or not (x ne true)"#
    );
    // Ping sends `Eq`, as documented in its filter expressions page.
    assert_eq!(
        parse(r#"username Eq "x""#).unwrap(),
        cmp(attr("username"), CompareOp::Eq, s("x"))
    );
}

/// RFC 7644 §3.4.2.2: compValue = false / null / true / number / string (JSON, RFC 7159).
#[test]
fn rfc7644_3_4_2_2_literals() {
    let value = |input: &str| match parse(&format!("a eq {input}")).unwrap() {
        Filter::Compare { value, .. } => value,
        other => panic!("{other:?}"),
    };
    assert_eq!(value("null"), CompValue::Null);
    assert_eq!(value("true"), CompValue::Bool(true));
    assert_eq!(value("FALSE"), CompValue::Bool(false));
    assert_eq!(value("42"), CompValue::Number(42.into()));
    assert_eq!(value("-7"), CompValue::Number((-7).into()));
    assert_eq!(value("1.5e3").to_string(), "1500.0");
    assert_eq!(value("0.25").to_string(), "0.25");
    assert_eq!(
        value(r#""a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00""#),
        s("a\"b\\c/d\u{8}\u{c}\n\r\té😀")
    );
    // Unicode passes through unescaped too.
    assert_eq!(value("\"Zoë\""), s("Zoë"));
    // Printing escapes what JSON requires and nothing else.
    assert_eq!(
        parse(r#"a eq "q\"b\\\u0001é""#).unwrap().to_string(),
        r#"a eq "q\"b\\\u0001é""#
    );
}

/// RFC 7643 §2.1 / RFC 7644 §3.10: `$ref` is an attribute name; URNs carry dots and digits.
#[test]
fn rfc7644_3_10_attribute_paths() {
    let f = parse(r#"members.$ref eq "https://example.com/v2/Users/1""#).unwrap();
    assert_eq!(
        f,
        cmp(
            sub("members", "$ref"),
            CompareOp::Eq,
            s("https://example.com/v2/Users/1")
        )
    );
    let f = parse(r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d""#).unwrap();
    let Filter::Compare { path, .. } = &f else {
        panic!("{f:?}")
    };
    assert_eq!(
        path.urn.as_deref(),
        Some("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User")
    );
    assert_eq!(path.name, "manager");
    assert_eq!(path.sub_attr.as_deref(), Some("value"));
    assert_eq!(
        f.to_string(),
        r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d""#
    );
}

/// The Entra ID form `emails[type eq "work"].value eq "x"`: one work email with that value.
#[test]
fn value_path_with_sub_attribute_comparison() {
    let f = parse(r#"emails[type eq "work"].value eq "a@b.c""#).unwrap();
    assert_eq!(
        f,
        Filter::ValuePath {
            attr: attr("emails"),
            filter: Box::new(Filter::And(vec![
                cmp(attr("type"), CompareOp::Eq, s("work")),
                cmp(attr("value"), CompareOp::Eq, s("a@b.c")),
            ])),
        }
    );
    assert_eq!(
        f.to_string(),
        r#"emails[type eq "work" and value eq "a@b.c"]"#
    );
    let f = parse(r#"emails[type eq "work"].value pr"#).unwrap();
    assert_eq!(f.to_string(), r#"emails[type eq "work" and value pr]"#);
}

/// RFC 7644 §3.5.2: every PATH example of the PATCH section.
#[test]
fn rfc7644_3_5_2_path_examples() {
    let members_filter = || {
        cmp(
            attr("value"),
            CompareOp::Eq,
            s("2819c223-7f76-453a-919d-413861904646"),
        )
    };
    let cases: Vec<(&str, PatchPath)> = vec![
        ("members", PatchPath::Attr(attr("members"))),
        (
            "name.familyName",
            PatchPath::Attr(sub("name", "familyName")),
        ),
        (
            r#"addresses[type eq "work"]"#,
            PatchPath::Filtered {
                attr: attr("addresses"),
                filter: cmp(attr("type"), CompareOp::Eq, s("work")),
                sub_attr: None,
            },
        ),
        (
            r#"members[value eq "2819c223-7f76-453a-919d-413861904646"]"#,
            PatchPath::Filtered {
                attr: attr("members"),
                filter: members_filter(),
                sub_attr: None,
            },
        ),
        (
            r#"members[value eq "2819c223-7f76-453a-919d-413861904646"].displayName"#,
            PatchPath::Filtered {
                attr: attr("members"),
                filter: members_filter(),
                sub_attr: Some("displayName".into()),
            },
        ),
        (
            r#"emails[type eq "work" and value ew "example.com"]"#,
            PatchPath::Filtered {
                attr: attr("emails"),
                filter: Filter::And(vec![
                    cmp(attr("type"), CompareOp::Eq, s("work")),
                    cmp(attr("value"), CompareOp::Ew, s("example.com")),
                ]),
                sub_attr: None,
            },
        ),
        (
            r#"addresses[type eq "work"].streetAddress"#,
            PatchPath::Filtered {
                attr: attr("addresses"),
                filter: cmp(attr("type"), CompareOp::Eq, s("work")),
                sub_attr: Some("streetAddress".into()),
            },
        ),
        (
            r#"emails[type eq "work"].value"#,
            PatchPath::Filtered {
                attr: attr("emails"),
                filter: cmp(attr("type"), CompareOp::Eq, s("work")),
                sub_attr: Some("value".into()),
            },
        ),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            PatchPath::Attr(
                sub("manager", "value")
                    .in_schema("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
            ),
        ),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
            PatchPath::Attr(
                attr("employeeNumber")
                    .in_schema("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"),
            ),
        ),
    ];
    for (input, expected) in cases {
        let parsed = parse_path(input).unwrap_or_else(|e| panic!("{input}: {e}"));
        assert_eq!(parsed, expected, "{input}");
        assert_eq!(parsed.to_string(), input, "canonical form of {input}");
    }
}

/// RFC 7644 §3.4.2.2 valuePath = attrPath "[" valFilter "]", and §3.5.2's PATH: a value
/// filter follows an attribute, not a sub-attribute, and value filters do not nest.
#[test]
fn rfc7644_value_filter_restrictions() {
    use scim_filter::ErrorKind;
    let err = parse(r#"emails[type[x eq 1]]"#).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::NestedValueFilter);
    let err = parse_path(r#"name.givenName[x eq 1]"#).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::FilterOnSubAttribute);
    let err = parse(r#"name.givenName[x eq 1]"#).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::FilterOnSubAttribute);
}
