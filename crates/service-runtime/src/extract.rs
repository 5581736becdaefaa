//! The request extractors every service uses instead of actix's own, so one place decides
//! what a malformed request gets: JSON bodies and query strings are bounded, text the
//! database cannot store is refused with the field named, and the status follows the
//! contract (400 malformed or missing, 415 not JSON, 422 wrong type, format or range).

use crate::http::{FieldError, detail, validation_failed};
use actix_web::dev::Payload;
use actix_web::http::{StatusCode, header};
use actix_web::{FromRequest, HttpRequest, HttpResponse, ResponseError, web};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use std::fmt;
use std::ops::Deref;

/// The longest value a query parameter may have; filters are short, and a longer value
/// would only make a slow query.
pub const MAX_QUERY_VALUE_CHARS: usize = 512;

/// A request the extractors refused, already shaped as the response it gets.
#[derive(Debug)]
pub struct Rejection {
    status: StatusCode,
    errors: Vec<FieldError>,
    message: String,
}

impl Rejection {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        Self {
            status,
            errors: Vec::new(),
            message: message.into(),
        }
    }

    fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let error = FieldError::new(field, message);
        Self {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            message: format!("{}: {}", error.field, error.message),
            errors: vec![error],
        }
    }

    /// 415: a body that is not declared as JSON.
    pub fn not_json() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type must be application/json",
        )
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Rejection {}

impl ResponseError for Rejection {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        if self.errors.is_empty() {
            detail(self.status, self.message.clone())
        } else {
            validation_failed(&self.errors)
        }
    }
}

/// Whether a `Content-Type` names JSON (`application/json`, or a `+json` type).
pub fn is_json(req: &HttpRequest) -> bool {
    let Some(value) = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// A JSON request body of type `T`. A body that is not declared as JSON is 415 (so a
/// cross-site "simple" form or `text/plain` POST never reaches a handler); one that is not
/// JSON or lacks a required field is 400; well-formed JSON with a wrong type, format or
/// range, or with text containing NUL or an unpaired surrogate, is 422 naming the field.
#[derive(Debug)]
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Json<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let json = is_json(req);
        // Bytes honours the app's PayloadConfig: a body over the limit is 413.
        let body = web::Bytes::from_request(req, payload);
        Box::pin(async move {
            if !json {
                return Err(Rejection::not_json().into());
            }
            let bytes = body.await?;
            parse_json(&bytes).map(Json).map_err(Into::into)
        })
    }
}

/// The body's bytes as `T`, with the statuses [`Json`] documents.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Rejection> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(Rejection::new(
            StatusCode::BAD_REQUEST,
            "Malformed JSON: the request body is empty",
        ));
    }
    // An unpaired surrogate escape becomes `\u0000` (the same length, so positions hold):
    // the text scan below then names the field that held it.
    let text = neutralise_lone_surrogates(bytes);
    let value: Value = serde_json::from_slice(&text)
        .map_err(|e| Rejection::new(StatusCode::BAD_REQUEST, format!("Malformed JSON: {e}")))?;
    if let Some(field) = find_unstorable_text(&value, &mut String::new()) {
        return Err(Rejection::field(
            field,
            "must not contain NUL characters or unpaired surrogates",
        ));
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let message = inner.to_string();
        if message.starts_with("missing field") {
            let at = if path == "." {
                String::new()
            } else {
                format!(" in {path}")
            };
            Rejection::new(
                StatusCode::BAD_REQUEST,
                format!("Invalid request: {message}{at}"),
            )
        } else if path == "." {
            Rejection::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("Invalid value: {message}"),
            )
        } else {
            Rejection::field(path, message)
        }
    })
}

/// The JSON path (`a.b[2]`) of the first string, key or value, holding a character that
/// PostgreSQL cannot store in text.
fn find_unstorable_text(value: &Value, path: &mut String) -> Option<String> {
    match value {
        Value::String(s) if s.contains('\0') => Some(display_path(path)),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            let len = path.len();
            path.push_str(&format!("[{i}]"));
            let found = find_unstorable_text(item, path);
            path.truncate(len);
            found
        }),
        Value::Object(map) => map.iter().find_map(|(key, item)| {
            let len = path.len();
            if !path.is_empty() {
                path.push('.');
            }
            path.push_str(&key.replace('\0', "\\u0000"));
            let found = if key.contains('\0') {
                Some(display_path(path))
            } else {
                find_unstorable_text(item, path)
            };
            path.truncate(len);
            found
        }),
        Value::String(_) | Value::Null | Value::Bool(_) | Value::Number(_) => None,
    }
}

