//! Groups and memberships in the store (RFC 7643 §4.2): one descriptor-driven path shared with
//! users, members as rows, nested groups without cycles, and deletes that never leave a
//! dangling member.

use scim_store::members::{self, MemberType, NewMember};
use scim_store::resources::{self, Columns, DeleteMode, NewResource, GROUPS, USERS};
use scim_store::users;
use scim_store::{events, OrgId, Store, StoreError, UniqueField};
use scim_test_db::store_test;
use serde_json::json;

use crate::{new_user, org};

fn new_group(id: &str, display_name: &str) -> NewResource {
    NewResource {
        id: id.to_owned(),
        columns: Columns {
            name: display_name.to_owned(),
            name_key: display_name.to_lowercase(),
            external_id: None,
            active: true,
            document: format!(r#"{{"displayName":"{display_name}"}}"#),
            search: format!(r#"{{"displayName":"{}"}}"#, display_name.to_lowercase()),
        },
        token_id: Some("tok1".into()),
        attributes: vec!["displayName".into()],
    }
}

fn member_ids(store: &Store, org: OrgId, group: &str) -> Vec<String> {
    let mut conn = store.get().unwrap();
    members::list(&mut conn, org, &[group.to_owned()])
        .unwrap()
        .into_iter()
        .map(|(_, member)| member.value)
        .collect()
}

/// A member to add, with no `display` of the client's.
fn m(id: &str, member_type: MemberType) -> NewMember {
    NewMember {
        id: id.to_owned(),
        member_type,
        display: None,
    }
}

fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

store_test!(
    display_name_is_unique_case_insensitively_among_live_groups,
    |store| {
        let org = org(&store, "acme");
        let mut conn = store.get().unwrap();
        let created =
            resources::create(&mut conn, &GROUPS, org, &new_group("g1", "Admins")).unwrap();
        assert_eq!((created.name.as_str(), created.version), ("Admins", 1));
        let err =
            resources::create(&mut conn, &GROUPS, org, &new_group("g2", "ADMINS")).unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::UniqueViolation {
                    field: UniqueField::DisplayName,
                    ..
                }
            ),
            "{err:?}"
        );
        // A user may share the name: uniqueness is per resource type.
        users::create(&mut conn, org, &new_user("u1", "admins")).unwrap();
        resources::delete(
            &mut conn,
            &GROUPS,
            org,
            "g1",
            DeleteMode::Tombstone,
            None,
            None,
        )
        .unwrap();
        resources::create(&mut conn, &GROUPS, org, &new_group("g3", "admins")).unwrap();
    }
);

store_test!(members_are_a_set_of_live_users_and_groups, |store| {
    let org = org(&store, "acme");
    let other = crate::org(&store, "other");
    let mut conn = store.get().unwrap();
    users::create(&mut conn, org, &new_user("u1", "one")).unwrap();
    users::create(&mut conn, org, &new_user("u2", "two")).unwrap();
    users::create(&mut conn, other, &new_user("x1", "stranger")).unwrap();
    resources::create(&mut conn, &GROUPS, org, &new_group("g1", "Admins")).unwrap();
    resources::create(&mut conn, &GROUPS, org, &new_group("g2", "Ops")).unwrap();

    let resolved =
        members::resolve(&mut conn, org, &ids(&["u1", "g2", "x1", "nobody", "u2"])).unwrap();
    assert_eq!(resolved.len(), 3, "{resolved:?}");
    assert_eq!(resolved["u1"], MemberType::User);
    assert_eq!(resolved["g2"], MemberType::Group);

    let add = |conn: &mut scim_store::DbConnection, list: &[(&str, MemberType)]| {
        let list: Vec<NewMember> = list.iter().map(|(id, t)| m(id, *t)).collect();
        members::add(conn, org, "g1", &list, None)
    };
    assert_eq!(
        add(
            &mut conn,
            &[("u1", MemberType::User), ("g2", MemberType::Group)]
        )
        .unwrap(),
        2
    );
    // Re-adding is a no-op.
    assert_eq!(
        add(
            &mut conn,
            &[("u1", MemberType::User), ("u2", MemberType::User)]
        )
        .unwrap(),
        1
    );
    assert_eq!(member_ids(&store, org, "g1"), ["g2", "u1", "u2"]);
    let listed = members::list(&mut conn, org, &ids(&["g1"])).unwrap();
    assert_eq!(listed[0].1.display, "Ops");
    assert_eq!(listed[1].1.display, "one");

    assert_eq!(
        members::remove(&mut conn, org, "g1", &ids(&["u1", "nobody"]), None).unwrap(),
        1
    );
    assert_eq!(member_ids(&store, org, "g1"), ["g2", "u2"]);
    // RFC 7643 §2.4: a `display` the client gave is kept as given (immutable), even when the
    // member is added again with another.
    let named = NewMember {
        display: Some("The Boss".into()),
        ..m("u1", MemberType::User)
    };
    members::add(&mut conn, org, "g1", &[named], None).unwrap();
    let renamed = NewMember {
        display: Some("Someone else".into()),
        ..m("u1", MemberType::User)
    };
    members::add(&mut conn, org, "g1", &[renamed], None).unwrap();
    let listed = members::of(&mut conn, org, "g1").unwrap();
    let boss = listed.iter().find(|member| member.value == "u1").unwrap();
    assert_eq!(boss.display, "The Boss");
    members::remove(&mut conn, org, "g1", &ids(&["u1"]), None).unwrap();
    assert_eq!(members::clear(&mut conn, org, "g1", None).unwrap(), 2);
    assert!(member_ids(&store, org, "g1").is_empty());
});

