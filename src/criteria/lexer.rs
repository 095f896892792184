//! Criteria text → tokens.
//!
//! Positions are character indices into the text (0-based here; errors add 1 for the column).
//! Unlike Netify's flex lexer, keywords need word boundaries: `ip_natand` is one unknown name,
//! not `ip_nat and`.

use std::net::IpAddr;

use super::groups::is_group_char;
use super::plan::CmpOp;
use super::CriteriaError;

#[derive(Debug, Clone, PartialEq)]
pub(super) enum TokenKind {
    /// A name: attribute (resolved by the parser).
    Ident(String),
    Number(u64),
    /// `true` / `false`, any case.
    Bool(bool),
    /// Quoted text without the quotes.
    Str(String),
    /// `'rx:<pattern>'`: the pattern.
    Regex(String),
    /// Unquoted MAC address `hh:hh:hh:hh:hh:hh`.
    Mac([u8; 6]),
    /// `@name`: an address group, resolved by the compiler.
    Group(String),
    /// Unquoted address, with the prefix length when written as a CIDR.
    Addr {
        addr: IpAddr,
        prefix: Option<u8>,
    },
    /// `&&` or `and`.
    And,
    /// `||` or `or`.
    Or,
    /// `!`
    Not,
    LParen,
    RParen,
    Semi,
    Cmp(CmpOp),
    Eof,
}

#[derive(Debug, Clone)]
pub(super) struct Token {
    pub kind: TokenKind,
    /// First character (index into the text).
    pub start: usize,
    /// One past the last character.
    pub end: usize,
}

impl Token {
    /// 1-based column of the first character.
    pub fn column(&self) -> usize {
        self.start + 1
    }
}

/// Splits `chars` into tokens, ending with one [`TokenKind::Eof`].
pub(super) fn tokenize(chars: &[char]) -> Result<Vec<Token>, CriteriaError> {
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let error = move |message: String| Err(CriteriaError::new(i + 1, message));
        let (kind, len) = match (c, next) {
            _ if c.is_whitespace() => {
                i += 1;
                continue;
            }
            ('(', _) => (TokenKind::LParen, 1),
            (')', _) => (TokenKind::RParen, 1),
            (';', _) => (TokenKind::Semi, 1),
            ('&', Some('&')) => (TokenKind::And, 2),
            ('|', Some('|')) => (TokenKind::Or, 2),
            ('&', _) => return error("`&` is not an operator: use `&&` (or `and`)".into()),
            ('|', _) => return error("`|` is not an operator: use `||` (or `or`)".into()),
            ('!', Some('=')) => (TokenKind::Cmp(CmpOp::Ne), 2),
            ('!', _) => (TokenKind::Not, 1),
            ('=', Some('=')) => (TokenKind::Cmp(CmpOp::Eq), 2),
            ('=', _) => return error("`=` is not a comparison: use `==`".into()),
            ('<', Some('=')) => (TokenKind::Cmp(CmpOp::Le), 2),
            ('<', _) => (TokenKind::Cmp(CmpOp::Lt), 1),
            ('>', Some('=')) => (TokenKind::Cmp(CmpOp::Ge), 2),
            ('>', _) => (TokenKind::Cmp(CmpOp::Gt), 1),
            ('\'' | '"', _) => quoted(chars, i)?,
            ('*', _) => {
                return error(
                    "`*` (match every flow) must be the whole criteria text, not part of an \
                     expression"
                        .into(),
                )
            }
            ('@', _) => {
                let len = chars[i + 1..].iter().take_while(|&&c| is_group_char(c)).count();
                if len == 0 {
                    return error("expected an address group name after `@` (e.g. `@iot`)".into());
                }
                (TokenKind::Group(chars[i + 1..i + 1 + len].iter().collect()), len + 1)
            }
            ('-', Some(d)) if d.is_ascii_digit() => {
                return error("negative numbers are not supported: every attribute is unsigned".into())
            }
            _ if is_word_start(c) => {
                let len = chars[i..].iter().take_while(|&&c| is_word_char(c)).count();
                let text: String = chars[i..i + len].iter().collect();
                (word(&text).map_err(|m| CriteriaError::new(i + 1, m))?, len)
            }
            _ => return error(format!("unexpected character `{c}`")),
        };
        tokens.push(Token { kind, start: i, end: i + len });
        i += len;
    }
    // End of input sits right after the last token, so a caret for "found end of input"
    // lands on the line where the text stops, not after trailing blank lines.
    let end = tokens.last().map_or(0, |t: &Token| t.end);
    tokens.push(Token { kind: TokenKind::Eof, start: end, end });
    Ok(tokens)
}

