//! `time_of_day`: when an action is active.
//!
//! Netify documents the keys (`day`, `time_start`, `time_end`, `policy`) but not their exact
//! meaning, so flowsieve defines it (and the README repeats it):
//!
//! - A window covers the listed days (`mon` … `sun`, or `*` for every day) from `time_start`
//!   (inclusive) to `time_end` (exclusive), in the configuration's `timezone` (default: the
//!   system's local time). A window whose end is not after its start runs past midnight: it starts
//!   on a listed day and ends the next day (`22:00`–`06:00`). `00:00`–`00:00` is the whole day.
//! - `policy: "inclusive"` (the default) windows say when the action applies; `"exclusive"`
//!   windows say when it does not.
//! - The action applies when the time is inside some inclusive window (or there are none) and
//!   inside no exclusive window.
//!
//! Live, the time is the wall clock when a flow's facts change; in replay, the packet's time.

use std::time::SystemTime;

use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc, Weekday};
use chrono_tz::Tz;

/// One `time_of_day` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Window {
    /// Bit n set = weekday n (Monday = 0).
    days: u8,
    /// Minutes after midnight.
    start: u16,
    end: u16,
    pub inclusive: bool,
}

/// The zone `time_of_day` is read in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    Local,
    Named(Tz),
}

/// A whole `time_of_day` array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub windows: Vec<Window>,
    pub zone: Zone,
}

/// What is wrong with one window, for the configuration loader to place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WindowError {
    #[error("unknown day '{0}' (expected mon, tue, wed, thu, fri, sat, sun or *)")]
    Day(String),
    #[error("'{0}' is not a time of day HH:MM")]
    Time(String),
    #[error("unknown policy '{0}' (expected \"inclusive\" or \"exclusive\")")]
    Policy(String),
}

/// Parse `HH:MM` (24 h; `24:00` is accepted as the end of the day).
pub fn parse_time(text: &str) -> Result<u16, WindowError> {
    let bad = || WindowError::Time(text.to_string());
    let (h, m) = text.trim().split_once(':').ok_or_else(bad)?;
    let h: u16 = h.parse().map_err(|_| bad())?;
    let m: u16 = m.parse().map_err(|_| bad())?;
    if m > 59 || h > 24 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

/// Parse a day name: `mon`, `monday`, `Mon`… or `*`. Returns the day bit mask.
pub fn parse_day(text: &str) -> Result<u8, WindowError> {
    let t = text.trim().to_ascii_lowercase();
    if t == "*" || t == "all" {
        return Ok(0x7f);
    }
    let days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    days.iter()
        .position(|d| t.len() >= 3 && d.starts_with(&t[..3]) && (t.len() == 3 || full_name(d) == t))
        .map(|i| 1u8 << i)
        .ok_or_else(|| WindowError::Day(text.to_string()))
}

fn full_name(short: &str) -> &'static str {
    match short {
        "mon" => "monday",
        "tue" => "tuesday",
        "wed" => "wednesday",
        "thu" => "thursday",
        "fri" => "friday",
        "sat" => "saturday",
        _ => "sunday",
    }
}

impl Window {
    pub fn new(days: u8, start: u16, end: u16, policy: &str) -> Result<Window, WindowError> {
        let inclusive = match policy {
            "inclusive" => true,
            "exclusive" => false,
            other => return Err(WindowError::Policy(other.to_string())),
        };
        Ok(Window { days, start, end, inclusive })
    }

    /// Whether `weekday` (Monday = 0) at `minute` falls inside this window.
    fn covers(&self, weekday: u32, minute: u16) -> bool {
        let on = |day: u32| self.days & (1 << (day % 7)) != 0;
        if self.start < self.end {
            on(weekday) && minute >= self.start && minute < self.end
        } else {
            // Runs past midnight: the evening of a listed day, or the morning after one.
            (on(weekday) && minute >= self.start) || (on(weekday + 6) && minute < self.end)
        }
    }
}

