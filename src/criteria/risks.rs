//! nDPI flow-risk names and their bit numbers, for `risks == 'name'`.
//!
//! Netify passes nDPI's risk bitmap through (docs/FLOW-ACTIONS.md §3.2); bit n is nDPI's
//! `ndpi_risk_enum` value n. The names are that enum's identifiers without `NDPI_`, lower
//! case (`tls_obsolete_version`), which is stable across nDPI releases where the display
//! strings are not; Netify's own names (`'Obsolete TLS (v1.1 or older)'`) are accepted too.
//! Which risks flowsieve computes: `crate::dissect::risks`.

/// Bit number → name (index = bit). Bit 0 is "no risk" and is not nameable.
const RISKS: &[&str] = &[
    "no_risk",
    "url_possible_xss",
    "url_possible_sql_injection",
    "url_possible_rce_injection",
    "binary_application_transfer",
    "known_protocol_on_non_standard_port",
    "tls_selfsigned_certificate",
    "tls_obsolete_version",
    "tls_weak_cipher",
    "tls_certificate_expired",
    "tls_certificate_mismatch",
    "http_suspicious_user_agent",
    "numeric_ip_host",
    "http_suspicious_url",
    "http_suspicious_header",
    "tls_not_carrying_https",
    "suspicious_dga_domain",
    "malformed_packet",
    "ssh_obsolete_client_version_or_cipher",
    "ssh_obsolete_server_version_or_cipher",
    "smb_insecure_version",
    "tls_suspicious_esni_usage",
    "unsafe_protocol",
    "dns_suspicious_traffic",
    "tls_missing_sni",
    "http_suspicious_content",
    "risky_asn",
    "risky_domain",
    "malicious_fingerprint",
    "malicious_sha1_certificate",
    "desktop_or_file_sharing_session",
    "tls_uncommon_alpn",
    "tls_cert_validity_too_long",
    "tls_suspicious_extension",
    "tls_fatal_alert",
    "suspicious_entropy",
    "clear_text_credentials",
    "dns_large_packet",
    "dns_fragmented",
    "invalid_characters",
    "possible_exploit",
    "tls_certificate_about_to_expire",
    "punycode_idn",
    "error_code_detected",
    "http_crawler_bot",
    "anonymous_subscriber",
    "unidirectional_traffic",
    "http_obsolete_server",
    "periodic_flow",
    "minor_issues",
    "tcp_issues",
    "fully_encrypted",
    "tls_alpn_sni_mismatch",
    "malware_host_contacted",
    "binary_data_transfer",
    "probing_attempt",
    "obfuscated_traffic",
];

/// Netify's risk names (its `risks == 'Obsolete TLS (v1.1 or older)'` form, netifyd 5.0.7's
/// table) and the nDPI bit each stands for; 5.2's additions at the end.
const NETIFY_NAMES: &[(&str, u8)] = &[
    ("Anonymous Subscriber", 45),
    ("Binary Application Transfer", 4),
    ("Clear-Text Credentials", 36),
    ("Desktop/File Sharing", 30),
    ("Fragmented DNS Message", 38),
    ("Large DNS Packet (512+ bytes)", 37),
    ("Suspicious DNS Traffic", 23),
    ("Error Code", 43),
    ("Crawler/Bot", 44),
    ("Numeric IP Address", 12),
    ("HTTP Suspicious Content", 25),
    ("HTTP Suspicious Header", 14),
    ("HTTP Suspicious URL", 13),
    ("HTTP Suspicious User-Agent", 11),
    ("Text With Non-Printable Characters", 39),
    ("Known Protocol on Non-standard Port", 5),
    ("Malformed Packet", 17),
    ("Malicious JA3 Fingerprint", 28),
    ("Malicious SSL Cert/SHA1 Fingerprint", 29),
    ("Possible Exploit", 40),
    ("IDN Domain Name", 42),
    ("Risky ASN", 26),
    ("Risky Domain Name", 27),
    ("SMB Insecure Version", 20),
    ("SSH Obsolete Client Version/Cipher", 18),
    ("SSH Obsolete Server Version/Cipher", 19),
    ("Suspicious DGA Domain name", 16),
    ("Suspicious Entropy", 35),
    ("TLS Certificate About To Expire", 41),
    ("TLS Certificate Expired", 9),
    ("TLS Certificate Mismatch", 10),
    ("TLS Certificate Validity Too Long", 32),
    ("TLS Fatal Alert", 34),
    ("TLS SNI Extension Not Found", 24),
    ("Obsolete TLS (v1.1 or older)", 7),
    ("Self-signed Certificate", 6),
    ("TLS Suspicious ESNI Usage", 21),
    ("TLS Suspicious Extension", 33),
    ("Uncommon TLS ALPN", 31),
    ("Weak TLS Cipher", 8),
    ("Unsafe Protocol", 22),
    ("RCE Injection", 3),
    ("SQL Injection", 2),
    ("XSS Attack", 1),
    ("Unidirectional Traffic", 46),
    ("TLS ALPN Not Found", 15),
    ("HTTP Obsolete Server", 47),
    ("Periodic Flow", 48),
    ("Minor Issues", 49),
    ("TCP Connection Issues", 50),
    ("Fully Encrypted Flow", 51),
    ("TLS ALPN/SNI Mismatch", 52),
    ("Binary File/Data Transfer", 54),
    ("Probing Attempt", 55),
    ("Malicous Fingerprint", 28),
    ("Obfuscated Traffic", 56),
    // Two names of Netify's table stand for no nDPI risk: `None` (ID 0) is never in a flow's set,
    // and `TODO Add Risk` is what netifyd reports for an nDPI risk it has no name for, which
    // flowsieve never computes (every risk it computes has a name). Both test bit 0 (nDPI's "no
    // risk"), which no flow carries: `==` is false and `!=` true, as in netifyd for `None`.
    ("None", 0),
    ("TODO Add Risk", 0),
];

