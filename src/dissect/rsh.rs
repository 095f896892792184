//! The BSD remote shell, rsh (the `rshd(8)` and `rcmd(3)` manual pages; IANA `shell`, TCP port
//! 514). Netify's `RSH`.
//!
//! The client connects from a reserved port (512–1023: the server refuses others) and sends,
//! each ended by a NUL byte, the ASCII number of the port for a second connection carrying
//! standard error (empty for none), the user name on the client, the user name on the server
//! and the command. The server answers a NUL byte, or the byte 1 and an error message ending
//! with a line feed. The probe wants TCP port 514 and a reserved port on the other side, then
//! a payload that is the port field alone, the strings after it (the port field optionally
//! first), or the server's error reply.

use super::{protocol, Dissector, FirstBytes, FlowInfo, Ports, Probe, Segment, Transports};

const SHELL_PORT: u16 = 514;
/// The reserved ports an rsh client binds.
const RESERVED: std::ops::RangeInclusive<u16> = 512..=1023;
/// Digits of the standard-error port field, at most.
const PORT_DIGITS: usize = 5;

/// rsh needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct RshDissector;

/// `field` (without its NUL) is a port number or empty.
fn port_field(field: &[u8]) -> bool {
    field.len() <= PORT_DIGITS
        && field.iter().all(u8::is_ascii_digit)
        && field.iter().fold(0u32, |v, &d| v * 10 + u32::from(d - b'0')) <= u32::from(u16::MAX)
}

/// `p` is one of the client's fields or the server's error reply.
fn rsh(p: &[u8]) -> bool {
    if let Some(message) = p.strip_prefix(&[1]) {
        // The server's error: printable text and a line feed.
        return message.len() > 1
            && message.ends_with(b"\n")
            && message[..message.len() - 1].iter().all(|b| b.is_ascii_graphic() || *b == b' ');
    }
    let Some(fields) = p.strip_suffix(&[0]) else { return false };
    let mut fields = fields.split(|&b| b == 0);
    let printable = |s: &[u8]| s.iter().all(|b| b.is_ascii_graphic() || *b == b' ');
    match fields.clone().count() {
        1 => fields.next().is_some_and(port_field),
        // The user names and the command, after the port field or alone.
        n @ (3 | 4) => {
            if n == 4 && !fields.next().is_some_and(port_field) {
                return false;
            }
            fields.clone().next().is_some_and(|user| !user.is_empty()) && fields.all(printable)
        }
        _ => false,
    }
}

impl Dissector for RshDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::RSH;
    const TRANSPORTS: Transports = Transports::TCP;
    const FIRST_BYTES: FirstBytes = FirstBytes::range(0x20, 0x7e).with(0).with(1);
    const NEEDS_PORT: bool = true;

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let [a, b] = flow.ports;
        let client = if a == SHELL_PORT { b } else { a };
        let ends = flow.is_tcp() && flow.has_port(SHELL_PORT) && RESERVED.contains(&client);
        Probe::certain_if(ends && rsh(segment.payload))
    }

    const PORTS: Ports = Ports::tcp(&[SHELL_PORT]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// rsh.pcap, 127.0.0.1:1023 ↔ 127.0.0.1:514: standard error on port 1022, then user `lns`
    /// as `root` running `mkdir testdir`, and the server's refusal.
    const STDERR_PORT: &str = "3130323200";
    const COMMAND: &str = "6c6e7300726f6f74006d6b646972207465737464697200";
    const REFUSAL: &str = "0150617373776f726420696e636f72726563742e0a";

    #[test]
    fn the_clients_fields_and_the_servers_reply() {
        let f = tcp([1023, 514]);
        for p in [STDERR_PORT, COMMAND, REFUSAL] {
            assert_eq!(run_one::<RshDissector>(&f, &hex(p)).0, Probe::Certain, "{p}");
            truncations::<RshDissector>(&f, &hex(p));
        }
        // All in one segment; no standard error connection.
        let together = [hex(STDERR_PORT), hex(COMMAND)].concat();
        assert_eq!(run_one::<RshDissector>(&f, &together).0, Probe::Certain);
        assert_eq!(run_one::<RshDissector>(&tcp([514, 700]), b"\0").0, Probe::Certain);
    }

    #[test]
    fn other_payloads_are_not_rsh() {
        let f = tcp([1023, 514]);
        // An unprivileged client port (syslog over TCP), another port, a port above 65535,
        // two strings only, control bytes in the command, no closing NUL.
        assert_eq!(run_one::<RshDissector>(&tcp([40000, 514]), &hex(STDERR_PORT)).0, Probe::NotForUs);
        assert_eq!(run_one::<RshDissector>(&tcp([1023, 513]), &hex(STDERR_PORT)).0, Probe::NotForUs);
        for p in [&b"70000\0"[..], b"lns\0root\0", b"lns\0root\0ls\x07\0", b"1022", b"<34>Oct 11 22:14:15 host su: x\n"]
        {
            assert_eq!(run_one::<RshDissector>(&f, p).0, Probe::NotForUs, "{p:?}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..40)) {
            no_panic::<RshDissector>(&tcp([1023, 514]), &[p]);
        }
    }
}
