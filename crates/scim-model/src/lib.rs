//! The SCIM 2.0 model: RFC 7643 schemas and attribute characteristics, the schema registry
//! that resolves attribute references, and the RFC 7644 messages and errors.
//!
//! This crate knows nothing of storage or HTTP: it turns JSON into typed messages and back, and
//! answers questions about schemas. A SCIM error is a [`ScimError`](error::ScimError) carrying a
//! status number; mapping it to an HTTP response is the server's job.
//!
//! ```
//! use scim_model::schema::{Mutability, SchemaRegistry, ENTERPRISE_USER};
//!
//! let registry = SchemaRegistry::standard();
//! let users = registry.resource_type("User").ok_or("no User resource type")?;
//!
//! // Attribute names are case-insensitive (RFC 7644 §3.10); the answer spells them canonically.
//! let given_name = users.resolve(None, "NAME", Some("givenname"))?;
//! assert_eq!(given_name.to_string(), "name.givenName");
//! assert!(!given_name.target().is_case_exact());
//!
//! // An enterprise attribute resolves without its URN, and says where its value lives.
//! let number = users.resolve(None, "employeeNumber", None)?;
//! assert_eq!(number.extension_urn(), Some(ENTERPRISE_USER));
//!
//! // The common attributes resolve for every resource type.
//! let id = users.resolve(None, "id", None)?;
//! assert_eq!(id.target().mutability(), Mutability::ReadOnly);
//!
//! assert!(users.resolve(None, "shoeSize", None).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod error;
pub mod filter;
pub mod limits;
pub mod message;
pub mod meta;
mod password;
pub mod patch;
pub mod project;
pub mod schema;
pub mod search;
pub mod sort;
#[cfg(feature = "testing")]
pub mod testing;
pub mod validate;
pub mod value;
