//! RFC 7644 messages: their `schemas` URNs, their JSON, and the leniency identity providers
//! need.

use scim_model::message::{
    AuthenticationScheme, BulkConfig, BulkMethod, BulkOperation, BulkOperationResponse,
    BulkRequest, BulkResponse, ErrorResponse, FilterConfig, ListResponse, PatchOp, PatchOperation,
    PatchRequest, ScimType, SearchRequest, ServiceProviderConfig, SortOrder, Supported,
    BULK_REQUEST, ERROR, LIST_RESPONSE, PATCH_OP, SEARCH_REQUEST,
};
use serde_json::{json, Value};

use crate::assert_round_trip;

/// RFC 7644 §3.4.2: the list response of the filtering example.
#[test]
fn list_response_of_section_3_4_2() {
    let example = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
        "totalResults": 2,
        "Resources": [
            {"id": "2819c223-7f76-453a-919d-413861904646", "userName": "bjensen"},
            {"id": "c75ad752-64ae-4823-840d-ffa80929976c", "userName": "jsmith"}
        ]
    });
    let list: ListResponse<Value> = assert_round_trip(&example);
    assert_eq!(list.total_results, 2);
    assert_eq!(list.resources.len(), 2);
}

/// RFC 7644 §3.4.2.4: a page with `startIndex` and `itemsPerPage`.
#[test]
fn list_response_page() {
    let page = ListResponse::new(vec![json!({"id": "a"})], 100, 1);
    assert_eq!(
        serde_json::to_value(&page).expect("serialises"),
        json!({
            "schemas": [LIST_RESPONSE],
            "totalResults": 100,
            "startIndex": 1,
            "itemsPerPage": 1,
            "Resources": [{"id": "a"}]
        })
    );
}

/// RFC 7644 §3.4.2: `Resources` is written even when empty.
#[test]
fn empty_list_response_still_has_resources() {
    let empty: ListResponse<Value> = ListResponse::new(Vec::new(), 0, 1);
    let json = serde_json::to_value(&empty).expect("serialises");
    assert_eq!(json["Resources"], json!([]));
    assert_eq!(json["itemsPerPage"], 0);
    assert!(json.get("nextCursor").is_none());
    assert!(json.get("previousCursor").is_none());
}

/// RFC 9865: cursor pages carry `nextCursor` / `previousCursor` and no `startIndex`.
#[test]
fn cursor_list_response() {
    let page = ListResponse::with_cursor(vec![json!({"id": "b"})], 3, Some("VZUTiy".into()))
        .with_previous_cursor("ze7L30");
    let json = serde_json::to_value(&page).expect("serialises");
    assert_eq!(
        json,
        json!({
            "schemas": [LIST_RESPONSE],
            "totalResults": 3,
            "itemsPerPage": 1,
            "Resources": [{"id": "b"}],
            "nextCursor": "VZUTiy",
            "previousCursor": "ze7L30"
        })
    );
    let back: ListResponse<Value> = serde_json::from_value(json).expect("deserialises");
    assert_eq!(back, page);
    // Some clients write `resources`.
    let lower: ListResponse<Value> =
        serde_json::from_value(json!({"totalResults": 0, "resources": []})).expect("lowercase");
    assert!(lower.resources.is_empty());
    assert_eq!(lower.schemas, [LIST_RESPONSE]);
}

