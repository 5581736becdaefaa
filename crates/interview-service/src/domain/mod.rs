//! The interview service's rules: candidates, interviews and their lifecycle, and the
//! calendar file.

pub mod calendar;
pub mod candidate;
pub mod interview;

use std::str::FromStr;

/// A closed set of names (statuses, kinds) stored as text.
macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl std::str::FromStr for $name {
            type Err = String;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| format!("unknown {} '{s}'", stringify!($name)))
            }
        }
    };
}
pub(crate) use named_enum;

/// Parses a stored name; a value this build does not know is a data error.
pub fn stored<T: FromStr<Err = String>>(raw: &str) -> anyhow::Result<T> {
    raw.parse()
        .map_err(|e: String| anyhow::anyhow!("stored value: {e}"))
}
