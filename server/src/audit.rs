//! The audit log's writer: every admin action that changes something or reveals a secret,
//! through the dashboard or the backend API, with who, from where, what and how it ended.
//! Recorded here, at the edge, because only here are all four known; the rules that decide
//! the action stay in `domain::admin`.

use axum::extract::{MatchedPath, Request};
use axum::http::StatusCode;
use axum::response::Response;
use domain::admin::AuditRecord;
use domain::Latchkey;

/// The dashboard's server functions that change something, reveal a secret, or sign in/out.
const DASHBOARD_ACTIONS: [&str; 20] = [
    "sign-in",
    "sign-out",
    "add-connection",
    "save-connection",
    "delete-connection",
    "save-portal",
    "revoke-session",
    "delete-user",
    "reveal-secret-key",
    "rotate-secret-key",
    "add-webhook",
    "save-webhook",
    "delete-webhook",
    "reveal-webhook-secret",
    "rotate-webhook-secret",
    "retry-webhook-delivery",
    "add-oauth-application",
    "save-oauth-application",
    "delete-oauth-application",
    "rotate-oauth-application-secret",
];

/// What an audited request is: its action, and for the dashboard, the id it names (read from
/// the form body, the only field kept).
enum Audited {
    Dashboard(&'static str),
    Api(String),
}

fn audited(request: &Request) -> Option<Audited> {
    let path = request.uri().path();
    if let Some(name) = path.strip_prefix("/api/dashboard/") {
        return DASHBOARD_ACTIONS.iter().find(|a| **a == name).map(|a| Audited::Dashboard(a));
    }
    if path.starts_with("/v1/admin/") {
        // Reading is not an action, except reading a secret.
        let reveals = path.ends_with("/secret") || path.contains("/oauth_access_tokens/");
        if request.method() != axum::http::Method::GET || reveals {
            let route = request.extensions().get::<MatchedPath>().map_or(path, |p| p.as_str());
            return Some(Audited::Api(format!("{} {route}", request.method())));
        }
    }
    None
}

/// An audited request on its way in: what it does, to what, from where. Recorded with the
/// response's status once it is answered.
pub struct Pending {
    client: String,
    action: String,
    target: Option<String>,
}

impl Pending {
    /// Whether `request` is audited, and if so what it does. A dashboard action's body, already
    /// read within its limit at the edge, is looked at here for the id it names and put back.
    pub async fn begin(request: Request) -> Result<(Option<Pending>, Request), Response> {
        let Some(what) = audited(&request) else {
            return Ok((None, request));
        };
        let client = request
            .extensions()
            .get::<domain::proxy::ClientIp>()
            .map(|c| c.0.to_string())
            .unwrap_or_else(|| "unknown".into());
        let (action, target, request) = match what {
            Audited::Api(action) => {
                let target = target_in_path(request.uri().path());
                (action, target, request)
            }
            Audited::Dashboard(name) => {
                // Buffered by `security::limit_server_fn_body`: taking it again copies nothing.
                let (parts, body) = request.into_parts();
                let Ok(bytes) = axum::body::to_bytes(body, crate::security::SERVER_FN_BODY_LIMIT).await else {
                    return Err(crate::security::too_large());
                };
                let target = url::form_urlencoded::parse(&bytes)
                    .find(|(k, _)| k == "id")
                    .map(|(_, v)| v.into_owned())
                    .filter(|v| v.len() <= 100);
                (format!("dashboard/{name}"), target, Request::from_parts(parts, axum::body::Body::from(bytes)))
            }
        };
        Ok((Some(Pending { client, action, target }), request))
    }

    /// Writes the audit record: who (by the answer), from where, what, and how it ended.
    pub async fn finish(self, latchkey: &Latchkey, answered: StatusCode) {
        let dashboard = self.action.starts_with("dashboard/");
        let status = answered.as_u16();
        let actor = match (dashboard, status) {
            (_, 401) => "anonymous",
            (true, _) if self.action == "dashboard/sign-in" && !answered.is_success() => "anonymous",
            (true, _) => "admin",
            (false, _) => "secret_key",
        };
        let Pending { client, action, target } = self;
        latchkey.audit(AuditRecord { actor, client, action, target, status }).await;
    }
}

/// The ids an API path names (`/v1/admin/webhooks/whk_1/deliveries/msg_2/retry` → `whk_1 msg_2`).
fn target_in_path(path: &str) -> Option<String> {
    let ids: Vec<&str> = path
        .split('/')
        .filter(|segment| {
            segment.contains('_')
                && segment.len() <= 100
                && !segment.chars().all(|c| c.is_ascii_lowercase() || c == '_')
        })
        .collect();
    (!ids.is_empty()).then(|| ids.join(" "))
}

#[cfg(test)]
mod tests {
    use super::target_in_path;

    #[test]
    fn ids_are_read_from_api_paths_and_route_words_are_not() {
        assert_eq!(
            target_in_path("/v1/admin/webhooks/whk_1a/deliveries/msg_2b_3c/retry").as_deref(),
            Some("whk_1a msg_2b_3c")
        );
        assert_eq!(target_in_path("/v1/admin/signing_keys/rotate"), None);
        assert_eq!(target_in_path("/v1/admin/users/user_9f/oauth_access_tokens/notion").as_deref(), Some("user_9f"));
    }
}
