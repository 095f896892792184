//! Google QUIC (gQUIC, versions Q024–Q046): the client's first packets carry a plaintext
//! crypto handshake message, the CHLO, whose tag/value pairs include the server name (`SNI`)
//! and the user agent (`UAID`). Layout from Chromium's QUIC crypto design ("QUIC Crypto",
//! message format: tag, entry count, then (tag, end offset) pairs and the values).
//!
//! The version is read from the public header: before Q046 a flags byte (0x01 version
//! present, 0x08 eight-byte connection ID) then the connection ID and the version; from Q046 an
//! IETF-style long header with the version right after the first byte. Versions are four ASCII
//! characters, `Q` and three digits, as nDPI shows them. Q050 (and T050/T051, which carry TLS)
//! protect the Initial as IETF QUIC does, with their own salts: `quic.rs` opens them and hands
//! Q050's CHLO to [`record_chlo`].
//!
//! Snapchat's calls (AddLive) open a Q046 connection to the media server, by address (no `SNI`
//! in the CHLO), then send RTP and RTCP on the same 5-tuple. QUIC's packets all have the fixed
//! bit (0x40) set; an RTP or RTCP packet (RFC 3550 §5.1, §6.4) starts with version 2 (`10` in the
//! top two bits) and so has it clear (RFC 7983 §7 uses the same first-byte split). After an
//! SNI-less Q046 CHLO the dissector keeps reading: the first packet without the fixed bit that is
//! RTP or RTCP as the RTP dissector reads a datagram (`dissect::rtp`: a whole RTP header with an
//! assigned or dynamic payload type and a non-zero SSRC, or a compound RTCP packet the datagram
//! holds exactly, or SRTCP) marks the flow
//! ([`crate::facts::TlsFacts::media_after_handshake`]); any other such packet ends the search.
//! nDPI names such flows Snapchat's calls the same way.

use super::text::fact_string;
use super::{protocol, Dissector, Parsed, Ports, Probe, Segment, Skip, Transports};
use crate::facts::FlowFacts;

const TAG_CHLO: &[u8; 4] = b"CHLO";
const TAG_SNI: &[u8; 4] = b"SNI\0";
const TAG_UAID: &[u8; 4] = b"UAID";
/// Entries of a real CHLO number a few dozen.
pub(super) const MAX_ENTRIES: usize = 128;
/// Client packets looked at for a CHLO.
const MAX_PACKETS: u8 = 4;
/// Packets looked at after an SNI-less Q046 CHLO for RTP or RTCP.
const MEDIA_PACKETS: u8 = 24;
/// Q046, the version whose calls carry media (see the module doc).
const Q046: &[u8; 4] = b"Q046";

/// Per-flow state: client packets seen, then packets read looking for media.
#[derive(Debug, Default)]
pub struct GquicDissector {
    packets: u8,
    media_packets: Option<u8>,
}

/// `Q` and three digits.
fn is_version(v: &[u8]) -> bool {
    v.len() == 4 && v[0] == b'Q' && v[1..].iter().all(u8::is_ascii_digit)
}

/// The version of a client packet that announces one.
fn version(p: &[u8]) -> Option<&[u8]> {
    let flags = *p.first()?;
    if flags & 0x80 != 0 {
        // Q046: long header, fixed bit set, version after the first byte.
        return p.get(1..5).filter(|v| flags & 0x40 != 0 && is_version(v));
    }
    if flags & 0x01 == 0 || flags & 0x40 != 0 {
        return None;
    }
    let cid = if flags & 0x08 != 0 { 8 } else { 0 };
    p.get(1 + cid..5 + cid).filter(|v| is_version(v))
}

/// The version as a number, its four ASCII bytes big-endian (how `quic_version` keeps it).
fn version_number(v: &[u8]) -> u32 {
    v.iter().fold(0, |n, &b| (n << 8) | u32::from(b))
}

/// Tag/value pairs of the CHLO found in `p`: calls `each(tag, value)`. False when there is no
/// well-formed CHLO.
fn chlo_entries(p: &[u8], mut each: impl FnMut(&[u8], &[u8])) -> bool {
    let Some(at) = p.windows(4).position(|w| w == TAG_CHLO) else { return false };
    let msg = p.get(at..).unwrap_or_default();
    let Some(count) = msg.get(4..6).map(|c| usize::from(u16::from_le_bytes([c[0], c[1]]))) else { return false };
    if count == 0 || count > MAX_ENTRIES {
        return false;
    }
    let index_at = 8;
    let values_at = index_at + count * 8;
    let Some(values) = msg.get(values_at..) else { return false };
    let mut start = 0usize;
    for i in 0..count {
        let Some(entry) = msg.get(index_at + i * 8..index_at + i * 8 + 8) else { return false };
        let end = u32::from_le_bytes([entry[4], entry[5], entry[6], entry[7]]) as usize;
        let Some(value) = values.get(start..end) else { return false };
        each(&entry[..4], value);
        start = end;
    }
    true
}

