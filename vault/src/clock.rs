//! Time as the vault counts it: Unix milliseconds in the database, RFC 3339
//! in answers, ISO dates (`YYYY-MM-DD`) for validity and lifecycle dates.
//!
//! A leaf: every floor may read the time, so it lives below all of them
//! (it used to sit in `db`, which made the metrics registry depend on the
//! database layer).

use std::time::SystemTime;

use time::{Date, OffsetDateTime, macros::format_description};

/// Now, in Unix milliseconds.
pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// The start of today (UTC), in Unix milliseconds: the day the journal's
/// once-a-day traces count in.
pub fn start_of_day_ms() -> i64 {
    let now = now_ms();
    now - now.rem_euclid(86_400_000)
}

/// Now, in Unix seconds.
pub fn now_s() -> i64 {
    now_ms() / 1000
}

/// Today's date (UTC).
pub fn today() -> Date {
    OffsetDateTime::now_utc().date()
}

/// Unix seconds as an RFC 3339 time, for API answers.
pub fn rfc3339(unix_s: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix_s)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_default()
}

/// A date as `YYYY-MM-DD`.
/// The same day one month later (the last day of that month when it is
/// shorter: 31 January → 28 or 29 February).
pub fn one_month_after(d: Date) -> Date {
    let (year, month) = if d.month() == time::Month::December {
        (d.year() + 1, time::Month::January)
    } else {
        (d.year(), d.month().next())
    };
    let last = time::util::days_in_month(month, year);
    Date::from_calendar_date(year, month, d.day().min(last)).unwrap_or(d)
}

pub fn iso_date(d: Date) -> String {
    d.format(format_description!("[year]-[month]-[day]")).unwrap_or_default()
}

/// Reads a `YYYY-MM-DD` date.
pub fn parse_iso_date(s: &str) -> Result<Date, time::error::Parse> {
    Date::parse(s, format_description!("[year]-[month]-[day]"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_later_is_the_same_day_or_the_month_s_last() {
        let d = |y, m, day| Date::from_calendar_date(y, m, day).unwrap();
        use time::Month::{December, February, January, March};
        assert_eq!(one_month_after(d(2026, January, 15)), d(2026, February, 15));
        assert_eq!(one_month_after(d(2026, January, 31)), d(2026, February, 28));
        assert_eq!(one_month_after(d(2028, January, 31)), d(2028, February, 29));
        assert_eq!(one_month_after(d(2026, December, 20)), d(2027, January, 20));
        assert_eq!(one_month_after(d(2026, February, 28)), d(2026, March, 28));
    }

    #[test]
    fn dates_round_trip_and_times_format() {
        let d = parse_iso_date("2026-12-01").unwrap();
        assert_eq!(iso_date(d), "2026-12-01");
        assert!(parse_iso_date("2026-13-01").is_err());
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
    }
}
