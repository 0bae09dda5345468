//! Latchkey's domain: what signing in with Notion *means*, free of axum and Leptos.
//!
//! Without the `server` feature only [`calendar`], [`failure`], [`ids`] and [`model`] are compiled: the small set of
//! types the browser bundle shares with the server.
#![forbid(unsafe_code)]

#[cfg(feature = "server")]
pub mod admin;
pub mod calendar;
pub mod failure;
pub mod ids;
pub mod model;

#[cfg(feature = "server")]
pub mod config;
#[cfg(feature = "server")]
pub mod crypto;
#[cfg(feature = "server")]
pub mod flow;
#[cfg(feature = "server")]
mod key_ring;
#[cfg(feature = "server")]
pub mod notion;
#[cfg(feature = "server")]
pub mod oidc;
#[cfg(feature = "server")]
pub mod outbound;
#[cfg(feature = "server")]
pub mod proxy;
#[cfg(feature = "server")]
pub mod redirect;
#[cfg(feature = "server")]
pub mod rotation;
#[cfg(feature = "server")]
pub mod secret;
#[cfg(feature = "server")]
pub mod service;
#[cfg(feature = "server")]
pub mod session;
#[cfg(feature = "server")]
pub mod settings;
#[cfg(feature = "server")]
pub mod store;
#[cfg(feature = "server")]
pub mod time;
#[cfg(feature = "server")]
pub mod tokens;
#[cfg(feature = "server")]
pub mod webhooks;

#[cfg(feature = "server")]
pub use service::Latchkey;

// The domain with a clock the test moves (it reaches the store, so it lives inside the crate).
#[cfg(all(test, feature = "server"))]
mod clock_tests;
