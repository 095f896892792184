//! Small helpers for the text protocols (HTTP, SIP, SSDP, SSH banners, mail): borrowed line
//! splitting, case-insensitive prefixes, and turning wire bytes into a bounded fact string.

pub use crate::facts::fact_string;

/// The first line of `data` without its `\r\n` or `\n`, and the bytes after it. `None` when no
/// line end has arrived yet.
pub fn split_line(data: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = data.iter().position(|&b| b == b'\n')?;
    let line = data.get(..end).unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    Some((line, data.get(end + 1..).unwrap_or_default()))
}

/// True when `data` starts with `prefix`, ASCII case-insensitively.
pub fn starts_with_ci(data: &[u8], prefix: &[u8]) -> bool {
    data.len() >= prefix.len() && data.iter().zip(prefix).all(|(a, b)| a.eq_ignore_ascii_case(b))
}

/// True when the bytes present agree with the start of `prefix` (a payload too short to tell
/// yet is still a candidate).
pub fn prefix_agrees(data: &[u8], prefix: &[u8]) -> bool {
    data.iter().zip(prefix).all(|(a, b)| a == b)
}

/// True when `needle` occurs in `data`, ASCII case-insensitively.
pub fn contains_ci(data: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && data.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle))
}

/// Bytes trimmed of ASCII whitespace at both ends.
pub fn trim(data: &[u8]) -> &[u8] {
    let start = data.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(data.len());
    let end = data.iter().rposition(|b| !b.is_ascii_whitespace()).map_or(start, |e| e + 1);
    data.get(start..end).unwrap_or_default()
}

/// Value of header `name` (`Name: value`) in a block of header lines, trimmed.
pub fn header<'a>(mut headers: &'a [u8], name: &[u8]) -> Option<&'a [u8]> {
    while let Some((line, rest)) = split_line(headers).or_else(|| (!headers.is_empty()).then_some((headers, &[][..]))) {
        if line.is_empty() {
            return None; // end of the header block
        }
        if let Some(colon) = line.iter().position(|&b| b == b':') {
            if line.get(..colon).is_some_and(|n| n.eq_ignore_ascii_case(name)) {
                return Some(trim(line.get(colon + 1..).unwrap_or_default()));
            }
        }
        headers = rest;
    }
    None
}

/// True when every byte is printable ASCII or whitespace.
pub fn is_text(data: &[u8]) -> bool {
    data.iter().all(|&b| b.is_ascii_graphic() || b == b' ' || b == b'\t' || b == b'\r' || b == b'\n')
}

/// The probe of a protocol whose first payload starts with a fixed `banner`: certain when it
/// does, unsure while the bytes present are the banner's start.
pub fn banner_probe(p: &[u8], banner: &[u8]) -> super::Probe {
    if p.is_empty() {
        super::Probe::NotForUs
    } else if p.starts_with(banner) {
        super::Probe::Certain
    } else if banner.starts_with(p) {
        super::Probe::Unsure
    } else {
        super::Probe::NotForUs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_headers_and_strings() {
        assert_eq!(split_line(b"a\r\nb"), Some((&b"a"[..], &b"b"[..])));
        assert_eq!(split_line(b"abc"), None);
        let h = b"Host: example.com \r\nUser-Agent: x\r\n\r\nBody: no";
        assert_eq!(header(h, b"host"), Some(&b"example.com"[..]));
        assert_eq!(header(h, b"user-agent"), Some(&b"x"[..]));
        assert_eq!(header(h, b"body"), None);
        assert_eq!(header(b"Host: a", b"host"), Some(&b"a"[..]));
        assert_eq!(&*fact_string(b"a\x01b\xff", 10), "ab\u{fffd}");
        assert_eq!(&*fact_string(b"abcdef", 3), "abc");
        assert!(starts_with_ci(b"GeT /", b"get"));
        assert!(prefix_agrees(b"GE", b"GET "));
        assert!(!prefix_agrees(b"GX", b"GET "));
        assert_eq!(trim(b"  \t"), b"");
        assert!(contains_ci(b"220 mail ESMTP", b"smtp"));
    }
}
