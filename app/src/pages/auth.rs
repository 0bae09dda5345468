//! `/sign-in` and `/sign-up`: one card, worded for the intent. The Notion control is a plain
//! link to the start endpoint, so it works before and without WASM.

use domain::failure::Failure;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{sign_in_unavailable, sign_ups_open};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Intent {
    SignIn,
    SignUp,
}

#[component]
pub fn SignInPage() -> impl IntoView {
    view! { <AuthCard intent=Intent::SignIn/> }
}

#[component]
pub fn SignUpPage() -> impl IntoView {
    view! { <AuthCard intent=Intent::SignUp/> }
}

/// `/v1/oauth/notion/start?intent=…&redirect_url=…`
fn start_href(intent: Intent, redirect_url: Option<&str>) -> String {
    let intent = match intent {
        Intent::SignIn => "sign_in",
        Intent::SignUp => "sign_up",
    };
    match redirect_url {
        Some(url) => format!("/v1/oauth/notion/start?intent={intent}&redirect_url={}", urlencoding::encode(url)),
        None => format!("/v1/oauth/notion/start?intent={intent}"),
    }
}

/// The other page's link, keeping where the person wants to end up.
fn switch_href(page: &str, redirect_url: Option<&str>) -> String {
    match redirect_url {
        Some(url) => format!("{page}?redirect_url={}", urlencoding::encode(url)),
        None => page.to_string(),
    }
}

#[component]
fn AuthCard(intent: Intent) -> impl IntoView {
    let query = use_query_map();
    let redirect_url = move || query.read().get("redirect_url");
    let failure =
        move || query.read().get("error").map(|code| Failure::from_code(&code).unwrap_or(Failure::BadRequest));
    let (title, heading, lead, button, switch_text, switch_link, switch_page) = match intent {
        Intent::SignIn => (
            "Sign in",
            "Sign in",
            "Welcome back. Continue with your Notion account.",
            "Sign in with Notion",
            "No account yet?",
            "Sign up",
            "/sign-up",
        ),
        Intent::SignUp => (
            "Sign up",
            "Create your account",
            "Use your Notion account: no new password to remember.",
            "Sign up with Notion",
            "Already have an account?",
            "Sign in",
            "/sign-in",
        ),
    };
    view! {
        <Title text=title/>
        <main class="auth">
            <section class="card" aria-labelledby="auth-heading">
                <div class="brand" aria-hidden="true">"Latchkey"</div>
                <h1 id="auth-heading">{heading}</h1>
                <p class="lead">{lead}</p>
                {move || failure().map(|failure| view! {
                    <div class="alert" role="alert" data-error=failure.code()>
                        <strong>{failure.title()}</strong>
                        <p>{failure.message()}</p>
                    </div>
                })}
                // The route renders whole on the server (SsrMode::Async): no script, no flash.
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move {
                        match sign_in_unavailable().await {
                            Ok(None) => {
                                // Sign-ups closed: say so here, and offer what still works (a
                                // sign-in for people with an account), not a sign-up bound to fail.
                                let closed = intent == Intent::SignUp && !sign_ups_open().await.unwrap_or(true);
                                let (intent, button) = if closed { (Intent::SignIn, "Sign in with Notion") } else { (intent, button) };
                                let closed = closed.then(|| {
                                    let failure = Failure::SignUpsClosed;
                                    view! {
                                        <div class="alert" role="status" data-unavailable=failure.code()>
                                            <strong>{failure.title()}</strong>
                                            <p>{failure.message()} " If you already have an account, sign in."</p>
                                        </div>
                                    }
                                });
                                view! {
                                    {closed}
                                    <a class="notion-button" rel="external" href=move || start_href(intent, redirect_url().as_deref())>
                                        <NotionMark/>
                                        <span>{button}</span>
                                    </a>
                                }.into_any()
                            }
                            // Nothing to click that would only end on an error page: say why instead.
                            Ok(Some(code)) => {
                                let failure = Failure::from_code(&code).unwrap_or(Failure::ConnectionDisabled);
                                view! {
                                    <div class="alert" role="status" data-unavailable=failure.code()>
                                        <strong>{failure.title()}</strong>
                                        <p>{failure.message()}</p>
                                    </div>
                                }.into_any()
                            }
                            Err(error) => view! { <div class="alert" role="alert"><p>{error.to_string()}</p></div> }.into_any(),
                        }
                    })}
                </Suspense>
                <p class="switch">
                    {switch_text} " "
                    <a href=move || switch_href(switch_page, redirect_url().as_deref())>{switch_link}</a>
                </p>
            </section>
        </main>
    }
}

/// Notion's "N" mark, drawn inline so the button needs no extra request.
#[component]
fn NotionMark() -> impl IntoView {
    view! {
        <svg class="notion-mark" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true" focusable="false">
            <rect x="2.5" y="2.5" width="19" height="19" rx="3.5" fill="#fff" stroke="currentColor" stroke-width="1.6"/>
            <path d="M8 7.5v9M8 7.5l8 9M16 7.5v9" fill="none" stroke="#000" stroke-width="1.8" stroke-linecap="round" stroke-linejoin="round"/>
        </svg>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_links_carry_intent_and_encoded_redirect() {
        assert_eq!(start_href(Intent::SignIn, None), "/v1/oauth/notion/start?intent=sign_in");
        assert_eq!(
            start_href(Intent::SignUp, Some("https://app.example.com/a?b=c&d")),
            "/v1/oauth/notion/start?intent=sign_up&redirect_url=https%3A%2F%2Fapp.example.com%2Fa%3Fb%3Dc%26d"
        );
        assert_eq!(switch_href("/sign-up", Some("/user")), "/sign-up?redirect_url=%2Fuser");
    }
}
