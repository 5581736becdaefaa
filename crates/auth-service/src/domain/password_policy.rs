//! The policy for a new password, as a typed result: the length and composition rules of
//! [`crate::domain::password::check_policy`], then OWASP ASVS 6.2.4 (not one of the
//! 10,000 most common or breached passwords, compared case-insensitively), then not the
//! user's own email address or name.
//!
//! The list of common passwords is shipped inside the binary
//! (`data/common-passwords.txt`: the first 10,000 entries of the zxcvbn "passwords"
//! frequency list, from Mark Burnett's 10 million password dataset) and parsed into a
//! set the first time a password is checked.

use crate::domain::password::{MAX_LEN, MIN_LEN};
use std::collections::HashSet;
use std::sync::LazyLock;

/// The list as shipped: one lower-cased password a line, in rank order; lines starting
/// with `#` are comments.
const LIST: &str = include_str!("../../data/common-passwords.txt");

/// The common passwords, lower-cased, built from [`LIST`] on first use.
static COMMON: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    LIST.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
});

/// Whether `password` is one of the shipped common passwords, ignoring case. The match is
/// exact otherwise: no trimming, no stripping of digits or punctuation.
pub fn is_common(password: &str) -> bool {
    COMMON.contains(password.to_lowercase().as_str())
}

/// The first rule a new password breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Violation {
    /// Fewer than `min` or more than `max` characters (counted as `char`s).
    Length { min: usize, max: usize },
    /// No upper-case letter, no lower-case letter or no ASCII digit.
    Composition,
    /// One of the common or breached passwords (see [`is_common`]).
    Common,
    /// The user's email address, or its local part (before the `@`).
    SameAsEmail,
    /// The user's full name, with or without its spaces.
    SameAsName,
}

impl Violation {
    /// What a client is told in the 422, completing "password …": for example "must be 8
    /// to 128 characters long".
    pub fn message(&self) -> String {
        match self {
            Self::Length { min, max } => format!("must be {min} to {max} characters long"),
            Self::Composition => {
                "must contain an upper-case letter, a lower-case letter and a digit".to_owned()
            }
            Self::Common => {
                "is too common: it appears in lists of frequently used or breached passwords"
                    .to_owned()
            }
            Self::SameAsEmail => "must not be the same as the email address".to_owned(),
            Self::SameAsName => "must not be the same as the user's name".to_owned(),
        }
    }

    /// A short, stable name of the broken rule, for logs and metrics: "length",
    /// "composition", "common", "email" or "name".
    pub fn rule(&self) -> &'static str {
        match self {
            Self::Length { .. } => "length",
            Self::Composition => "composition",
            Self::Common => "common",
            Self::SameAsEmail => "email",
            Self::SameAsName => "name",
        }
    }
}

