//! What every handler can reach: the domain, Leptos' options, the sign-in rate limiter.

use std::sync::Arc;

use domain::Latchkey;
use leptos::config::LeptosOptions;

use crate::security::RateLimiter;

/// Cloned for every request that extracts it: Arcs only.
#[derive(Clone, axum::extract::FromRef)]
pub struct AppState {
    pub latchkey: Arc<Latchkey>,
    pub leptos_options: Arc<LeptosOptions>,
    pub sign_in_limiter: Arc<RateLimiter>,
}

/// What Leptos' handlers ask for.
impl axum::extract::FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        LeptosOptions::clone(&state.leptos_options)
    }
}