/// RFC 7644 §3.12: the two error examples, `status` as a string.
#[test]
fn error_responses_of_section_3_12() {
    let not_found = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "detail": "Resource 2819c223-7f76-453a-919d-413861904646 not found",
        "status": "404"
    });
    let error: ErrorResponse = assert_round_trip(&not_found);
    assert_eq!(error.status, 404);
    assert_eq!(error.scim_type, None);

    let mutability = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "scimType": "mutability",
        "detail": "Attribute 'id' is readOnly",
        "status": "400"
    });
    let error: ErrorResponse = assert_round_trip(&mutability);
    assert_eq!(error.scim_type, Some(ScimType::Mutability));

    // A number is accepted on input and written back as a string.
    let numeric: ErrorResponse =
        serde_json::from_value(json!({"schemas": [ERROR], "status": 409})).expect("number");
    assert_eq!(numeric.status, 409);
    assert_eq!(
        serde_json::to_value(&numeric).expect("serialises")["status"],
        "409"
    );
    assert!(serde_json::from_value::<ErrorResponse>(json!({"status": "four hundred"})).is_err());
    assert!(serde_json::from_value::<ErrorResponse>(json!({"status": 70000})).is_err());
}

/// RFC 7644 §3.12, Table 9, and RFC 9865 §2.1: every `scimType` keyword and its status.
#[test]
fn every_scim_type() {
    let expected = [
        ("invalidFilter", 400),
        ("tooMany", 400),
        ("uniqueness", 409),
        ("mutability", 400),
        ("invalidSyntax", 400),
        ("invalidPath", 400),
        ("noTarget", 400),
        ("invalidValue", 400),
        ("invalidVers", 400),
        ("sensitive", 403),
        ("invalidCursor", 400),
        ("expiredCursor", 400),
        ("invalidCount", 400),
    ];
    assert_eq!(ScimType::ALL.len(), expected.len());
    for (scim_type, (keyword, status)) in ScimType::ALL.into_iter().zip(expected) {
        assert_eq!(
            serde_json::to_value(scim_type).expect("serialises"),
            keyword
        );
        assert_eq!(scim_type.to_string(), keyword);
        assert_eq!(scim_type.status(), status, "{keyword}");
        let back: ScimType = serde_json::from_value(json!(keyword)).expect("deserialises");
        assert_eq!(back, scim_type);
    }
}

/// RFC 7644 §3.5.2.1: adding members to a group.
#[test]
fn patch_request_of_section_3_5_2_1() {
    let example = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{
            "op": "add",
            "path": "members",
            "value": [{
                "display": "Babs Jensen",
                "$ref": "https://example.com/v2/Users/2819c223-7f76-453a-919d-413861904646",
                "value": "2819c223-7f76-453a-919d-413861904646"
            }]
        }]
    });
    let patch: PatchRequest = assert_round_trip(&example);
    assert!(patch.declares_patch_op());
    assert_eq!(patch.operations[0].op, PatchOp::Add);
    assert_eq!(patch.operations[0].path.as_deref(), Some("members"));
}

/// RFC 7644 §3.5.2: `op` is read in any case (Entra ID sends `Replace`), written lowercase.
#[test]
fn patch_op_is_case_insensitive() {
    let request: PatchRequest = serde_json::from_value(json!({
        "schemas": [PATCH_OP.to_ascii_lowercase()],
        "Operations": [
            {"op": "Add", "value": {"nickName": "Babs"}},
            {"op": "REPLACE", "path": "active", "value": false},
            {"op": "remove", "path": "members[value eq \"2819c223\"]"},
            {"op": "Remove", "path": "title", "value": null}
        ]
    }))
    .expect("deserialises");
    assert!(request.declares_patch_op());
    let ops: Vec<PatchOp> = request.operations.iter().map(|o| o.op).collect();
    assert_eq!(
        ops,
        [
            PatchOp::Add,
            PatchOp::Replace,
            PatchOp::Remove,
            PatchOp::Remove
        ]
    );
    assert_eq!(request.operations[0].path, None);
    assert_eq!(request.operations[2].value, None);
    assert_eq!(request.operations[3].value, None);
    let json = serde_json::to_value(&request).expect("serialises");
    assert_eq!(json["Operations"][0]["op"], "add");
    assert_eq!(json["Operations"][1]["op"], "replace");
    assert!(json["Operations"][2].get("value").is_none());

    let bad = serde_json::from_value::<PatchRequest>(json!({
        "schemas": [PATCH_OP],
        "Operations": [{"op": "move", "path": "title"}]
    }))
    .expect_err("unknown op");
    assert!(bad.to_string().contains("unknown value `move`"), "{bad}");
    assert!(serde_json::from_value::<PatchRequest>(json!({"schemas": [PATCH_OP]})).is_err());

    let built = PatchRequest::new(vec![PatchOperation {
        op: PatchOp::Replace,
        path: Some("displayName".into()),
        value: Some(json!("Babs")),
    }]);
    assert_eq!(built.schemas, [PATCH_OP]);
}

