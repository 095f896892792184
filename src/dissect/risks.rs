//! Flow risks flowsieve can establish from its own facts, with nDPI's bit numbers (Netify
//! reports nDPI's risk bitmap; the criteria attribute `risks` reads it) and nDPI's scores.
//!
//! Computed: obsolete TLS version, weak TLS cipher, TLS without SNI, known protocol on a
//! non-standard port, suspicious DGA-like host name (when detection completes); self-signed
//! certificate (the TLS dissector, from the leaf certificate); clear-text credentials (HTTP
//! Basic authorization; FTP and POP3 `USER`/`PASS`, IMAP `LOGIN` outside TLS). Like Netify, the
//! set is complete only when detection completes: the `risks` attribute is not final before.

use super::cipher_suites::cipher_name;
use super::registry::flow_info;
use crate::facts::protocol::{self, ProtocolId};
use crate::facts::FlowFacts;

pub const KNOWN_PROTOCOL_ON_NON_STANDARD_PORT: u8 = 5;
pub const TLS_SELFSIGNED_CERTIFICATE: u8 = 6;
pub const TLS_OBSOLETE_VERSION: u8 = 7;
pub const TLS_WEAK_CIPHER: u8 = 8;
pub const SUSPICIOUS_DGA_DOMAIN: u8 = 16;
pub const TLS_MISSING_SNI: u8 = 24;
pub const CLEAR_TEXT_CREDENTIALS: u8 = 36;

/// nDPI's severity points and client share (percent) of each computed risk (nDPI 4.8:
/// LOW 10, MEDIUM 50, HIGH 100, SEVERE 150).
const SCORES: &[(u8, u16, u16)] = &[
    (KNOWN_PROTOCOL_ON_NON_STANDARD_PORT, 50, 50),
    (TLS_SELFSIGNED_CERTIFICATE, 100, 90),
    (TLS_OBSOLETE_VERSION, 100, 90),
    (TLS_WEAK_CIPHER, 100, 90),
    (SUSPICIOUS_DGA_DOMAIN, 100, 90),
    (TLS_MISSING_SNI, 50, 50),
    (CLEAR_TEXT_CREDENTIALS, 100, 90),
];

/// Protocols with well-known server ports (as nDPI's default ports for them): found on none
/// of them, the flow carries `known_protocol_on_non_standard_port`.
const STANDARD_PORTS: &[(ProtocolId, &[u16])] = &[
    (protocol::HTTP, &[80]),
    (protocol::TLS, &[443]),
    (protocol::HTTPS, &[443]),
    (protocol::SSH, &[22]),
    (protocol::FTP_CONTROL, &[21]),
    (protocol::SMTP, &[25, 587]),
    (protocol::POP3, &[110]),
    (protocol::IMAP, &[143]),
    (protocol::DNS, &[53]),
    (protocol::RDP, &[3389]),
    (protocol::MYSQL, &[3306]),
    (protocol::POSTGRES, &[5432]),
];

/// Sets risk `bit` on the flow.
pub fn flag(facts: &mut FlowFacts, bit: u8) {
    facts.risk.risks |= 1u64 << bit;
}

/// Risks known once detection is over, and the scores of all the flow's risks.
pub fn assess(facts: &mut FlowFacts) {
    let mut bits = facts.risk.risks;
    let tls = &facts.tls;
    let hello_seen = tls.ja4().is_some();
    if matches!(tls.version, 0x0300..=0x0302) || tls.version == 0xfeff {
        bits |= 1 << TLS_OBSOLETE_VERSION;
    }
    if tls.cipher != 0 && cipher_name(tls.cipher).is_some_and(is_weak_cipher) {
        bits |= 1 << TLS_WEAK_CIPHER;
    }
    if hello_seen && tls.sni().is_none() {
        bits |= 1 << TLS_MISSING_SNI;
    }
    if facts.detected_hostname().is_some_and(looks_generated) {
        bits |= 1 << SUSPICIOUS_DGA_DOMAIN;
    }
    if !facts.detection_guessed {
        if let Some((_, ports)) = STANDARD_PORTS.iter().find(|(p, _)| *p == facts.protocol) {
            let flow = flow_info(facts);
            if !ports.iter().any(|&port| flow.has_port(port)) {
                bits |= 1 << KNOWN_PROTOCOL_ON_NON_STANDARD_PORT;
            }
        }
    }
    if bits == 0 {
        return; // no risk: the risk facts stay unboxed
    }
    let (mut score, mut client) = (0u16, 0u16);
    for &(bit, points, client_share) in SCORES {
        if bits & (1 << bit) != 0 {
            score += points;
            client += points * client_share / 100;
        }
    }
    let risk = &mut *facts.risk;
    risk.risks = bits;
    risk.score = score;
    risk.score_client = client;
    risk.score_server = score - client;
}

/// Second-level labels under which country-code domains register names (`example.co.uk`,
/// `example.com.au`).
const SECOND_LEVELS: &[&str] = &["ac", "co", "com", "edu", "go", "gob", "gov", "mil", "ne", "net", "or", "org"];

