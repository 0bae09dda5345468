//! The dashboard's pages. Every string from Notion or an admin is rendered as text.

use domain::model::{Connection, OAuthApplication, User, Webhook, WebhookDelivery, WebhookEvent};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_params_map};

use super::api::*;
use crate::format::utc_datetime;

/// The dashboard's frame at `/dashboard…`: the sign-in form until the admin is signed in, then
/// the sidebar and, in its main area, the section the nested route chose (an `<Outlet/>`). The
/// frame stays put while the admin moves between sections: only the main area loads.
#[component]
pub fn Dashboard() -> impl IntoView {
    let status = Resource::new(|| (), |_| get_status());
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    view! {
        <Title text="Latchkey dashboard"/>
        <div class="dashboard" data-hydrated=move || hydrated.get().then_some("true")>
            // Until the bundle has loaded, buttons cannot work yet: say so rather than look dead.
            <p class="hydrating" role="status" hidden=move || hydrated.get()>"Loading the dashboard…"</p>
            <Suspense fallback=|| view! { <p class="muted loading">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match status.await {
                        Ok(s) if s.signed_in => view! { <Frame status=s reload=status/> }.into_any(),
                        Ok(_) => view! { <SignIn reload=status/> }.into_any(),
                        Err(e) => view! { <p class="alert" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}

fn error_text(error: ServerFnError) -> String {
    match error {
        ServerFnError::ServerError(message) => message,
        other => other.to_string(),
    }
}

/// An on/off setting, shown and announced as a switch (`role="switch"`), not a checkbox.
#[component]
fn Switch(label: &'static str, on: RwSignal<bool>, #[prop(optional)] disabled: bool) -> impl IntoView {
    view! {
        <label class="toggle switch-toggle">
            <input type="checkbox" role="switch" prop:checked=move || on.get() disabled=disabled
                on:change=move |ev| on.set(event_target_checked(&ev))/>
            <span class="switch-track" aria-hidden="true"></span>
            <span>{label}</span>
        </label>
    }
}

/// How long "Saved." and "Copied" stay before they go.
const FEEDBACK_FOR: std::time::Duration = std::time::Duration::from_secs(4);

/// A save's feedback, in one live region: "Saving…" while it runs, "Saved." for a few seconds
/// after, or the refusal until the next try. An older "Saved." never stands beside a new save.
/// A question asked in place before what cannot be undone, shown while `open`: either answer
/// closes it, and the second runs `on_yes`.
#[component]
fn Confirm(
    open: RwSignal<bool>,
    label: &'static str,
    question: &'static str,
    keep: &'static str,
    yes: &'static str,
    on_yes: Callback<()>,
) -> impl IntoView {
    view! {
        <Show when=move || open.get()>
            <div class="confirm" role="alertdialog" aria-label=label>
                <p>{question}</p>
                <button type="button" class="button" on:click=move |_| open.set(false)>{keep}</button>
                <button type="button" class="button danger" on:click=move |_| { open.set(false); on_yes.run(()); }>{yes}</button>
            </div>
        </Show>
    }
}

#[component]
fn SaveNotice<T>(action: Action<(), Result<T, ServerFnError>>) -> impl IntoView
where
    T: Clone + Send + Sync + 'static,
{
    let saved_shown = RwSignal::new(false);
    let generation = RwSignal::new(0u32);
    Effect::new(move |_| {
        if let Some(Ok(_)) = action.value().get() {
            saved_shown.set(true);
            let mine = generation.get_untracked().wrapping_add(1);
            generation.set(mine);
            // The page may be gone by then: `try_` leaves a disposed signal alone.
            set_timeout(
                move || {
                    if generation.try_get_untracked() == Some(mine) {
                        saved_shown.try_set(false);
                    }
                },
                FEEDBACK_FOR,
            );
        }
    });
    view! {
        <div class="save-notice" role="status">
            {move || {
                if action.pending().get() {
                    return Some(view! { <p class="notice">"Saving…"</p> }.into_any());
                }
                match action.value().get() {
                    Some(Ok(_)) if saved_shown.get() => Some(view! { <p class="notice">"Saved."</p> }.into_any()),
                    Some(Err(e)) => Some(view! { <div class="alert" role="alert"><p>{error_text(e)}</p></div> }.into_any()),
                    _ => None,
                }
            }}
        </div>
    }
}

/// The focusable controls inside `root`, in tab order. (Only the browser has a focus; the
/// server's build of this page never calls it.)
#[cfg(not(feature = "hydrate"))]
fn focusables(_root: &leptos::web_sys::Element) -> Vec<leptos::web_sys::HtmlElement> {
    Vec::new()
}

/// The focusable controls inside `root`, in tab order.
#[cfg(feature = "hydrate")]
fn focusables(root: &leptos::web_sys::Element) -> Vec<leptos::web_sys::HtmlElement> {
    use leptos::wasm_bindgen::JsCast;
    let selector = "button:not([disabled]), input:not([disabled]), select:not([disabled]), \
                    textarea:not([disabled]), a[href], [tabindex]:not([tabindex='-1'])";
    let Ok(nodes) = root.query_selector_all(selector) else { return Vec::new() };
    (0..nodes.length()).filter_map(|i| nodes.item(i)?.dyn_into::<leptos::web_sys::HtmlElement>().ok()).collect()
}

/// Focus on the first control inside `root`, once the browser has laid out what just appeared.
fn focus_first_in(root: NodeRef<leptos::html::Div>) {
    request_animation_frame(move || {
        if let Some(first) = root.get_untracked().and_then(|el| focusables(&el).into_iter().next()) {
            let _ = first.focus();
        }
    });
}

/// A modal dialog's keyboard: Escape closes it, Tab and Shift+Tab go round inside it.
fn modal_keys(ev: leptos::ev::KeyboardEvent, root: NodeRef<leptos::html::Div>, close: impl Fn()) {
    match ev.key().as_str() {
        "Escape" => {
            ev.prevent_default();
            close();
        }
        "Tab" => {
            let Some(root) = root.get_untracked() else { return };
            let controls = focusables(&root);
            let (Some(first), Some(last)) = (controls.first(), controls.last()) else { return };
            let active = leptos::prelude::document().active_element();
            let at = |el: &leptos::web_sys::HtmlElement| active.as_ref().is_some_and(|a| a == el.as_ref());
            let inside = active.as_ref().is_some_and(|a| root.contains(Some(a)));
            if ev.shift_key() && (at(first) || !inside) {
                ev.prevent_default();
                let _ = last.focus();
            } else if !ev.shift_key() && (at(last) || !inside) {
                ev.prevent_default();
                let _ = first.focus();
            }
        }
        _ => {}
    }
}

#[component]
fn SignIn(reload: Resource<Result<Status, ServerFnError>>) -> impl IntoView {
    let sign_in = ServerAction::<AdminSignIn>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = sign_in.value().get() {
            reload.refetch();
        }
    });
    view! {
        <main class="auth">
            <ActionForm action=sign_in attr:class="card">
                <div class="brand">"Latchkey"</div>
                <h1>"Dashboard sign-in"</h1>
                {move || sign_in.value().get().and_then(|r| r.err()).map(|e| view! {
                    <div class="alert" role="alert"><p>{error_text(e)}</p></div>
                })}
                <label class="field">"User name" <input type="text" name="username" value="admin" autocomplete="username" required/></label>
                <label class="field">"Password" <input type="password" name="password" autocomplete="current-password" required/></label>
                <button type="submit" class="button primary">"Sign in"</button>
            </ActionForm>
        </main>
    }
}

/// The sidebar's sections: label, link, and the paths that are part of it.
const SECTIONS: [(&str, &str); 7] = [
    ("SSO connections", "/dashboard/sso-connections"),
    ("Account Portal", "/dashboard/account-portal"),
    ("Users", "/dashboard/users"),
    ("Webhooks", "/dashboard/webhooks"),
    ("OAuth applications", "/dashboard/oauth-applications"),
    ("API keys", "/dashboard/api-keys"),
    ("Audit log", "/dashboard/audit-log"),
];

/// Whether the page at `path` belongs to the section at `href` (`/dashboard` is the first).
fn in_section(path: &str, href: &str) -> bool {
    let path = path.trim_end_matches('/');
    path == href
        || path.strip_prefix(href).is_some_and(|rest| rest.starts_with('/'))
        || (path == "/dashboard" && href == SECTIONS[0].1)
}

#[component]
fn Frame(status: Status, reload: Resource<Result<Status, ServerFnError>>) -> impl IntoView {
    let sign_out = ServerAction::<AdminSignOut>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = sign_out.value().get() {
            reload.refetch();
        }
    });
    let location = leptos_router::hooks::use_location();
    let production = status.production;
    // The sections read the instance's status (production or not, its URLs) from here.
    provide_context(status);
    view! {
        <div class="dash">
            <nav class="dash-nav" aria-label="Dashboard">
                <div class="brand">"Latchkey"</div>
                <ul class="dash-links">
                    {SECTIONS.into_iter().map(|(label, href)| {
                        let current = move || in_section(&location.pathname.get(), href);
                        view! {
                            <li><a href=href aria-current=move || current().then_some("page") class:active=current>{label}</a></li>
                        }
                    }).collect_view()}
                </ul>
                <ActionForm action=sign_out><button type="submit" class="button subtle">"Sign out"</button></ActionForm>
            </nav>
            <main class="dash-main">
                {(!production).then(|| view! {
                    <p class="dev-banner">"Development instance: connections use shared credentials (the built-in Notion sandbox unless LATCHKEY_SHARED_NOTION_CLIENT_ID is set). Production instances need your own Notion integration."</p>
                })}
                <leptos_router::components::Outlet/>
            </main>
        </div>
    }
}

