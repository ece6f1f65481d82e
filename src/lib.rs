//! cashdesk-card: a loyalty-card processing engine.
//!
//! Data flows one way: wire → domain → decision → store → wire.
//! - [`domain`]: newtypes that parse (card number, mobile, contact code, amount).
//! - [`rules`]: rule files → checked `RuleSet` → pure decisions with a reason.
//! - [`store`]: the `Store` trait and its sled implementation.
//! - [`service`]: the card operations; the only place that combines rules and store.
//! - [`http`]: the warp server; the only place that knows HTTP.
//! - [`auth`]: the users file, Argon2id verification, the verified-credential cache.
//! - [`server`]: running the server: signals, reload, graceful shutdown.
//! - [`journal`]: the durable integration log (SPEC.md §6).
//! - [`metrics`]: the Prometheus metric families and the `/metrics` listener.
//! - [`import`]: bulk CSV load through the service's batched import methods.
//! - [`copy`]: `cashdesk store copy`, every record of one store into another.
//! - [`demo`]: a fresh demo data set, seeded through the service.

pub mod auth;
pub mod copy;
pub mod demo;
pub mod domain;
pub mod export;
pub mod http;
pub mod import;
pub mod journal;
pub mod key;
pub mod metrics;
pub mod rules;
pub mod server;
pub mod service;
pub mod store;

pub use key::ErrorKey;

/// The README's Rust examples are compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
