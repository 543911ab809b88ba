//! The Postfix policy service (issue 21; docs/policy-service.md): sending
//! limits per mailbox and domain enforced through Postfix's SMTP access
//! policy delegation (`check_policy_service`).
//!
//! protocol.rs parses requests and formats answers; decide.rs holds the
//! rules (pure, no I/O); engine.rs keeps the counters in memory and merges
//! them with the database on a coalescing window; server.rs is the tokio
//! listener; bench.rs the load generator of `policyd bench`.

pub mod bench;
pub mod decide;
pub mod engine;
pub mod metrics;
pub mod protocol;
pub mod server;
pub mod settings;
