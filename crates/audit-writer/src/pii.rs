//! Personal data in an event's `details`: the top-level keys that name or reach a person
//! are kept apart from the hash chain (in `audit_pii`, which an erasure may delete) and
//! merged back when the log is read.

use serde_json::{Map, Value};

/// The top-level `details` keys that are personal data.
pub const KEYS: [&str; 6] = [
    "email",
    "full_name",
    "ip_address",
    "user_agent",
    "phone",
    "erase_terms",
];

/// An event's details as stored: what stays in `audit_logs.details`, and the personal
/// data for `audit_pii.data` (`None` when there is none), both JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    pub details: String,
    pub pii: Option<String>,
}

/// Moves the personal keys out of `details` (an object; anything else stays whole). A
/// key whose value is `null` stays: it names no one.
pub fn split(details: &Value) -> Result<Split, serde_json::Error> {
    let mut rest = details.clone();
    let mut pii = Map::new();
    if let Value::Object(fields) = &mut rest {
        for key in KEYS {
            if fields.get(key).is_some_and(|v| !v.is_null())
                && let Some(value) = fields.remove(key)
            {
                pii.insert(key.to_owned(), value);
            }
        }
    }
    Ok(Split {
        details: serde_json::to_string(&rest)?,
        pii: if pii.is_empty() {
            None
        } else {
            Some(serde_json::to_string(&Value::Object(pii))?)
        },
    })
}

/// The details a reader sees: the stored `details` with the personal data (if still
/// there) merged back. Text that is not JSON reads as `null`, as before the split.
pub fn merge(details: &str, pii: Option<&str>) -> Value {
    let mut value: Value = serde_json::from_str(details).unwrap_or(Value::Null);
    if let Some(Ok(Value::Object(personal))) = pii.map(serde_json::from_str::<Value>)
        && let Value::Object(fields) = &mut value
    {
        fields.extend(personal);
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn personal_keys_move_out_and_come_back() {
        let details = json!({
            "email": "ada@example.com",
            "ip_address": "10.0.0.1",
            "user_agent": null,
            "reason": "wrong_password",
            "attempts": 1,
            "nested": {"email": "stays@example.com"},
        });
        let s = split(&details).unwrap_or_else(|e| panic!("{e}"));
        let stored: Value = serde_json::from_str(&s.details).unwrap_or_default();
        assert_eq!(
            stored,
            json!({"user_agent": null, "reason": "wrong_password", "attempts": 1,
                   "nested": {"email": "stays@example.com"}}),
            "only top-level personal keys with a value move"
        );
        let pii: Value =
            serde_json::from_str(s.pii.as_deref().unwrap_or("null")).unwrap_or_default();
        assert_eq!(
            pii,
            json!({"email": "ada@example.com", "ip_address": "10.0.0.1"})
        );
        assert_eq!(merge(&s.details, s.pii.as_deref()), details);
        // Erased: the rest is still there.
        assert_eq!(merge(&s.details, None), stored);
    }

    #[test]
    fn details_without_personal_data_are_stored_whole() {
        for details in [
            json!({"status": "new"}),
            json!({}),
            json!([1, 2]),
            Value::Null,
        ] {
            let s = split(&details).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(s.pii, None, "{details}");
            assert_eq!(merge(&s.details, None), details);
        }
        let erased = split(&json!({"erase_terms": ["Ada Lovelace"], "sessions_ended": 2}))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(erased.details, r#"{"sessions_ended":2}"#);
        assert_eq!(
            erased.pii.as_deref(),
            Some(r#"{"erase_terms":["Ada Lovelace"]}"#)
        );
        assert_eq!(merge("not json", None), Value::Null);
    }
}
