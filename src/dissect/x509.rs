//! Just enough DER (ITU-T X.690) to find the names in an X.509 certificate (RFC 5280 §4.1):
//! the subject's common name, organization and organizational unit, and the subjectAltName DNS
//! names. Everything else is stepped over
//! by its length. Every read is bounds-checked and the walk is a fixed number of levels deep, so
//! any input ends quickly without a panic.

const SEQUENCE: u8 = 0x30;
const SET: u8 = 0x31;
const OID: u8 = 0x06;
const BOOLEAN: u8 = 0x01;
const OCTET_STRING: u8 = 0x04;
/// `[0] EXPLICIT Version` and `[3] EXPLICIT Extensions` of TBSCertificate.
const VERSION_TAG: u8 = 0xa0;
const EXTENSIONS_TAG: u8 = 0xa3;
/// GeneralName `dNSName [2] IMPLICIT IA5String` and `iPAddress [7] IMPLICIT OCTET STRING`
/// (RFC 5280 §4.2.1.6).
const DNS_NAME_TAG: u8 = 0x82;
const IP_ADDRESS_TAG: u8 = 0x87;

/// id-at-commonName 2.5.4.3, id-at-organizationName 2.5.4.10, id-at-organizationalUnitName
/// 2.5.4.11 (RFC 5280 Appendix A.1) and id-ce-subjectAltName 2.5.29.17, as encoded OID contents.
const OID_COMMON_NAME: &[u8] = &[0x55, 0x04, 0x03];
const OID_ORGANIZATION: &[u8] = &[0x55, 0x04, 0x0a];
const OID_ORGANIZATIONAL_UNIT: &[u8] = &[0x55, 0x04, 0x0b];
const OID_SUBJECT_ALT_NAME: &[u8] = &[0x55, 0x1d, 0x11];

