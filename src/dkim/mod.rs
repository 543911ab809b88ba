//! DKIM: key pairs, the DNS records that publish them, and the files the
//! signers (OpenDKIM, rspamd) read. No database code: `ops::dkim` stores and
//! authorizes, this module computes.

pub mod key;
pub mod record;
pub mod signer;
