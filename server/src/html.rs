//! Server-rendered pages outside the Leptos app: the sign-in failure pages and the sandbox's
//! consent page. Rendered with Leptos' `view!`, which escapes every interpolated string.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use domain::failure::Failure;
use leptos::prelude::*;

/// A whole HTML document around `body`.
pub fn document(title: String, body: impl IntoView + 'static) -> String {
    let page = view! {
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <title>{title}</title>
                <link rel="stylesheet" href="/pkg/latchkey.css"/>
            </head>
            <body>{body}</body>
        </html>
    };
    format!("<!DOCTYPE html>{}", page.to_html())
}

/// The page a person sees when a sign-in does not sign them in: what happened, what to do.
pub fn failure_page(failure: Failure, retry_href: Option<String>) -> Response {
    failure_page_with_hint(failure, retry_href, None)
}

/// The same, with a line for the site's owner (e.g. which redirect URI Notion must have).
pub fn failure_page_with_hint(failure: Failure, retry_href: Option<String>, owner_hint: Option<String>) -> Response {
    let retry_href = retry_href.unwrap_or_else(|| "/sign-in".to_string());
    let body = view! {
        <main class="auth">
            <section class="card" aria-labelledby="failure-heading">
                <div class="brand" aria-hidden="true">"Latchkey"</div>
                <h1 id="failure-heading">{failure.title()}</h1>
                <p class="lead" data-error=failure.code()>{failure.message()}</p>
                <a class="button primary" href=retry_href>"Back to sign in"</a>
                {owner_hint.map(|hint| view! { <p class="small owner-hint">{hint}</p> })}
                <p class="muted small">"Error code: " <code>{failure.code()}</code></p>
            </section>
        </main>
    };
    let status = StatusCode::from_u16(failure.status()).unwrap_or(StatusCode::BAD_REQUEST);
    (status, Html(document(failure.title().to_string(), body))).into_response()
}
