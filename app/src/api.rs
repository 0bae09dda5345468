//! Server functions: the portal's calls into the domain. Their bodies run only on the server.

use domain::model::{DeviceSession, User};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What the profile page shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Profile {
    pub user: User,
    pub sessions: Vec<DeviceSession>,
    pub environment: String,
    /// The app the person came from (`?redirect_url=`, an allowed origin), for a way back to it.
    pub back_to: Option<BackLink>,
    /// The server's clock (Unix ms), so times read "5 minutes ago" as of this page.
    pub now: i64,
}

/// A link back to an app: where, and the host it is named by.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackLink {
    pub href: String,
    pub host: String,
}

/// The signed-in user's profile; `None` (and a redirect to `/sign-in`) when signed out.
#[server(endpoint = "profile")]
pub async fn get_profile(redirect_url: Option<String>) -> Result<Option<Profile>, ServerFnError> {
    use server::*;
    let latchkey = latchkey()?;
    let auth = match session_cookie(&latchkey) {
        Some(token) => latchkey.authenticate(&token).await.map_err(storage_error)?,
        None => None,
    };
    let Some(auth) = auth else {
        redirect_to_sign_in();
        return Ok(None);
    };
    let sessions = latchkey.device_sessions(&auth.session).await.map_err(storage_error)?;
    // Only an allowed origin, and only another site than this one: never an open redirect.
    let back_to = match redirect_url {
        Some(candidate) => {
            let allowed = latchkey.allowed_origins().await.map_err(storage_error)?;
            let public_url = &latchkey.config().public_url;
            domain::redirect::check_redirect_url(&candidate, public_url, &allowed)
                .and_then(|url| domain::redirect::back_to_app(url, public_url))
                .map(|(host, url)| BackLink { host, href: url.to_string() })
        }
        None => None,
    };
    Ok(Some(Profile {
        user: std::sync::Arc::unwrap_or_clone(auth.user),
        sessions,
        environment: latchkey.config().environment.as_str().to_string(),
        back_to,
        now: latchkey.now(),
    }))
}

/// Why signing in cannot start right now, as a failure code (`connection_disabled`, …), or
/// `None` when the Notion button works.
#[server(endpoint = "sign-in-availability")]
pub async fn sign_in_unavailable() -> Result<Option<String>, ServerFnError> {
    let latchkey = server::latchkey()?;
    Ok(latchkey.sign_in_unavailable().await.map(|failure| failure.code().to_string()))
}

/// Whether the sign-up page offers a sign-up (the Account Portal's switch).
#[server(endpoint = "sign-up-availability")]
pub async fn sign_ups_open() -> Result<bool, ServerFnError> {
    Ok(server::latchkey()?.sign_ups_open().await)
}

#[cfg(feature = "ssr")]
mod server {
    use std::sync::Arc;

    use axum_extra::extract::CookieJar;
    use domain::session::cookie_names;
    use domain::Latchkey;
    use leptos::prelude::*;

    pub fn latchkey() -> Result<Arc<Latchkey>, ServerFnError> {
        use_context::<Arc<Latchkey>>().ok_or_else(|| ServerFnError::new("Latchkey is not in context"))
    }

    /// The session token this request carries, if any.
    pub fn session_cookie(latchkey: &Latchkey) -> Option<domain::ids::SessionToken> {
        let parts = use_context::<http::request::Parts>()?;
        let jar = CookieJar::from_headers(&parts.headers);
        let name = cookie_names(latchkey.config().secure_cookies()).session;
        jar.get(name).map(|c| domain::ids::SessionToken::new(c.value()))
    }

    /// Signed out: send the browser to sign in, and back here afterwards.
    pub fn redirect_to_sign_in() {
        leptos_axum::redirect("/sign-in?redirect_url=%2Fuser");
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(http::StatusCode::SEE_OTHER);
        }
    }

    pub fn storage_error(error: domain::store::StoreError) -> ServerFnError {
        leptos::logging::error!("storage error: {error}");
        ServerFnError::new(domain::failure::STORAGE_UNAVAILABLE)
    }
}
