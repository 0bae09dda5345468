//! The HTTP side of Notion's OAuth: the authorize URL and the code exchange.

use std::time::Duration;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, RETRY_AFTER};
use url::Url;

use super::wire::{ErrorBody, TokenResponse};
use super::NOTION_VERSION;
use crate::failure::Failure;
use crate::outbound::IDLE_CONNECTION_KEPT;
use crate::secret::Secret;

/// The longest Latchkey waits for Notion's token endpoint before telling the person.
pub const EXCHANGE_TIMEOUT: Duration = Duration::from_secs(10);

/// A Notion integration's OAuth client id and secret.
#[derive(Debug, Clone)]
pub struct ClientCredentials {
    pub client_id: String,
    pub client_secret: Secret<String>,
}

impl ClientCredentials {
    fn basic_auth(&self) -> String {
        let raw = format!("{}:{}", self.client_id, self.client_secret.expose());
        format!("Basic {}", STANDARD.encode(raw))
    }
}

/// What went wrong talking to Notion. Never carries a secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotionError {
    #[error("Notion refused the code ({0})")]
    CodeRejected(String),
    #[error("Notion refused the client credentials")]
    ClientRejected,
    #[error("Notion rate limited the request (retry after {0:?} s)")]
    RateLimited(Option<u64>),
    #[error("Notion answered {status} {code}")]
    Rejected { status: u16, code: String },
    #[error("Notion is unavailable: {0}")]
    Unavailable(String),
    #[error("Notion's answer is malformed: {0}")]
    Malformed(String),
}

impl NotionError {
    pub fn failure(&self) -> Failure {
        match self {
            NotionError::CodeRejected(_) => Failure::CodeRejected,
            NotionError::ClientRejected => Failure::ClientRejected,
            NotionError::RateLimited(_) => Failure::NotionRateLimited,
            NotionError::Rejected { .. } => Failure::NotionRejected,
            NotionError::Unavailable(_) | NotionError::Malformed(_) => Failure::NotionUnavailable,
        }
    }
}

#[derive(Clone)]
pub struct NotionClient {
    http: reqwest::Client,
}

impl NotionClient {
    pub fn new() -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(EXCHANGE_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            // On a development instance the Notion at the other end is our own server (the
            // sandbox), which closes idle connections after 10 s.
            .pool_idle_timeout(IDLE_CONNECTION_KEPT)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Latchkey/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(NotionClient { http })
    }

    /// `{base}/v1/oauth/authorize` with Notion's five parameters.
    pub fn authorize_url(base: &Url, client_id: &str, redirect_uri: &str, state: &str) -> Url {
        let mut url = endpoint(base, "v1/oauth/authorize");
        url.query_pairs_mut()
            .append_pair("client_id", client_id)
            .append_pair("response_type", "code")
            .append_pair("owner", "user")
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("state", state);
        url
    }

