//! Organisations.

use scim_store::{orgs, StoreError, UniqueField};
use scim_test_db::store_test;

// SPEC (multi-tenancy): many organisations, each named once.
store_test!(organisations_are_created_found_and_listed, |store| {
    let mut conn = store.get().unwrap();
    let acme = orgs::create(&mut conn, "acme").unwrap();
    let initech = orgs::create(&mut conn, "initech").unwrap();
    assert_ne!(acme.id, initech.id);

    assert_eq!(
        orgs::by_name(&mut conn, "acme").unwrap(),
        Some(acme.clone())
    );
    assert_eq!(orgs::by_name(&mut conn, "nope").unwrap(), None);
    assert_eq!(orgs::list(&mut conn).unwrap(), [acme.clone(), initech]);

    let err = orgs::create(&mut conn, "acme").unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::UniqueViolation {
                field: UniqueField::OrganizationName,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(orgs::get_or_create(&mut conn, "acme").unwrap(), acme);
    let created = orgs::get_or_create(&mut conn, "globex").unwrap();
    assert_eq!(orgs::by_name(&mut conn, "globex").unwrap(), Some(created));
    assert_eq!(orgs::list(&mut conn).unwrap().len(), 3);
});

// get_or_create from several threads at once yields one organisation.
store_test!(concurrent_get_or_create_agree, |store| {
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let store = store.clone();
            std::thread::spawn(move || {
                let mut conn = store.get().unwrap();
                orgs::get_or_create(&mut conn, "acme").unwrap().id
            })
        })
        .collect();
    let ids: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] == w[1]), "{ids:?}");
    assert_eq!(orgs::list(&mut store.get().unwrap()).unwrap().len(), 1);
});
