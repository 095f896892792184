//! Harnesses shared by the fuzz targets, and the byte format their inputs use.
//!
//! A *flow input* (registry target; the dissect target's input after its selector byte) is:
//!
//! ```text
//! byte 0      bit 0: TCP (else UDP)
//! bytes 1..5  the flow's two ports, big-endian (first = the initiator's)
//! then        segments: a 2-byte big-endian header, then the payload
//!             header bit 15: the segment travels in reverse (responder → initiator)
//!             header bit 14: TCP only: the next segment of this direction reuses this
//!                            segment's sequence number (a retransmission / overlap)
//!             header bits 0..13: payload length (clipped to what is left of the input)
//! ```
//!
//! The dissect target's input is one selector byte, then a flow input: the byte modulo the
//! number of registered dissectors picks one, in registry order
//! (`flowsieve::dissect::registry::NAMES`).
//!
//! A *frame sequence* (worker target) is:
//!
//! ```text
//! byte 0      link type selector (see `LINK_TYPES`)
//! then        frames: 2-byte big-endian length, 1 byte time step in 250 ms units, the frame
//! ```
//!
//! `cargo run --example fuzz-seeds` in the main crate writes seeds in these formats from real
//! captures; keep the two in step.

use std::sync::Arc;
use std::time::Duration;

use flowsieve::decode::LinkType;
use flowsieve::dissect::registry::{self, DissectState};
use flowsieve::dissect::{Direction, Dissector, FlowInfo, Parsed, Segment};
use flowsieve::facts::FlowFacts;

/// Link types the decoder and worker targets pick from by a selector byte: every one the
/// decoder knows, under each of its pcap numbers, and one it does not.
pub const LINK_TYPES: [u32; 15] = [1, 0, 108, 101, 228, 229, 12, 14, 113, 276, 9, 50, 51, 104, 147];

pub fn link_type(selector: u8) -> LinkType {
    LinkType::from_linktype(LINK_TYPES[selector as usize % LINK_TYPES.len()])
}

/// A parsed flow input.
pub struct FlowInput<'a> {
    pub flow: FlowInfo,
    rest: &'a [u8],
}

/// One segment of a flow input.
pub struct RawSegment<'a> {
    pub direction: Direction,
    pub hold_seq: bool,
    pub payload: &'a [u8],
}

impl<'a> FlowInput<'a> {
    pub fn parse(data: &'a [u8]) -> Option<FlowInput<'a>> {
        let head = data.get(..5)?;
        let ip_protocol = if head[0] & 1 != 0 { FlowInfo::TCP } else { FlowInfo::UDP };
        let ports = [u16::from_be_bytes([head[1], head[2]]), u16::from_be_bytes([head[3], head[4]])];
        Some(FlowInput { flow: FlowInfo { ip_protocol, ports, ..FlowInfo::default() }, rest: &data[5..] })
    }

    pub fn facts(&self) -> FlowFacts {
        FlowFacts {
            ip_protocol: self.flow.ip_protocol,
            local_port: self.flow.ports[0],
            other_port: self.flow.ports[1],
            ..FlowFacts::default()
        }
    }

    /// The segments, each with the TCP sequence number it would carry.
    pub fn segments(&self) -> impl Iterator<Item = Segment<'a>> + 'a {
        let tcp = self.flow.is_tcp();
        let mut rest = self.rest;
        // Arbitrary initial sequence numbers, one near the wrap to exercise it.
        let mut seq = [1000u32, u32::MAX - 600];
        std::iter::from_fn(move || {
            let raw = next_segment(&mut rest)?;
            let i = raw.direction.index();
            let tcp_seq = tcp.then_some(seq[i]);
            if !raw.hold_seq {
                seq[i] = seq[i].wrapping_add(raw.payload.len() as u32);
            }
            Some(Segment { direction: raw.direction, tcp_seq, payload: raw.payload })
        })
    }
}

fn next_segment<'a>(rest: &mut &'a [u8]) -> Option<RawSegment<'a>> {
    let head = rest.get(..2)?;
    let header = u16::from_be_bytes([head[0], head[1]]);
    let len = usize::from(header & 0x3fff).min(rest.len() - 2);
    let payload = &rest[2..2 + len];
    *rest = &rest[2 + len..];
    let direction = if header & 0x8000 != 0 { Direction::Reverse } else { Direction::Forward };
    Some(RawSegment { direction, hold_seq: header & 0x4000 != 0, payload })
}

