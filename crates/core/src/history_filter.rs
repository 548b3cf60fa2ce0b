//! Release-history filters: who may see which releases ([`HistoryScope`]) and the checked form
//! of the filters a manager sends ([`HistoryQuery`]), with calendar days done by hand so the
//! rules stay pure and compile to wasm.

use crate::patch::WorkflowKind;
use crate::validate::{Checks, FieldError, Invalid};
use crate::workflow::{Outcome, Run};
use std::fmt;

/// Page size when the filter names none.
pub const DEFAULT_PAGE_SIZE: i64 = 50;
/// The largest page a caller may ask for; larger requests are clamped to it.
pub const MAX_PAGE_SIZE: i64 = 500;

/// Whose releases a caller may see. The service picks it from the user, never from the request,
/// so a customer user's filters can only narrow their own releases.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HistoryScope {
    /// Support and managers: every release.
    Everything,
    /// A customer user: only the releases of this customer's sites.
    Customer(i64),
}

/// The outcomes a history filter can ask for: how a run ended ([`Outcome`], the one
/// definition cards, table, charts and export share), or not yet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeFilter {
    Ended(Outcome),
    /// No outcome yet (including a completed release whose rollback is under way).
    Running,
}

impl OutcomeFilter {
    pub const ALL: [OutcomeFilter; 5] = [
        OutcomeFilter::Ended(Outcome::Completed),
        OutcomeFilter::Ended(Outcome::Failed),
        OutcomeFilter::Ended(Outcome::Rejected),
        OutcomeFilter::Ended(Outcome::RolledBack),
        OutcomeFilter::Running,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ended(outcome) => outcome.as_str(),
            Self::Running => "running",
        }
    }
}

/// A calendar day (proleptic Gregorian, UTC), as `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Day {
    year: i32,
    month: u32,
    day: u32,
}

