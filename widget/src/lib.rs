//! The Latchkey sign-in widget. `widget.js` (the loader, served by Latchkey) finds the script
//! tag, checks the publishable key and calls [`mount`] with the element to fill.
//!
//! The widget lives in a shadow root: the host page's CSS cannot reach in, and ours cannot leak
//! out. It learns its state from Latchkey's frontend API (`/v1/environment`, `/v1/me`, with
//! credentials) and signs in by navigating the top window: Notion's consent page cannot be framed.
#![forbid(unsafe_code)]

use gloo_net::http::{Request, Response};
use js_sys::Reflect;
use leptos::either::{Either, EitherOf4};
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use web_sys::{RequestCredentials, ShadowRootInit, ShadowRootMode};

const STYLE: &str = include_str!("widget.css");

#[derive(Clone, Debug, PartialEq)]
struct User {
    name: Option<String>,
    email: Option<String>,
    image_url: Option<String>,
}

// JSON is read with the browser's own parser (`Response.json()` and Reflect) rather than serde:
// the widget's size is a headline figure, and serde_json would be most of it. For the same
// reason the view below picks among concrete views with `Either`/`EitherOf4` rather than erasing
// them with `into_any()`, and shows the menu with a plain closure rather than `<Show>`: each
// is measurably smaller in the WASM.

/// `object[key]`, if present.
fn field(object: &JsValue, key: &str) -> Option<JsValue> {
    Reflect::get(object, &JsValue::from_str(key)).ok().filter(|v| !v.is_undefined() && !v.is_null())
}

fn text(object: &JsValue, key: &str) -> Option<String> {
    field(object, key).and_then(|v| v.as_string())
}

async fn json(response: Response) -> Option<JsValue> {
    js_sys::futures::JsFuture::from(web_sys::Response::from(response).json().ok()?).await.ok()
}

fn user_from(me: &JsValue) -> Option<User> {
    let user = field(me, "user")?;
    Some(User { name: text(&user, "name"), email: text(&user, "email"), image_url: text(&user, "image_url") })
}

fn notion_enabled(environment: &JsValue) -> bool {
    let connections = field(environment, "connections").map(|v| js_sys::Array::from(&v)).unwrap_or_default();
    connections.iter().any(|c| text(&c, "provider").as_deref() == Some("notion") && field(&c, "enabled").and_then(|e| e.as_bool()) == Some(true))
}

#[derive(Clone, Debug, PartialEq)]
enum State {
    Loading,
    SignedOut { enabled: bool },
    SignedIn(User),
    Problem(String),
}

/// Mounts the widget into `host` (inside a shadow root). `base` is Latchkey's public URL;
/// `on_change` hears `true`/`false` each time the widget learns whether the person is signed
/// in (the loader keeps the app's `latchkey_token` cookie by it).
#[wasm_bindgen]
pub fn mount(host: web_sys::HtmlElement, base: String, on_change: js_sys::Function) -> Result<(), JsValue> {
    let init = ShadowRootInit::new(ShadowRootMode::Open);
    let shadow = match host.shadow_root() {
        Some(existing) => existing,
        None => host.attach_shadow(&init)?,
    };
    shadow.set_inner_html(""); // our own empty root; nothing from the page goes here
    let document = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    let style = document.create_element("style")?;
    style.set_text_content(Some(STYLE));
    shadow.append_child(&style)?;
    let root: web_sys::HtmlElement = document.create_element("div")?.dyn_into()?;
    root.set_class_name("lk");
    shadow.append_child(&root)?;
    // The widget lives as long as the page, and so does its base URL (a `&'static str` is
    // `Copy` into every closure, where a `StoredValue<String>` would cost code and clones).
    let base: &'static str = base.leak();
    let on_change: &'static js_sys::Function = Box::leak(Box::new(on_change));
    let handle = leptos::mount::mount_to(root, move || view! { <Widget base on_change/> });
    handle.forget();
    Ok(())
}

