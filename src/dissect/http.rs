//! HTTP/1.x dissector: the request line and headers (method, target, Host, User-Agent) and the
//! response status (RFC 9112 §3, §4).
//!
//! Hand-written rather than `httparse`: we only read four fields, borrow them from the
//! reassembled header block, and must accept header blocks cut off by the buffer limit. Each
//! direction is reassembled up to [`HEADER_LIMIT`] bytes; the first message of each direction is
//! read once its header block ends (or the buffer is full).

use super::stream::{Push, StreamBuffer};
use super::text::{fact_string, header, prefix_agrees, split_line, trim};
use super::{protocol, Dissector, FlowInfo, Parsed, Ports, Probe, Segment, Transports};
use crate::facts::finality::Final;
use crate::facts::http::METHODS;
use crate::facts::FlowFacts;

/// Header bytes kept per direction; requests with more headers are read from what fits.
pub const HEADER_LIMIT: usize = 8 * 1024;

/// Longest fact string we keep (URLs can be long; Netify keeps a bounded URL too).
const MAX_FACT: usize = 1024;

const RESPONSE: &[u8] = b"HTTP/1.";

/// Per-flow HTTP state: one header buffer per direction.
#[derive(Debug)]
pub struct HttpDissector {
    sides: [StreamBuffer; 2],
    request_seen: bool,
    response_seen: bool,
    /// The direction's first message was read; its later bytes are not looked at.
    side_read: [bool; 2],
}

impl Default for HttpDissector {
    fn default() -> Self {
        HttpDissector {
            sides: [StreamBuffer::new(HEADER_LIMIT), StreamBuffer::new(HEADER_LIMIT)],
            request_seen: false,
            response_seen: false,
            side_read: [false; 2],
        }
    }
}

/// How the start of a payload compares with an HTTP message start.
fn classify(p: &[u8]) -> Probe {
    let mut unsure = false;
    for start in METHODS.iter().chain(std::iter::once(&RESPONSE)) {
        if p.len() >= start.len() {
            if p.starts_with(start) {
                return Probe::Certain;
            }
        } else if prefix_agrees(p, start) {
            unsure = true;
        }
    }
    if unsure {
        Probe::Unsure
    } else {
        Probe::NotForUs
    }
}

impl Dissector for HttpDissector {
    const PROTOCOL: protocol::ProtocolId = protocol::HTTP;
    const TRANSPORTS: Transports = Transports::TCP;

    /// Certain for a payload opening with a request method and a space, or with `HTTP/1.`.
    /// HTTP over UDP (SSDP) has its own dissector.
    fn probe_flow(flow: &FlowInfo, segment: &Segment<'_>) -> Probe {
        if !flow.is_tcp() {
            return Probe::NotForUs;
        }
        classify(segment.payload)
    }

    /// 80 and 8080, and the alternates 81 and 8181 nDPI also guesses HTTP for.
    const PORTS: Ports = Ports::tcp(&[80, 8080, 81, 8181]);

    fn parse(&mut self, segment: &Segment<'_>, facts: &mut FlowFacts) -> Parsed {
        let dir = segment.direction.index();
        if self.side_read[dir] {
            return Parsed::Continue;
        }
        let side = &mut self.sides[dir];
        let push = match segment.tcp_seq {
            Some(seq) => side.push(seq, segment.payload),
            None => {
                side.clear();
                side.push(0, segment.payload)
            }
        };
        if matches!(push, Push::Gap | Push::Stale) {
            return Parsed::Continue;
        }
        let data = side.data();
        let complete = data.windows(4).any(|w| w == b"\r\n\r\n") || data.windows(2).any(|w| w == b"\n\n");
        if !complete && !side.is_full() {
            return Parsed::Continue;
        }
        let mut updated = false;
        if data.starts_with(RESPONSE) {
            if !self.response_seen {
                self.response_seen = true;
                updated |= read_response(data, facts);
            }
        } else if !self.request_seen && classify(data) == Probe::Certain {
            self.request_seen = true;
            updated |= read_request(data, facts);
        }
        let answered = data.starts_with(RESPONSE);
        side.release();
        self.side_read[dir] = true;
        if answered {
            updated |= self.read_unfinished_request(1 - dir, facts);
        }
        if self.request_seen && self.response_seen {
            Parsed::Done
        } else if updated {
            Parsed::Updated
        } else {
            Parsed::Continue
        }
    }
}

