//! The model's error and its RFC 7644 §3.12 body.

use scim_model::error::ScimError;
use scim_model::message::{ErrorResponse, ScimType, ERROR};
use serde_json::json;

/// RFC 7644 §3.12: each constructor's status and `scimType`.
#[test]
fn constructors_carry_the_section_3_12_status() {
    let cases = [
        (
            ScimError::invalid_filter("f"),
            400,
            Some(ScimType::InvalidFilter),
        ),
        (ScimError::too_many("f"), 400, Some(ScimType::TooMany)),
        (ScimError::uniqueness("f"), 409, Some(ScimType::Uniqueness)),
        (ScimError::mutability("f"), 400, Some(ScimType::Mutability)),
        (
            ScimError::invalid_syntax("f"),
            400,
            Some(ScimType::InvalidSyntax),
        ),
        (
            ScimError::invalid_path("f"),
            400,
            Some(ScimType::InvalidPath),
        ),
        (ScimError::no_target("f"), 400, Some(ScimType::NoTarget)),
        (
            ScimError::invalid_value("f"),
            400,
            Some(ScimType::InvalidValue),
        ),
        (
            ScimError::invalid_version("f"),
            400,
            Some(ScimType::InvalidVers),
        ),
        (ScimError::sensitive("f"), 403, Some(ScimType::Sensitive)),
        (ScimError::bad_request("f"), 400, None),
        (ScimError::unauthorized("f"), 401, None),
        (ScimError::forbidden("f"), 403, None),
        (ScimError::not_found("f"), 404, None),
        (ScimError::conflict("f"), 409, None),
        (ScimError::precondition_failed("f"), 412, None),
        (ScimError::payload_too_large("f"), 413, None),
        (ScimError::too_many_requests("f"), 429, None),
        (ScimError::internal("f"), 500, None),
        (ScimError::not_implemented("f"), 501, None),
    ];
    for (error, status, scim_type) in cases {
        assert_eq!(error.status(), status, "{error:?}");
        assert_eq!(error.scim_type(), scim_type, "{error:?}");
        assert_eq!(error.detail(), "f");
    }
    for scim_type in ScimType::ALL {
        let error = ScimError::of_type(scim_type, "x");
        assert_eq!(error.status(), scim_type.status());
    }
}

/// RFC 7644 §3.12: the body the server sends.
#[test]
fn to_response_is_the_section_3_12_body() {
    let error = ScimError::uniqueness("userName `bjensen` is already taken");
    assert_eq!(error.to_string(), "userName `bjensen` is already taken");
    let body = serde_json::to_value(error.to_response()).expect("serialises");
    assert_eq!(
        body,
        json!({
            "schemas": [ERROR],
            "status": "409",
            "scimType": "uniqueness",
            "detail": "userName `bjensen` is already taken"
        })
    );
    let not_found = ScimError::not_found("Resource 2819c223 not found");
    let response: ErrorResponse = not_found.clone().into();
    assert_eq!(response, not_found.to_response());
    let body = serde_json::to_value(response).expect("serialises");
    assert!(body.get("scimType").is_none());
    assert_eq!(body["status"], "404");
}

/// A lookup failure becomes whichever SCIM error fits where it happened.
#[test]
fn lookup_errors_map_to_scim_errors() {
    let registry = scim_model::schema::SchemaRegistry::standard();
    let lookup = registry
        .resolve("User", None, "shoeSize", None)
        .expect_err("unknown");
    let error = ScimError::invalid_filter(lookup.to_string());
    assert_eq!(error.status(), 400);
    assert_eq!(
        error.detail(),
        "unknown attribute `shoeSize` for resource type `User`"
    );
}
