#![doc = include_str!("../README.md")]

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