impl Dissector for GquicDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::QUIC;
    const TRANSPORTS: Transports = Transports::NOT_TCP;

    fn probe(segment: &Segment<'_>) -> Probe {
        Probe::certain_if(segment.tcp_seq.is_none() && version(segment.payload).is_some())
    }

    const PORTS: Ports = Ports::udp(&[443]);

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        let p = segment.payload;
        if let Some(seen) = self.media_packets.as_mut() {
            *seen = seen.saturating_add(1);
            return match p.first() {
                Some(b) if b & 0x40 != 0 => {
                    if *seen >= MEDIA_PACKETS {
                        Parsed::Done
                    } else {
                        Parsed::Continue
                    }
                }
                Some(_) if super::rtp::is_media(p) => {
                    facts.tls.set_media_after_handshake();
                    Parsed::Done
                }
                Some(_) => Parsed::Done,
                None => Parsed::Continue,
            };
        }
        let Some(v) = version(p) else {
            return if self.packets == 0 { Parsed::Skipped(Skip::Malformed) } else { Parsed::Continue };
        };
        self.packets = self.packets.saturating_add(1);
        let mut outcome = Parsed::Continue;
        if facts.quic_version == 0 {
            facts.quic_version = version_number(v);
            outcome = Parsed::Updated;
        }
        if record_chlo(p, facts) {
            if v == Q046 && facts.detected_hostname().is_none() {
                self.media_packets = Some(0);
                return outcome;
            }
            Parsed::Done
        } else if self.packets >= MAX_PACKETS {
            Parsed::Done
        } else {
            outcome
        }
    }
}

