//! DNS dissector (RFC 1035 §4), also for mDNS (RFC 6762, UDP 5353) and LLMNR (RFC 4795, UDP
//! 5355), which share the message format: the query name and the A/AAAA/CNAME answers.
//!
//! Over UDP each payload is one message; over TCP messages carry a two-byte length prefix
//! (RFC 1035 §4.2.2) and each direction is reassembled. Names are decoded into a stack buffer
//! (compression pointers followed, loops bounded); only the facts kept allocate, once per flow.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::reader::{be_u16_at, be_u32_at};
use super::stream::{Push, StreamBuffer};
use super::text::fact_string;
use super::{protocol, Dissector, FlowInfo, Parsed, Ports, Probe, Segment, Skip, Transports};
use crate::facts::dns::{DnsAnswer, MAX_ANSWERS};
use crate::facts::FlowFacts;

const HEADER: usize = 12;
/// RFC 1035 §2.3.4: a name is at most 255 bytes on the wire.
const MAX_NAME: usize = 255;
/// Largest TCP message we reassemble; zone transfers are bigger and need nothing from us.
const TCP_LIMIT: usize = 4096;

const TYPE_A: u16 = 1;
const TYPE_CNAME: u16 = 5;
const TYPE_AAAA: u16 = 28;

/// Messages read per flow: the first and five more, as nDPI reads a DNS flow (its DNS
/// dissector asks for at most five packets after the one it detected the flow on).
const MAX_MESSAGES: u8 = 6;

/// Per-flow DNS state: TCP reassembly (allocated only for DNS over TCP) and the count of
/// messages read.
///
/// Which name a flow is about follows nDPI, which the corpus shows message by message
/// (`tls_certificate_too_long.pcap`, `starcraft_battle.pcap`, `anyconnect-vpn.pcap`): every
/// message read names the flow by its first name (the first question; without questions, the
/// first record's owner: mDNS announcements, inverse queries), so a later query or response
/// replaces an earlier one's name. Reading stops at a response that carries any record, at
/// a response that is the flow's first message, and after [`MAX_MESSAGES`]. LLMNR flows are
/// named by their first message only.
#[derive(Debug, Default)]
pub struct DnsDissector {
    tcp: Option<Box<[StreamBuffer; 2]>>,
    messages: u8,
}

impl Dissector for DnsDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::DNS;
    const TRANSPORTS: Transports = Transports::TCP_UDP;

    /// Certain when the header is sane and the first record's name and fixed fields parse.
    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        // NetBIOS name service (RFC 1002 §4.2) borrows DNS's format; on its ports it is NetBIOS.
        if flow.is_udp() && (flow.has_port(137) || flow.has_port(138)) {
            return Probe::NotForUs;
        }
        if flow.is_udp() {
            return if looks_like_message(p) { Probe::Certain } else { Probe::NotForUs };
        }
        if !flow.is_tcp() {
            return Probe::NotForUs;
        }
        let Some(len) = be_u16_at(p, 0).map(usize::from) else {
            return Probe::Unsure;
        };
        if len < HEADER {
            return Probe::NotForUs;
        }
        match p.get(2..2 + len) {
            Some(msg) if looks_like_message(msg) => Probe::Certain,
            Some(_) => Probe::NotForUs,
            // A message larger than the segment: judge the header and the first name.
            None if p.len() >= 2 + HEADER + 6 => {
                if header_sane(p.get(2..).unwrap_or_default()) {
                    Probe::Unsure
                } else {
                    Probe::NotForUs
                }
            }
            None => Probe::Unsure,
        }
    }

    const PORTS: Ports = Ports { tcp: &[53], udp: &[53, 5353, 5355] };

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        if facts.app_protocol.dns().is_none() {
            // mDNS and LLMNR are DNS messages on their own ports.
            let flow = super::registry::flow_info(facts);
            facts.protocol = if flow.is_udp() && flow.has_port(5353) {
                protocol::MDNS
            } else if flow.is_udp() && flow.has_port(5355) {
                protocol::LLMNR
            } else if flow.is_udp() && avast_secure_dns(segment.payload) {
                protocol::AVAST_SECURE_DNS
            } else {
                protocol::DNS
            };
        }
        let Some(seq) = segment.tcp_seq else {
            return read_counted(&mut self.messages, segment.payload, facts);
        };
        let sides =
            self.tcp.get_or_insert_with(|| Box::new([StreamBuffer::new(TCP_LIMIT), StreamBuffer::new(TCP_LIMIT)]));
        let side = &mut sides[segment.direction.index()];
        if matches!(side.push(seq, segment.payload), Push::Gap | Push::Stale) {
            return Parsed::Continue;
        }
        let data = side.data();
        let Some(len) = be_u16_at(data, 0).map(usize::from) else {
            return Parsed::Continue;
        };
        let outcome = match data.get(2..2 + len) {
            Some(msg) => {
                let outcome = read_counted(&mut self.messages, msg, facts);
                side.consume(2 + len);
                outcome
            }
            None if side.is_full() => Parsed::Skipped(Skip::TooLarge),
            None => Parsed::Continue,
        };
        if matches!(outcome, Parsed::Done | Parsed::Skipped(_)) {
            self.tcp = None;
        }
        outcome
    }
}

