//! What the seeded rows say: the companies and their users, the platform's actions in
//! their real shares, and each action's event as its service sends it (resources and
//! details that refer back to earlier ones: a user's session, a company's candidates and
//! interviews), without the personal data real events may carry.

use super::SeedOptions;
use super::clock::at_micros;
use events::Event;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde_json::json;
use std::collections::VecDeque;
use uuid::Uuid;

/// The actions seeded, their sources and their share in ten thousand rows.
pub(super) const ACTIONS: [(&str, &str, u64); 17] = [
    ("LOGIN", "auth", 5_500),
    ("TOKEN_REFRESHED", "auth", 2_000),
    ("LOGOUT", "auth", 600),
    ("LOGIN_FAILED", "auth", 520),
    ("INTERVIEW_SCHEDULED", "interview", 300),
    ("CANDIDATE_CREATED", "interview", 250),
    ("SCORECARD_SUBMITTED", "scoring", 200),
    ("INTERVIEW_COMPLETED", "interview", 180),
    ("CANDIDATE_UPDATED", "interview", 150),
    ("INTERVIEW_UPDATED", "interview", 80),
    ("USER_UPDATED", "auth", 80),
    ("MFA_FAILED", "auth", 40),
    ("PASSWORD_CHANGED", "auth", 40),
    ("PERMISSION_CHANGED", "auth", 25),
    ("USER_CREATED", "auth", 20),
    ("ACCOUNT_LOCKED", "auth", 10),
    ("TOKEN_REUSE_DETECTED", "auth", 5),
];

/// Candidates and interviews a company's later events refer back to.
const RECENT: usize = 256;

/// Picks an index with probability proportional to its weight.
pub(super) struct Weighted(Vec<u64>);

impl Weighted {
    pub(super) fn new(weights: impl IntoIterator<Item = u64>) -> Self {
        let mut total = 0;
        Self(
            weights
                .into_iter()
                .map(|w| {
                    total += w;
                    total
                })
                .collect(),
        )
    }

    pub(super) fn pick(&self, rng: &mut SmallRng) -> usize {
        let total = self.0.last().copied().unwrap_or(0);
        if total == 0 {
            return 0;
        }
        let r = rng.random_range(0..total);
        self.0.partition_point(|&c| c <= r)
    }
}

/// A company being seeded: its people and what its events refer to, and its chain.
pub(super) struct Company {
    pub(super) id: Uuid,
    /// The first few are its admins.
    users: Vec<Uuid>,
    admins: usize,
    /// Each user's current session.
    sessions: Vec<Option<Uuid>>,
    candidates: VecDeque<Uuid>,
    /// (interview, candidate)
    interviews: VecDeque<(Uuid, Uuid)>,
    pub(super) seq: i64,
    pub(super) hash: String,
    pub(super) rows: u64,
    /// No row before this (its chain's last row): where its times start.
    pub(super) not_before: i64,
    /// [`Self::not_before`]'s position on the clock.
    pub(super) from: u128,
}

fn random_uuid(rng: &mut SmallRng) -> Uuid {
    uuid::Builder::from_random_bytes(rng.random()).into_uuid()
}

/// A UUIDv7 of time `at` (microseconds).
fn uuid_at(rng: &mut SmallRng, at: i64) -> Uuid {
    let millis = u64::try_from(at / 1_000).unwrap_or(0);
    uuid::Builder::from_unix_timestamp_millis(millis, &rng.random()).into_uuid()
}

/// The companies of `opts.seed`, in the order of their ids (the writer's locking order).
pub(super) fn companies(opts: &SeedOptions) -> Vec<Company> {
    let mut rng = SmallRng::seed_from_u64(opts.seed);
    let users = usize::try_from(opts.users_per_company).unwrap_or(usize::MAX);
    let mut companies: Vec<Company> = (0..opts.companies)
        .map(|_| Company {
            id: random_uuid(&mut rng),
            users: (0..users).map(|_| random_uuid(&mut rng)).collect(),
            admins: (users / 25).max(1),
            sessions: vec![None; users],
            candidates: VecDeque::with_capacity(RECENT),
            interviews: VecDeque::with_capacity(RECENT),
            seq: 0,
            hash: String::new(),
            rows: 0,
            not_before: 0,
            from: 0,
        })
        .collect();
    companies.sort_by_key(|c| c.id);
    companies
}