/// Server name and user agent from the CHLO found in `p` (a plaintext packet here, Q050's
/// decrypted CRYPTO stream in `quic.rs`). False when there is no well-formed CHLO.
pub(super) fn record_chlo(p: &[u8], facts: &mut FlowFacts) -> bool {
    chlo_entries(p, |tag, value| {
        let printable = !value.is_empty() && value.iter().all(|&b| (0x20..0x7f).contains(&b));
        if !printable {
            return;
        }
        if tag == TAG_SNI && facts.detected_hostname().is_none() {
            let host = fact_string(value, 255).to_ascii_lowercase();
            // A public resolver's DNS-over-HTTPS host is DoH over gQUIC as over IETF QUIC
            // (`tls::dns_protocol`).
            if super::tls::is_doh_host(&host) {
                facts.protocol = protocol::DOH;
            }
            facts.set_detected_hostname(host);
        } else if tag == TAG_UAID {
            let http = facts.app_protocol.http_mut();
            if http.user_agent.is_none() {
                http.user_agent = Some(fact_string(value, 512));
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dissect::testing::*;
    use proptest::prelude::*;

    /// A Q043-style client packet: flags, 8-byte CID, version, packet number, then a CHLO
    /// (values as in nDPI's quic_q43.pcap).
    fn q043_packet() -> Vec<u8> {
        let mut p = vec![0x09];
        p.extend_from_slice(&[1, 2, 3, 4, 5, 6, 7, 8]);
        p.extend_from_slice(b"Q043");
        p.push(1); // packet number
        p.extend_from_slice(&[0xa0, 0x01, 0x04, 0x00]); // stream frame header (not read)
        p.extend_from_slice(b"CHLO");
        p.extend_from_slice(&[3, 0, 0, 0]);
        let values: [(&[u8; 4], &[u8]); 3] =
            [(b"PAD\0", &[0x2d; 5]), (b"SNI\0", b"dns.google.com"), (b"UAID", b"Chrome/73.0.3683.86 Linux x86_64")];
        let mut end = 0u32;
        for (tag, value) in values {
            end += value.len() as u32;
            p.extend_from_slice(tag);
            p.extend_from_slice(&end.to_le_bytes());
        }
        for (_, value) in values {
            p.extend_from_slice(value);
        }
        p
    }

    #[test]
    fn chlo_names_the_server_and_agent() {
        let f = udp([40000, 443]);
        let (probe, parsed, facts) = run_one::<GquicDissector>(&f, &q043_packet());
        assert_eq!(probe, Probe::Certain);
        assert_eq!(parsed, Parsed::Done);
        assert_eq!(facts.detected_hostname(), Some("dns.google.com"));
        // Google's DNS-over-HTTPS host: DoH, as over IETF QUIC.
        assert_eq!(facts.protocol, protocol::DOH);
        assert_eq!(crate::dissect::quic::version_name(facts.quic_version), "Q043");
        let ua = facts.app_protocol.http().and_then(|h| h.user_agent.as_deref());
        assert_eq!(ua, Some("Chrome/73.0.3683.86 Linux x86_64"));
        truncations::<GquicDissector>(&f, &q043_packet());
    }

    #[test]
    fn q046_long_header() {
        let mut p = vec![0xc3];
        p.extend_from_slice(b"Q046");
        p.extend_from_slice(&[0x50, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 1]);
        assert_eq!(run_one::<GquicDissector>(&udp([40000, 443]), &p).0, Probe::Certain);
        p[1] = b'X';
        assert_eq!(run_one::<GquicDissector>(&udp([40000, 443]), &p).0, Probe::NotForUs);
    }

    /// A Q046 client packet (long header, 8-byte connection ID, packet number) whose CHLO has
    /// the given entries.
    fn q046_packet(values: &[(&[u8; 4], &[u8])]) -> Vec<u8> {
        let mut p = vec![0xc3];
        p.extend_from_slice(b"Q046");
        p.extend_from_slice(&[0x50, 1, 2, 3, 4, 5, 6, 7, 8, 0, 0, 0, 1]);
        p.extend_from_slice(b"CHLO");
        p.extend_from_slice(&[u8::try_from(values.len()).unwrap(), 0, 0, 0]);
        let mut end = 0u32;
        for (tag, value) in values {
            end += value.len() as u32;
            p.extend_from_slice(*tag);
            p.extend_from_slice(&end.to_le_bytes());
        }
        for (_, value) in values {
            p.extend_from_slice(value);
        }
        p
    }

    /// Runs `packets` through one dissector; the last outcome and the facts.
    fn run(packets: &[Vec<u8>]) -> (Parsed, FlowFacts) {
        let f = udp([42083, 443]);
        let mut d = GquicDissector::default();
        let mut facts = FlowFacts::default();
        let mut last = Parsed::Continue;
        for p in packets {
            last = d.parse(&segment(&f, crate::facts::Direction::Forward, 0, p), &mut facts);
            if last == Parsed::Done {
                break;
            }
        }
        (last, facts)
    }

    #[test]
    fn rtp_after_an_sni_less_q046_handshake_is_marked() {
        let chlo = q046_packet(&[(b"PAD\0", &[0x2d; 5]), (b"VER\0", b"Q046")]);
        // A QUIC short-header packet (fixed bit set), then an RTCP receiver report (RFC 3550
        // §6.4.2: version 2, PT 201, length 1 = 8 bytes) as Snapchat's calls send them.
        let short = vec![0x40, 0xc3, 0x80, 0x46, 0xe7, 0x7a, 0xa3, 0x06];
        let rr = vec![0x80, 0xc9, 0x00, 0x01, 0x12, 0x79, 0x68, 0x54];
        let (parsed, facts) = run(&[chlo.clone(), short.clone(), rr.clone()]);
        assert_eq!(parsed, Parsed::Done);
        assert!(facts.tls.media_after_handshake());
        // An RTP packet (PT 120, a whole 12-byte header) does the same.
        let rtp = vec![0x80, 0xf8, 0x7d, 0x48, 0, 0, 0, 1, 0x54, 0x59, 0x28, 0x24, 0xaa];
        assert!(run(&[chlo.clone(), rtp.clone()]).1.tls.media_after_handshake());
        // Near misses: an RTCP report whose length overruns the datagram, a truncated RTP
        // header, a first byte of version 0 (fixed bit clear too), and media after a CHLO that
        // names its server.
        let long_rr = vec![0x80, 0xc9, 0x00, 0x07, 0x12, 0x79, 0x68, 0x54];
        let version0 = vec![0x20, 0xc9, 0x00, 0x01, 0x12, 0x79, 0x68, 0x54];
        for after in [long_rr, rtp[..11].to_vec(), version0] {
            let (parsed, facts) = run(&[chlo.clone(), after.clone()]);
            assert_eq!(parsed, Parsed::Done, "{after:02x?}");
            assert!(!facts.tls.media_after_handshake(), "{after:02x?}");
        }
        let named = q046_packet(&[(b"SNI\0", b"example.com")]);
        let (parsed, facts) = run(&[named, rr.clone()]);
        assert_eq!(parsed, Parsed::Done);
        assert!(!facts.tls.media_after_handshake());
        // A server name that is no DoH host leaves the protocol alone.
        assert_ne!(facts.protocol, protocol::DOH);
        // Other versions end at the CHLO, as before.
        let (parsed, facts) = run(&[q043_packet(), rr]);
        assert_eq!(parsed, Parsed::Done);
        assert!(!facts.tls.media_after_handshake());
    }

    proptest! {
        #[test]
        fn never_panics(p in proptest::collection::vec(any::<u8>(), 0..200)) {
            no_panic::<GquicDissector>(&udp([1, 443]), &[p.clone(), p]);
        }

        #[test]
        fn mutated_chlo_never_panics(i in 0usize..120, b in any::<u8>()) {
            let mut p = q043_packet();
            let at = i % p.len();
            p[at] = b;
            no_panic::<GquicDissector>(&udp([1, 443]), &[p]);
        }
    }
}
