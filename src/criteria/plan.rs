//! Syntax tree → plan, and the plan's evaluator and canonical printer.
//!
//! Every test in a plan already holds its accessor and a ready operand: a CIDR as network
//! bits and mask, a regex built once, a lower-cased string, a protocol name turned into its
//! ID. Evaluating a plan walks a small tree and never allocates.

use std::fmt;
use std::net::IpAddr;

use regex::{Regex, RegexBuilder};

use super::attribute::{Accessor, Attribute};
use super::parser::{Compare, Expr, Value};
use super::{lexer, CriteriaError, CriteriaWarning};
use crate::dissect::protocol;
use crate::flow::facts::FlowFacts;
use crate::flow::net::IpNet;

/// Bytes a compiled regex (and each of its lazy DFAs) may use; criteria come from an
/// administrator's file, but a typo like `(a{1000}){1000}` should fail at load, not eat memory.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    pub fn as_str(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    fn is_equality(self) -> bool {
        matches!(self, CmpOp::Eq | CmpOp::Ne)
    }

    fn holds(self, left: u64, right: u64) -> bool {
        match self {
            CmpOp::Eq => left == right,
            CmpOp::Ne => left != right,
            CmpOp::Lt => left < right,
            CmpOp::Le => left <= right,
            CmpOp::Gt => left > right,
            CmpOp::Ge => left >= right,
        }
    }
}

impl fmt::Display for CmpOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A compiled expression.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Node {
    Const(bool),
    Test(Test),
    Not(Box<Node>),
    /// `&&` of two or more.
    All(Vec<Node>),
    /// `||` of two or more.
    Any(Vec<Node>),
}

/// One attribute test. `attr` names it (printing, equality); `check` holds what runs.
#[derive(Clone)]
pub(super) struct Test {
    attr: &'static Attribute,
    check: Check,
}

#[derive(Clone)]
enum Check {
    /// Bare attribute.
    Truth(Accessor),
    /// `!=` is folded into `value`.
    Bool {
        get: fn(&FlowFacts) -> bool,
        value: bool,
    },
    Number {
        get: fn(&FlowFacts) -> u64,
        op: CmpOp,
        value: u64,
        hex: bool,
    },
    /// `protocol == 'TLS'`: the ID, and the canonical name for printing.
    ProtocolName {
        get: fn(&FlowFacts) -> u64,
        id: u64,
        name: &'static str,
        negate: bool,
    },
    Address {
        get: fn(&FlowFacts) -> IpAddr,
        net: IpNet,
        negate: bool,
    },
    /// ASCII-case-insensitive equality; `value` is lower-cased.
    Text {
        get: fn(&FlowFacts) -> &str,
        value: Box<str>,
        negate: bool,
    },
    Regex {
        get: fn(&FlowFacts) -> &str,
        regex: Regex,
        negate: bool,
    },
}

impl Node {
    /// Whether a flow with these facts satisfies the expression.
    pub(super) fn eval(&self, facts: &FlowFacts) -> bool {
        match self {
            Node::Const(b) => *b,
            Node::Test(test) => test.eval(facts),
            Node::Not(inner) => !inner.eval(facts),
            Node::All(nodes) => nodes.iter().all(|n| n.eval(facts)),
            Node::Any(nodes) => nodes.iter().any(|n| n.eval(facts)),
        }
    }
}

impl Test {
    fn eval(&self, facts: &FlowFacts) -> bool {
        match &self.check {
            Check::Truth(accessor) => accessor.truth(facts),
            Check::Bool { get, value } => get(facts) == *value,
            Check::Number { get, op, value, .. } => op.holds(get(facts), *value),
            Check::ProtocolName { get, id, negate, .. } => (get(facts) == *id) != *negate,
            // Different families: `==` is false and `!=` true, as Netify 5 negates its
            // `is_addr_equal` (spec §3.1: `local_ip != 10.0.0.0/8` is true for IPv6).
            Check::Address { get, net, negate } => net.contains(get(facts)) != *negate,
            Check::Text { get, value, negate } => get(facts).eq_ignore_ascii_case(value) != *negate,
            Check::Regex { get, regex, negate } => regex.is_match(get(facts)) != *negate,
        }
    }
}

