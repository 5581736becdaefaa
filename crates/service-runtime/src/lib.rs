//! What every service of the platform repeats: configuration from the environment,
//! logging, the error-to-HTTP mapping, health endpoints and metrics.

pub mod config;
pub mod csv;
pub mod db;
pub mod email;
pub mod error;
pub mod export;
pub mod extract;
pub mod grpc;
pub mod grpc_layer;
pub mod headers;
pub mod health;
pub mod http;
pub mod metrics;
pub mod net;
pub mod ratelimit;
pub mod server;
pub mod telemetry;
pub mod validate;

/// A name that is not one of a closed set (a role, a page, a status).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} '{name}'")]
pub struct UnknownName {
    pub kind: &'static str,
    pub name: String,
}

/// A closed set of names (statuses, kinds) stored as text: serde and OpenAPI in
/// snake_case, `as_str`, `Display` and `FromStr`, and a sea-orm value type, so an entity
/// column holds the enum itself (an unknown stored name is a read error, not a string to
/// re-parse). The using crate needs serde, utoipa and sea-orm.
#[macro_export]
macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema, sea_orm::DeriveValueType)]
        #[serde(rename_all = "snake_case")]
        #[sea_orm(value_type = "String")]
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
            type Err = $crate::UnknownName;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| $crate::UnknownName {
                        kind: stringify!($name),
                        name: s.to_owned(),
                    })
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
