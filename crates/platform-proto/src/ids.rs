//! Newtypes for ids, so a company id can never be passed where a user id is meant.
//!
//! Each is a sea-orm value type (entities hold the typed id, queries take it) and an
//! OpenAPI string of format `uuid`, so a view can carry it as it is.

use serde::{Deserialize, Serialize};
use std::fmt;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
            sea_orm::DeriveValueType,
        )]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh, time-ordered id (UUIDv7).
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }
        }

        /// A primary key never comes from an auto-increment counter.
        impl sea_orm::TryFromU64 for $name {
            fn try_from_u64(n: u64) -> Result<Self, sea_orm::DbErr> {
                <Uuid as sea_orm::TryFromU64>::try_from_u64(n).map(Self)
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
                    .into()
            }
        }

        impl utoipa::ToSchema for $name {}

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl From<Uuid> for $name {
            fn from(id: Uuid) -> Self {
                Self(id)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Self {
                id.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A user of the platform.
    UserId
);
id_type!(
    /// A tenant: every row belongs to exactly one company.
    CompanyId
);
id_type!(
    /// A login session: the family of refresh tokens rotated from one login.
    SessionId
);
id_type!(
    /// The `jti` of one token.
    TokenId
);
id_type!(
    /// A candidate of a company.
    CandidateId
);
id_type!(
    /// An interview of a candidate.
    InterviewId
);
id_type!(
    /// A scoring rubric (all its versions share the id).
    RubricId
);
id_type!(
    /// One scorecard revision.
    ScorecardId
);

#[cfg(test)]
mod tests {
    use super::*;
    use sea_orm::sea_query::{Nullable, ValueType};
    use sea_orm::{TryFromU64, Value};

    #[test]
    fn an_id_is_stored_as_its_uuid_and_read_back_typed() {
        let id = InterviewId::new();
        let value = Value::from(id);
        assert_eq!(value, Value::from(id.0));
        assert_eq!(<InterviewId as ValueType>::try_from(value).ok(), Some(id));
        assert_eq!(InterviewId::null(), Value::Uuid(None));
        assert!(<UserId as TryFromU64>::try_from_u64(7).is_err());
    }

    #[test]
    fn an_id_serialises_as_the_bare_uuid_and_documents_as_one() {
        let id = CandidateId::new();
        assert_eq!(
            serde_json::to_value(id).ok(),
            Some(serde_json::Value::String(id.0.to_string()))
        );
        let schema = serde_json::to_value(<RubricId as utoipa::PartialSchema>::schema()).ok();
        assert_eq!(
            schema,
            Some(serde_json::json!({"type": "string", "format": "uuid"}))
        );
    }
}