/// Drive one dissector as the registry does once it has claimed a flow: probe every segment,
/// parse until the dissector is done or gives up. Parsing starts whatever the probe says, so the
/// parser also sees what its probe would have turned away.
pub fn run_dissector<D: Dissector>(data: &[u8]) {
    let Some(input) = FlowInput::parse(data) else { return };
    let mut facts = input.facts();
    let _ = D::port_hint(&input.flow);
    let mut dissector = D::default();
    for segment in input.segments() {
        if segment.payload.is_empty() {
            continue;
        }
        let _ = D::probe_flow(&input.flow, &segment);
        match dissector.parse(&segment, &mut facts) {
            Parsed::Done | Parsed::Skipped(_) => break,
            Parsed::Continue | Parsed::Updated => {}
        }
    }
    touch(&facts);
}

/// The dissector a selector byte picks: its index in the registry.
pub fn selected(selector: u8) -> usize {
    usize::from(selector) % registry::NAMES.len()
}

/// The dissect target: the first byte selects a dissector, which [`run_dissector`] drives on
/// the flow input that follows.
pub fn run_selected(data: &[u8]) {
    struct Run<'a>(&'a [u8]);
    impl registry::Visitor for Run<'_> {
        type Output = ();
        fn visit<D: Dissector>(self, _name: &'static str) {
            run_dissector::<D>(self.0);
        }
    }
    let Some((&selector, rest)) = data.split_first() else { return };
    let _ = registry::visit(selected(selector), Run(rest));
}

/// Drive the whole registry (probing order, port tie-breaks, hand-over to the winner).
pub fn run_registry(data: &[u8]) {
    let Some(input) = FlowInput::parse(data) else { return };
    let mut facts = input.facts();
    let mut state = DissectState::start(&mut facts);
    for segment in input.segments() {
        if state.is_finished() {
            break;
        }
        if segment.payload.is_empty() {
            continue;
        }
        let _ = state.on_segment(&segment, &mut facts);
    }
    if !state.is_finished() {
        state.give_up(&mut facts);
    }
    touch(&facts);
}

/// Read what a dissector wrote, so a broken string or a huge list shows up here too.
pub fn touch(facts: &FlowFacts) {
    std::hint::black_box(format!("{facts:?}").len());
}

/// A frame sequence: frames with their link type and capture time.
pub fn frames(data: &[u8]) -> Option<(LinkType, impl Iterator<Item = (Duration, &[u8])>)> {
    let (&selector, mut rest) = data.split_first()?;
    let mut now = Duration::from_secs(1_700_000_000);
    let iter = std::iter::from_fn(move || {
        let head = rest.get(..3)?;
        let len = usize::from(u16::from_be_bytes([head[0], head[1]])).min(rest.len() - 3);
        now += Duration::from_millis(u64::from(head[2]) * 250);
        let frame = &rest[3..3 + len];
        rest = &rest[3 + len..];
        Some((now, frame))
    });
    Some((link_type(selector), iter))
}

/// The configuration the worker target evaluates (fuzz/worker-config.json): a few actions over
/// hostnames, applications, addresses and TLS fields, so the evaluator runs on every change.
pub fn worker_config() -> Arc<flowsieve::actions::ActionSet> {
    let text = include_str!("../worker-config.json");
    let config = flowsieve::actions::config::parse(text, std::path::Path::new("fuzz/worker-config.json"))
        .expect("fuzz/worker-config.json parses");
    Arc::new(config.actions)
}
