//! The router: every route Latchkey serves, and the layers around them.

mod backend_api;
mod frontend_api;
mod oauth;
mod oidc;
mod sandbox;
mod session_tokens;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use domain::Latchkey;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};

use crate::security::{self, RateLimiter};
pub use crate::state::AppState;

pub fn router(latchkey: Arc<Latchkey>, leptos_options: LeptosOptions) -> Router {
    let state = AppState {
        sign_in_limiter: Arc::new(RateLimiter::per_minute(latchkey.config().rate_limit_per_minute)),
        latchkey: latchkey.clone(),
        leptos_options: Arc::new(leptos_options.clone()),
    };
    let hsts = latchkey.config().public_url.scheme() == "https";

    let sign_in = Router::new()
        .route("/v1/oauth/notion/start", get(oauth::start))
        .route("/v1/oauth_callback", get(oauth::callback))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), security::rate_limit_sign_in));

    // What the widget calls from other origins: CORS for the allowed ones only, with credentials.
    let cross_origin_api = Router::new()
        .route("/v1/me", get(frontend_api::me))
        .route("/v1/sign-out", post(frontend_api::sign_out))
        .route("/v1/environment", get(frontend_api::environment))
        .route("/v1/me/token", post(session_tokens::mint))
        .layer(security::cors(latchkey.clone()));
    let api = Router::new()
        .merge(cross_origin_api)
        .route("/v1/sessions/{id}/revoke", post(frontend_api::revoke_session))
        .route("/v1/me/delete", post(frontend_api::delete_account))
        .route("/widget.js", get(frontend_api::widget_loader))
        .route("/.well-known/jwks.json", get(session_tokens::jwks))
        .route("/v1/client/handshake", get(session_tokens::handshake))
        .route("/healthz", get(frontend_api::healthz))
        .route("/readyz", get(frontend_api::readyz));

    let mut app =
        Router::new().merge(sign_in).merge(api).merge(oidc::routes()).merge(backend_api::routes(state.clone()));
    if latchkey.sandbox().is_some() {
        app = app.merge(sandbox::routes());
    }

    // Which WASM chunks each lazily loaded route needs, so that a page names them in its HTML:
    // Leptos looks for the file on disk only, and a release binary carries it inside.
    let manifest = format!("{}/{}", leptos_options.site_pkg_dir, app::SPLIT_MANIFEST_FILE);
    match crate::assets::site_file(&manifest, &leptos_options.site_root)
        .map(|json| app::use_split_manifest(&json, &leptos_options.site_pkg_dir))
    {
        Some(Ok(())) => {}
        Some(Err(e)) => tracing::warn!("{manifest}: {e}; pages will fetch their WASM chunks one after another"),
        None => {
            tracing::warn!("{manifest} is missing: the site bundle was not built with `cargo leptos build --split`")
        }
    }
    let routes = generate_route_list(app::App);
    let context_latchkey = latchkey.clone();
    app.leptos_routes_with_context(&state, routes, move || provide_context(context_latchkey.clone()), {
        let options = leptos_options.clone();
        move || app::shell(options.clone())
    })
    .fallback(site_files())
    // Every request's way in and out (edge.rs), then compression and the body limit: three
    // layers, as one stack (`Router::layer` wraps each layer around every route on its own).
    .layer(
        tower::ServiceBuilder::new()
            .layer(axum::middleware::from_fn_with_state(
                Arc::new(crate::edge::Edge {
                    trusted: latchkey.config().trusted_proxies.clone(),
                    latchkey: latchkey.clone(),
                    hsts,
                }),
                crate::edge::edge,
            ))
            // gzip or brotli for whoever accepts it: pages, JSON, and the WASM bundles
            // (tower-http skips already-compressed types and tiny bodies).
            .layer(tower_http::compression::CompressionLayer::new())
            .layer(DefaultBodyLimit::max(security::SERVER_FN_BODY_LIMIT)),
    )
    .with_state(state)
}

/// Files of the site bundle: from inside the binary (see assets.rs), or from `LEPTOS_SITE_ROOT`
/// when the operator set it; anything else is Leptos' not-found page.
fn site_files() -> impl Fn(
    axum::http::Uri,
    axum::extract::State<AppState>,
    axum::extract::Request,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = axum::response::Response> + Send>>
       + Clone
       + Send
       + Sync
       + 'static {
    let from_disk = leptos_axum::file_and_error_handler::<AppState, _>(app::shell);
    let site_root_set = std::env::var_os("LEPTOS_SITE_ROOT").is_some();
    move |uri, state, request| {
        let from_disk = from_disk.clone();
        Box::pin(async move {
            if !site_root_set {
                if let Some(response) = crate::assets::embedded(&request) {
                    return response;
                }
            }
            from_disk(uri, state, request).await
        })
    }
}
