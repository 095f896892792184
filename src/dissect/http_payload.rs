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
//!   `.m4s` of its segments (the IANA registrations of ISO/IEC 23009-1); and a response body
//!   that opens with an ISO base media file's `ftyp` or `styp` box (ISO/IEC 14496-12 §4.3)
//!   naming one of DASH's brands (ISO/IEC 23009-1 §6.3.4: `dash` for its segment format,
//!   `msdh` and `msix` for media segments, `dsms` for self-initializing ones), as a DASH
//!   initialization or media segment served as `video/mp4` does. Beyond the registrations,
//!   MP4 video itself is `MPEG/Dash` as nDPI names it (its `mpegdash.c`): a request whose
//!   target ends in `.mp4` (the whole target, so not with a query after it) and a response of
//!   media type `video/mp4`. DASH serves its segments so, and a progressive MP4 download is the
//!   same bytes to a rule meant for streamed video, so a user comparing with nDPI, or shaping
//!   video by this name, sees the same flows (the decision is in docs/FLOW-ACTIONS.md §5.2).
//! - **HLS** (flowsieve-only, nDPI's name): media types `application/vnd.apple.mpegurl` and
//!   `audio/mpegurl` and extension `.m3u8` of the playlist (RFC 8216 §4).
//! - **OCSP** (flowsieve-only, nDPI's name): media types `application/ocsp-request` and
//!   `application/ocsp-response` (RFC 6960 Appendix C), and a GET whose target ends in the
//!   request itself (RFC 6960 Appendix A.1: `{url}/{url-encoding of base-64 encoding of the DER
//!   encoding of the OCSPRequest}`, the form Windows' CryptoAPI and small requests use). The
//!   request's whole DER structure down to the first certificate's identifier is checked, so a
//!   path segment that merely decodes as base64 is not taken for one.
//! - **WebDAV** (flowsieve-only, nDPI's name): a request with one of the methods RFC 4918 §9
//!   defines for resources and collections (`PROPFIND`, `PROPPATCH`, `MKCOL`, `COPY`, `MOVE`,
//!   `LOCK`, `UNLOCK`); `REPORT` and `SEARCH` belong to later extensions and stay HTTP, as in
//!   nDPI.
//! - **MS-RPCH** (flowsieve-only, nDPI's name): Microsoft's RPC over HTTP (Outlook Anywhere,
//!   Remote Desktop Gateway), whose channels open with the methods `RPC_IN_DATA` and
//!   `RPC_OUT_DATA` ([MS-RPCH] §2.1.2.1; `RPC_CONNECT` in its version 1), or a request whose
//!   `User-Agent` is `MSRPC`, the value [MS-RPCH] §2.1.2.1.1 has its clients send.
//! - **BitTorrent** (Netify 37): a tracker announce, the HTTP GET a BitTorrent client sends its
//!   tracker with the query parameters `info_hash` and `peer_id` (BEP 3, "Trackers": both are
//!   required in every announce). nDPI names such requests `HTTP.BitTorrent`.
//! - **Gnutella** (Netify 35): a servent's file transfer over HTTP. A download by hash asks
//!   for `/uri-res/N2R?urn:sha1:` (the Hash/URN Gnutella Extensions, HUGE 0.94 §4, on RFC
//!   2169's URN resolution path; `urn:bitprint:` is HUGE's other hash URN), and servents serve
//!   their own resources (THEX hash trees, push proxies) under `/gnutella/` with a URN or a
//!   query (`/gnutella/thex/v1?urn:tree:tiger/:…`). RFC 2169's path with any other URN
//!   namespace (`urn:isbn:`) stays HTTP. nDPI's gnutella.c names the same requests (`GET
//!   /uri-res/`, `GET /gnutella/`) `HTTP.Gnutella`.
//!
//! A request makes an HTTP flow's protocol final, so what a response names renames only a flow
//! whose request was not seen (`dissect::http`).
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
    (b"video/mp4", protocol::MPEG_DASH),
    (b"application/vnd.apple.mpegurl", protocol::HLS),
    (b"audio/mpegurl", protocol::HLS),
    (b"application/ocsp-request", protocol::OCSP),
    (b"application/ocsp-response", protocol::OCSP),
];

