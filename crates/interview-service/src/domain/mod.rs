//! The interview service's rules: candidates, interviews and their lifecycle, and the
//! calendar file.

pub mod calendar;
pub mod candidate;
pub mod interview;

use std::str::FromStr;

/// Parses a stored name; a value this build does not know is a data error.
pub fn stored<T: FromStr<Err = String>>(raw: &str) -> anyhow::Result<T> {
    raw.parse()
        .map_err(|e: String| anyhow::anyhow!("stored value: {e}"))
}
