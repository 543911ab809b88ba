//! Postfix and Dovecot: generated SQL lookup maps and Dovecot SQL config
//! (`generate`), quota usage read back from Dovecot (`quota`), and managed
//! config files with backup and rollback (`configs`). Database writes go
//! through `crate::ops`; this module owns the files and the programs.

pub mod atomic;
pub mod configs;
pub mod generate;
pub mod quota;
pub mod target;