    /// Exchanges an authorization code: Basic client auth, a JSON body, the same redirect URI.
    pub async fn exchange_code(
        &self,
        base: &Url,
        credentials: &ClientCredentials,
        code: &str,
        redirect_uri: &str,
    ) -> Result<TokenResponse, NotionError> {
        let body = serde_json::json!({"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri});
        self.token_request(base, credentials, &body).await
    }

    /// Exchanges a refresh token for a new pair (Notion rotates: the old refresh token dies).
    pub async fn refresh(
        &self,
        base: &Url,
        credentials: &ClientCredentials,
        refresh_token: &str,
    ) -> Result<TokenResponse, NotionError> {
        let body = serde_json::json!({"grant_type": "refresh_token", "refresh_token": refresh_token});
        self.token_request(base, credentials, &body).await
    }

    /// `POST /v1/oauth/introspect`: whether Notion still honours the token.
    pub async fn introspect(
        &self,
        base: &Url,
        credentials: &ClientCredentials,
        token: &str,
    ) -> Result<bool, NotionError> {
        let answer = self.client_call(base, "v1/oauth/introspect", credentials, token).await?;
        Ok(answer.get("active").and_then(serde_json::Value::as_bool).unwrap_or(false))
    }

    /// `POST /v1/oauth/revoke`: the token stops working at Notion.
    pub async fn revoke(&self, base: &Url, credentials: &ClientCredentials, token: &str) -> Result<(), NotionError> {
        self.client_call(base, "v1/oauth/revoke", credentials, token).await.map(|_| ())
    }

    async fn client_call(
        &self,
        base: &Url,
        path: &'static str,
        credentials: &ClientCredentials,
        token: &str,
    ) -> Result<serde_json::Value, NotionError> {
        let started = std::time::Instant::now();
        let answer = self.client_call_untimed(base, path, credentials, token).await;
        timed(path.trim_start_matches("v1/oauth/"), started, answer.is_ok());
        answer
    }

    async fn client_call_untimed(
        &self,
        base: &Url,
        path: &str,
        credentials: &ClientCredentials,
        token: &str,
    ) -> Result<serde_json::Value, NotionError> {
        let response = self
            .http
            .post(endpoint(base, path))
            .header(AUTHORIZATION, credentials.basic_auth())
            .header("Notion-Version", NOTION_VERSION)
            .json(&serde_json::json!({"token": token}))
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status().as_u16();
        let bytes = read_bounded(response).await?;
        if status == 200 {
            return serde_json::from_slice(&bytes).map_err(|e| NotionError::Malformed(e.to_string()));
        }
        match interpret_token_answer(status, None, &bytes) {
            Err(error) => Err(error),
            Ok(_) => Err(NotionError::Malformed(format!("HTTP {status}"))),
        }
    }

    async fn token_request(
        &self,
        base: &Url,
        credentials: &ClientCredentials,
        body: &serde_json::Value,
    ) -> Result<TokenResponse, NotionError> {
        let started = std::time::Instant::now();
        let answer = self.token_request_untimed(base, credentials, body).await;
        timed("token", started, answer.is_ok());
        answer
    }

    async fn token_request_untimed(
        &self,
        base: &Url,
        credentials: &ClientCredentials,
        body: &serde_json::Value,
    ) -> Result<TokenResponse, NotionError> {
        let response = self
            .http
            .post(endpoint(base, "v1/oauth/token"))
            .header(AUTHORIZATION, credentials.basic_auth())
            .header(CONTENT_TYPE, "application/json")
            .header(ACCEPT, "application/json")
            .header("Notion-Version", NOTION_VERSION)
            .json(body)
            .send()
            .await
            .map_err(transport_error)?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        let bytes = read_bounded(response).await?;
        interpret_token_answer(status, retry_after, &bytes)
    }
}

/// Notion's latency and failures, for the metrics (nothing without a recorder).
fn timed(call: &'static str, started: std::time::Instant, ok: bool) {
    metrics::histogram!("latchkey_notion_request_duration_seconds", "call" => call)
        .record(started.elapsed().as_secs_f64());
    if !ok {
        metrics::counter!("latchkey_notion_errors_total", "call" => call).increment(1);
    }
}

/// The largest answer read from Notion; its token answers are a few kilobytes.
pub const MAX_ANSWER_BYTES: usize = 1024 * 1024;

/// Reads an answer's body chunk by chunk, giving up past [`MAX_ANSWER_BYTES`]: a huge (or
/// endless) answer is a failure, never buffered whole.
async fn read_bounded(mut response: reqwest::Response) -> Result<Vec<u8>, NotionError> {
    if response.content_length().is_some_and(|n| n > MAX_ANSWER_BYTES as u64) {
        return Err(NotionError::Malformed("the answer is larger than 1 MiB".into()));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport_error)? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(NotionError::Malformed("the answer is larger than 1 MiB".into()));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Turns a token endpoint's status and body into a token or a precise error.
pub fn interpret_token_answer(
    status: u16,
    retry_after: Option<u64>,
    body: &[u8],
) -> Result<TokenResponse, NotionError> {
    if status == 200 {
        return serde_json::from_slice(body).map_err(|e| NotionError::Malformed(format!("token response: {e}")));
    }
    let error = ErrorBody::parse(body);
    let code = error.as_ref().map(|e| e.code.as_str()).unwrap_or("");
    match (status, code) {
        (429, _) | (_, "rate_limited") => Err(NotionError::RateLimited(retry_after)),
        (_, "invalid_client" | "unauthorized_client") | (401, _) => Err(NotionError::ClientRejected),
        (_, "invalid_grant") => {
            Err(NotionError::CodeRejected(error.and_then(|e| e.message).unwrap_or_else(|| "invalid_grant".to_string())))
        }
        (500..=599, _) => Err(NotionError::Unavailable(format!("HTTP {status} {code}"))),
        (400..=499, "") => Err(NotionError::Malformed(format!("HTTP {status} without an error body"))),
        (400..=499, _) => Err(NotionError::Rejected { status, code: code.to_string() }),
        _ => Err(NotionError::Malformed(format!("unexpected HTTP {status}"))),
    }
}

fn transport_error(error: reqwest::Error) -> NotionError {
    let what = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "connection failed"
    } else {
        "connection broke"
    };
    NotionError::Unavailable(what.to_string())
}

fn endpoint(base: &Url, path: &str) -> Url {
    let mut url = base.clone();
    let joined = format!("{}/{}", url.path().trim_end_matches('/'), path);
    url.set_path(&joined);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authorize_url_has_notions_five_parameters() {
        let base = Url::parse("https://api.notion.com").expect("url");
        let url = NotionClient::authorize_url(&base, "cid", "http://localhost:3000/v1/oauth_callback", "st&ate");
        assert_eq!(url.path(), "/v1/oauth/authorize");
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        let names: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["client_id", "response_type", "owner", "redirect_uri", "state"]);
        assert!(pairs.contains(&("owner".into(), "user".into())));
        assert!(pairs.contains(&("state".into(), "st&ate".into())));
        assert!(pairs.contains(&("redirect_uri".into(), "http://localhost:3000/v1/oauth_callback".into())));
    }

    #[test]
    fn endpoints_keep_a_base_path() {
        let base = Url::parse("http://127.0.0.1:3000/sandbox/notion/").expect("url");
        assert_eq!(endpoint(&base, "v1/oauth/token").as_str(), "http://127.0.0.1:3000/sandbox/notion/v1/oauth/token");
    }

    #[test]
    fn basic_auth_is_the_standard_encoding() {
        let creds = ClientCredentials { client_id: "id".into(), client_secret: Secret::new("secret".into()) };
        assert_eq!(creds.basic_auth(), "Basic aWQ6c2VjcmV0");
        assert!(!format!("{creds:?}").contains("secret\""));
    }

    #[test]
    fn every_error_answer_maps_to_a_failure() {
        let cases: &[(u16, &[u8], Failure)] = &[
            (400, br#"{"error": "invalid_grant", "error_description": "used"}"#, Failure::CodeRejected),
            (
                400,
                br#"{"object": "error", "status": 400, "code": "invalid_grant", "message": "expired"}"#,
                Failure::CodeRejected,
            ),
            (401, br#"{"error": "invalid_client"}"#, Failure::ClientRejected),
            (401, b"", Failure::ClientRejected),
            (400, br#"{"error": "unsupported_grant_type"}"#, Failure::NotionRejected),
            (400, br#"{"error": "invalid_request"}"#, Failure::NotionRejected),
            (
                429,
                br#"{"object": "error", "code": "rate_limited", "message": "slow down"}"#,
                Failure::NotionRateLimited,
            ),
            (500, br#"{"object": "error", "code": "internal_server_error"}"#, Failure::NotionUnavailable),
            (503, b"<html><body>Service Unavailable</body></html>", Failure::NotionUnavailable),
            (529, br#"{"object": "error", "code": "service_overload"}"#, Failure::NotionUnavailable),
            (200, b"<html>captive portal</html>", Failure::NotionUnavailable),
            (200, br#"{"access_token": "a""#, Failure::NotionUnavailable),
            (404, b"<html>Not Found</html>", Failure::NotionUnavailable),
            (302, b"", Failure::NotionUnavailable),
        ];
        for (status, body, expected) in cases {
            let failure = interpret_token_answer(*status, None, body).err().map(|e| e.failure());
            assert_eq!(failure, Some(*expected), "HTTP {status} {}", String::from_utf8_lossy(body));
        }
        assert_eq!(interpret_token_answer(429, Some(30), b"").err(), Some(NotionError::RateLimited(Some(30))));
    }
}
