//! The console: Leptos pages rendered on the server and hydrated in the browser. Pages call
//! server functions, which are thin adapters over the service layer.

pub mod components;
pub mod format;
pub mod home;
pub mod identities;
pub mod services;
#[cfg(feature = "ssr")]
pub mod session;

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Stylesheet, Title};
use leptos_router::components::{Route, Router, Routes, A};
use leptos_router::{path, SsrMode};

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light"/>
                <link rel="icon" type="image/svg+xml" href="/favicon.svg"/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                <MetaTags/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Browser tests wait for this marker: effects run only once the page has hydrated.
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Stylesheet id="leptos" href="/pkg/nhidb.css"/>
        <Title formatter=|title: String| if title.is_empty() { "nhidb".to_owned() } else { format!("{title} · nhidb") }/>
        <Router>
            <div class="app">
                <SideNav/>
                <main class="content" id="main">
                    <Routes fallback=|| view! { <NotFound/> }>
                        <Route path=path!("/") view=home::HomePage ssr=SsrMode::Async/>
                        <Route path=path!("/identities") view=identities::list::IdentitiesPage ssr=SsrMode::Async/>
                        <Route path=path!("/identities/new") view=identities::form::NewIdentityPage ssr=SsrMode::Async/>
                        <Route path=path!("/identities/:id") view=identities::detail::IdentityPage ssr=SsrMode::Async/>
                        <Route path=path!("/identities/:id/edit") view=identities::form::EditIdentityPage ssr=SsrMode::Async/>
                        <Route path=path!("/services") view=services::list::ServicesPage ssr=SsrMode::Async/>
                        <Route path=path!("/services/new") view=services::form::NewServicePage ssr=SsrMode::Async/>
                        <Route path=path!("/services/:id") view=services::detail::ServicePage ssr=SsrMode::Async/>
                        <Route path=path!("/services/:id/edit") view=services::form::EditServicePage ssr=SsrMode::Async/>
                    </Routes>
                </main>
            </div>
        </Router>
    }
}

#[component]
fn SideNav() -> impl IntoView {
    view! {
        <nav class="sidenav" aria-label="Main">
            <a class="brand" href="/">
                <span class="brand-mark" aria-hidden="true">"◆"</span>
                <span class="brand-name">"nhidb"</span>
            </a>
            <p class="brand-tag">"Non-human identities"</p>
            <ul>
                <li><A href="/" exact=true>"Overview"</A></li>
                <li class="nav-section">"Ledger"</li>
                <li><A href="/identities">"Identities"</A></li>
                <li><A href="/services">"Services"</A></li>
            </ul>
        </nav>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(http::StatusCode::NOT_FOUND);
        }
    }
    view! {
        <Title text="Not found"/>
        <components::PageHeader title="Page not found"/>
        <p>"There is nothing at this address. "<A href="/">"Back to the overview"</A></p>
    }
}