fn display_path(path: &str) -> String {
    if path.is_empty() {
        "body".to_owned()
    } else {
        path.to_owned()
    }
}

/// Replaces each `\uXXXX` escape of an unpaired UTF-16 surrogate inside a JSON string by
/// `\u0000`; everything else is left byte for byte.
fn neutralise_lone_surrogates(bytes: &[u8]) -> std::borrow::Cow<'_, [u8]> {
    fn hex4(b: &[u8]) -> Option<u16> {
        let s = std::str::from_utf8(b.get(..4)?).ok()?;
        u16::from_str_radix(s, 16).ok()
    }
    if !bytes.windows(2).any(|w| w == b"\\u") {
        return std::borrow::Cow::Borrowed(bytes);
    }
    let mut out = bytes.to_vec();
    let mut in_string = false;
    let mut i = 0;
    while i < bytes.len() {
        match (in_string, bytes[i]) {
            (false, b'"') => in_string = true,
            (true, b'"') => in_string = false,
            (true, b'\\') => {
                if bytes.get(i + 1) == Some(&b'u')
                    && let Some(unit) = bytes.get(i + 2..).and_then(hex4)
                {
                    let high = (0xD800..0xDC00).contains(&unit);
                    let low = (0xDC00..0xE000).contains(&unit);
                    let paired_low = high
                        && bytes.get(i + 6..i + 8) == Some(b"\\u")
                        && bytes
                            .get(i + 8..)
                            .and_then(hex4)
                            .is_some_and(|next| (0xDC00..0xE000).contains(&next));
                    if paired_low {
                        i += 12;
                        continue;
                    }
                    if high || low {
                        out[i + 2..i + 6].copy_from_slice(b"0000");
                    }
                    i += 6;
                    continue;
                }
                // Any other escape: skip the escaped character.
                i += 2;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    std::borrow::Cow::Owned(out)
}

/// A query string of type `T`. A parameter that is not UTF-8, holds a control character
/// or is longer than [`MAX_QUERY_VALUE_CHARS`], and one of a wrong type or range, is 422
/// naming the parameter.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T> Query<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> Deref for Query<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(
            parse_query(req.query_string())
                .map(Query)
                .map_err(Into::into),
        )
    }
}

/// A raw query string as `T`, with the statuses [`Query`] documents.
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, Rejection> {
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (raw_key, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let key = decode_component(raw_key)
            .map_err(|m| Rejection::field("query", format!("a parameter name {m}")))?;
        let value = decode_component(raw_value).map_err(|m| Rejection::field(&key, m))?;
        if value.chars().count() > MAX_QUERY_VALUE_CHARS {
            return Err(Rejection::field(
                key,
                format!("must be at most {MAX_QUERY_VALUE_CHARS} characters"),
            ));
        }
    }
    let parsed = form_urlencoded::parse(query.as_bytes());
    serde_path_to_error::deserialize(serde_urlencoded::Deserializer::new(parsed)).map_err(|e| {
        let path = e.path().to_string();
        let message = e.into_inner().to_string();
        if path == "." {
            Rejection::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                format!("Invalid query parameter: {message}"),
            )
        } else {
            Rejection::field(path, message)
        }
    })
}

/// One `application/x-www-form-urlencoded` component decoded, or why it cannot be text.
#[expect(
    clippy::map_err_ignore,
    reason = "the client's bytes are the whole story; the decoder's error adds nothing to the 422"
)]
fn decode_component(raw: &str) -> Result<String, &'static str> {
    let plus_as_space = raw.replace('+', " ");
    let decoded = percent_encoding::percent_decode_str(&plus_as_space)
        .decode_utf8()
        .map_err(|_| "must be UTF-8 text")?;
    if decoded.chars().any(char::is_control) {
        return Err("must not contain control characters (such as NUL)");
    }
    Ok(decoded.into_owned())
}

/// The largest row offset the databases take (`OFFSET` is a signed 64-bit integer).
pub const MAX_SKIP: u64 = i64::MAX.unsigned_abs();

