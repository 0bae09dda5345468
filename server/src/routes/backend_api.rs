//! The backend API (`/v1/admin/…`): an app's servers, with `Authorization: Bearer sk_…`.
//! Every rule lives in `domain::admin`; here is HTTP: auth, bodies, status codes.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use domain::admin::{
    AdminError, ConnectionInput, ConnectionPatch, OAuthApplicationInput, OAuthApplicationPatch, WebhookInput,
    WebhookPatch,
};
use domain::ids::{ConnectionId, SessionId, SessionToken, UserId};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::json;

use super::AppState;
use crate::error::{admin_error, api_error};

pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/v1/admin/connections", get(list_connections).post(create_connection))
        .route("/v1/admin/connections/{id}", get(get_connection).patch(update_connection).delete(delete_connection))
        .route("/v1/admin/users", get(list_users))
        .route("/v1/admin/users/{id}", get(get_user).delete(delete_user))
        .route("/v1/admin/users/{id}/oauth_access_tokens/notion", get(notion_tokens))
        .route("/v1/admin/sessions", get(list_sessions))
        .route("/v1/admin/sessions/verify", post(verify_session))
        .route("/v1/admin/sessions/{id}/revoke", post(revoke_session))
        .route("/v1/admin/openapi.json", get(openapi))
        .route("/v1/admin/signing_keys/rotate", post(rotate_signing_key))
        .route("/v1/admin/audit_log", get(audit_log))
        .route("/v1/admin/oauth_applications", get(list_oauth_applications).post(create_oauth_application))
        .route(
            "/v1/admin/oauth_applications/{id}",
            get(get_oauth_application).patch(update_oauth_application).delete(delete_oauth_application),
        )
        .route("/v1/admin/oauth_applications/{id}/rotate_secret", post(rotate_oauth_client_secret))
        .route("/v1/admin/webhooks", get(list_webhooks).post(create_webhook))
        .route("/v1/admin/webhooks/{id}", get(get_webhook).patch(update_webhook).delete(delete_webhook))
        .route("/v1/admin/webhooks/{id}/secret", get(reveal_webhook_secret))
        .route("/v1/admin/webhooks/{id}/rotate_secret", post(rotate_webhook_secret))
        .route("/v1/admin/webhooks/{id}/deliveries", get(webhook_deliveries))
        .route("/v1/admin/webhooks/{id}/deliveries/{delivery_id}/retry", post(retry_webhook_delivery))
        .route_layer(axum::middleware::from_fn_with_state(state, require_secret_key))
}

/// Only the instance's secret key opens the backend API.
async fn require_secret_key(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
    let Some(presented) = presented else {
        return api_error(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "Send the secret key as `Authorization: Bearer sk_…`.",
        );
    };
    match state.latchkey.secret_key_matches(presented).await {
        Ok(true) => next.run(request).await,
        Ok(false) => {
            api_error(StatusCode::UNAUTHORIZED, "invalid_secret_key", "That secret key is not this instance's.")
        }
        Err(error) => admin_error(error.into()),
    }
}

fn list<T: serde::Serialize>(data: Vec<T>, total: i64) -> Response {
    Json(json!({"data": data, "total_count": total})).into_response()
}

fn ok<T: serde::Serialize>(result: Result<T, AdminError>) -> Response {
    match result {
        Ok(value) => Json(value).into_response(),
        Err(error) => admin_error(error),
    }
}

/// A whole list, as `{"data", "total_count"}`.
fn listed<T: serde::Serialize>(result: Result<Vec<T>, AdminError>) -> Response {
    match result {
        Ok(items) => {
            let total = items.len() as i64;
            list(items, total)
        }
        Err(error) => admin_error(error),
    }
}

/// 201 with what was made.
fn created<T: serde::Serialize>(result: Result<T, AdminError>) -> Response {
    match result {
        Ok(made) => (StatusCode::CREATED, Json(made)).into_response(),
        Err(error) => admin_error(error),
    }
}

/// A JSON body, or a 400 whose message names what is wrong (serde says which field).
fn body<T: DeserializeOwned>(bytes: &Bytes) -> Result<T, Response> {
    serde_json::from_slice(bytes).map_err(|e| {
        let message = format!("The request body is not valid: {e}.");
        api_error(StatusCode::BAD_REQUEST, "invalid_body", &message)
    })
}