/// RFC 7644 §3.4.3: the search request example, and the RFC 9865 cursor.
#[test]
fn search_request_of_section_3_4_3() {
    let example = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "attributes": ["displayName", "userName"],
        "filter": "displayName sw \"smith\"",
        "startIndex": 1,
        "count": 10
    });
    let search: SearchRequest = assert_round_trip(&example);
    assert!(search.declares_search_request());
    assert_eq!(search.attributes, ["displayName", "userName"]);
    assert_eq!(search.count, Some(10));

    let full = json!({
        "schemas": [SEARCH_REQUEST],
        "excludedAttributes": ["emails"],
        "sortBy": "meta.lastModified",
        "sortOrder": "descending",
        "count": 50,
        "cursor": ""
    });
    let search: SearchRequest = assert_round_trip(&full);
    assert_eq!(search.sort_order, Some(SortOrder::Descending));
    assert_eq!(search.cursor.as_deref(), Some(""));
}

/// Lenient reading: comma-separated attributes, sort order in any case, out-of-range numbers.
#[test]
fn search_request_leniency() {
    let search: SearchRequest = serde_json::from_value(json!({
        "schemas": [SEARCH_REQUEST],
        "attributes": "userName, name.givenName,,",
        "sortOrder": "Ascending",
        "startIndex": -5,
        "count": -1
    }))
    .expect("deserialises");
    assert_eq!(search.attributes, ["userName", "name.givenName"]);
    assert_eq!(search.sort_order, Some(SortOrder::Ascending));
    assert_eq!(search.start_index, Some(-5));
    assert_eq!(search.count, Some(-1));
    assert!(serde_json::from_value::<SearchRequest>(json!({"sortOrder": "sideways"})).is_err());
    assert!(serde_json::from_value::<SearchRequest>(json!({"attributes": [1, 2]})).is_err());
    assert!(!SearchRequest::default().declares_search_request());
    assert!(SearchRequest::new().declares_search_request());
}

/// After RFC 7644 §3.7.1: a bulk request with each method and a `bulkId` reference.
#[test]
fn bulk_request_of_section_3_7() {
    let example = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkRequest"],
        "failOnErrors": 1,
        "Operations": [
            {
                "method": "POST",
                "path": "/Users",
                "bulkId": "qwerty",
                "data": {
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "userName": "Alice"
                }
            },
            {
                "method": "PUT",
                "path": "/Users/b7c14771-226c-4d05-8860-134711653041",
                "version": "W/\"3694e05e9dff591\"",
                "data": {
                    "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                    "id": "b7c14771-226c-4d05-8860-134711653041",
                    "userName": "Bob"
                }
            },
            {
                "method": "PATCH",
                "path": "/Groups/e9e30dba-f08f-4109-8486-d5c6a331660a",
                "data": {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                    "Operations": [
                        {"op": "add", "path": "members", "value": [{"value": "bulkId:qwerty"}]}
                    ]
                }
            },
            {
                "method": "DELETE",
                "path": "/Users/e9025315-6bea-44e1-899c-1e07454e468b",
                "version": "W/\"0ee8add0a938e1a\""
            }
        ]
    });
    let bulk: BulkRequest = assert_round_trip(&example);
    assert!(bulk.declares_bulk_request());
    assert_eq!(bulk.fail_on_errors, Some(1));
    let methods: Vec<BulkMethod> = bulk.operations.iter().map(|o| o.method).collect();
    assert_eq!(
        methods,
        [
            BulkMethod::Post,
            BulkMethod::Put,
            BulkMethod::Patch,
            BulkMethod::Delete
        ]
    );
    let patch: PatchRequest =
        serde_json::from_value(bulk.operations[2].data.clone().expect("data")).expect("patch");
    assert_eq!(patch.operations.len(), 1);

    let lower: BulkRequest = serde_json::from_value(json!({
        "schemas": [BULK_REQUEST],
        "Operations": [{"method": "delete", "path": "/Users/1"}]
    }))
    .expect("lowercase method");
    assert_eq!(lower.operations[0].method, BulkMethod::Delete);
    let built = BulkRequest::new(vec![BulkOperation {
        method: BulkMethod::Delete,
        bulk_id: None,
        version: None,
        path: "/Users/1".into(),
        data: None,
    }]);
    assert_eq!(
        serde_json::to_value(&built).expect("serialises"),
        json!({
            "schemas": [BULK_REQUEST],
            "Operations": [{"method": "DELETE", "path": "/Users/1"}]
        })
    );
}