/// Where the Authorization URL will not work, in words an admin can act on.
fn redirect_warnings(status: &Status) -> Vec<String> {
    let mut warnings = Vec::new();
    let uri = &status.redirect_uri;
    if status.production && uri.starts_with("http://") {
        warnings.push("This URL is plain http: Notion wants https for a production integration. Set LATCHKEY_PUBLIC_URL to your https address.".into());
    }
    if uri.starts_with("http://127.0.0.1") {
        warnings.push("Notion has been reported to reject 127.0.0.1. For local testing set LATCHKEY_PUBLIC_URL to http://localhost:PORT and register that.".into());
    }
    let public_host = status.public_url.split("://").nth(1).unwrap_or_default().split('/').next().unwrap_or_default();
    if !status.request_host.is_empty() && status.request_host != public_host {
        warnings.push(format!(
            "You are using the dashboard at {}, but the public URL is {}: Notion will send people back to {}. If that is wrong, set LATCHKEY_PUBLIC_URL.",
            status.request_host, public_host, public_host
        ));
    }
    warnings
}

fn copy_to_clipboard(text: &str) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let Some(navigator) = web_sys::window().map(|w| w.navigator()) else { return };
        let Ok(clipboard) = js_sys::Reflect::get(&navigator, &"clipboard".into()) else { return };
        if let Ok(write) = js_sys::Reflect::get(&clipboard, &"writeText".into()) {
            if let Some(write) = write.dyn_ref::<js_sys::Function>() {
                let _ = write.call1(&clipboard, &text.into());
            }
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = text;
}

/// A button that copies `text` to the clipboard and then says so.
#[component]
fn CopyButton(text: String) -> impl IntoView {
    let copied = RwSignal::new(false);
    let copy = move |_| {
        copy_to_clipboard(&text);
        copied.set(true);
        set_timeout(
            move || {
                copied.try_set(false);
            },
            FEEDBACK_FOR,
        );
    };
    view! {
        <button type="button" class="button" on:click=copy>
            {move || if copied.get() { "Copied" } else { "Copy" }}
        </button>
    }
}

/// A read-only value an admin pastes elsewhere: its label, the value, a Copy button.
#[component]
fn CopyField(#[prop(into)] id: String, label: &'static str, value: String) -> impl IntoView {
    view! {
        <label class="field" for=id.clone()>{label}</label>
        <div class="copy-row">
            <input id=id type="text" readonly value=value.clone()/>
            <CopyButton text=value/>
        </div>
    }
}

/// The Authorization URL with its Copy button, checklist and warnings.
#[component]
fn RedirectHelp(status: Status) -> impl IntoView {
    let warnings = redirect_warnings(&status);
    view! {
        <div class="redirect-help">
            <CopyField id="authorization-url" label="Authorization URL" value=status.redirect_uri.clone()/>
            <ul class="checklist small">
                <li>"In Notion's integration settings, make the integration "<strong>"Public"</strong>"."</li>
                <li>"Turn on the capability "<strong>"Read user information including email addresses"</strong>"."</li>
                <li>"Paste the Authorization URL above as a redirect URI, exactly."</li>
            </ul>
            {warnings.into_iter().map(|w| view! { <p class="warning" role="note">{w}</p> }).collect_view()}
        </div>
    }
}

/// What "Add connection" did, in words: a development instance's own connection taken over
/// looks the same in the table, so say so.
fn added_message(added: &AddedConnection) -> &'static str {
    match added {
        AddedConnection::TookOverFirstStart(_) => "Notion is set up. This development instance had already made a connection with shared credentials, so that signing in worked at once; it now has the settings you chose.",
        AddedConnection::Created(_) => "Notion connection added. People can sign in with Notion now.",
    }
}

