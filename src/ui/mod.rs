//! The console: Leptos pages rendered on the server and hydrated in the browser. Pages call
//! server functions, which are thin adapters over the service layer.

pub mod access;
pub mod approvals;
pub mod audit;
pub mod auth;
pub mod components;
pub mod exports;
pub mod format;
pub mod home;
pub mod hygiene;
pub mod identities;
pub mod roles;
pub mod rpc;
pub mod services;
#[cfg(feature = "ssr")]
pub mod session;
pub mod settings;
pub mod templates;

use crate::domain::actor::Capability;
use crate::domain::operator::SessionView;
use crate::error::AppError;
use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{A, Outlet, ParentRoute, Route, Router, Routes};
use leptos_router::{SsrMode, path};

/// The HTML document around the app, rendered on the server only.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    // The page's Content-Security-Policy names this response's script nonce, which Leptos puts
    // on its hydration scripts.
    #[cfg(feature = "ssr")]
    if let (Some(nonce), Some(response)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>()) {
        if let Ok(value) = http::HeaderValue::from_str(&crate::web::headers::page_csp(&nonce)) {
            response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
        }
    }
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

/// The signed-in operator, loaded once per page load and shared by every component.
#[derive(Clone, Copy)]
pub struct CurrentSession(pub Resource<Result<Option<SessionView>, AppError>>);

/// The signed-in operator, if any (read inside a `Suspense`).
pub fn use_session() -> Option<SessionView> {
    use_context::<CurrentSession>().and_then(|s| s.0.get()).and_then(Result::ok).flatten()
}

/// Whether the signed-in operator's roles allow `capability`: the UI hides what they cannot do
/// (the server refuses it regardless).
pub fn can(capability: Capability) -> bool {
    use_session().is_some_and(|s| s.can(capability))
}

/// Shows `children` only to operators whose roles allow `capability`.
#[component]
pub fn IfCan(capability: Capability, children: ChildrenFn) -> impl IntoView {
    view! { <Transition fallback=|| ()>{move || can(capability).then(|| children())}</Transition> }
}

