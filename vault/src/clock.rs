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

/// The same day one year later (29 February → 1 March): a demand's
/// validity (CCH R.441-2-7) and the year before a purge (décret 2017-917).
pub fn one_year_after(d: Date) -> Date {
    d.replace_year(d.year() + 1).or_else(|_| Date::from_calendar_date(d.year() + 1, time::Month::March, 1)).unwrap_or(d)
}

pub fn iso_date(d: Date) -> String {
    d.format(format_description!("[year]-[month]-[day]")).unwrap_or_default()
}

/// Reads a `YYYY-MM-DD` date.
/// A date as French readers write it: `01/12/2026`.
pub fn fr_date(d: Date) -> String {
    format!("{:02}/{:02}/{}", d.day(), u8::from(d.month()), d.year())
}

pub fn parse_iso_date(s: &str) -> Result<Date, time::error::Parse> {
    Date::parse(s, format_description!("[year]-[month]-[day]"))
}

/// The time zone the daily pass keeps: metropolitan France (EU summer
/// time rules) or a territory of overseas France, none of which changes
/// its clocks. A closed list rather than the tz database: these are the
/// zones where a shared file of social housing demands runs, and their
/// rules fit in a few lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// Europe/Paris: UTC+1, UTC+2 from the last Sunday of March to the
    /// last Sunday of October, changing at 01:00 UTC.
    Paris,
    /// A zone at a fixed offset from UTC, in hours.
    Fixed { name: &'static str, hours: i8 },
}

const FIXED_ZONES: [(&str, i8); 6] = [
    ("UTC", 0),
    ("America/Guadeloupe", -4),
    ("America/Martinique", -4),
    ("America/Cayenne", -3),
    ("Indian/Reunion", 4),
    ("Indian/Mayotte", 3),
];

impl Zone {
    pub fn parse(name: &str) -> Result<Self, String> {
        if name == "Europe/Paris" {
            return Ok(Self::Paris);
        }
        FIXED_ZONES.iter().find(|(n, _)| *n == name).map(|&(name, hours)| Self::Fixed { name, hours }).ok_or_else(
            || {
                let known: Vec<&str> =
                    std::iter::once("Europe/Paris").chain(FIXED_ZONES.iter().map(|(n, _)| *n)).collect();
                format!("{name:?} is not a known time zone ({})", known.join(", "))
            },
        )
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Paris => "Europe/Paris",
            Self::Fixed { name, .. } => name,
        }
    }

    /// The zone's offset at an instant.
    pub fn offset_at(self, at: OffsetDateTime) -> time::UtcOffset {
        let hours = match self {
            Self::Fixed { hours, .. } => hours,
            Self::Paris => {
                let utc = at.to_offset(time::UtcOffset::UTC);
                let year = utc.year();
                let change = |month| last_sunday(year, month).with_hms(1, 0, 0).map(|t| t.assume_utc()).unwrap_or(utc);
                if utc >= change(time::Month::March) && utc < change(time::Month::October) { 2 } else { 1 }
            }
        };
        time::UtcOffset::from_hms(hours, 0, 0).unwrap_or(time::UtcOffset::UTC)
    }

    /// The local date and time at an instant.
    pub fn local(self, at: OffsetDateTime) -> OffsetDateTime {
        at.to_offset(self.offset_at(at))
    }
}

fn last_sunday(year: i32, month: time::Month) -> Date {
    let last = time::util::days_in_month(month, year);
    let d = Date::from_calendar_date(year, month, last).unwrap_or(Date::MIN);
    d - time::Duration::days(i64::from(d.weekday().number_days_from_sunday()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paris_keeps_summer_time_from_march_to_october() {
        use time::macros::datetime;
        let paris = Zone::parse("Europe/Paris").unwrap();
        let hour = |t: OffsetDateTime| paris.offset_at(t).whole_hours();
        // 2027: summer time from 28 March to 31 October, at 01:00 UTC.
        assert_eq!(hour(datetime!(2027-03-28 00:59 UTC)), 1);
        assert_eq!(hour(datetime!(2027-03-28 01:00 UTC)), 2);
        assert_eq!(hour(datetime!(2027-10-31 00:59 UTC)), 2);
        assert_eq!(hour(datetime!(2027-10-31 01:00 UTC)), 1);
        assert_eq!(hour(datetime!(2026-12-03 12:00 UTC)), 1);
        // 23:30 UTC on 2 July is already 3 July in Paris.
        assert_eq!(paris.local(datetime!(2027-07-02 23:30 UTC)).date(), time::macros::date!(2027 - 07 - 03));
        let reunion = Zone::parse("Indian/Reunion").unwrap();
        assert_eq!(reunion.offset_at(datetime!(2027-07-02 23:30 UTC)).whole_hours(), 4);
        assert!(Zone::parse("Europe/London").unwrap_err().contains("Europe/Paris"));
    }

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
