//! TeamViewer's remote-control protocol, on its own port 5938 (TCP or UDP) and, when that is
//! blocked, over TCP 443 or 80 (TeamViewer's published firewall requirements).
//!
//! TeamViewer frames its commands with a two-byte magic: `17 24` for the first version of its
//! command protocol and `11 30` for the second (the bytes nDPI detects TeamViewer by). A
//! version 1 command is the magic, a command byte and a 16-bit little-endian length of the
//! data after this 5-byte header; a version 2 command has a 24-byte header: the magic, a
//! command byte, a flags byte and a 32-bit little-endian length of the data after the header.
//! The lengths were read off TeamViewer sessions (every command of nDPI's `teamviewer.pcap`
//! holds them); they are what makes two bytes of magic evidence: the probe wants a TCP
//! segment that is a chain of whole commands, the last one possibly continuing in the next
//! segment. Over UDP each datagram carries an 11-byte prefix (a counter, 0 at the start of a
//! session as nDPI notes, then other fields) before one version 1 command, which the probe
//! wants to fill the datagram exactly. A flow's first payloads therefore start with 0x00
//! (UDP), 0x17 or 0x11 (TCP): every other flow rules the dissector out on its first byte.

use super::reader::{be_u16_at, le_u32_at};
use super::{protocol, Dissector, FirstBytes, FlowInfo, Ports, Probe, Segment, Transports};

const V1_MAGIC: u16 = 0x1724;
const V2_MAGIC: u16 = 0x1130;
const V1_HEADER: usize = 5;
const V2_HEADER: usize = 24;
/// Bytes ahead of the command in a UDP datagram.
const UDP_PREFIX: usize = 11;

/// TeamViewer needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct TeamviewerDissector;

/// The length of a version 1 command's data: little-endian at 3.
fn v1_length(p: &[u8]) -> Option<usize> {
    let b = p.get(3..V1_HEADER)?;
    Some(usize::from(u16::from_le_bytes([b[0], b[1]])))
}

/// The whole length of the command at the start of `p` (header included), when `p` starts
/// with a command's magic; `Err(())` when it does not, `Ok(None)` when the header is cut.
fn command_length(p: &[u8]) -> Result<Option<usize>, ()> {
    match be_u16_at(p, 0) {
        Some(V1_MAGIC) => Ok(v1_length(p).map(|n| V1_HEADER + n)),
        Some(V2_MAGIC) => {
            Ok(le_u32_at(p, 4).and_then(|n| usize::try_from(n).ok()).map(|n| V2_HEADER.saturating_add(n)))
        }
        _ => Err(()),
    }
}

/// `p` (a TCP segment) is a chain of whole commands, the last possibly cut by the segment's
/// end. At least the first command's header must be there.
fn tcp_commands(p: &[u8]) -> Probe {
    let mut rest = p;
    let mut first = true;
    while !rest.is_empty() {
        match command_length(rest) {
            Ok(Some(n)) if n >= rest.len() => return Probe::Certain,
            Ok(Some(n)) => rest = &rest[n..],
            Ok(None) if first => return Probe::Unsure,
            // A header cut at the segment's end after whole commands.
            Ok(None) => return Probe::Certain,
            Err(()) if first && p.len() < 2 && matches!(p.first(), Some(0x17 | 0x11)) => return Probe::Unsure,
            Err(()) => return Probe::NotForUs,
        }
        first = false;
    }
    Probe::Certain
}

/// `p` (a UDP datagram) is the prefix and one version 1 command filling it.
fn udp_command(p: &[u8]) -> bool {
    let Some(command) = p.get(UDP_PREFIX..) else { return false };
    p.first() == Some(&0)
        && be_u16_at(command, 0) == Some(V1_MAGIC)
        && v1_length(command).map(|n| V1_HEADER + n) == Some(command.len())
}

