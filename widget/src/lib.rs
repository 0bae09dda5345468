//! The Latchkey sign-in widget. `widget.js` (the loader, served by Latchkey) finds the script
//! tag, checks the publishable key and calls [`mount`] with the element to fill.
//!
//! The widget lives in a shadow root: the host page's CSS cannot reach in, and ours cannot leak
//! out. It learns its state from Latchkey's frontend API (`/v1/environment?include=signed_in`,
//! then `/v1/me` only when someone is signed in, with credentials) and signs in by navigating the
//! top window: Notion's consent page cannot be framed.
//!
//! What went wrong is said twice: a short, neutral sentence in the widget's place for the
//! visitor, and what to change, and where, in the console for the developer or the site's owner.
#![forbid(unsafe_code)]

use gloo_net::http::{Request, Response};
use js_sys::Reflect;
use leptos::either::{Either, EitherOf4};
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use web_sys::{RequestCredentials, RequestMode, ShadowRootInit, ShadowRootMode};

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
    connections.iter().any(|c| {
        text(&c, "provider").as_deref() == Some("notion")
            && field(&c, "enabled").and_then(|e| e.as_bool()) == Some(true)
    })
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

/// Tells the developer (or the site's owner) what is wrong and how to fix it.
fn console_error(message: &str) {
    web_sys::console::error_1(&["Latchkey widget: ", message].concat().into());
}

const UNAVAILABLE: &str = "Sign-in is unavailable right now. Try again later.";

async fn load(base: &str) -> State {
    let origin = web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default();
    // The visitor cannot fix this, and need not learn the site's setup: a neutral sentence for
    // them, the origin to allow and where for the console.
    let not_allowed = || {
        console_error(
            &[
                &origin,
                " is not an allowed origin of the Latchkey instance at ",
                base,
                ", so it does not answer this page. Add ",
                &origin,
                " to LATCHKEY_ALLOWED_ORIGINS, or under \"More allowed origins\" on ",
                base,
                "/dashboard/account-portal.",
            ]
            .concat(),
        );
        State::Problem("Sign-in is not available on this site right now.".into())
    };
    let get = |path: &str| Request::get(&[base, path].concat()).credentials(RequestCredentials::Include).send();
    // `signed_in` spares a signed-out visitor's browser the 401 of `/v1/me`, which it would log.
    let environment = match get("/v1/environment?include=signed_in").await {
        Ok(response) if response.ok() => json(response).await,
        Ok(response) if response.status() == 403 => return not_allowed(),
        Ok(_) => None,
        // A CORS refusal looks like a network error from here. If Latchkey answers a request
        // that needs no CORS, it is up, and it refused this origin.
        Err(_) => {
            let probe = Request::get(&[base, "/healthz"].concat()).mode(RequestMode::NoCors).send().await;
            if probe.is_ok() {
                return not_allowed();
            }
            console_error(
                &["cannot reach Latchkey at ", base, "; is it running, and is widget.js loaded from it?"].concat(),
            );
            return State::Problem(UNAVAILABLE.into());
        }
    };
    let Some(environment) = environment else {
        console_error(&[base, "/v1/environment did not answer as expected; Latchkey's own log says why."].concat());
        return State::Problem(UNAVAILABLE.into());
    };
    let enabled = notion_enabled(&environment);
    if field(&environment, "signed_in").and_then(|v| v.as_bool()) == Some(false) {
        return State::SignedOut { enabled };
    }
    match get("/v1/me").await {
        Ok(response) if response.ok() => match json(response).await.as_ref().and_then(user_from) {
            Some(user) => State::SignedIn(user),
            None => State::SignedOut { enabled },
        },
        Ok(response) if response.status() == 403 => not_allowed(),
        _ => State::SignedOut { enabled },
    }
}

/// Focuses the menu's item at `index` (from the end when negative), wrapping around.
fn focus_item(menu: &web_sys::Element, index: i32) {
    let items = menu.children();
    let count = items.length() as i32;
    if count > 0 {
        if let Some(item) =
            items.item(index.rem_euclid(count) as u32).and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok())
        {
            let _ = item.focus();
        }
    }
}

