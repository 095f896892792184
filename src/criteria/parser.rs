//! Tokens → syntax tree, by recursive descent.
//!
//! ```text
//! program   = statement+                      (the last statement decides)
//! statement = chain ";"                       (a missing final ";" is a warning)
//! chain     = unary (("&&" | "||") unary)*    ("&&" binds tighter than "||")
//! unary     = "!" unary | "(" chain ")" | "true" | "false"
//!           | attribute [cmp value]           (a bare attribute is a truth test)
//! ```
//!
//! A chain is read flat and grouped afterwards, which makes it easy to see when one level
//! mixes `&&` and `||`: Netify's grammar gives them equal precedence, grouping to the right
//! (docs/FLOW-ACTIONS.md §3.1), so such expressions mean something else there and get a
//! warning naming both readings (docs/FLOW-ACTIONS.md §7).
//! Attribute names are resolved here, so an unknown name is reported in reading order with
//! syntax errors; value types are checked later by the compiler ([`super::plan`]).

use std::net::IpAddr;

use super::attribute::{self, Attribute};
use super::lexer::{Token, TokenKind};
use super::plan::CmpOp;
use super::{CriteriaError, CriteriaWarning};

/// Deepest nesting of `(` and `!` accepted; keeps every recursive walk of the tree shallow.
const MAX_DEPTH: usize = 64;

#[derive(Debug)]
pub(super) enum Expr {
    Literal(bool),
    /// Bare attribute: flag set, non-zero, non-empty. `span` is its text (character range).
    Truth {
        attr: &'static Attribute,
        span: (usize, usize),
    },
    Compare(Box<Compare>),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
}

#[derive(Debug)]
pub(super) struct Compare {
    pub attr: &'static Attribute,
    /// The attribute as written (it may be an alias), for messages.
    pub attr_text: String,
    pub op: CmpOp,
    pub op_column: usize,
    pub value: Value,
    pub value_column: usize,
    /// The value as written, for messages.
    pub value_text: String,
    /// Attribute to value, as a character range of the text (for `explain`).
    pub span: (usize, usize),
}

#[derive(Debug, Clone, PartialEq)]
pub(super) enum Value {
    Number(u64),
    Bool(bool),
    Str(String),
    Regex(String),
    Addr {
        addr: IpAddr,
        prefix: Option<u8>,
    },
    Mac([u8; 6]),
    /// `@name`
    Group(String),
    /// A bare constant (`other_remote`, `tunnel_gtp` …), as written.
    Name(String),
}

impl Value {
    /// What kind of value this is, for messages ("found string 'foo'").
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Number(_) => "number",
            Value::Bool(_) => "boolean",
            Value::Str(_) => "string",
            Value::Regex(_) => "regex",
            Value::Addr { .. } => "address",
            Value::Mac(_) => "MAC address",
            Value::Group(_) => "address group",
            Value::Name(_) => "constant",
        }
    }
}

pub(super) struct Program {
    /// Every statement, in order; only the last one decides.
    pub statements: Vec<Expr>,
    pub warnings: Vec<CriteriaWarning>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Logic {
    And,
    Or,
}

impl Logic {
    fn as_str(self) -> &'static str {
        match self {
            Logic::And => "&&",
            Logic::Or => "||",
        }
    }
}

/// Parses a whole criteria text. `tokens` ends with [`TokenKind::Eof`].
pub(super) fn parse(chars: &[char], tokens: Vec<Token>) -> Result<Program, CriteriaError> {
    let mut parser = Parser { chars, tokens, pos: 0, depth: 0, warnings: Vec::new() };
    let statements = parser.program()?;
    Ok(Program { statements, warnings: parser.warnings })
}