impl Dissector for TeamviewerDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::TEAMVIEWER;
    const TRANSPORTS: Transports = Transports::TCP_UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[0x00, 0x11, 0x17]);

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if flow.is_tcp() {
            tcp_commands(p)
        } else if flow.is_udp() {
            Probe::certain_if(udp_command(p))
        } else {
            Probe::NotForUs
        }
    }

    const PORTS: Ports = Ports::both(&[5938]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// teamviewer.pcap in nDPI's corpus, 10.0.2.15:35732 → 162.250.2.170:5938 (nDPI:
    /// TeamViewer): the client's first command (version 1, command 0x0a, 32 bytes of data) and
    /// the server's first (version 2, command 0x36, 24 bytes of data).
    const CLIENT: &str = "17240a200000000000000000004800800001000000148000006fb78c804805532216142004";
    const SERVER: &str =
        "113036001800000001000000000000001b000000180000008c0067fc71b09880d95938c589a6c18cc7919eea283d28cd";
    /// The same capture, 10.0.2.15:34417 ↔ 93.47.224.241:36037: a 20-byte datagram, the
    /// 11-byte prefix then command 0x73 with 4 bytes of data.
    const DATAGRAM: &str = "0000000000000000442603172473040000000000";

    #[test]
    fn commands_name_the_flow() {
        let f = tcp([35732, 5938]);
        let client = hex(CLIENT);
        assert_eq!(client.len(), 37);
        assert_eq!(run_one::<TeamviewerDissector>(&f, &client).0, Probe::Certain);
        assert_eq!(hex(SERVER).len(), 48);
        assert_eq!(run_one::<TeamviewerDissector>(&f, &hex(SERVER)).0, Probe::Certain);
        // Off TeamViewer's port (its fallback over 443 or 80).
        assert_eq!(run_one::<TeamviewerDissector>(&tcp([35732, 443]), &client).0, Probe::Certain);
        // Two commands in one segment, the second cut by the segment's end.
        let two = [&client[..], &client[..20]].concat();
        assert_eq!(run_one::<TeamviewerDissector>(&f, &two).0, Probe::Certain);
        // A header cut short: the next segment decides.
        assert_eq!(run_one::<TeamviewerDissector>(&f, &client[..3]).0, Probe::Unsure);
        truncations::<TeamviewerDissector>(&f, &[&client[..], &hex(SERVER)].concat());
        let u = udp([34417, 36037]);
        assert_eq!(run_one::<TeamviewerDissector>(&u, &hex(DATAGRAM)).0, Probe::Certain);
        truncations::<TeamviewerDissector>(&u, &hex(DATAGRAM));
    }

    #[test]
    fn other_payloads_are_not_teamviewer() {
        let f = tcp([35732, 5938]);
        let client = hex(CLIENT);
        // Whole commands followed by bytes that are not one.
        let junk = [&client[..], b"GET / HTTP/1.1\r\n"].concat();
        assert_eq!(run_one::<TeamviewerDissector>(&f, &junk).0, Probe::NotForUs);
        // A TLS record on the same port.
        assert_eq!(run_one::<TeamviewerDissector>(&f, &hex("1703030020aabbcc")).0, Probe::NotForUs);
        let u = udp([34417, 36037]);
        // A datagram one byte longer than its command.
        let mut d = hex(DATAGRAM);
        d.push(0);
        assert_eq!(run_one::<TeamviewerDissector>(&u, &d).0, Probe::NotForUs);
        // A counter other than 0 opening the flow.
        let mut d = hex(DATAGRAM);
        d[0] = 1;
        assert_eq!(run_one::<TeamviewerDissector>(&u, &d).0, Probe::NotForUs);
        // The command at the start of a datagram, without the prefix.
        assert_eq!(run_one::<TeamviewerDissector>(&u, &hex(DATAGRAM)[UDP_PREFIX..]).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(tail in proptest::collection::vec(any::<u8>(), 0..60), v in 0u8..3) {
            let head: &[u8] = match v { 0 => &[0x17, 0x24], 1 => &[0x11, 0x30], _ => &[] };
            let p = [head, &tail].concat();
            no_panic::<TeamviewerDissector>(&tcp([1, 5938]), &[p.clone(), p.clone()]);
            no_panic::<TeamviewerDissector>(&udp([1, 5938]), &[p]);
        }
    }
}
