//! The site bundle (`target/site`: the dashboard's CSS and WASM, the widget, the favicon),
//! compiled into the release binary, so it serves everything from any directory. Debug builds
//! read the same folder from disk, so a rebuilt bundle is served without recompiling.
//! `LEPTOS_SITE_ROOT`, when set, still wins: the files are then served from there.

use axum::body::Body;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use axum::http::{HeaderValue, Request};
use axum::response::{IntoResponse, Response};

#[derive(rust_embed::RustEmbed)]
#[folder = "$CARGO_MANIFEST_DIR/../target/site"]
#[allow_missing = true]
struct Site;

/// The bundled file at this request's path, if there is one.
pub fn embedded(request: &Request<Body>) -> Option<Response> {
    let path = request.uri().path().trim_start_matches('/');
    if path.is_empty() || path.contains("..") {
        return None;
    }
    let file = Site::get(path)?;
    let mime = file.metadata.mimetype();
    let mut response = file.data.into_owned().into_response();
    let headers = response.headers_mut();
    headers.insert(
        CONTENT_TYPE,
        HeaderValue::from_str(mime).unwrap_or(HeaderValue::from_static("application/octet-stream")),
    );
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("public, max-age=300"));
    Some(response)
}

/// A file of the site bundle, as the server serves it: from `LEPTOS_SITE_ROOT` when the operator
/// set it, else from inside the binary (or, in debug builds, from target/site).
pub fn site_file(path: &str, site_root: &str) -> Option<Vec<u8>> {
    if std::env::var_os("LEPTOS_SITE_ROOT").is_some() {
        return std::fs::read(std::path::Path::new(site_root).join(path)).ok();
    }
    Site::get(path).map(|file| file.data.into_owned())
}