struct Parser<'a> {
    chars: &'a [char],
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
    warnings: Vec<CriteriaWarning>,
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        &self.tokens[self.pos]
    }

    /// The current token, moving past it (never past the final Eof).
    fn advance(&mut self) -> Token {
        let token = self.tokens[self.pos].clone();
        if token.kind != TokenKind::Eof {
            self.pos += 1;
        }
        token
    }

    /// End of the last token consumed.
    fn consumed_end(&self) -> usize {
        self.pos.checked_sub(1).map_or(0, |p| self.tokens[p].end)
    }

    fn text(&self, start: usize, end: usize) -> String {
        self.chars[start..end].iter().collect()
    }

    /// A token as messages name it: "end of input", "`;`", "number `0x0302`".
    fn describe(&self, token: &Token) -> String {
        let text = self.text(token.start, token.end);
        match token.kind {
            TokenKind::Eof => "end of input".to_string(),
            TokenKind::Number(_) => format!("number `{text}`"),
            TokenKind::Str(_) | TokenKind::Regex(_) => format!("string `{text}`"),
            TokenKind::Addr { .. } => format!("address `{text}`"),
            TokenKind::Mac(_) => format!("MAC address `{text}`"),
            TokenKind::Group(_) => format!("address group `{text}`"),
            _ => format!("`{text}`"),
        }
    }

    fn warn(&mut self, column: usize, message: String) {
        self.warnings.push(CriteriaWarning { column, message });
    }

    fn program(&mut self) -> Result<Vec<Expr>, CriteriaError> {
        let mut statements = Vec::new();
        let first_column = self.peek().column();
        loop {
            if self.peek().kind == TokenKind::Eof {
                if statements.is_empty() {
                    return Err(CriteriaError::new(
                        1,
                        "empty criteria: expected an expression such as `ip_nat == false;` \
                         (or `*` to match every flow)"
                            .into(),
                    ));
                }
                break;
            }
            statements.push(self.chain()?);
            let token = self.peek().clone();
            match token.kind {
                TokenKind::Semi => {
                    self.advance();
                }
                TokenKind::Eof => {
                    self.warn(
                        token.column(),
                        "missing `;` at the end (Netify rejects this; flowsieve accepts it)".into(),
                    );
                    break;
                }
                TokenKind::RParen => {
                    return Err(CriteriaError::new(
                        token.column(),
                        "unexpected `)`: there is no `(` for it to close".into(),
                    ))
                }
                _ => {
                    return Err(CriteriaError::new(
                        token.column(),
                        format!("expected `&&`, `||` or `;` after the expression, found {}", self.describe(&token)),
                    ))
                }
            }
        }
        if statements.len() > 1 {
            self.warn(
                first_column,
                format!(
                    "{} statements: only the last one decides whether a flow matches (as in \
                     Netify); the others are only checked",
                    statements.len()
                ),
            );
        }
        Ok(statements)
    }

    /// `unary (("&&" | "||") unary)*`, grouped with `&&` binding tighter.
    fn chain(&mut self) -> Result<Expr, CriteriaError> {
        let start = self.peek().start;
        let mut operands = vec![self.unary(None)?];
        let mut spans = vec![(start, self.consumed_end())];
        let mut ops = Vec::new();
        loop {
            let logic = match self.peek().kind {
                TokenKind::And => Logic::And,
                TokenKind::Or => Logic::Or,
                _ => break,
            };
            let op = self.advance();
            ops.push(logic);
            let operand_start = self.peek().start;
            operands.push(self.unary(Some(&op))?);
            spans.push((operand_start, self.consumed_end()));
        }
        if ops.contains(&Logic::And) && ops.contains(&Logic::Or) {
            self.warn_mixed(&spans, &ops);
        }
        Ok(group(operands, &ops))
    }

    /// Warns that a chain mixes `&&` and `||`, naming flowsieve's and Netify's readings.
    fn warn_mixed(&mut self, spans: &[(usize, usize)], ops: &[Logic]) {
        // Source text on one line, runs of whitespace as one space.
        let one_line = |s: usize, e: usize| self.text(s, e).split_whitespace().collect::<Vec<_>>().join(" ");
        let texts: Vec<String> = spans.iter().map(|&(s, e)| one_line(s, e)).collect();
        let (start, end) = (spans[0].0, spans[spans.len() - 1].1);
        let written = one_line(start, end);
        // flowsieve: runs of `&&` grouped, then joined by `||`.
        let ours = join_chain(&texts, ops, |i| {
            let opens = ops.get(i) == Some(&Logic::And) && (i == 0 || ops[i - 1] == Logic::Or);
            let closes = i > 0 && ops[i - 1] == Logic::And && ops.get(i) != Some(&Logic::And);
            (opens, closes)
        });
        let netify = netify_reading(&texts, ops);
        let message = if ours == netify {
            format!(
                "`{written}` mixes `&&` and `||` without parentheses: it is read as `{ours}` \
                 (Netify reads it the same way); add parentheses to make that clear"
            )
        } else {
            format!("`{written}` is read as `{ours}`; Netify reads it as `{netify}`: add parentheses")
        };
        self.warn(start + 1, message);
    }

    fn enter(&mut self, token: &Token) -> Result<(), CriteriaError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(CriteriaError::new(
                token.column(),
                format!("expression nested too deeply (more than {MAX_DEPTH} levels of `(` and `!`)"),
            ));
        }
        Ok(())
    }

    /// One operand; `after` is the `&&`/`||`/`!` before it, for the "missing operand" message.
    fn unary(&mut self, after: Option<&Token>) -> Result<Expr, CriteriaError> {
        let token = self.peek().clone();
        match &token.kind {
            TokenKind::Not => {
                self.advance();
                self.enter(&token)?;
                let inner = self.unary(Some(&token))?;
                self.depth -= 1;
                Ok(Expr::Not(Box::new(inner)))
            }
            TokenKind::LParen => {
                self.advance();
                self.enter(&token)?;
                let inner = self.chain()?;
                let close = self.peek().clone();
                if close.kind != TokenKind::RParen {
                    return Err(CriteriaError::new(
                        close.column(),
                        format!(
                            "expected `)` to close the `(` at column {}, found {}",
                            token.column(),
                            self.describe(&close)
                        ),
                    ));
                }
                self.advance();
                self.depth -= 1;
                Ok(inner)
            }
            TokenKind::Bool(b) => {
                self.advance();
                Ok(Expr::Literal(*b))
            }
            TokenKind::Ident(name) => {
                let attr = attribute::lookup(name)
                    .ok_or_else(|| CriteriaError::new(token.column(), attribute::unknown_message(name)))?;
                self.advance();
                if let TokenKind::Cmp(op) = self.peek().kind {
                    let op_token = self.advance();
                    let (value, value_token) = self.value(&op_token)?;
                    Ok(Expr::Compare(Box::new(Compare {
                        attr,
                        attr_text: name.clone(),
                        op,
                        op_column: op_token.column(),
                        value,
                        value_column: value_token.column(),
                        value_text: self.text(value_token.start, value_token.end),
                        span: (token.start, value_token.end),
                    })))
                } else {
                    Ok(Expr::Truth { attr, span: (token.start, token.end) })
                }
            }
            _ => {
                let found = self.describe(&token);
                let expected = "expected an attribute, `!`, `(`, `true` or `false`";
                let message = match after {
                    Some(op) => {
                        format!("missing operand after `{}`: {expected}, found {found}", self.text(op.start, op.end))
                    }
                    None if is_value(&token.kind) => {
                        format!("{expected}, found {found} (comparisons are written `attribute == value`)")
                    }
                    None => format!("{expected}, found {found}"),
                };
                Err(CriteriaError::new(token.column(), message))
            }
        }
    }

    /// The value after a comparison operator.
    fn value(&mut self, op: &Token) -> Result<(Value, Token), CriteriaError> {
        let token = self.peek().clone();
        let value = match &token.kind {
            TokenKind::Number(n) => Value::Number(*n),
            TokenKind::Bool(b) => Value::Bool(*b),
            TokenKind::Str(s) => Value::Str(s.clone()),
            TokenKind::Regex(r) => Value::Regex(r.clone()),
            TokenKind::Addr { addr, prefix } => Value::Addr { addr: *addr, prefix: *prefix },
            TokenKind::Mac(mac) => Value::Mac(*mac),
            TokenKind::Group(name) => Value::Group(name.clone()),
            TokenKind::Ident(name) if attribute::is_constant(name) => Value::Name(name.clone()),
            other => {
                let hint = match other {
                    TokenKind::Ident(name) if attribute::lookup(name).is_some() => {
                        " (comparing two attributes is not supported)".to_string()
                    }
                    TokenKind::Ident(name) => ["true", "false"]
                        .into_iter()
                        .find(|b| crate::input::edit_distance(&name.to_ascii_lowercase(), b) <= 1)
                        .or_else(|| attribute::closest_constant(name))
                        .map_or_else(|| format!(" (text is quoted: `'{name}'`)"), |b| format!(": did you mean `{b}`?")),
                    _ => String::new(),
                };
                return Err(CriteriaError::new(
                    token.column(),
                    format!(
                        "missing value after `{}`: expected a number, `true`/`false`, a quoted \
                         string, an address or a constant, found {}{hint}",
                        self.text(op.start, op.end),
                        self.describe(&token)
                    ),
                ));
            }
        };
        self.advance();
        Ok((value, token))
    }
}

