//! The discovery endpoints (RFC 7644 §4; RFC 7643 §5 ServiceProviderConfig, §6 ResourceType,
//! §7 Schema): truthful, built from the served registry, each with `meta`.

use actix_web::test;
use actix_web::{web, App};
use scim_model::schema::{ENTERPRISE_USER, GROUP, USER};
use scim_server::ServerConfig;
use scim_test_db::store_test;
use serde_json::{json, Value};

use crate::{call, get, run, test_verifier, Harness};

const LIST_RESPONSE: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

// RFC 7643 §5: what the service supports, exactly; RFC 7644 §4: served at
// /ServiceProviderConfig with meta.
store_test!(service_provider_config_advertises_what_works, |store| {
    run(async {
        let config = ServerConfig {
            max_page_size: 250,
            default_page_size: 50,
            documentation_uri: Some("https://docs.example.com/scim".into()),
            ..ServerConfig::default()
        };
        let harness = Harness::with(&store, config, test_verifier());
        let (_, token) = harness.acme();
        let app = harness.app().await;
        let reply = call(
            &app,
            get("/scim/v2/ServiceProviderConfig", &token)
                .insert_header(("Host", "scim.example.com")),
        )
        .await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.content_type(), "application/scim+json");
        let body = &reply.body;
        assert_eq!(
            body["schemas"],
            json!(["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"])
        );
        assert_eq!(body["documentationUri"], "https://docs.example.com/scim");
        assert_eq!(body["patch"], json!({"supported": true}));
        // RFC 7644 §3.7.4: the bulk limits are advertised (the defaults here; bulk.rs checks
        // configured ones).
        assert_eq!(
            body["bulk"],
            json!({"supported": true, "maxOperations": 1000, "maxPayloadSize": 1_048_576})
        );
        assert_eq!(
            body["filter"],
            json!({"supported": true, "maxResults": 250})
        );
        assert_eq!(body["changePassword"], json!({"supported": false}));
        assert_eq!(body["sort"], json!({"supported": true}));
        assert_eq!(body["etag"], json!({"supported": true}));
        let schemes = body["authenticationSchemes"].as_array().unwrap();
        assert_eq!(schemes.len(), 1);
        assert_eq!(schemes[0]["type"], "oauthbearertoken");
        assert!(schemes[0]["name"].is_string() && schemes[0]["description"].is_string());
        assert_eq!(body["meta"]["resourceType"], "ServiceProviderConfig");
        assert_eq!(
            body["meta"]["location"],
            "http://scim.example.com/scim/v2/ServiceProviderConfig"
        );
    })
});

// RFC 7643 §6 / RFC 7644 §4: /ResourceTypes is a ListResponse of what is served (User, with the
// enterprise extension, and Group); each id equals its name; /ResourceTypes/{id} serves one.
store_test!(resource_types_list_exactly_the_served_types, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        let list = call(&app, get("/scim/v2/ResourceTypes", &token)).await;
        assert_eq!(list.status, 200);
        assert_eq!(list.content_type(), "application/scim+json");
        assert_eq!(list.body["schemas"], json!([LIST_RESPONSE]));
        assert_eq!(list.body["totalResults"], json!(2));
        assert_eq!(list.body["startIndex"], json!(1));
        assert_eq!(list.body["itemsPerPage"], json!(2));
        let user = &list.body["Resources"][0];
        assert_eq!(
            user["schemas"],
            json!(["urn:ietf:params:scim:schemas:core:2.0:ResourceType"])
        );
        assert_eq!(user["id"], "User");
        assert_eq!(user["name"], user["id"]);
        assert_eq!(user["endpoint"], "/Users");
        assert_eq!(user["schema"], USER);
        assert_eq!(
            user["schemaExtensions"],
            json!([{"schema": ENTERPRISE_USER, "required": false}])
        );
        assert_eq!(user["meta"]["resourceType"], "ResourceType");
        assert_eq!(
            user["meta"]["location"],
            "http://localhost:8080/scim/v2/ResourceTypes/User"
        );

        let one = call(&app, get("/scim/v2/ResourceTypes/User", &token)).await;
        assert_eq!(one.status, 200);
        assert_eq!(&one.body, user);
        // Ids compare case-insensitively, as the registry does.
        assert_eq!(
            call(&app, get("/scim/v2/ResourceTypes/user", &token))
                .await
                .body,
            *user
        );
        let group = &list.body["Resources"][1];
        assert_eq!(group["id"], "Group");
        assert_eq!(group["endpoint"], "/Groups");
        assert_eq!(
            group["schema"],
            "urn:ietf:params:scim:schemas:core:2.0:Group"
        );
        assert_eq!(
            call(&app, get("/scim/v2/ResourceTypes/group", &token))
                .await
                .body,
            *group
        );
        call(&app, get("/scim/v2/ResourceTypes/Nope", &token))
            .await
            .assert_error(404);
    })
});