impl Day {
    /// Parses exactly `YYYY-MM-DD` naming a day that exists (no 2026-02-30).
    pub fn parse(text: &str) -> Option<Day> {
        let bytes = text.as_bytes();
        let shaped = bytes.len() == 10
            && bytes[4] == b'-'
            && bytes[7] == b'-'
            && bytes.iter().enumerate().all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
        if !shaped {
            return None;
        }
        let year: i32 = text[0..4].parse().ok()?;
        let month: u32 = text[5..7].parse().ok()?;
        let day: u32 = text[8..10].parse().ok()?;
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Day { year, month, day })
    }

    /// The day `days` after this one (before, when negative).
    pub fn plus_days(self, days: i64) -> Day {
        Day::from_epoch_days(self.epoch_days() + days)
    }

    /// The Monday that starts this day's ISO week.
    pub fn monday(self) -> Day {
        // 1970-01-01 was a Thursday: three days after a Monday.
        self.plus_days(-(self.epoch_days() + 3).rem_euclid(7))
    }

    /// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
    fn epoch_days(self) -> i64 {
        let year = i64::from(self.year) - i64::from(self.month <= 2);
        let era = year.div_euclid(400);
        let year_of_era = year - era * 400;
        let month = i64::from(self.month);
        let day_of_year = (153 * (month + if month > 2 { -3 } else { 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
        era * 146_097 + day_of_era - 719_468
    }

    fn from_epoch_days(days: i64) -> Day {
        let days = days + 719_468;
        let era = days.div_euclid(146_097);
        let day_of_era = days - era * 146_097;
        let year_of_era = (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
        let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
        let shifted_month = (5 * day_of_year + 2) / 153;
        let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
        let month = if shifted_month < 10 { shifted_month + 3 } else { shifted_month - 9 } as u32;
        let year = (year_of_era + era * 400 + i64::from(month <= 2)) as i32;
        Day { year, month, day }
    }
}

impl fmt::Display for Day {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => 31,
    }
}

/// A history filter as it arrives (query-string values), before its rules are checked.
/// Blank text counts as absent, so a form's "any" choice can send an empty value.
#[derive(Debug, Clone, Copy, Default)]
pub struct HistoryFilterInput<'a> {
    pub site_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub workflow: Option<&'a str>,
    pub outcome: Option<&'a str>,
    pub run: Option<&'a str>,
    pub from: Option<&'a str>,
    pub to: Option<&'a str>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// A history filter whose every rule holds: known names, real days in order, a page size
/// within 1..=[`MAX_PAGE_SIZE`] and an offset of 0 or more.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryQuery {
    pub site_id: Option<i64>,
    pub customer_id: Option<i64>,
    pub workflow: Option<WorkflowKind>,
    pub outcome: Option<OutcomeFilter>,
    pub run: Option<Run>,
    /// First day included.
    pub from: Option<Day>,
    /// Last day included.
    pub to: Option<Day>,
    pub limit: i64,
    pub offset: i64,
}

impl HistoryQuery {
    /// Checks every field and reports all that are wrong at once, each message saying what to
    /// send instead. The page size is clamped rather than refused: asking for too much is not
    /// a mistake worth an error.
    pub fn parse(input: &HistoryFilterInput<'_>) -> Result<HistoryQuery, Invalid> {
        let mut checks = Checks::default();
        let workflow =
            checks.check(given(input.workflow).map(|w| w.parse::<WorkflowKind>().map_err(|m| FieldError::new("workflow", m))).transpose());
        let outcome = checks.check(given(input.outcome).map(parse_outcome).transpose());
        let run = checks.check(given(input.run).map(parse_run).transpose());
        let from = checks.check(given(input.from).map(|text| parse_day("from", text)).transpose());
        let to = checks.check(given(input.to).map(|text| parse_day("to", text)).transpose());
        if let (Some(Some(from)), Some(Some(to))) = (from, to) {
            if from > to {
                checks.check::<()>(Err(FieldError::new(
                    "to",
                    format!("to {to} is before from {from}; send a to on or after from, or swap them"),
                )));
            }
        }
        let offset = input.offset.unwrap_or(0);
        if offset < 0 {
            checks.check::<()>(Err(FieldError::new("offset", format!("offset must be 0 or more, got {offset}"))));
        }
        let limit = input.limit.unwrap_or(DEFAULT_PAGE_SIZE).clamp(1, MAX_PAGE_SIZE);
        checks.finish(|| HistoryQuery {
            site_id: input.site_id,
            customer_id: input.customer_id,
            workflow: workflow.flatten(),
            outcome: outcome.flatten(),
            run: run.flatten(),
            from: from.flatten(),
            to: to.flatten(),
            limit,
            offset,
        })
    }
}

/// The run's name as the store and the API spell it.
pub fn run_name(run: Run) -> &'static str {
    match run {
        Run::Rehearsal => "rehearsal",
        Run::Production => "production",
    }
}