/// Reads an optional whole-number query parameter, or a 400 naming it.
fn number(params: &HashMap<String, String>, name: &str, default: i64) -> Result<i64, Response> {
    match params.get(name) {
        None => Ok(default),
        Some(text) => text.parse::<i64>().map_err(|_| {
            api_error(
                StatusCode::BAD_REQUEST,
                "invalid_query",
                &format!("{name} must be a whole number, not `{text}`."),
            )
        }),
    }
}

async fn list_connections(State(state): State<AppState>) -> Response {
    listed(state.latchkey.list_connections().await)
}

async fn create_connection(State(state): State<AppState>, bytes: Bytes) -> Response {
    match body::<ConnectionInput>(&bytes) {
        Ok(input) => created(state.latchkey.create_connection(input).await),
        Err(response) => response,
    }
}

async fn get_connection(State(state): State<AppState>, Path(id): Path<ConnectionId>) -> Response {
    ok(state.latchkey.get_connection(&id).await)
}

async fn update_connection(State(state): State<AppState>, Path(id): Path<ConnectionId>, bytes: Bytes) -> Response {
    match body::<ConnectionPatch>(&bytes) {
        Ok(patch) => ok(state.latchkey.update_connection(&id, patch).await),
        Err(response) => response,
    }
}

async fn delete_connection(State(state): State<AppState>, Path(id): Path<ConnectionId>) -> Response {
    ok(state.latchkey.delete_connection(&id).await.map(|()| json!({"id": id, "object": "connection", "deleted": true})))
}

async fn list_users(State(state): State<AppState>, Query(params): Query<HashMap<String, String>>) -> Response {
    let (limit, offset) = match (number(&params, "limit", 20), number(&params, "offset", 0)) {
        (Ok(limit), Ok(offset)) => (limit, offset),
        (Err(response), _) | (_, Err(response)) => return response,
    };
    match state.latchkey.list_users(params.get("query").map(String::as_str), limit, offset).await {
        Ok((users, total)) => list(users, total),
        Err(error) => admin_error(error),
    }
}

async fn get_user(State(state): State<AppState>, Path(id): Path<UserId>) -> Response {
    ok(state.latchkey.get_user(&id).await)
}

async fn delete_user(State(state): State<AppState>, Path(id): Path<UserId>) -> Response {
    ok(state.latchkey.delete_user(&id).await.map(|()| json!({"id": id, "object": "user", "deleted": true})))
}

async fn notion_tokens(State(state): State<AppState>, Path(id): Path<UserId>) -> Response {
    match state.latchkey.notion_tokens(&id).await {
        Ok(entries) => {
            let total = entries.len() as i64;
            list(entries, total)
        }
        Err(error) => admin_error(error),
    }
}

async fn list_sessions(State(state): State<AppState>, Query(params): Query<HashMap<String, String>>) -> Response {
    let (limit, offset) = match (number(&params, "limit", 100), number(&params, "offset", 0)) {
        (Ok(limit), Ok(offset)) => (limit, offset),
        (Err(response), _) | (_, Err(response)) => return response,
    };
    let user_id = params.get("user_id").map(|id| UserId::new(id.as_str()));
    match state.latchkey.list_sessions(user_id.as_ref(), limit, offset).await {
        Ok((sessions, total)) => list(sessions, total),
        Err(error) => admin_error(error),
    }
}

