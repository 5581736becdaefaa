//! Checking request fields: collect every failing field, so a client sees all its
//! mistakes at once, and the small text rules every resource uses.

use crate::http::FieldError;
use serde::{Deserialize, Deserializer};

#[derive(Debug, Default)]
pub struct Checks(Vec<FieldError>);

impl Checks {
    /// Records the failure, if any, under `field`; gives the value otherwise.
    pub fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        result
            .map_err(|m| self.0.push(FieldError::new(field, m)))
            .ok()
    }

    /// Like [`Checks::check`] for an optional field: absent passes as `Some(None)`.
    pub fn check_opt<T, U>(
        &mut self,
        field: &str,
        value: Option<T>,
        f: impl FnOnce(T) -> Result<U, String>,
    ) -> Option<Option<U>> {
        match value {
            None => Some(None),
            Some(v) => self.check(field, f(v)).map(Some),
        }
    }

    pub fn fail(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError::new(field, message));
    }

    /// The value built from the checked parts, or every failure.
    pub fn finish<T>(self, value: impl FnOnce() -> Option<T>) -> Result<T, Vec<FieldError>> {
        match (self.0.is_empty(), value()) {
            (true, Some(v)) => Ok(v),
            (_, _) => Err(self.0),
        }
    }
}

/// Trimmed text of `min..=max` characters.
pub fn text(raw: &str, min: usize, max: usize) -> Result<String, String> {
    let t = raw.trim();
    let n = t.chars().count();
    if n < min {
        Err(if min <= 1 {
            "must not be empty".into()
        } else {
            format!("must be at least {min} characters")
        })
    } else if n > max {
        Err(format!("must be at most {max} characters"))
    } else if t.chars().any(|c| c.is_control() && c != '\n' && c != '\t') {
        Err("must not contain control characters".into())
    } else {
        Ok(t.to_owned())
    }
}

/// Optional text: empty or blank becomes absent.
pub fn optional_text(raw: Option<String>, max: usize) -> Result<Option<String>, String> {
    match raw.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) => text(t, 1, max).map(Some),
    }
}

/// Tells a field sent as `null` (`Some(None)`) from one not sent (`None`), for PATCH.
pub fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(text("  Ada  ", 2, 5), Ok("Ada".into()));
        assert!(text(" A ", 2, 5).is_err());
        assert!(text("abcdef", 1, 5).is_err());
        assert!(text("a\u{0}b", 1, 5).is_err());
        assert_eq!(optional_text(Some("   ".into()), 5), Ok(None));
    }

    #[test]
    fn checks_collect_every_failure() {
        let mut c = Checks::default();
        let a = c.check("a", text("", 1, 5));
        let b = c.check("b", text("ok", 1, 5));
        let errors = c.finish(|| Some((a?, b?))).unwrap_err();
        assert_eq!(errors, vec![FieldError::new("a", "must not be empty")]);
    }
}