#[component]
pub fn Connections() -> impl IntoView {
    let status = expect_context::<Status>();
    let list = Resource::new(|| (), |_| get_connections());
    let step = RwSignal::new(0u8); // 0 closed, 1 who can use it, 2 provider and its settings
    let provider = RwSignal::new(String::new());
    let enabled = RwSignal::new(true);
    let custom = RwSignal::new(status.production);
    let client_id = RwSignal::new(String::new());
    let client_secret = RwSignal::new(String::new());
    let dialog = NodeRef::<leptos::html::Div>::new();
    let opener = NodeRef::<leptos::html::Button>::new();
    let open = move || {
        step.set(1);
        provider.set(String::new());
        focus_first_in(dialog);
    };
    // Closing gives focus back to the button that opened the dialog.
    let close = move || {
        step.set(0);
        request_animation_frame(move || {
            if let Some(button) = opener.get_untracked() {
                let _ = button.focus();
            }
        });
    };
    let add = Action::new(move |_: &()| {
        let (e, c, id, secret) =
            (enabled.get_untracked(), custom.get_untracked(), client_id.get_untracked(), client_secret.get_untracked());
        async move { add_connection(e, c, id, secret).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = add.value().get() {
            close();
            client_secret.set(String::new());
            list.refetch();
        }
    });
    let production = status.production;
    let help_status = StoredValue::new(status.clone());
    view! {
        <header class="dash-header">
            <h1>"SSO connections"</h1>
            <button type="button" class="button primary" node_ref=opener on:click=move |_| { add.value().set(None); open(); }>"Add connection"</button>
        </header>
        {move || add.value().get().and_then(|r| r.ok()).map(|c| view! { <p class="notice card" role="status">{added_message(&c)}</p> })}
        <Suspense fallback=|| view! { <p class="muted loading">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(rows) if rows.is_empty() => view! { <p class="card muted">"No connections yet. Add one to let people sign in with Notion."</p> }.into_any(),
                    Ok(rows) => view! { <ConnectionTable rows/> }.into_any(),
                    Err(e) => view! { <p class="alert" role="alert">{error_text(e)}</p> }.into_any(),
                }
            })}
        </Suspense>
        <Show when=move || step.get() != 0>
            <div class="modal-backdrop">
                <div class="modal card" role="dialog" aria-modal="true" aria-labelledby="modal-title" node_ref=dialog
                    on:keydown=move |ev| modal_keys(ev, dialog, close)>
                    <h2 id="modal-title">"Add connection"</h2>
                    <Show when=move || step.get() == 1>
                        <p class="muted" id="audience-label">"Who can use it?"</p>
                        <div class="choices" role="group" aria-labelledby="audience-label">
                            <button type="button" class="button choice-button" on:click=move |_| { step.set(2); focus_first_in(dialog); }>"For all users"</button>
                            <button type="button" class="button choice-button" disabled=true title="Not yet available">"For specific domains (not yet available)"</button>
                        </div>
                    </Show>
                    <Show when=move || step.get() == 2>
                        <label class="field" for="provider">"Choose provider"</label>
                        <select id="provider" class="select" prop:value=move || provider.get()
                            on:change=move |ev| provider.set(event_target_value(&ev))>
                            <option value="" disabled=true selected=true>"Select a provider"</option>
                            <option value="notion">"Notion"</option>
                        </select>
                        <Show when=move || provider.get() == "notion">
                            <Switch label="Enable for sign-up and sign-in" on=enabled/>
                            <Switch label="Use custom credentials" on=custom disabled=production/>
                            {production.then(|| view! { <p class="small muted">"Production instances always use your own Notion integration's credentials."</p> })}
                            <Show when=move || custom.get()>
                                <NotionIntegrationHelp/>
                                <RedirectHelp status=help_status.get_value()/>
                                <label class="field">"OAuth Client ID" <input type="text" prop:value=move || client_id.get() on:input=move |ev| client_id.set(event_target_value(&ev))/></label>
                                <label class="field">"OAuth Client Secret" <input type="password" autocomplete="off" prop:value=move || client_secret.get() on:input=move |ev| client_secret.set(event_target_value(&ev))/></label>
                            </Show>
                            {move || add.value().get().and_then(|r| r.err()).map(|e| view! { <div class="alert" role="alert"><p>{error_text(e)}</p></div> })}
                        </Show>
                    </Show>
                    <div class="actions">
                        <button type="button" class="button" on:click=move |_| close()>"Cancel"</button>
                        <Show when=move || step.get() == 2 && provider.get() == "notion">
                            // aria-disabled, not disabled, while it runs: a disabled button would drop
                            // the keyboard's focus out of the dialog.
                            <button type="button" class="button primary" aria-disabled=move || add.pending().get().to_string()
                                on:click=move |_| if !add.pending().get_untracked() { add.dispatch(()); }>
                                {move || if add.pending().get() { "Adding…" } else { "Add connection" }}
                            </button>
                        </Show>
                    </div>
                </div>
            </div>
        </Show>
    }
}

/// Where a Notion integration is made, and what to pick there.
#[component]
fn NotionIntegrationHelp() -> impl IntoView {
    view! {
        <p class="small">
            "Create the integration at "
            <a href="https://www.notion.so/profile/integrations" target="_blank" rel="noopener noreferrer">"Notion's integrations page"</a>
            ", then copy its OAuth client ID and secret here."
        </p>
    }
}

#[component]
fn ConnectionTable(rows: Vec<Connection>) -> impl IntoView {
    view! {
        <table class="table card">
            <thead><tr><th>"Provider"</th><th>"Status"</th><th>"Credentials"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
            <tbody>
                {rows.into_iter().map(|c| view! {
                    <tr>
                        <td>"Notion"</td>
                        <td>{if c.enabled { "Enabled" } else { "Disabled" }}</td>
                        <td>{if c.use_custom_credentials { "Custom" } else { "Shared" }}</td>
                        <td><a href=format!("/dashboard/sso-connections/{}", c.id)>"Configure"</a></td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
pub fn ConnectionPage() -> impl IntoView {
    let status = expect_context::<Status>();
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let loaded = Resource::new(id, get_connection);
    view! {
        <p><a href="/dashboard/sso-connections">"← SSO connections"</a></p>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                let status = status.clone();
                Suspend::new(async move {
                    match loaded.await {
                        Ok(c) => view! { <ConnectionForm connection=c status/> }.into_any(),
                        Err(e) => view! { <p class="alert" role="alert">{error_text(e)}</p> }.into_any(),
                    }
                })
            }}
        </Suspense>
    }
}

#[component]
fn ConnectionForm(connection: Connection, status: Status) -> impl IntoView {
    // The server functions take the id as the text it is on the wire.
    let id = connection.id.to_string();
    let enabled = RwSignal::new(connection.enabled);
    let custom = RwSignal::new(connection.use_custom_credentials);
    let client_id = RwSignal::new(connection.client_id.clone().unwrap_or_default());
    let client_secret = RwSignal::new(String::new());
    let has_secret = RwSignal::new(connection.has_client_secret);
    let confirm_delete = RwSignal::new(false);
    let save_id = id.clone();
    let save = Action::new(move |_: &()| {
        let id = save_id.clone();
        let (e, c, cid, secret) =
            (enabled.get_untracked(), custom.get_untracked(), client_id.get_untracked(), client_secret.get_untracked());
        async move { save_connection(id, e, c, cid, secret).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(saved)) = save.value().get() {
            has_secret.set(saved.has_client_secret);
            client_secret.set(String::new());
        }
    });
    let delete_id = id.clone();
    let remove = Action::new(move |_: &()| {
        let id = delete_id.clone();
        async move { delete_connection(id).await }
    });
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(())) = remove.value().get() {
            navigate("/dashboard/sso-connections", Default::default());
        }
    });
    let production = status.production;
    let status = StoredValue::new(status);
    // Switching the (only) connection off stops every sign-in: ask before saving that.
    let was_enabled = RwSignal::new(connection.enabled);
    let confirm_disable = RwSignal::new(false);
    Effect::new(move |_| {
        if let Some(Ok(saved)) = save.value().get() {
            was_enabled.set(saved.enabled);
        }
    });
    let save_clicked = move || {
        if was_enabled.get_untracked() && !enabled.get_untracked() {
            confirm_disable.set(true);
        } else {
            save.dispatch(());
        }
    };
    view! {
        <section class="card">
            <h1>"Notion connection"</h1>
            <Switch label="Enable for sign-up and sign-in" on=enabled/>
            <Switch label="Use custom credentials" on=custom disabled=production/>
            <Show when=move || custom.get()
                fallback=move || view! {
                    <p class="small muted">"Shared credentials: Latchkey's development integration (the Notion sandbox unless one is configured). People are sent back to:"</p>
                    <CopyField id="authorization-url" label="Authorization URL" value=status.get_value().redirect_uri.clone()/>
                }>
                <NotionIntegrationHelp/>
                <RedirectHelp status=status.get_value()/>
                <label class="field">"OAuth Client ID" <input type="text" prop:value=move || client_id.get() on:input=move |ev| client_id.set(event_target_value(&ev))/></label>
                <label class="field">"OAuth Client Secret"
                    <input type="password" autocomplete="off"
                        placeholder=move || if has_secret.get() { "A secret is set — type a new one to replace it" } else { "" }
                        prop:value=move || client_secret.get() on:input=move |ev| client_secret.set(event_target_value(&ev))/>
                </label>
            </Show>
            <SaveNotice action=save/>
            <div class="actions">
                <button type="button" class="button danger" on:click=move |_| confirm_delete.set(true)>"Delete"</button>
                <button type="button" class="button primary" aria-disabled=move || save.pending().get().to_string()
                    on:click=move |_| if !save.pending().get_untracked() { save_clicked() }>"Save"</button>
            </div>
            <Confirm open=confirm_disable label="Confirm disable"
                question="Turn off sign-in with Notion? This is the only connection: nobody can sign in or sign up until it is on again. People signed in now stay signed in."
                keep="Keep it on" yes="Yes, turn it off" on_yes=Callback::new(move |()| { save.dispatch(()); })/>
            <Confirm open=confirm_delete label="Confirm delete"
                question="Delete this connection? Nobody can sign in with Notion until you add one again."
                keep="Keep it" yes="Yes, delete" on_yes=Callback::new(move |()| { remove.dispatch(()); })/>
            {move || remove.value().get().and_then(|r| r.err()).map(|e| view! { <p class="alert" role="alert">{error_text(e)}</p> })}
        </section>
    }
}

