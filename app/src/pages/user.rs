//! `/user`: who you are, which Notion workspaces you granted, where you are signed in.

use domain::model::{DeviceSession, User, Workspace};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::api::{get_profile, Profile};
use crate::format::{device_name, distinct_names, initials, time_ago, utc_datetime};

#[component]
pub fn UserPage() -> impl IntoView {
    // Rendered whole on the server (the route is SsrMode::Async) and never hydrated: signing
    // out, here or on another device, is a plain form. So the profile is awaited directly
    // rather than through a Resource, which would also copy it into the page for hydration.
    let redirect_url = use_query_map().read_untracked().get("redirect_url");
    view! {
        <Title text="Your account"/>
        <main class="profile">
            <Suspense fallback=|| view! { <p class="muted">"Loading your account…"</p> }>
                {Suspend::new(async move {
                    match get_profile(redirect_url.clone()).await {
                        Ok(Some(profile)) => view! { <ProfileView profile/> }.into_any(),
                        Ok(None) => view! {
                            <section class="card"><p>"You are signed out. " <a href="/sign-in">"Sign in"</a></p></section>
                        }.into_any(),
                        Err(error) => view! {
                            <section class="card alert" role="alert"><p>{error.to_string()}</p></section>
                        }.into_any(),
                    }
                })}
            </Suspense>
        </main>
    }
}

#[component]
fn ProfileView(profile: Profile) -> impl IntoView {
    let Profile { user, sessions, environment, back_to, now } = profile;
    let workspaces: Vec<Workspace> = user.external_accounts.iter().flat_map(|a| a.workspaces.clone()).collect();
    view! {
        {back_to.map(|back| view! {
            <p class="back-link"><a href=back.href>{format!("← Back to {}", back.host)}</a></p>
        })}
        {(environment == "development").then(|| view! {
            <p class="dev-banner">"Development instance: sign-ins go through the Notion sandbox unless shared credentials are set."</p>
        })}
        <section class="card identity">
            <Avatar user=user.clone()/>
            <div>
                <h1 class="name">{user.name.clone().unwrap_or_else(|| "Unnamed Notion user".into())}</h1>
                <p class="email">{user.email.clone().unwrap_or_default()}</p>
                <p class="muted small">"Member since " {utc_datetime(user.created_at)}</p>
            </div>
            <form method="post" action="/v1/sign-out" class="sign-out">
                <button type="submit" class="button">"Sign out"</button>
            </form>
        </section>

        <section class="card">
            <h2>"Notion workspaces"</h2>
            <ul class="list workspaces">
                {workspaces.into_iter().map(|w| view! { <WorkspaceItem workspace=w/> }).collect_view()}
            </ul>
        </section>

        <section class="card">
            <h2>"Where you are signed in"</h2>
            <ul class="list sessions">
                {
                    let names = distinct_names(sessions.iter().map(|s| device_name(s.user_agent.as_deref())).collect());
                    sessions.into_iter().zip(names).map(|(s, name)| view! { <SessionItem session=s name now/> }).collect_view()
                }
            </ul>
        </section>

        <section class="card danger-zone" aria-labelledby="delete-heading">
            <h2 id="delete-heading">"Delete your account"</h2>
            <p class="small muted">"Your account and every session end at once, and this site's access to your Notion workspaces is revoked. Apps you signed in to lose access when their tokens run out."</p>
            <form method="post" action="/v1/me/delete">
                <label class="choice">
                    <input type="checkbox" name="confirm" value="yes" required/>
                    <span>"I understand: delete my account"</span>
                </label>
                <button type="submit" class="button danger">"Delete account"</button>
            </form>
        </section>
    }
}

#[component]
fn Avatar(user: User) -> impl IntoView {
    let name = user.name.clone().unwrap_or_default();
    match user.image_url.filter(|url| url.starts_with("https://")) {
        Some(src) => view! { <img class="avatar" src=src alt="" referrerpolicy="no-referrer"/> }.into_any(),
        None => view! { <span class="avatar placeholder" aria-hidden="true">{initials(&name)}</span> }.into_any(),
    }
}

#[component]
fn WorkspaceItem(workspace: Workspace) -> impl IntoView {
    // Notion's icon is an emoji or an image URL; only https images are shown.
    let icon = match workspace.workspace_icon {
        Some(icon) if icon.starts_with("https://") => view! { <img class="ws-icon" src=icon alt=""/> }.into_any(),
        Some(icon) if icon.chars().count() <= 4 => view! { <span class="ws-icon">{icon}</span> }.into_any(),
        _ => view! { <span class="ws-icon">"▦"</span> }.into_any(),
    };
    view! {
        <li>
            {icon}
            <span class="ws-name">{workspace.workspace_name.unwrap_or_else(|| "Untitled workspace".into())}</span>
        </li>
    }
}

/// A moment as people read it ("5 minutes ago"), the exact UTC time on hover.
#[component]
fn When(at: i64, now: i64) -> impl IntoView {
    view! { <time title=utc_datetime(at)>{time_ago(at, now)}</time> }
}

#[component]
fn SessionItem(session: DeviceSession, name: String, now: i64) -> impl IntoView {
    let action = format!("/v1/sessions/{}/revoke", session.session.id);
    view! {
        <li class:current=session.current>
            <div>
                <strong>{name}</strong>
                {session.current.then(|| view! { <span class="badge">"This device"</span> })}
                <p class="muted small">
                    "Signed in " <When at=session.session.created_at now/>
                    " · last active " <When at=session.session.last_active_at now/>
                </p>
            </div>
            {(!session.current).then(|| view! {
                <form method="post" action=action>
                    <button type="submit" class="button subtle">"Sign out"</button>
                </form>
            })}
        </li>
    }
}
