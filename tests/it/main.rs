//! End-to-end tests: the real `coffre` binary, a real server on a loopback
//! port, temporary data directories, and HTTP.

mod access;
mod accounts;
mod architecture;
mod auth;
mod bad_input;
mod batch;
mod browser;
mod buckets;
mod bulk;
mod capture;
mod circuits;
mod classify;
mod client;
mod common;
mod corpus;
mod crash;
mod damage;
mod directory;
mod disposal;
#[path = "../../benches/support/dovecot.rs"]
mod dovecot;
mod einvoice;
mod fixity;
mod follow;
mod formats;
// Shared with the copies benchmark, which uses all of it.
#[path = "../support/garage.rs"]
#[allow(dead_code)]
mod garage;
mod hardening;
mod identity;
mod links;
mod mail;
mod mailbox;
mod packages;
mod pes;
mod plan;
mod queries;
mod reading;
mod rebuild;
mod restore;
mod retention;
mod roundtrip;
mod schemathesis;
mod seals;
mod search;
mod signatures;
mod snapshots;
mod tamper;
mod terminal;
mod tokens;
mod trail;
