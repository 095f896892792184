//! Protocol dissectors: one file per protocol, one trait, and a registry that runs them on a
//! flow's first packets until detection completes.

pub mod cipher_suites;
pub mod protocol;
pub mod quic;
pub mod registry;
pub mod stream;
pub mod tls;
pub mod x509;

use crate::flow::facts::FlowFacts;

/// Which way a segment travels, relative to the packet that created the flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Same direction as the flow's first packet.
    Forward,
    /// The opposite direction.
    Reverse,
}

impl Direction {
    /// 0 for forward, 1 for reverse: an index into per-direction state.
    pub fn index(self) -> usize {
        match self {
            Direction::Forward => 0,
            Direction::Reverse => 1,
        }
    }
}

/// One transport payload handed to a dissector.
#[derive(Debug, Clone, Copy)]
pub struct Segment<'a> {
    pub direction: Direction,
    /// TCP sequence number of the first payload byte; `None` for UDP.
    pub tcp_seq: Option<u32>,
    pub payload: &'a [u8],
}

/// A dissector's first look at a flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Probe {
    /// The payload is certainly this protocol.
    Certain,
    /// Could be: not enough bytes to tell yet.
    Unsure,
    /// Not this protocol.
    NotForUs,
}

/// What a parse step did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Parsed {
    /// Nothing new; wants more segments.
    Continue,
    /// New facts were written; wants more segments.
    Updated,
    /// Detection for this protocol is finished (facts may have changed).
    Done,
    /// Gave up (malformed or unsupported input); facts keep what was learned.
    Skipped,
}

/// A protocol parser. Implementations never panic and never allocate per packet once warm.
pub trait Dissector: Default {
    /// Netify protocol ID this dissector sets when its probe is certain.
    const PROTOCOL: u16;
    /// Cheap check on the first payload of a flow in either direction.
    fn probe(segment: &Segment<'_>) -> Probe;
    /// Consume one segment and write what it shows into `facts`.
    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed;
}
