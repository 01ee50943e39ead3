//! Settings: the operator's own account, and (for admins) operators and pipeline tokens.

pub mod account;
pub mod operators;
pub mod policy;
pub mod tokens;
