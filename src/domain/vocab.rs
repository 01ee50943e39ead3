//! Closed vocabularies (kinds, statuses) stored as lower-case text. One macro gives each the same
//! parse / display / list behaviour so forms, filters, the store and the API agree on spelling.

macro_rules! vocabulary {
    ($(#[$doc:meta])* $ty:ident, $what:literal { $($variant:ident = $text:literal, $label:literal;)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum $ty { $($variant),+ }

        // Serialised as the stored text, so the API, exports and the database spell alike.
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(deserializer)?;
                Self::parse(&text).map_err(serde::de::Error::custom)
            }
        }

        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            pub fn as_str(&self) -> &'static str {
                match self { $($ty::$variant => $text),+ }
            }

            /// How the value reads in the console.
            pub fn label(&self) -> &'static str {
                match self { $($ty::$variant => $label),+ }
            }

            pub fn parse(input: &str) -> Result<Self, String> {
                match input.trim() {
                    $($text => Ok($ty::$variant),)+
                    "" => Err(format!("{} is required.", $what)),
                    other => Err(format!(
                        "\"{}\" is not a known {}; expected one of: {}.",
                        other,
                        $what.to_lowercase(),
                        [$($text),+].join(", ")
                    )),
                }
            }
        }

        #[cfg(feature = "ssr")]
        impl schemars::JsonSchema for $ty {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($ty).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({ "type": "string", "enum": [$($text),+], "description": $what })
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    };
}