/// Checks a new password, reporting the first rule it breaks, in this order: length
/// ([`MIN_LEN`] to [`MAX_LEN`] characters), composition (an upper-case letter, a
/// lower-case letter and an ASCII digit), [common](is_common), the same as the `email`
/// address or its local part, the same as the `full_name` with or without its spaces.
/// The last two ignore case and surrounding whitespace; an absent or blank email or name
/// is not compared.
pub fn check(
    password: &str,
    email: Option<&str>,
    full_name: Option<&str>,
) -> Result<(), Violation> {
    let len = password.chars().count();
    if !(MIN_LEN..=MAX_LEN).contains(&len) {
        return Err(Violation::Length {
            min: MIN_LEN,
            max: MAX_LEN,
        });
    }
    let has = |f: fn(char) -> bool| password.chars().any(f);
    if !(has(char::is_uppercase) && has(char::is_lowercase) && has(|c| c.is_ascii_digit())) {
        return Err(Violation::Composition);
    }
    if is_common(password) {
        return Err(Violation::Common);
    }
    let candidate = password.trim().to_lowercase();
    if let Some(email) = email.map(|e| e.trim().to_lowercase()) {
        let local = email
            .rsplit_once('@')
            .map_or(email.as_str(), |(local, _)| local);
        if (!email.is_empty() && candidate == email) || (!local.is_empty() && candidate == local) {
            return Err(Violation::SameAsEmail);
        }
    }
    if let Some(name) = full_name.map(|n| n.trim().to_lowercase()) {
        let joined: String = name.chars().filter(|c| !c.is_whitespace()).collect();
        if !name.is_empty() && (candidate == name || candidate == joined) {
            return Err(Violation::SameAsName);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const STRONG: &str = "Tr0ub4dor&3-Kettle";

    #[test]
    fn the_list_has_at_least_10_000_lower_cased_entries() {
        assert!(COMMON.len() >= 10_000, "{} entries", COMMON.len());
        assert!(COMMON.iter().all(|p| *p == p.to_lowercase()));
        assert!(!COMMON.iter().any(|p| p.starts_with('#') || p.is_empty()));
    }

    #[test]
    fn common_passwords_are_found_whatever_their_case() {
        for p in [
            "password",
            "Password",
            "PASSWORD",
            "password1",
            "Password1",
            "PASSWORD1",
            "Passw0rd",
            "Qwerty123",
            "123456",
            "iloveyou",
        ] {
            assert!(is_common(p), "{p} should be common");
        }
        for p in [STRONG, "password1 ", "Password1!", ""] {
            assert!(!is_common(p), "{p} should not be common");
        }
    }

    #[test]
    fn a_strong_password_passes() {
        assert_eq!(
            check(STRONG, Some("ann.lee@example.com"), Some("Ann Lee")),
            Ok(())
        );
        assert_eq!(check(STRONG, None, None), Ok(()));
    }

    #[test]
    fn length_is_counted_in_characters() {
        let length = Err(Violation::Length {
            min: MIN_LEN,
            max: MAX_LEN,
        });
        assert_eq!(check("Aa1", None, None), length);
        assert_eq!(
            check(&format!("Aa1{}", "x".repeat(126)), None, None),
            length
        );
        // 8 characters, 16 bytes.
        assert_eq!(check("Ää1ßéèàç", None, None), Ok(()));
        assert_eq!(
            check(&format!("Aa1{}", "x".repeat(125)), None, None),
            Ok(())
        );
    }

    #[test]
    fn composition_wants_upper_lower_and_a_digit() {
        for p in ["tr0ub4dor&3", "TR0UB4DOR&3", "Troubador&three"] {
            assert_eq!(check(p, None, None), Err(Violation::Composition), "{p}");
        }
    }

    #[test]
    fn a_common_password_is_refused_in_any_case() {
        for p in ["Password1", "PASSword1", "Passw0rd", "Qwerty123"] {
            assert_eq!(check(p, None, None), Err(Violation::Common), "{p}");
        }
    }

    #[test]
    fn the_email_or_its_local_part_is_refused() {
        let email = Some("  Kettle.Drum42@Example.com ");
        assert_eq!(
            check("kettle.DRUM42@example.com", email, None),
            Err(Violation::SameAsEmail)
        );
        assert_eq!(
            check(" Kettle.drum42 ", email, None),
            Err(Violation::SameAsEmail)
        );
        assert_eq!(check("Kettle.drum43", email, None), Ok(()));
        assert_eq!(check("Kettle.drum42", Some("   "), None), Ok(()));
    }

    #[test]
    fn the_name_with_or_without_spaces_is_refused() {
        let name = Some(" Jean Luc Picard7 ");
        assert_eq!(
            check("jean LUC picard7", None, name),
            Err(Violation::SameAsName)
        );
        assert_eq!(
            check("JeanLucPicard7", None, name),
            Err(Violation::SameAsName)
        );
        assert_eq!(check("JeanLucPicard8", None, name), Ok(()));
        assert_eq!(check("JeanLucPicard7", None, Some("")), Ok(()));
    }

    #[test]
    fn the_first_broken_rule_is_reported() {
        // Short and common ("abc123" is in the list): the length is reported.
        assert!(is_common("abc123"));
        assert!(matches!(
            check("Abc123", None, None),
            Err(Violation::Length { .. })
        ));
        // Common and no upper-case letter: the composition is reported.
        assert_eq!(check("password1", None, None), Err(Violation::Composition));
        // Common and the email's local part: common is reported.
        assert_eq!(
            check("Password1", Some("password1@example.com"), None),
            Err(Violation::Common)
        );
        // Both the email's local part and the name: the email is reported.
        assert_eq!(
            check("AnnLee99", Some("annlee99@example.com"), Some("Ann Lee99")),
            Err(Violation::SameAsEmail)
        );
    }

    #[test]
    fn each_violation_has_its_message_and_rule() {
        let all = [
            (
                Violation::Length {
                    min: MIN_LEN,
                    max: MAX_LEN,
                },
                "must be 8 to 128 characters long",
                "length",
            ),
            (
                Violation::Composition,
                "must contain an upper-case letter, a lower-case letter and a digit",
                "composition",
            ),
            (
                Violation::Common,
                "is too common: it appears in lists of frequently used or breached passwords",
                "common",
            ),
            (
                Violation::SameAsEmail,
                "must not be the same as the email address",
                "email",
            ),
            (
                Violation::SameAsName,
                "must not be the same as the user's name",
                "name",
            ),
        ];
        for (violation, message, rule) in all {
            assert_eq!(violation.message(), message);
            assert_eq!(violation.rule(), rule);
        }
    }

    #[test]
    fn messages_match_the_existing_policy() {
        use crate::domain::password::check_policy;
        assert_eq!(
            check_policy("Aa1").err(),
            check("Aa1", None, None).err().map(|v| v.message())
        );
        assert_eq!(
            check_policy("password1").err(),
            check("password1", None, None).err().map(|v| v.message())
        );
    }
}
