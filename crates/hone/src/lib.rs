//! The `hone` service: configuration ([`config`]), keys and tenants outside the API
//! ([`access`], [`tenants`]), the start-up checks and the parts a worker needs ([`wiring`]),
//! the wiring of store, engine and API ([`app`]), so that `main` only parses arguments and
//! tests build the same application on `127.0.0.1:0`; the client commands ([`client`]) and
//! the one-command [`demo`].

pub mod access;
pub mod app;
pub mod client;
pub mod config;
pub mod demo;
pub mod models;
pub mod ops;
pub mod prune;
pub mod store;
pub mod telemetry;
pub mod tenants;
pub mod wiring;