/// Plans are equal when they test the same attributes with the same operands; the accessor
/// functions follow from the attribute and are not compared.
impl PartialEq for Test {
    fn eq(&self, other: &Test) -> bool {
        use Check::{Address, Bool, Number, ProtocolName, Regex, Text, Truth};
        self.attr.name == other.attr.name
            && match (&self.check, &other.check) {
                (Truth(_), Truth(_)) => true,
                (Bool { value: a, .. }, Bool { value: b, .. }) => a == b,
                (Number { op: a_op, value: a, hex: a_hex, .. }, Number { op: b_op, value: b, hex: b_hex, .. }) => {
                    a_op == b_op && a == b && a_hex == b_hex
                }
                (
                    ProtocolName { id: a, name: a_name, negate: a_neg, .. },
                    ProtocolName { id: b, name: b_name, negate: b_neg, .. },
                ) => a == b && a_name == b_name && a_neg == b_neg,
                (Address { net: a, negate: a_neg, .. }, Address { net: b, negate: b_neg, .. }) => {
                    a == b && a_neg == b_neg
                }
                (Text { value: a, negate: a_neg, .. }, Text { value: b, negate: b_neg, .. }) => {
                    a == b && a_neg == b_neg
                }
                (Regex { regex: a, negate: a_neg, .. }, Regex { regex: b, negate: b_neg, .. }) => {
                    a.as_str() == b.as_str() && a_neg == b_neg
                }
                _ => false,
            }
    }
}

impl fmt::Debug for Test {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Test({self})")
    }
}

/// Canonical form: the attribute's canonical name, values re-quoted, numbers of hex
/// attributes in hex.
impl fmt::Display for Test {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = self.attr.name;
        let eq = |negate: bool| if negate { "!=" } else { "==" };
        match &self.check {
            Check::Truth(_) => write!(f, "{name}"),
            Check::Bool { value, .. } => write!(f, "{name} == {value}"),
            Check::Number { op, value, hex: true, .. } => write!(f, "{name} {op} {value:#06x}"),
            Check::Number { op, value, hex: false, .. } => write!(f, "{name} {op} {value}"),
            Check::ProtocolName { name: p, negate, .. } => {
                write!(f, "{name} {} {}", eq(*negate), Quoted(p))
            }
            Check::Address { net, negate, .. } => write!(f, "{name} {} {net}", eq(*negate)),
            Check::Text { value, negate, .. } => {
                write!(f, "{name} {} {}", eq(*negate), Quoted(value))
            }
            Check::Regex { regex, negate, .. } => {
                write!(f, "{name} {} {}", eq(*negate), Quoted(&format!("rx:{}", regex.as_str())))
            }
        }
    }
}

/// Text in quotes the lexer will read back: single quotes unless the text holds one.
struct Quoted<'a>(&'a str);

impl fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quote = if self.0.contains('\'') && !self.0.contains('"') { '"' } else { '\'' };
        write!(f, "{quote}{}{quote}", self.0)
    }
}

/// Fully parenthesised: every `&&`/`||` group in parentheses, `!` before a bare attribute,
/// `!( … )` before anything else. Reading the output back gives an equal plan.
impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let join = |f: &mut fmt::Formatter<'_>, nodes: &[Node], op: &str| {
            f.write_str("(")?;
            for (i, node) in nodes.iter().enumerate() {
                if i > 0 {
                    write!(f, " {op} ")?;
                }
                write!(f, "{node}")?;
            }
            f.write_str(")")
        };
        match self {
            Node::Const(b) => write!(f, "{b}"),
            Node::Test(test) => write!(f, "{test}"),
            Node::Not(inner) => match &**inner {
                Node::Test(test) if matches!(test.check, Check::Truth(_)) => write!(f, "!{test}"),
                Node::Test(_) | Node::Const(_) => write!(f, "!({inner})"),
                _ => write!(f, "!{inner}"),
            },
            Node::All(nodes) => join(f, nodes, "&&"),
            Node::Any(nodes) => join(f, nodes, "||"),
        }
    }
}

/// Compiles one statement, type-checking every comparison.
pub(super) fn compile(expr: &Expr, warnings: &mut Vec<CriteriaWarning>) -> Result<Node, CriteriaError> {
    let all = |items: &[Expr], warnings: &mut Vec<CriteriaWarning>| {
        items.iter().map(|e| compile(e, warnings)).collect::<Result<Vec<_>, _>>()
    };
    Ok(match expr {
        Expr::Literal(b) => Node::Const(*b),
        Expr::Truth(attr) => Node::Test(Test { attr, check: Check::Truth(attr.accessor) }),
        Expr::Compare(compare) => Node::Test(Test { attr: compare.attr, check: compile_compare(compare, warnings)? }),
        Expr::Not(inner) => Node::Not(Box::new(compile(inner, warnings)?)),
        Expr::And(items) => Node::All(all(items, warnings)?),
        Expr::Or(items) => Node::Any(all(items, warnings)?),
    })
}

