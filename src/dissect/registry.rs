//! Runs the dissectors over a flow's first payloads. Adding a protocol adds one variant here and
//! one line to each match.

use super::tls::TlsDissector;
use super::{Dissector, Parsed, Probe, Segment};
use crate::flow::facts::FlowFacts;

/// Per-flow dissection state; dropped (freeing buffers) when detection completes.
#[derive(Debug, Default)]
pub enum DissectState {
    /// No dissector has claimed the flow yet.
    #[default]
    Probing,
    Tls(Box<TlsDissector>),
    /// Detection is over for this flow.
    Finished,
}

/// What one segment changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    NothingNew,
    /// Facts changed; more may come.
    Updated,
    /// Detection finished with this segment (facts may have changed).
    Complete,
}

impl DissectState {
    pub fn is_finished(&self) -> bool {
        matches!(self, DissectState::Finished)
    }

    /// Feed one non-empty payload.
    pub fn on_segment(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Step {
        match self {
            DissectState::Probing => match TlsDissector::probe(segment) {
                Probe::Certain => {
                    facts.protocol = TlsDissector::PROTOCOL;
                    let mut tls = Box::<TlsDissector>::default();
                    let step = finish(self, tls.parse(segment, facts));
                    if !self.is_finished() {
                        *self = DissectState::Tls(tls);
                    }
                    // Claiming the flow is itself news even if the parse needs more bytes.
                    if step == Step::NothingNew {
                        Step::Updated
                    } else {
                        step
                    }
                }
                Probe::Unsure => Step::NothingNew,
                Probe::NotForUs => {
                    *self = DissectState::Finished;
                    Step::Complete
                }
            },
            DissectState::Tls(tls) => {
                let parsed = tls.parse(segment, facts);
                finish(self, parsed)
            }
            DissectState::Finished => Step::NothingNew,
        }
    }
}

fn finish(state: &mut DissectState, parsed: Parsed) -> Step {
    match parsed {
        Parsed::Continue => Step::NothingNew,
        Parsed::Updated => Step::Updated,
        Parsed::Done | Parsed::Skipped => {
            *state = DissectState::Finished;
            Step::Complete
        }
    }
}
