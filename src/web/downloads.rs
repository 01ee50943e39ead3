//! Files the console offers for download (hygiene reports as CSV), for signed-in operators. They
//! are plain GET routes, so the session (not a pipeline token) decides, like for pages.

use super::RequestAuth;
use crate::domain::csv;
use crate::error::AppError;
use crate::state::AppState;
use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

fn refuse(error: AppError) -> Response {
    let status = axum::http::StatusCode::from_u16(error.http_status()).unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    (status, error.to_string()).into_response()
}

/// `/downloads/hygiene/{kind}.csv`: every finding of one report.
pub async fn hygiene_csv(State(state): State<AppState>, auth: Option<Extension<RequestAuth>>, Path(file): Path<String>) -> Response {
    let Some(session) = auth.and_then(|Extension(a)| a.session) else { return refuse(AppError::Unauthenticated) };
    let Some(kind) = file.strip_suffix(".csv") else { return refuse(AppError::not_found("Report", &file)) };
    let mut out = csv::Writer::new(&crate::domain::hygiene::CSV_HEADER);
    let result =
        crate::service::hygiene::all(&state.store, &session.actor, kind, &state.config.hygiene, |f| out.row(&f.csv_row().each_ref().map(String::as_str))).await;
    match result {
        Ok(_) => {
            let mut response = out.into_bytes().into_response();
            let headers = response.headers_mut();
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/csv; charset=utf-8"));
            if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"nhidb-{kind}.csv\"")) {
                headers.insert(header::CONTENT_DISPOSITION, value);
            }
            response
        }
        Err(e) => refuse(e),
    }
}

/// `/downloads/export.zip`: a fresh compliance export bundle, for auditors.
pub async fn export_zip(State(state): State<AppState>, auth: Option<Extension<RequestAuth>>, request: axum::extract::Request) -> Response {
    use tower::ServiceExt;
    let Some(session) = auth.and_then(|Extension(a)| a.session) else { return refuse(AppError::Unauthenticated) };
    let work = match tempfile_dir() {
        Ok(dir) => dir,
        Err(e) => return refuse(e),
    };
    let bundle = work.join("bundle");
    let zip = work.join("nhidb-export.zip");
    let scope = crate::service::export::ExportScope::default();
    let made = async {
        crate::service::export::export(&state.store, &session.actor, &bundle, &state.config.hygiene, &scope, &|_, _| {}).await?;
        crate::service::export::zip_dir(&bundle, &zip)
    }
    .await;
    if let Err(e) = made {
        let _ = std::fs::remove_dir_all(&work);
        return refuse(e);
    }
    // ServeFile has the file open once it answers, so the directory can go right after.
    let response = tower_http::services::ServeFile::new(&zip).oneshot(request).await;
    let _ = std::fs::remove_dir_all(&work);
    match response {
        Ok(response) => {
            let mut response = response.map(axum::body::Body::new);
            let stamp = crate::domain::Timestamp::now().to_rfc3339().replace([':', '.'], "-");
            if let Ok(value) = HeaderValue::from_str(&format!("attachment; filename=\"nhidb-export-{stamp}.zip\"")) {
                response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
            }
            response
        }
        Err(e) => refuse(AppError::internal("serve export", e)),
    }
}

fn tempfile_dir() -> Result<std::path::PathBuf, AppError> {
    let dir = std::env::temp_dir().join(format!("nhidb-export-{}", ulid::Ulid::new()));
    std::fs::create_dir_all(&dir).map_err(|e| AppError::internal("export directory", e))?;
    Ok(dir)
}