#[component]
pub fn Portal() -> impl IntoView {
    let info = Resource::new(|| (), |_| get_portal());
    view! {
        <header class="dash-header"><h1>"Account Portal"</h1></header>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match info.await {
                    Ok(info) => view! { <PortalView info/> }.into_any(),
                    Err(e) => view! { <p class="alert" role="alert">{error_text(e)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn PortalView(info: PortalInfo) -> impl IntoView {
    let origins = RwSignal::new(info.extra_origins.join("\n"));
    let after_in = RwSignal::new(info.after_sign_in_url.clone().unwrap_or_default());
    let after_up = RwSignal::new(info.after_sign_up_url.clone().unwrap_or_default());
    let sign_ups = RwSignal::new(info.sign_ups_open);
    let save = Action::new(move |_: &()| {
        let (o, a, b) = (origins.get_untracked(), after_in.get_untracked(), after_up.get_untracked());
        let open = sign_ups.get_untracked();
        async move { save_portal(o, a, b, open).await }
    });
    let row = |label: &'static str, url: String| {
        view! {
            <li><span><strong>{label}</strong> <code>{url.clone()}</code></span> <a class="button" rel="external" href=url>"Visit"</a></li>
        }
    };
    view! {
        <section class="card">
            <h2>"Pages"</h2>
            <ul class="list portal-links">
                {row("Sign-in URL", info.sign_in_url.clone())}
                {row("Sign-up URL", info.sign_up_url.clone())}
                {row("User profile", info.profile_url.clone())}
            </ul>
        </section>
        <section class="card">
            <h2>"Redirects"</h2>
            <p class="small muted">"Always allowed (LATCHKEY_ALLOWED_ORIGINS): " {info.configured_origins.join(", ")}</p>
            <label class="field">"More allowed origins, one per line"
                <textarea rows="3" prop:value=move || origins.get() on:input=move |ev| origins.set(event_target_value(&ev))></textarea>
            </label>
            <label class="field">"After sign-in, go to" <input type="text" placeholder="/user" prop:value=move || after_in.get() on:input=move |ev| after_in.set(event_target_value(&ev))/></label>
            <label class="field">"After sign-up, go to" <input type="text" placeholder="/user" prop:value=move || after_up.get() on:input=move |ev| after_up.set(event_target_value(&ev))/></label>
            <h3>"Sign-ups"</h3>
            <Switch label="Anyone with a Notion account can sign up" on=sign_ups/>
            <p class="small muted">"When off, only people who already have an account here can sign in; anyone else is told sign-ups are closed."</p>
            <SaveNotice action=save/>
            <div class="actions"><button type="button" class="button primary" aria-disabled=move || save.pending().get().to_string()
                on:click=move |_| if !save.pending().get_untracked() { save.dispatch(()); }>"Save"</button></div>
        </section>
    }
}

/// True on the last page of `total` users. (A comparison written inside `view!` attributes
/// reads as the tag's end: that once put this source text on the Next button.)
fn on_last_page(page: i64, total: i64) -> bool {
    page >= (total - 1).max(0) / USERS_PER_PAGE
}

#[component]
pub fn Users() -> impl IntoView {
    let query = RwSignal::new(String::new());
    let page = RwSignal::new(0i64);
    let list = Resource::new(move || (query.get(), page.get()), |(q, p)| find_users(q, p));
    view! {
        <header class="dash-header"><h1>"Users"</h1>
            <input type="search" placeholder="Search name, email or id" aria-label="Search users"
                on:input=move |ev| { page.set(0); query.set(event_target_value(&ev)); }/>
        </header>
        // A Transition, not a Suspense: the current page stays while the next one loads.
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(result) => {
                        let total = result.total;
                        view! {
                            <table class="table card">
                                <thead><tr><th>"Name"</th><th>"Email"</th><th>"Created"</th><th>"Last sign-in"</th></tr></thead>
                                <tbody>{result.users.into_iter().map(|u| view! { <UserRow user=u/> }).collect_view()}</tbody>
                            </table>
                            <div class="pager">
                                <button type="button" class="button" disabled=move || page.get() == 0 on:click=move |_| page.update(|p| *p -= 1)>"Previous"</button>
                                <span class="muted">{format!("{total} users")}</span>
                                <button type="button" class="button" disabled=move || on_last_page(page.get(), total) on:click=move |_| page.update(|p| *p += 1)>"Next"</button>
                            </div>
                        }.into_any()
                    }
                    Err(e) => view! { <p class="alert" role="alert">{error_text(e)}</p> }.into_any(),
                }
            })}
        </Transition>
    }
}

#[component]
fn UserRow(user: User) -> impl IntoView {
    view! {
        <tr>
            <td><a href=format!("/dashboard/users/{}", user.id)>{user.name.clone().unwrap_or_else(|| "Unnamed".into())}</a></td>
            <td>{user.email.clone().unwrap_or_default()}</td>
            <td>{utc_datetime(user.created_at)}</td>
            <td>{user.last_sign_in_at.map(utc_datetime).unwrap_or_default()}</td>
        </tr>
    }
}