/// Where the focused item is among the menu's items.
fn item_index(menu: &web_sys::Element, item: Option<web_sys::EventTarget>) -> i32 {
    let items = menu.children();
    let item = item.map(JsValue::from).unwrap_or_default();
    (0..items.length()).find(|&i| items.item(i).is_some_and(|e| JsValue::from(e) == item)).map_or(-1, |i| i as i32)
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
    // The account's button and its menu: `part(0)` and `part(1)`.
    let account = NodeRef::<leptos::html::Div>::new();
    let part = move |i: u32| account.get_untracked().and_then(|a| a.children().item(i));
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

    // A press anywhere outside the account menu and its button closes the menu. (Seen from the
    // page, a press inside the shadow root comes from the host element: hence the event's path.)
    let outside = Closure::<dyn Fn(web_sys::Event)>::new(move |event: web_sys::Event| {
        if menu_open.get_untracked() && !account.get_untracked().is_some_and(|a| event.composed_path().includes(&a, 0))
        {
            menu_open.set(false);
        }
    });
    if let Some(document) = web_sys::window().and_then(|w| w.document()) {
        let _ = document.add_event_listener_with_callback("pointerdown", outside.as_ref().unchecked_ref());
    }
    outside.forget(); // it lives as long as the page, as the widget does

    // The WAI-ARIA menu button pattern: opening moves the focus into the menu (the first item,
    // or the last for ArrowUp), arrows move it on; Escape closes it and gives the focus back to
    // the button; Tab closes it and moves on.
    let open = move |at: i32| {
        menu_open.set(true);
        if let Some(menu) = part(1) {
            // Shown now, not when the view catches up: a hidden item cannot take the focus.
            let _ = menu.remove_attribute("hidden");
            focus_item(&menu, at);
        }
    };
    let close = move |refocus: bool| {
        menu_open.set(false);
        if let Some(trigger) = part(0).filter(|_| refocus).and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok()) {
            let _ = trigger.focus();
        }
    };
    let on_key = move |event: web_sys::KeyboardEvent| {
        // Which item has the focus; -1: none (the button has it).
        let here = part(1).map_or(-1, |menu| item_index(&menu, event.target()));
        let to = match event.key().as_str() {
            // From the button, Down opens on the first item, Up on the last.
            "ArrowDown" => here + 1,
            "ArrowUp" if here < 0 => -1,
            "ArrowUp" => here - 1,
            "Home" if here >= 0 => 0,
            "End" if here >= 0 => -1,
            "Escape" => {
                event.prevent_default();
                return close(true);
            }
            "Tab" => return close(false),
            // A link activates on Enter by itself but not on Space; a button on both.
            " " => {
                if let Some(link) = event.target().and_then(|t| t.dyn_into::<web_sys::HtmlAnchorElement>().ok()) {
                    event.prevent_default();
                    link.click();
                }
                return;
            }
            _ => return,
        };
        event.prevent_default();
        open(to);
    };

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
            // With the page it came from, so the account page leads back here.
            let here = web_sys::window().and_then(|w| w.location().href().ok()).unwrap_or_default();
            let back: String = js_sys::encode_uri_component(&here).into();
            let manage = [base, "/user?redirect_url=", &back].concat();
            // Ids are the shadow root's own: two widgets on one page do not clash.
            EitherOf4::D(view! {
                <div class="lk-account" node_ref=account on:keydown=on_key>
                    <button class="lk-user" id="lk-user" type="button"
                        aria-haspopup="menu" aria-controls="lk-menu"
                        aria-expanded=move || if menu_open.get() { "true" } else { "false" }
                        // Enter and Space click a button: they open the menu on its first item.
                        on:click=move |_| if menu_open.get_untracked() { close(false) } else { open(0) }>
                        {avatar}
                        <span class="lk-name">{label}</span>
                    </button>
                    <div class="lk-menu" id="lk-menu" role="menu" aria-labelledby="lk-user" hidden=move || !menu_open.get()>
                        <a role="menuitem" tabindex="-1" href=manage target="_top">"Manage account"</a>
                        <button role="menuitem" tabindex="-1" type="button" on:click=sign_out>"Sign out"</button>
                    </div>
                </div>
            })
        }
    }
}