/// A name found in a certificate, borrowed from its bytes (not yet checked to be text).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateName<'a> {
    /// The subject's commonName attribute value (any string type, as encoded).
    CommonName(&'a [u8]),
    /// The subject's organizationName attribute value (any string type, as encoded).
    Organization(&'a [u8]),
    /// The subject's organizationalUnitName attribute value (any string type, as encoded).
    OrganizationalUnit(&'a [u8]),
    /// A subjectAltName dNSName.
    DnsName(&'a [u8]),
    /// A subjectAltName iPAddress (4 or 16 bytes).
    IpAddress(std::net::IpAddr),
}

/// Walk a DER certificate and report its subject common names, organizations and units, and
/// its SAN DNS names, in order.
/// Returns `None` when the certificate is malformed before or inside the parts that are read
/// (names reported up to then stand).
pub fn certificate_names<'a>(der: &'a [u8], mut found: impl FnMut(CertificateName<'a>)) -> Option<()> {
    let (tag, certificate) = Der::new(der).next()?;
    if tag != SEQUENCE {
        return None;
    }
    let (tag, tbs) = Der::new(certificate).next()?;
    if tag != SEQUENCE {
        return None;
    }
    let mut tbs = Der::new(tbs);
    let (first, _) = tbs.next()?;
    if first == VERSION_TAG {
        tbs.next()?; // serialNumber
    }
    // signature, issuer, validity, then subject.
    for _ in 0..3 {
        tbs.next()?;
    }
    let (tag, subject) = tbs.next()?;
    if tag != SEQUENCE {
        return None;
    }
    let mut rdns = Der::new(subject);
    while let Some((tag, rdn)) = rdns.next() {
        if tag != SET {
            return None;
        }
        let mut attributes = Der::new(rdn);
        while let Some((_, attribute)) = attributes.next() {
            let mut a = Der::new(attribute);
            let (oid_tag, oid) = a.next()?;
            let (_, value) = a.next()?;
            if oid_tag != OID {
                continue;
            }
            match oid {
                OID_COMMON_NAME => found(CertificateName::CommonName(value)),
                OID_ORGANIZATION => found(CertificateName::Organization(value)),
                OID_ORGANIZATIONAL_UNIT => found(CertificateName::OrganizationalUnit(value)),
                _ => {}
            }
        }
    }
    tbs.next()?; // subjectPublicKeyInfo
                 // Then optional issuerUniqueID [1], subjectUniqueID [2], extensions [3].
    while let Some((tag, value)) = tbs.next() {
        if tag != EXTENSIONS_TAG {
            continue;
        }
        let (tag, list) = Der::new(value).next()?;
        if tag != SEQUENCE {
            return None;
        }
        let mut extensions = Der::new(list);
        while let Some((_, extension)) = extensions.next() {
            let mut e = Der::new(extension);
            let (oid_tag, oid) = e.next()?;
            let (mut tag, mut value) = e.next()?;
            if tag == BOOLEAN {
                (tag, value) = e.next()?; // critical
            }
            if oid_tag != OID || oid != OID_SUBJECT_ALT_NAME || tag != OCTET_STRING {
                continue;
            }
            let (tag, names) = Der::new(value).next()?;
            if tag != SEQUENCE {
                return None;
            }
            let mut names = Der::new(names);
            while let Some((tag, name)) = names.next() {
                if tag == DNS_NAME_TAG {
                    found(CertificateName::DnsName(name));
                } else if tag == IP_ADDRESS_TAG {
                    if let Ok(v4) = <[u8; 4]>::try_from(name) {
                        found(CertificateName::IpAddress(v4.into()));
                    } else if let Ok(v6) = <[u8; 16]>::try_from(name) {
                        found(CertificateName::IpAddress(v6.into()));
                    }
                }
            }
        }
    }
    Some(())
}

/// Whether the certificate's issuer name is its subject name, byte for byte (a self-signed
/// certificate, as nDPI tells one: it compares the two names). False when malformed.
pub fn is_self_issued(der: &[u8]) -> bool {
    (|| {
        let (tag, certificate) = Der::new(der).next()?;
        let (tag2, tbs) = Der::new(certificate).next()?;
        if tag != SEQUENCE || tag2 != SEQUENCE {
            return None;
        }
        let mut tbs = Der::new(tbs);
        let (first, _) = tbs.next()?;
        if first == VERSION_TAG {
            tbs.next()?; // serialNumber
        }
        tbs.next()?; // signature
        let (issuer_tag, issuer) = tbs.next()?;
        tbs.next()?; // validity
        let (subject_tag, subject) = tbs.next()?;
        Some(issuer_tag == SEQUENCE && subject_tag == SEQUENCE && !subject.is_empty() && issuer == subject)
    })()
    .unwrap_or(false)
}

/// DER TLVs one after another in a byte slice (also read by `http_payload` for the OCSP
/// request of a GET).
pub(super) struct Der<'a> {
    buf: &'a [u8],
}

impl<'a> Der<'a> {
    pub(super) fn new(buf: &'a [u8]) -> Self {
        Der { buf }
    }

    /// Whether every element has been read (or the walk ended at a malformed one).
    pub(super) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// The next element's tag and contents; `None` at the end or on a malformed element (which
    /// also ends the walk of this level).
    pub(super) fn next(&mut self) -> Option<(u8, &'a [u8])> {
        let (&tag, rest) = self.buf.split_first()?;
        let parsed = (|| {
            if tag & 0x1f == 0x1f {
                return None; // high tag numbers: never in the fields we read
            }
            let (&first, rest) = rest.split_first()?;
            let (len, rest) = if first < 0x80 {
                (usize::from(first), rest)
            } else {
                // Definite long form only (DER); at most 4 length bytes.
                let n = usize::from(first & 0x7f);
                if n == 0 || n > 4 {
                    return None;
                }
                let (bytes, rest) = (rest.get(..n)?, rest.get(n..)?);
                (bytes.iter().fold(0usize, |acc, &b| acc << 8 | usize::from(b)), rest)
            };
            Some((rest.get(..len)?, rest.get(len..)?))
        })();
        match parsed {
            Some((value, rest)) => {
                self.buf = rest;
                Some((tag, value))
            }
            None => {
                self.buf = &[];
                None
            }
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// DER TLV with the shortest length encoding.
    pub fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
        let mut v = vec![tag];
        let n = value.len();
        if n < 0x80 {
            v.push(n as u8);
        } else if n < 0x100 {
            v.extend([0x81, n as u8]);
        } else {
            v.extend([0x82, (n >> 8) as u8, n as u8]);
        }
        v.extend_from_slice(value);
        v
    }

    fn name(cn: &str) -> Vec<u8> {
        subject(&[], cn)
    }

    /// A Name: C=US, then the organization and unit attributes given (`("O", "Example")`,
    /// `("OU", "Devices")`), then the CN, each in its own RDN.
    fn subject(attributes: &[(&str, &str)], cn: &str) -> Vec<u8> {
        let rdn = |oid: &[u8], value: &[u8]| tlv(SET, &tlv(SEQUENCE, &[tlv(OID, oid), tlv(0x0c, value)].concat()));
        let mut rdns = vec![tlv(SET, &tlv(SEQUENCE, &[tlv(OID, &[0x55, 0x04, 0x06]), tlv(0x13, b"US")].concat()))];
        for &(kind, value) in attributes {
            let oid = if kind == "O" { OID_ORGANIZATION } else { OID_ORGANIZATIONAL_UNIT };
            rdns.push(rdn(oid, value.as_bytes()));
        }
        rdns.push(rdn(OID_COMMON_NAME, cn.as_bytes()));
        tlv(SEQUENCE, &rdns.concat())
    }

    /// A certificate shaped like RFC 5280's, with dummy keys and signature.
    pub fn certificate(cn: &str, dns_names: &[&str], critical_san: bool) -> Vec<u8> {
        certificate_of(&[], cn, dns_names, critical_san)
    }

    /// [`certificate`] whose subject also has the organization and unit attributes given
    /// (`("O", "Example Inc")`, `("OU", "Devices")`).
    pub fn certificate_of(attributes: &[(&str, &str)], cn: &str, dns_names: &[&str], critical_san: bool) -> Vec<u8> {
        let algorithm = tlv(SEQUENCE, &tlv(OID, &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]));
        let validity = tlv(SEQUENCE, &[tlv(0x17, b"250101000000Z"), tlv(0x17, b"350101000000Z")].concat());
        let spki = tlv(SEQUENCE, &[algorithm.clone(), tlv(0x03, &[0, 4, 1, 2, 3])].concat());
        let mut names: Vec<u8> = dns_names.iter().flat_map(|n| tlv(DNS_NAME_TAG, n.as_bytes())).collect();
        names.extend(tlv(IP_ADDRESS_TAG, &[192, 0, 2, 1]));
        let mut san = vec![tlv(OID, OID_SUBJECT_ALT_NAME)];
        if critical_san {
            san.push(tlv(BOOLEAN, &[0xff]));
        }
        san.push(tlv(OCTET_STRING, &tlv(SEQUENCE, &names)));
        let basic = tlv(SEQUENCE, &[tlv(OID, &[0x55, 0x1d, 0x13]), tlv(OCTET_STRING, &tlv(SEQUENCE, &[]))].concat());
        let extensions = tlv(EXTENSIONS_TAG, &tlv(SEQUENCE, &[basic, tlv(SEQUENCE, &san.concat())].concat()));
        let tbs = tlv(
            SEQUENCE,
            &[
                tlv(VERSION_TAG, &tlv(0x02, &[2])),
                tlv(0x02, &[0x01, 0x23, 0x45]),
                algorithm.clone(),
                name("Test CA"),
                validity,
                subject(attributes, cn),
                spki,
                extensions,
            ]
            .concat(),
        );
        tlv(SEQUENCE, &[tbs, algorithm, tlv(0x03, &[0; 70])].concat())
    }

    fn names(der: &[u8]) -> (Option<()>, Vec<String>) {
        let mut out = Vec::new();
        let result = certificate_names(der, |n| {
            out.push(match n {
                CertificateName::CommonName(v) => format!("CN={}", String::from_utf8_lossy(v)),
                CertificateName::Organization(v) => format!("O={}", String::from_utf8_lossy(v)),
                CertificateName::OrganizationalUnit(v) => format!("OU={}", String::from_utf8_lossy(v)),
                CertificateName::DnsName(v) => String::from_utf8_lossy(v).into_owned(),
                CertificateName::IpAddress(ip) => format!("IP={ip}"),
            })
        });
        (result, out)
    }

    #[test]
    fn finds_subject_cn_and_dns_names() {
        let der = certificate("www.example.com", &["www.example.com", "example.com"], false);
        assert_eq!(
            names(&der),
            (
                Some(()),
                vec![
                    "CN=www.example.com".into(),
                    "www.example.com".into(),
                    "example.com".into(),
                    "IP=192.0.2.1".into()
                ]
            )
        );
        let der = certificate("x", &["a.example"], true);
        assert_eq!(names(&der).1, ["CN=x", "a.example", "IP=192.0.2.1"]);
    }

    #[test]
    fn finds_the_subject_organization_and_unit() {
        let der =
            certificate_of(&[("O", "Example, Inc"), ("OU", "Example Devices")], "0123ABCD", &["a.example"], false);
        assert_eq!(names(&der).1, ["O=Example, Inc", "OU=Example Devices", "CN=0123ABCD", "a.example", "IP=192.0.2.1"]);
    }

    #[test]
    fn truncated_certificates_end_cleanly() {
        let der = certificate("www.example.com", &["www.example.com", "example.com"], false);
        for cut in 0..der.len() {
            let (result, _) = names(&der[..cut]);
            assert_eq!(result, None, "cut at {cut}");
        }
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let _ = names(&bytes);
        }

        #[test]
        fn mutated_certificates_never_panic(edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6)) {
            let mut der = certificate("www.example.com", &["www.example.com", "example.com"], false);
            for (at, value) in edits {
                let i = at.index(der.len());
                der[i] = value;
            }
            let _ = names(&der);
        }
    }

    #[test]
    fn self_issued_when_issuer_equals_subject() {
        // Certificate { TBS { [0]{v3}, serial, sigalg, issuer, validity, subject }, ... }
        let name = |cn: &[u8]| -> Vec<u8> {
            let mut atv = vec![0x06, 0x03, 0x55, 0x04, 0x03, 0x0c, cn.len() as u8];
            atv.extend_from_slice(cn);
            let mut seq = vec![0x30, atv.len() as u8];
            seq.extend(atv);
            let mut set = vec![0x31, seq.len() as u8];
            set.extend(seq);
            let mut rdn = vec![0x30, set.len() as u8];
            rdn.extend(set);
            rdn
        };
        let cert = |issuer: &[u8], subject: &[u8]| -> Vec<u8> {
            let mut tbs = vec![0xa0, 0x03, 0x02, 0x01, 0x02, 0x02, 0x01, 0x01, 0x30, 0x00];
            tbs.extend(name(issuer));
            tbs.extend([0x30, 0x00]);
            tbs.extend(name(subject));
            let mut t = vec![0x30, tbs.len() as u8];
            t.extend(tbs);
            let mut c = vec![0x30, t.len() as u8];
            c.extend(t);
            c
        };
        assert!(is_self_issued(&cert(b"lab", b"lab")));
        assert!(!is_self_issued(&cert(b"ca", b"server.test")));
        assert!(!is_self_issued(b"\x30\x02\x30"));
    }
}
