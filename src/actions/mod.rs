//! Flow actions: the Netify configuration, compiled once per load, and matching flows against it.

pub mod config;

use std::sync::Arc;

use crate::criteria::Criteria;
use crate::flow::facts::FlowFacts;
use crate::flow::net::IpNet;

/// A flow that matches an exemption is never acted on.
#[derive(Debug, Clone)]
pub enum Exemption {
    /// An address or CIDR: exempts flows whose local or other address is inside it.
    Network(IpNet),
    /// A criteria expression (Netify: a string ending with `;`).
    Expression(Criteria),
}

impl Exemption {
    pub fn exempts(&self, facts: &FlowFacts) -> bool {
        match self {
            Exemption::Network(net) => net.contains(facts.local_ip) || net.contains(facts.other_ip),
            Exemption::Expression(criteria) => criteria.matches(facts),
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
}

/// The enabled actions of one configuration, in file order.
#[derive(Debug, Clone, Default)]
pub struct ActionSet {
    pub actions: Vec<Action>,
    /// Global exemptions: apply to every action.
    pub exemptions: Vec<Exemption>,
}

impl ActionSet {
    /// Call `on_match` with the index of every action that matches `facts`.
    pub fn evaluate(&self, facts: &FlowFacts, mut on_match: impl FnMut(usize, &Action)) {
        if self.exemptions.iter().any(|e| e.exempts(facts)) {
            return;
        }
        for (index, action) in self.actions.iter().enumerate() {
            if action.exemptions.iter().any(|e| e.exempts(facts)) {
                continue;
            }
            if action.criteria.iter().any(|c| c.matches(facts)) {
                on_match(index, action);
                if action.halt_on_match {
                    break;
                }
            }
        }
    }
}
