//! Automatic tank gauges (ATG) of fuel stations: the serial command interface of Veeder-Root's
//! TLS-3xx consoles (their "Serial Interface Manual"), reached over TCP through the console's
//! network module on its default port 10001. nDPI calls it `ATG`.
//!
//! A command is the SOH byte, a letter — `I` (inquiry) or `S` (set) in display format, `i` or
//! `s` in computer format — three digits of function code and two of device or tank number
//! (`I20100`: the in-tank inventory of every tank), optional ASCII data, and in display format
//! the line end. Replies repeat SOH and the command, then the data, and end with ETX. The
//! command header is short, so the probe wants the console's port: on it, a payload that is
//! one whole command (ending with a line end) or the start of a reply (SOH, an optional line
//! end, the echoed command) names the flow. The port names nothing on its own (nDPI leaves a
//! bare SYN to 10001 Unknown, synscan.pcap), so it is not among the dissector's guessing
//! [`Dissector::PORTS`].

use super::{protocol, Dissector, FirstBytes, FlowInfo, Probe, Segment, Transports};

/// The console network module's default port.
const PORT: u16 = 10001;
const SOH: u8 = 0x01;
const ETX: u8 = 0x03;
/// Function code and device number digits after the command letter.
const CODE_DIGITS: usize = 5;

/// ATG needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct AtgDissector;

/// `p` starts with a command letter and its five digits.
fn command(p: &[u8]) -> bool {
    matches!(p.first(), Some(b'I' | b'i' | b'S' | b's'))
        && p.get(1..=CODE_DIGITS).is_some_and(|d| d.iter().all(u8::is_ascii_digit))
}

/// `p` is a whole command, or the start of a console's reply.
fn atg(p: &[u8]) -> bool {
    let Some((&SOH, rest)) = p.split_first() else { return false };
    // A command with its line end: nothing but printable ASCII after the code.
    let whole_command =
        rest.strip_suffix(b"\r\n").is_some_and(|c| command(c) && c.iter().all(|b| b.is_ascii_graphic() || *b == b' '));
    let reply = rest.strip_prefix(b"\r\n").unwrap_or(rest);
    let reply_start = command(reply)
        && (p.last() == Some(&ETX) || reply.get(1 + CODE_DIGITS..).is_some_and(|r| r.starts_with(b"\r\n")));
    whole_command || reply_start
}

impl Dissector for AtgDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::ATG;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::of(&[SOH]);

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        Probe::certain_if(flow.is_tcp() && flow.has_port(PORT) && atg(segment.payload))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// atg.pcap, 192.168.0.105:3134 → 20.108.25.119:10001: `I20100`, in-tank inventory.
    const INVENTORY: &str = "014932303130300d0a";

    #[test]
    fn commands_and_replies_on_the_consoles_port() {
        let f = tcp([3134, 10001]);
        assert_eq!(run_one::<AtgDissector>(&f, &hex(INVENTORY)).0, Probe::Certain);
        truncations::<AtgDissector>(&f, &hex(INVENTORY));
        // Computer format (`i20100`), ended by the line end as well; a display-format reply's
        // start; a computer-format reply ending with ETX.
        for p in [&b"\x01i20100\r\n"[..], b"\x01\r\nI20100\r\nJAN 1, 2024 10:00 AM\r\n", b"\x01i201002401011000\x03"] {
            assert_eq!(run_one::<AtgDissector>(&f, p).0, Probe::Certain, "{p:?}");
        }
        // With a tank number and data: `S60201` sets tank 1's product label.
        assert_eq!(run_one::<AtgDissector>(&f, b"\x01S60201REGULAR\r\n").0, Probe::Certain);
    }

    #[test]
    fn other_payloads_are_not_atg() {
        let f = tcp([3134, 10001]);
        assert_eq!(run_one::<AtgDissector>(&tcp([3134, 10002]), &hex(INVENTORY)).0, Probe::NotForUs);
        assert_eq!(run_one::<AtgDissector>(&udp([3134, 10001]), &hex(INVENTORY)).0, Probe::NotForUs);
        for p in [
            &b"\x01X20100\r\n"[..],
            b"\x01I20A00\r\n",
            b"\x01I201\r\n",
            b"\x01I20100",
            b"\x01I20100\x00\x01\r\n",
            b"I20100\r\n",
        ] {
            assert_eq!(run_one::<AtgDissector>(&f, p).0, Probe::NotForUs, "{p:?}");
        }
        // The Telnet interrupt the capture's client sent after its commands.
        assert_eq!(run_one::<AtgDissector>(&f, &hex("fff4fffd06")).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            let mut m = p;
            m.insert(0, SOH);
            no_panic::<AtgDissector>(&tcp([1, 10001]), &[m]);
        }
    }
}
