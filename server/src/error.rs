//! The JSON APIs' one error type: the contract's body `{"error": {"code", "message"}}` with its
//! HTTP status. Handlers build it, or get it `From` the domain's errors, and return it; the
//! storage message is written here once.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use domain::admin::AdminError;
use domain::store::StoreError;
use serde_json::json;

/// An API refusal: status, a stable machine code, and a sentence for people.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: String,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: &str) -> ApiError {
        ApiError { status, code: code.to_string(), message: message.to_string() }
    }

    /// The database did not answer; the request may be tried again.
    pub fn storage_unavailable() -> ApiError {
        ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "storage_unavailable", domain::failure::STORAGE_UNAVAILABLE)
    }

    pub fn unauthenticated() -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthenticated", "You are not signed in.")
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(json!({"error": {"code": self.code, "message": self.message}}))).into_response()
    }
}

impl From<AdminError> for ApiError {
    fn from(error: AdminError) -> ApiError {
        ApiError::new(StatusCode::from_u16(error.status).unwrap_or(StatusCode::BAD_REQUEST), error.code, &error.message)
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        tracing::warn!(%error, "storage failed");
        ApiError::storage_unavailable()
    }
}

/// The contract's error body as a response (for handlers that answer early).
pub fn api_error(status: StatusCode, code: &str, message: &str) -> Response {
    ApiError::new(status, code, message).into_response()
}

/// 503 `storage_unavailable`.
pub fn storage_down() -> Response {
    ApiError::storage_unavailable().into_response()
}

/// A domain refusal with its own status and code.
pub fn admin_error(error: AdminError) -> Response {
    ApiError::from(error).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_body_is_the_contracts_and_the_status_the_domains() {
        let response = admin_error(AdminError::invalid("name", "is wrong"));
        assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let bytes = axum::body::to_bytes(response.into_body(), 1024).await.expect("body");
        let body: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        assert_eq!(body, json!({"error": {"code": "invalid_field", "message": "name: is wrong"}}));
        assert_eq!(storage_down().status(), StatusCode::SERVICE_UNAVAILABLE);
    }
}
