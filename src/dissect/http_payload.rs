//! What an HTTP/1.x message carries, named as a protocol of its own: the HTTP dissector asks
//! this module once per message (request line and headers, response headers) and refines the
//! flow's protocol from `HTTP` to the one named here. Every rule reads a public registration:
//!
//! - **IPP** (Netify 6): media type `application/ipp` (RFC 8010 §3.1, the IANA registration
//!   for IPP's encoding over HTTP).
//! - **SOAP** (Netify 283): a `SOAPAction` request header (SOAP 1.1 §6.1.1, sent with every
//!   SOAP 1.1 request over HTTP) or media type `application/soap+xml` (SOAP 1.2, RFC 3902).
//! - **MPEG/Dash** (Netify 290): media type `application/dash+xml` and file extension `.mpd`
//!   of the media presentation description, media type `video/iso.segment` and extension
//!   `.m4s` of its segments (the IANA registrations of ISO/IEC 23009-1).
//! - **HLS** (flowsieve-only, nDPI's name): media types `application/vnd.apple.mpegurl` and
//!   `audio/mpegurl` and extension `.m3u8` of the playlist (RFC 8216 §4).
//! - **OCSP** (flowsieve-only, nDPI's name): media types `application/ocsp-request` and
//!   `application/ocsp-response` (RFC 6960 Appendix C).
//!
//! How this relates to Netify's naming is in docs/FLOW-ACTIONS.md ("HTTP naming").

use super::protocol::{self, ProtocolId};
use super::text::{header, trim};

/// Media types (compared without parameters, case-insensitively) and the protocol each names.
const MEDIA_TYPES: &[(&[u8], ProtocolId)] = &[
    (b"application/ipp", protocol::IPP),
    (b"application/soap+xml", protocol::SOAP),
    (b"application/dash+xml", protocol::MPEG_DASH),
    (b"video/iso.segment", protocol::MPEG_DASH),
    (b"application/vnd.apple.mpegurl", protocol::HLS),
    (b"audio/mpegurl", protocol::HLS),
    (b"application/ocsp-request", protocol::OCSP),
    (b"application/ocsp-response", protocol::OCSP),
];

/// File extensions of a request target's path (case-insensitive) and the protocol each names.
const EXTENSIONS: &[(&[u8], ProtocolId)] =
    &[(b".mpd", protocol::MPEG_DASH), (b".m4s", protocol::MPEG_DASH), (b".m3u8", protocol::HLS)];

/// The protocols this module names: each is HTTP on the wire (the corpus report compares them
/// as HTTP where nDPI names HTTP and the carried protocol as an application).
pub const CARRIED: &[ProtocolId] = &[protocol::IPP, protocol::SOAP, protocol::MPEG_DASH, protocol::HLS, protocol::OCSP];

/// Whether `id` is a protocol carried over HTTP that this module names.
pub fn is_carried_over_http(id: ProtocolId) -> bool {
    CARRIED.contains(&id)
}

/// The protocol a message's `Content-Type` names.
fn by_media_type(headers: &[u8]) -> Option<ProtocolId> {
    let value = header(headers, b"content-type")?;
    let essence = trim(value.split(|&b| b == b';').next().unwrap_or_default());
    MEDIA_TYPES.iter().find(|(t, _)| t.eq_ignore_ascii_case(essence)).map(|&(_, p)| p)
}

/// The protocol a request carries: its media type, a SOAP action, or its target's extension.
pub fn of_request(target: &[u8], headers: &[u8]) -> Option<ProtocolId> {
    if let Some(p) = by_media_type(headers) {
        return Some(p);
    }
    if header(headers, b"soapaction").is_some() {
        return Some(protocol::SOAP);
    }
    let path = target.split(|&b| b == b'?' || b == b'#').next().unwrap_or_default();
    EXTENSIONS
        .iter()
        .find(|(ext, _)| path.len() > ext.len() && path[path.len() - ext.len()..].eq_ignore_ascii_case(ext))
        .map(|&(_, p)| p)
}

