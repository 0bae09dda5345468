//! Latchkey's account portal: `/sign-in`, `/sign-up`, `/user`.
//!
//! Pages render on the server (complete HTML, so everything works before or without WASM);
//! pages that gain from interactivity load the WASM bundle and hydrate (see [`shell`]).
#![forbid(unsafe_code)]
// Leptos views are deeply nested types; the dashboard's modal needs more than the default.
#![recursion_limit = "256"]

pub mod admin;
pub mod api;
mod format;
mod lazy;
mod pages;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{path, Lazy, SsrMode};

use admin::sections::{
    ApiKeysSection, AuditLogSection, ConnectionSection, ConnectionsSection, OAuthAppSection, OAuthAppsSection,
    PortalSection, UserSection, UsersSection, WebhookSection, WebhooksSection,
};
use admin::Dashboard;

/// Pages that load the WASM bundle: the dashboard, an app of its own. The account portal does
/// not: `/sign-in` is a link and some text, `/user` some text and forms; each stays a few
/// kilobytes instead of carrying the dashboard's half-megabyte bundle.
#[cfg(feature = "ssr")]
fn hydrates(path: &str) -> bool {
    path == "/dashboard" || path.starts_with("/dashboard/")
}

/// The file, in the site's `pkg` folder, in which `cargo leptos build --split` lists the WASM
/// chunks each lazily loaded route needs.
#[cfg(feature = "ssr")]
pub const SPLIT_MANIFEST_FILE: &str = "__wasm_split_manifest.json";

/// The chunk loader `--split` writes beside the bundle.
#[cfg(feature = "ssr")]
const SPLIT_LOADER_FILE: &str = "__wasm_split.______________________.js";

/// Made once, at start; each hydrated page's context shares it (an `Arc`).
#[cfg(feature = "ssr")]
static SPLIT_MANIFEST: std::sync::OnceLock<leptos::WasmSplitManifest> = std::sync::OnceLock::new();

/// Takes the bundle's split manifest (the server reads it once at start, from wherever it
/// serves the bundle, whose files are under `/<pkg_dir>`), so that every hydrated page names the
/// chunks it needs in its `<head>`.
#[cfg(feature = "ssr")]
pub fn use_split_manifest(json: &[u8], pkg_dir: &str) -> Result<(), String> {
    let chunks = serde_json::from_slice(json).map_err(|e| format!("not a split manifest: {e}"))?;
    let value = (format!("/{pkg_dir}"), chunks, SPLIT_LOADER_FILE.to_string());
    let _ = SPLIT_MANIFEST.set(leptos::WasmSplitManifest(leptos::prelude::ArcStoredValue::new(value)));
    Ok(())
}

/// The HTML document around every page.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    let hydrate = {
        let path = use_context::<http::request::Parts>().map(|parts| parts.uri.path().to_string()).unwrap_or_default();
        content_security_policy();
        let hydrate = hydrates(&path);
        if let Some(manifest) = SPLIT_MANIFEST.get().filter(|_| hydrate) {
            provide_context(manifest.clone());
        }
        hydrate
    };
    #[cfg(not(feature = "ssr"))]
    let hydrate = true;
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                {hydrate.then(|| view! { <HydrationScripts options/> })}
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The page's Content-Security-Policy, allowing exactly the scripts Leptos wrote with this
/// response's nonce, and WebAssembly.
#[cfg(feature = "ssr")]
fn content_security_policy() {
    use http::header::{HeaderValue, CONTENT_SECURITY_POLICY};
    let nonce = leptos::nonce::use_nonce().map(|n| format!(" 'nonce-{n}'")).unwrap_or_default();
    let policy = format!(
        "default-src 'self'; script-src 'self'{nonce} 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' https: data:; \
         connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    );
    if let (Some(response), Ok(value)) = (use_context::<leptos_axum::ResponseOptions>(), HeaderValue::from_str(&policy))
    {
        response.insert_header(CONTENT_SECURITY_POLICY, value);
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Stylesheet id="latchkey" href="/pkg/latchkey.css"/>
        <Router>
            <Routes fallback=pages::NotFound>
                <Route path=path!("/sign-in") view={Lazy::<pages::SignInRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/sign-up") view={Lazy::<pages::SignUpRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/user") view={Lazy::<pages::UserRoute>::new()} ssr=SsrMode::Async/>
                <Route path=path!("/") view={Lazy::<pages::HomeRoute>::new()} ssr=SsrMode::Async/>
                // One frame (sidebar, status) for every dashboard page; the section is nested.
                <ParentRoute path=path!("/dashboard") view=Dashboard ssr=SsrMode::Async>
                    <Route path=path!("") view={Lazy::<ConnectionsSection>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("sso-connections") view={Lazy::<ConnectionsSection>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("sso-connections/:id") view={Lazy::<ConnectionSection>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("account-portal") view={Lazy::<PortalSection>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("users") view={Lazy::<UsersSection>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("users/:id") view={Lazy::<UserSection>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("api-keys") view={Lazy::<ApiKeysSection>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("webhooks") view={Lazy::<WebhooksSection>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("webhooks/:id") view={Lazy::<WebhookSection>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("oauth-applications") view={Lazy::<OAuthAppsSection>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("oauth-applications/:id") view={Lazy::<OAuthAppSection>::new()} ssr=SsrMode::Async/>
                    <Route path=path!("audit-log") view={Lazy::<AuditLogSection>::new()} ssr=SsrMode::Async/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_lazy(App);
}
