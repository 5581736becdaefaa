//! What every service of the platform repeats: configuration from the environment,
//! logging, the error-to-HTTP mapping, health endpoints and metrics.

pub mod config;
pub mod db;
pub mod email;
pub mod error;
pub mod extract;
pub mod grpc;
pub mod headers;
pub mod health;
pub mod http;
pub mod metrics;
pub mod net;
pub mod server;
pub mod telemetry;
pub mod validate;

/// A closed set of names (statuses, kinds) stored as text: serde and OpenAPI in
/// snake_case, `as_str`, `Display` and `FromStr`. The using crate needs serde and utoipa.
#[macro_export]
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

/// A background task that stops when its owner is dropped, so a service stopped (or
/// killed, in a test) takes its consumers and relays with it.
pub struct AbortOnDrop<T>(pub tokio::task::JoinHandle<T>);

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}
