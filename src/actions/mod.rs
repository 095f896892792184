//! Flow actions: the Netify configuration, compiled once per load, and matching flows against it.

pub mod config;
pub mod schedule;

use std::sync::Arc;
use std::time::SystemTime;

use schedule::Schedule;

use crate::criteria::Criteria;
use crate::facts::net::IpNet;
use crate::facts::FlowFacts;

/// A flow that matches an exemption is never acted on.
#[derive(Debug, Clone)]
pub enum Exemption {
    /// An address or CIDR: exempts flows whose local or other address is inside it.
    Network(IpNet),
    /// A criteria expression (Netify: a string ending with `;`).
    Expression(Criteria),
}

impl Exemption {
    /// Whether the exemption holds on the flow's current facts (final or not).
    pub fn exempts(&self, facts: &FlowFacts) -> bool {
        match self {
            Exemption::Network(net) => net.contains(facts.local_ip) || net.contains(facts.other_ip),
            Exemption::Expression(criteria) => criteria.matches(facts),
        }
    }

    /// Whether the exemption holds, decided on final facts only: `None` while an expression
    /// still depends on a fact that may change (addresses are always final).
    pub fn decide(&self, facts: &FlowFacts) -> Option<bool> {
        match self {
            Exemption::Network(_) => Some(self.exempts(facts)),
            Exemption::Expression(criteria) => criteria.decide(facts),
        }
    }
}

/// Three-valued `||` over `items`: `Some(true)` as soon as one is decided true, `Some(false)`
/// when all are decided false, `None` otherwise. An action's criteria (Netify: an array of
/// criteria is an OR) and its exemptions (any one exempts) both combine this way.
fn any_decided<T>(items: &[T], decide: impl Fn(&T) -> Option<bool>) -> Option<bool> {
    let mut unknown = false;
    for item in items {
        match decide(item) {
            Some(true) => return Some(true),
            Some(false) => {}
            None => unknown = true,
        }
    }
    (!unknown).then_some(false)
}

fn any_criteria(criteria: &[Criteria], facts: &FlowFacts) -> Option<bool> {
    any_decided(criteria, |c| c.decide(facts))
}

fn any_exempts(exemptions: &[Exemption], facts: &FlowFacts) -> Option<bool> {
    any_decided(exemptions, |e| e.decide(facts))
}

/// Which capture interfaces an action applies to (Netify's `interface`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterfaceMatch {
    /// `*` or absent.
    Any,
    /// `lan` (internal, `-I`) or `wan` (external, `-E`).
    Role { external: bool },
    /// An interface name.
    Name(Arc<str>),
}

impl InterfaceMatch {
    pub fn parse(text: &str) -> InterfaceMatch {
        match text {
            "*" | "" => InterfaceMatch::Any,
            "lan" => InterfaceMatch::Role { external: false },
            "wan" => InterfaceMatch::Role { external: true },
            name => InterfaceMatch::Name(Arc::from(name)),
        }
    }

    pub fn matches(&self, facts: &FlowFacts) -> bool {
        match self {
            InterfaceMatch::Any => true,
            InterfaceMatch::Role { external } => facts.external == *external,
            InterfaceMatch::Name(name) => *facts.iface == **name,
        }
    }
}

/// One compiled action.
#[derive(Debug, Clone)]
pub struct Action {
    pub name: Arc<str>,
    /// Any of these matching is a match (Netify: an array of criteria is an OR).
    pub criteria: Vec<Criteria>,
    /// Names of the targets to apply, as configured.
    pub targets: Vec<Arc<str>>,
    pub exemptions: Vec<Exemption>,
    /// Stop evaluating later actions (in file order) when this one matches.
    pub halt_on_match: bool,
    pub interface: InterfaceMatch,
    /// `time_of_day`: when the action applies (always, when empty).
    pub schedule: Schedule,
}

/// The enabled actions of one configuration, in file order.
#[derive(Debug, Clone, Default)]
pub struct ActionSet {
    pub actions: Vec<Action>,
    /// Global exemptions: apply to every action.
    pub exemptions: Vec<Exemption>,
    /// Re-evaluate every live flow when this configuration is loaded by a reload.
    pub reprocess_flows: bool,
}