/// Avast's SecureDNS resolver, which nDPI names `AVASTSecureDNS` (Netify's 264): the wire fact
/// nDPI applies to a UDP flow's first datagram (docs/ARCHITECTURE.md, "nDPI's signatures are
/// wire facts"), a message of at least 34 bytes whose header ends with a zero byte and whose
/// first name starts with the labels `2` and `securedns` (any case).
fn avast_secure_dns(msg: &[u8]) -> bool {
    msg.len() >= 34
        && msg[HEADER - 1] == 0
        && msg[HEADER..HEADER + 3] == [1, b'2', 9]
        && msg[HEADER + 3..HEADER + 12].eq_ignore_ascii_case(b"securedns")
}

/// Read one message, counting it in `messages` (the flow's count so far).
fn read_counted(messages: &mut u8, msg: &[u8], facts: &mut FlowFacts) -> Parsed {
    let first = *messages == 0;
    *messages = messages.saturating_add(1);
    match read_message(msg, facts, first) {
        Parsed::Updated | Parsed::Continue if *messages >= MAX_MESSAGES => Parsed::Done,
        outcome => outcome,
    }
}

/// Read one DNS message into the facts; `first` when it is the flow's first message.
fn read_message(msg: &[u8], facts: &mut FlowFacts, first: bool) -> Parsed {
    let Some(header) = Header::read(msg) else {
        return Parsed::Skipped(Skip::Malformed);
    };
    // nDPI reads only an LLMNR flow's first message.
    let names_flow = first || facts.protocol != protocol::LLMNR;
    let mut name = NameBuf::new();
    let mut updated = false;
    let dns = facts.app_protocol.dns_mut();
    // The first name of the message, whatever its section, names the flow.
    if let Some(next) = name.read(msg, HEADER) {
        let same = dns.query.as_deref().is_some_and(|q| q.as_bytes().eq_ignore_ascii_case(name.as_bytes()));
        if names_flow && !name.is_empty() && !same {
            let fact = name.to_fact();
            let previous = dns.query.replace(fact.clone());
            if previous.is_some() && facts.detected_hostname() == previous.as_deref() {
                facts.set_detected_hostname(fact);
            }
            updated = true;
        }
        let dns = facts.app_protocol.dns_mut();
        if names_flow && header.qdcount > 0 {
            if let Some(qtype) = be_u16_at(msg, next).filter(|&t| t != dns.query_type) {
                dns.query_type = qtype;
                updated = true;
            }
        }
    }
    let dns = facts.app_protocol.dns_mut();
    let mut pos = HEADER;
    for _ in 0..header.qdcount {
        let Some(next) = name.read(msg, pos) else {
            return if updated { Parsed::Updated } else { Parsed::Skipped(Skip::Malformed) };
        };
        if be_u16_at(msg, next + 2).is_none() {
            return if updated { Parsed::Updated } else { Parsed::Skipped(Skip::Malformed) };
        }
        pos = next + 4;
    }
    if header.response {
        if dns.rcode != Some(header.rcode) {
            dns.rcode = Some(header.rcode);
            updated = true;
        }
        for _ in 0..header.ancount {
            let Some(next) = name.read(msg, pos) else {
                break;
            };
            let (Some(rtype), Some(ttl), Some(rdlen)) =
                (be_u16_at(msg, next), be_u32_at(msg, next + 4), be_u16_at(msg, next + 8))
            else {
                break;
            };
            let rdata_at = next + 10;
            let Some(rdata) = msg.get(rdata_at..rdata_at + usize::from(rdlen)) else {
                break;
            };
            pos = rdata_at + usize::from(rdlen);
            if dns.answers.len() >= MAX_ANSWERS {
                continue;
            }
            let answer = match (rtype, rdata.len()) {
                (TYPE_A, 4) => <[u8; 4]>::try_from(rdata).ok().map(|a| DnsAnswer::Addr(Ipv4Addr::from(a).into(), ttl)),
                (TYPE_AAAA, 16) => {
                    <[u8; 16]>::try_from(rdata).ok().map(|a| DnsAnswer::Addr(Ipv6Addr::from(a).into(), ttl))
                }
                (TYPE_CNAME, _) => name.read(msg, rdata_at).map(|_| DnsAnswer::Cname(name.to_fact(), ttl)),
                _ => None,
            };
            if let Some(answer) = answer {
                dns.answers.push(answer);
                updated = true;
            }
        }
    }
    if facts.detected_hostname().is_none() {
        if let Some(query) = facts.app_protocol.dns().and_then(|d| d.query.clone()) {
            facts.set_detected_hostname(query);
        }
    }
    // A response with records ends the flow's DNS exchange for nDPI; so does a response without
    // a query before it, and any response on an LLMNR flow. An empty one (an error without an
    // SOA) does not: a later response on the same port may still come.
    let records = u32::from(header.ancount) + u32::from(header.nscount) + u32::from(header.arcount);
    if header.response && (records > 0 || first || facts.protocol == protocol::LLMNR) {
        Parsed::Done
    } else if updated {
        Parsed::Updated
    } else {
        Parsed::Continue
    }
}

