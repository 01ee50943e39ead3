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
pub mod pages;
pub mod roles;
pub mod rpc;
pub mod services;
#[cfg(feature = "ssr")]
pub mod session;
pub mod settings;
pub mod sources;
pub mod templates;

use crate::domain::actor::Capability;
use crate::domain::operator::SessionView;
use crate::error::AppError;
use leptos::prelude::AnyView;
use leptos::prelude::*;
use leptos_meta::{MetaTags, Title, provide_meta_context};
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
    // Versioned addresses for the bundle, so browsers may keep it (see `web::assets`).
    #[cfg(feature = "ssr")]
    let root = crate::web::assets::root(&options.site_root);
    #[cfg(not(feature = "ssr"))]
    let root = String::new();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light"/>
                <link rel="icon" type="image/svg+xml" href=format!("{root}/favicon.svg")/>
                <link rel="stylesheet" id="leptos" href=format!("{root}/pkg/nhidb.css")/>
                <AutoReload options=options.clone()/>
                <HydrationScripts options root/>
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
        <Title formatter=|title: String| if title.is_empty() { "nhidb".to_owned() } else { format!("{title} · nhidb") }/>
        <Router>
            <Routes fallback=|| view! { <ConsoleLayout><NotFound/></ConsoleLayout> }>
                <Route path=path!("/sign-in") view=auth::SignInPage ssr=SsrMode::Async/>
                <Route path=path!("/bootstrap") view=auth::BootstrapPage ssr=SsrMode::Async/>
                <ParentRoute path=path!("") view=|| view! { <ConsoleLayout><Outlet/></ConsoleLayout> } ssr=SsrMode::Async>
                    <Route path=path!("") view=gated(home::HomePage) ssr=SsrMode::Async/>
                    <Route path=path!("/identities") view=gated(identities::list::IdentitiesPage) ssr=SsrMode::Async/>
                    <Route path=path!("/identities/new") view=gated(identities::form::NewIdentityPage) ssr=SsrMode::Async/>
                    <Route path=path!("/identities/:id") view=gated(identities::detail::IdentityPage) ssr=SsrMode::Async/>
                    <Route path=path!("/identities/:id/edit") view=gated(identities::form::EditIdentityPage) ssr=SsrMode::Async/>
                    <Route path=path!("/services") view=gated(services::list::ServicesPage) ssr=SsrMode::Async/>
                    <Route path=path!("/services/new") view=gated(services::form::NewServicePage) ssr=SsrMode::Async/>
                    <Route path=path!("/services/provision") view=gated(services::provision::ProvisionPage) ssr=SsrMode::Async/>
                    <Route path=path!("/templates") view=gated(templates::list::TemplatesPage) ssr=SsrMode::Async/>
                    <Route path=path!("/templates/new") view=gated(templates::propose::ProposeTemplatePage) ssr=SsrMode::Async/>
                    <Route path=path!("/templates/:id") view=gated(templates::detail::TemplatePage) ssr=SsrMode::Async/>
                    <Route path=path!("/services/:id") view=gated(services::detail::ServicePage) ssr=SsrMode::Async/>
                    <Route path=path!("/services/:id/edit") view=gated(services::form::EditServicePage) ssr=SsrMode::Async/>
                    <Route path=path!("/sources") view=gated(sources::SourcesPage) ssr=SsrMode::Async/>
                    <Route path=path!("/sources/:id") view=gated(sources::SourcePage) ssr=SsrMode::Async/>
                    <Route path=path!("/drift/:id") view=gated(sources::DriftPage) ssr=SsrMode::Async/>
                    <Route path=path!("/roles") view=gated(roles::catalog::RolesPage) ssr=SsrMode::Async/>
                    <Route path=path!("/roles/new") view=gated(roles::propose::NewRolePage) ssr=SsrMode::Async/>
                    <Route path=path!("/roles/:id") view=gated(roles::detail::RolePage) ssr=SsrMode::Async/>
                    <Route path=path!("/roles/:id/propose") view=gated(roles::propose::NewVersionPage) ssr=SsrMode::Async/>
                    <Route path=path!("/roles/:id/holders") view=gated(access::holders::HoldersPage) ssr=SsrMode::Async/>
                    <Route path=path!("/access") view=gated(access::discover::AccessPage) ssr=SsrMode::Async/>
                    <Route path=path!("/sod") view=gated(access::sod::SodPage) ssr=SsrMode::Async/>
                    <Route path=path!("/escalation") view=gated(access::paths::EscalationPathsPage) ssr=SsrMode::Async/>
                    <Route path=path!("/matrix") view=gated(access::matrix::MatrixPage) ssr=SsrMode::Async/>
                    <Route path=path!("/hygiene") view=gated(hygiene::HygienePage) ssr=SsrMode::Async/>
                    <Route path=path!("/audit") view=gated(audit::AuditPage) ssr=SsrMode::Async/>
                    <Route path=path!("/exports") view=gated(exports::ExportsPage) ssr=SsrMode::Async/>
                    <Route path=path!("/approvals") view=gated(approvals::queue::ApprovalsPage) ssr=SsrMode::Async/>
                    <Route path=path!("/approvals/:id") view=gated(approvals::review::ReviewPage) ssr=SsrMode::Async/>
                    <Route path=path!("/settings/policy") view=gated(settings::policy::PolicyPage) ssr=SsrMode::Async/>
                    <Route path=path!("/settings/account") view=gated(settings::account::AccountPage) ssr=SsrMode::Async/>
                    <Route path=path!("/settings/operators") view=gated(settings::operators::OperatorsPage) ssr=SsrMode::Async/>
                    <Route path=path!("/settings/tokens") view=gated(settings::tokens::TokensPage) ssr=SsrMode::Async/>
                </ParentRoute>
            </Routes>
        </Router>
    }
}

