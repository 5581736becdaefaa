//! Several outbox entries of one routing key in one broker message: the body is the JSON
//! array of their envelopes. The broker's cost is per message (a persistent write, a
//! confirm, a delivery and an ack), so at thousands of events a second one message for a
//! hundred of them is what keeps RabbitMQ off the critical path. A message holding one
//! envelope (a JSON object) is the same as before, and consumers take both forms.
//!
//! A message is handled whole: parsed whole (one entry that does not parse, or that its
//! publisher may not send, dead-letters the message, every entry intact for inspection),
//! and acknowledged once every entry in it is stored. Entries are stored by their own ids,
//! so a message redelivered or replayed from the dead letters after some of it was stored
//! stores the rest once.

use serde::de::DeserializeOwned;

/// Entries the relay puts in one message.
pub const MAX_PER_MESSAGE: usize = 100;

/// Entries a consumer takes from one message; a longer one is refused whole (a publisher
/// cannot make one message a transaction of unbounded size).
pub const MAX_ACCEPTED: usize = 1000;

/// The body of one message carrying `payloads` (each an encoded envelope): the envelope
/// itself when there is one, else the JSON array of them.
pub fn encode(payloads: &[&str]) -> Vec<u8> {
    if let [one] = payloads {
        return one.as_bytes().to_vec();
    }
    let len = payloads.iter().map(|p| p.len() + 1).sum::<usize>() + 2;
    let mut body = Vec::with_capacity(len);
    body.push(b'[');
    for (i, p) in payloads.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(p.as_bytes());
    }
    body.push(b']');
    body
}

/// The entries of one message body: one envelope, or a non-empty array of at most
/// [`MAX_ACCEPTED`] of them.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<Vec<T>, String> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    if first != Some(&b'[') {
        return serde_json::from_slice::<T>(body)
            .map(|one| vec![one])
            .map_err(|e| e.to_string());
    }
    let items: Vec<T> = serde_json::from_slice(body).map_err(|e| which_entry::<T>(body, e))?;
    if items.is_empty() {
        return Err("an empty batch".into());
    }
    if items.len() > MAX_ACCEPTED {
        return Err(format!(
            "a batch of {} entries (at most {MAX_ACCEPTED})",
            items.len()
        ));
    }
    Ok(items)
}

/// Why an array did not parse, naming the entry when the array itself is well formed.
fn which_entry<T: DeserializeOwned>(body: &[u8], e: serde_json::Error) -> String {
    let Ok(values) = serde_json::from_slice::<Vec<serde_json::Value>>(body) else {
        return e.to_string();
    };
    values
        .into_iter()
        .enumerate()
        .find_map(|(i, v)| {
            serde_json::from_value::<T>(v)
                .err()
                .map(|e| format!("entry {i}: {e}"))
        })
        .unwrap_or_else(|| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Event;

    #[test]
    fn one_envelope_is_sent_as_itself_and_several_as_an_array() {
        let a = serde_json::to_string(&Event::untyped("auth", "LOGIN")).unwrap();
        let b = serde_json::to_string(&Event::untyped("auth", "LOGOUT")).unwrap();
        assert_eq!(encode(&[&a]), a.as_bytes());
        let both = encode(&[&a, &b]);
        let decoded: Vec<Event> = decode(&both).unwrap();
        assert_eq!(
            decoded.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(),
            ["LOGIN", "LOGOUT"]
        );
        let one: Vec<Event> = decode(a.as_bytes()).unwrap();
        assert_eq!(one.len(), 1);
        let spaced: Vec<Event> = decode(format!("  \n[{a}]").as_bytes()).unwrap();
        assert_eq!(spaced.len(), 1);
    }

    #[test]
    fn a_bad_entry_empty_or_overlong_batch_is_refused_whole() {
        let a = serde_json::to_string(&Event::untyped("auth", "LOGIN")).unwrap();
        let err = decode::<Event>(format!("[{a},{{\"id\":1}}]").as_bytes()).unwrap_err();
        assert!(err.starts_with("entry 1:"), "{err}");
        assert_eq!(decode::<Event>(b"[]").unwrap_err(), "an empty batch");
        assert!(decode::<Event>(b"[").is_err());
        assert!(decode::<Event>(b"").is_err());
        let many = vec![a.as_str(); MAX_ACCEPTED + 1];
        let err = decode::<Event>(&encode(&many)).unwrap_err();
        assert!(err.contains("at most 1000"), "{err}");
        let most = vec![a.as_str(); MAX_ACCEPTED];
        assert_eq!(decode::<Event>(&encode(&most)).unwrap().len(), MAX_ACCEPTED);
    }
}
