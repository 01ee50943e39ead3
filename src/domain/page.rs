//! Every list is served a page at a time with an opaque cursor (keyset pagination), so a list
//! costs the same at row ten and at row ten million.

use serde::{Deserialize, Serialize};

pub const DEFAULT_PAGE_SIZE: u32 = 50;
pub const MAX_PAGE_SIZE: u32 = 200;

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `after` to get the next page; `None` on the last page.
    pub next_cursor: Option<String>,
    /// How many items match the filter in all.
    pub total: i64,
}

/// An option of a picker: an id and what people read.
#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Choice {
    pub id: String,
    pub label: String,
}

#[cfg_attr(feature = "ssr", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PageRequest {
    pub after: Option<String>,
    pub limit: Option<u32>,
}

impl PageRequest {
    /// The requested size, capped; callers cannot ask for unbounded pages.
    pub fn size(&self) -> u32 {
        self.limit.unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE)
    }
}

/// A query-string value that was actually given: trimmed, empty meaning absent.
pub fn present(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_size_is_capped_and_never_zero() {
        assert_eq!(PageRequest { after: None, limit: Some(10_000) }.size(), MAX_PAGE_SIZE);
        assert_eq!(PageRequest { after: None, limit: Some(0) }.size(), 1);
        assert_eq!(PageRequest::default().size(), DEFAULT_PAGE_SIZE);
    }
}