fn given(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

fn parse_outcome(text: &str) -> Result<OutcomeFilter, FieldError> {
    OutcomeFilter::ALL.into_iter().find(|o| o.as_str() == text).ok_or_else(|| {
        FieldError::new("outcome", format!("unknown outcome {text:?}; use completed, failed, rejected, rolled-back or running"))
    })
}

fn parse_run(text: &str) -> Result<Run, FieldError> {
    [Run::Rehearsal, Run::Production]
        .into_iter()
        .find(|r| run_name(*r) == text)
        .ok_or_else(|| FieldError::new("run", format!("unknown run {text:?}; use rehearsal or production")))
}

fn parse_day(field: &str, text: &str) -> Result<Day, FieldError> {
    Day::parse(text).ok_or_else(|| FieldError::new(field, format!("{field} must be a date YYYY-MM-DD, got {text:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> Day {
        Day::parse(text).unwrap()
    }

    #[test]
    fn days_parse_strictly_and_count_across_months_years_and_leap_days() {
        for bad in ["yesterday", "2026-2-01", "2026-02-30", "2025-02-29", "2026-13-01", "2026-00-10", "2026-01-01T00:00", "+026-01-01"] {
            assert_eq!(Day::parse(bad), None, "{bad}");
        }
        assert_eq!(day("2024-02-29").to_string(), "2024-02-29");
        assert_eq!(day("2024-02-28").plus_days(1).to_string(), "2024-02-29");
        assert_eq!(day("2026-12-31").plus_days(1).to_string(), "2027-01-01");
        assert_eq!(day("2027-01-01").plus_days(-1).to_string(), "2026-12-31");
        assert_eq!(day("2000-03-01").plus_days(-1).to_string(), "2000-02-29");
        assert_eq!(day("1970-01-01").plus_days(-1).to_string(), "1969-12-31");
    }

    #[test]
    fn a_week_starts_on_its_monday_even_across_a_year_boundary() {
        assert_eq!(day("2026-11-25").monday().to_string(), "2026-11-23");
        assert_eq!(day("2026-11-23").monday().to_string(), "2026-11-23");
        assert_eq!(day("2026-11-29").monday().to_string(), "2026-11-23");
        // 2027-01-01 is a Friday; its ISO week (2026-W53) began in December.
        assert_eq!(day("2027-01-01").monday().to_string(), "2026-12-28");
        assert_eq!(day("1970-01-01").monday().to_string(), "1969-12-29");
    }

    #[test]
    fn every_broken_rule_is_reported_with_what_to_send_instead() {
        let input = HistoryFilterInput {
            workflow: Some("big-bang"),
            outcome: Some("done"),
            run: Some("dry"),
            from: Some("yesterday"),
            to: Some("2026-02-30"),
            offset: Some(-5),
            ..Default::default()
        };
        let invalid = HistoryQuery::parse(&input).unwrap_err();
        assert_eq!(invalid.message_for("from"), Some("from must be a date YYYY-MM-DD, got \"yesterday\""));
        assert_eq!(invalid.message_for("to"), Some("to must be a date YYYY-MM-DD, got \"2026-02-30\""));
        assert_eq!(
            invalid.message_for("outcome"),
            Some("unknown outcome \"done\"; use completed, failed, rejected, rolled-back or running")
        );
        assert_eq!(invalid.message_for("run"), Some("unknown run \"dry\"; use rehearsal or production"));
        assert!(invalid.message_for("workflow").unwrap().contains("use no-migration, migration"), "{invalid}");
        assert_eq!(invalid.message_for("offset"), Some("offset must be 0 or more, got -5"));
        let reversed = HistoryFilterInput { from: Some("2026-03-01"), to: Some("2026-02-01"), ..Default::default() };
        let invalid = HistoryQuery::parse(&reversed).unwrap_err();
        assert_eq!(invalid.message_for("to"), Some("to 2026-02-01 is before from 2026-03-01; send a to on or after from, or swap them"));
    }

    #[test]
    fn blanks_are_absent_and_the_page_size_is_clamped() {
        let query = HistoryQuery::parse(&HistoryFilterInput { workflow: Some(" "), outcome: Some(""), ..Default::default() }).unwrap();
        assert_eq!((query.workflow, query.outcome, query.limit, query.offset), (None, None, DEFAULT_PAGE_SIZE, 0));
        let big = HistoryQuery::parse(&HistoryFilterInput { limit: Some(10_000), ..Default::default() }).unwrap();
        assert_eq!(big.limit, MAX_PAGE_SIZE);
        let zero = HistoryQuery::parse(&HistoryFilterInput { limit: Some(0), ..Default::default() }).unwrap();
        assert_eq!(zero.limit, 1);
        let full = HistoryFilterInput {
            workflow: Some("blue-green"),
            outcome: Some("rolled-back"),
            run: Some("production"),
            from: Some("2026-01-01"),
            to: Some("2026-01-01"),
            ..Default::default()
        };
        let query = HistoryQuery::parse(&full).unwrap();
        assert_eq!(query.workflow, Some(WorkflowKind::BlueGreen));
        assert_eq!(query.outcome, Some(OutcomeFilter::Ended(Outcome::RolledBack)));
        assert_eq!(query.run, Some(Run::Production));
        assert_eq!(query.from, query.to);
    }
}