// RFC 7643 §4.2 allows groups in groups; a group inside itself, directly or not, is refused.
store_test!(membership_cycles_are_refused, |store| {
    let org = org(&store, "acme");
    let mut conn = store.get().unwrap();
    for (id, name) in [("a", "A"), ("b", "B"), ("c", "C")] {
        resources::create(&mut conn, &GROUPS, org, &new_group(id, name)).unwrap();
    }
    let group = |id: &str| vec![m(id, MemberType::Group)];
    members::add(&mut conn, org, "a", &group("b"), None).unwrap();
    members::add(&mut conn, org, "b", &group("c"), None).unwrap();
    for (parent, child) in [("c", "a"), ("b", "a"), ("a", "a")] {
        let err = members::add(&mut conn, org, parent, &group(child), None).unwrap_err();
        assert!(
            matches!(&err, StoreError::MembershipCycle { member } if member == child),
            "{parent} ← {child}: {err:?}"
        );
    }
    // Several nested groups in one request are walked at once; the refusal still names the
    // one that closes the cycle, and adds none of them.
    resources::create(&mut conn, &GROUPS, org, &new_group("d", "D")).unwrap();
    let both = [m("d", MemberType::Group), m("a", MemberType::Group)];
    let err = members::add(&mut conn, org, "c", &both, None).unwrap_err();
    assert!(
        matches!(&err, StoreError::MembershipCycle { member } if member == "a"),
        "{err:?}"
    );
    assert!(member_ids(&store, org, "c").is_empty());
    // A diamond is no cycle.
    members::add(&mut conn, org, "a", &group("c"), None).unwrap();
});

// RFC 7643 §4.1.2: a user's groups are its direct and indirect memberships.
store_test!(groups_of_a_user_are_direct_and_indirect, |store| {
    let org = org(&store, "acme");
    let mut conn = store.get().unwrap();
    users::create(&mut conn, org, &new_user("u1", "one")).unwrap();
    for (id, name) in [
        ("eng", "Engineering"),
        ("all", "Everyone"),
        ("x", "Unrelated"),
    ] {
        resources::create(&mut conn, &GROUPS, org, &new_group(id, name)).unwrap();
    }
    members::add(&mut conn, org, "eng", &[m("u1", MemberType::User)], None).unwrap();
    members::add(&mut conn, org, "all", &[m("eng", MemberType::Group)], None).unwrap();
    members::add(&mut conn, org, "all", &[m("u1", MemberType::User)], None).unwrap();
    let groups = members::groups_of(&mut conn, org, &ids(&["u1", "eng"])).unwrap();
    let seen: Vec<(&str, &str, bool)> = groups
        .iter()
        .map(|(member, g)| (member.as_str(), g.id.as_str(), g.direct))
        .collect();
    assert_eq!(
        seen,
        [
            ("eng", "all", true),
            ("u1", "all", true),
            ("u1", "eng", true)
        ]
    );
    members::remove(&mut conn, org, "all", &ids(&["u1"]), None).unwrap();
    let groups = members::groups_of(&mut conn, org, &ids(&["u1"])).unwrap();
    let seen: Vec<(&str, bool)> = groups
        .iter()
        .map(|(_, g)| (g.id.as_str(), g.direct))
        .collect();
    assert_eq!(seen, [("all", false), ("eng", true)]);

    // Read with the user's row (RFC 7643 §4.1.2 `groups`): the same groups from its direct
    // memberships, none for a user in no group, nothing for an unknown id.
    let (record, parents) = resources::get_with_parents(&mut conn, &USERS, org, "u1")
        .unwrap()
        .unwrap();
    assert_eq!(
        (record.id.as_str(), parents.as_slice()),
        ("u1", &["eng".to_owned()][..])
    );
    let direct = parents.into_iter().map(|g| ("u1".to_owned(), g)).collect();
    let from_row = members::groups_from_direct(&mut conn, org, direct).unwrap();
    assert_eq!(
        from_row,
        members::groups_of(&mut conn, org, &ids(&["u1"])).unwrap()
    );
    users::create(&mut conn, org, &new_user("u2", "two")).unwrap();
    let (_, none) = resources::get_with_parents(&mut conn, &USERS, org, "u2")
        .unwrap()
        .unwrap();
    assert!(none.is_empty());
    assert!(
        resources::get_with_parents(&mut conn, &USERS, org, "nobody")
            .unwrap()
            .is_none()
    );
});

