//! Signing in and out, and the first-run page that creates the first admin.

use crate::domain::operator::SessionView;
use crate::error::AppError;
use crate::ui::components::{FieldError, FormError, submission_error};
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

/// Where to go after signing in: only a path on this site, never another host. Browsers read
/// `//host`, `/\\host` and `https:host` as other sites, drop tabs and line breaks anywhere in a
/// URL (so `/<TAB>/host` is `//host`), and some proxies decode `%2F` and `%09` before the
/// browser sees them; anything that could turn into such a form is refused.
pub fn safe_next(next: Option<&str>) -> String {
    next.filter(|path| is_local_path(path)).map(str::to_owned).unwrap_or_else(|| "/".to_owned())
}

fn is_local_path(path: &str) -> bool {
    if path.len() > 2048 || !is_plain_local(path) {
        return false;
    }
    // Judge every decoding too, as a proxy or a second decode could present it.
    let mut current = path.to_owned();
    for _ in 0..3 {
        let decoded = percent_decode(&current);
        if decoded == current {
            return true;
        }
        let (decoded_path, _) = decoded.split_once(['?', '#']).unwrap_or((&decoded, ""));
        if !is_plain_local(decoded_path) {
            return false;
        }
        current = decoded;
    }
    false
}

/// One leading slash, then no second slash or backslash; no backslash, control character or
/// whitespace anywhere.
fn is_plain_local(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else { return false };
    !rest.starts_with(['/', '\\']) && !path.chars().any(|c| c == '\\' || c.is_control() || c.is_whitespace())
}