fn is_value(kind: &TokenKind) -> bool {
    matches!(
        kind,
        TokenKind::Number(_)
            | TokenKind::Str(_)
            | TokenKind::Regex(_)
            | TokenKind::Addr { .. }
            | TokenKind::Mac(_)
            | TokenKind::Group(_)
    )
}

/// Groups a flat chain: runs joined by `&&` become one `And`, and those are joined by `||`.
fn group(operands: Vec<Expr>, ops: &[Logic]) -> Expr {
    let mut alternatives: Vec<Vec<Expr>> = vec![Vec::new()];
    for (i, operand) in operands.into_iter().enumerate() {
        if i > 0 && ops[i - 1] == Logic::Or {
            alternatives.push(Vec::new());
        }
        if let Some(run) = alternatives.last_mut() {
            run.push(operand);
        }
    }
    let mut alternatives: Vec<Expr> =
        alternatives.into_iter().map(|mut run| if run.len() == 1 { run.remove(0) } else { Expr::And(run) }).collect();
    if alternatives.len() == 1 {
        alternatives.remove(0)
    } else {
        Expr::Or(alternatives)
    }
}

/// Writes a chain back out; `parens(i)` says whether operand `i` opens and/or closes a group.
fn join_chain(texts: &[String], ops: &[Logic], parens: impl Fn(usize) -> (bool, bool)) -> String {
    let mut out = String::new();
    for (i, text) in texts.iter().enumerate() {
        if i > 0 {
            out.push(' ');
            out.push_str(ops[i - 1].as_str());
            out.push(' ');
        }
        let (opens, closes) = parens(i);
        if opens {
            out.push('(');
        }
        out.push_str(text);
        if closes {
            out.push(')');
        }
    }
    out
}

/// Netify's reading: equal precedence, grouping to the right (`a && b || c` = `a && (b || c)`).
/// Parentheses are written only where the operator changes.
fn netify_reading(texts: &[String], ops: &[Logic]) -> String {
    let mut out = String::new();
    let mut open = 0;
    for (i, text) in texts.iter().enumerate() {
        out.push_str(text);
        if let Some(op) = ops.get(i) {
            out.push(' ');
            out.push_str(op.as_str());
            out.push(' ');
            if ops.get(i + 1).is_some_and(|next| next != op) {
                out.push('(');
                open += 1;
            }
        }
    }
    out.push_str(&")".repeat(open));
    out
}