/// File extensions of a request target's path (case-insensitive) and the protocol each names.
const EXTENSIONS: &[(&[u8], ProtocolId)] =
    &[(b".mpd", protocol::MPEG_DASH), (b".m4s", protocol::MPEG_DASH), (b".m3u8", protocol::HLS)];

/// A request target ending so asks for MP4 video (see the module docs: nDPI's rule, compared
/// as it does, case-sensitively on the whole target).
const MP4: &[u8] = b".mp4";

/// The longest OCSP request a GET carries that is checked: RFC 6960 A.1 keeps GET for requests
/// "less than 255 bytes" (a larger one is POSTed, with its media type).
const MAX_OCSP_GET_REQUEST: usize = 255;

/// Whether a request target's path ends in an OCSP request (RFC 6960 Appendix A.1). The request
/// starts after a `/`; its base64 may itself hold `/` when the client did not URL-encode it, so
/// each `/` followed by `M` (the first base64 character of a DER SEQUENCE, 0x30) is tried as
/// the start, to the end of the path.
fn is_ocsp_get_target(target: &[u8]) -> bool {
    let path = target.split(|&b| b == b'?' || b == b'#').next().unwrap_or_default();
    let mut buf = [0u8; MAX_OCSP_GET_REQUEST];
    path.windows(2).enumerate().filter(|(_, w)| w == b"/M").take(8).any(|(i, _)| {
        crate::facts::decode_base64_into(percent_decoded(&path[i + 1..]), &mut buf)
            .is_some_and(|len| is_ocsp_request(&buf[..len]))
    })
}

/// The bytes of a URL path with its `%XX` escapes decoded. A malformed escape stays `%`,
/// which base64 refuses.
fn percent_decoded(path: &[u8]) -> impl Iterator<Item = u8> + '_ {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut i = 0;
    std::iter::from_fn(move || {
        let &b = path.get(i)?;
        i += 1;
        if b != b'%' {
            return Some(b);
        }
        let value = path.get(i..i + 2).and_then(|h| Some(hex(h[0])? * 16 + hex(h[1])?));
        i += 2;
        Some(value.map_or(b'%', |v| v as u8))
    })
}

/// Whether `der` is exactly one OCSPRequest (RFC 6960 §4.1.1): a SEQUENCE holding a
/// TBSRequest SEQUENCE whose optional `[0]` version and `[1]` requestor name are followed by a
/// non-empty requestList, whose first Request opens with a CertID: an AlgorithmIdentifier
/// naming its hash by OID, the issuer name and key hashes as OCTET STRINGs, and the serial
/// number as an INTEGER.
fn is_ocsp_request(der: &[u8]) -> bool {
    use super::x509::Der;
    const SEQUENCE: u8 = 0x30;
    let mut whole = Der::new(der);
    let Some((SEQUENCE, request)) = whole.next().filter(|_| whole.is_empty()) else { return false };
    let Some((SEQUENCE, tbs)) = Der::new(request).next() else { return false };
    let mut tbs = Der::new(tbs);
    let mut element = tbs.next();
    while let Some((0xa0 | 0xa1, _)) = element {
        element = tbs.next();
    }
    let Some((SEQUENCE, list)) = element else { return false };
    let Some((SEQUENCE, first)) = Der::new(list).next() else { return false };
    let Some((SEQUENCE, cert_id)) = Der::new(first).next() else { return false };
    let mut cert_id = Der::new(cert_id);
    let algorithm = cert_id.next().filter(|&(tag, _)| tag == SEQUENCE);
    let hash_oid = algorithm.and_then(|(_, a)| Der::new(a).next()).filter(|&(tag, oid)| tag == 0x06 && !oid.is_empty());
    let tags = [cert_id.next(), cert_id.next(), cert_id.next()].map(|e| e.map(|(tag, _)| tag));
    hash_oid.is_some() && tags == [Some(0x04), Some(0x04), Some(0x02)]
}

/// HUGE's hash URNs on RFC 2169's URN-to-resource path (Gnutella downloads by hash).
const GNUTELLA_N2R: &[&[u8]] = &[b"/uri-res/N2R?urn:sha1:", b"/uri-res/N2R?urn:bitprint:"];

