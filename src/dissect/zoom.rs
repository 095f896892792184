//! Zoom's media transport to its multimedia routers: UDP ports 8801–8810, the ports Zoom's
//! network firewall rules publish for meeting media. Zoom's header format is its own; the
//! Princeton study of Zoom's packets (ACM IMC 2022, "Enabling Passive Measurement of Zoom
//! Performance in Production Networks") and the Wireshark plugin published with it describe
//! the outer "SFU encapsulation" header of that traffic, its first byte a type:
//!
//! - 5: media; a 16-bit sequence number, 4 bytes, a direction byte (0 or 1 to Zoom, 4 or 5
//!   from Zoom), then the inner media header whose first byte is the media type (1, 7, 13 screen
//!   share, 15 audio, 16 video, 21, 30, 32, 33–35 RTCP);
//! - 1: the client's session request: 2 bytes, a 16-byte transaction ID, 16 bytes of counters
//!   and times, a 32-bit length and that many bytes (at least 39 bytes in all);
//! - 2, 3, 4 and 7: the server's answers and keep-alives, shorter and with less to check.
//!
//! On those ports only, the probe is certain of a media packet (its direction and media type
//! known) or of a session request whose length field fits the datagram; the other types keep
//! Zoom in the running, anything else rules it out.
//!
//! Peer-to-peer calls, on any ports: the wire fact nDPI applies to every UDP flow
//! (docs/ARCHITECTURE.md, "nDPI's signatures are wire facts") is the opening datagram of a
//! direct connection between two clients — the media header type 0x1f, then 0x02 0x01, a
//! 24-byte header, then length-value attributes with 32-bit big-endian lengths (the peer's IP
//! address as text, then an identifier), and four zero bytes that end the datagram, its length
//! exactly what the two lengths make. flowsieve also requires the address to read as an IP
//! address. Zoom's TCP/TLS fallbacks are not covered (their opening packets are not described).

use std::net::IpAddr;

use super::reader::be_u32_at;
use super::{protocol, Dissector, FirstBytes, FlowInfo, Ports, Probe, Segment, Transports};

const MEDIA: u8 = 5;
const SESSION_REQUEST: u8 = 1;
/// The fixed part of a session request, up to and including its length field.
const REQUEST_FIXED: usize = 39;
/// The media header's direction byte: to Zoom (0, 1), from Zoom (4, 5).
const DIRECTIONS: [u8; 4] = [0, 1, 4, 5];
/// The inner media types the study names.
const MEDIA_TYPES: [u8; 11] = [1, 7, 13, 15, 16, 21, 30, 32, 33, 34, 35];

/// A peer-to-peer opening datagram's first bytes.
const P2P: [u8; 3] = [0x1f, 0x02, 0x01];
/// Its header before the attributes.
const P2P_HEADER: usize = 24;
/// The longest IP address text (an IPv6 address with an embedded IPv4 one).
const IP_TEXT_MAX: usize = 45;

/// Whether `p` is a peer-to-peer opening datagram: the header, the peer's address and an
/// identifier as length-value attributes, four zero bytes, nothing else.
fn p2p_opening(p: &[u8]) -> bool {
    if !p.starts_with(&P2P) || !p.ends_with(&[0; 4]) || p.len() <= P2P_HEADER + 12 {
        return false;
    }
    let attribute = |at: usize| -> Option<(&[u8], usize)> {
        let n = usize::try_from(be_u32_at(p, at)?).ok()?;
        let end = at.checked_add(4)?.checked_add(n)?;
        Some((p.get(at + 4..end)?, end))
    };
    let Some((ip, next)) = attribute(P2P_HEADER) else { return false };
    let Some((_, end)) = attribute(next) else { return false };
    let ip_ok =
        ip.len() <= IP_TEXT_MAX && std::str::from_utf8(ip).ok().and_then(|s| s.parse::<IpAddr>().ok()).is_some();
    ip_ok && end + 4 == p.len()
}

/// Zoom needs no state: the probe decides.
#[derive(Debug, Default)]
pub struct ZoomDissector;

