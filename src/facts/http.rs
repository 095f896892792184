//! What the HTTP dissector learns about a flow.

use super::fact_string;

/// Request methods of RFC 9110 §9 plus WebDAV's common ones, each with its trailing space.
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
}
