//! How values read in the console. Everything here is deterministic: the same input renders the
//! same text on the server and in the browser, so hydration never disagrees.

use crate::domain::Timestamp;

pub const NONE: &str = "—";

pub fn when(t: &Option<Timestamp>) -> String {
    t.map(|t| t.short()).unwrap_or_else(|| NONE.to_owned())
}

pub fn date(t: &Option<Timestamp>) -> String {
    t.map(|t| t.date()).unwrap_or_else(|| NONE.to_owned())
}

pub fn or_dash(text: &str) -> String {
    if text.trim().is_empty() { NONE.to_owned() } else { text.to_owned() }
}

/// Long fingerprints are shown by their start and end; the full value is in the title.
pub fn short_fingerprint(fp: &str) -> String {
    if fp.chars().count() <= 27 {
        fp.to_owned()
    } else {
        let start: String = fp.chars().take(16).collect();
        let end: String = fp.chars().rev().take(8).collect::<Vec<_>>().into_iter().rev().collect();
        format!("{start}…{end}")
    }
}

/// `1234567` → `1,234,567`.
pub fn count(n: i64) -> String {
    let digits = n.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// "Chrome on Linux" from a User-Agent string; the full string belongs in a tooltip.
pub fn browser_summary(user_agent: &str) -> String {
    let browser = [("Edg/", "Edge"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"), ("Safari/", "Safari"), ("curl/", "curl")]
        .iter()
        .find(|(marker, _)| user_agent.contains(marker))
        .map(|(_, name)| *name);
    let os = [("Windows", "Windows"), ("Mac OS X", "macOS"), ("Android", "Android"), ("iPhone", "iOS"), ("Linux", "Linux")]
        .iter()
        .find(|(marker, _)| user_agent.contains(marker))
        .map(|(_, name)| *name);
    match (browser, os) {
        (Some(b), Some(o)) => format!("{b} on {o}"),
        (Some(b), None) => b.to_owned(),
        (None, Some(o)) => format!("a browser on {o}"),
        (None, None) if user_agent.trim().is_empty() => NONE.to_owned(),
        (None, None) => user_agent.chars().take(40).collect(),
    }
}

/// A query string from key/value pairs, skipping empty values.
pub fn query_string(pairs: &[(&str, Option<&str>)]) -> String {
    let parts: Vec<String> = pairs.iter().filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| format!("{k}={}", encode(v)))).collect();
    if parts.is_empty() { String::new() } else { format!("?{}", parts.join("&")) }
}

fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_get_thousands_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1_234_567), "1,234,567");
    }

    #[test]
    fn query_strings_skip_empty_values_and_encode() {
        assert_eq!(query_string(&[("kind", Some("ci_bot")), ("q", Some("")), ("label", Some("team=a b"))]), "?kind=ci_bot&label=team%3Da%20b");
        assert_eq!(query_string(&[("q", None)]), "");
    }

    #[test]
    fn user_agents_read_as_browser_and_system() {
        let chrome = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0.0.0 Safari/537.36";
        assert_eq!(browser_summary(chrome), "Chrome on Linux");
        assert_eq!(browser_summary(""), NONE);
    }

    #[test]
    fn long_fingerprints_are_shortened_in_the_middle() {
        let fp = "ab".repeat(32);
        let short = short_fingerprint(&fp);
        assert!(short.starts_with("abababababababab…") && short.chars().count() == 25, "{short}");
    }
}
