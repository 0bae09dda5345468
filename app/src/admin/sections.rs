//! The dashboard's sections, each a WASM chunk of its own (see [`crate::lazy`]): the page's
//! first load carries Leptos, the dashboard's frame and the section it shows, not all seven.

use leptos::prelude::*;

use super::pages;
use crate::lazy::lazy_route;

#[derive(Clone, Copy)]
enum Page {
    List,
    One,
}

// The connections list is the page the dashboard opens on: its chunk leaves out the
// connection's form (a chunk of its own), which the first load does not need.
#[lazy]
fn connections(_page: Page) -> AnyView {
    view! { <pages::Connections/> }.into_any()
}

#[lazy]
fn connection(_page: Page) -> AnyView {
    view! { <pages::ConnectionPage/> }.into_any()
}

#[lazy]
fn users(page: Page) -> AnyView {
    match page {
        Page::List => view! { <pages::Users/> }.into_any(),
        Page::One => view! { <pages::UserPage/> }.into_any(),
    }
}

#[lazy]
fn webhooks(page: Page) -> AnyView {
    match page {
        Page::List => view! { <pages::Webhooks/> }.into_any(),
        Page::One => view! { <pages::WebhookPage/> }.into_any(),
    }
}

#[lazy]
fn oauth_applications(page: Page) -> AnyView {
    match page {
        Page::List => view! { <pages::OAuthApps/> }.into_any(),
        Page::One => view! { <pages::OAuthAppPage/> }.into_any(),
    }
}

#[lazy]
fn portal(_page: Page) -> AnyView {
    view! { <pages::Portal/> }.into_any()
}

#[lazy]
fn api_keys(_page: Page) -> AnyView {
    view! { <pages::ApiKeys/> }.into_any()
}

#[lazy]
fn audit_log(_page: Page) -> AnyView {
    view! { <pages::AuditLog/> }.into_any()
}

lazy_route!(
    /// `/dashboard` and `/dashboard/sso-connections`.
    ConnectionsSection => connections, __preload_connections, Page::List
);
lazy_route!(ConnectionSection => connection, __preload_connection, Page::One);
lazy_route!(UsersSection => users, __preload_users, Page::List);
lazy_route!(UserSection => users, __preload_users, Page::One);
lazy_route!(WebhooksSection => webhooks, __preload_webhooks, Page::List);
lazy_route!(WebhookSection => webhooks, __preload_webhooks, Page::One);
lazy_route!(OAuthAppsSection => oauth_applications, __preload_oauth_applications, Page::List);
lazy_route!(OAuthAppSection => oauth_applications, __preload_oauth_applications, Page::One);
lazy_route!(PortalSection => portal, __preload_portal, Page::List);
lazy_route!(ApiKeysSection => api_keys, __preload_api_keys, Page::List);
lazy_route!(AuditLogSection => audit_log, __preload_audit_log, Page::List);
