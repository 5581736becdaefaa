//! The seed's time: its span back from now, and where in it rows fall (more in working
//! hours than at night or at weekends).

use time::{Date, OffsetDateTime};

/// `t` moved back `months` calendar months (the day clamped to the month's length).
pub(super) fn months_back(t: OffsetDateTime, months: u32) -> anyhow::Result<OffsetDateTime> {
    let index = t.year() * 12 + i32::from(u8::from(t.month())) - 1 - i32::try_from(months)?;
    let year = index.div_euclid(12);
    let month = time::Month::try_from(u8::try_from(index.rem_euclid(12) + 1)?)?;
    let day = t.day().min(month.length(year));
    Ok(t.replace_date(Date::from_calendar_date(year, month, day)?))
}

/// Microseconds since the epoch.
pub(super) fn micros(t: OffsetDateTime) -> anyhow::Result<i64> {
    Ok(i64::try_from(t.unix_timestamp_nanos() / 1_000)?)
}

/// The time `us` microseconds after the epoch.
pub(super) fn at_micros(us: i64) -> anyhow::Result<OffsetDateTime> {
    Ok(OffsetDateTime::from_unix_timestamp_nanos(
        i128::from(us) * 1_000,
    )?)
}

const HOUR: i64 = 3_600_000_000;

/// The seed's span in hours (UTC clock hours; the first and last may be partial), each
/// weighted by how busy such an hour is (working hours on weekdays the most, nights and
/// weekends the least), so that rows spread over it like real traffic. A position is a
/// point on the cumulative weight: spreading rows evenly over positions spreads them over
/// time by the weights.
pub(super) struct Clock {
    pub(super) start: i64,
    pub(super) end: i64,
    /// The start of the clock hour `start` falls in.
    base: i64,
    weights: Vec<u64>,
    /// The cumulative weight at the end of each hour.
    cumulative: Vec<u128>,
}

impl Clock {
    pub(super) fn new(start: i64, end: i64) -> anyhow::Result<Self> {
        anyhow::ensure!(start < end, "the seed's span is empty");
        let base = start.div_euclid(HOUR) * HOUR;
        let mut weights = Vec::new();
        let mut cumulative = Vec::new();
        let mut total = 0_u128;
        let mut hour = base;
        while hour < end {
            let weight = busy(at_micros(hour)?);
            let length = (hour + HOUR).min(end) - hour.max(start);
            total += u128::from(weight) * u128::try_from(length)?;
            weights.push(weight);
            cumulative.push(total);
            hour += HOUR;
        }
        Ok(Self {
            start,
            end,
            base,
            weights,
            cumulative,
        })
    }

    pub(super) fn total(&self) -> u128 {
        self.cumulative.last().copied().unwrap_or(0)
    }

    /// Where hour `index` starts within the span.
    fn hour_start(&self, index: usize) -> i64 {
        i64::try_from(index)
            .map(|i| (self.base + i * HOUR).max(self.start))
            .unwrap_or(self.end)
    }

    /// The cumulative weight before hour `index`.
    fn before(&self, index: usize) -> u128 {
        index
            .checked_sub(1)
            .and_then(|h| self.cumulative.get(h))
            .copied()
            .unwrap_or(0)
    }

    /// The position of time `t` (clamped to the span).
    pub(super) fn position(&self, t: i64) -> u128 {
        let t = t.clamp(self.start, self.end);
        let index = usize::try_from((t - self.base) / HOUR).unwrap_or(usize::MAX);
        match self.weights.get(index) {
            Some(&weight) => {
                let into = u128::try_from(t - self.hour_start(index)).unwrap_or(0);
                self.before(index) + u128::from(weight) * into
            }
            None => self.total(),
        }
    }

    /// The time at position `p`: the inverse of [`Self::position`], in whole microseconds.
    pub(super) fn time_at(&self, p: u128) -> i64 {
        let index = self.cumulative.partition_point(|&c| c <= p);
        let Some(&weight) = self.weights.get(index) else {
            return self.end - 1;
        };
        let into = (p - self.before(index)) / u128::from(weight.max(1));
        let into = i64::try_from(into).unwrap_or(HOUR);
        (self.hour_start(index) + into).min(self.end - 1)
    }
}

/// How busy an hour starting at `t` is, relatively.
fn busy(t: OffsetDateTime) -> u64 {
    let weekday = match t.hour() {
        9..=16 => 100,
        7..=8 | 17..=19 => 40,
        _ => 6,
    };
    match t.weekday() {
        time::Weekday::Saturday | time::Weekday::Sunday => weekday / 5 + 1,
        time::Weekday::Monday
        | time::Weekday::Tuesday
        | time::Weekday::Wednesday
        | time::Weekday::Thursday
        | time::Weekday::Friday => weekday,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_maps_positions_to_times_in_order_and_back() {
        let start = 1_700_000_000_000_000;
        let clock = Clock::new(start, start + 30 * 24 * HOUR + 1_234).unwrap();
        let mut last = clock.start;
        for i in 0..=1_000_u128 {
            let t = clock.time_at(clock.total() * i / 1_000);
            assert!(t >= last && t < clock.end, "{t} after {last}");
            last = t;
        }
        for t in [start, start + 5 * HOUR + 17, start + 29 * 24 * HOUR + 3] {
            assert_eq!(clock.time_at(clock.position(t)), t);
        }
        // Working hours are busier than nights: more of the positions fall in them.
        let day = 24 * HOUR;
        let hour_of = |t: i64| (t.rem_euclid(day)) / HOUR;
        let mut working = 0;
        for i in 0..10_000_u128 {
            if (9..17).contains(&hour_of(clock.time_at(clock.total() * i / 10_000))) {
                working += 1;
            }
        }
        assert!(working > 5_000, "{working} of 10000 in working hours");
    }

    #[test]
    fn months_back_keeps_the_day_where_the_month_has_it() {
        let t = time::macros::datetime!(2026-03-31 12:00 UTC);
        assert_eq!(
            months_back(t, 1).unwrap(),
            time::macros::datetime!(2026-02-28 12:00 UTC)
        );
        assert_eq!(
            months_back(t, 24).unwrap(),
            time::macros::datetime!(2024-03-31 12:00 UTC)
        );
        assert_eq!(
            months_back(t, 3).unwrap(),
            time::macros::datetime!(2025-12-31 12:00 UTC)
        );
    }
}