/// The fixed header fields we use.
struct Header {
    response: bool,
    rcode: u8,
    qdcount: u16,
    ancount: u16,
    nscount: u16,
    arcount: u16,
}

impl Header {
    fn read(msg: &[u8]) -> Option<Header> {
        let flags = be_u16_at(msg, 2)?;
        Some(Header {
            response: flags & 0x8000 != 0,
            rcode: (flags & 0x000f) as u8,
            qdcount: be_u16_at(msg, 4)?,
            ancount: be_u16_at(msg, 6)?,
            nscount: be_u16_at(msg, 8)?,
            arcount: be_u16_at(msg, 10)?,
        })
    }
}

/// Header plausibility: opcode QUERY, IQUERY, STATUS, NOTIFY or UPDATE; record counts that a
/// real message has.
fn header_sane(msg: &[u8]) -> bool {
    let (Some(flags), Some(qd), Some(an), Some(ns), Some(ar)) =
        (be_u16_at(msg, 2), be_u16_at(msg, 4), be_u16_at(msg, 6), be_u16_at(msg, 8), be_u16_at(msg, 10))
    else {
        return false;
    };
    let opcode = (flags >> 11) & 0xf;
    let response = flags & 0x8000 != 0;
    let z = flags & 0x0040 != 0;
    // RFC 1035 §6.4.1: an inverse query asks with one answer record and no question.
    let inverse_query = opcode == 1 && !response;
    matches!(opcode, 0 | 1 | 2 | 4 | 5)
        && !z
        && qd <= 16
        && an <= 512
        && ns <= 512
        && ar <= 512
        && (qd > 0 || (response && an + ns + ar > 0) || (inverse_query && an == 1))
        && (response || an <= 16)
}