/// Older spellings of renamed risks.
const OLD_NAMES: &[(&str, u8)] = &[("malicious_ja3", 28), ("http_numeric_ip_host", 12)];

/// Largest bit a risk can have: the bitmap is 64 bits.
pub const MAX_BIT: u64 = 63;

/// The bit for a name: case-insensitive, with or without the `ndpi_` prefix.
pub fn bit_of(name: &str) -> Option<u8> {
    let lower = name.to_ascii_lowercase();
    let bare = lower.strip_prefix("ndpi_").unwrap_or(&lower);
    if let Some(i) = RISKS.iter().skip(1).position(|r| *r == bare) {
        return u8::try_from(i + 1).ok();
    }
    if let Some(&(_, bit)) = OLD_NAMES.iter().find(|(n, _)| *n == bare) {
        return Some(bit);
    }
    NETIFY_NAMES.iter().find(|(n, _)| n.eq_ignore_ascii_case(name.trim())).map(|&(_, b)| b)
}

/// The name of a bit, when known.
pub fn name_of(bit: u64) -> Option<&'static str> {
    usize::try_from(bit).ok().filter(|&b| b > 0).and_then(|b| RISKS.get(b)).copied()
}

/// The error for an unknown risk name, with the closest known one.
pub fn unknown_message(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let closest = RISKS[1..]
        .iter()
        .map(|r| (crate::input::edit_distance(&lower, r), *r))
        .filter(|&(d, r)| d <= (r.len() / 3).max(2))
        .min_by_key(|&(d, _)| d);
    match closest {
        Some((_, r)) => format!("unknown risk `{name}`: did you mean `{r}`?"),
        None => format!(
            "unknown risk `{name}`: risks are nDPI's risk names in lower case without `NDPI_` \
             (e.g. `tls_obsolete_version`), Netify's names (e.g. `Weak TLS Cipher`) or bit numbers 1 to {MAX_BIT}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_bits() {
        assert_eq!(bit_of("tls_obsolete_version"), Some(7));
        assert_eq!(bit_of("NDPI_TLS_WEAK_CIPHER"), Some(8));
        assert_eq!(bit_of("malicious_ja3"), Some(28));
        assert_eq!(bit_of("no_risk"), None);
        assert_eq!(bit_of("unidirectional_traffic"), Some(46));
        assert_eq!(bit_of("Obsolete TLS (v1.1 or older)"), Some(7));
        assert_eq!(bit_of("weak tls cipher"), Some(8));
        assert_eq!(bit_of("Self-signed Certificate"), Some(6));
        assert_eq!(bit_of("TLS SNI Extension Not Found"), Some(24));
        assert_eq!(bit_of("Known Protocol on Non-standard Port"), Some(5));
        assert_eq!(bit_of("Clear-Text Credentials"), Some(36));
        assert_eq!(bit_of("Suspicious DGA Domain name"), Some(16));
        assert_eq!(name_of(24), Some("tls_missing_sni"));
        assert_eq!(name_of(0), None);
        assert_eq!(name_of(99), None);
        assert!(RISKS.len() as u64 <= MAX_BIT + 1);
        assert!(unknown_message("tls_obsolete_versoin").ends_with("did you mean `tls_obsolete_version`?"));
    }

    #[test]
    fn netify_names_in_criteria() {
        use crate::facts::FlowFacts;
        let c = crate::criteria::Criteria::compile("risks == 'Obsolete TLS (v1.1 or older)';").unwrap();
        assert!(c.warnings().is_empty(), "{:?}", c.warnings());
        let mut f = FlowFacts::default();
        assert!(!c.matches(&f));
        f.risk.risks = 1 << 7;
        assert!(c.matches(&f));
        // Netify's two names without an nDPI risk load, and never match.
        for name in ["None", "TODO Add Risk"] {
            let c = crate::criteria::Criteria::compile(&format!("risks == '{name}';")).unwrap();
            assert!(c.warnings().is_empty(), "{:?}", c.warnings());
            f.risk.risks = u64::MAX << 1;
            assert!(!c.matches(&f), "{name}");
        }
    }
}