#[component]
pub fn UserPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let detail = Resource::new(id, get_user_detail);
    let revoke = Action::new(move |session: &String| {
        let session = session.clone();
        async move { revoke_session(session).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(())) = revoke.value().get() {
            detail.refetch();
        }
    });
    let confirm = RwSignal::new(false);
    // Which session's Revoke was pressed: asked before it is ended.
    let confirm_revoke = RwSignal::new(false);
    let revoking = StoredValue::new(None::<String>);
    let remove = Action::new(move |id: &String| {
        let id = id.clone();
        async move { delete_user(id).await }
    });
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(())) = remove.value().get() {
            navigate("/dashboard/users", Default::default());
        }
    });
    view! {
        <p><a href="/dashboard/users">"← Users"</a></p>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(UserDetail { user, sessions }) => {
                        let user_id = user.id.to_string();
                        view! {
                            <section class="card">
                                <h1>{user.name.clone().unwrap_or_else(|| "Unnamed".into())}</h1>
                                <p class="muted">{user.email.clone().unwrap_or_default()} " · " <code>{user.id.to_string()}</code></p>
                                {user.external_accounts.iter().map(|a| view! {
                                    <p class="small">"Notion user " <code>{a.provider_user_id.clone()}</code></p>
                                    <ul class="list">{a.workspaces.iter().map(|w| view! { <li>{w.workspace_name.clone().unwrap_or_default()} " " <code>{w.bot_id.clone()}</code></li> }).collect_view()}</ul>
                                }).collect_view()}
                            </section>
                            <section class="card">
                                <h2>"Active sessions"</h2>
                                <ul class="list">
                                    {sessions.into_iter().map(|s| {
                                        let sid = s.id.to_string();
                                        view! {
                                            <li><span>"Since " {utc_datetime(s.created_at)} " · last active " {utc_datetime(s.last_active_at)}</span>
                                                <button type="button" class="button subtle" on:click=move |_| { revoking.set_value(Some(sid.clone())); confirm_revoke.set(true); }>"Revoke"</button></li>
                                        }
                                    }).collect_view()}
                                </ul>
                                <Confirm open=confirm_revoke label="Confirm revoke session"
                                    question="Revoke this session? That device is signed out at once, and the apps it signed in to lose access when their token ends."
                                    keep="Keep it" yes="Yes, revoke"
                                    on_yes=Callback::new(move |()| if let Some(sid) = revoking.get_value() { revoke.dispatch(sid); })/>
                                {move || revoke.value().get().and_then(|r| r.err()).map(|e| view! { <p class="alert" role="alert">{error_text(e)}</p> })}
                            </section>
                            <section class="card">
                                <button type="button" class="button danger" on:click=move |_| confirm.set(true)>"Delete user"</button>
                                <Confirm open=confirm label="Confirm delete user"
                                    question="Delete this user? Their sessions end and their Notion grants are revoked."
                                    keep="Keep" yes="Yes, delete" on_yes=Callback::new(move |()| { remove.dispatch(user_id.clone()); })/>
                            </section>
                        }.into_any()
                    }
                    Err(e) => view! { <p class="alert" role="alert">{error_text(e)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
pub fn ApiKeys() -> impl IntoView {
    let loaded = Resource::new(|| (), |_| get_keys());
    let reveal = Action::new(|_: &()| reveal_secret_key());
    let rotate = Action::new(|_: &()| rotate_secret_key());
    let confirm = RwSignal::new(false);
    let hidden = RwSignal::new(true);
    let shown = move || rotate.value().get().or_else(|| reveal.value().get()).filter(|_| !hidden.get());
    view! {
        <header class="dash-header"><h1>"API keys"</h1></header>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match loaded.await {
                    Ok(k) => view! {
                        <section class="card">
                            <h2>"Publishable key"</h2>
                            <p class="small muted">"For the widget's script tag; safe in a browser."</p>
                            <div class="copy-row">
                                <code class="key" data-key="publishable">{k.publishable_key.clone()}</code>
                                <CopyButton text=k.publishable_key/>
                            </div>
                        </section>
                    }.into_any(),
                    Err(e) => view! { <p class="alert" role="alert">{error_text(e)}</p> }.into_any(),
                }
            })}
        </Suspense>
        <section class="card">
            <h2>"Secret key"</h2>
            <p class="small muted">"For your servers' calls to the backend API. Never put it in a browser."</p>
            <RevealedKey shown=Signal::derive(shown) kind="secret" masked="sk_••••••••••••••••"/>
            <div class="actions">
                <RevealButton hidden reveal/>
                <button type="button" class="button danger" on:click=move |_| confirm.set(true)>"Rotate"</button>
            </div>
            <Confirm open=confirm label="Confirm rotate"
                question="Make a new secret key? The current one stops working at once."
                keep="Keep the current key" yes="Yes, rotate"
                on_yes=Callback::new(move |()| { hidden.set(false); rotate.dispatch(()); })/>
        </section>
    }
}

/// A secret once revealed (with its Copy button), or its masked stand-in.
#[component]
fn RevealedKey(
    shown: Signal<Option<Result<String, ServerFnError>>>,
    kind: &'static str,
    masked: &'static str,
) -> impl IntoView {
    move || match shown.get() {
        Some(Ok(key)) => view! {
            <div class="copy-row"><code class="key" data-key=kind>{key.clone()}</code><CopyButton text=key/></div>
        }
        .into_any(),
        Some(Err(e)) => view! { <div class="alert" role="alert"><p>{error_text(e)}</p></div> }.into_any(),
        None => view! { <code class="key">{masked}</code> }.into_any(),
    }
}

/// "Reveal" asks the server for the secret; once shown it becomes "Hide".
#[component]
fn RevealButton(hidden: RwSignal<bool>, reveal: Action<(), Result<String, ServerFnError>>) -> impl IntoView {
    let toggle = move |_| {
        if hidden.get_untracked() {
            hidden.set(false);
            reveal.dispatch(());
        } else {
            hidden.set(true);
        }
    };
    view! {
        <button type="button" class="button" aria-pressed=move || (!hidden.get()).to_string() on:click=toggle>
            {move || if hidden.get() { "Reveal" } else { "Hide" }}
        </button>
    }
}

/// What each event type means, for the checkboxes.
fn event_label(event: WebhookEvent) -> &'static str {
    match event {
        WebhookEvent::UserCreated => "a person signs in for the first time",
        WebhookEvent::UserUpdated => "a person's Notion profile changed",
        WebhookEvent::UserDeleted => "a user is deleted",
        WebhookEvent::SessionCreated => "someone signs in",
        WebhookEvent::SessionEnded => "someone signs out",
        WebhookEvent::SessionRevoked => "a session is revoked here or by the API",
        WebhookEvent::NotionTokenRefreshed => "a Notion token is renewed",
    }
}

/// One checkbox per event type; `chosen` holds the checked ones.
#[component]
fn EventChoices(chosen: RwSignal<Vec<WebhookEvent>>) -> impl IntoView {
    view! {
        <fieldset class="events">
            <legend>"Events"</legend>
            {WebhookEvent::ALL.into_iter().map(|event| view! {
                <label class="toggle">
                    <input type="checkbox" prop:checked=move || chosen.read().contains(&event)
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            chosen.update(|c| { c.retain(|e| *e != event); if on { c.push(event); } });
                        }/>
                    " " <code>{event.as_str()}</code> " " <span class="small muted">{event_label(event)}</span>
                </label>
            }).collect_view()}
        </fieldset>
    }
}