fn is_word_start(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// Names, numbers and unquoted addresses (`fe80::1`, `10.0.0.0/8`) are lexed as one run of
/// these characters, then classified.
fn is_word_char(c: char) -> bool {
    is_word_start(c) || c == '.' || c == '/'
}

/// Classifies one run of word characters.
fn word(text: &str) -> Result<TokenKind, String> {
    if let Some(mac) = parse_mac(text) {
        return Ok(TokenKind::Mac(mac));
    }
    let starts_with_digit = text.starts_with(|c: char| c.is_ascii_digit());
    if text.contains(':') || (starts_with_digit && text.contains(['.', '/'])) {
        return address(text);
    }
    if starts_with_digit {
        return number(text);
    }
    if !text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(format!("unexpected `{text}`: names are made of letters, digits and `_`"));
    }
    Ok(match text.to_ascii_lowercase().as_str() {
        "and" => TokenKind::And,
        "or" => TokenKind::Or,
        "true" => TokenKind::Bool(true),
        "false" => TokenKind::Bool(false),
        _ => TokenKind::Ident(text.to_string()),
    })
}

fn number(text: &str) -> Result<TokenKind, String> {
    let (digits, radix) = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => (hex, 16),
        None => (text, 10),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        let kind = if radix == 16 { "hex number" } else { "number" };
        return Err(format!("invalid {kind} `{text}`"));
    }
    u64::from_str_radix(digits, radix).map(TokenKind::Number).map_err(|_| format!("number `{text}` is too large"))
}

/// An unquoted address or CIDR (also used for quoted addresses by the compiler).
pub(super) fn address(text: &str) -> Result<TokenKind, String> {
    let (addr_text, prefix_text) = match text.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (text, None),
    };
    let addr: IpAddr = addr_text.parse().map_err(|_| {
        if text.contains(':') {
            format!("invalid IPv6 address `{text}`")
        } else {
            format!("`{text}` is neither a number nor an IPv4 address")
        }
    })?;
    let max = if addr.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix_text {
        None => None,
        Some(p) => {
            let valid = !p.is_empty() && p.len() <= 3 && p.chars().all(|c| c.is_ascii_digit());
            match p.parse::<u8>() {
                Ok(n) if valid && n <= max => Some(n),
                _ => return Err(format!("invalid prefix length `/{p}` in `{text}` (expected 0 to {max})")),
            }
        }
    };
    Ok(TokenKind::Addr { addr, prefix })
}

/// `hh:hh:hh:hh:hh:hh` (any case; `-` separators too, as `ip link` and Windows write them).
pub(super) fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let sep = if text.contains('-') { '-' } else { ':' };
    let mut mac = [0u8; 6];
    let mut groups = text.split(sep);
    for byte in &mut mac {
        let group = groups.next()?;
        if group.len() != 2 || !group.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        *byte = u8::from_str_radix(group, 16).ok()?;
    }
    groups.next().is_none().then_some(mac)
}

/// A quoted string or regex starting at `start` (the quote). Returns the token and its length.
///
/// Strings end at the next matching quote on the same line; there are no escapes. A regex
/// (`'rx:…'`) may contain the quote character itself: Netify's lexer takes the pattern greedily
/// up to the *last* quote on the line, which swallows anything after it
/// (`'rx:a' || x == 'b'` becomes one pattern). flowsieve instead ends the regex at the first
/// quote that is followed by something that can follow a value (`;`, `)`, `&&`, `||`, `and`,
/// `or`, end of line), so both `'rx:it's'` and two regexes on one line work.
fn quoted(chars: &[char], start: usize) -> Result<(TokenKind, usize), CriteriaError> {
    let quote = chars[start];
    let body = start + 1;
    let line_end = chars[body..].iter().position(|&c| c == '\n').map_or(chars.len(), |n| body + n);
    let is_regex = chars[body..line_end].starts_with(&['r', 'x', ':']);
    let mut closes = (body..line_end).filter(|&k| chars[k] == quote);
    let first = closes.clone().next();
    let close = if is_regex { closes.find(|&k| ends_value(&chars[k + 1..])).or(first) } else { first };
    let Some(close) = close else {
        return Err(CriteriaError::new(start + 1, format!("unterminated string: missing closing `{quote}`")));
    };
    let text: String = chars[body..close].iter().collect();
    let kind = match text.strip_prefix("rx:") {
        Some(pattern) => TokenKind::Regex(pattern.to_string()),
        None => TokenKind::Str(text),
    };
    Ok((kind, close + 1 - start))
}