// Deleting a member removes its memberships in the same transaction, in both delete modes; each
// group it left gets a new version and an event.
store_test!(deleting_a_member_leaves_no_dangling_membership, |store| {
    for mode in [DeleteMode::Tombstone, DeleteMode::Purge] {
        let org = org(&store, &format!("acme-{mode:?}"));
        let mut conn = store.get().unwrap();
        users::create(&mut conn, org, &new_user("u1", "one")).unwrap();
        let g1 = resources::create(&mut conn, &GROUPS, org, &new_group("g1", "A")).unwrap();
        resources::create(&mut conn, &GROUPS, org, &new_group("g2", "B")).unwrap();
        members::add(&mut conn, org, "g1", &[m("u1", MemberType::User)], None).unwrap();
        members::add(&mut conn, org, "g1", &[m("g2", MemberType::Group)], None).unwrap();

        users::delete(&mut conn, org, "u1", mode, None, Some("tok1")).unwrap();
        assert_eq!(member_ids(&store, org, "g1"), ["g2"], "{mode:?}");
        let after = resources::get(&mut conn, &GROUPS, org, "g1")
            .unwrap()
            .unwrap();
        assert_eq!(after.version, g1.version + 1, "{mode:?}");

        resources::delete(&mut conn, &GROUPS, org, "g2", mode, None, None).unwrap();
        assert!(member_ids(&store, org, "g1").is_empty(), "{mode:?}");
        resources::delete(&mut conn, &GROUPS, org, "g1", mode, None, None).unwrap();
        let left = crate::count(
            &store,
            &format!(
                "SELECT COUNT(*) AS n FROM group_members WHERE org_id = {}",
                org.0
            ),
        );
        assert_eq!(left, 0, "{mode:?}");

        let all = events::list_after(&mut conn, org, 0, 100).unwrap();
        let data = |kind: &str, id: &str| {
            all.iter()
                .filter(|e| e.kind.as_str() == kind && e.resource_id == id)
                .map(|e| e.data.clone().unwrap_or_default())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            data("member_removed", "g1"),
            [json!({"members": ["u1"]}), json!({"members": ["g2"]})],
            "{mode:?}"
        );
        // The deleted user's sessions end: its session version went from 1 to 2.
        assert_eq!(
            data("deleted", "u1"),
            [json!({"sessionVersion": 2})],
            "{mode:?}"
        );
        let kinds: Vec<(String, String, String)> = all
            .into_iter()
            .map(|e| {
                (
                    e.resource_type.to_string(),
                    e.resource_id,
                    e.kind.to_string(),
                )
            })
            .collect();
        let expected = [
            ("User", "u1", "created"),
            ("Group", "g1", "created"),
            ("Group", "g2", "created"),
            ("Group", "g1", "member_added"),
            ("Group", "g1", "member_added"),
            ("Group", "g1", "updated"),
            ("Group", "g1", "member_removed"),
            ("User", "u1", "deleted"),
            ("Group", "g1", "updated"),
            ("Group", "g1", "member_removed"),
            ("Group", "g2", "deleted"),
            ("Group", "g1", "deleted"),
        ];
        let expected: Vec<(String, String, String)> = expected
            .iter()
            .map(|(a, b, c)| ((*a).to_owned(), (*b).to_owned(), (*c).to_owned()))
            .collect();
        assert_eq!(kinds, expected, "{mode:?}");
    }
});

// The write path locks the row it changes, so writers without If-Match take turns.
store_test!(lock_checks_if_match_and_finds_only_live_rows, |store| {
    let org = org(&store, "acme");
    let mut conn = store.get().unwrap();
    resources::create(&mut conn, &GROUPS, org, &new_group("g1", "A")).unwrap();
    assert_eq!(
        resources::lock(&mut conn, &GROUPS, org, "g1", Some(1))
            .unwrap()
            .version,
        1
    );
    assert!(matches!(
        resources::lock(&mut conn, &GROUPS, org, "g1", Some(7)),
        Err(StoreError::VersionMismatch { current: 1 })
    ));
    assert!(matches!(
        resources::lock(&mut conn, &USERS, org, "g1", None),
        Err(StoreError::NotFound)
    ));
});
