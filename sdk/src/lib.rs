//! # Latchkey SDK
//!
//! Your server learns who is signed in from a short-lived session token that Latchkey signs
//! (EdDSA), checked here against Latchkey's public keys (`/.well-known/jwks.json`), with no
//! call to Latchkey per request.
//!
//! ```no_run
//! use axum::{routing::get, Router};
//! use latchkey_sdk::{Latchkey, LatchkeyLayer, SignedIn};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let latchkey = Latchkey::builder("https://auth.example.com")
//!     .app_url("https://app.example.com")? // enables the handshake for HTML pages
//!     .authorized_parties(["https://app.example.com"])
//!     .build()?;
//! let app: Router = Router::new()
//!     .route("/", get(|who: Option<SignedIn>| async move {
//!         match who {
//!             Some(who) => format!("signed in as {}", who.user_id()),
//!             None => "signed out".to_string(),
//!         }
//!     }))
//!     .layer(LatchkeyLayer::new(latchkey));
//! # Ok(()) }
//! ```
//!
//! What is checked, in order: the header's `alg` is `EdDSA` (never what the token says it may
//! be: `none` and HS256 are refused before any key is touched) and its `typ` is `JWT`; the `kid`
//! names a published key (an unknown one makes the JWKS be fetched again, at most once per
//! few seconds); the signature; `iss` equals the issuer; `exp` and `nbf` with a leeway
//! (5 s by default); `azp`, when the token has one, is one of the authorized parties.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

#[cfg(feature = "axum")]
mod axum_layer;
mod backend;
mod verify;

#[cfg(feature = "axum")]
pub use axum_layer::{Auth, LatchkeyLayer, LatchkeyService, SignedIn};
pub use backend::{BackendApi, BackendError, NotionToken, User};
pub use verify::{BuildError, Builder, Latchkey, Rejection, SessionClaims};

/// The cookie that carries the session token on the app's own origin (the widget and the
/// handshake keep it fresh).
pub const TOKEN_COOKIE: &str = "latchkey_token";
/// Set after a handshake so the next pages do not ask again at once: what prevents any loop.
pub const HANDSHAKE_COOKIE: &str = "latchkey_handshake";
/// The query parameter a handshake answer comes back in.
pub const HANDSHAKE_PARAM: &str = "__latchkey_handshake";
/// The `typ` header of a handshake answer.
pub const HANDSHAKE_TYP: &str = "latchkey-handshake+jwt";
