//! The audit log's hash chain: every row of a company's log links to the row before it
//! by an HMAC-SHA256 over the previous link and a canonical form of the row, under
//! `AUDIT_CHAIN_KEY` (only the audit-writer holds it). Editing a row, deleting one or
//! reordering them breaks a link the verifier finds; forging a row needs the key.

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

    /// The link of a row: HMAC(key, prev_hash "\n" canonical row), hex.
    pub fn link(&self, prev_hash: &str, row: &ChainedRow<'_>) -> String {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(self.0.expose_secret().as_bytes()) else {
            // HMAC takes a key of any length.
            unreachable!("HMAC-SHA256 accepts every key length")
        };
        mac.update(prev_hash.as_bytes());
        mac.update(b"\n");
        mac.update(&row.canonical());
        mac.finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }
}

/// A time as the database keeps it: whole microseconds.
pub fn to_micros(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    t.replace_nanosecond(t.nanosecond() / 1_000 * 1_000)
        .unwrap_or(t)
}

fn stamp(t: OffsetDateTime) -> String {
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

/// What of a row the chain covers: every column but the link itself.
#[derive(Debug, Clone)]
pub struct ChainedRow<'a> {
    pub seq: i64,
    pub id: Uuid,
    pub company_id: Option<Uuid>,
    pub user_id: Option<Uuid>,
    pub action: &'a str,
    pub resource_type: Option<&'a str>,
    pub resource_id: Option<&'a str>,
    /// The `details` column as stored (JSON text).
    pub details: &'a str,
    pub source: &'a str,
    pub trace_parent: Option<&'a str>,
    pub occurred_at: OffsetDateTime,
    pub created_at: OffsetDateTime,
}

impl ChainedRow<'_> {
    /// A JSON array of the columns in a fixed order: unambiguous, and the same bytes for
    /// the row written and the row read back.
    pub fn canonical(&self) -> Vec<u8> {
        let v = serde_json::json!([
            "aip-audit-v1",
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
        serde_json::to_vec(&v).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(details: &str) -> ChainedRow<'_> {
        ChainedRow {
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
    fn times_count_in_whole_microseconds() {
        let r = row("{}");
        let text = String::from_utf8(r.canonical()).unwrap_or_default();
        assert!(text.contains("2023-11-14T22:13:20.123456Z"), "{text}");
    }
}
