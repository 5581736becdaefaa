//! The audit log's hash chain: every row of a company's log links to the row before it
//! by an HMAC-SHA256 over the previous link and a canonical form of the row, under
//! `AUDIT_CHAIN_KEY` (only the audit-writer holds it). Editing a row, deleting one or
//! reordering them breaks a link the verifier finds; forging a row needs the key.
//!
//! Two forms of a row, by its `chain_version`. Version 1 (rows written before personal
//! data was split out) covers every column, `details` included. Version 2 covers the
//! PII-free `details` and `pii_digest`, an HMAC under the same key over the row's id and
//! its `audit_pii` data exactly as stored ([`crate::pii`]): the personal data can be
//! deleted (an erasure) and every link still verifies, while data that is there must
//! still match its digest.

use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use sha2::Sha256;
use time::OffsetDateTime;
use uuid::Uuid;

/// The chain of events that belong to no company (a failed sign-in with an unknown email).
pub const PLATFORM_CHAIN: Uuid = Uuid::nil();

/// The `prev_hash` of a chain's first row.
pub const GENESIS: &str = "";

/// Which chain an event of `company` goes to.
pub fn chain_of(company: Option<Uuid>) -> Uuid {
    company.unwrap_or(PLATFORM_CHAIN)
}

/// The key of the chain's HMAC.
#[derive(Clone)]
pub struct ChainKey(SecretString);

impl std::fmt::Debug for ChainKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ChainKey(..)")
    }
}

impl ChainKey {
    pub fn new(key: SecretString) -> Self {
        Self(key)
    }

    /// HMAC-SHA256 under the key over `parts`, hex.
    fn mac(&self, parts: &[&[u8]]) -> String {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(self.0.expose_secret().as_bytes()) else {
            // HMAC takes a key of any length.
            unreachable!("HMAC-SHA256 accepts every key length")
        };
        for part in parts {
            mac.update(part);
        }
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// The link of a row: HMAC(key, prev_hash "\n" canonical row), hex.
    pub fn link(&self, prev_hash: &str, row: &ChainedRow<'_>) -> String {
        self.mac(&[prev_hash.as_bytes(), b"\n", &row.canonical()])
    }

    /// The digest of a row's personal data (`audit_pii.data`, the JSON text as stored):
    /// HMAC(key, `["aip-audit-pii-v1", id, data]`), hex. The row's id in it ties the data
    /// to its row: another row's data does not match.
    pub fn pii_digest(&self, id: Uuid, data: &str) -> String {
        let form = serde_json::json!(["aip-audit-pii-v1", id, data]);
        self.mac(&[&serde_json::to_vec(&form).unwrap_or_default()])
    }
}

/// A time as the database keeps it: whole microseconds.
pub fn to_micros(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000)
        .unwrap_or(t)
}

/// A time as the chain covers it (and PostgreSQL reads it): UTC, whole microseconds.
pub(crate) fn stamp(t: OffsetDateTime) -> String {
    let t = to_micros(t);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.microsecond()
    )
}

/// How a row is linked: `audit_logs.chain_version`.
pub const V1: i16 = 1;
/// Personal data split out and covered by its digest: every row the writer appends now.
pub const V2: i16 = 2;

/// What of a row the chain covers: every column but the link itself.
#[derive(Debug, Clone)]
pub struct ChainedRow<'a> {
    /// [`V1`] or [`V2`]; any other value is checked as a version-1 row (and fails).
    pub version: i16,
    pub seq: i64,
    pub id: Uuid,
    pub company_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub action: &'a str,
    pub resource_type: Option<&'a str>,
    pub resource_id: Option<&'a str>,
    /// The `details` column as stored (JSON text; in version 2 without personal data).
    pub details: &'a str,
    /// Version 2: the digest of the row's personal data, `None` when it had none.
    pub pii_digest: Option<&'a str>,
    pub source: &'a str,
    pub trace_parent: Option<&'a str>,
    pub occurred_at: OffsetDateTime,
    pub created_at: OffsetDateTime,
}

