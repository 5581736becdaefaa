//! The candidate report: per-criterion statistics over each evaluator's latest revision,
//! the overall score, the recommendation tally, who still owes a scorecard, and where
//! the evaluators disagree. Pure computation, so every number is checked by hand in tests.

use super::rubric::Criterion;
use super::scorecard::Recommendation;
use auth_types::{CandidateId, InterviewId, UserId};
use serde::Serialize;
use service_runtime::csv::field as csv_field;
use std::collections::{BTreeMap, HashSet};
use utoipa::ToSchema;

/// Ratings whose highest and lowest differ by at least this much cover three or more of
/// the four points of the scale (e.g. 2 and 4, or 1 and 3): the evaluators disagree.
pub const DISAGREEMENT_MIN_RANGE: u8 = 2;

/// One scorecard (an evaluator's latest revision) with the criteria of its rubric version.
pub struct Card<'a> {
    pub interview_id: InterviewId,
    pub evaluator_id: UserId,
    pub ratings: &'a BTreeMap<String, u8>,
    pub criteria: &'a [Criterion],
    pub recommendation: Recommendation,
}

pub struct InterviewFacts {
    pub id: InterviewId,
    pub completed: bool,
    pub interviewer_ids: Vec<UserId>,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct CriterionStats {
    pub key: String,
    pub name: String,
    pub mean: f64,
    /// Population standard deviation.
    pub stddev: f64,
    pub min: u8,
    pub max: u8,
    pub n: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ToSchema)]
