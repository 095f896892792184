//! What the HTTP dissector learns about a flow.

use super::fact_string;

/// Request methods of RFC 9110 §9, WebDAV's common ones (RFC 4918 §9, RFC 3253, RFC 5323) and
/// RPC over HTTP's ([MS-RPCH] §2.1.2.1: RPC_IN_DATA and RPC_OUT_DATA open its two channels,
/// RPC_CONNECT its version 1), each with its trailing space.
pub const METHODS: &[&[u8]] = &[
    b"GET ",
    b"POST ",
    b"HEAD ",
    b"PUT ",
    b"DELETE ",
    b"OPTIONS ",
    b"CONNECT ",
    b"PATCH ",
    b"TRACE ",
    b"PROPFIND ",
    b"PROPPATCH ",
    b"MKCOL ",
    b"COPY ",
    b"MOVE ",
    b"LOCK ",
    b"UNLOCK ",
    b"REPORT ",
    b"SEARCH ",
    b"RPC_IN_DATA ",
    b"RPC_OUT_DATA ",
    b"RPC_CONNECT ",
];

/// What the HTTP dissector learned about a flow.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpFacts {
    /// Host header, as sent (may carry a port).
    pub host: Option<Box<str>>,
    /// A method outside [`METHODS`], as sent; read through [`HttpFacts::method`].
    method_other: Option<Box<str>>,
    /// Request target as sent (origin form `/path?q` or absolute form for proxies).
    pub url: Option<Box<str>>,
    pub user_agent: Option<Box<str>>,
    /// Response status code; 0 until a response is seen.
    pub status: u16,
    /// 1 + the index in [`METHODS`] of a known method (no heap per flow for the common
    /// case, and one byte where a `Cow<'static, str>` took 24); 0 otherwise.
    method_known: u8,
    /// 1 + the index in [`KNOWN_SERVERS`] of the response's `Server` product; 0 otherwise
    /// (one byte of what was padding: the struct keeps its size).
    known_server: u8,
}

/// A server product that names the application a flow talks to whatever host the client asked
/// for: the first product token of an HTTP response's `Server` header (RFC 9110 §10.2.4,
/// `product *( RWS ( product / comment ) )`, token up to `/` or a space), compared whole and
/// byte for byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KnownServer {
    pub product: &'static str,
    /// The application tag a flow answered by this server gets.
    pub application: &'static str,
}

/// Server products that name their application (docs/FLOW-ACTIONS.md §5, "Wire signatures").
/// ntopng's embedded web server (the ntop project's traffic monitor, and its captive portal,
/// which answers the connectivity checks it intercepts for any host) sends `Server: ntopng
/// <version> (<arch>)`; nDPI's http.c names such a response `HTTP.ntop`.
pub const KNOWN_SERVERS: &[KnownServer] = &[KnownServer { product: "ntopng", application: "netify.ntop" }];

/// The index in [`KNOWN_SERVERS`] of the product a `Server` header value names first.
pub fn known_server_index(value: &[u8]) -> Option<usize> {
    let start = value.iter().position(|b| !b.is_ascii_whitespace())?;
    let rest = &value[start..];
    let end = rest.iter().position(|&b| b == b'/' || b.is_ascii_whitespace()).unwrap_or(rest.len());
    let product = &rest[..end];
    KNOWN_SERVERS.iter().position(|k| k.product.as_bytes() == product)
}

impl HttpFacts {
    /// The request method, when a request was seen.
    pub fn method(&self) -> Option<&str> {
        match self.method_known.checked_sub(1) {
            Some(i) => METHODS.get(usize::from(i)).and_then(|m| std::str::from_utf8(&m[..m.len() - 1]).ok()),
            None => self.method_other.as_deref(),
        }
    }

    /// The method when it is none of [`METHODS`], and so held on the heap.
    pub fn unknown_method(&self) -> Option<&str> {
        self.method_other.as_deref()
    }

    /// The entry of [`KNOWN_SERVERS`] the response's `Server` header named.
    pub fn known_server(&self) -> Option<&'static KnownServer> {
        KNOWN_SERVERS.get(usize::from(self.known_server_position()?))
    }

    /// The index in [`KNOWN_SERVERS`] of [`HttpFacts::known_server`].
    pub fn known_server_position(&self) -> Option<u8> {
        self.known_server.checked_sub(1)
    }

    /// Record the response's `Server` header value.
    pub fn set_server(&mut self, value: &[u8]) {
        self.known_server = known_server_index(value).and_then(|i| u8::try_from(i + 1).ok()).unwrap_or(0);
    }

    /// Record the request line's method.
    pub fn set_method(&mut self, method: &[u8]) {
        match known_method(method) {
            Some(i) => (self.method_known, self.method_other) = (i, None),
            None => (self.method_known, self.method_other) = (0, Some(fact_string(method, 32))),
        }
    }
}

/// 1 + the index of `method` in [`METHODS`] (which hold it with its trailing space).
fn known_method(method: &[u8]) -> Option<u8> {
    let i = METHODS.iter().position(|m| &m[..m.len() - 1] == method)?;
    u8::try_from(i + 1).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_known_methods_are_static() {
        let mut h = HttpFacts::default();
        assert_eq!(h.method(), None);
        h.set_method(b"PROPFIND");
        assert_eq!((h.method(), h.unknown_method()), (Some("PROPFIND"), None));
        h.set_method(b"GETX");
        assert_eq!((h.method(), h.unknown_method()), (Some("GETX"), Some("GETX")));
        assert_eq!(known_method(b"GE"), None);
        assert_eq!(known_method(b"GET"), Some(1));
    }

    #[test]
    fn server_products_compare_whole() {
        let mut h = HttpFacts::default();
        h.set_server(b"ntopng 6.1.240606 (x86_64)");
        assert_eq!(h.known_server().map(|k| k.application), Some("netify.ntop"));
        h.set_server(b"ntopng/5.2");
        assert_eq!(h.known_server_position(), Some(0));
        // Another product, a longer token, another case, a later product: not ntopng's.
        for other in [&b"nginx"[..], b"ntopngx 1.0", b"NTOPNG 6.1", b"Apache ntopng", b"ntop", b"", b"  "] {
            h.set_server(other);
            assert_eq!(h.known_server(), None, "{other:?}");
        }
        assert_eq!(std::mem::size_of::<HttpFacts>(), 72, "the index lives in padding");
    }
}