/// The session's CSRF token, sent with every state-changing form. Every state-changing server
/// function takes it as its `_csrf` argument (which `web::guard` checks before the function
/// runs): `ActionForm` sends only a function's arguments, so a token outside them would be lost.
#[component]
pub fn CsrfField() -> impl IntoView {
    view! { <input type="hidden" name="_csrf" value=move || use_session().map(|s| s.csrf_token).unwrap_or_default()/> }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    provide_context(CurrentSession(Resource::new(|| (), |_| auth::current_session())));
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
            <Routes fallback=|| view! { <ConsoleLayout><NotFound/></ConsoleLayout> }>
                <Route path=path!("/sign-in") view=auth::SignInPage ssr=SsrMode::Async/>
                <Route path=path!("/bootstrap") view=auth::BootstrapPage ssr=SsrMode::Async/>
                <ParentRoute path=path!("") view=|| view! { <ConsoleLayout><Outlet/></ConsoleLayout> } ssr=SsrMode::Async>
                    <Route path=path!("") view=home::HomePage ssr=SsrMode::Async/>
                    <Route path=path!("/identities") view=identities::list::IdentitiesPage ssr=SsrMode::Async/>
                    <Route path=path!("/identities/new") view=identities::form::NewIdentityPage ssr=SsrMode::Async/>
                    <Route path=path!("/identities/:id") view=identities::detail::IdentityPage ssr=SsrMode::Async/>
                    <Route path=path!("/identities/:id/edit") view=identities::form::EditIdentityPage ssr=SsrMode::Async/>
                    <Route path=path!("/services") view=services::list::ServicesPage ssr=SsrMode::Async/>
                    <Route path=path!("/services/new") view=services::form::NewServicePage ssr=SsrMode::Async/>
                    <Route path=path!("/services/provision") view=services::provision::ProvisionPage ssr=SsrMode::Async/>
                    <Route path=path!("/templates") view=templates::list::TemplatesPage ssr=SsrMode::Async/>
                    <Route path=path!("/templates/new") view=templates::propose::ProposeTemplatePage ssr=SsrMode::Async/>
                    <Route path=path!("/templates/:id") view=templates::detail::TemplatePage ssr=SsrMode::Async/>
                    <Route path=path!("/services/:id") view=services::detail::ServicePage ssr=SsrMode::Async/>
                    <Route path=path!("/services/:id/edit") view=services::form::EditServicePage ssr=SsrMode::Async/>
                    <Route path=path!("/roles") view=roles::catalog::RolesPage ssr=SsrMode::Async/>
                    <Route path=path!("/roles/new") view=roles::propose::NewRolePage ssr=SsrMode::Async/>
                    <Route path=path!("/roles/:id") view=roles::detail::RolePage ssr=SsrMode::Async/>
                    <Route path=path!("/roles/:id/propose") view=roles::propose::NewVersionPage ssr=SsrMode::Async/>
                    <Route path=path!("/roles/:id/holders") view=access::holders::HoldersPage ssr=SsrMode::Async/>
                    <Route path=path!("/access") view=access::discover::AccessPage ssr=SsrMode::Async/>
                    <Route path=path!("/sod") view=access::sod::SodPage ssr=SsrMode::Async/>
                    <Route path=path!("/matrix") view=access::matrix::MatrixPage ssr=SsrMode::Async/>
                    <Route path=path!("/hygiene") view=hygiene::HygienePage ssr=SsrMode::Async/>
                    <Route path=path!("/audit") view=audit::AuditPage ssr=SsrMode::Async/>
                    <Route path=path!("/exports") view=exports::ExportsPage ssr=SsrMode::Async/>
                    <Route path=path!("/approvals") view=approvals::queue::ApprovalsPage ssr=SsrMode::Async/>
                    <Route path=path!("/approvals/:id") view=approvals::review::ReviewPage ssr=SsrMode::Async/>
                    <Route path=path!("/settings/policy") view=settings::policy::PolicyPage ssr=SsrMode::Async/>
                    <Route path=path!("/settings/account") view=settings::account::AccountPage ssr=SsrMode::Async/>
                    <Route path=path!("/settings/operators") view=settings::operators::OperatorsPage ssr=SsrMode::Async/>
                    <Route path=path!("/settings/tokens") view=settings::tokens::TokensPage ssr=SsrMode::Async/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

#[component]
fn ConsoleLayout(children: Children) -> impl IntoView {
    view! {
        <div class="app">
            <SideNav/>
            <main class="content" id="main">{children()}</main>
        </div>
    }
}

#[component]
fn SideNav() -> impl IntoView {
    let sign_out = ServerAction::<auth::SignOut>::new();
    Effect::new(move |_| {
        if let Some(Ok(())) = sign_out.value().get() {
            auth::hard_navigate("/sign-in");
        }
    });
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
                <li><A href="/templates">"Templates"</A></li>
                <li class="nav-section">"Access"</li>
                <li><A href="/roles">"Roles"</A></li>
                <li><A href="/approvals">"Approvals"</A></li>
                <li><A href="/matrix">"Assignment matrix"</A></li>
                <li><A href="/access">"Who can…"</A></li>
                <li><A href="/sod">"Separation of duties"</A></li>
                <li class="nav-section">"Evidence"</li>
                <li><A href="/hygiene">"Hygiene"</A></li>
                <li><A href="/audit">"Audit log"</A></li>
                <li><A href="/exports">"Exports"</A></li>
                <li class="nav-section">"Automation"</li>
                <li><a href="/api/v1/docs/" rel="external">"API reference"</a></li>
                <li class="nav-section">"Settings"</li>
                <li><A href="/settings/account">"My account"</A></li>
                <Transition fallback=|| ()>
                    {move || can(Capability::Administer).then(|| view! {
                        <li><A href="/settings/operators">"Operators"</A></li>
                        <li><A href="/settings/tokens">"Pipeline tokens"</A></li>
                        <li><A href="/settings/policy">"Approval policy"</A></li>
                    })}
                </Transition>
            </ul>
            <Transition fallback=|| ()>
                {move || use_session().map(|s| {
                    let roles = s.roles.iter().map(|r| r.label()).collect::<Vec<_>>().join(", ");
                    view! {
                        <div class="operator">
                            <span class="operator-name">{s.name.clone()}</span>
                            <span class="operator-roles">{if roles.is_empty() { "no console role".to_owned() } else { roles }}</span>
                            <ActionForm action=sign_out attr:class="sign-out">
                                <CsrfField/>
                                <button type="submit" class="button ghost nav-button">"Sign out"</button>
                            </ActionForm>
                        </div>
                    }
                })}
            </Transition>
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