pub struct Tally {
    pub strong_no: usize,
    pub no: usize,
    pub yes: usize,
    pub strong_yes: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Missing {
    pub interview_id: InterviewId,
    pub interviewer_id: UserId,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Report {
    pub candidate_id: CandidateId,
    pub interviews: usize,
    pub scorecards: usize,
    pub criteria: Vec<CriterionStats>,
    /// Mean over scorecards of Σ weight·rating ÷ Σ weight (1–4); null without scorecards.
    pub overall_score: Option<f64>,
    pub recommendations: Tally,
    pub missing_scorecards: Vec<Missing>,
    /// Keys of the criteria the evaluators disagree on.
    pub disagreements: Vec<String>,
}

/// A number of ratings or scorecards as a divisor (exact: a count is far below 2^32).
fn count(n: usize) -> f64 {
    f64::from(u32::try_from(n).unwrap_or(u32::MAX))
}

fn weighted(card: &Card<'_>) -> Option<f64> {
    let (mut sum, mut weights) = (0.0, 0.0);
    for c in card.criteria {
        if let Some(r) = card.ratings.get(&c.key) {
            sum += c.weight * f64::from(*r);
            weights += c.weight;
        }
    }
    (weights > 0.0).then(|| sum / weights)
}

pub fn build(
    candidate_id: CandidateId,
    interviews: &[InterviewFacts],
    cards: &[Card<'_>],
) -> Report {
    // Ratings per criterion key, in the order criteria first appear; the name of the
    // newest version seen wins.
    let mut order: Vec<String> = Vec::new();
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut ratings: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut tally = Tally::default();
    for card in cards {
        for c in card.criteria {
            if let Some(r) = card.ratings.get(&c.key) {
                if !ratings.contains_key(&c.key) {
                    order.push(c.key.clone());
                }
                ratings.entry(c.key.clone()).or_default().push(*r);
                names.insert(c.key.clone(), c.name.clone());
            }
        }
        match card.recommendation {
            Recommendation::StrongNo => tally.strong_no += 1,
            Recommendation::No => tally.no += 1,
            Recommendation::Yes => tally.yes += 1,
            Recommendation::StrongYes => tally.strong_yes += 1,
        }
    }
    let criteria: Vec<CriterionStats> = order
        .iter()
        .filter_map(|key| {
            let values = ratings.get(key)?;
            let n = values.len();
            let mean = values.iter().map(|v| f64::from(*v)).sum::<f64>() / count(n);
            let variance = values
                .iter()
                .map(|v| (f64::from(*v) - mean).powi(2))
                .sum::<f64>()
                / count(n);
            Some(CriterionStats {
                key: key.clone(),
                name: names.get(key).cloned().unwrap_or_default(),
                mean,
                stddev: variance.sqrt(),
                min: values.iter().copied().min()?,
                max: values.iter().copied().max()?,
                n,
            })
        })
        .collect();
    let disagreements = criteria
        .iter()
        .filter(|c| c.max - c.min >= DISAGREEMENT_MIN_RANGE)
        .map(|c| c.key.clone())
        .collect();
    let scores: Vec<f64> = cards.iter().filter_map(weighted).collect();
    let overall_score =
        (!scores.is_empty()).then(|| scores.iter().sum::<f64>() / count(scores.len()));
    let submitted: HashSet<(InterviewId, UserId)> = cards
        .iter()
        .map(|c| (c.interview_id, c.evaluator_id))
        .collect();
    let missing_scorecards = interviews
        .iter()
        .filter(|i| i.completed)
        .flat_map(|i| {
            i.interviewer_ids
                .iter()
                .filter(|who| !submitted.contains(&(i.id, **who)))
                .map(|who| Missing {
                    interview_id: i.id,
                    interviewer_id: *who,
                })
        })
        .collect();
    Report {
        candidate_id,
        interviews: interviews.len(),
        scorecards: cards.len(),
        criteria,
        overall_score,
        recommendations: tally,
        missing_scorecards,
        disagreements,
    }
}

fn num(v: f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    s.to_owned()
}

/// The same report as CSV: one row per figure, `kind,key,name,mean,stddev,min,max,n,value`.
pub fn to_csv(r: &Report) -> String {
    let mut rows = vec!["kind,key,name,mean,stddev,min,max,n,value".to_owned()];
    for c in &r.criteria {
        rows.push(format!(
            "criterion,{},{},{},{},{},{},{},",
            csv_field(&c.key),
            csv_field(&c.name),
            num(c.mean),
            num(c.stddev),
            c.min,
            c.max,
            c.n
        ));
    }
    rows.push(format!(
        "overall_score,,,,,,,,{}",
        r.overall_score.map(num).unwrap_or_default()
    ));
    for (key, count) in [
        ("strong_no", r.recommendations.strong_no),
        ("no", r.recommendations.no),
        ("yes", r.recommendations.yes),
        ("strong_yes", r.recommendations.strong_yes),
    ] {
        rows.push(format!("recommendation,{key},,,,,,,{count}"));
    }
    for m in &r.missing_scorecards {
        rows.push(format!(
            "missing_scorecard,{},,,,,,,{}",
            m.interview_id, m.interviewer_id
        ));
    }
    for d in &r.disagreements {
        rows.push(format!("disagreement,{},,,,,,,", csv_field(d)));
    }
    rows.push(format!("scorecards,,,,,,,,{}", r.scorecards));
    rows.push(format!("interviews,,,,,,,,{}", r.interviews));
    let mut out = rows.join("\r\n");
    out.push_str("\r\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use uuid::Uuid;

    fn crit(key: &str, name: &str, weight: f64) -> Criterion {
        Criterion {
            key: key.into(),
            name: name.into(),
            description: String::new(),
            weight,
        }
    }

    fn ratings(pairs: &[(&str, u8)]) -> BTreeMap<String, u8> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect()
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-9
    }

    /// Hand-computed:
    /// coding (w 2): 4, 3, 1 → mean 8/3 = 2.6667, variance ((4/3)² + (1/3)² + (5/3)²)/3 = 42/27,
    ///   stddev 1.2472, range 3 → disagreement.
    /// comms (w 1): 3, 3, 2 → mean 8/3, variance ((1/3)² + (1/3)² + (2/3)²)/3 = 6/27, stddev 0.4714.
    /// weighted: A (2·4 + 3)/3 = 11/3; B (2·3 + 3)/3 = 3; C (2·1 + 2)/3 = 4/3;
    ///   overall (11/3 + 3 + 4/3)/3 = 8/3.
    #[test]
    fn statistics_match_the_hand_computed_example() {
        let rubric = vec![
            crit("coding", "Coding", 2.0),
            crit("comms", "Communication", 1.0),
        ];
        let (i1, i2) = (
            InterviewId(Uuid::from_u128(1)),
            InterviewId(Uuid::from_u128(2)),
        );
        let (a, b, c, d) = (
            UserId(Uuid::from_u128(10)),
            UserId(Uuid::from_u128(11)),
            UserId(Uuid::from_u128(12)),
            UserId(Uuid::from_u128(13)),
        );
        let (ra, rb, rc) = (
            ratings(&[("coding", 4), ("comms", 3)]),
            ratings(&[("coding", 3), ("comms", 3)]),
            ratings(&[("coding", 1), ("comms", 2)]),
        );
        let cards = [
            Card {
                interview_id: i1,
                evaluator_id: a,
                ratings: &ra,
                criteria: &rubric,
                recommendation: Recommendation::StrongYes,
            },
            Card {
                interview_id: i1,
                evaluator_id: b,
                ratings: &rb,
                criteria: &rubric,
                recommendation: Recommendation::Yes,
            },
            Card {
                interview_id: i2,
                evaluator_id: c,
                ratings: &rc,
                criteria: &rubric,
                recommendation: Recommendation::StrongNo,
            },
        ];
        let interviews = [
            InterviewFacts {
                id: i1,
                completed: true,
                interviewer_ids: vec![a, b, d],
            },
            InterviewFacts {
                id: i2,
                completed: false,
                interviewer_ids: vec![c, d],
            },
        ];
        let r = build(CandidateId(Uuid::nil()), &interviews, &cards);
        let coding = &r.criteria[0];
        assert_eq!(
            (
                coding.key.as_str(),
                coding.name.as_str(),
                coding.n,
                coding.min,
                coding.max
            ),
            ("coding", "Coding", 3, 1, 4)
        );
        assert!(close(coding.mean, 8.0 / 3.0));
        assert!(close(coding.stddev, (42.0f64 / 27.0).sqrt()));
        let comms = &r.criteria[1];
        assert!(close(comms.mean, 8.0 / 3.0));
        assert!(close(comms.stddev, (6.0f64 / 27.0).sqrt()));
        assert_eq!((comms.min, comms.max), (2, 3));
        assert!(close(r.overall_score.unwrap(), 8.0 / 3.0));
        assert_eq!(
            r.recommendations,
            Tally {
                strong_no: 1,
                no: 0,
                yes: 1,
                strong_yes: 1
            }
        );
        assert_eq!(
            r.missing_scorecards,
            vec![Missing {
                interview_id: i1,
                interviewer_id: d
            }]
        );
        assert_eq!(r.disagreements, vec!["coding".to_owned()]);
        assert_eq!((r.interviews, r.scorecards), (2, 3));
    }

    #[test]
    fn scorecards_keep_the_weights_of_their_own_rubric_version() {
        let v1 = vec![crit("x", "X", 1.0), crit("y", "Y", 1.0)];
        let v2 = vec![crit("x", "X", 3.0), crit("y", "Y renamed", 1.0)];
        let r1 = ratings(&[("x", 4), ("y", 2)]);
        let cards = [
            Card {
                interview_id: InterviewId(Uuid::nil()),
                evaluator_id: UserId(Uuid::from_u128(1)),
                ratings: &r1,
                criteria: &v1,
                recommendation: Recommendation::Yes,
            },
            Card {
                interview_id: InterviewId(Uuid::nil()),
                evaluator_id: UserId(Uuid::from_u128(2)),
                ratings: &r1,
                criteria: &v2,
                recommendation: Recommendation::Yes,
            },
        ];
        let r = build(CandidateId(Uuid::nil()), &[], &cards);
        // v1: (4 + 2)/2 = 3; v2: (3·4 + 2)/4 = 3.5; mean 3.25.
        assert!(close(r.overall_score.unwrap(), 3.25));
        assert_eq!(r.criteria[1].name, "Y renamed");
        assert_eq!(r.criteria[1].stddev, 0.0);
        assert!(r.disagreements.is_empty());
    }

    #[test]
    fn an_empty_report_has_no_score() {
        let r = build(CandidateId(Uuid::nil()), &[], &[]);
        assert_eq!(r.overall_score, None);
        assert!(r.criteria.is_empty());
        assert!(to_csv(&r).contains("overall_score,,,,,,,,\r\n"));
    }

    #[test]
    fn csv_rows_carry_the_same_numbers() {
        let rubric = vec![crit("coding", "Coding, hands-on", 2.0)];
        let ra = ratings(&[("coding", 4)]);
        let rb = ratings(&[("coding", 1)]);
        let cards = [
            Card {
                interview_id: InterviewId(Uuid::nil()),
                evaluator_id: UserId(Uuid::from_u128(1)),
                ratings: &ra,
                criteria: &rubric,
                recommendation: Recommendation::Yes,
            },
            Card {
                interview_id: InterviewId(Uuid::nil()),
                evaluator_id: UserId(Uuid::from_u128(2)),
                ratings: &rb,
                criteria: &rubric,
                recommendation: Recommendation::No,
            },
        ];
        let csv = to_csv(&build(CandidateId(Uuid::nil()), &[], &cards));
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(lines[0], "kind,key,name,mean,stddev,min,max,n,value");
        assert_eq!(
            lines[1],
            "criterion,coding,\"Coding, hands-on\",2.5,1.5,1,4,2,"
        );
        assert_eq!(lines[2], "overall_score,,,,,,,,2.5");
        assert!(lines.contains(&"recommendation,yes,,,,,,,1"));
        assert!(lines.contains(&"disagreement,coding,,,,,,,"));
    }

    #[test]
    fn csv_text_cells_never_start_a_formula() {
        let names = [
            "=HYPERLINK(\"http://evil.example\",\"Click\")",
            "+1+1",
            "-2+3",
            "@SUM(A1:A2)",
            "\tTabbed",
            "\rReturn",
            "Plain, with comma",
        ];
        let rubric: Vec<_> = names
            .iter()
            .enumerate()
            .map(|(i, n)| crit(&format!("k{i}"), n, 1.0))
            .collect();
        let ra = ratings(&[
            ("k0", 1),
            ("k1", 2),
            ("k2", 3),
            ("k3", 4),
            ("k4", 1),
            ("k5", 2),
            ("k6", 3),
        ]);
        let cards = [Card {
            interview_id: InterviewId(Uuid::nil()),
            evaluator_id: UserId(Uuid::from_u128(1)),
            ratings: &ra,
            criteria: &rubric,
            recommendation: Recommendation::Yes,
        }];
        let csv = to_csv(&build(CandidateId(Uuid::nil()), &[], &cards));
        let mut reader = csv::ReaderBuilder::new().from_reader(csv.as_bytes());
        let cells: Vec<String> = reader
            .records()
            .map(|r| r.unwrap())
            .filter(|r| &r[0] == "criterion")
            .map(|r| r[2].to_owned())
            .collect();
        assert!(!cells.is_empty());
        for cell in &cells {
            assert!(
                !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
                "a live formula: {cell:?}"
            );
        }
        assert!(cells.contains(&"'=HYPERLINK(\"http://evil.example\",\"Click\")".to_owned()));
        assert!(cells.contains(&"Plain, with comma".to_owned()));
    }
}