impl HttpDissector {
    /// The server answered while the request's header block on side `side` is still
    /// unfinished (a segment the capture missed, a mangled end): the header lines that did
    /// arrive are all there will be, so read them, as nDPI does line by line.
    fn read_unfinished_request(&mut self, side: usize, facts: &mut FlowFacts) -> bool {
        let Some(buffer) = self.sides.get_mut(side) else { return false };
        let data = buffer.data();
        if self.request_seen || self.side_read[side] || classify(data) != Probe::Certain {
            return false;
        }
        // Whole lines only: a cut header value would be a wrong one.
        let whole = data.iter().rposition(|&b| b == b'\n').and_then(|end| data.get(..=end)).unwrap_or_default();
        let updated = read_request(whole, facts);
        self.request_seen = true;
        self.side_read[side] = true;
        buffer.release();
        updated
    }
}

/// Read a request's line and headers into the facts. True when something was written.
fn read_request(data: &[u8], facts: &mut FlowFacts) -> bool {
    let (line, headers) = split_line(data).unwrap_or((data, &[]));
    let mut parts = line.split(|&b| b == b' ').filter(|p| !p.is_empty());
    let (Some(method), Some(target)) = (parts.next(), parts.next()) else {
        return false;
    };
    // A CONNECT tunnel (RFC 9110 §9.3.6) or a request in absolute form, which a client sends
    // only to a proxy (RFC 9112 §3.2.2).
    if method == b"CONNECT" {
        facts.protocol = protocol::HTTP_CONNECT;
    } else if is_absolute_http_uri(target) {
        facts.protocol = protocol::HTTP_PROXY;
    }
    // A request makes the flow's protocol final: no dissector renames an HTTP flow after it,
    // and soft dissectors leave a final protocol alone.
    facts.final_facts |= Final::PROTOCOL;
    let http = facts.app_protocol.http_mut();
    http.set_method(method);
    http.url = Some(fact_string(target, MAX_FACT));
    if let Some(host) = header(headers, b"host").filter(|h| !h.is_empty()) {
        http.host = Some(fact_string(host, 255));
        if facts.detected_hostname().is_none() {
            facts.set_detected_hostname(hostname_of(host));
        }
    }
    // RFC 8484 §4.1 over cleartext HTTP: the DNS message media type names DoH.
    let dns_message =
        |name: &[u8]| header(headers, name).is_some_and(|v| v.eq_ignore_ascii_case(b"application/dns-message"));
    if dns_message(b"content-type") || dns_message(b"accept") {
        facts.protocol = protocol::DOH;
    }
    refine(facts, super::http_payload::of_request(method, target, headers));
    if let Some(agent) = header(headers, b"user-agent") {
        facts.app_protocol.http_mut().user_agent = Some(fact_string(agent, MAX_FACT));
    }
    // Basic authorization is a user name and password in base64: clear text on plain HTTP.
    if header(headers, b"authorization").is_some_and(|v| v.len() > 6 && v[..6].eq_ignore_ascii_case(b"basic ")) {
        super::risks::flag(facts, super::risks::CLEAR_TEXT_CREDENTIALS);
    }
    true
}

/// A request target in absolute form with an `http` scheme (`https` goes through CONNECT).
fn is_absolute_http_uri(target: &[u8]) -> bool {
    target.get(..7).is_some_and(|scheme| scheme.eq_ignore_ascii_case(b"http://"))
}