/// A console page behind its rule in `pages::PAGES`: rendered only for operators the rule
/// allows; everyone else gets the 403 page, and the page's loaders never run.
///
/// The decision is made when the route renders, without waiting: on the server from the
/// request's session, in the browser from the session the server sent along with the page. A
/// suspense here would put every page's resources inside it, created after an await, which the
/// server and the browser number differently (the page then fails to hydrate).
fn gated<F, V>(page: F) -> impl Fn() -> AnyView + Clone + Send + Sync + 'static
where
    F: Fn() -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    move || {
        let path = leptos_router::hooks::use_location().pathname.get_untracked();
        match pages::lookup(&path) {
            None => view! { <NotFound/> }.into_any(),
            Some(rule) => match session_now() {
                Some(session) if !pages::allows(rule.access, session.as_ref()) => view! { <Forbidden access=rule.access/> }.into_any(),
                // Allowed, or (in the browser) not known yet: the server decided already, and
                // refuses every server function the page would call regardless.
                _ => page().into_any(),
            },
        }
    }
}

/// The signed-in operator as known right now, without waiting: `Some(None)` when signed out,
/// `None` when not known yet (in the browser, before the server's session arrived).
fn session_now() -> Option<Option<SessionView>> {
    #[cfg(feature = "ssr")]
    {
        let parts = use_context::<http::request::Parts>()?;
        Some(parts.extensions.get::<crate::web::RequestAuth>().and_then(|auth| auth.session.as_ref()).map(|s| s.view.clone()))
    }
    #[cfg(not(feature = "ssr"))]
    {
        use_context::<CurrentSession>()?.0.get_untracked()?.ok()
    }
}

/// What an operator sees instead of a page their roles do not allow (answered with 403).
#[component]
fn Forbidden(access: rpc::Access) -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
            response.set_status(http::StatusCode::FORBIDDEN);
        }
    }
    let needs = match access {
        rpc::Access::Needs(capability) => format!("This page needs {}.", capability.console_roles()),
        rpc::Access::SignedIn | rpc::Access::Public => "Sign in to open this page.".to_owned(),
    };
    view! {
        <Title text="Not allowed"/>
        <components::PageHeader title="Not allowed"/>
        <div class="notice notice-error" role="alert" id="forbidden">
            <strong>"Your console roles do not allow this page. "</strong>
            {needs}
            <span class="notice-code">{AppError::forbidden("open this page").code()}</span>
        </div>
        <p>"An admin can change your console roles. "<A href="/">"Back to the overview"</A></p>
    }
}

/// The menu: every section, each link shown only to those its page's rule allows.
pub(crate) const MENU: &[(&str, &[(&str, &str)])] = &[
    ("", &[("/", "Overview")]),
    ("Ledger", &[("/identities", "Identities"), ("/services", "Services"), ("/templates", "Templates"), ("/sources", "Sources")]),
    (
        "Access",
        &[
            ("/roles", "Roles"),
            ("/approvals", "Approvals"),
            ("/matrix", "Assignment matrix"),
            ("/access", "Who can…"),
            ("/escalation", "Escalation paths"),
            ("/sod", "Separation of duties"),
        ],
    ),
    ("Evidence", &[("/hygiene", "Hygiene"), ("/audit", "Audit log"), ("/exports", "Exports")]),
    (
        "Settings",
        &[
            ("/settings/account", "My account"),
            ("/settings/operators", "Operators"),
            ("/settings/tokens", "Pipeline tokens"),
            ("/settings/policy", "Approval policy"),
        ],
    ),
];

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
                <Transition fallback=|| ()>
                    {move || {
                        let session = use_session();
                        MENU.iter().map(|(section, links)| {
                            let links: Vec<_> = links.iter().filter(|(href, _)| pages::may_open(href, session.as_ref())).collect();
                            let heading = (!section.is_empty() && !links.is_empty()).then(|| view! { <li class="nav-section">{*section}</li> });
                            let links = links.into_iter().map(|(href, label)| view! { <li><A href=*href exact=*href == "/">{*label}</A></li> }).collect_view();
                            let api = (*section == "Evidence").then(|| view! {
                                <li class="nav-section">"Automation"</li>
                                <li><a href="/api/v1/docs/" rel="external">"API reference"</a></li>
                            });
                            view! { {heading}{links}{api} }
                        }).collect_view()
                    }}
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