async fn load(base: &str) -> State {
    let origin = web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default();
    let not_allowed = || {
        State::Problem(
            ["Sign-in is not available here: ", &origin, " is not an allowed origin of this Latchkey instance. Its owner can add it under Account Portal → allowed origins."].concat(),
        )
    };
    let environment = match Request::get(&[base, "/v1/environment"].concat()).credentials(RequestCredentials::Include).send().await {
        Ok(response) if response.ok() => json(response).await,
        Ok(response) if response.status() == 403 => return not_allowed(),
        Ok(_) => None,
        // A CORS refusal looks like a network error from here.
        Err(_) => return not_allowed(),
    };
    let Some(environment) = environment else {
        return State::Problem("Sign-in is unavailable right now. Try again later.".into());
    };
    let enabled = notion_enabled(&environment);
    match Request::get(&[base, "/v1/me"].concat()).credentials(RequestCredentials::Include).send().await {
        Ok(response) if response.ok() => match json(response).await.as_ref().and_then(user_from) {
            Some(user) => State::SignedIn(user),
            None => State::SignedOut { enabled },
        },
        Ok(response) if response.status() == 403 => not_allowed(),
        _ => State::SignedOut { enabled },
    }
}

fn initials(user: &User) -> String {
    let name = user.name.clone().or_else(|| user.email.clone()).unwrap_or_default();
    let first: String = name.split_whitespace().filter_map(|w| w.chars().next()).take(2).collect();
    // The browser's own upper-casing: Rust's would bring its Unicode tables along.
    js_sys::JsString::from(first).to_upper_case().into()
}

#[component]
fn Widget(base: &'static str, on_change: &'static js_sys::Function) -> impl IntoView {
    let state = RwSignal::new(State::Loading);
    let menu_open = RwSignal::new(false);
    // One task for both: (sign out, then) learn the state afresh.
    let refresh = move |sign_out: bool| {
        leptos::task::spawn_local(async move {
            if sign_out {
                let _ = Request::post(&[base, "/v1/sign-out"].concat())
                    .credentials(RequestCredentials::Include)
                    .send()
                    .await;
            }
            let now = load(base).await;
            let signed_in = matches!(now, State::SignedIn(_));
            state.set(now);
            let _ = on_change.call1(&JsValue::NULL, &JsValue::from_bool(signed_in));
        })
    };
    refresh(false);

    let sign_in = move |_| {
        let Some(window) = web_sys::window() else { return };
        let here = window.location().href().unwrap_or_default();
        let encoded: String = js_sys::encode_uri_component(&here).into();
        let target = [base, "/v1/oauth/notion/start?redirect_url=", &encoded].concat();
        // The top window: Notion's page cannot live in a frame.
        let top = window.top().ok().flatten().unwrap_or(window);
        let _ = top.location().set_href(&target);
    };
    let sign_out = move |_| {
        menu_open.set(false);
        refresh(true);
    };
    let on_key = move |event: web_sys::KeyboardEvent| {
        if event.key() == "Escape" {
            menu_open.set(false);
        }
    };

    move || match state.get() {
        State::Loading => EitherOf4::A(view! { <div class="lk-muted" aria-busy="true">"Loading…"</div> }),
        State::Problem(message) => EitherOf4::B(view! { <div class="lk-problem" role="alert">{message}</div> }),
        State::SignedOut { enabled } => EitherOf4::C(view! {
            <button class="lk-button" type="button" disabled=!enabled on:click=sign_in>
                <span class="lk-mark" aria-hidden="true">"N"</span>
                "Sign in with Notion"
            </button>
            {(!enabled).then(|| view! { <p class="lk-muted">"Signing in with Notion is turned off for now."</p> })}
        }),
        State::SignedIn(user) => {
            let label = user.name.clone().or_else(|| user.email.clone()).unwrap_or_else(|| "Account".into());
            let avatar = match user.image_url.clone().filter(|u| u.starts_with("https://")) {
                Some(src) => Either::Left(view! { <img class="lk-avatar" src=src alt=""/> }),
                None => Either::Right(view! { <span class="lk-avatar" aria-hidden="true">{initials(&user)}</span> }),
            };
            let manage = [base, "/user"].concat();
            EitherOf4::D(view! {
                <div class="lk-account" on:keydown=on_key>
                    <button class="lk-user" type="button" aria-haspopup="menu" aria-expanded=move || if menu_open.get() { "true" } else { "false" }
                        on:click=move |_| menu_open.update(|open| *open = !*open)>
                        {avatar}
                        <span class="lk-name">{label}</span>
                    </button>
                    {move || menu_open.get().then(|| view! {
                        <div class="lk-menu" role="menu">
                            <a role="menuitem" href=manage.clone() target="_top">"Manage account"</a>
                            <button role="menuitem" type="button" on:click=sign_out>"Sign out"</button>
                        </div>
                    })}
                </div>
            })
        }
    }
}
