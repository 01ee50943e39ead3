//! Plain data types and pure rules, compiled for the server and the browser alike.
//! Nothing here performs IO; the store and the service layer build on these types.

#[macro_use]
mod vocab;

pub mod access;
pub mod actor;
pub mod assignment;
pub mod audit;
pub mod blast;
pub mod bundle;
pub mod change;
#[cfg(feature = "ssr")]
pub mod checkpoint;
pub mod credential;
pub mod csv;
pub mod discovery;
pub mod drift;
pub mod escalation;
pub mod hygiene;
pub mod identity;
pub mod labels;
pub mod matrix;
pub mod name;
pub mod operator;
pub mod overview;
pub mod owner;
pub mod page;
pub mod role;
pub mod roles_code;
pub mod scope;
pub mod secret;
pub mod service;
pub mod sod;
pub mod source;
pub mod template;
pub mod time;
pub mod token;

pub use time::Timestamp;
