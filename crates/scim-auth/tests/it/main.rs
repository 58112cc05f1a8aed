//! Integration tests of scim-auth: one binary, one module per concern.

mod concurrency;
mod format;
mod hashing;
mod header;
#[expect(
    clippy::unwrap_used,
    reason = "test set-up helpers, outside #[test] functions, fail the test by panicking"
)]
mod support;
mod throttle;
mod verifier;