fn joined(events: &[WebhookEvent]) -> String {
    events.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(",")
}

fn events_summary(events: &[WebhookEvent]) -> String {
    if events.len() == WebhookEvent::ALL.len() {
        "All events".into()
    } else {
        events.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(", ")
    }
}

#[component]
pub fn Webhooks() -> impl IntoView {
    let list = Resource::new(|| (), |_| get_webhooks());
    let adding = RwSignal::new(false);
    let url = RwSignal::new(String::new());
    let chosen = RwSignal::new(WebhookEvent::ALL.to_vec());
    let add = Action::new(move |_: &()| {
        let (u, e) = (url.get_untracked(), joined(&chosen.get_untracked()));
        async move { add_webhook(u, e).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = add.value().get() {
            adding.set(false);
            url.set(String::new());
            list.refetch();
        }
    });
    view! {
        <header class="dash-header">
            <h1>"Webhooks"</h1>
            <button type="button" class="button primary" on:click=move |_| { add.value().set(None); adding.set(true); }>"Add endpoint"</button>
        </header>
        <p class="small muted">"Latchkey tells your app's server when users and sessions change: a signed POST (Standard Webhooks) to each endpoint, retried for a day until it answers 2xx."</p>
        {move || add.value().get().and_then(|r| r.ok()).map(|w| view! {
            <div class="notice card" role="status">
                <p>"Endpoint added. Its signing secret (also under Details):"</p>
                <code class="key" data-key="webhook-secret">{w.secret.unwrap_or_default()}</code>
            </div>
        })}
        <Show when=move || adding.get()>
            <form class="card" aria-label="Add endpoint" on:submit=move |ev| { ev.prevent_default(); add.dispatch(()); }>
                <h2>"Add endpoint"</h2>
                <label class="field">"Endpoint URL"
                    <input type="url" required placeholder="https://app.example.com/webhooks/latchkey"
                        prop:value=move || url.get() on:input=move |ev| url.set(event_target_value(&ev))/>
                </label>
                <EventChoices chosen/>
                {move || add.value().get().and_then(|r| r.err()).map(|e| view! { <div class="alert" role="alert"><p>{error_text(e)}</p></div> })}
                <div class="actions">
                    <button type="button" class="button" on:click=move |_| adding.set(false)>"Cancel"</button>
                    <button type="submit" class="button primary" disabled=move || add.pending().get()>"Add endpoint"</button>
                </div>
            </form>
        </Show>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(rows) if rows.is_empty() => view! { <p class="card muted">"No endpoints yet."</p> }.into_any(),
                    Ok(rows) => view! { <WebhookTable rows/> }.into_any(),
                    Err(e) => view! { <p class="alert" role="alert">{error_text(e)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn WebhookTable(rows: Vec<Webhook>) -> impl IntoView {
    view! {
        <table class="table card">
            <thead><tr><th>"Endpoint"</th><th>"Events"</th><th>"Status"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
            <tbody>
                {rows.into_iter().map(|w| view! {
                    <tr>
                        <td><code>{w.url.clone()}</code></td>
                        <td>{events_summary(&w.events)}</td>
                        <td>{if w.enabled { "Enabled" } else { "Disabled" }}</td>
                        <td><a href=format!("/dashboard/webhooks/{}", w.id)>"Details"</a></td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
pub fn WebhookPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let detail = Resource::new(id, get_webhook_detail);
    view! {
        <p><a href="/dashboard/webhooks">"← Webhooks"</a></p>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(d) => view! { <WebhookForm detail=d reload=detail/> }.into_any(),
                    Err(e) => view! { <p class="alert" role="alert">{error_text(e)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn WebhookForm(detail: WebhookDetail, reload: Resource<Result<WebhookDetail, ServerFnError>>) -> impl IntoView {
    let WebhookDetail { webhook, deliveries, total } = detail;
    let id = StoredValue::new(webhook.id.clone());
    let url = RwSignal::new(webhook.url.clone());
    let chosen = RwSignal::new(webhook.events.clone());
    let enabled = RwSignal::new(webhook.enabled);
    let save = Action::new(move |_: &()| {
        let (u, e, on) = (url.get_untracked(), joined(&chosen.get_untracked()), enabled.get_untracked());
        async move { save_webhook(id.get_value(), u, e, on).await }
    });
    let reveal = Action::new(move |_: &()| reveal_webhook_secret(id.get_value()));
    let rotate = Action::new(move |_: &()| rotate_webhook_secret(id.get_value()));
    let confirm_rotate = RwSignal::new(false);
    let hidden = RwSignal::new(true);
    let shown = move || rotate.value().get().or_else(|| reveal.value().get()).filter(|_| !hidden.get());
    let retry = Action::new(move |delivery: &String| retry_webhook_delivery(id.get_value(), delivery.clone()));
    Effect::new(move |_| {
        if let Some(Ok(())) = retry.value().get() {
            reload.refetch();
        }
    });
    let confirm_delete = RwSignal::new(false);
    let remove = Action::new(move |_: &()| delete_webhook(id.get_value()));
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(())) = remove.value().get() {
            navigate("/dashboard/webhooks", Default::default());
        }
    });
    view! {
        <section class="card">
            <h1>"Webhook endpoint"</h1>
            <label class="field">"Endpoint URL"
                <input type="url" prop:value=move || url.get() on:input=move |ev| url.set(event_target_value(&ev))/>
            </label>
            <EventChoices chosen/>
            <Switch label="Enabled" on=enabled/>
            <SaveNotice action=save/>
            <div class="actions">
                <button type="button" class="button danger" on:click=move |_| confirm_delete.set(true)>"Delete endpoint"</button>
                <button type="button" class="button primary" disabled=move || save.pending().get() on:click=move |_| { save.dispatch(()); }>"Save"</button>
            </div>
            <Confirm open=confirm_delete label="Confirm delete endpoint"
                question="Delete this endpoint? Deliveries not yet made will not be made."
                keep="Keep it" yes="Yes, delete" on_yes=Callback::new(move |()| { remove.dispatch(()); })/>
        </section>
        <section class="card">
            <h2>"Signing secret"</h2>
            <p class="small muted">"Your server checks each delivery's signature with it (the standardwebhooks package)."</p>
            <RevealedKey shown=Signal::derive(shown) kind="webhook-secret" masked="whsec_••••••••••••••••"/>
            <div class="actions">
                <RevealButton hidden reveal/>
                <button type="button" class="button danger" on:click=move |_| confirm_rotate.set(true)>"Rotate"</button>
            </div>
            <Confirm open=confirm_rotate label="Confirm rotate secret"
                question="Make a new signing secret? Deliveries are signed with it from the next attempt on."
                keep="Keep the current secret" yes="Yes, rotate"
                on_yes=Callback::new(move |()| { hidden.set(false); rotate.dispatch(()); })/>
        </section>
        <section class="card">
            <header class="dash-header">
                <h2>"Deliveries"</h2>
                <button type="button" class="button subtle" on:click=move |_| reload.refetch()>"Refresh"</button>
            </header>
            {(deliveries.is_empty()).then(|| view! { <p class="muted">"Nothing sent yet."</p> })}
            <table class="table">
                <thead><tr><th>"Event"</th><th>"Status"</th><th>"Attempts"</th><th>"Last answer"</th><th>"Next attempt"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                <tbody>
                    {deliveries.into_iter().map(|d| view! { <DeliveryRow delivery=d retry/> }).collect_view()}
                </tbody>
            </table>
            {move || retry.value().get().and_then(|r| r.err()).map(|e| view! { <p class="alert" role="alert">{error_text(e)}</p> })}
            <p class="small muted">{format!("{total} deliveries in all; the latest {DELIVERIES_SHOWN} are shown.")}</p>
        </section>
    }
}

#[component]
fn DeliveryRow(delivery: WebhookDelivery, retry: Action<String, Result<(), ServerFnError>>) -> impl IntoView {
    let answer = match (&delivery.last_status_code, &delivery.last_error) {
        (_, Some(error)) => error.clone(),
        (Some(code), None) => format!("HTTP {code}"),
        (None, None) => "–".into(),
    };
    let delivery_id = delivery.id.clone();
    view! {
        <tr data-delivery=delivery.id.clone()>
            <td><code>{delivery.event_type.clone()}</code> <span class="small muted">{utc_datetime(delivery.created_at)}</span></td>
            <td>{delivery.status.clone()}</td>
            <td>{delivery.attempts}</td>
            <td>{answer}</td>
            <td>{delivery.next_attempt_at.map(utc_datetime).unwrap_or_default()}</td>
            <td><button type="button" class="button subtle" on:click=move |_| { retry.dispatch(delivery_id.clone()); }>"Retry"</button></td>
        </tr>
    }
}

/// "Confidential" or "Public", as the list and the application's page call it.
fn client_kind(app: &OAuthApplication) -> &'static str {
    if app.public {
        "Public"
    } else {
        "Confidential"
    }
}

/// How the app proves itself at the token endpoint, in the words of its OpenID library.
fn client_auth_help(public: bool) -> &'static str {
    if public {
        "Public client: no client secret (token endpoint auth method none); PKCE with S256 is required."
    } else {
        "Confidential client: it authenticates with its client secret (client_secret_basic or client_secret_post)."
    }
}

/// A client secret just made. Only its hash is stored, so this is the one time it can be seen.
#[component]
fn OnceSecret(secret: String) -> impl IntoView {
    view! {
        <div class="secret-once" data-secret="client-secret">
            <CopyField id="client-secret" label="Client secret" value=secret/>
            <p class="warning" role="note">"Copy it now and keep it on the app's server: it will not be shown again. If it is lost, rotate the secret."</p>
        </div>
    }
}

/// The Issuer and discovery URL every app of this instance is configured with.
#[component]
fn OpenIdValues(settings: OpenIdSettings, #[prop(optional)] client_id: Option<String>) -> impl IntoView {
    view! {
        <CopyField id="issuer" label="Issuer" value=settings.issuer/>
        <CopyField id="discovery-url" label="Discovery URL" value=settings.discovery_url/>
        {client_id.map(|id| view! { <CopyField id="client-id" label="Client ID" value=id/> })}
    }
}

#[component]
pub fn OAuthApps() -> impl IntoView {
    let list = Resource::new(|| (), |_| get_oauth_applications());
    let creating = RwSignal::new(false);
    let name = RwSignal::new(String::new());
    let uris = RwSignal::new(String::new());
    let public = RwSignal::new(false);
    let skip_consent = RwSignal::new(false);
    let add = Action::new(move |_: &()| {
        let (n, u, p, s) =
            (name.get_untracked(), uris.get_untracked(), public.get_untracked(), skip_consent.get_untracked());
        async move { add_oauth_application(n, u, p, s).await }
    });
    Effect::new(move |_| {
        if let Some(Ok(_)) = add.value().get() {
            creating.set(false);
            name.set(String::new());
            uris.set(String::new());
            public.set(false);
            skip_consent.set(false);
            list.refetch();
        }
    });
    view! {
        <header class="dash-header">
            <h1>"OAuth applications"</h1>
            <button type="button" class="button primary" on:click=move |_| { add.value().set(None); creating.set(true); }>"Create application"</button>
        </header>
        <p class="small muted">"Apps that sign people in with Latchkey over OpenID Connect: Latchkey is their identity provider, and people sign in with Notion."</p>
        // The secret lives only in this action's answer: gone once the page is left or reloaded.
        {move || add.value().get().and_then(|r| r.ok()).map(|app| view! {
            <section class="card" role="status" aria-label="Application created">
                <h2>{format!("{} is registered", app.name)}</h2>
                <CopyField id="new-client-id" label="Client ID" value=app.client_id.clone()/>
                {match app.client_secret {
                    Some(secret) => view! { <OnceSecret secret/> }.into_any(),
                    None => view! { <p class="small muted">{client_auth_help(true)}</p> }.into_any(),
                }}
            </section>
        })}
        <Show when=move || creating.get()>
            <form class="card" aria-label="Create application" on:submit=move |ev| { ev.prevent_default(); add.dispatch(()); }>
                <h2>"Create application"</h2>
                <label class="field">"Name"
                    <input type="text" required placeholder="Acme Wiki" prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
                </label>
                <label class="field">"Redirect URIs, one per line"
                    <textarea rows="3" required placeholder="https://app.example.com/auth/callback"
                        prop:value=move || uris.get() on:input=move |ev| uris.set(event_target_value(&ev))></textarea>
                </label>
                <Switch label="Public client (no secret, PKCE required)" on=public/>
                <p class="small muted">"For single-page and native apps, which cannot keep a secret. This cannot be changed later."</p>
                <Switch label="Skip consent (a trusted first-party app: people are not asked)" on=skip_consent/>
                {move || add.value().get().and_then(|r| r.err()).map(|e| view! { <div class="alert" role="alert"><p>{error_text(e)}</p></div> })}
                <div class="actions">
                    <button type="button" class="button" on:click=move |_| creating.set(false)>"Cancel"</button>
                    <button type="submit" class="button primary" disabled=move || add.pending().get()>"Create application"</button>
                </div>
            </form>
        </Show>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(OAuthApplications { applications, settings }) => view! {
                        <section class="card" aria-labelledby="openid-values">
                            <h2 id="openid-values">"For your apps' OpenID settings"</h2>
                            <OpenIdValues settings/>
                        </section>
                        {if applications.is_empty() {
                            view! { <p class="card muted">"No applications yet."</p> }.into_any()
                        } else {
                            view! { <OAuthAppTable rows=applications/> }.into_any()
                        }}
                    }.into_any(),
                    Err(e) => view! { <p class="alert" role="alert">{error_text(e)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn OAuthAppTable(rows: Vec<OAuthApplication>) -> impl IntoView {
    view! {
        <table class="table card stacked">
            <thead><tr><th>"Name"</th><th>"Client ID"</th><th>"Type"</th><th>"Redirect URIs"</th><th>"Consent"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
            <tbody>
                {rows.into_iter().map(|app| view! {
                    <tr data-application=app.id.clone()>
                        <td data-label="Name">{app.name.clone()}</td>
                        <td data-label="Client ID"><code>{app.client_id.clone()}</code></td>
                        <td data-label="Type">{client_kind(&app)}</td>
                        <td data-label="Redirect URIs">
                            <ul class="uri-list">{app.redirect_uris.iter().map(|u| view! { <li><code>{u.clone()}</code></li> }).collect_view()}</ul>
                        </td>
                        <td data-label="Consent">{if app.skip_consent { "Skipped" } else { "Asked" }}</td>
                        <td><a href=format!("/dashboard/oauth-applications/{}", app.id) aria-label=format!("Details of {}", app.name)>"Details"</a></td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
    }
}

#[component]
pub fn OAuthAppPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let detail = Resource::new(id, get_oauth_application_detail);
    view! {
        <p><a href="/dashboard/oauth-applications">"← OAuth applications"</a></p>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match detail.await {
                    Ok(d) => view! { <OAuthAppForm detail=d/> }.into_any(),
                    Err(e) => view! { <p class="alert" role="alert">{error_text(e)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn OAuthAppForm(detail: OAuthApplicationDetail) -> impl IntoView {
    let OAuthApplicationDetail { application: app, settings } = detail;
    let id = StoredValue::new(app.id.clone());
    let public = app.public;
    let title = RwSignal::new(app.name.clone());
    let name = RwSignal::new(app.name.clone());
    let uris = RwSignal::new(app.redirect_uris.join("\n"));
    let skip_consent = RwSignal::new(app.skip_consent);
    let save = Action::new(move |_: &()| {
        let (n, u, s) = (name.get_untracked(), uris.get_untracked(), skip_consent.get_untracked());
        async move { save_oauth_application(id.get_value(), n, u, s).await }
    });
    Effect::new(move |_| {
        // What was stored: trimmed, blank lines and repeats dropped.
        if let Some(Ok(saved)) = save.value().get() {
            title.set(saved.name.clone());
            name.set(saved.name);
            uris.set(saved.redirect_uris.join("\n"));
        }
    });
    let rotate = Action::new(move |_: &()| rotate_oauth_application_secret(id.get_value()));
    let confirm_rotate = RwSignal::new(false);
    let confirm_delete = RwSignal::new(false);
    let remove = Action::new(move |_: &()| delete_oauth_application(id.get_value()));
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(())) = remove.value().get() {
            navigate("/dashboard/oauth-applications", Default::default());
        }
    });
    view! {
        <section class="card" aria-labelledby="app-heading">
            <h1 id="app-heading">{move || title.get()}</h1>
            <p class="small muted">{client_kind(&app)} " client · created " {utc_datetime(app.created_at)}</p>
            <OpenIdValues settings client_id=app.client_id.clone()/>
            <p class="small muted">{client_auth_help(public)}</p>
        </section>
        <form class="card" aria-label="Application settings" on:submit=move |ev| { ev.prevent_default(); save.dispatch(()); }>
            <h2>"Settings"</h2>
            <label class="field">"Name"
                <input type="text" required prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev))/>
            </label>
            <label class="field">"Redirect URIs, one per line"
                <textarea rows="3" required prop:value=move || uris.get() on:input=move |ev| uris.set(event_target_value(&ev))></textarea>
            </label>
            <Switch label="Skip consent (a trusted first-party app: people are not asked)" on=skip_consent/>
            <SaveNotice action=save/>
            <div class="actions">
                <button type="button" class="button danger" on:click=move |_| confirm_delete.set(true)>"Delete application"</button>
                <button type="submit" class="button primary" disabled=move || save.pending().get()>"Save"</button>
            </div>
            <Confirm open=confirm_delete label="Confirm delete application"
                question="Delete this application? It can no longer sign anyone in, and every code and token it holds stops working at once."
                keep="Keep it" yes="Yes, delete" on_yes=Callback::new(move |()| { remove.dispatch(()); })/>
            {move || remove.value().get().and_then(|r| r.err()).map(|e| view! { <p class="alert" role="alert">{error_text(e)}</p> })}
        </form>
        {(!public).then(|| view! {
            <section class="card" aria-labelledby="secret-heading">
                <h2 id="secret-heading">"Client secret"</h2>
                <p class="small muted">"Latchkey keeps only a hash of it, so it is shown only when it is made. Rotating makes a new one; the current one stops working at once."</p>
                {move || rotate.value().get().map(|r| match r {
                    Ok(secret) => view! { <div role="status"><OnceSecret secret/></div> }.into_any(),
                    Err(e) => view! { <div class="alert" role="alert"><p>{error_text(e)}</p></div> }.into_any(),
                })}
                <div class="actions">
                    <button type="button" class="button danger" on:click=move |_| confirm_rotate.set(true)>"Rotate secret"</button>
                </div>
                <Confirm open=confirm_rotate label="Confirm rotate secret"
                    question="Make a new client secret? The current one stops working at once, so the app needs the new one."
                    keep="Keep the current secret" yes="Yes, rotate" on_yes=Callback::new(move |()| { rotate.dispatch(()); })/>
            </section>
        })}
    }
}

/// True on the page with the oldest entries (kept out of `view!`: see [`on_last_page`]).
fn no_older_entries(page: i64, total: i64) -> bool {
    (page + 1) * AUDIT_PER_PAGE >= total
}

/// Who did what to this instance, newest first.
#[component]
pub fn AuditLog() -> impl IntoView {
    let page = RwSignal::new(0i64);
    let list = Resource::new(move || page.get(), get_audit_log);
    let who = |actor: &str| match actor {
        "admin" => "Dashboard admin",
        "secret_key" => "Backend API (secret key)",
        "cli" => "Command line",
        _ => "Not signed in",
    };
    view! {
        <header class="dash-header"><h1>"Audit log"</h1></header>
        <p class="small muted">"Every change made, and every secret revealed, through the dashboard, the backend API or the command line."</p>
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match list.await {
                    Ok(AuditPage { entries, total }) => view! {
                        <table class="table card">
                            <thead><tr><th>"When (UTC)"</th><th>"Who"</th><th>"From"</th><th>"Action"</th><th>"About"</th><th>"Result"</th></tr></thead>
                            <tbody>
                                {entries.into_iter().map(|e| view! {
                                    <tr>
                                        <td>{utc_datetime(e.at)}</td>
                                        <td>{who(&e.actor)}</td>
                                        <td><code>{e.client.clone()}</code></td>
                                        <td><code>{e.action.clone()}</code></td>
                                        <td><code>{e.target.clone().unwrap_or_default()}</code></td>
                                        <td>{if (200..300).contains(&e.status) { "Done".to_string() } else { format!("Refused ({})", e.status) }}</td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        <div class="pager">
                            <button type="button" class="button" disabled=move || page.get() == 0 on:click=move |_| page.update(|p| *p -= 1)>"Newer"</button>
                            <span class="muted">{format!("{total} entries")}</span>
                            <button type="button" class="button" disabled=move || no_older_entries(page.get(), total) on:click=move |_| page.update(|p| *p += 1)>"Older"</button>
                        </div>
                    }.into_any(),
                    Err(e) => view! { <p class="alert" role="alert">{error_text(e)}</p> }.into_any(),
                }
            })}
        </Suspense>
    }
}