/// Whether a host name's registrable label (the one left of the public suffix: `example` in
/// `www.example.com` and `www.example.co.uk`) looks algorithmically generated: at least 8
/// letters and digits, nothing else, switching between letters and digits at least 4 times
/// (`q4cyamnc6mtokj`, `e6r5p57kbafw`). People and brands rarely mix them so (`24x7`, `web3`
/// switch once or twice); generators drawing from both alphabets do all the time. A general
/// heuristic with no trained data, so letter-only generated names (`gfuhbxpfp`) are not caught;
/// docs/FLOW-ACTIONS.md, "Risks", gives its measured false-positive rate.
pub fn looks_generated(host: &str) -> bool {
    let host = host.strip_suffix('.').unwrap_or(host);
    let mut labels = host.rsplit('.');
    let tld = labels.next().unwrap_or_default();
    let (Some(second), third) = (labels.next(), labels.next()) else { return false };
    let label = match third {
        Some(third) if tld.len() == 2 && SECOND_LEVELS.iter().any(|s| s.eq_ignore_ascii_case(second)) => third,
        _ => second,
    };
    if label.len() < 8 || !label.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return false;
    }
    let switches = label.as_bytes().windows(2).filter(|w| w[0].is_ascii_digit() != w[1].is_ascii_digit()).count();
    switches >= 4
}

/// A cipher suite nDPI counts as weak: no encryption, export grade, anonymous key exchange,
/// RC4, DES or 3DES, or an MD5 MAC.
fn is_weak_cipher(name: &str) -> bool {
    ["_NULL_", "_EXPORT", "_anon_", "_RC4_", "_DES_", "_DES40_", "3DES", "_MD5"].iter().any(|w| name.contains(w))
        || name.ends_with("_NULL_SHA")
        || name.ends_with("_NULL_SHA256")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Ja4;

    fn tls_flow(version: u16, cipher: u16, sni: Option<&str>, port: u16) -> FlowFacts {
        let mut f = FlowFacts { ip_protocol: 6, other_port: port, local_port: 50000, ..FlowFacts::default() };
        f.protocol = protocol::TLS;
        f.tls.version = version;
        f.tls.cipher = cipher;
        f.tls.set_ja4(Ja4::new("t13d1516h2_8daaf6152771_02713d6af862").unwrap());
        if let Some(sni) = sni {
            f.set_tls_sni(sni);
        }
        f
    }

    #[test]
    fn tls_risks_and_scores() {
        let mut f = tls_flow(0x0302, 0x0005, None, 8443); // TLS 1.1, RC4-SHA, no SNI, port 8443
        assess(&mut f);
        let bits = f.risk.risks;
        for bit in [TLS_OBSOLETE_VERSION, TLS_WEAK_CIPHER, TLS_MISSING_SNI, KNOWN_PROTOCOL_ON_NON_STANDARD_PORT] {
            assert!(bits & (1 << bit) != 0, "bit {bit} in {bits:#x}");
        }
        assert_eq!(f.risk.score, 300);
        assert_eq!(f.risk.score_client + f.risk.score_server, 300);
        assert_eq!(f.risk.score_client, 90 + 90 + 25 + 25);

        let mut modern = tls_flow(0x0304, 0x1301, Some("example.com"), 443);
        assess(&mut modern);
        assert_eq!(modern.risk.risks, 0);
        assert!(!modern.risk.is_present(), "no risk, no box");
    }

    #[test]
    fn weak_ciphers_by_name() {
        for weak in ["TLS_RSA_WITH_RC4_128_SHA", "TLS_RSA_WITH_3DES_EDE_CBC_SHA", "TLS_RSA_WITH_NULL_SHA256"] {
            assert!(is_weak_cipher(weak), "{weak}");
        }
        for strong in [
            "TLS_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        ] {
            assert!(!is_weak_cipher(strong), "{strong}");
        }
    }

    #[test]
    fn guessed_protocols_are_not_on_a_non_standard_port() {
        let mut f = FlowFacts { ip_protocol: 6, other_port: 8080, ..FlowFacts::default() };
        f.protocol = protocol::HTTP;
        f.detection_guessed = true;
        assess(&mut f);
        assert_eq!(f.risk.risks, 0);
        f.detection_guessed = false;
        assess(&mut f);
        assert_eq!(f.risk.risks, 1 << KNOWN_PROTOCOL_ON_NON_STANDARD_PORT);
    }

    #[test]
    fn generated_looking_names() {
        for generated in [
            "www.q4cyamnc6mtokjurvdclt.com",
            "www.e6r5p57kbafwrxj3plz.com",
            "ct7ctrgb6cr7.com",
            "a1b2c3d4e5.co.uk",
            "x.y.6gyip7tqim7sieb.net.",
        ] {
            assert!(looks_generated(generated), "{generated}");
        }
        for human in [
            "www.example.com",
            "bestbuy24x7.com",
            "web3.example.org",
            "s3-eu-west-1.amazonaws.com",
            "cs1138.wpc.edgecastcdn.net",
            "1.2.3.4",
            "localhost",
            "e6r5p57k.example.co.uk",
            "2001:db8::1",
            "q4c6m8k2j.",
        ] {
            assert!(!looks_generated(human), "{human}");
        }
        let mut f = FlowFacts::default();
        f.set_detected_hostname("www.gz8k3hw7q1.com");
        assess(&mut f);
        assert_eq!(f.risk.risks, 1 << SUSPICIOUS_DGA_DOMAIN);
    }
}