// RFC 7643 §7 / RFC 7644 §4: /Schemas lists the schemas the served resource types reference,
// each with meta.resourceType "Schema" and a location; every URN a resource type names
// resolves at /Schemas/{urn}.
store_test!(schemas_are_those_the_resource_types_reference, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let app = harness.app().await;
        let list = call(&app, get("/scim/v2/Schemas", &token)).await;
        assert_eq!(list.status, 200);
        assert_eq!(list.body["schemas"], json!([LIST_RESPONSE]));
        let schemas = list.body["Resources"].as_array().unwrap();
        let ids: Vec<&str> = schemas.iter().map(|s| s["id"].as_str().unwrap()).collect();
        assert_eq!(
            ids,
            [
                USER,
                ENTERPRISE_USER,
                "urn:ietf:params:scim:schemas:core:2.0:Group"
            ]
        );
        assert_eq!(list.body["totalResults"], json!(3));

        let types = call(&app, get("/scim/v2/ResourceTypes", &token)).await;
        let mut referenced: Vec<String> = Vec::new();
        for resource_type in types.body["Resources"].as_array().unwrap() {
            referenced.push(resource_type["schema"].as_str().unwrap().to_owned());
            // Group has no extensions, and an empty list is left out.
            let extensions = resource_type["schemaExtensions"].as_array();
            for extension in extensions.into_iter().flatten() {
                referenced.push(extension["schema"].as_str().unwrap().to_owned());
            }
        }
        assert_eq!(referenced, ids);

        for schema in schemas {
            let id = schema["id"].as_str().unwrap();
            assert_eq!(
                schema["schemas"],
                json!(["urn:ietf:params:scim:schemas:core:2.0:Schema"])
            );
            assert!(schema["attributes"]
                .as_array()
                .is_some_and(|a| !a.is_empty()));
            assert_eq!(schema["meta"]["resourceType"], "Schema");
            let location = format!("http://localhost:8080/scim/v2/Schemas/{id}");
            assert_eq!(schema["meta"]["location"], json!(location));
            let one = call(&app, get(&format!("/scim/v2/Schemas/{id}"), &token)).await;
            assert_eq!(one.status, 200, "{id}");
            assert_eq!(&one.body, schema);
        }
        // URNs compare case-insensitively.
        let lower = call(
            &app,
            get(&format!("/scim/v2/Schemas/{}", USER.to_lowercase()), &token),
        )
        .await;
        assert_eq!(lower.body["id"], USER);
        let group = call(&app, get(&format!("/scim/v2/Schemas/{GROUP}"), &token)).await;
        assert_eq!(group.body["id"], GROUP);
        call(&app, get("/scim/v2/Schemas/urn:nope", &token))
            .await
            .assert_error(404);
    })
});

// RFC 7644 §4: "If a 'filter' is provided, the service provider SHOULD respond with HTTP
// status code 403 (Forbidden)"; other query parameters are ignored.
store_test!(
    discovery_refuses_filters_and_ignores_other_parameters,
    |store| {
        run(async {
            let harness = Harness::new(&store);
            let (_, token) = harness.acme();
            let app = harness.app().await;
            for path in [
                "/scim/v2/ServiceProviderConfig?filter=patch.supported%20eq%20false",
                "/scim/v2/ResourceTypes?filter=name%20eq%20%22Group%22",
                "/scim/v2/Schemas?startIndex=1&filter=id%20eq%20%22x%22",
                "/scim/v2/Schemas/urn:ietf:params:scim:schemas:core:2.0:User?FILTER=x",
            ] {
                call(&app, get(path, &token)).await.assert_error(403);
            }
            let reply = call(
                &app,
                get("/scim/v2/Schemas?startIndex=2&count=1&sortBy=id", &token),
            )
            .await;
            assert_eq!(reply.status, 200);
            assert_eq!(reply.body["totalResults"], json!(3));
        })
    }
);

// meta.location follows where the service is mounted and ServerConfig::base_url when set.
store_test!(locations_follow_the_mount_path_and_the_base_url, |store| {
    run(async {
        let harness = Harness::new(&store);
        let (_, token) = harness.acme();
        let nested = test::init_service(App::new().service(
            web::scope("/tenant").service(scim_server::scope("/scim", harness.state.clone())),
        ))
        .await;
        let reply = call(&nested, get("/tenant/scim/ResourceTypes/User", &token)).await;
        assert_eq!(reply.status, 200);
        assert_eq!(
            reply.body["meta"]["location"],
            "http://localhost:8080/tenant/scim/ResourceTypes/User"
        );

        let fixed = Harness::with(
            &store,
            ServerConfig {
                base_url: Some("https://scim.example.com/v2/".into()),
                ..ServerConfig::default()
            },
            test_verifier(),
        );
        let app = fixed.app().await;
        let reply = call(
            &app,
            get("/scim/v2/Schemas", &token).insert_header(("Host", "evil.example")),
        )
        .await;
        assert_eq!(
            reply.body["Resources"][0]["meta"]["location"],
            json!(format!("https://scim.example.com/v2/Schemas/{USER}"))
        );

        // A Host header that is no host does not reach a location.
        let app = harness.app().await;
        let reply = call(
            &app,
            get("/scim/v2/ServiceProviderConfig", &token)
                .insert_header(("Host", "evil.example/<script>")),
        )
        .await;
        let location: &Value = &reply.body["meta"]["location"];
        assert_eq!(
            location,
            "http://localhost:8080/scim/v2/ServiceProviderConfig"
        );
    })
});