/// Whether a request target is a Gnutella servent's: a download by hash, or a resource of the
/// servent's own `/gnutella/` namespace asked for with a query.
fn is_gnutella_target(target: &[u8]) -> bool {
    let starts = |p: &[u8]| target.len() > p.len() && target[..p.len()].eq_ignore_ascii_case(p);
    GNUTELLA_N2R.iter().any(|p| starts(p))
        || (target.starts_with(b"/gnutella/")
            && target.iter().position(|&b| b == b'?').is_some_and(|q| q > 10 && q + 1 < target.len()))
}

/// Whether a request target's query has both of BEP 3's required announce parameters.
fn is_tracker_announce(target: &[u8]) -> bool {
    let Some(q) = target.iter().position(|&b| b == b'?') else { return false };
    let query = &target[q + 1..];
    let has = |name: &[u8]| {
        query.split(|&b| b == b'&').any(|p| p.len() > name.len() && p.starts_with(name) && p[name.len()] == b'=')
    };
    has(b"info_hash") && has(b"peer_id")
}

/// WebDAV's own methods (RFC 4918 §9).
const WEBDAV_METHODS: &[&[u8]] = &[b"PROPFIND", b"PROPPATCH", b"MKCOL", b"COPY", b"MOVE", b"LOCK", b"UNLOCK"];

/// The methods that open RPC over HTTP's channels ([MS-RPCH] §2.1.2.1).
const RPC_METHODS: &[&[u8]] = &[b"RPC_IN_DATA", b"RPC_OUT_DATA", b"RPC_CONNECT"];

/// The protocols this module names: each is HTTP on the wire (the corpus report compares them
/// as HTTP where nDPI names HTTP and the carried protocol as an application).
pub const CARRIED: &[ProtocolId] = &[
    protocol::IPP,
    protocol::SOAP,
    protocol::MPEG_DASH,
    protocol::HLS,
    protocol::OCSP,
    protocol::WEBDAV,
    protocol::MS_RPCH,
    protocol::GNUTELLA,
    protocol::BITTORRENT,
];

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

/// The protocol a request carries: its method, its media type, a SOAP action, a Gnutella
/// servent's target, its target's extension, or RPC over HTTP's user agent.
pub fn of_request(method: &[u8], target: &[u8], headers: &[u8]) -> Option<ProtocolId> {
    if RPC_METHODS.contains(&method) {
        return Some(protocol::MS_RPCH);
    }
    if WEBDAV_METHODS.contains(&method) {
        return Some(protocol::WEBDAV);
    }
    if let Some(p) = by_media_type(headers) {
        return Some(p);
    }
    if header(headers, b"soapaction").is_some() {
        return Some(protocol::SOAP);
    }
    if is_gnutella_target(target) {
        return Some(protocol::GNUTELLA);
    }
    if is_tracker_announce(target) {
        return Some(protocol::BITTORRENT);
    }
    if is_ocsp_get_target(target) {
        return Some(protocol::OCSP);
    }
    if target.len() > MP4.len() && target.ends_with(MP4) {
        return Some(protocol::MPEG_DASH);
    }
    let path = target.split(|&b| b == b'?' || b == b'#').next().unwrap_or_default();
    EXTENSIONS
        .iter()
        .find(|(ext, _)| path.len() > ext.len() && path[path.len() - ext.len()..].eq_ignore_ascii_case(ext))
        .map(|&(_, p)| p)
        .or_else(|| (header(headers, b"user-agent") == Some(&b"MSRPC"[..])).then_some(protocol::MS_RPCH))
}

/// DASH's brands (ISO/IEC 23009-1 §6.3.4).
const DASH_BRANDS: &[&[u8; 4]] = &[b"dash", b"msdh", b"msix", b"dsms"];

/// Whether a body opens with a whole `ftyp` or `styp` box (ISO/IEC 14496-12 §4.3: 32-bit size,
/// type, major brand, minor version, compatible brands to the box's end) naming a DASH brand.
fn is_dash_segment(body: &[u8]) -> bool {
    let Some(head) = body.get(..16) else { return false };
    let size = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
    if !matches!(&head[4..8], b"ftyp" | b"styp") || size < 16 || !size.is_multiple_of(4) {
        return false;
    }
    let Some(box_bytes) = body.get(..size) else { return false };
    let major = std::iter::once(&box_bytes[8..12]);
    major.chain(box_bytes[16..].chunks_exact(4)).any(|brand| DASH_BRANDS.iter().any(|d| d[..] == *brand))
}