/// The protocol a response carries: its media type.
pub fn of_response(headers: &[u8]) -> Option<ProtocolId> {
    by_media_type(headers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn media_types_name_the_carried_protocol() {
        // ocsp.pcapng in nDPI's corpus, the responder's answer (nDPI: HTTP.OCSP).
        let ocsp = b"Server: nginx\r\nContent-Type: application/ocsp-response\r\nContent-Length: 2055\r\n\r\n";
        assert_eq!(of_response(ocsp), Some(protocol::OCSP));
        // ipp.pcap, CUPS printing (nDPI: HTTP.IPP).
        let ipp = b"Content-Length: 289\r\nContent-Type: application/ipp\r\nHost: 10.10.10.251\r\n\r\n";
        assert_eq!(of_request(b"/ipp/", ipp), Some(protocol::IPP));
        // hls.pcapng's answer; parameters and case do not matter.
        assert_eq!(of_response(b"Content-type: application/vnd.apple.mpegurl\r\n\r\n"), Some(protocol::HLS));
        assert_eq!(of_response(b"Content-Type: Audio/MpegURL; charset=utf-8\r\n\r\n"), Some(protocol::HLS));
        assert_eq!(of_response(b"Content-Type: application/dash+xml\r\n\r\n"), Some(protocol::MPEG_DASH));
        assert_eq!(
            of_request(b"/x", b"Content-Type: application/soap+xml; charset=utf-8\r\n\r\n"),
            Some(protocol::SOAP)
        );
        // Ordinary content is plain HTTP.
        assert_eq!(of_response(b"Content-Type: text/html\r\n\r\n"), None);
        assert_eq!(of_response(b"Content-Type: application/ipp-extra\r\n\r\n"), None);
        assert_eq!(of_response(b"\r\n"), None);
    }

    #[test]
    fn soap_action_and_target_extensions() {
        // soap.pcap (nDPI: HTTP.SOAP): SOAP 1.1 in UTF-16 with a SOAPAction header.
        let soap = b"Content-Type: text/xml; charset=\"UTF-16LE\"\r\nSOAPAction: \"http://schemas.microsoft.com/\
            windowsmetadata/services/2007/09/18/dms/DeviceMetadataService/GetDeviceMetadata\"\r\n\r\n";
        assert_eq!(of_request(b"/fwlink/?LinkID=252669&clcid=0x409", soap), Some(protocol::SOAP));
        assert_eq!(of_request(b"/fwlink/", b"Content-Type: text/xml\r\n\r\n"), None);
        // hls.pcapng and mpeg-dash.pcap requests.
        assert_eq!(of_request(b"/output.m3u8", b"Host: h\r\n\r\n"), Some(protocol::HLS));
        assert_eq!(of_request(b"/live/V2400/206598098.m4s", b"\r\n"), Some(protocol::MPEG_DASH));
        assert_eq!(of_request(b"/manifest.MPD?token=1", b"\r\n"), Some(protocol::MPEG_DASH));
        // The extension must end the path, not the query, and be more than the whole path.
        assert_eq!(of_request(b"/index.html?file=a.m3u8", b"\r\n"), None);
        assert_eq!(of_request(b"/a.m3u8x", b"\r\n"), None);
        assert_eq!(of_request(b".mpd", b"\r\n"), None);
        assert_eq!(of_request(b"/init.mp4", b"\r\n"), None);
        assert!(CARRIED.iter().all(|&p| is_carried_over_http(p) && protocol::name_of(p) != "Unknown"));
        assert!(!is_carried_over_http(protocol::HTTP));
    }

    proptest! {
        #[test]
        fn never_panics(target in proptest::collection::vec(any::<u8>(), 0..40), headers in proptest::collection::vec(any::<u8>(), 0..120)) {
            let _ = of_request(&target, &headers);
            let _ = of_response(&headers);
        }
    }
}