/// The event `action` of `company` at `at` (microseconds) as its service would send it,
/// without the personal data (emails, addresses, user agents) real ones may carry.
pub(super) fn event(
    rng: &mut SmallRng,
    company: &mut Company,
    action: &str,
    source: &str,
    at: i64,
) -> anyhow::Result<Event> {
    let time = at_micros(at)?;
    let n = company.users.len();
    // Some users are far busier than others.
    let who = (rng.random_range(0..n) * rng.random_range(0..n)) / n.max(1);
    let user = company.users.get(who).copied().unwrap_or_default();
    let admin = company
        .users
        .get(rng.random_range(0..company.admins))
        .copied()
        .unwrap_or_default();
    let other = company
        .users
        .get(rng.random_range(0..n))
        .copied()
        .unwrap_or_default();
    let mut e = Event::untyped(source, action);
    e.id = uuid_at(rng, at);
    e.time = time;
    e.company_id = Some(company.id);
    e.actor_user_id = Some(user);
    e.traceparent = Some(format!(
        "00-{:032x}-{:016x}-01",
        rng.random::<u128>(),
        rng.random::<u64>()
    ));
    let session = company.sessions.get_mut(who);
    e = match action {
        "LOGIN" => {
            let s = uuid_at(rng, at);
            if let Some(slot) = session {
                *slot = Some(s);
            }
            e.resource("user", user)
                .details(json!({"session_id": s, "mfa": who.is_multiple_of(3)}))
        }
        "TOKEN_REFRESHED" | "TOKEN_REUSE_DETECTED" => {
            let s = match session {
                Some(Some(s)) => *s,
                Some(slot) => *slot.insert(uuid_at(rng, at)),
                None => uuid_at(rng, at),
            };
            let e = e.resource("session", s);
            if action == "TOKEN_REFRESHED" {
                e
            } else {
                e.details(json!({"token_id": uuid_at(rng, at), "family_revoked": true}))
            }
        }
        "LOGOUT" => {
            let s = match session.and_then(Option::take) {
                Some(s) => s,
                None => uuid_at(rng, at),
            };
            e.resource("user", user).details(json!({"session_id": s}))
        }
        "LOGIN_FAILED" => {
            let details = if rng.random_bool(0.15) {
                // A minute's repeats from one address, gathered.
                json!({"reason": "wrong_password", "attempts": rng.random_range(2..=8), "repeats_within_minute": true})
            } else {
                json!({"reason": "wrong_password", "attempts": 1})
            };
            e.resource("user", user).details(details)
        }
        "ACCOUNT_LOCKED" => {
            e.actor_user_id = None;
            e.resource("user", user)
                .details(json!({"failed_attempts": 5, "locked_minutes": 30}))
        }
        "MFA_FAILED" => e
            .resource("user", user)
            .details(json!({"reason": "invalid_code"})),
        "PASSWORD_CHANGED" => e.resource("user", user).details(json!({
            "by": "user",
            "sessions_ended": rng.random_range(0..3),
            "was_required": false,
        })),
        "USER_UPDATED" => {
            let details = if rng.random_bool(0.3) {
                let role = ["manager", "agent", "viewer"][rng.random_range(0..3)];
                json!({"role": role, "password_changed": false})
            } else {
                let department =
                    ["Sales", "Engineering", "Support", "Recruiting"][rng.random_range(0..4)];
                json!({"department": department, "password_changed": false})
            };
            e.actor_user_id = Some(admin);
            e.resource("user", other).details(details)
        }
        "PERMISSION_CHANGED" => {
            let page = ["dashboard", "interviews", "candidates", "calls", "settings"]
                [rng.random_range(0..5)];
            e.actor_user_id = Some(admin);
            e.resource("user", other)
                .details(json!({"pages": {page: rng.random_bool(0.5)}}))
        }
        "USER_CREATED" => {
            e.actor_user_id = Some(admin);
            let role = ["agent", "viewer", "manager"][rng.random_range(0..3)];
            e.resource("user", uuid_at(rng, at))
                .details(json!({"role": role}))
        }
        "CANDIDATE_CREATED" => {
            let candidate = uuid_at(rng, at);
            remember(&mut company.candidates, candidate);
            e.resource("candidate", candidate)
                .details(json!({"status": "new"}))
        }
        "CANDIDATE_UPDATED" => {
            let candidate = recent(rng, &company.candidates).unwrap_or_else(|| uuid_at(rng, at));
            let status =
                ["screening", "interviewing", "offer", "hired", "rejected"][rng.random_range(0..5)];
            e.resource("candidate", candidate)
                .details(json!({"status": status}))
        }
        "INTERVIEW_SCHEDULED" | "INTERVIEW_UPDATED" | "INTERVIEW_COMPLETED" => {
            let (interview, candidate) = match recent(rng, &company.interviews) {
                Some(pair) if action != "INTERVIEW_SCHEDULED" => pair,
                _ => {
                    let candidate =
                        recent(rng, &company.candidates).unwrap_or_else(|| uuid_at(rng, at));
                    let pair = (uuid_at(rng, at), candidate);
                    remember(&mut company.interviews, pair);
                    pair
                }
            };
            let scheduled = time + time::Duration::hours(rng.random_range(24..24 * 14));
            let mut interviewers = vec![user];
            if rng.random_bool(0.4) {
                interviewers.push(other);
            }
            let minutes = [30, 45, 60][rng.random_range(0..3)];
            e.resource("interview", interview).details(json!({
                "candidate_id": candidate,
                "interviewer_ids": interviewers,
                "scheduled_at": scheduled.format(&time::format_description::well_known::Rfc3339)?,
                "duration_minutes": minutes,
            }))
        }
        "SCORECARD_SUBMITTED" => {
            let interview = recent(rng, &company.interviews)
                .map(|(i, _)| i)
                .unwrap_or_else(|| uuid_at(rng, at));
            let recommendation = ["strong_no", "no", "yes", "strong_yes"][rng.random_range(0..4)];
            e.resource("scorecard", uuid_at(rng, at)).details(json!({
                "interview_id": interview,
                "recommendation": recommendation,
                "revision": 1,
            }))
        }
        unknown => anyhow::bail!("no seed for action {unknown}"),
    };
    Ok(e)
}

fn remember<T>(recent: &mut VecDeque<T>, item: T) {
    if recent.len() == RECENT {
        recent.pop_front();
    }
    recent.push_back(item);
}

fn recent<T: Copy>(rng: &mut SmallRng, items: &VecDeque<T>) -> Option<T> {
    if items.is_empty() {
        return None;
    }
    items.get(rng.random_range(0..items.len())).copied()
}