impl Schedule {
    /// Whether the action applies at `at`.
    pub fn active(&self, at: SystemTime) -> bool {
        if self.windows.is_empty() {
            return true;
        }
        let utc: DateTime<Utc> = at.into();
        let (weekday, minute) = match self.zone {
            Zone::Local => local_parts(&utc.with_timezone(&chrono::Local)),
            Zone::Named(tz) => local_parts(&tz.from_utc_datetime(&utc.naive_utc())),
        };
        let mut inclusive_seen = false;
        let mut included = false;
        for w in &self.windows {
            let inside = w.covers(weekday, minute);
            if w.inclusive {
                inclusive_seen = true;
                included |= inside;
            } else if inside {
                return false;
            }
        }
        included || !inclusive_seen
    }
}

fn local_parts<T: TimeZone>(t: &DateTime<T>) -> (u32, u16) {
    let weekday = t.weekday().num_days_from_monday();
    debug_assert!(weekday < 7 && Weekday::Mon.num_days_from_monday() == 0);
    (weekday, (t.hour() * 60 + t.minute()) as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> SystemTime {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc).into()
    }

    fn window(days: &[&str], start: &str, end: &str, policy: &str) -> Window {
        let mask = days.iter().map(|d| parse_day(d).unwrap()).fold(0, |a, b| a | b);
        Window::new(mask, parse_time(start).unwrap(), parse_time(end).unwrap(), policy).unwrap()
    }

    fn utc(windows: Vec<Window>) -> Schedule {
        Schedule { windows, zone: Zone::Named(chrono_tz::UTC) }
    }

    #[test]
    fn inclusive_window_on_weekdays() {
        let s = utc(vec![window(&["mon", "tue", "wed", "thu", "fri"], "08:00", "17:30", "inclusive")]);
        // 2026-11-27 is a Friday.
        assert!(s.active(at("2026-11-27T08:00:00Z")), "start is inclusive");
        assert!(s.active(at("2026-11-27T17:29:59Z")));
        assert!(!s.active(at("2026-11-27T17:30:00Z")), "end is exclusive");
        assert!(!s.active(at("2026-11-27T07:59:00Z")));
        assert!(!s.active(at("2026-11-28T12:00:00Z")), "Saturday");
    }

    #[test]
    fn exclusive_windows_carve_out_and_alone_mean_all_other_times() {
        let s = utc(vec![window(&["*"], "12:00", "13:00", "exclusive")]);
        assert!(s.active(at("2026-11-27T11:59:00Z")));
        assert!(!s.active(at("2026-11-27T12:30:00Z")));
        let both =
            utc(vec![window(&["fri"], "08:00", "18:00", "inclusive"), window(&["fri"], "12:00", "13:00", "exclusive")]);
        assert!(both.active(at("2026-11-27T10:00:00Z")));
        assert!(!both.active(at("2026-11-27T12:15:00Z")));
        assert!(!both.active(at("2026-11-26T10:00:00Z")), "Thursday");
    }

    #[test]
    fn windows_past_midnight_belong_to_the_day_they_start() {
        let s = utc(vec![window(&["fri"], "22:00", "06:00", "inclusive")]);
        assert!(s.active(at("2026-11-27T23:00:00Z")), "Friday night");
        assert!(s.active(at("2026-11-28T05:59:00Z")), "Saturday morning after Friday");
        assert!(!s.active(at("2026-11-27T05:00:00Z")), "Friday morning follows Thursday");
        let whole_day = utc(vec![window(&["sun"], "00:00", "00:00", "inclusive")]);
        assert!(whole_day.active(at("2026-11-29T13:00:00Z")));
        assert!(!whole_day.active(at("2026-11-28T13:00:00Z")));
    }

    #[test]
    fn named_timezone_shifts_the_clock() {
        let s = Schedule {
            windows: vec![window(&["fri"], "09:00", "10:00", "inclusive")],
            zone: Zone::Named("Europe/Rome".parse().unwrap()),
        };
        // 08:30 UTC is 09:30 in Rome in November (CET, UTC+1).
        assert!(s.active(at("2026-11-27T08:30:00Z")));
        assert!(!s.active(at("2026-11-27T09:30:00Z")));
    }

    #[test]
    fn parse_errors_name_the_value() {
        assert_eq!(parse_day("funday"), Err(WindowError::Day("funday".into())));
        assert_eq!(parse_day("Monday"), Ok(1));
        assert_eq!(parse_time("25:00"), Err(WindowError::Time("25:00".into())));
        assert_eq!(parse_time("7:5"), Ok(7 * 60 + 5));
        assert!(Window::new(1, 0, 60, "sometimes").is_err());
    }
}