impl ActionSet {
    /// Call `on_match` with the index of every action that matches `facts` at time `at`,
    /// decided on the flow's final facts (three-valued, see [`Criteria::decide`]): an action
    /// matches once one of its criteria is decided true and every exemption (global and its
    /// own) decided false. An action still undecided is not a match; with `halt_on_match` it
    /// also stops the later actions, whose turn would depend on it.
    pub fn evaluate(&self, facts: &FlowFacts, at: SystemTime, mut on_match: impl FnMut(usize, &Action)) {
        if any_exempts(&self.exemptions, facts) != Some(false) {
            return;
        }
        for (index, action) in self.actions.iter().enumerate() {
            if !action.interface.matches(facts) || !action.schedule.active(at) {
                continue;
            }
            let decided = match (any_exempts(&action.exemptions, facts), any_criteria(&action.criteria, facts)) {
                (Some(true), _) | (None, Some(false)) => Some(false),
                (Some(false), criteria) => criteria,
                (None, _) => None,
            };
            match decided {
                Some(true) => {
                    on_match(index, action);
                    if action.halt_on_match {
                        break;
                    }
                }
                Some(false) => {}
                // Whether this action halts the ones after it is not known yet.
                None if action.halt_on_match => break,
                None => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::config::parse;
    use super::*;
    use std::path::Path;
    use std::time::{Duration, UNIX_EPOCH};

    fn set(json: &str) -> ActionSet {
        parse(json, Path::new("t.json")).unwrap_or_else(|e| panic!("{:?}", e.problems)).actions
    }

    fn matched(set: &ActionSet, facts: &FlowFacts, at: SystemTime) -> Vec<String> {
        let mut names = Vec::new();
        set.evaluate(facts, at, |_, a| names.push(a.name.to_string()));
        names
    }

    fn flow(local: &str, other: &str, port: u16) -> FlowFacts {
        FlowFacts {
            local_ip: local.parse().unwrap(),
            other_ip: other.parse().unwrap(),
            other_port: port,
            iface: "br-lan".into(),
            ..FlowFacts::default()
        }
    }

    const TARGETS: &str = r#""targets":{"l":{"target_type":"log"}}"#;

    #[test]
    fn halt_on_match_stops_later_actions_in_file_order() {
        let json = format!(
            r#"{{"actions":{{"first":{{"criteria":"other_port == 443;","targets":["l"],"halt_on_match":true}},
                "second":{{"criteria":"*","targets":["l"]}}}},{TARGETS}}}"#
        );
        let s = set(&json);
        let now = SystemTime::now();
        assert_eq!(matched(&s, &flow("10.0.0.1", "1.1.1.1", 443), now), ["first"]);
        assert_eq!(matched(&s, &flow("10.0.0.1", "1.1.1.1", 80), now), ["second"]);
    }

    #[test]
    fn exemptions_by_address_cidr_and_expression_global_and_per_action() {
        let json = format!(
            r#"{{"exemptions":["192.168.1.50"],
                "actions":{{"a":{{"criteria":"*","targets":["l"],"exemptions":["10.9.0.0/16","other_port == 22;"]}}}},{TARGETS}}}"#
        );
        let s = set(&json);
        let now = SystemTime::now();
        assert_eq!(matched(&s, &flow("10.0.0.1", "1.1.1.1", 443), now), ["a"]);
        assert!(matched(&s, &flow("192.168.1.50", "1.1.1.1", 443), now).is_empty(), "global, local side");
        assert!(matched(&s, &flow("10.0.0.1", "192.168.1.50", 443), now).is_empty(), "global, other side");
        assert!(matched(&s, &flow("10.9.3.4", "1.1.1.1", 443), now).is_empty(), "CIDR");
        assert!(matched(&s, &flow("10.0.0.1", "1.1.1.1", 22), now).is_empty(), "expression");
    }

    #[test]
    fn interface_by_name_and_role() {
        let json = format!(
            r#"{{"actions":{{"lan":{{"criteria":"*","targets":["l"],"interface":"lan"}},
                "wan":{{"criteria":"*","targets":["l"],"interface":"wan"}},
                "eth9":{{"criteria":"*","targets":["l"],"interface":"eth9"}},
                "any":{{"criteria":"*","targets":["l"],"interface":"*"}}}},{TARGETS}}}"#
        );
        let s = set(&json);
        let now = SystemTime::now();
        let mut f = flow("10.0.0.1", "1.1.1.1", 443);
        assert_eq!(matched(&s, &f, now), ["lan", "any"]);
        f.external = true;
        f.iface = "eth9".into();
        assert_eq!(matched(&s, &f, now), ["wan", "eth9", "any"]);
    }

    #[test]
    fn time_of_day_from_configuration_with_fixed_clock() {
        let json = format!(
            r#"{{"timezone":"UTC","actions":{{"office":{{"criteria":"*","targets":["l"],
                "time_of_day":[{{"day":["mon","tue","wed","thu","fri"],"time_start":"08:00","time_end":"18:00","policy":"inclusive"}}]}}}},{TARGETS}}}"#
        );
        let s = set(&json);
        let f = flow("10.0.0.1", "1.1.1.1", 443);
        // 2026-11-27 (Friday) 09:00 and 19:00 UTC, then Saturday 09:00.
        let friday_9 = UNIX_EPOCH + Duration::from_secs(1_795_770_000);
        assert_eq!(matched(&s, &f, friday_9), ["office"]);
        assert!(matched(&s, &f, friday_9 + Duration::from_secs(10 * 3600)).is_empty());
        assert!(matched(&s, &f, friday_9 + Duration::from_secs(24 * 3600)).is_empty());
    }

    #[test]
    fn bad_schedule_and_timezone_name_their_paths() {
        let json = format!(
            r#"{{"timezone":"Mars/Olympus","actions":{{"a":{{"criteria":"*","targets":["l"],
                "time_of_day":[{{"day":["mon","funday"],"time_start":"8","time_end":"18:00","policy":"maybe"}}]}}}},{TARGETS}}}"#
        );
        let err = parse(&json, Path::new("t.json")).unwrap_err();
        let all: Vec<String> = err.problems.iter().map(|p| p.to_string()).collect();
        let all = all.join("\n");
        for expected in [
            "$.timezone: unknown time zone 'Mars/Olympus'",
            "$.actions.a.time_of_day[0].day[1]: unknown day 'funday'",
            "$.actions.a.time_of_day[0].time_start: '8' is not a time of day HH:MM",
            "$.actions.a.time_of_day[0].policy: unknown policy 'maybe'",
        ] {
            assert!(all.contains(expected), "missing {expected:?} in\n{all}");
        }
    }
}
