//! The session cookie. `__Host-` makes browsers insist on `Secure`, `Path=/` and no `Domain`, so
//! no other host or path can set or shadow it; `HttpOnly` keeps it from scripts; `SameSite=Lax`
//! keeps it off cross-site requests except top-level navigation (which never changes state).

use axum::http::HeaderMap;
use axum::http::header::COOKIE;

pub const NAME: &str = "__Host-nhidb_session";

pub fn read(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == NAME)
        .map(|(_, value)| value.to_owned())
        .filter(|v| !v.is_empty())
}

pub fn set(value: &str, max_age_seconds: i64) -> String {
    format!("{NAME}={value}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age={max_age_seconds}")
}

pub fn clear() -> String {
    format!("{NAME}=; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=0")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(COOKIE, HeaderValue::from_static("theme=dark; __Host-nhidb_session=abc123; other=1"));
        assert_eq!(read(&headers).as_deref(), Some("abc123"));
    }

    #[test]
    fn the_cookie_carries_every_protective_attribute() {
        let cookie = set("v", 60);
        for attribute in ["__Host-", "Path=/", "Secure", "HttpOnly", "SameSite=Lax", "Max-Age=60"] {
            assert!(cookie.contains(attribute), "{cookie}");
        }
        assert!(!cookie.contains("Domain"));
    }
}