/// A message whose header is sane and whose first record (question, or answer for a response or
/// an inverse query without questions) decodes.
pub fn looks_like_message(msg: &[u8]) -> bool {
    if msg.len() < HEADER + 5 || !header_sane(msg) {
        return false;
    }
    let mut name = NameBuf::new();
    let Some(next) = name.read(msg, HEADER) else {
        return false;
    };
    let (Some(rtype), Some(class)) = (be_u16_at(msg, next), be_u16_at(msg, next + 2)) else {
        return false;
    };
    // mDNS sets the top class bit (unicast-response / cache-flush, RFC 6762 §5.4, §10.2).
    let class = class & 0x7fff;
    rtype != 0 && matches!(class, 1 | 3 | 4 | 254 | 255)
}

/// A decoded name in dotted form, on the stack.
struct NameBuf {
    buf: [u8; MAX_NAME],
    len: usize,
}

impl NameBuf {
    fn new() -> Self {
        NameBuf { buf: [0; MAX_NAME], len: 0 }
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn as_bytes(&self) -> &[u8] {
        self.buf.get(..self.len).unwrap_or_default()
    }

    /// The name as a fact, lower case. Control bytes in a label (never part of a host name)
    /// show as `?`, as nDPI prints them, rather than vanish into another name.
    fn to_fact(&self) -> Box<str> {
        let mut shown = [0u8; MAX_NAME];
        for (to, &from) in shown.iter_mut().zip(self.as_bytes()) {
            *to = if from.is_ascii_control() { b'?' } else { from };
        }
        let shown = shown.get(..self.len).unwrap_or_default();
        fact_string(shown, MAX_NAME).to_ascii_lowercase().into_boxed_str()
    }

    /// Decode the name at `at`; returns the offset just after it in the message (after the
    /// first pointer when compressed). `None` for a malformed name.
    fn read(&mut self, msg: &[u8], mut at: usize) -> Option<usize> {
        self.len = 0;
        let mut end = None;
        // Each pointer must go backwards, so a message can hold at most len/2 of them; a fixed
        // bound is simpler and enough for real names.
        for _ in 0..128 {
            let len = *msg.get(at)?;
            match len >> 6 {
                0 if len == 0 => return Some(end.unwrap_or(at + 1)),
                0 => {
                    let label = msg.get(at + 1..at + 1 + usize::from(len))?;
                    let dot = usize::from(self.len > 0);
                    if self.len + dot + label.len() > MAX_NAME {
                        return None;
                    }
                    if dot == 1 {
                        self.buf[self.len] = b'.';
                    }
                    self.buf.get_mut(self.len + dot..self.len + dot + label.len())?.copy_from_slice(label);
                    self.len += dot + label.len();
                    at += 1 + usize::from(len);
                }
                3 => {
                    let target = usize::from(be_u16_at(msg, at)? & 0x3fff);
                    end.get_or_insert(at + 2);
                    if target >= at {
                        return None;
                    }
                    at = target;
                }
                _ => return None, // extended label types (RFC 6891 §5) are not used in practice
            }
        }
        None
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::facts::Direction;
    use proptest::prelude::*;

    /// A standard query for `name` (wire form) of type `qtype`.
    pub(crate) fn query(name: &[u8], qtype: u16) -> Vec<u8> {
        let mut m = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        m.extend_from_slice(name);
        m.extend_from_slice(&qtype.to_be_bytes());
        m.extend_from_slice(&[0, 1]);
        m
    }

    /// The response to `query(name, 1)`: a CNAME then an A record, both using compression.
    pub(crate) fn response(name: &[u8]) -> Vec<u8> {
        let mut m = query(name, 1);
        m[2] = 0x81;
        m[3] = 0x80;
        m[7] = 2;
        // CNAME: owner = pointer to the question name (offset 12), target "cdn.x" + pointer.
        m.extend_from_slice(&[0xc0, 12, 0, 5, 0, 1, 0, 0, 0, 60, 0, 6, 3, b'c', b'd', b'n', 0xc0, 12]);
        let cname_at = m.len() - 6;
        m.extend_from_slice(&[0xc0, cname_at as u8, 0, 1, 0, 1, 0, 0, 1, 0x2c, 0, 4, 93, 184, 216, 34]);
        m
    }

    fn udp() -> FlowInfo {
        crate::dissect::testing::udp([40000, 53])
    }

    fn seg(direction: Direction, payload: &[u8]) -> Segment<'_> {
        Segment { direction, tcp_seq: None, payload }
    }

    #[test]
    fn query_and_response() {
        let name = b"\x07example\x03COM\x00";
        let q = query(name, 1);
        assert_eq!(DnsDissector::probe_flow(&udp(), &seg(Direction::Forward, &q)), Probe::Certain);
        let mut d = DnsDissector::default();
        let mut f = FlowFacts { ip_protocol: 17, other_port: 53, ..FlowFacts::default() };
        assert_eq!(d.parse(&seg(Direction::Forward, &q), &mut f), Parsed::Updated);
        assert_eq!(f.detected_hostname(), Some("example.com"));
        let r = response(name);
        assert_eq!(d.parse(&seg(Direction::Reverse, &r), &mut f), Parsed::Done);
        let dns = f.app_protocol.dns().unwrap();
        assert_eq!(dns.query.as_deref(), Some("example.com"));
        assert_eq!(dns.rcode, Some(0));
        assert_eq!(
            dns.answers,
            vec![
                DnsAnswer::Cname("cdn.example.com".into(), 60),
                DnsAnswer::Addr(Ipv4Addr::new(93, 184, 216, 34).into(), 300)
            ]
        );
        assert_eq!(f.protocol, protocol::DNS);
    }

    /// Feed messages of one UDP flow (alternating directions do not matter to DNS).
    fn feed(d: &mut DnsDissector, f: &mut FlowFacts, messages: &[&str]) -> Vec<Parsed> {
        messages.iter().map(|m| d.parse(&seg(Direction::Forward, &crate::dissect::testing::hex(m)), f)).collect()
    }

    #[test]
    fn latest_message_names_the_flow() {
        // starcraft_battle.pcap, port 58831: two PTR queries, an empty NXDomain answer to the
        // first (renames, reading goes on), the answer to the second (renames, ends). nDPI:
        // 26.186.239.80.in-addr.arpa after 4 packets.
        let mut d = DnsDissector::default();
        let mut f = FlowFacts { ip_protocol: 17, other_port: 53, ..FlowFacts::default() };
        let steps = feed(
            &mut d,
            &mut f,
            &[
                "e45901000001000000000000033235340131033136380331393207696e2d61646472046172706100000c0001",
                "353d01000001000000000000023236033138360332333902383007696e2d61646472046172706100000c0001",
                "e45981830001000000000000033235340131033136380331393207696e2d61646472046172706100000c0001",
            ],
        );
        assert_eq!(steps, [Parsed::Updated, Parsed::Updated, Parsed::Updated]);
        assert_eq!(f.detected_hostname(), Some("254.1.168.192.in-addr.arpa"));
        let last = feed(&mut d, &mut f, &["353d81800001000200000000023236033138360332333902383007696e2d61646472046172706100000c0001c00c000c000100000009001a0d38302d3233392d3138362d323606617474656e73036e657400"]);
        assert_eq!(last, [Parsed::Done]);
        assert_eq!(f.detected_hostname(), Some("26.186.239.80.in-addr.arpa"));
        assert_eq!(
            f.app_protocol.dns().map(|d| (d.query.as_deref(), d.rcode)),
            Some((Some("26.186.239.80.in-addr.arpa"), Some(0)))
        );
    }

    #[test]
    fn mdns_reads_six_messages_and_announcements_name_the_flow() {
        // anyconnect-vpn.pcap 10.0.0.213: four queries for _companion-link, two for _raop, then
        // _companion-link again. nDPI reads six packets and names the flow _raop._tcp.local.
        let companion = "0000000000030000000000010f5f636f6d70616e696f6e2d6c696e6b045f746370056c6f63616c00000c8001085f686f6d656b6974c01c000c80010c5f736c6565702d70726f7879045f756470c021000c800100002905a00000119400120004000e009a3a810e468ec818810e468ec8";
        let raop = "000000000004000000000001055f72616f70045f746370056c6f63616c00000c8001c00c000c8001085f616972706c6179c012000c8001c028000c800100002905a00000119400120004000e009b3a810e468ec818810e468ec8";
        let mut d = DnsDissector::default();
        let mut f = FlowFacts { ip_protocol: 17, local_port: 5353, other_port: 5353, ..FlowFacts::default() };
        let steps = feed(&mut d, &mut f, &[companion, companion, companion, companion, raop, raop]);
        assert_eq!(steps.last(), Some(&Parsed::Done));
        assert_eq!(f.protocol, protocol::MDNS);
        assert_eq!(f.detected_hostname(), Some("_raop._tcp.local"));

        // 10.0.0.149: a PTR query, an SRV query for the instance, then an announcement (no
        // question) whose first answer is owned by the service name: nDPI says _googlezone.
        let mut d = DnsDissector::default();
        let mut f = FlowFacts { ip_protocol: 17, local_port: 5353, other_port: 5353, ..FlowFacts::default() };
        let steps = feed(&mut d, &mut f, &[
            "0000000000010000000000000b5f676f6f676c657a6f6e65045f746370056c6f63616c00000c0001",
            "0000000000010000000000002437396438386538332d373235632d623731622d626164302d3538363264356232323338360b5f676f6f676c657a6f6e65045f746370056c6f63616c0000210001",
            "0000840000000001000000030b5f676f6f676c657a6f6e65045f746370056c6f63616c00000c00010000007800272437396438386538332d373235632d623731622d626164302d353836326435623232333836c00c",
        ]);
        assert_eq!(steps, [Parsed::Updated, Parsed::Updated, Parsed::Done]);
        assert_eq!(f.detected_hostname(), Some("_googlezone._tcp.local"));
    }

    #[test]
    fn inverse_query_and_control_bytes() {
        // dns_invert_query.pcapng: IQUERY, no question, one A record owned by "216.58.202.4".
        let iquery =
            crate::dissect::testing::hex("77fc09000000000100000000033231360235380332303201340000010001000000000000");
        assert!(looks_like_message(&iquery));
        let mut f = FlowFacts { ip_protocol: 17, other_port: 53, ..FlowFacts::default() };
        assert_eq!(DnsDissector::default().parse(&seg(Direction::Forward, &iquery), &mut f), Parsed::Updated);
        assert_eq!(f.detected_hostname(), Some("216.58.202.4"));
        // dns-invalid-chars.pcap: the answer's question holds bytes 1, 2, 3 in a label; nDPI
        // shows them as '?' (and names the flow by the answer).
        let mut d = DnsDissector::default();
        let mut f = FlowFacts { ip_protocol: 17, other_port: 53, ..FlowFacts::default() };
        let steps = feed(&mut d, &mut f, &[
            "9f6c010000010000000000000377777717616c6c796f7572626104050661726562656c6f6e67746f02636e0000010001",
            "9f6c818000010001000000000377777717616c6c796f757262617365736172650102036f6e67746f02636e0000010001c00c000100010000003c000413b98df1",
        ]);
        assert_eq!(steps[1], Parsed::Done);
        assert_eq!(f.detected_hostname(), Some("www.allyourbasesare???ongto.cn"));
    }

    #[test]
    fn llmnr_is_named_by_its_first_message() {
        let mut d = DnsDissector::default();
        let mut f = FlowFacts { ip_protocol: 17, local_port: 5355, other_port: 5355, ..FlowFacts::default() };
        d.parse(&seg(Direction::Forward, &query(b"\x05first\x00", 1)), &mut f);
        assert_eq!(d.parse(&seg(Direction::Forward, &query(b"\x06second\x00", 1)), &mut f), Parsed::Continue);
        assert_eq!(f.detected_hostname(), Some("first"));
    }

    #[test]
    fn mdns_and_llmnr_by_port() {
        let q = query(b"\x04host\x05local\x00", 1);
        for (port, proto) in [(5353, protocol::MDNS), (5355, protocol::LLMNR)] {
            let mut f = FlowFacts { ip_protocol: 17, other_port: port, local_port: port, ..FlowFacts::default() };
            DnsDissector::default().parse(&seg(Direction::Forward, &q), &mut f);
            assert_eq!(f.protocol, proto);
        }
    }

    #[test]
    fn avast_secure_dns_by_its_first_name() {
        assert_eq!(protocol::name_of(protocol::AVAST_SECURE_DNS), "AVASTSecureDNS");
        let name_of = |name: &[u8], ip_protocol: u8| {
            let mut f = FlowFacts { ip_protocol, other_port: 53, ..FlowFacts::default() };
            let q = query(name, 16);
            let msg = if ip_protocol == 6 { [&(q.len() as u16).to_be_bytes()[..], &q].concat() } else { q };
            DnsDissector::default().parse(&seg(Direction::Forward, &msg), &mut f);
            f.protocol
        };
        assert_eq!(name_of(b"\x012\x09SecureDNS\x05avast\x03com\x00", 17), protocol::AVAST_SECURE_DNS);
        // Another first label, a name too short to hold the signature, over TCP.
        assert_eq!(name_of(b"\x013\x09securedns\x05avast\x03com\x00", 17), protocol::DNS);
        assert_eq!(name_of(b"\x012\x09securedns\x00", 17), protocol::DNS);
        assert_eq!(name_of(b"\x012\x09securedns\x05avast\x03com\x00", 6), protocol::DNS);
    }

    #[test]
    fn tcp_with_length_prefix_split() {
        let q = query(b"\x01a\x02bc\x00", 28);
        let mut framed = (q.len() as u16).to_be_bytes().to_vec();
        framed.extend_from_slice(&q);
        let tcp = crate::dissect::testing::tcp([40000, 53]);
        let s = |p| Segment { direction: Direction::Forward, tcp_seq: Some(0), payload: p };
        assert_eq!(DnsDissector::probe_flow(&tcp, &s(&framed)), Probe::Certain);
        assert_eq!(DnsDissector::probe_flow(&tcp, &s(&framed[..1])), Probe::Unsure);
        let mut d = DnsDissector::default();
        let mut f = FlowFacts { ip_protocol: 6, other_port: 53, ..FlowFacts::default() };
        let (a, b) = framed.split_at(7);
        assert_eq!(
            d.parse(&Segment { direction: Direction::Forward, tcp_seq: Some(10), payload: a }, &mut f),
            Parsed::Continue
        );
        let step = d.parse(&Segment { direction: Direction::Forward, tcp_seq: Some(17), payload: b }, &mut f);
        assert_eq!(step, Parsed::Updated);
        assert_eq!(f.app_protocol.dns().unwrap().query_type, 28);
    }

    #[test]
    fn malformed_names_are_rejected() {
        // A pointer to itself, a label past the end, a forward pointer.
        for name in [&b"\xc0\x0c"[..], b"\x09abc", b"\xc0\x20\x00"] {
            let q = query(name, 1);
            assert!(!looks_like_message(&q), "{name:?}");
        }
        assert!(!looks_like_message(b"GET / HTTP/1.1\r\n\r\n"));
        for cut in 0..40 {
            let r = response(b"\x07example\x03com\x00");
            let mut f = FlowFacts::default();
            read_message(&r[..cut.min(r.len())], &mut f, true);
        }
    }

    proptest! {
        #[test]
        fn never_panics(msg in proptest::collection::vec(any::<u8>(), 0..300), tcp in any::<bool>()) {
            let info = FlowInfo { ip_protocol: if tcp { 6 } else { 17 }, ports: [53, 5353], ..FlowInfo::default() };
            let s = Segment { direction: Direction::Forward, tcp_seq: tcp.then_some(0), payload: &msg };
            let _ = DnsDissector::probe_flow(&info, &s);
            let mut f = FlowFacts { ip_protocol: info.ip_protocol, ..FlowFacts::default() };
            DnsDissector::default().parse(&s, &mut f);
        }

        #[test]
        fn mutated_responses_never_panic(index in 0usize..80, byte in any::<u8>()) {
            let mut r = response(b"\x07example\x03com\x00");
            if let Some(b) = r.get_mut(index) { *b = byte; }
            let mut f = FlowFacts::default();
            read_message(&r, &mut f, true);
        }
    }
}