fn compile_compare(c: &Compare, warnings: &mut Vec<CriteriaWarning>) -> Result<Check, CriteriaError> {
    let name = c.attr_text.as_str();
    let accessor = c.attr.accessor;
    let type_error = || {
        CriteriaError::new(
            c.value_column,
            format!(
                "`{name}` is {}: expected {}, found {} `{}`",
                accessor.type_name(),
                accessor.expects(),
                c.value.kind_name(),
                c.value_text
            ),
        )
    };
    let equality_only = || {
        if c.op.is_equality() {
            Ok(())
        } else {
            Err(CriteriaError::new(
                c.op_column,
                format!("`{}` does not apply to `{name}`, which is {}: use `==` or `!=`", c.op, accessor.type_name()),
            ))
        }
    };
    let negate = c.op == CmpOp::Ne;
    Ok(match accessor {
        Accessor::Bool(get) => {
            equality_only()?;
            let Value::Bool(value) = c.value else {
                return Err(type_error());
            };
            Check::Bool { get, value: value != negate }
        }
        Accessor::Number { get, max, hex } => {
            let Value::Number(value) = c.value else {
                return Err(type_error());
            };
            warn_out_of_range(c, max, warnings);
            Check::Number { get, op: c.op, value, hex }
        }
        Accessor::Protocol(get) => match &c.value {
            Value::Number(value) => {
                warn_out_of_range(c, u64::from(u16::MAX), warnings);
                Check::Number { get, op: c.op, value: *value, hex: false }
            }
            Value::Str(text) => {
                if !c.op.is_equality() {
                    return Err(CriteriaError::new(
                        c.op_column,
                        format!(
                            "`{}` on `{name}` needs a numeric protocol ID, not a name: use \
                             `==` or `!=` with a name",
                            c.op
                        ),
                    ));
                }
                let Some(id) = protocol::id_of(text) else {
                    let known: Vec<&str> = protocol::PROTOCOLS.iter().map(|p| p.name).collect();
                    return Err(CriteriaError::new(
                        c.value_column,
                        format!("unknown protocol `{text}`: known are {}", known.join(", ")),
                    ));
                };
                Check::ProtocolName { get, id: u64::from(id), name: protocol::name_of(id), negate }
            }
            _ => return Err(type_error()),
        },
        Accessor::Address(get) => {
            equality_only()?;
            let (addr, prefix) = match &c.value {
                Value::Addr { addr, prefix } => (*addr, *prefix),
                // Netify only reads unquoted addresses; a quoted one is accepted too.
                Value::Str(text) => match lexer::address(text) {
                    Ok(lexer::TokenKind::Addr { addr, prefix }) => (addr, prefix),
                    _ => return Err(type_error()),
                },
                _ => return Err(type_error()),
            };
            let net = IpNet::new(addr, prefix.unwrap_or(if addr.is_ipv4() { 32 } else { 128 }));
            let had_host_bits = net.addr() != addr;
            if had_host_bits {
                warnings.push(CriteriaWarning {
                    column: c.value_column,
                    message: format!("`{}` has host bits set; it matches the network `{net}`", c.value_text),
                });
            }
            Check::Address { get, net, negate }
        }
        Accessor::Text(get) => {
            equality_only()?;
            match &c.value {
                Value::Str(text) => Check::Text { get, value: text.to_ascii_lowercase().into(), negate },
                Value::Regex(pattern) => {
                    let regex = build_regex(pattern)
                        .map_err(|m| CriteriaError::new(c.value_column, format!("invalid regex `{pattern}`: {m}")))?;
                    if negate {
                        // Netify 4.x and 5.0 return true for any `!=` against a regex
                        // (spec §3.1); flowsieve makes it the negation of the match.
                        warnings.push(CriteriaWarning {
                            column: c.op_column,
                            message: "`!=` with a regex is true when the regex does not match; \
                                      Netify 4 and 5.0 treat it as always true"
                                .into(),
                        });
                    }
                    Check::Regex { get, regex, negate }
                }
                _ => return Err(type_error()),
            }
        }
    })
}

/// Case-insensitive, unanchored (a search, like Netify's `regex_search`), size-limited.
fn build_regex(pattern: &str) -> Result<Regex, String> {
    RegexBuilder::new(pattern)
        .case_insensitive(true)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| {
            // Syntax errors are several lines (pattern, caret, message); keep the message.
            let text = e.to_string();
            let last = text.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("");
            last.trim().trim_start_matches("error: ").to_string()
        })
}

/// Warns when a number is beyond what the attribute can hold, so the test is constant.
fn warn_out_of_range(c: &Compare, max: u64, warnings: &mut Vec<CriteriaWarning>) {
    let Value::Number(value) = c.value else {
        return;
    };
    if value <= max {
        return;
    }
    let always = matches!(c.op, CmpOp::Ne | CmpOp::Lt | CmpOp::Le);
    warnings.push(CriteriaWarning {
        column: c.value_column,
        message: format!(
            "`{}` is at most {max}, so `{} {} {}` is always {always}",
            c.attr_text, c.attr_text, c.op, c.value_text
        ),
    });
}
