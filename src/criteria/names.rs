//! Names and IDs that criteria take from tables outside the expression: applications (the
//! loaded catalogue, which the criteria compiler does not see), protocols (Netify's table) and
//! categories. Unknown ones are warnings with the closest known spelling ("did you mean"):
//! Netify accepts them too, and they are then never equal to anything.

use super::plan::Test;
use super::Criteria;

/// An application as a criteria names it: `app == 'netify.youtube'` or `app_id == 124`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AppRef<'a> {
    /// The tag as written, lower-cased (full `netify.x` or short `x`).
    Tag(&'a str),
    Id(u64),
}

impl Criteria {
    /// Every application the deciding statement names with `==`/`!=`, with its 1-based column.
    pub fn application_refs(&self) -> Vec<(usize, AppRef<'_>)> {
        let mut out = Vec::new();
        self.plan.for_each_test(&mut |test: &Test| {
            if let Some(r) = test.app_ref() {
                out.push((test.column(), r));
            }
        });
        out
    }
}

pub use crate::input::closest;

/// The protocol name closest to an unknown one, old aliases included (answered with the
/// current name).
pub fn closest_protocol(name: &str) -> Option<&'static str> {
    use crate::facts::protocol::{name_of, ALIASES, PROTOCOLS};
    let spelling = closest(name, PROTOCOLS.iter().map(|p| p.name).chain(ALIASES.iter().map(|&(a, _)| a)))?;
    Some(ALIASES.iter().find(|&&(a, _)| a == spelling).map_or(spelling, |&(_, id)| name_of(id)))
}

/// "unknown X `word` (why): did you mean `best`?", without the question when nothing is close.
pub fn unknown(what: &str, word: &str, why: &str, best: Option<&str>) -> String {
    match best {
        Some(best) => format!("unknown {what} `{word}` ({why}): did you mean `{best}`?"),
        None => format!("unknown {what} `{word}` ({why})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closest_spellings() {
        assert_eq!(closest("youtub", ["youtube", "yahoo"]), Some("youtube"));
        assert_eq!(closest("zzzz", ["youtube"]), None);
        assert_eq!(closest_protocol("SMTP/SS"), Some("SMTP/S"));
        assert_eq!(closest_protocol("smtpss"), Some("SMTP/S"), "through the old name SMTPS");
        assert_eq!(closest_protocol("PGSQ"), Some("PGSQL"));
        assert_eq!(closest_protocol("qqqqqqqqqq"), None);
        assert_eq!(unknown("application", "x", "why", Some("y")), "unknown application `x` (why): did you mean `y`?");
        assert_eq!(unknown("application", "x", "why", None), "unknown application `x` (why)");
    }

    #[test]
    fn application_refs_with_columns() {
        let c = Criteria::compile("app == 'netify.youtub' || (application_id == 124 && protocol == 'TLS');").unwrap();
        assert_eq!(c.application_refs(), vec![(1, AppRef::Tag("netify.youtub")), (28, AppRef::Id(124))]);
    }
}