async fn revoke_session(State(state): State<AppState>, Path(id): Path<SessionId>) -> Response {
    ok(state.latchkey.revoke_session(&id).await)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VerifyRequest {
    token: String,
}

async fn verify_session(State(state): State<AppState>, bytes: Bytes) -> Response {
    let request: VerifyRequest = match body(&bytes) {
        Ok(request) => request,
        Err(response) => return response,
    };
    ok(state
        .latchkey
        .verify_session(&SessionToken::new(request.token))
        .await
        .map(|auth| json!({"session": auth.session.to_model(), "user": &*auth.user})))
}

/// The OpenAPI document, with this instance's URL as its server.
async fn openapi(State(state): State<AppState>) -> Response {
    let mut document: serde_json::Value = serde_json::from_str(OPENAPI).unwrap_or_default();
    document["servers"] = json!([{"url": state.latchkey.config().public_url.as_str().trim_end_matches('/')}]);
    Json(document).into_response()
}

pub const OPENAPI: &str = include_str!("openapi.json");

/// `POST /v1/admin/signing_keys/rotate`: new signing keys (session tokens' and ID tokens') take
/// over in a few seconds; the old ones stay in the JWKS until every token they signed has
/// expired. `kid`/`activates_at` name the session-token key, `keys` every new one.
async fn rotate_signing_key(State(state): State<AppState>) -> Response {
    match state.latchkey.rotate_signing_key().await {
        Ok(rotated) => {
            let keys: Vec<_> = rotated
                .iter()
                .map(|(alg, kid, at)| json!({"alg": alg.as_str(), "kid": kid, "activates_at": at}))
                .collect();
            let (_, kid, activates_at) = &rotated[0];
            (StatusCode::CREATED, Json(json!({"kid": kid, "activates_at": activates_at, "keys": keys}))).into_response()
        }
        Err(e) => api_error(StatusCode::SERVICE_UNAVAILABLE, "rotation_failed", &e.to_string()),
    }
}

async fn list_webhooks(State(state): State<AppState>) -> Response {
    listed(state.latchkey.list_webhooks().await)
}

/// `POST /v1/admin/webhooks`: 201 with the endpoint's signing secret.
async fn create_webhook(State(state): State<AppState>, bytes: Bytes) -> Response {
    match body::<WebhookInput>(&bytes) {
        Ok(input) => created(state.latchkey.create_webhook(input).await),
        Err(response) => response,
    }
}

async fn get_webhook(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    ok(state.latchkey.get_webhook(&id).await)
}

async fn update_webhook(State(state): State<AppState>, Path(id): Path<String>, bytes: Bytes) -> Response {
    match body::<WebhookPatch>(&bytes) {
        Ok(patch) => ok(state.latchkey.update_webhook(&id, patch).await),
        Err(response) => response,
    }
}

async fn delete_webhook(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    ok(state.latchkey.delete_webhook(&id).await.map(|()| json!({"id": id, "object": "webhook", "deleted": true})))
}

async fn reveal_webhook_secret(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    ok(state.latchkey.reveal_webhook_secret(&id).await)
}

async fn rotate_webhook_secret(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    ok(state.latchkey.rotate_webhook_secret(&id).await)
}

async fn webhook_deliveries(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<HashMap<String, String>>,
) -> Response {
    let (limit, offset) = match (number(&params, "limit", 50), number(&params, "offset", 0)) {
        (Ok(limit), Ok(offset)) => (limit, offset),
        (Err(response), _) | (_, Err(response)) => return response,
    };
    match state.latchkey.webhook_deliveries(&id, limit, offset).await {
        Ok((deliveries, total)) => list(deliveries, total),
        Err(error) => admin_error(error),
    }
}

async fn retry_webhook_delivery(
    State(state): State<AppState>,
    Path((id, delivery_id)): Path<(String, String)>,
) -> Response {
    ok(state.latchkey.retry_webhook_delivery(&id, &delivery_id).await)
}

/// `GET /v1/admin/audit_log?limit&offset`: admin actions, newest first.
async fn audit_log(State(state): State<AppState>, Query(params): Query<HashMap<String, String>>) -> Response {
    let (limit, offset) = match (number(&params, "limit", 50), number(&params, "offset", 0)) {
        (Ok(limit), Ok(offset)) => (limit, offset),
        (Err(response), _) | (_, Err(response)) => return response,
    };
    match state.latchkey.audit_log(limit, offset).await {
        Ok((entries, total)) => list(entries, total),
        Err(error) => admin_error(error),
    }
}

async fn list_oauth_applications(State(state): State<AppState>) -> Response {
    listed(state.latchkey.list_oauth_applications().await)
}

/// `POST /v1/admin/oauth_applications`: 201 with the client secret (confidential apps), once.
async fn create_oauth_application(State(state): State<AppState>, bytes: Bytes) -> Response {
    match body::<OAuthApplicationInput>(&bytes) {
        Ok(input) => created(state.latchkey.create_oauth_application(input).await),
        Err(response) => response,
    }
}

async fn get_oauth_application(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    ok(state.latchkey.get_oauth_application(&id).await)
}

async fn update_oauth_application(State(state): State<AppState>, Path(id): Path<String>, bytes: Bytes) -> Response {
    match body::<OAuthApplicationPatch>(&bytes) {
        Ok(patch) => ok(state.latchkey.update_oauth_application(&id, patch).await),
        Err(response) => response,
    }
}

async fn delete_oauth_application(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let deleted = state.latchkey.delete_oauth_application(&id).await;
    ok(deleted.map(|()| json!({"id": id, "object": "oauth_application", "deleted": true})))
}

async fn rotate_oauth_client_secret(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    ok(state.latchkey.rotate_oauth_client_secret(&id).await)
}