impl Dissector for ZoomDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::ZOOM;
    const TRANSPORTS: Transports = Transports::UDP;
    const FIRST_BYTES: FirstBytes = FirstBytes::range(1, 5).with(7).with(P2P[0]);

    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        let p = segment.payload;
        if !flow.is_udp() {
            return Probe::NotForUs;
        }
        if p.first() == Some(&P2P[0]) {
            return Probe::certain_if(p2p_opening(p));
        }
        if !Self::port_hint(flow) {
            return Probe::NotForUs;
        }
        match p.first() {
            Some(&MEDIA) => Probe::certain_if(p.len() > 8 && DIRECTIONS.contains(&p[7]) && MEDIA_TYPES.contains(&p[8])),
            Some(&SESSION_REQUEST) => {
                let fits = be_u32_at(p, REQUEST_FIXED - 4)
                    .and_then(|n| usize::try_from(n).ok())
                    .is_some_and(|n| n <= p.len() - REQUEST_FIXED);
                Probe::certain_if(p.len() >= REQUEST_FIXED && fits)
            }
            Some(2..=4 | 7) => Probe::Unsure,
            _ => Probe::NotForUs,
        }
    }

    const PORTS: Ports = Ports::udp(&[8801, 8802, 8803, 8804, 8805, 8806, 8807, 8808, 8809, 8810]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// zoom.pcap, 192.168.1.117:58327 → 109.94.160.99:8801: the session request (107 bytes,
    /// its length field 0x40).
    const REQUEST: &str = concat!(
        "0100027d464d35fffda234495d0d6d3b51e8960000000000000002007a002a007a002a000000400e",
        "173ddf96025efb95c4240c2353bfcbf060be99dcbbd8c479c7b9732d6c75fa4362f0835eb83e4da9",
        "c6a7e6f309b31e40df0f6bb5756a840f731d9bc1f6a72d00000000"
    );
    /// The server's answer (type 2, 35 bytes).
    const ANSWER: &str = "0200017d464d35fffda234495d0d6d3b51e896005a0e3e007a002a0000000000000000";

    #[test]
    fn session_requests_and_media_name_the_flow() {
        let f = udp([58327, 8801]);
        let request = hex(REQUEST);
        assert_eq!(request.len(), 107);
        assert_eq!(run_one::<ZoomDissector>(&f, &request).0, Probe::Certain);
        assert_eq!(run_one::<ZoomDissector>(&f, &hex(ANSWER)).0, Probe::Unsure);
        // A media packet (type 5) from Zoom carrying audio (15), per the study's layout.
        let media = hex("0512340000000004 0f0000000000000000000000".replace(' ', "").as_str());
        assert_eq!(run_one::<ZoomDissector>(&f, &media).0, Probe::Certain);
        truncations::<ZoomDissector>(&f, &request);
    }

    #[test]
    fn other_datagrams_are_not_zoom() {
        let f = udp([58327, 8801]);
        // The request's length field running past the datagram.
        let mut p = hex(REQUEST);
        p[38] = 0x50;
        assert_eq!(run_one::<ZoomDissector>(&f, &p).0, Probe::NotForUs);
        // Media with an unknown direction or media type.
        assert_eq!(run_one::<ZoomDissector>(&f, &hex("05123400000000020f00")).0, Probe::NotForUs);
        assert_eq!(run_one::<ZoomDissector>(&f, &hex("05123400000000040200")).0, Probe::NotForUs);
        assert_eq!(run_one::<ZoomDissector>(&f, &hex("16fefd0000")).0, Probe::NotForUs);
        // Not off Zoom's ports, not on TCP.
        assert_eq!(run_one::<ZoomDissector>(&udp([58327, 8811]), &hex(REQUEST)).0, Probe::NotForUs);
        assert_eq!(run_one::<ZoomDissector>(&tcp([58327, 8801]), &hex(REQUEST)).0, Probe::NotForUs);
    }

    /// zoom_p2p.pcapng, 192.168.12.156:38453 → 192.168.1.226:41036: the first datagram (85
    /// bytes: the address "192.168.1.226", a 36-character identifier, four zero bytes).
    const P2P_OPENING: &str = concat!(
        "1f0201000800010004005c9b637b0000006400000062a04c0000000d3139322e3136382e312e323236",
        "0000002441463036354438382d414139422d344138312d383041342d423835434433343142393231",
        "00000000"
    );

    #[test]
    fn a_peer_to_peer_opening_is_zoom_on_any_port() {
        let p = hex(P2P_OPENING);
        assert_eq!(p.len(), 85);
        let f = udp([38453, 41036]);
        assert_eq!(run_one::<ZoomDissector>(&f, &p).0, Probe::Certain);
        truncations::<ZoomDissector>(&f, &p);
        // One byte more or less, a trailer that is not zero, an address that is not one.
        let mut longer = p.clone();
        longer.insert(40, b'0');
        assert_eq!(run_one::<ZoomDissector>(&f, &longer).0, Probe::NotForUs);
        assert_eq!(run_one::<ZoomDissector>(&f, &p[..84]).0, Probe::NotForUs);
        let mut trailer = p.clone();
        trailer[84] = 1;
        assert_eq!(run_one::<ZoomDissector>(&f, &trailer).0, Probe::NotForUs);
        let mut address = p.clone();
        address[30] = b'x';
        assert_eq!(run_one::<ZoomDissector>(&f, &address).0, Probe::NotForUs);
        assert_eq!(run_one::<ZoomDissector>(&tcp([38453, 41036]), &p).0, Probe::NotForUs);
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..60)) {
            no_panic::<ZoomDissector>(&udp([1, 8801]), std::slice::from_ref(&p));
            no_panic::<ZoomDissector>(&udp([1, 2]), &[p]);
        }
    }
}