/// `%XX` sequences decoded as bytes (invalid UTF-8 replaced); other text left as is.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(high), Some(low)) => {
                out.push((high * 16 + low) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[server(prefix = "/rpc", endpoint = "auth/session")]
pub async fn current_session() -> Result<Option<SessionView>, AppError> {
    Ok(crate::ui::session::session().ok().map(|s| s.view))
}

#[server(prefix = "/rpc", endpoint = "auth/sign-in")]
pub async fn sign_in(email: String, password: String, next: Option<String>) -> Result<String, AppError> {
    crate::ui::session::run_public(|state, client| async move {
        let (cookie, _) = crate::service::auth::sign_in(&state.store, &state.config.access, &email, &password, &client).await?;
        // A session this browser held before is ended, not just replaced in the cookie jar.
        if let Ok(previous) = crate::ui::session::session() {
            crate::service::auth::sign_out(&state.store, &previous).await?;
        }
        crate::ui::session::set_session_cookie(&cookie.value, cookie.max_age_seconds);
        Ok(safe_next(next.as_deref()))
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "auth/sign-out")]
pub async fn sign_out(_csrf: String) -> Result<(), AppError> {
    crate::ui::session::run_session(|store, session| async move {
        crate::service::auth::sign_out(&store, &session).await?;
        crate::ui::session::clear_session_cookie();
        Ok(())
    })
    .await
}

#[server(prefix = "/rpc", endpoint = "bootstrap/status")]
pub async fn bootstrap_status(token: String) -> Result<bool, AppError> {
    crate::ui::session::run_public(|state, _| async move { crate::service::bootstrap::is_open(&state.store, &token).await }).await
}

#[server(prefix = "/rpc", endpoint = "bootstrap/complete")]
pub async fn complete_bootstrap(token: String, name: String, email: String, password: String, confirm: String) -> Result<(), AppError> {
    crate::ui::session::run_public(|state, client| async move {
        let input = crate::domain::operator::OperatorInput { name, email, roles: vec![] };
        let (cookie, _) = crate::service::bootstrap::complete(&state.store, &state.config.access, &token, &input, &password, &confirm, &client).await?;
        crate::ui::session::set_session_cookie(&cookie.value, cookie.max_age_seconds);
        Ok(())
    })
    .await
}

/// Loads `target` as a new page, so everything (navigation, session) is fetched afresh.
pub fn hard_navigate(target: &str) {
    #[cfg(feature = "hydrate")]
    {
        let _ = window().location().set_href(target);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = target;
}

#[component]
fn AuthCard(#[prop(into)] title: String, #[prop(into)] subtitle: String, children: Children) -> impl IntoView {
    view! {
        <main class="auth-page" id="main">
            <div class="auth-card">
                <div class="auth-brand">
                    <span class="brand-mark" aria-hidden="true">"◆"</span>
                    <span>"nhidb"</span>
                </div>
                <h1>{title}</h1>
                <p class="subtitle">{subtitle}</p>
                {children()}
            </div>
        </main>
    }
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let query = use_query_map();
    let next = query.with_untracked(|q| q.get("next")).unwrap_or_default();
    let action = ServerAction::<SignIn>::new();
    let error = submission_error(action);
    Effect::new(move |_| {
        if let Some(Ok(target)) = action.value().get() {
            hard_navigate(&target);
        }
    });
    view! {
        <Title text="Sign in"/>
        <AuthCard title="Sign in" subtitle="The ledger of non-human identities.">
            <ActionForm action attr:class="stack" attr:id="sign-in-form">
                <input type="hidden" name="next" value=next/>
                <label for="email">"E-mail"</label>
                <input id="email" type="email" name="email" required autocomplete="username" autofocus/>
                <FieldError error field="email"/>
                <label for="password">"Password"</label>
                <input id="password" type="password" name="password" required autocomplete="current-password"/>
                <FormError error fields=&["email"]/>
                <button type="submit" class="button primary" disabled=action.pending()>"Sign in"</button>
            </ActionForm>
        </AuthCard>
    }
}

#[component]
pub fn BootstrapPage() -> impl IntoView {
    let query = use_query_map();
    let token = query.with_untracked(|q| q.get("token")).unwrap_or_default();
    let status = Resource::new(
        {
            let token = token.clone();
            move || token.clone()
        },
        bootstrap_status,
    );
    let action = ServerAction::<CompleteBootstrap>::new();
    let error = submission_error(action);
    Effect::new(move |_| {
        if let Some(Ok(())) = action.value().get() {
            hard_navigate("/");
        }
    });
    view! {
        <Title text="First run"/>
        <AuthCard title="Welcome to nhidb" subtitle="Create the first administrator. This link works once.">
            <Suspense fallback=|| view! { <p class="loading">"Checking the link…"</p> }>
                {move || {
                    let token = token.clone();
                    Suspend::new(async move {
                        match status.await {
                            Ok(true) => view! {
                                <ActionForm action attr:class="stack" attr:id="bootstrap-form">
                                    <input type="hidden" name="token" value=token/>
                                    <label for="name">"Your name"</label>
                                    <input id="name" type="text" name="name" required autocomplete="name"/>
                                    <FieldError error field="name"/>
                                    <label for="email">"E-mail"</label>
                                    <input id="email" type="email" name="email" required autocomplete="username"/>
                                    <FieldError error field="email"/>
                                    <label for="password">"Password (at least 12 characters)"</label>
                                    <input id="password" type="password" name="password" required minlength="12" autocomplete="new-password"/>
                                    <FieldError error field="password"/>
                                    <label for="confirm">"Password again"</label>
                                    <input id="confirm" type="password" name="confirm" required autocomplete="new-password"/>
                                    <FieldError error field="confirm"/>
                                    <FormError error fields=&["name", "email", "password", "confirm"]/>
                                    <button type="submit" class="button primary" disabled=action.pending()>"Create administrator"</button>
                                </ActionForm>
                            }.into_any(),
                            _ => view! {
                                <div class="notice notice-error" role="alert">
                                    <strong>"This first-run link has expired or was already used. Operators exist, or a newer link was printed by nhidb serve."</strong>
                                </div>
                                <p><a href="/sign-in">"Go to sign in"</a></p>
                            }.into_any(),
                        }
                    })
                }}
            </Suspense>
        </AuthCard>
    }
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next(Some("/identities?kind=ci_bot")), "/identities?kind=ci_bot");
        assert_eq!(safe_next(Some("/identities?q=payments%20api&label=team%3Dpay")), "/identities?q=payments%20api&label=team%3Dpay");
        assert_eq!(safe_next(Some("/roles/01JD3Q7X8Z9YV6W5T4S3R2P1N0/holders")), "/roles/01JD3Q7X8Z9YV6W5T4S3R2P1N0/holders");
        assert_eq!(safe_next(None), "/");
    }

    #[test]
    fn known_open_redirect_bypasses_are_refused() {
        for bypass in [
            "//evil.example",
            "https://evil.example",
            "https:evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/x\\..\\..\\evil",
            "/%09/evil.example",
            "/\t/evil.example",
            "/\n/evil.example",
            "/\r\n/evil.example",
            " //evil.example",
            "/%2F/evil.example",
            "/%2f/evil.example",
            "/%5C/evil.example",
            "/%252F/evil.example",
            "/%0a/evil.example",
            "javascript:alert(1)",
            "evil.example",
            "",
        ] {
            assert_eq!(safe_next(Some(bypass)), "/", "{bypass:?}");
        }
    }
}
