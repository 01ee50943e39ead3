//! Closed vocabularies (kinds, statuses) stored as lower-case text. One macro gives each the same
//! parse / display / list behaviour so forms, filters, the store and the API agree on spelling.

macro_rules! vocabulary {
    ($(#[$doc:meta])* $ty:ident, $what:literal { $($variant:ident = $text:literal, $label:literal;)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $ty { $($variant),+ }

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