/// `?skip=&limit=` of a list: `skip` 0 to [`MAX_SKIP`], `limit` 1 to `max` (a larger value is
/// capped to `max`, as the lists always did; 0 or a negative one is 422).
#[derive(Debug, Clone, Copy, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Paging {
    /// Rows to skip (default 0).
    #[serde(default, deserialize_with = "skip_value")]
    #[param(minimum = 0, maximum = 9_223_372_036_854_775_807_i64)]
    pub skip: u64,
    /// Rows to return (default 20; more than 100 is capped to 100).
    #[serde(default, deserialize_with = "limit_value")]
    #[param(value_type = Option<u64>, minimum = 1)]
    limit: Option<u64>,
}

impl Paging {
    pub const DEFAULT_LIMIT: u64 = 20;
    pub const MAX_LIMIT: u64 = 100;

    pub fn new(skip: u64, limit: u64) -> Self {
        Self {
            skip,
            limit: Some(limit),
        }
    }

    /// The rows to return: the asked number, capped to [`Paging::MAX_LIMIT`].
    pub fn limit(&self) -> u64 {
        self.limit
            .unwrap_or(Self::DEFAULT_LIMIT)
            .min(Self::MAX_LIMIT)
    }
}

/// `deserialize_with` for a row offset: 0 to [`MAX_SKIP`], named errors otherwise.
pub fn skip_value<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let n = bounded_u64(d)?;
    if n > MAX_SKIP {
        return Err(serde::de::Error::custom(format!(
            "must be at most {MAX_SKIP}"
        )));
    }
    Ok(n)
}

/// `deserialize_with` for an optional row count: at least 1 (the caller caps it).
pub fn limit_value<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    match bounded_u64(d)? {
        0 => Err(serde::de::Error::custom("must be at least 1")),
        n => Ok(Some(n)),
    }
}

