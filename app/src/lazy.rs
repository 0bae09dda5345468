//! Routes whose views live in WASM chunks of their own (`cargo leptos build --split`).
//!
//! A chunk is a `#[lazy]` function rendering one of a few related pages (a list and its detail
//! page share their code, so they share a chunk); the browser fetches it the first time the
//! router shows one of them. The server renders the same pages in place, and its HTML names the
//! chunks the page needs (`modulepreload`), so hydration does not wait on another round trip.

/// `lazy_route!(Route => chunk, preload_chunk, Page::Variant)`: the router's route type for one
/// page of `chunk`. `preload_chunk` is the loader `#[lazy]` made for it (`__preload_<chunk>`),
/// which the router calls to fetch nested routes' chunks side by side.
macro_rules! lazy_route {
    ($(#[$doc:meta])* $route:ident => $chunk:ident, $preload:ident, $page:expr) => {
        $(#[$doc])*
        pub struct $route;

        impl leptos_router::LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            async fn view(_route: Self) -> leptos::prelude::AnyView {
                let view = $chunk($page).await;
                #[cfg(feature = "ssr")]
                let view = {
                    use leptos::prelude::IntoAny;
                    (view, $crate::lazy::preload_links(stringify!($chunk))).into_any()
                };
                view
            }

            async fn preload() {
                #[cfg(feature = "hydrate")]
                $preload().await;
            }
        }
    };
}

pub(crate) use lazy_route;

/// `<link rel=preload>`s (in the page's `<head>`) for the WASM chunks that `chunk` needs, from
/// the bundle's split manifest (which the shell provides on pages that hydrate), so that the
/// browser fetches them beside the main module instead of after it. Leptos' own preloads look
/// for the manifest where `leptos_axum` 0.8 does not find it, so the routes name theirs.
#[cfg(feature = "ssr")]
pub(crate) fn preload_links(chunk: &str) -> impl leptos::prelude::IntoView {
    use leptos::prelude::*;
    use leptos_meta::Link;

    // Read in place: the manifest is shared by every request.
    let files = use_context::<leptos::WasmSplitManifest>().and_then(|manifest| {
        manifest.0.try_with_value(|(pkg, chunks, loader)| {
            // The manifest's keys are `<function>_<hash of its place in the source>`.
            let modules = chunks
                .iter()
                .find(|(key, _)| {
                    key.strip_prefix(chunk)
                        .and_then(|rest| rest.strip_prefix('_'))
                        .is_some_and(|hash| !hash.is_empty() && hash.bytes().all(|b| b.is_ascii_digit()))
                })
                .map(|(_, modules)| modules.iter().map(|module| format!("{pkg}/{module}.wasm")).collect())
                .unwrap_or_else(Vec::new);
            (format!("{pkg}/{loader}"), modules)
        })
    });
    let Some((loader, modules)) = files else {
        return ().into_any();
    };
    // `anonymous`, as the chunk loader's own `fetch` asks, or the browser would fetch twice.
    view! {
        <Link rel="modulepreload" href=loader crossorigin="anonymous"/>
        {modules
            .into_iter()
            .map(|module| {
                view! {
                    <Link rel="preload" href=module as_="fetch" type_="application/wasm" crossorigin="anonymous"/>
                }
            })
            .collect_view()}
    }
    .into_any()
}