/// The protocol a response carries: its media type, else a DASH segment in its body (`data`
/// is the whole message as far as it was read; the body follows the header block).
pub fn of_response(headers: &[u8]) -> Option<ProtocolId> {
    by_media_type(headers).or_else(|| {
        let end = headers.windows(4).position(|w| w == b"\r\n\r\n")?;
        is_dash_segment(headers.get(end + 4..)?).then_some(protocol::MPEG_DASH)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn webdav_and_rpc_over_http_methods_name_their_protocols() {
        for m in [&b"PROPFIND"[..], b"PROPPATCH", b"MKCOL", b"COPY", b"MOVE", b"LOCK", b"UNLOCK"] {
            assert_eq!(of_request(m, b"/dav/", b"Depth: 1\r\n\r\n"), Some(protocol::WEBDAV));
        }
        // Later extensions' methods (RFC 3253 REPORT, RFC 5323 SEARCH) and lower case stay HTTP.
        assert_eq!(of_request(b"REPORT", b"/cal/", b"\r\n"), None);
        assert_eq!(of_request(b"SEARCH", b"/", b"\r\n"), None);
        assert_eq!(of_request(b"propfind", b"/", b"\r\n"), None);
        // [MS-RPCH] §2.1.2.1: the IN and OUT channels of Outlook Anywhere or an RD Gateway.
        let rpc = b"/rpc/rpcproxy.dll?mail.example.com:6004";
        let headers = b"Accept: application/rpc\r\nUser-Agent: MSRPC\r\nHost: mail.example.com\r\n\r\n";
        assert_eq!(of_request(b"RPC_IN_DATA", rpc, headers), Some(protocol::MS_RPCH));
        assert_eq!(of_request(b"RPC_OUT_DATA", rpc, b"\r\n"), Some(protocol::MS_RPCH));
        assert_eq!(of_request(b"RPC_CONNECT", b"server:593", b"\r\n"), Some(protocol::MS_RPCH));
        // Its clients' user agent names it under another method too, and only that exact value.
        assert_eq!(of_request(b"POST", rpc, headers), Some(protocol::MS_RPCH));
        assert_eq!(of_request(b"POST", rpc, b"User-Agent: MSRPC-Tool/1.0\r\n\r\n"), None);
        // What the media type names comes first for any other method.
        assert_eq!(
            of_request(b"POST", b"/ipp/", b"User-Agent: MSRPC\r\nContent-Type: application/ipp\r\n\r\n"),
            Some(protocol::IPP)
        );
    }

    #[test]
    fn media_types_name_the_carried_protocol() {
        // ocsp.pcapng in nDPI's corpus, the responder's answer (nDPI: HTTP.OCSP).
        let ocsp = b"Server: nginx\r\nContent-Type: application/ocsp-response\r\nContent-Length: 2055\r\n\r\n";
        assert_eq!(of_response(ocsp), Some(protocol::OCSP));
        // ipp.pcap, CUPS printing (nDPI: HTTP.IPP).
        let ipp = b"Content-Length: 289\r\nContent-Type: application/ipp\r\nHost: 10.10.10.251\r\n\r\n";
        assert_eq!(of_request(b"GET", b"/ipp/", ipp), Some(protocol::IPP));
        // hls.pcapng's answer; parameters and case do not matter.
        assert_eq!(of_response(b"Content-type: application/vnd.apple.mpegurl\r\n\r\n"), Some(protocol::HLS));
        assert_eq!(of_response(b"Content-Type: Audio/MpegURL; charset=utf-8\r\n\r\n"), Some(protocol::HLS));
        assert_eq!(of_response(b"Content-Type: application/dash+xml\r\n\r\n"), Some(protocol::MPEG_DASH));
        assert_eq!(
            of_request(b"GET", b"/x", b"Content-Type: application/soap+xml; charset=utf-8\r\n\r\n"),
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
        assert_eq!(of_request(b"GET", b"/fwlink/?LinkID=252669&clcid=0x409", soap), Some(protocol::SOAP));
        assert_eq!(of_request(b"GET", b"/fwlink/", b"Content-Type: text/xml\r\n\r\n"), None);
        // hls.pcapng and mpeg-dash.pcap requests.
        assert_eq!(of_request(b"GET", b"/output.m3u8", b"Host: h\r\n\r\n"), Some(protocol::HLS));
        assert_eq!(of_request(b"GET", b"/live/V2400/206598098.m4s", b"\r\n"), Some(protocol::MPEG_DASH));
        assert_eq!(of_request(b"GET", b"/manifest.MPD?token=1", b"\r\n"), Some(protocol::MPEG_DASH));
        // The extension must end the path, not the query, and be more than the whole path.
        assert_eq!(of_request(b"GET", b"/index.html?file=a.m3u8", b"\r\n"), None);
        assert_eq!(of_request(b"GET", b"/a.m3u8x", b"\r\n"), None);
        assert_eq!(of_request(b"GET", b".mpd", b"\r\n"), None);
        assert_eq!(of_request(b"GET", b"/init.mp4", b"\r\n"), Some(protocol::MPEG_DASH));
        // MP4 by its target only as nDPI compares it: the whole target, case-sensitively.
        assert_eq!(of_request(b"GET", b"/as/bigo-ad-creatives/3s3/2lOTA7.mp4", b"\r\n"), Some(protocol::MPEG_DASH));
        assert_eq!(of_request(b"GET", b"/v.mp4?sig=1", b"\r\n"), None);
        assert_eq!(of_request(b"GET", b"/V.MP4", b"\r\n"), None);
        assert_eq!(of_request(b"GET", b".mp4", b"\r\n"), None);
        assert_eq!(of_request(b"GET", b"/a.mp4x", b"\r\n"), None);
        assert!(CARRIED.iter().all(|&p| is_carried_over_http(p) && protocol::name_of(p) != "Unknown"));
        assert!(!is_carried_over_http(protocol::HTTP));
    }

    #[test]
    fn dash_segments_by_their_brands() {
        // mpeg-dash.pcap: the DASH-IF live simulator's initialization segment, served as
        // video/mp4 (ftyp iso5, compatible avc1 iso5 dash; nDPI: HTTP.MpegDash).
        let init = b"Content-Length: 944\r\nContent-Type: video/mp4\r\n\r\n\
            \x00\x00\x00\x1cftypiso5\x00\x00\x00\x01avc1iso5dash\x00\x00\x00\x08free";
        assert_eq!(of_response(init), Some(protocol::MPEG_DASH));
        // A media segment's styp with msdh as its major brand.
        let media = b"\r\n\r\n\x00\x00\x00\x18stypmsdh\x00\x00\x00\x00msdhmsix";
        assert_eq!(of_response(media), Some(protocol::MPEG_DASH));
        // A progressive MP4 (mpeg-dash.pcap's ad video: ftyp mp42, compatible mp42 isom) is
        // MPEG/Dash by its media type, as nDPI names it; served as anything else it is not.
        let mp4 = b"Content-Type: video/mp4\r\n\r\n\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom\x00\x00$xmoov";
        assert_eq!(of_response(mp4), Some(protocol::MPEG_DASH));
        let octets = b"Content-Type: application/octet-stream\r\n\r\n\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom";
        assert_eq!(of_response(octets), None);
        // Near misses: the brand after the box's end, a cut box, another box type, a size
        // that is no whole number of brands, no body.
        let after = b"\r\n\r\n\x00\x00\x00\x14ftypiso5\x00\x00\x00\x01avc1dash";
        assert_eq!(of_response(after), None);
        assert_eq!(of_response(b"\r\n\r\n\x00\x00\x00\x1cftypiso5\x00\x00\x00\x01avc1iso5"), None);
        assert_eq!(of_response(b"\r\n\r\n\x00\x00\x00\x10freedash\x00\x00\x00\x00"), None);
        assert_eq!(of_response(b"\r\n\r\n\x00\x00\x00\x12ftypdash\x00\x00\x00\x00\x00\x00"), None);
        assert_eq!(of_response(b"Content-Type: video/webm\r\n"), None);
    }

    #[test]
    fn bittorrent_tracker_announces() {
        // bt-http.pcapng (nDPI: HTTP.BitTorrent): Transmission announcing to its tracker.
        let announce = b"/announce?info_hash=%aa7i%c4S%0d%de%06%24%18s%da%d4%3a%b5%cc%ec%2c%e6%22\
            &peer_id=-TR2940-chho92c56pul&port=51413&uploaded=0&downloaded=0&left=282050560&compact=1&event=started";
        assert_eq!(of_request(b"GET", announce, b"User-Agent: Transmission/2.94\r\n\r\n"), Some(protocol::BITTORRENT));
        // Both parameters are needed, as whole names with a value; a scrape (BEP 48) has no
        // peer_id and is left as HTTP.
        assert_eq!(of_request(b"GET", b"/scrape?info_hash=%aa7i", b"\r\n"), None);
        assert_eq!(of_request(b"GET", b"/announce?peer_id=-TR2940-x", b"\r\n"), None);
        assert_eq!(of_request(b"GET", b"/a?my_info_hash=1&xpeer_id=2", b"\r\n"), None);
        assert_eq!(of_request(b"GET", b"/a?info_hash&peer_id", b"\r\n"), None);
        assert_eq!(of_request(b"GET", b"/info_hash=1&peer_id=2", b"\r\n"), None);
        assert!(is_carried_over_http(protocol::BITTORRENT));
    }

    #[test]
    fn gnutella_servent_requests() {
        // gnutella.pcap (nDPI: HTTP.Gnutella): gtk-gnutella downloading by hash and asking
        // for the file's THEX tree.
        let headers = b"User-Agent: gtk-gnutella/1.2.2\r\nX-Queue: 1.1\r\n\r\n";
        let n2r = b"/uri-res/N2R?urn:sha1:LXIP2A72T5H3BU3GRUMZFYNU3OYDK6FI";
        assert_eq!(of_request(b"GET", n2r, headers), Some(protocol::GNUTELLA));
        let thex = b"/gnutella/thex/v1?urn:tree:tiger/:3WMUS6WM2ZC7XIPRQDKXWHHJRV4IKYC4OX4ELCA&depth=9";
        assert_eq!(of_request(b"GET", thex, headers), Some(protocol::GNUTELLA));
        assert_eq!(of_request(b"GET", b"/uri-res/N2R?urn:bitprint:ABC.DEF", b"\r\n"), Some(protocol::GNUTELLA));
        // Near misses: RFC 2169's path for another URN namespace, no hash, a look-alike path,
        // the namespace without a query, another site's page.
        assert_eq!(of_request(b"GET", b"/uri-res/N2R?urn:isbn:0451450523", b"\r\n"), None);
        assert_eq!(of_request(b"GET", b"/uri-res/N2R?urn:sha1:", b"\r\n"), None);
        assert_eq!(of_request(b"GET", b"/uri-res/N2L?urn:sha1:ABC", b"\r\n"), None);
        assert_eq!(of_request(b"GET", b"/gnutellanews/index.html?p=1", b"\r\n"), None);
        assert_eq!(of_request(b"GET", b"/gnutella/index.html", b"\r\n"), None);
        assert_eq!(of_request(b"GET", b"/gnutella/?", b"\r\n"), None);
        assert_eq!(of_request(b"GET", b"/wiki/Gnutella?x=1", b"\r\n"), None);
        assert!(is_carried_over_http(protocol::GNUTELLA));
    }

    /// DER element `tag` holding `value` (short or one-byte long length form).
    fn tlv(tag: u8, value: &[u8]) -> Vec<u8> {
        let mut out = vec![tag];
        if value.len() >= 0x80 {
            out.push(0x81);
        }
        out.push(value.len() as u8);
        out.extend_from_slice(value);
        out
    }

    /// An OCSPRequest for one certificate, hashed with SHA-256, with an explicit version and a
    /// nonce extension in the request.
    fn sha256_request() -> Vec<u8> {
        let sha256 = [0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01];
        let algorithm = tlv(0x30, &[tlv(0x06, &sha256), tlv(0x05, &[])].concat());
        let cert_id = [algorithm, tlv(0x04, &[0xfb; 32]), tlv(0x04, &[0xfe; 32]), tlv(0x02, &[0x0f, 0xff, 0x3e])];
        let request = tlv(0x30, &tlv(0x30, &cert_id.concat()));
        let nonce = tlv(
            0xa2,
            &tlv(0x30, &tlv(0x30, &[tlv(0x06, &[0x2b, 6, 1, 5, 5, 7, 48, 1, 2]), tlv(0x04, &[7; 18])].concat())),
        );
        let version = tlv(0xa0, &tlv(0x02, &[0]));
        tlv(0x30, &tlv(0x30, &[version, tlv(0x30, &request), nonce].concat()))
    }

    #[test]
    fn ocsp_requests_in_a_get_target() {
        // ocsp.pcapng (nDPI: HTTP.OCSP): Windows' CryptoAPI asking Actalis' responder, the
        // request URL-encoded (`%2B`, `%3D`) after the responder's own path.
        let actalis = b"/VA/AUTH-ROOT/MFEwTzBNMEswSTAJBgUrDgMCGgUABBSw4x5v4bTlizjNRmTdkYSy7q0R9gQUUtiIOsifeGbtifN7O\
            HCUyQICNtACEEWXMtjzGMt1k6L0aA%2BQ6tk%3D";
        let headers = b"User-Agent: Microsoft-CryptoAPI/10.0\r\nHost: ocsp07.actalis.it\r\n\r\n";
        assert_eq!(of_request(b"GET", actalis, headers), Some(protocol::OCSP));
        // Not URL-encoded, so the base64 holds `/`, with a version, a nonce and SHA-256.
        let der = sha256_request();
        let text = crate::facts::encode_base64(&der);
        assert!(text.starts_with('M') && text.contains('/'), "{text}");
        assert_eq!(of_request(b"GET", format!("/{text}").as_bytes(), b"\r\n"), Some(protocol::OCSP));
        // Unpadded, or behind a query, it is the same request.
        let unpadded = format!("/ocsp/{}?x=1", text.trim_end_matches('='));
        assert_eq!(of_request(b"GET", unpadded.as_bytes(), b"\r\n"), Some(protocol::OCSP));
        // Near misses: cut short, followed by more path, a byte more, a malformed escape,
        // base64 of text, of another DER structure, and of a request list with no CertID.
        assert_eq!(of_request(b"GET", &actalis[..actalis.len() - 8], b"\r\n"), None);
        assert_eq!(of_request(b"GET", format!("/{text}/status").as_bytes(), b"\r\n"), None);
        let longer = crate::facts::encode_base64(&[der.clone(), vec![0]].concat());
        assert_eq!(of_request(b"GET", format!("/{longer}").as_bytes(), b"\r\n"), None);
        assert_eq!(
            of_request(b"GET", b"/VA/MFEwTzBNMEswSTAJBgUrDgMCGgUABBSw4x5v4bTlizjNRmTdkYSy7q0R9gQUUti%2", b"\r\n"),
            None
        );
        assert_eq!(of_request(b"GET", b"/MTIzNDU2Nzg5MA==", b"\r\n"), None);
        let algorithm_only =
            tlv(0x30, &tlv(0x30, &tlv(0x30, &tlv(0x30, &tlv(0x30, &tlv(0x06, &[0x2b, 14, 3, 2, 26]))))));
        let text = crate::facts::encode_base64(&algorithm_only);
        assert_eq!(of_request(b"GET", format!("/{text}").as_bytes(), b"\r\n"), None);
        assert_eq!(of_request(b"GET", b"/M", b"\r\n"), None);
    }

    proptest! {
        #[test]
        fn ocsp_targets_never_panic(tail in proptest::collection::vec(any::<u8>(), 0..400), cut in 0usize..400) {
            // Base64 of arbitrary bytes and of a real request cut anywhere, escaped or not.
            let text = crate::facts::encode_base64(&tail);
            let _ = of_request(b"GET", format!("/M{text}").as_bytes(), b"");
            let der = sha256_request();
            let real = crate::facts::encode_base64(&der[..cut.min(der.len())]).replace('+', "%2B");
            let _ = of_request(b"GET", format!("/a/{real}").as_bytes(), b"");
        }

        #[test]
        fn never_panics(target in proptest::collection::vec(any::<u8>(), 0..40), headers in proptest::collection::vec(any::<u8>(), 0..120)) {
            let _ = of_request(b"GET", &target, &headers);
            let _ = of_response(&headers);
        }
    }
}
