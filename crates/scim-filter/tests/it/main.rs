//! Integration tests of scim-filter: RFC examples, limits, errors and property tests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test that meets the unexpected should fail loudly"
)]

mod errors;
mod properties;
mod rfc;
