//! The portal's pages, one module each.
//!
//! The browser never runs them (`/sign-in`, `/sign-up`, `/user` and `/` load no WASM), so their
//! routes are one lazily loaded chunk (see [`crate::lazy`]) the dashboard's bundle only names.

mod auth;
mod not_found;
mod user;

use leptos::prelude::*;

pub use not_found::NotFound;

use crate::lazy::lazy_route;

#[derive(Clone, Copy)]
enum Page {
    SignIn,
    SignUp,
    User,
    Home,
}

#[lazy]
fn portal_pages(page: Page) -> AnyView {
    match page {
        Page::SignIn => view! { <auth::SignInPage/> }.into_any(),
        Page::SignUp => view! { <auth::SignUpPage/> }.into_any(),
        Page::User => view! { <user::UserPage/> }.into_any(),
        Page::Home => view! { <not_found::Home/> }.into_any(),
    }
}

lazy_route!(SignInRoute => portal_pages, __preload_portal_pages, Page::SignIn);
lazy_route!(SignUpRoute => portal_pages, __preload_portal_pages, Page::SignUp);
lazy_route!(UserRoute => portal_pages, __preload_portal_pages, Page::User);
lazy_route!(HomeRoute => portal_pages, __preload_portal_pages, Page::Home);
