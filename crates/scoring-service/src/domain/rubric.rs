//! Rubrics: named, weighted criteria. Changing the criteria makes a new version; the
//! old version stays, so scorecards written against it still report correctly.

use serde::{Deserialize, Serialize};
use service_runtime::http::FieldError;
use service_runtime::validate::{Checks, optional_text, present, text};
use std::collections::HashSet;
use utoipa::ToSchema;

pub const MAX_CRITERIA: usize = 50;
pub const MAX_WEIGHT: f64 = 1000.0;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Criterion {
    /// Stable identifier the ratings use: lower-case letters, digits and `_`.
    #[schema(
        pattern = "^[a-z0-9_]+$",
        min_length = 1,
        max_length = 64,
        example = "coding"
    )]
    pub key: String,
    #[schema(min_length = 1, max_length = 200, example = "Coding")]
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// Relative weight, greater than 0.
    #[schema(exclusive_minimum = 0.0, maximum = 1000.0, example = 1.0)]
    pub weight: f64,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateRubric {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[serde(default)]
    pub position: Option<String>,
    #[schema(min_items = 1, max_items = 50)]
    pub criteria: Vec<Criterion>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRubric {
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub position: Option<Option<String>>,
    /// New criteria: a new version of the rubric.
    pub criteria: Option<Vec<Criterion>>,
}

#[derive(Debug, Clone)]
pub struct NewRubric {
    pub name: String,
    pub position: Option<String>,
    pub criteria: Vec<Criterion>,
}

#[derive(Debug, Default)]
pub struct RubricChange {
    pub name: Option<String>,
    pub position: Option<Option<String>>,
    pub criteria: Option<Vec<Criterion>>,
}

fn key(k: &str) -> Result<String, String> {
    let ok = !k.is_empty()
        && k.len() <= 64
        && k.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(k.to_owned())
    } else {
        Err(format!(
            "key '{k}' must be 1 to 64 lower-case letters, digits or _"
        ))
    }
}

/// Every criterion checked; keys unique.
pub fn criteria(list: Vec<Criterion>) -> Result<Vec<Criterion>, String> {
    if list.is_empty() || list.len() > MAX_CRITERIA {
        return Err(format!("must have 1 to {MAX_CRITERIA} criteria"));
    }
    let mut seen = HashSet::new();
    list.into_iter()
        .map(|c| {
            let k = key(&c.key)?;
            if !seen.insert(k.clone()) {
                return Err(format!("key '{k}' appears twice"));
            }
            if !(c.weight.is_finite() && c.weight > 0.0 && c.weight <= MAX_WEIGHT) {
                return Err(format!(
                    "weight of '{k}' must be greater than 0 and at most {MAX_WEIGHT}"
                ));
            }
            Ok(Criterion {
                name: text(&c.name, 1, 200).map_err(|m| format!("name of '{k}' {m}"))?,
                description: text(&c.description, 0, 2000)
                    .map_err(|m| format!("description of '{k}' {m}"))?,
                weight: c.weight,
                key: k,
            })
        })
        .collect()
}

impl CreateRubric {
    pub fn validate(self) -> Result<NewRubric, Vec<FieldError>> {
        let mut c = Checks::default();
        let name = c.check("name", text(&self.name, 1, 200));
        let position = c.check("position", optional_text(self.position, 200));
        let list = c.check("criteria", criteria(self.criteria));
        c.finish(|| {
            Some(NewRubric {
                name: name?,
                position: position?,
                criteria: list?,
            })
        })
    }
}

impl UpdateRubric {
    pub fn validate(self) -> Result<RubricChange, Vec<FieldError>> {
        let mut c = Checks::default();
        let name = c.check_opt("name", self.name, |n| text(&n, 1, 200));
        let position = c.check_opt("position", self.position, |p| optional_text(p, 200));
        let list = c.check_opt("criteria", self.criteria, criteria);
        c.finish(|| {
            Some(RubricChange {
                name: name?,
                position: position?,
                criteria: list?,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crit(key: &str, weight: f64) -> Criterion {
        Criterion {
            key: key.into(),
            name: "N".into(),
            description: String::new(),
            weight,
        }
    }

    #[test]
    fn criteria_need_unique_keys_and_positive_weights() {
        assert!(criteria(vec![crit("a", 1.0), crit("b_2", 0.5)]).is_ok());
        assert!(criteria(vec![]).is_err());
        assert!(criteria(vec![crit("a", 1.0), crit("a", 2.0)]).is_err());
        assert!(criteria(vec![crit("a", 0.0)]).is_err());
        assert!(criteria(vec![crit("a", -1.0)]).is_err());
        assert!(criteria(vec![crit("a", f64::NAN)]).is_err());
        assert!(criteria(vec![crit("Bad Key", 1.0)]).is_err());
    }
}
