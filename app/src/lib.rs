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
mod pages;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet};
use leptos_router::components::{ParentRoute, Route, Router, Routes};
use leptos_router::{path, SsrMode};

use admin::pages_export::{
    ApiKeys, AuditLog, ConnectionPage, Connections, Dashboard, OAuthAppPage, OAuthApps, Portal, UserPage, Users,
    WebhookPage, Webhooks,
};

/// Pages that load the WASM bundle: the dashboard, an app of its own. The account portal does
/// not: `/sign-in` is a link and some text, `/user` some text and forms; each stays a few
/// kilobytes instead of carrying the dashboard's half-megabyte bundle.
#[cfg(feature = "ssr")]
fn hydrates(path: &str) -> bool {
    path == "/dashboard" || path.starts_with("/dashboard/")
}

/// The HTML document around every page.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    let hydrate = {
        let path = use_context::<http::request::Parts>().map(|parts| parts.uri.path().to_string()).unwrap_or_default();
        content_security_policy();
        hydrates(&path)
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
                <Route path=path!("/sign-in") view=pages::SignInPage ssr=SsrMode::Async/>
                <Route path=path!("/sign-up") view=pages::SignUpPage ssr=SsrMode::Async/>
                <Route path=path!("/user") view=pages::UserPage ssr=SsrMode::Async/>
                <Route path=path!("/") view=pages::Home ssr=SsrMode::Async/>
                // One frame (sidebar, status) for every dashboard page; the section is nested.
                <ParentRoute path=path!("/dashboard") view=Dashboard ssr=SsrMode::Async>
                    <Route path=path!("") view=Connections ssr=SsrMode::Async/>
                    <Route path=path!("sso-connections") view=Connections ssr=SsrMode::Async/>
                    <Route path=path!("sso-connections/:id") view=ConnectionPage ssr=SsrMode::Async/>
                    <Route path=path!("account-portal") view=Portal ssr=SsrMode::Async/>
                    <Route path=path!("users") view=Users ssr=SsrMode::Async/>
                    <Route path=path!("users/:id") view=UserPage ssr=SsrMode::Async/>
                    <Route path=path!("api-keys") view=ApiKeys ssr=SsrMode::Async/>
                    <Route path=path!("webhooks") view=Webhooks ssr=SsrMode::Async/>
                    <Route path=path!("webhooks/:id") view=WebhookPage ssr=SsrMode::Async/>
                    <Route path=path!("oauth-applications") view=OAuthApps ssr=SsrMode::Async/>
                    <Route path=path!("oauth-applications/:id") view=OAuthAppPage ssr=SsrMode::Async/>
                    <Route path=path!("audit-log") view=AuditLog ssr=SsrMode::Async/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    leptos::mount::hydrate_body(App);
}