impl ChainedRow<'_> {
    /// A JSON array of the columns in a fixed order: unambiguous, and the same bytes for
    /// the row written and the row read back. Version 2 is tagged apart and adds
    /// `pii_digest` at the end.
    pub fn canonical(&self) -> Vec<u8> {
        let tag = if self.version == V2 {
            "aip-audit-v2"
        } else {
            "aip-audit-v1"
        };
        let mut v = serde_json::json!([
            tag,
            self.seq,
            self.id,
            self.company_id,
            self.user_id,
            self.action,
            self.resource_type,
            self.resource_id,
            self.details,
            self.source,
            self.trace_parent,
            stamp(self.occurred_at),
            stamp(self.created_at),
        ]);
        if self.version == V2
            && let Some(fields) = v.as_array_mut()
        {
            fields.push(self.pii_digest.into());
        }
        serde_json::to_vec(&v).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(details: &str) -> ChainedRow<'_> {
        ChainedRow {
            version: V1,
            pii_digest: None,
            seq: 1,
            id: Uuid::from_u128(7),
            company_id: Some(Uuid::from_u128(1)),
            user_id: None,
            action: "LOGIN",
            resource_type: Some("user"),
            resource_id: Some("u"),
            details,
            source: "auth",
            trace_parent: None,
            occurred_at: OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789)
                .unwrap_or(OffsetDateTime::UNIX_EPOCH),
            created_at: OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn key(k: &str) -> ChainKey {
        ChainKey::new(SecretString::from(k.to_owned()))
    }

    #[test]
    fn a_link_depends_on_the_key_the_row_and_the_previous_link() {
        let k = key("0123456789abcdef0123456789abcdef");
        let a = k.link(GENESIS, &row("{}"));
        assert_eq!(a.len(), 64);
        assert_eq!(a, k.link(GENESIS, &row("{}")), "deterministic");
        assert_ne!(a, k.link(GENESIS, &row("{\"x\":1}")));
        assert_ne!(a, k.link("00", &row("{}")));
        assert_ne!(
            a,
            key("another-key-of-enough-length-000").link(GENESIS, &row("{}"))
        );
        let mut moved = row("{}");
        moved.seq = 2;
        assert_ne!(a, k.link(GENESIS, &moved));
    }

    #[test]
    fn a_version_2_link_covers_the_digest_and_differs_from_version_1() {
        let k = key("0123456789abcdef0123456789abcdef");
        let v1 = row("{}");
        let mut v2 = row("{}");
        v2.version = V2;
        let digest = k.pii_digest(v2.id, r#"{"email":"a@b.c"}"#);
        v2.pii_digest = Some(&digest);
        let link = k.link(GENESIS, &v2);
        assert_ne!(link, k.link(GENESIS, &v1), "versions are told apart");
        let mut other = v2.clone();
        other.pii_digest = None;
        assert_ne!(link, k.link(GENESIS, &other), "the digest is covered");
        // A version-1 row ignores a digest: it was never part of its form.
        let mut v1_with = v1.clone();
        v1_with.pii_digest = Some(&digest);
        assert_eq!(k.link(GENESIS, &v1), k.link(GENESIS, &v1_with));
    }

    #[test]
    fn the_pii_digest_binds_the_data_to_its_row_and_the_key() {
        let k = key("0123456789abcdef0123456789abcdef");
        let a = k.pii_digest(Uuid::from_u128(1), r#"{"email":"a@b.c"}"#);
        assert_eq!(a.len(), 64);
        assert_eq!(a, k.pii_digest(Uuid::from_u128(1), r#"{"email":"a@b.c"}"#));
        assert_ne!(a, k.pii_digest(Uuid::from_u128(2), r#"{"email":"a@b.c"}"#));
        assert_ne!(a, k.pii_digest(Uuid::from_u128(1), r#"{"email":"x@b.c"}"#));
        assert_ne!(
            a,
            key("another-key-of-enough-length-000")
                .pii_digest(Uuid::from_u128(1), r#"{"email":"a@b.c"}"#)
        );
    }

    #[test]
    fn times_count_in_whole_microseconds() {
        let r = row("{}");
        let text = String::from_utf8(r.canonical()).unwrap_or_default();
        assert!(text.contains("2023-11-14T22:13:20.123456Z"), "{text}");
    }
}
