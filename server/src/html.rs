//! Server-rendered pages outside the Leptos app: the sign-in failure pages and the sandbox's
//! consent page. Rendered with Leptos' `view!`, which escapes every interpolated string.

use axum::http::header::CONTENT_SECURITY_POLICY;
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
    failure_page_with(failure, FailureLinks { retry_href, ..FailureLinks::default() })
}

/// Where a failure page's links go, and a line for the site's owner.
#[derive(Default)]
pub struct FailureLinks {
    /// The portal page to try again on (keeping the app's `redirect_url`); `/sign-in` if none.
    pub retry_href: Option<String>,
    /// The app the sign-in was to end in, when it is another site: a way back without signing in.
    pub back_to: Option<(String, url::Url)>,
    /// For the site's owner (e.g. which redirect URI Notion must have).
    pub owner_hint: Option<String>,
}

/// The failure page with its links. Cancelling is the person's own choice, not an error: it
/// answers 200 with "Try again" and no error code; every other failure its own status.
pub fn failure_page_with(failure: Failure, links: FailureLinks) -> Response {
    let retry_href = links.retry_href.unwrap_or_else(|| "/sign-in".to_string());
    let cancelled = failure == Failure::Cancelled;
    let back = links
        .back_to
        .map(|(host, url)| view! { <a class="button" href=url.to_string()>{format!("Back to {host}")}</a> });
    let body = view! {
        <main class="auth">
            <section class="card" aria-labelledby="failure-heading">
                <div class="brand" aria-hidden="true">"Latchkey"</div>
                <h1 id="failure-heading">{failure.title()}</h1>
                <p class="lead" data-error=failure.code()>{failure.message()}</p>
                <div class="actions stacked-actions">
                    <a class="button primary" href=retry_href>{if cancelled { "Try again" } else { "Back to sign in" }}</a>
                    {back}
                </div>
                {links.owner_hint.map(|hint| view! { <p class="small owner-hint">{hint}</p> })}
                {(!cancelled).then(|| view! { <p class="muted small">"Error code: " <code>{failure.code()}</code></p> })}
            </section>
        </main>
    };
    let status = if cancelled {
        StatusCode::OK
    } else {
        StatusCode::from_u16(failure.status()).unwrap_or(StatusCode::BAD_REQUEST)
    };
    (status, Html(document(failure.title().to_string(), body))).into_response()
}

/// A page that explains and stops: an OpenID request that cannot go back to its app.
pub fn notice_page(status: StatusCode, title: String, message: String) -> Response {
    notice_page_with_link(status, title, message, ("/user", "Your account"))
}

/// The same, with the one link the person needs next.
pub fn notice_page_with_link(
    status: StatusCode,
    title: String,
    message: String,
    (href, label): (&'static str, &'static str),
) -> Response {
    let body = view! {
        <main class="auth">
            <section class="card" aria-labelledby="notice-heading">
                <div class="brand" aria-hidden="true">"Latchkey"</div>
                <h1 id="notice-heading">{title.clone()}</h1>
                <p class="lead">{message}</p>
                <a class="button" href=href>{label}</a>
            </section>
        </main>
    };
    (status, Html(document(title, body))).into_response()
}

/// "Allow <app> to …?": which app, where it sends you, what it will see, and who is asked.
/// The page CSP with `form-action` widened to `then_to` (an origin, or none): browsers apply
/// `form-action` to the redirect that answers a form too, and these forms' answers go back
/// to an app on its own origin.
fn csp_with_form_action(then_to: Option<&str>) -> String {
    let extra = then_to.filter(|o| o.starts_with("http://") || o.starts_with("https://")).unwrap_or("");
    format!(
        "default-src 'none'; style-src 'self'; img-src 'self' https: data:; form-action 'self' {extra}; \
         frame-ancestors 'none'; base-uri 'none'"
    )
}

pub fn consent_page(prompt: domain::oidc::ConsentPrompt) -> Response {
    let csp = csp_with_form_action(Some(&prompt.app_origin));
    let title = format!("Sign in to {} with Notion", prompt.app_name);
    let sees = prompt.sees.into_iter().map(|words| view! { <li>{words}</li> }).collect_view();
    let body = view! {
        <main class="auth">
            <section class="card" aria-labelledby="consent-heading">
                <div class="brand" aria-hidden="true">"Latchkey"</div>
                <h1 id="consent-heading">{format!("{} wants to know who you are", prompt.app_name)}</h1>
                <p class="lead">
                    "You are signed in as " <strong>{prompt.person}</strong> ". If you continue, "
                    <strong>{prompt.app_name.clone()}</strong> " (" {prompt.app_host} ") will see:"
                </p>
                <ul class="consent-list">{sees}</ul>
                <form method="post" action=domain::oidc::AUTHORIZE_PATH class="actions">
                    <input type="hidden" name="request" value=prompt.request/>
                    <input type="hidden" name="consent_token" value=prompt.consent_token/>
                    <button class="button" type="submit" name="decision" value="deny">"Cancel"</button>
                    <button class="button primary" type="submit" name="decision" value="allow">"Allow"</button>
                </form>
                <p class="muted small">"You are asked once; you can sign out of the app at any time."</p>
            </section>
        </main>
    };
    (StatusCode::OK, [(CONTENT_SECURITY_POLICY, csp)], Html(document(title, body))).into_response()
}

/// "Sign out?" for a logout request that did not prove which app sent it.
pub fn logout_confirm_page(
    params: Vec<(String, String)>,
    app_name: Option<String>,
    then_to: Option<String>,
) -> Response {
    let csp = csp_with_form_action(then_to.as_deref());
    let fields =
        params.into_iter().map(|(name, value)| view! { <input type="hidden" name=name value=value/> }).collect_view();
    let lead = match app_name {
        Some(app) => format!("{app} asks to sign you out of Latchkey, and so of every app you signed in to with it."),
        None => "Sign out of Latchkey, and so of every app you signed in to with it?".to_string(),
    };
    let body = view! {
        <main class="auth">
            <section class="card" aria-labelledby="logout-heading">
                <div class="brand" aria-hidden="true">"Latchkey"</div>
                <h1 id="logout-heading">"Sign out?"</h1>
                <p class="lead">{lead}</p>
                <form method="post" action=domain::oidc::LOGOUT_PATH class="actions">
                    {fields}
                    <a class="button" href="/user">"Stay signed in"</a>
                    <button class="button primary" type="submit">"Sign out"</button>
                </form>
            </section>
        </main>
    };
    (StatusCode::OK, [(CONTENT_SECURITY_POLICY, csp)], Html(document("Sign out?".to_string(), body))).into_response()
}