/// Read a response's status code. True when one was found.
fn read_response(data: &[u8], facts: &mut FlowFacts) -> bool {
    let line = split_line(data).map_or(data, |(l, _)| l);
    let code = line.split(|&b| b == b' ').nth(1).unwrap_or_default();
    let status = match code {
        [a, b, c] if code.iter().all(u8::is_ascii_digit) => {
            u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0')
        }
        _ => return false,
    };
    facts.app_protocol.http_mut().status = status;
    let headers = split_line(data).map_or(&[][..], |(_, h)| h);
    if let Some(server) = header(headers, b"server") {
        facts.app_protocol.http_mut().set_server(server);
    }
    // A request made the protocol final (actions may have decided on it): only a response
    // seen without its request (a capture or agent started mid-connection) names what it
    // carries. netifyd reports such flows as HTTP too (docs/FLOW-ACTIONS.md §5.2).
    if !facts.final_facts.contains(Final::PROTOCOL) {
        refine(facts, super::http_payload::of_response(headers));
    }
    true
}

/// Name a plain HTTP flow by the protocol its message carries (`http_payload`). A proxied,
/// tunnelled or DoH flow keeps its name, and the first carried protocol named stays.
fn refine(facts: &mut FlowFacts, carried: Option<protocol::ProtocolId>) {
    if let Some(carried) = carried.filter(|_| facts.protocol == protocol::HTTP) {
        facts.protocol = carried;
    }
}