/// A non-negative integer written in decimal (saturating at `u64::MAX`); the message says
/// what was wrong with it.
fn bounded_u64<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let raw = String::deserialize(d)?;
    let t = raw.trim();
    if t.starts_with('-') && t.len() > 1 && t[1..].bytes().all(|b| b.is_ascii_digit()) {
        return Err(serde::de::Error::custom("must not be negative"));
    }
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(serde::de::Error::custom("must be a whole number"));
    }
    // Only digits: the one way to fail is being too large, which the caller bounds.
    Ok(t.parse::<u64>().unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        name: String,
        #[serde(default)]
        tags: Vec<String>,
        #[serde(default)]
        kind: Option<Kind>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Kind {
        Phone,
    }

    fn status<T: DeserializeOwned + fmt::Debug>(body: &str) -> StatusCode {
        parse_json::<T>(body.as_bytes()).map_or_else(|e| e.status(), |_| StatusCode::OK)
    }

    #[test]
    fn json_statuses_follow_the_contract() {
        let ok = parse_json::<Body>(br#"{"name": "a", "tags": ["x"], "kind": "phone"}"#).unwrap();
        assert_eq!(
            (ok.tags.len(), matches!(ok.kind, Some(Kind::Phone))),
            (1, true)
        );
        assert_eq!(status::<Body>(r#"{"name": "a""#), StatusCode::BAD_REQUEST);
        assert_eq!(status::<Body>(""), StatusCode::BAD_REQUEST);
        assert_eq!(status::<Body>("{}"), StatusCode::BAD_REQUEST);
        assert_eq!(
            status::<Body>(r#"{"name": 5}"#),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        // serde_json reads an enum from a number as a syntax error; this extractor does not.
        assert_eq!(
            status::<Body>(r#"{"name": "a", "kind": 5}"#),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(
            status::<Body>(r#"{"name": "a", "other": 1}"#),
            StatusCode::UNPROCESSABLE_ENTITY
        );
        assert_eq!(status::<Body>("[1]"), StatusCode::UNPROCESSABLE_ENTITY);
    }

    #[test]
    fn json_text_the_database_cannot_store_names_the_field() {
        let e = parse_json::<Body>(br#"{"name": "a", "tags": ["ok", "b\u0000"]}"#).unwrap_err();
        assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(e.to_string().starts_with("tags[1]:"), "{e}");
        let e = parse_json::<Body>(br#"{"name": "\ud800x"}"#).unwrap_err();
        assert!(e.to_string().starts_with("name:"), "{e}");
        let e = parse_json::<Body>(br#"{"name": "\udc00"}"#).unwrap_err();
        assert!(e.to_string().starts_with("name:"), "{e}");
        // A proper pair is a character like any other.
        let ok = parse_json::<Body>(br#"{"name": "\ud83d\ude00"}"#).unwrap();
        assert_eq!(ok.name, "\u{1F600}");
        // An escaped backslash before `u` is not an escape.
        let ok = parse_json::<Body>(br#"{"name": "\\ud800"}"#).unwrap();
        assert_eq!(ok.name, "\\ud800");
    }

    #[test]
    fn a_wrong_field_type_names_the_field() {
        let e = parse_json::<Body>(br#"{"name": "a", "tags": [1]}"#).unwrap_err();
        assert!(e.to_string().starts_with("tags[0]:"), "{e}");
    }

    #[test]
    fn paging_is_bounded_and_names_the_parameter() {
        let p: Paging = parse_query("").unwrap();
        assert_eq!((p.skip, p.limit()), (0, 20));
        let p: Paging = parse_query("skip=9223372036854775807&limit=1000").unwrap();
        assert_eq!((p.skip, p.limit()), (MAX_SKIP, 100));
        for bad in [
            "skip=9223372036854775808",
            "skip=18446744073709551615",
            "skip=18446744073709551616",
            "skip=-1",
            "skip=1.5",
            "skip=",
        ] {
            let e = parse_query::<Paging>(bad).unwrap_err();
            assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY, "{bad}");
            assert!(e.to_string().starts_with("skip:"), "{bad}: {e}");
        }
        for bad in ["limit=0", "limit=-5", "limit=x"] {
            let e = parse_query::<Paging>(bad).unwrap_err();
            assert!(e.to_string().starts_with("limit:"), "{bad}: {e}");
        }
    }

    #[derive(Debug, Deserialize)]
    struct Filter {
        position: Option<String>,
    }

    #[test]
    fn query_text_is_refused_when_unstorable_or_oversized() {
        for bad in ["position=a%00b", "position=%FF", "position=%0A"] {
            let e = parse_query::<Filter>(bad).unwrap_err();
            assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY);
            assert!(e.to_string().starts_with("position:"), "{bad}: {e}");
        }
        let long = format!("position={}", "a".repeat(MAX_QUERY_VALUE_CHARS + 1));
        assert!(parse_query::<Filter>(&long).is_err());
        let f: Filter = parse_query("position=Data+Engineer%20II").unwrap();
        assert_eq!(f.position.as_deref(), Some("Data Engineer II"));
    }

    proptest! {
        #[test]
        fn any_skip_is_parsed_or_refused_never_out_of_range(skip in any::<u128>()) {
            match parse_query::<Paging>(&format!("skip={skip}")) {
                Ok(p) => prop_assert!(u128::from(p.skip) == skip && p.skip <= MAX_SKIP),
                Err(e) => {
                    prop_assert!(skip > u128::from(MAX_SKIP));
                    prop_assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY);
                }
            }
        }

        #[test]
        fn any_limit_is_capped_or_refused(limit in any::<i128>()) {
            match parse_query::<Paging>(&format!("limit={limit}")) {
                Ok(p) => prop_assert!(limit >= 1 && (1..=Paging::MAX_LIMIT).contains(&p.limit())),
                Err(e) => {
                    prop_assert!(limit < 1);
                    prop_assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY);
                }
            }
        }

        #[test]
        fn any_query_string_gets_a_4xx_or_a_value(raw in ".{0,64}") {
            if let Err(e) = parse_query::<Paging>(&raw) {
                prop_assert!(e.status().is_client_error());
            }
        }

        #[test]
        fn any_body_gets_a_4xx_or_a_value(raw in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Err(e) = parse_json::<Body>(&raw) {
                prop_assert!(e.status().is_client_error());
            }
        }

        #[test]
        fn any_string_in_a_body_round_trips_or_names_its_field(s in any::<String>()) {
            let body = serde_json::json!({ "name": s }).to_string();
            match parse_json::<Body>(body.as_bytes()) {
                Ok(b) => prop_assert_eq!(b.name, s),
                Err(e) => {
                    prop_assert!(s.contains('\0'));
                    prop_assert!(e.to_string().starts_with("name:"));
                }
            }
        }
    }
}