/// Whether `rest` (the text after a closing quote) starts with what may follow a value.
fn ends_value(rest: &[char]) -> bool {
    let skip = rest.iter().take_while(|&&c| c == ' ' || c == '\t' || c == '\r').count();
    let rest = &rest[skip..];
    let word_then_break = |w: &str| {
        let n = w.len();
        rest.len() >= n
            && rest[..n].iter().zip(w.chars()).all(|(a, b)| a.eq_ignore_ascii_case(&b))
            && !rest.get(n).is_some_and(|&c| is_word_char(c))
    };
    match rest.first() {
        None | Some('\n' | ';' | ')') => true,
        Some('&') => rest.get(1) == Some(&'&'),
        Some('|') => rest.get(1) == Some(&'|'),
        _ => word_then_break("and") || word_then_break("or"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<TokenKind> {
        let chars: Vec<char> = text.chars().collect();
        tokenize(&chars).unwrap().into_iter().map(|t| t.kind).collect()
    }

    #[test]
    fn addresses_numbers_names() {
        use TokenKind::*;
        assert_eq!(
            kinds("local_ip==10.0.0.0/8&&x!=fe80::1 or ::1 AND 0x0302 770 True"),
            vec![
                Ident("local_ip".into()),
                Cmp(CmpOp::Eq),
                Addr { addr: "10.0.0.0".parse().unwrap(), prefix: Some(8) },
                And,
                Ident("x".into()),
                Cmp(CmpOp::Ne),
                Addr { addr: "fe80::1".parse().unwrap(), prefix: None },
                Or,
                Addr { addr: "::1".parse().unwrap(), prefix: None },
                And,
                Number(0x0302),
                Number(770),
                Bool(true),
                Eof,
            ]
        );
    }

    #[test]
    fn macs_and_groups() {
        use TokenKind::*;
        assert_eq!(
            kinds("local_mac == AA:bb:0c:dd:ee:01 || other_ip != @lan-hosts.v2;"),
            vec![
                Ident("local_mac".into()),
                Cmp(CmpOp::Eq),
                Mac([0xaa, 0xbb, 0x0c, 0xdd, 0xee, 0x01]),
                Or,
                Ident("other_ip".into()),
                Cmp(CmpOp::Ne),
                Group("lan-hosts.v2".into()),
                Semi,
                Eof,
            ]
        );
        assert_eq!(parse_mac("aa-bb-cc-dd-ee-ff"), Some([0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff]));
        assert_eq!(parse_mac("aa:bb:cc:dd:ee"), None);
        assert_eq!(parse_mac("aa:bb:cc:dd:ee:ff:00"), None);
        assert_eq!(parse_mac("aa:bb:cc:dd:ee:fg"), None);
    }

    #[test]
    fn regex_may_contain_quotes() {
        use TokenKind::*;
        assert_eq!(kinds("'rx:it's'"), vec![Regex("it's".into()), Eof]);
        assert_eq!(kinds("'rx:a' || 'rx:b';"), vec![Regex("a".into()), Or, Regex("b".into()), Semi, Eof]);
        assert_eq!(kinds("\"a'b\""), vec![Str("a'b".into()), Eof]);
    }

    #[test]
    fn positions_are_characters() {
        let chars: Vec<char> = "'é' ip_nat".chars().collect();
        let tokens = tokenize(&chars).unwrap();
        assert_eq!(tokens[1].column(), 5);
    }
}