/// The host name of a Host header: lower case, without a port (`[v6]:port` keeps the address).
pub fn hostname_of(host: &[u8]) -> Box<str> {
    let host = trim(host);
    let name = if host.first() == Some(&b'[') {
        host.iter().position(|&b| b == b']').and_then(|e| host.get(1..e)).unwrap_or(host)
    } else {
        match host.iter().rposition(|&b| b == b':') {
            Some(colon) if host.iter().filter(|&&b| b == b':').count() == 1 => host.get(..colon).unwrap_or(host),
            _ => host,
        }
    };
    fact_string(name, 255).to_ascii_lowercase().into_boxed_str()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::Direction;

    /// A flow the HTTP dissector has claimed, as the flow table starts it: nothing final yet.
    fn http_flow() -> FlowFacts {
        FlowFacts { protocol: protocol::HTTP, final_facts: Final::NONE, ..FlowFacts::default() }
    }
    use proptest::prelude::*;

    const REQUEST: &[u8] =
        b"GET /index.html?q=1 HTTP/1.1\r\nHost: Example.COM:8080\r\nUser-Agent: curl/8.0\r\nAccept: */*\r\n\r\n";
    const RESPONSE_200: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

    fn seg(direction: Direction, seq: u32, payload: &[u8]) -> Segment<'_> {
        Segment { direction, tcp_seq: Some(seq), payload }
    }

    fn tcp() -> FlowInfo {
        FlowInfo { ip_protocol: 6, ports: [40000, 80], ..FlowInfo::default() }
    }

    #[test]
    fn basic_authorization_is_clear_text_credentials() {
        let request: &[u8] = b"GET / HTTP/1.1\r\nHost: h\r\nAuthorization: Basic dXNlcjpwYXNz\r\n\r\n";
        let mut f = FlowFacts::default();
        assert!(read_request(request, &mut f));
        assert_eq!(f.risk.risks, 1 << super::super::risks::CLEAR_TEXT_CREDENTIALS);
        let mut f = FlowFacts::default();
        assert!(read_request(REQUEST, &mut f));
        assert_eq!(f.risk.risks, 0);
    }

    #[test]
    fn an_answered_request_is_read_without_its_end() {
        // fuzz-2006-09-29-28586.pcap, 172.20.3.5:2604: the request's second segment is not in
        // the capture; the server answers. nDPI: user agent SonyEricssonT68/R201A.
        let request: &[u8] = b"GET /servlets/mms?message-id=189001 HTTP/1.1\r\nHost: 172.20.3.13\r\n\
            Accept: application/vnd.wap.mms-message\r\nUser-Agent: SonyEricssonT68/R201A\r\nAcceAt-Charset: *\r\n\
            u6-Profile-Diff-1: <?xml ve";
        let mut d = HttpDissector::default();
        let mut f = FlowFacts::default();
        assert_eq!(d.parse(&seg(Direction::Forward, 1, request), &mut f), Parsed::Continue);
        assert_eq!(d.parse(&seg(Direction::Reverse, 9, RESPONSE_200), &mut f), Parsed::Done);
        let h = f.app_protocol.http().unwrap();
        assert_eq!(h.user_agent.as_deref(), Some("SonyEricssonT68/R201A"));
        assert_eq!(f.detected_hostname(), Some("172.20.3.13"));
        // The line cut short is not read as a header.
        let mut d = HttpDissector::default();
        let mut f = FlowFacts::default();
        d.parse(&seg(Direction::Forward, 1, b"GET / HTTP/1.1\r\nUser-Agent: cu"), &mut f);
        d.parse(&seg(Direction::Reverse, 9, RESPONSE_200), &mut f);
        assert_eq!(f.app_protocol.http().and_then(|h| h.user_agent.as_deref()), None);
    }

    #[test]
    fn reads_request_and_response() {
        assert_eq!(HttpDissector::probe_flow(&tcp(), &seg(Direction::Forward, 0, REQUEST)), Probe::Certain);
        let mut d = HttpDissector::default();
        let mut f = FlowFacts::default();
        assert_eq!(d.parse(&seg(Direction::Forward, 1, REQUEST), &mut f), Parsed::Updated);
        assert_eq!(d.parse(&seg(Direction::Reverse, 9, RESPONSE_200), &mut f), Parsed::Done);
        let h = f.app_protocol.http().unwrap();
        assert_eq!(h.method(), Some("GET"));
        assert_eq!(h.unknown_method(), None, "a known method costs no heap");
        assert_eq!(h.url.as_deref(), Some("/index.html?q=1"));
        assert_eq!(h.host.as_deref(), Some("Example.COM:8080"));
        assert_eq!(h.user_agent.as_deref(), Some("curl/8.0"));
        assert_eq!(h.status, 200);
        assert_eq!(f.detected_hostname(), Some("example.com"));
    }

    #[test]
    fn rpc_over_http_requests_are_http_and_name_ms_rpch() {
        // [MS-RPCH] §2.1.2.1: an RD Gateway or Outlook Anywhere client opens its IN channel with
        // the method RPC_IN_DATA and a 1 GB content length. Not one of RFC 9110's methods, it
        // must still be taken for HTTP at the first payload.
        let request: &[u8] = b"RPC_IN_DATA /rpc/rpcproxy.dll?exchange.example.com:6001 HTTP/1.1\r\n\
            Accept: application/rpc\r\nUser-Agent: MSRPC\r\nHost: mail.example.com\r\n\
            Content-Length: 1073741824\r\nConnection: Keep-Alive\r\n\r\n";
        assert_eq!(classify(request), Probe::Certain);
        assert_eq!(classify(&request[..5]), Probe::Unsure);
        let mut d = HttpDissector::default();
        let mut f = http_flow();
        d.parse(&seg(Direction::Forward, 1, request), &mut f);
        assert_eq!(f.protocol, protocol::MS_RPCH);
        let h = f.app_protocol.http().unwrap();
        assert_eq!((h.method(), h.unknown_method()), (Some("RPC_IN_DATA"), None));
        assert_eq!(f.detected_hostname(), Some("mail.example.com"));
        // A WebDAV client listing a collection (RFC 4918 §9.1).
        let propfind: &[u8] = b"PROPFIND /dav/docs/ HTTP/1.1\r\nHost: files.example.org\r\nDepth: 1\r\n\r\n";
        let mut d = HttpDissector::default();
        let mut f = http_flow();
        d.parse(&seg(Direction::Forward, 1, propfind), &mut f);
        assert_eq!(f.protocol, protocol::WEBDAV);
    }

    #[test]
    fn carried_protocols_refine_plain_http() {
        // ocsp.pcapng in nDPI's corpus, 192.168.1.227:49813 → 109.70.240.130:80 (nDPI:
        // HTTP.OCSP): a GET whose target is the OCSP request (RFC 6960 A.1) names OCSP at once.
        let request: &[u8] =
            b"GET /VA/AUTH-ROOT/MFEwTzBNMEswSTAJBgUrDgMCGgUABBSw4x5v4bTlizjNRmTdkYSy7q0R9gQUUtiIOsifeGbtifN7OHCUy\
            QICNtACEEWXMtjzGMt1k6L0aA%2BQ6tk%3D HTTP/1.1\r\nCache-Control: max-age = 10\r\nConnection: Keep-Alive\r\n\
            Accept: */*\r\nHost: ocsp07.actalis.it\r\n\r\n";
        let answer: &[u8] = b"HTTP/1.1 200 \r\nServer: nginx\r\nDate: Wed, 09 Jun 2021 06:47:55 GMT\r\n\
            Content-Type: application/ocsp-response\r\nContent-Length: 2055\r\nConnection: keep-alive\r\n\r\n";
        let mut d = HttpDissector::default();
        let mut f = http_flow();
        d.parse(&seg(Direction::Forward, 1, request), &mut f);
        assert_eq!(f.protocol, protocol::OCSP);
        assert!(f.final_facts.contains(Final::PROTOCOL), "a request makes the protocol final");
        // http_invalid_server.pcap (nDPI: HTTP.OCSP): a bare `GET /` that an OCSP responder
        // answers with an OCSP response. The request names nothing and makes HTTP final.
        let bare: &[u8] = b"GET / HTTP/1.1\r\nHost: ocsp.rootg2.amazontrust.com\r\n\r\n";
        let mut d = HttpDissector::default();
        let mut f = http_flow();
        d.parse(&seg(Direction::Forward, 1, bare), &mut f);
        assert_eq!(f.protocol, protocol::HTTP, "the request alone names nothing");
        assert!(f.final_facts.contains(Final::PROTOCOL), "a request makes the protocol final");
        assert_eq!(d.parse(&seg(Direction::Reverse, 9, answer), &mut f), Parsed::Done);
        assert_eq!(f.protocol, protocol::HTTP, "actions may have decided on HTTP: the answer renames nothing");
        // The same answer seen without its request (a capture started mid-connection) names
        // what it carries.
        let mut d = HttpDissector::default();
        let mut f = http_flow();
        d.parse(&seg(Direction::Reverse, 9, answer), &mut f);
        assert_eq!(f.protocol, protocol::OCSP);
        // ipp.pcap: the request names IPP; the interim 100 answer changes nothing.
        let ipp: &[u8] = b"POST /ipp/ HTTP/1.1\r\nContent-Length: 289\r\nContent-Type: application/ipp\r\n\
            Host: 10.10.10.251\r\nUser-Agent: CUPS/1.3.4\r\nExpect: 100-continue\r\n\r\n";
        let mut d = HttpDissector::default();
        let mut f = http_flow();
        d.parse(&seg(Direction::Forward, 1, ipp), &mut f);
        d.parse(&seg(Direction::Reverse, 9, b"HTTP/1.1 100 Continue\r\n\r\n"), &mut f);
        assert_eq!(f.protocol, protocol::IPP);
        // A proxied request keeps its name whatever it carries.
        let mut f = http_flow();
        read_request(b"GET http://example.com/live.m3u8 HTTP/1.1\r\nHost: example.com\r\n\r\n", &mut f);
        assert_eq!(f.protocol, protocol::HTTP_PROXY);
        // Ordinary pages stay HTTP.
        let mut d = HttpDissector::default();
        let mut f = http_flow();
        d.parse(&seg(Direction::Forward, 1, REQUEST), &mut f);
        d.parse(&seg(Direction::Reverse, 9, b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n"), &mut f);
        assert_eq!(f.protocol, protocol::HTTP);
    }

    #[test]
    fn connect_is_http_connect() {
        // http_connect.pcap in nDPI's corpus, 192.168.1.103:1714 → 192.168.1.146:8080 (nDPI:
        // HTTP_Connect, hostname apache.org).
        let request: &[u8] =
            b"CONNECT apache.org:443 HTTP/1.1\r\nUser-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64; \
            rv:92.0) Gecko/20100101 Firefox/92.0\r\nProxy-Connection: keep-alive\r\nConnection: keep-alive\r\n\
            Host: apache.org:443\r\n\r\n";
        let answer: &[u8] = b"HTTP/1.0 200 Connection Established\r\nProxy-agent: Apache/2.4.41 (Ubuntu)\r\n\r\n";
        let mut d = HttpDissector::default();
        let mut f = http_flow();
        assert_eq!(d.parse(&seg(Direction::Forward, 1, request), &mut f), Parsed::Updated);
        assert_eq!(d.parse(&seg(Direction::Reverse, 9, answer), &mut f), Parsed::Done);
        assert_eq!(f.protocol, protocol::HTTP_CONNECT);
        assert_eq!(f.app_protocol.http().unwrap().method(), Some("CONNECT"));
        assert_eq!(f.detected_hostname(), Some("apache.org"));
    }

    #[test]
    fn absolute_form_request_is_http_proxy() {
        // quickplay.pcap in nDPI's corpus, 10.54.169.250:54883 → 203.205.151.160:80 (nDPI:
        // HTTP_Proxy.QQ), header block only.
        let request: &[u8] = b"POST http://hkextshort.weixin.qq.com/cgi-bin/micromsg-bin/mmsnssync HTTP/1.1\r\n\
            Accept: */*\r\nCache-Control: no-cache\r\nConnection: close\r\nContent-Length: 275\r\n\
            Content-Type: application/octet-stream\r\nHost: hkextshort.weixin.qq.com\r\n\
            User-Agent: MicroMessenger Client\r\n\r\n";
        let mut d = HttpDissector::default();
        let mut f = http_flow();
        assert_eq!(d.parse(&seg(Direction::Forward, 1, request), &mut f), Parsed::Updated);
        assert_eq!(f.protocol, protocol::HTTP_PROXY);
        assert_eq!(f.detected_hostname(), Some("hkextshort.weixin.qq.com"));
        // Origin-form stays HTTP; so does an `https://` target (proxies tunnel those via CONNECT)
        // and a path that merely contains the scheme.
        for line in
            [&b"GET / HTTP/1.1\r\n\r\n"[..], b"GET https://a/ HTTP/1.1\r\n\r\n", b"GET /http://a HTTP/1.1\r\n\r\n"]
        {
            let mut f = http_flow();
            HttpDissector::default().parse(&seg(Direction::Forward, 1, line), &mut f);
            assert_eq!(f.protocol, protocol::HTTP, "{}", String::from_utf8_lossy(line));
        }
        let mut f = http_flow();
        HttpDissector::default().parse(&seg(Direction::Forward, 1, b"GET HTTP://A/ HTTP/1.1\r\n\r\n"), &mut f);
        assert_eq!(f.protocol, protocol::HTTP_PROXY, "the scheme is case-insensitive (RFC 9110 §4.2.3)");
    }

    #[test]
    fn dns_message_requests_are_doh() {
        // RFC 8484 §4.1.1's GET example.
        let get: &[u8] = b"GET /dns-query?dns=AAABAAABAAAAAAAAA3d3dwdleGFtcGxlA2NvbQAAAQ HTTP/1.1\r\nHost: dnsserver.example.net\r\n\
            Accept: application/dns-message\r\n\r\n";
        let post: &[u8] =
            b"POST /dns-query HTTP/1.1\r\nHost: dnsserver.example.net\r\nAccept: application/dns-message\r\n\
            Content-Type: application/dns-message\r\nContent-Length: 33\r\n\r\n";
        for request in [get, post] {
            let mut f = http_flow();
            HttpDissector::default().parse(&seg(Direction::Forward, 1, request), &mut f);
            assert_eq!(f.protocol, protocol::DOH);
        }
    }

    #[test]
    fn request_split_across_segments() {
        let mut d = HttpDissector::default();
        let mut f = FlowFacts::default();
        let (a, b) = REQUEST.split_at(30);
        assert_eq!(d.parse(&seg(Direction::Forward, 100, a), &mut f), Parsed::Continue);
        assert_eq!(d.parse(&seg(Direction::Forward, 130, b), &mut f), Parsed::Updated);
        assert_eq!(f.app_protocol.http().unwrap().user_agent.as_deref(), Some("curl/8.0"));
    }

    #[test]
    fn probe_rejects_and_defers() {
        let t = tcp();
        let probe = |p: &[u8]| HttpDissector::probe_flow(&t, &seg(Direction::Forward, 0, p));
        assert_eq!(probe(b"GE"), Probe::Unsure);
        assert_eq!(probe(b"GEX /"), Probe::NotForUs);
        assert_eq!(probe(b"\x16\x03\x01"), Probe::NotForUs);
        assert_eq!(probe(b"HTTP/1.0 404 Not Found\r\n"), Probe::Certain);
        let udp = FlowInfo { ip_protocol: 17, ports: [1, 2], ..FlowInfo::default() };
        assert_eq!(HttpDissector::probe_flow(&udp, &seg(Direction::Forward, 0, REQUEST)), Probe::NotForUs);
    }

    #[test]
    fn truncated_and_odd_input() {
        for cut in 0..REQUEST.len() {
            let mut d = HttpDissector::default();
            let mut f = FlowFacts::default();
            d.parse(&seg(Direction::Forward, 0, &REQUEST[..cut]), &mut f);
        }
        let mut f = FlowFacts::default();
        assert!(!read_response(b"HTTP/1.1 2x0 OK\r\n", &mut f));
        assert!(!read_request(b"GET\r\n\r\n", &mut f));
        assert_eq!(&*hostname_of(b"[::1]:80"), "::1");
        assert_eq!(&*hostname_of(b"fe80::1"), "fe80::1");
    }

    #[test]
    fn oversized_headers_are_read_from_what_fits() {
        let mut big = b"POST /up HTTP/1.1\r\nHost: h\r\n".to_vec();
        big.extend(std::iter::repeat_n(b'x', HEADER_LIMIT * 2));
        let mut d = HttpDissector::default();
        let mut f = FlowFacts::default();
        assert_eq!(d.parse(&seg(Direction::Forward, 0, &big), &mut f), Parsed::Updated);
        assert_eq!(f.detected_hostname(), Some("h"));
    }

    proptest! {
        #[test]
        fn never_panics(chunks in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..300), 0..6)) {
            let mut d = HttpDissector::default();
            let mut f = FlowFacts::default();
            let mut seq = 0u32;
            for (i, c) in chunks.iter().enumerate() {
                let dir = if i % 2 == 0 { Direction::Forward } else { Direction::Reverse };
                let _ = HttpDissector::probe_flow(&tcp(), &seg(dir, seq, c));
                d.parse(&seg(dir, seq, c), &mut f);
                seq = seq.wrapping_add(c.len() as u32);
            }
        }
    }
}
