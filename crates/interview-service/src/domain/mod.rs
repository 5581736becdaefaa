//! The interview service's rules: candidates, interviews and their lifecycle, and the
//! calendar file.

pub mod calendar;
pub mod candidate;
pub mod interview;
