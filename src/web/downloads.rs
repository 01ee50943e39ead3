//! Files the console offers for download, for signed-in operators: the session (not a pipeline
//! token) decides, like for pages. Hygiene reports are plain GETs; a compliance export writes an
//! audit event and builds a bundle, so it is a POST that carries the session's CSRF token, like
//! every other state change.

use super::RequestAuth;
use crate::domain::csv;
use crate::error::AppError;
use crate::state::AppState;
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};

fn refuse(error: AppError) -> Response {
    let status = axum::http::StatusCode::from_u16(error.http_status()).unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = (status, error.to_string()).into_response();
    if let Some(value) = error.retry_after().and_then(|s| HeaderValue::from_str(&s.to_string()).ok()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// `/downloads/hygiene/{kind}.csv`: every finding of one report, streamed a page at a time, each
/// page its own short read (memory stays flat however many rows there are, a slow client holds
/// no connection, and one that goes away stops the walk).
pub async fn hygiene_csv(State(state): State<AppState>, auth: Option<Extension<RequestAuth>>, Path(file): Path<String>) -> Response {
    let Some(session) = auth.and_then(|Extension(a)| a.session) else { return refuse(AppError::Unauthenticated) };
    let Some(kind) = file.strip_suffix(".csv") else { return refuse(AppError::not_found("Report", &file)) };
    // Permission and kind are settled before the first byte is sent.
    let mut walk = match crate::service::hygiene::walk(&session.actor, kind).await {
        Ok(walk) => walk,
        Err(e) => return refuse(e),
    };
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::io::Error>>(4);
    let store = state.store.clone();
    tokio::spawn(async move {
        let mut header = Vec::new();
        drop(csv::Writer::to(&mut header, &crate::domain::hygiene::CSV_HEADER));
        if tx.send(Ok(header)).await.is_err() {
            return;
        }
        loop {
            let mut bytes = Vec::with_capacity(512 * 1024);
            let chunk = match walk.next_csv(&store, &mut bytes).await {
                Ok(true) => Ok(bytes),
                Ok(false) => return,
                // Headers are gone: the download ends short, and the log says why.
                Err(e) => {
                    tracing::error!(error = %e, "hygiene CSV stopped");
                    Err(std::io::Error::other("hygiene report failed"))
                }
            };
            let failed = chunk.is_err();
            if tx.send(chunk).await.is_err() || failed {
                return;
            }
        }
    });
    let body = axum::body::Body::from_stream(futures_util::stream::poll_fn(move |cx| rx.poll_recv(cx)));
    let mut response = body.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
    if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"nhidb-{kind}.csv\"")) {
        headers.insert(header::CONTENT_DISPOSITION, value);
    }
    response
}

/// `POST /downloads/export.zip` (form field `_csrf`): a fresh compliance export bundle, for
/// auditors. Built in a directory only the server's user can read, removed once sent.
pub async fn export_zip(State(state): State<AppState>, auth: Option<Extension<RequestAuth>>, headers: HeaderMap, body: Bytes) -> Response {
    use tower::ServiceExt;
    let Some(session) = auth.and_then(|Extension(a)| a.session) else { return refuse(AppError::Unauthenticated) };
    if !super::guard::same_origin(&headers, &state) || !super::guard::csrf_matches(&headers, &body, &session) {
        return refuse(AppError::CrossSite);
    }
    let work = match private_dir() {
        Ok(dir) => dir,
        Err(e) => return refuse(e),
    };
    let bundle = work.join("bundle");
    let zip = work.join("nhidb-export.zip");
    let scope = crate::service::export::ExportScope::default();
    let made = async {
        crate::service::export::export(&state.store, &session.actor, &bundle, &state.config.hygiene, &scope, state.config.checkpoints.as_deref(), &|_, _| {})
            .await?;
        crate::service::export::zip_dir(&bundle, &zip)
    }
    .await;
    if let Err(e) = made {
        let _ = std::fs::remove_dir_all(&work);
        return refuse(e);
    }
    // ServeFile has the file open once it answers, so the directory can go right after.
    let response = tower_http::services::ServeFile::new(&zip).oneshot(axum::extract::Request::new(axum::body::Body::empty())).await;
    let _ = std::fs::remove_dir_all(&work);
    match response {
        Ok(response) => {
            let mut response = response.map(axum::body::Body::new);
            let stamp = crate::domain::Timestamp::now().to_rfc3339().replace([':', '.'], "-");
            if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"nhidb-export-{stamp}.zip\"")) {
                response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
            }
            response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            response
        }
        Err(e) => refuse(AppError::internal("serve export", e)),
    }
}

/// A new directory under the system's temporary directory that only this process's user may
/// enter (mode 0700): evidence being assembled is nobody else's to read.
fn private_dir() -> Result<std::path::PathBuf, AppError> {
    use std::os::unix::fs::DirBuilderExt;
    let dir = std::env::temp_dir().join(format!("nhidb-export-{}", ulid::Ulid::new()));
    std::fs::DirBuilder::new().mode(0o700).create(&dir).map_err(|e| AppError::internal("export directory", e))?;
    Ok(dir)
}

#[cfg(test)]
mod tests {
    #[test]
    fn export_bundles_are_built_where_only_this_user_can_look() {
        use std::os::unix::fs::PermissionsExt;
        let dir = super::private_dir().unwrap();
        let mode = std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
        std::fs::remove_dir(&dir).unwrap();
        assert_eq!(mode, 0o700);
    }
}
