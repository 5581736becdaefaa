//! Scorecards: every criterion rated 1–4 (strong no, no, yes, strong yes), an overall
//! recommendation and notes.

use super::rubric::Criterion;
use auth_types::RubricId;
use serde::Deserialize;
use service_runtime::http::FieldError;
use service_runtime::named_enum;
use service_runtime::validate::{Checks, optional_text};
use std::collections::BTreeMap;
use utoipa::ToSchema;

named_enum!(
    Recommendation {
        StrongNo => "strong_no",
        No => "no",
        Yes => "yes",
        StrongYes => "strong_yes",
    }
);

pub const RATING: std::ops::RangeInclusive<u8> = 1..=4;
pub const NOTES_MAX: usize = 10_000;

#[derive(Debug, Deserialize, ToSchema)]
pub struct SubmitScorecard {
    pub rubric_id: RubricId,
    /// Criterion key → 1 (strong no) .. 4 (strong yes); every criterion of the rubric.
    pub ratings: BTreeMap<String, u8>,
    pub recommendation: Recommendation,
    #[serde(default)]
    pub notes: Option<String>,
}

/// An amendment: the same shape; the rubric defaults to the amended revision's.
#[derive(Debug, Deserialize, ToSchema)]
pub struct AmendScorecard {
    #[serde(default)]
    pub rubric_id: Option<RubricId>,
    pub ratings: BTreeMap<String, u8>,
    pub recommendation: Recommendation,
    #[serde(default)]
    pub notes: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Scores {
    pub ratings: BTreeMap<String, u8>,
    pub recommendation: Recommendation,
    pub notes: Option<String>,
}

/// Checks the ratings against the rubric's criteria: each rated once, in range, no others.
pub fn validate(
    criteria: &[Criterion],
    ratings: BTreeMap<String, u8>,
    recommendation: Recommendation,
    notes: Option<String>,
) -> Result<Scores, Vec<FieldError>> {
    let mut c = Checks::default();
    for criterion in criteria {
        match ratings.get(&criterion.key) {
            None => c.fail(&format!("ratings.{}", criterion.key), "is missing"),
            Some(r) if !RATING.contains(r) => {
                c.fail(&format!("ratings.{}", criterion.key), "must be 1 to 4")
            }
            Some(_) => {}
        }
    }
    for key in ratings.keys() {
        if !criteria.iter().any(|k| &k.key == key) {
            c.fail(
                &format!("ratings.{key}"),
                "is not a criterion of the rubric",
            );
        }
    }
    let notes = c.check("notes", optional_text(notes, NOTES_MAX));
    c.finish(|| {
        Some(Scores {
            ratings,
            recommendation,
            notes: notes?,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn criteria() -> Vec<Criterion> {
        ["coding", "design"]
            .iter()
            .map(|k| Criterion {
                key: (*k).into(),
                name: (*k).into(),
                description: String::new(),
                weight: 1.0,
            })
            .collect()
    }

    #[test]
    fn every_criterion_is_rated_in_range_and_nothing_else() {
        let ok = BTreeMap::from([("coding".to_owned(), 4), ("design".to_owned(), 1)]);
        assert!(validate(&criteria(), ok, Recommendation::Yes, None).is_ok());
        let bad = BTreeMap::from([("coding".to_owned(), 5), ("typing".to_owned(), 3)]);
        let fields: Vec<String> = validate(&criteria(), bad, Recommendation::No, None)
            .unwrap_err()
            .into_iter()
            .map(|e| e.field)
            .collect();
        assert_eq!(
            fields,
            ["ratings.coding", "ratings.design", "ratings.typing"]
        );
    }
}
