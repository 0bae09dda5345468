//! The dashboard's server functions. Rules live in `domain::admin`; these check the caller.

use domain::model::{AuditEntry, Connection, OAuthApplication, Session, User, Webhook, WebhookDelivery};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What every dashboard page needs to know first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Status {
    pub signed_in: bool,
    pub production: bool,
    pub public_url: String,
    pub redirect_uri: String,
    /// The host the dashboard is being served on, to warn when it differs from the public URL.
    pub request_host: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PortalInfo {
    pub sign_in_url: String,
    pub sign_up_url: String,
    pub profile_url: String,
    pub configured_origins: Vec<String>,
    pub extra_origins: Vec<String>,
    pub after_sign_in_url: Option<String>,
    pub after_sign_up_url: Option<String>,
    pub sign_ups_open: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsersPage {
    pub users: Vec<User>,
    pub total: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserDetail {
    pub user: User,
    pub sessions: Vec<Session>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Keys {
    pub publishable_key: String,
    pub secret_key_pinned: bool,
}

/// A webhook endpoint's page: the endpoint and its latest deliveries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookDetail {
    pub webhook: Webhook,
    pub deliveries: Vec<WebhookDelivery>,
    pub total: i64,
}

/// What "Add connection" did, as the page words it: a new connection, or (in development) the
/// first-start connection taken over with the form's settings. An explicit answer, so the page
/// never has to guess from timestamps or a status code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AddedConnection {
    Created(Connection),
    TookOverFirstStart(Connection),
}

/// What a relying party is configured with, besides its client ID (and secret).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenIdSettings {
    pub issuer: String,
    pub discovery_url: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OAuthApplications {
    pub applications: Vec<OAuthApplication>,
    pub settings: OpenIdSettings,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OAuthApplicationDetail {
    pub application: OAuthApplication,
    pub settings: OpenIdSettings,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditPage {
    pub entries: Vec<AuditEntry>,
    pub total: i64,
}

pub const AUDIT_PER_PAGE: i64 = 50;

pub const USERS_PER_PAGE: i64 = 20;
pub const DELIVERIES_SHOWN: i64 = 50;

#[server(endpoint = "dashboard/status")]
pub async fn get_status() -> Result<Status, ServerFnError> {
    let latchkey = guard::latchkey()?;
    let signed_in = guard::is_admin(&latchkey).await;
    Ok(Status {
        signed_in,
        production: latchkey.config().is_production(),
        public_url: latchkey.config().public_url.as_str().trim_end_matches('/').to_string(),
        redirect_uri: latchkey.config().redirect_uri(),
        request_host: guard::request_host(),
    })
}

#[server(endpoint = "dashboard/sign-in")]
pub async fn admin_sign_in(username: String, password: String) -> Result<(), ServerFnError> {
    let latchkey = guard::latchkey()?;
    guard::same_origin()?;
    let session = match latchkey.admin_sign_in(&username, &password, &guard::client_address()).await {
        Ok(session) => session,
        Err(error) => {
            // The HTTP status tells scripts what happened (401, or 429 with Retry-After).
            guard::set_status(error.status, error.retry_after);
            return Err(guard::shown(error));
        }
    };
    let secure = latchkey.config().secure_cookies();
    let cookie = domain::admin::admin_cookie(session.token.expose(), secure, session.expires_at - latchkey.now());
    guard::set_cookie(&cookie.to_string());
    Ok(())
}

#[server(endpoint = "dashboard/sign-out")]
pub async fn admin_sign_out() -> Result<(), ServerFnError> {
    let latchkey = guard::latchkey()?;
    guard::same_origin()?;
    if let Some(token) = guard::admin_token(&latchkey) {
        latchkey.admin_sign_out(&token).await.map_err(guard::shown)?;
    }
    let secure = latchkey.config().secure_cookies();
    guard::set_cookie(&domain::admin::admin_cookie("", secure, 0).to_string());
    Ok(())
}

#[server(endpoint = "dashboard/connections")]
pub async fn get_connections() -> Result<Vec<Connection>, ServerFnError> {
    let latchkey = guard::admin_latchkey(false).await?;
    latchkey.list_connections().await.map_err(guard::shown)
}

#[server(endpoint = "dashboard/connection")]
pub async fn get_connection(id: String) -> Result<Connection, ServerFnError> {
    let latchkey = guard::admin_latchkey(false).await?;
    latchkey.get_connection(&domain::ids::ConnectionId::from(id)).await.map_err(guard::shown)
}

#[server(endpoint = "dashboard/add-connection")]
pub async fn add_connection(
    enabled: bool,
    use_custom_credentials: bool,
    client_id: String,
    client_secret: String,
) -> Result<AddedConnection, ServerFnError> {
    let latchkey = guard::admin_latchkey(true).await?;
    let input = domain::admin::ConnectionInput {
        provider: domain::ids::Provider::Notion.as_str().into(),
        enabled: Some(enabled),
        use_custom_credentials: Some(use_custom_credentials),
        client_id: use_custom_credentials.then_some(client_id),
        client_secret: use_custom_credentials.then_some(client_secret),
    };
    let added = latchkey.add_connection(input).await.map_err(guard::shown)?;
    Ok(match added {
        domain::admin::ConnectionAdded::Created(connection) => AddedConnection::Created(connection),
        domain::admin::ConnectionAdded::TookOverFirstStart(connection) => {
            AddedConnection::TookOverFirstStart(connection)
        }
    })
}

#[server(endpoint = "dashboard/save-connection")]
pub async fn save_connection(
    id: String,
    enabled: bool,
    use_custom_credentials: bool,
    client_id: String,
    client_secret: String,
) -> Result<Connection, ServerFnError> {
    let latchkey = guard::admin_latchkey(true).await?;
    let patch = domain::admin::ConnectionPatch {
        enabled: Some(enabled),
        use_custom_credentials: Some(use_custom_credentials),
        client_id: Some(client_id),
        // Empty keeps the secret that is set.
        client_secret: Some(client_secret).filter(|s| !s.trim().is_empty()),
    };
    latchkey.update_connection(&domain::ids::ConnectionId::from(id), patch).await.map_err(guard::shown)
}

#[server(endpoint = "dashboard/delete-connection")]
pub async fn delete_connection(id: String) -> Result<(), ServerFnError> {
    let latchkey = guard::admin_latchkey(true).await?;
    latchkey.delete_connection(&domain::ids::ConnectionId::from(id)).await.map_err(guard::shown)
}

#[server(endpoint = "dashboard/portal")]
pub async fn get_portal() -> Result<PortalInfo, ServerFnError> {
    let latchkey = guard::admin_latchkey(false).await?;
    let settings = latchkey.portal_settings().await.map_err(|e| guard::shown(e.into()))?;
    Ok(PortalInfo {
        sign_in_url: latchkey.config().public_url_join("/sign-in"),
        sign_up_url: latchkey.config().public_url_join("/sign-up"),
        profile_url: latchkey.config().public_url_join("/user"),
        configured_origins: latchkey.config().allowed_origins.clone(),
        extra_origins: settings.allowed_origins,
        after_sign_in_url: settings.after_sign_in_url,
        after_sign_up_url: settings.after_sign_up_url,
        sign_ups_open: settings.sign_ups_open,
    })
}

#[server(endpoint = "dashboard/save-portal")]
pub async fn save_portal(
    origins: String,
    after_sign_in_url: String,
    after_sign_up_url: String,
    sign_ups_open: bool,
) -> Result<(), ServerFnError> {
    let latchkey = guard::admin_latchkey(true).await?;
    let settings = domain::settings::PortalSettings {
        allowed_origins: origins.lines().map(str::to_string).collect(),
        after_sign_in_url: Some(after_sign_in_url),
        after_sign_up_url: Some(after_sign_up_url),
        sign_ups_open,
    };
    latchkey.set_portal_settings(settings).await.map(|_| ()).map_err(|e| guard::shown(e.into()))
}

#[server(endpoint = "dashboard/users")]
pub async fn find_users(query: String, page: i64) -> Result<UsersPage, ServerFnError> {
    let latchkey = guard::admin_latchkey(false).await?;
    let (users, total) =
        latchkey.list_users(Some(&query), USERS_PER_PAGE, page.max(0) * USERS_PER_PAGE).await.map_err(guard::shown)?;
    Ok(UsersPage { users, total })
}

#[server(endpoint = "dashboard/user")]
pub async fn get_user_detail(id: String) -> Result<UserDetail, ServerFnError> {
    let latchkey = guard::admin_latchkey(false).await?;
    let id = domain::ids::UserId::from(id);
    let user = latchkey.get_user(&id).await.map_err(guard::shown)?;
    let (sessions, _) = latchkey.list_sessions(Some(&id), 100, 0).await.map_err(guard::shown)?;
    Ok(UserDetail { user, sessions })
}

#[server(endpoint = "dashboard/revoke-session")]
pub async fn revoke_session(id: String) -> Result<(), ServerFnError> {
    let latchkey = guard::admin_latchkey(true).await?;
    latchkey.revoke_session(&domain::ids::SessionId::from(id)).await.map(|_| ()).map_err(guard::shown)
}

#[server(endpoint = "dashboard/delete-user")]
pub async fn delete_user(id: String) -> Result<(), ServerFnError> {
    let latchkey = guard::admin_latchkey(true).await?;
    latchkey.delete_user(&domain::ids::UserId::from(id)).await.map_err(guard::shown)
}

#[server(endpoint = "dashboard/keys")]
pub async fn get_keys() -> Result<Keys, ServerFnError> {
    let latchkey = guard::admin_latchkey(false).await?;
    Ok(Keys { publishable_key: latchkey.publishable_key(), secret_key_pinned: latchkey.config().secret_key.is_some() })
}

/// The secret key, only when asked for (a POST, from this page's origin).
#[server(endpoint = "dashboard/reveal-secret-key")]
pub async fn reveal_secret_key() -> Result<String, ServerFnError> {
    let latchkey = guard::admin_latchkey(true).await?;
    let key = latchkey.secret_key().await.map_err(|e| guard::shown(e.into()))?;
    key.map(|k| k.expose().clone())
        .ok_or_else(|| ServerFnError::new("No secret key is set: start Latchkey with LATCHKEY_SECRET_KEY."))
}

#[server(endpoint = "dashboard/rotate-secret-key")]
pub async fn rotate_secret_key() -> Result<String, ServerFnError> {
    let latchkey = guard::admin_latchkey(true).await?;
    latchkey.rotate_secret_key().await.map(|k| k.expose().clone()).map_err(|e| guard::shown(e.into()))
}

/// Event types travel as one comma-separated field (the form's checkboxes, joined).
#[cfg(feature = "ssr")]
fn event_list(events: &str) -> Vec<String> {
    events.split(',').map(str::trim).filter(|e| !e.is_empty()).map(str::to_string).collect()
}

#[server(endpoint = "dashboard/webhooks")]
pub async fn get_webhooks() -> Result<Vec<Webhook>, ServerFnError> {
    let latchkey = guard::admin_latchkey(false).await?;
    latchkey.list_webhooks().await.map_err(guard::shown)
}

/// Registers an endpoint; the answer carries its signing secret, shown once here.
#[server(endpoint = "dashboard/add-webhook")]
pub async fn add_webhook(url: String, events: String) -> Result<Webhook, ServerFnError> {
    let latchkey = guard::admin_latchkey(true).await?;
    let input = domain::admin::WebhookInput { url, events: Some(event_list(&events)), enabled: Some(true) };
    latchkey.create_webhook(input).await.map_err(guard::shown)
}

#[server(endpoint = "dashboard/webhook")]
pub async fn get_webhook_detail(id: String) -> Result<WebhookDetail, ServerFnError> {
    let latchkey = guard::admin_latchkey(false).await?;
    let webhook = latchkey.get_webhook(&id).await.map_err(guard::shown)?;
    let (deliveries, total) = latchkey.webhook_deliveries(&id, DELIVERIES_SHOWN, 0).await.map_err(guard::shown)?;
    Ok(WebhookDetail { webhook, deliveries, total })
}

#[server(endpoint = "dashboard/save-webhook")]
pub async fn save_webhook(id: String, url: String, events: String, enabled: bool) -> Result<Webhook, ServerFnError> {
    let latchkey = guard::admin_latchkey(true).await?;
    let patch =
        domain::admin::WebhookPatch { url: Some(url), events: Some(event_list(&events)), enabled: Some(enabled) };
    latchkey.update_webhook(&id, patch).await.map_err(guard::shown)
}

#[server(endpoint = "dashboard/delete-webhook")]
pub async fn delete_webhook(id: String) -> Result<(), ServerFnError> {
    let latchkey = guard::admin_latchkey(true).await?;
    latchkey.delete_webhook(&id).await.map_err(guard::shown)
}

/// The signing secret, only when asked for (a POST, from this page's origin).
#[server(endpoint = "dashboard/reveal-webhook-secret")]
pub async fn reveal_webhook_secret(id: String) -> Result<String, ServerFnError> {
    let latchkey = guard::admin_latchkey(true).await?;
    let webhook = latchkey.reveal_webhook_secret(&id).await.map_err(guard::shown)?;
    Ok(webhook.secret.unwrap_or_default())
}

#[server(endpoint = "dashboard/rotate-webhook-secret")]
pub async fn rotate_webhook_secret(id: String) -> Result<String, ServerFnError> {
    let latchkey = guard::admin_latchkey(true).await?;
    let webhook = latchkey.rotate_webhook_secret(&id).await.map_err(guard::shown)?;
    Ok(webhook.secret.unwrap_or_default())
}

#[server(endpoint = "dashboard/retry-webhook-delivery")]
pub async fn retry_webhook_delivery(id: String, delivery_id: String) -> Result<(), ServerFnError> {
    let latchkey = guard::admin_latchkey(true).await?;
    latchkey.retry_webhook_delivery(&id, &delivery_id).await.map(|_| ()).map_err(guard::shown)
}

#[cfg(feature = "ssr")]
fn openid_settings(latchkey: &domain::Latchkey) -> OpenIdSettings {
    OpenIdSettings {
        issuer: latchkey.config().issuer(),
        discovery_url: latchkey.config().public_url_join("/.well-known/openid-configuration"),
    }
}

/// Redirect URIs travel as the textarea's text, one per line; blank lines are dropped.
#[cfg(feature = "ssr")]
fn uri_lines(text: &str) -> Vec<String> {
    text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect()
}

#[server(endpoint = "dashboard/oauth-applications")]
pub async fn get_oauth_applications() -> Result<OAuthApplications, ServerFnError> {
    let latchkey = guard::admin_latchkey(false).await?;
    let applications = latchkey.list_oauth_applications().await.map_err(guard::shown)?;
    Ok(OAuthApplications { applications, settings: openid_settings(&latchkey) })
}

#[server(endpoint = "dashboard/oauth-application")]
pub async fn get_oauth_application_detail(id: String) -> Result<OAuthApplicationDetail, ServerFnError> {
    let latchkey = guard::admin_latchkey(false).await?;
    let application = latchkey.get_oauth_application(&id).await.map_err(guard::shown)?;
    Ok(OAuthApplicationDetail { application, settings: openid_settings(&latchkey) })
}

/// Registers an app; a confidential one's answer carries its client secret, shown once here.
#[server(endpoint = "dashboard/add-oauth-application")]
pub async fn add_oauth_application(
    name: String,
    redirect_uris: String,
    public: bool,
    skip_consent: bool,
) -> Result<OAuthApplication, ServerFnError> {
    let latchkey = guard::admin_latchkey(true).await?;
    let input =
        domain::admin::OAuthApplicationInput { name, redirect_uris: uri_lines(&redirect_uris), public, skip_consent };
    latchkey.create_oauth_application(input).await.map_err(guard::shown)
}

#[server(endpoint = "dashboard/save-oauth-application")]
pub async fn save_oauth_application(
    id: String,
    name: String,
    redirect_uris: String,
    skip_consent: bool,
) -> Result<OAuthApplication, ServerFnError> {
    let latchkey = guard::admin_latchkey(true).await?;
    let patch = domain::admin::OAuthApplicationPatch {
        name: Some(name),
        redirect_uris: Some(uri_lines(&redirect_uris)),
        skip_consent: Some(skip_consent),
    };
    latchkey.update_oauth_application(&id, patch).await.map_err(guard::shown)
}

#[server(endpoint = "dashboard/delete-oauth-application")]
pub async fn delete_oauth_application(id: String) -> Result<(), ServerFnError> {
    let latchkey = guard::admin_latchkey(true).await?;
    latchkey.delete_oauth_application(&id).await.map_err(guard::shown)
}

/// A new client secret (the old one stops at once), shown this once: only its hash is kept.
#[server(endpoint = "dashboard/rotate-oauth-application-secret")]
pub async fn rotate_oauth_application_secret(id: String) -> Result<String, ServerFnError> {
    let latchkey = guard::admin_latchkey(true).await?;
    let application = latchkey.rotate_oauth_client_secret(&id).await.map_err(guard::shown)?;
    Ok(application.client_secret.unwrap_or_default())
}

#[server(endpoint = "dashboard/audit-log")]
pub async fn get_audit_log(page: i64) -> Result<AuditPage, ServerFnError> {
    let latchkey = guard::admin_latchkey(false).await?;
    let (entries, total) =
        latchkey.audit_log(AUDIT_PER_PAGE, page.max(0) * AUDIT_PER_PAGE).await.map_err(guard::shown)?;
    Ok(AuditPage { entries, total })
}

#[cfg(feature = "ssr")]
mod guard {
    use std::net::SocketAddr;
    use std::sync::Arc;

    use axum_extra::extract::CookieJar;
    use domain::admin::{admin_cookie_name, AdminError};
    use domain::Latchkey;
    use http::header::{HeaderValue, HOST, ORIGIN, SET_COOKIE};
    use leptos::prelude::*;

    pub fn latchkey() -> Result<Arc<Latchkey>, ServerFnError> {
        use_context::<Arc<Latchkey>>().ok_or_else(|| ServerFnError::new("Latchkey is not in context"))
    }

    fn parts() -> Option<http::request::Parts> {
        use_context::<http::request::Parts>()
    }

    /// An error the admin reads as is.
    /// The domain's message for the page, and its status for the response (422 for a value
    /// the admin typed, 404, 409 …), never a 500 for what is the caller's to fix.
    pub fn shown(error: AdminError) -> ServerFnError {
        set_status(error.status, error.retry_after);
        ServerFnError::new(error.for_people())
    }

    pub fn request_host() -> String {
        parts().and_then(|p| p.headers.get(HOST).and_then(|h| h.to_str().ok()).map(str::to_string)).unwrap_or_default()
    }

    /// Who is signing in, for the lockout: the server works it out (trusted proxies and all) and
    /// leaves it in the request; the peer address stands in only if it did not. An IPv6 client
    /// counts by its /64 (see `ClientIp::limit_key`).
    pub fn client_address() -> String {
        use domain::proxy::ClientIp;
        let Some(parts) = parts() else { return "unknown".into() };
        let client =
            parts.extensions.get::<ClientIp>().copied().or_else(|| {
                parts.extensions.get::<axum::extract::ConnectInfo<SocketAddr>>().map(|c| ClientIp(c.0.ip()))
            });
        client.map(|c| c.limit_key().to_string()).unwrap_or_else(|| "unknown".into())
    }

    pub fn admin_token(latchkey: &Latchkey) -> Option<String> {
        let parts = parts()?;
        let jar = CookieJar::from_headers(&parts.headers);
        jar.get(admin_cookie_name(latchkey.config().secure_cookies())).map(|c| c.value().to_string())
    }

    /// Cross-site request forgery: a change must come from a page of our own origin, the one in
    /// `LATCHKEY_PUBLIC_URL`. Not the `Host` header: a proxy may rewrite it (nginx sends its
    /// upstream's name by default), and a rebinding attacker chooses it. (The admin cookie is also
    /// SameSite=Strict, and the server refuses dashboard requests for another host.)
    pub fn same_origin() -> Result<(), ServerFnError> {
        let Some(parts) = parts() else { return Ok(()) };
        let Some(origin) = parts.headers.get(ORIGIN).and_then(|v| v.to_str().ok()) else { return Ok(()) };
        let ours = latchkey().map(|l| l.config().own_origin()).unwrap_or_default();
        if !ours.is_empty() && origin.eq_ignore_ascii_case(&ours) {
            Ok(())
        } else {
            refuse(403, "This change came from another site and was refused.")
        }
    }

    /// A refusal with its own status (the server function default would be 500).
    fn refuse<T>(status: u16, message: &str) -> Result<T, ServerFnError> {
        set_status(status, None);
        Err(ServerFnError::new(message))
    }

    /// Whether the request carries a live admin session; asking refuses nothing.
    pub async fn is_admin(latchkey: &Latchkey) -> bool {
        match admin_token(latchkey) {
            Some(token) => latchkey.admin_authenticated(&token).await.unwrap_or(false),
            None => false,
        }
    }

    pub async fn admin(latchkey: &Latchkey, changes: bool) -> Result<(), ServerFnError> {
        if changes {
            same_origin()?;
        }
        let Some(token) = admin_token(latchkey) else {
            return refuse(401, "Sign in to the dashboard first.");
        };
        match latchkey.admin_authenticated(&token).await {
            Ok(true) => Ok(()),
            Ok(false) => refuse(401, "Your dashboard session has ended: sign in again."),
            Err(error) => {
                set_status(error.status, error.retry_after);
                Err(shown(error))
            }
        }
    }

    pub async fn admin_latchkey(changes: bool) -> Result<Arc<Latchkey>, ServerFnError> {
        let latchkey = latchkey()?;
        admin(&latchkey, changes).await?;
        Ok(latchkey)
    }

    pub fn set_status(status: u16, retry_after: Option<i64>) {
        let Some(response) = use_context::<leptos_axum::ResponseOptions>() else { return };
        if let Ok(status) = http::StatusCode::from_u16(status) {
            response.set_status(status);
        }
        if let Some(seconds) = retry_after.and_then(|s| HeaderValue::from_str(&s.to_string()).ok()) {
            response.insert_header(http::header::RETRY_AFTER, seconds);
        }
    }

    pub fn set_cookie(cookie: &str) {
        if let (Some(response), Ok(value)) =
            (use_context::<leptos_axum::ResponseOptions>(), HeaderValue::from_str(cookie))
        {
            response.append_header(SET_COOKIE, value);
        }
    }
}