/// After RFC 7644 §3.7.3: statuses are strings; a failed operation carries the error.
#[test]
fn bulk_response_of_section_3_7_3() {
    let example = json!({
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:BulkResponse"],
        "Operations": [
            {
                "location": "https://example.com/v2/Users/92b725cd9465",
                "method": "POST",
                "bulkId": "qwerty",
                "version": "W/\"oY4m4wn58tkVjJxK\"",
                "status": "201"
            },
            {
                "method": "POST",
                "bulkId": "ytrewq",
                "status": "400",
                "response": {
                    "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
                    "scimType": "invalidSyntax",
                    "detail": "Request is unparsable, syntactically incorrect, or violates schema.",
                    "status": "400"
                }
            }
        ]
    });
    let response: BulkResponse = assert_round_trip(&example);
    assert_eq!(response.operations[0].status, 201);

    let error = ErrorResponse::new(
        400,
        Some(ScimType::InvalidSyntax),
        Some("Request is unparsable, syntactically incorrect, or violates schema.".into()),
    );
    let failed = BulkOperationResponse::failed(BulkMethod::Post, Some("ytrewq".into()), &error)
        .expect("serialises");
    assert_eq!(failed, response.operations[1]);
    let built = BulkResponse::new(response.operations.clone());
    assert_eq!(serde_json::to_value(&built).expect("serialises"), example);
}

/// RFC 7643 §5 and the interop profile §4: `interopProfileConformant` only when set.
#[test]
fn service_provider_config_interop_flag() {
    let mut config = ServiceProviderConfig {
        schemas: vec![scim_model::message::SERVICE_PROVIDER_CONFIG.to_owned()],
        documentation_uri: None,
        patch: Supported::new(true),
        bulk: BulkConfig {
            supported: true,
            max_operations: 1000,
            max_payload_size: 1_048_576,
        },
        filter: FilterConfig {
            supported: true,
            max_results: 200,
        },
        change_password: Supported::new(false),
        sort: Supported::new(true),
        etag: Supported::new(true),
        authentication_schemes: vec![AuthenticationScheme::oauth_bearer_token()],
        pagination: None,
        interop_profile_conformant: None,
        meta: None,
    };
    let json = serde_json::to_value(&config).expect("serialises");
    assert!(json.get("interopProfileConformant").is_none());
    assert_eq!(json["changePassword"], json!({"supported": false}));
    assert_eq!(json["authenticationSchemes"][0]["type"], "oauthbearertoken");
    config.interop_profile_conformant = Some(true);
    let json = serde_json::to_value(&config).expect("serialises");
    assert_eq!(json["interopProfileConformant"], true);
    let back: ServiceProviderConfig = serde_json::from_value(json).expect("deserialises");
    assert_eq!(back, config);
}
