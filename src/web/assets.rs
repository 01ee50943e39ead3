//! The browser bundle (`pkg/`: wasm, JS glue, CSS) and the files copied from `public/`.
//!
//! Pages name them under `/assets/{version}/…`, where the version is a digest of every file in
//! the site root: a new build gets new addresses, so a browser may keep each file for a year
//! without asking again (`immutable`), and never runs an old bundle against a new server.
//! A release build writes a brotli and a gzip twin of each file (`cargo leptos build
//! --precompress`); the twin the browser accepts is sent, so nothing is compressed per request.
//! The unversioned addresses (`/pkg/…`, `/favicon.svg`) still answer, revalidated each time.

use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path as UrlPath, Request, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use tower::ServiceExt;
use tower_http::services::ServeDir;

/// Where versioned files live: `/assets/{version}/{path under the site root}`.
pub const PREFIX: &str = "/assets/";

/// How long a browser may keep a versioned file: its address changes with its content.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// The version of the files under `site_root`, read once per site root per process (a test
/// process runs many servers; a rebuild is picked up by restarting the server).
pub fn version(site_root: &str) -> Arc<str> {
    static VERSIONS: OnceLock<Mutex<HashMap<String, Arc<str>>>> = OnceLock::new();
    let mut versions = VERSIONS.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    versions.entry(site_root.to_owned()).or_insert_with(|| digest(Path::new(site_root)).into()).clone()
}

/// Where the current version's files are addressed: `/assets/{version}`, no trailing slash.
pub fn root(site_root: &str) -> String {
    format!("{PREFIX}{}", version(site_root))
}

/// A digest of the names and contents of the files under `root` (compressed twins left out:
/// they follow from the originals). Sixteen hex digits tell builds apart.
fn digest(root: &Path) -> String {
    let mut files = Vec::new();
    collect(root, &mut files);
    files.sort();
    let mut hasher = Sha256::new();
    for file in files {
        let Ok(contents) = std::fs::read(&file) else { continue };
        let name = file.strip_prefix(root).unwrap_or(&file).to_string_lossy().into_owned();
        hasher.update((name.len() as u64).to_le_bytes());
        hasher.update(name.as_bytes());
        hasher.update((contents.len() as u64).to_le_bytes());
        hasher.update(&contents);
    }
    hex::encode(&hasher.finalize()[..8])
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, files);
        } else if !matches!(path.extension().and_then(|e| e.to_str()), Some("br" | "gz")) {
            files.push(path);
        }
    }
}

/// `GET /assets/{version}/{*path}`: the file, precompressed when the browser accepts it, to be
/// kept for a year. Another version is not found: serving today's file under yesterday's
/// address would let a browser cache the wrong bundle for a year.
pub async fn versioned(State(state): State<AppState>, UrlPath((version, _)): UrlPath<(String, String)>, request: Request) -> Response {
    let site_root = state.leptos_options.site_root.to_string();
    // The file's path as sent (still percent-encoded, as the file server expects it).
    let within = request.uri().path().strip_prefix(PREFIX).and_then(|p| p.split_once('/')).map(|(_, rest)| format!("/{rest}"));
    let (Some(within), true) = (within, *version == *self::version(&site_root)) else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let (mut parts, _) = request.into_parts();
    parts.uri = match within.parse::<Uri>() {
        Ok(uri) => uri,
        Err(_) => return (StatusCode::NOT_FOUND, "not found").into_response(),
    };
    let files = ServeDir::new(&site_root).precompressed_br().precompressed_gzip();
    let mut response = match files.oneshot(Request::from_parts(parts, Body::empty())).await {
        Ok(response) => response.map(Body::new),
        Err(never) => match never {},
    };
    if response.status().is_success() {
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static(IMMUTABLE));
    }
    response
}
