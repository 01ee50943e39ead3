//! Timestamps are UTC and travel as fixed-width RFC 3339 text (`2026-11-29T04:07:23.123456Z`), so
//! that both database backends store the same bytes, sort them correctly as text, and the audit
//! chain hashes the same string everywhere.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(DateTime<Utc>);

impl Timestamp {
    pub fn now() -> Self {
        // Microsecond precision is what both backends keep; truncating here keeps round trips exact.
        Self::from_micros(Utc::now().timestamp_micros())
    }

    pub fn from_micros(micros: i64) -> Self {
        Timestamp(DateTime::from_timestamp_micros(micros).unwrap_or_default())
    }

    pub fn micros(&self) -> i64 {
        self.0.timestamp_micros()
    }

    pub fn plus_days(&self, days: i64) -> Self {
        Timestamp(self.0 + chrono::Duration::days(days))
    }

    pub fn plus_seconds(&self, seconds: i64) -> Self {
        Timestamp(self.0 + chrono::Duration::seconds(seconds))
    }

    /// The canonical storage form.
    pub fn to_rfc3339(&self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Micros, true)
    }

    /// What people read in tables: minute precision, explicit zone.
    pub fn short(&self) -> String {
        self.0.format("%Y-%m-%d %H:%M UTC").to_string()
    }

    pub fn date(&self) -> String {
        self.0.format("%Y-%m-%d").to_string()
    }

    /// Parses a date (`2027-01-31`, taken as the end of that day) or a full RFC 3339 time, as
    /// typed into forms.
    pub fn parse_user_input(input: &str) -> Result<Self, String> {
        let input = input.trim();
        if let Ok(date) = chrono::NaiveDate::parse_from_str(input, "%Y-%m-%d") {
            let end_of_day = date.and_hms_opt(23, 59, 59).unwrap_or_default();
            return Ok(Timestamp(end_of_day.and_utc()));
        }
        input.parse().map_err(|_| format!("\"{input}\" is not a date. Use YYYY-MM-DD or an RFC 3339 time such as 2027-01-31T12:00:00Z."))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl FromStr for Timestamp {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| Self::from_micros(t.with_timezone(&Utc).timestamp_micros()))
            .map_err(|e| format!("\"{s}\" is not an RFC 3339 time: {e}"))
    }
}

#[cfg(feature = "ssr")]
impl schemars::JsonSchema for Timestamp {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Timestamp".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({ "type": "string", "format": "date-time", "description": "UTC, RFC 3339 with microseconds" })
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_text_round_trips_exactly() {
        let t = Timestamp::now();
        let text = t.to_rfc3339();
        assert_eq!(text.len(), "2026-11-29T04:07:23.123456Z".len());
        assert_eq!(text.parse::<Timestamp>().unwrap(), t);
    }

    #[test]
    fn canonical_text_sorts_like_time() {
        let a = Timestamp::from_micros(1_000_000);
        let b = Timestamp::from_micros(20_000_000_000_000_000);
        assert!(a.to_rfc3339() < b.to_rfc3339());
    }

    #[test]
    fn a_typed_date_means_the_end_of_that_day() {
        let t = Timestamp::parse_user_input("2027-01-31").unwrap();
        assert_eq!(t.to_rfc3339(), "2027-01-31T23:59:59.000000Z");
    }

    #[test]
    fn a_typo_in_a_date_is_explained() {
        let e = Timestamp::parse_user_input("31/01/2027").unwrap_err();
        assert!(e.contains("YYYY-MM-DD"), "{e}");
    }
}
