//! Sources: the systems where machine identities and their roles already live (Kubernetes RBAC,
//! AWS IAM, GCP IAM), read into one shape (`observation`) that reconciliation compares with the
//! ledger. Server-only: the browser never parses these formats.

pub mod aws;
pub mod gcp;
pub mod kubernetes;
pub mod observation;
pub mod reconcile;
