use leptos::prelude::*;
use leptos_meta::Title;

/// `/`: the profile for someone signed in, else the sign-in page (the profile redirects).
#[component]
pub fn Home() -> impl IntoView {
    view! { <leptos_router::components::Redirect path="/user"/> }
}

#[component]
pub fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
    view! {
        <Title text="Page not found"/>
        <main class="auth">
            <section class="card">
                <h1>"Page not found"</h1>
                <p class="lead">"There is nothing at this address."</p>
                <a class="button" href="/sign-in">"Go to sign in"</a>
            </section>
        </main>
    }
}
