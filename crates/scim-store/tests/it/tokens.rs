//! Token rows: insert, find, list, revoke, last use.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use scim_store::tokens::{self, NewToken};
use scim_store::{StoreError, UniqueField};
use scim_test_db::store_test;

use crate::org;

fn new_token(id: &str, name: &str) -> NewToken {
    NewToken {
        id: id.to_owned(),
        name: name.to_owned(),
        secret_hash: format!("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA${id}"),
        expires_at: None,
    }
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

// SPEC (tokens): named, listable, revocable, optionally expiring, one organisation each.
store_test!(tokens_are_inserted_found_listed_and_revoked, |store| {
    let a = org(&store, "a");
    let b = org(&store, "b");
    let mut conn = store.get().unwrap();
    let expiring = NewToken {
        expires_at: Some(at(2_000_000_000)),
        ..new_token("id1", "okta")
    };
    let t1 = tokens::insert(&mut conn, a, &expiring).unwrap();
    let t2 = tokens::insert(&mut conn, a, &new_token("id2", "entra")).unwrap();
    tokens::insert(&mut conn, b, &new_token("id3", "okta")).unwrap();

    assert_eq!(t1.org, a);
    assert_eq!(t1.expires_at, Some(at(2_000_000_000)));
    assert_eq!(t1.secret_hash, expiring.secret_hash);
    assert_eq!((t1.revoked_at, t1.last_used_at), (None, None));
    assert!(
        !format!("{t1:?}").contains("argon2"),
        "Debug shows the hash"
    );

    assert_eq!(
        tokens::find_by_id(&mut conn, "id1").unwrap(),
        Some(t1.clone())
    );
    assert_eq!(
        tokens::find_by_id(&mut conn, "id3").unwrap().unwrap().org,
        b
    );
    assert_eq!(tokens::find_by_id(&mut conn, "nope").unwrap(), None);
    assert_eq!(
        tokens::list(&mut conn, a).unwrap(),
        [t1.clone(), t2.clone()]
    );

    // Names are unique per organisation; ids across all of them.
    let err = tokens::insert(&mut conn, a, &new_token("id4", "okta")).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::UniqueViolation {
                field: UniqueField::TokenName,
                ..
            }
        ),
        "{err:?}"
    );
    let err = tokens::insert(&mut conn, b, &new_token("id1", "other")).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::UniqueViolation {
                field: UniqueField::TokenId,
                ..
            }
        ),
        "{err:?}"
    );

    // Revocation: scoped when an organisation is given, idempotent, keeps the first time.
    assert!(matches!(
        tokens::revoke(&mut conn, Some(b), "id1"),
        Err(StoreError::NotFound)
    ));
    assert!(matches!(
        tokens::revoke(&mut conn, None, "nope"),
        Err(StoreError::NotFound)
    ));
    let revoked = tokens::revoke(&mut conn, Some(a), "id1").unwrap();
    let revoked_at = revoked.revoked_at.unwrap();
    assert_eq!(
        tokens::revoke(&mut conn, None, "id1").unwrap().revoked_at,
        Some(revoked_at)
    );
    assert_eq!(
        tokens::find_by_id(&mut conn, "id1")
            .unwrap()
            .unwrap()
            .revoked_at,
        Some(revoked_at)
    );
    assert_eq!(
        tokens::find_by_id(&mut conn, "id2")
            .unwrap()
            .unwrap()
            .revoked_at,
        None
    );
    assert_eq!(tokens::list(&mut conn, a).unwrap().len(), 2);
});

// Last use arrives in batches from the verifier's memory: the latest time wins, times never go
// backwards, unknown ids are ignored.
store_test!(last_use_is_recorded_in_batches, |store| {
    let a = org(&store, "a");
    let mut conn = store.get().unwrap();
    tokens::insert(&mut conn, a, &new_token("id1", "one")).unwrap();
    tokens::insert(&mut conn, a, &new_token("id2", "two")).unwrap();
    tokens::insert(&mut conn, a, &new_token("id3", "three")).unwrap();

    let batch = vec![
        ("id1".to_owned(), at(1_000)),
        ("id1".to_owned(), at(3_000)),
        ("id1".to_owned(), at(2_000)),
        ("id2".to_owned(), at(5_000)),
        ("gone".to_owned(), at(9_000)),
    ];
    assert_eq!(tokens::touch_last_used(&mut conn, &batch).unwrap(), 2);
    let last_used = |conn: &mut scim_store::DbConnection, id| {
        tokens::find_by_id(conn, id).unwrap().unwrap().last_used_at
    };
    assert_eq!(last_used(&mut conn, "id1"), Some(at(3_000)));
    assert_eq!(last_used(&mut conn, "id2"), Some(at(5_000)));
    assert_eq!(last_used(&mut conn, "id3"), None);

    // An older report changes nothing.
    assert_eq!(
        tokens::touch_last_used(&mut conn, &[("id2".to_owned(), at(4_000))]).unwrap(),
        0
    );
    assert_eq!(last_used(&mut conn, "id2"), Some(at(5_000)));
    assert_eq!(tokens::touch_last_used(&mut conn, &[]).unwrap(), 0);

    // Batches larger than one statement's share of bound values.
    let big: Vec<_> = (0..1_200)
        .map(|n| (format!("x{n}"), at(n)))
        .chain([("id3".to_owned(), at(7))])
        .collect();
    assert_eq!(tokens::touch_last_used(&mut conn, &big).unwrap(), 1);
    assert_eq!(last_used(&mut conn, "id3"), Some(at(7)));
});
