//! Syntax tree → plan, and the plan's evaluator and canonical printer.
//!
//! Every test in a plan already holds its accessor and a ready operand: a CIDR as network
//! bits and mask, an address group as its list of networks, a regex built once, a
//! lower-cased string, a protocol or category tag turned into its ID. Evaluating a plan walks
//! a small tree and never allocates.

use std::fmt;
use std::net::IpAddr;

use regex::{Regex, RegexBuilder};

use super::attribute::{Accessor, Attribute};
use super::explain::ExplainStep;
use super::groups::Mac;
use super::parser::{Compare, Expr, Value};
use super::{lexer, risks, CompileContext, CriteriaError, CriteriaWarning};
use crate::facts::finality::Final;
use crate::facts::net::IpNet;
use crate::facts::protocol;
use crate::facts::{AppFacts, FlowFacts};

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
    /// The fact groups the test reads: until they are final, its result is unknown.
    needs: Final,
    check: Check,
    /// Where it was written: a character range of the source (for `explain`; not compared).
    span: (usize, usize),
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
    /// `protocol == 'TLS'`: the ID, and the canonical name for printing. `id` is `None` for
    /// a name flowsieve has no protocol for (Netify knows hundreds): it never matches.
    ProtocolName {
        get: fn(&FlowFacts) -> u64,
        id: Option<u64>,
        name: Box<str>,
        negate: bool,
    },
    Address {
        get: fn(&FlowFacts) -> IpAddr,
        net: IpNet,
        negate: bool,
    },
    /// `@name`: any of the group's networks contains the address.
    AddressGroup {
        get: fn(&FlowFacts) -> IpAddr,
        group: Box<str>,
        nets: Box<[IpNet]>,
        negate: bool,
    },
    Mac {
        get: fn(&FlowFacts) -> [u8; 6],
        mac: [u8; 6],
        negate: bool,
    },
    MacGroup {
        get: fn(&FlowFacts) -> [u8; 6],
        group: Box<str>,
        macs: Box<[[u8; 6]]>,
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
    /// `application == 'youtube'`: the full tag or the part after its first `.`; lower-cased.
    AppTag {
        get: fn(&FlowFacts) -> &AppFacts,
        tag: Box<str>,
        negate: bool,
    },
    AppId {
        get: fn(&FlowFacts) -> &AppFacts,
        op: CmpOp,
        value: u64,
    },
    /// Any slot holds `id`; `tag` is how it was named (printing).
    Category {
        get: fn(&FlowFacts) -> [u16; 2],
        id: u16,
        tag: Option<&'static str>,
        negate: bool,
    },
    /// A category tag Netify's table lacks (a `check` warning): never any flow's category.
    UnknownCategory {
        tag: Box<str>,
        negate: bool,
    },
    Constant {
        get: fn(&FlowFacts) -> u8,
        code: u8,
        name: &'static str,
        negate: bool,
    },
    RiskBit {
        get: fn(&FlowFacts) -> u64,
        bit: u8,
        negate: bool,
    },
}

impl Node {
    /// False when the node is, or is an `&&` of, a test `app == 'tag'` that `app` fails: the
    /// node is then false whatever else it holds. Cheaper than [`Node::eval`] for callers that
    /// run many expressions gated on an application (netifyd's soft dissectors).
    pub(super) fn admits_application(&self, app: &AppFacts) -> bool {
        let fails = |node: &Node| match node {
            Node::Test(Test { check: Check::AppTag { tag, negate: false, .. }, .. }) => {
                !app_tag_matches(app.tag.as_deref().unwrap_or(""), tag)
            }
            _ => false,
        };
        match self {
            Node::All(nodes) => !nodes.iter().any(fails),
            node => !fails(node),
        }
    }

    /// Whether a flow with these facts satisfies the expression.
    pub(super) fn eval(&self, facts: &FlowFacts) -> bool {
        match self {
            Node::Const(b) => *b,
            Node::Test(test) => test.eval(facts),
            Node::Not(inner) => !inner.eval(facts),
            Node::All(nodes) => nodes.iter().all(|n| n.eval_child(facts)),
            Node::Any(nodes) => nodes.iter().any(|n| n.eval_child(facts)),
        }
    }

    /// Three-valued evaluation (Kleene logic) over the facts `known` to be final: `None` when
    /// the result still depends on a fact that may change. A test of a non-final fact is
    /// unknown; `!unknown` is unknown; `&&` is false as soon as one side is false, true when
    /// all are true, else unknown (`||` alike). So a decided result never changes as the
    /// remaining facts become final.
    pub(super) fn decide(&self, facts: &FlowFacts, known: Final) -> Option<bool> {
        match self {
            Node::Const(b) => Some(*b),
            Node::Test(test) => test.decide(facts, known),
            Node::Not(inner) => inner.decide(facts, known).map(|b| !b),
            Node::All(nodes) => Node::decide_all(nodes, facts, known, false),
            Node::Any(nodes) => Node::decide_all(nodes, facts, known, true),
        }
    }

    /// `&&` (`decisive` false) or `||` (`decisive` true) of `nodes`: the decisive value as soon
    /// as one child has it, the other when every child is decided, else unknown.
    fn decide_all(nodes: &[Node], facts: &FlowFacts, known: Final, decisive: bool) -> Option<bool> {
        let mut unknown = false;
        for node in nodes {
            match node.decide_child(facts, known) {
                Some(b) if b == decisive => return Some(decisive),
                Some(_) => {}
                None => unknown = true,
            }
        }
        (!unknown).then_some(!decisive)
    }

    #[inline(always)]
    fn decide_child(&self, facts: &FlowFacts, known: Final) -> Option<bool> {
        match self {
            Node::Test(test) => test.decide(facts, known),
            node => node.decide(facts, known),
        }
    }

    /// [`Node::eval`] for a child of `&&`/`||`: a test (most children) is run in place rather
    /// than through another recursive call (actions and soft dissectors run on every change).
    #[inline(always)]
    fn eval_child(&self, facts: &FlowFacts) -> bool {
        match self {
            Node::Test(test) => test.eval(facts),
            node => node.eval(facts),
        }
    }

    /// Like [`Node::eval`], recording every test in evaluation order. Tests that `eval` would
    /// skip (short-circuit) are still recorded, with `evaluated: false`.
    pub(super) fn explain(&self, facts: &FlowFacts, evaluated: bool, steps: &mut Vec<ExplainStep>) -> bool {
        match self {
            Node::Const(b) => *b,
            Node::Test(test) => {
                let result = test.eval(facts);
                steps.push(test.step(facts, result, evaluated));
                result
            }
            Node::Not(inner) => !inner.explain(facts, evaluated, steps),
            Node::All(nodes) | Node::Any(nodes) => {
                let all = matches!(self, Node::All(_));
                let mut decided = None;
                for node in nodes {
                    let result = node.explain(facts, evaluated && decided.is_none(), steps);
                    if decided.is_none() && result != all {
                        decided = Some(result);
                    }
                }
                decided.unwrap_or(all)
            }
        }
    }

    /// Every test, in order.
    pub(super) fn for_each_test<'a>(&'a self, visit: &mut impl FnMut(&'a Test)) {
        match self {
            Node::Const(_) => {}
            Node::Test(test) => visit(test),
            Node::Not(inner) => inner.for_each_test(visit),
            Node::All(nodes) | Node::Any(nodes) => nodes.iter().for_each(|n| n.for_each_test(visit)),
        }
    }

    /// Points every test at `span` (compact syntax: the whole text is one test).
    pub(super) fn set_spans(&mut self, span: (usize, usize)) {
        match self {
            Node::Const(_) => {}
            Node::Test(test) => test.span = span,
            Node::Not(inner) => inner.set_spans(span),
            Node::All(nodes) | Node::Any(nodes) => nodes.iter_mut().for_each(|n| n.set_spans(span)),
        }
    }
}

impl Test {
    fn new(attr: &'static Attribute, check: Check, span: (usize, usize)) -> Test {
        Test { attr, needs: super::attribute::needs(attr.name), check, span }
    }

    #[inline(always)]
    fn decide(&self, facts: &FlowFacts, known: Final) -> Option<bool> {
        known.contains(self.needs).then(|| self.eval(facts))
    }

    fn eval(&self, facts: &FlowFacts) -> bool {
        match &self.check {
            Check::Truth(accessor) => accessor.truth(facts),
            Check::Bool { get, value } => get(facts) == *value,
            Check::Number { get, op, value, .. } => op.holds(get(facts), *value),
            Check::ProtocolName { get, id, negate, .. } => (Some(get(facts)) == *id) != *negate,
            // Different families: `==` is false and `!=` true, as Netify 5 negates its
            // `is_addr_equal` (docs/FLOW-ACTIONS.md §3.1: `local_ip != 10.0.0.0/8` is true for IPv6).
            Check::Address { get, net, negate } => net.contains(get(facts)) != *negate,
            Check::AddressGroup { get, nets, negate, .. } => {
                let ip = get(facts);
                nets.iter().any(|n| n.contains(ip)) != *negate
            }
            Check::Mac { get, mac, negate } => (get(facts) == *mac) != *negate,
            Check::MacGroup { get, macs, negate, .. } => macs.contains(&get(facts)) != *negate,
            Check::Text { get, value, negate } => get(facts).eq_ignore_ascii_case(value) != *negate,
            Check::Regex { get, regex, negate } => regex.is_match(get(facts)) != *negate,
            Check::AppTag { get, tag, negate } => {
                app_tag_matches(get(facts).tag.as_deref().unwrap_or(""), tag) != *negate
            }
            Check::AppId { get, op, value } => op.holds(u64::from(get(facts).id), *value),
            Check::Category { get, id, negate, .. } => get(facts).contains(id) != *negate,
            Check::UnknownCategory { negate, .. } => *negate,
            Check::Constant { get, code, negate, .. } => (get(facts) == *code) != *negate,
            Check::RiskBit { get, bit, negate } => (get(facts) & (1u64 << bit) != 0) != *negate,
        }
    }

    pub(super) fn attribute(&self) -> &'static Attribute {
        self.attr
    }

    /// The fact groups the test reads.
    pub(super) fn needs(&self) -> Final {
        self.needs
    }

    /// 1-based column where the test starts.
    pub(super) fn column(&self) -> usize {
        self.span.0 + 1
    }

    /// The application this test names with `==`/`!=`, if it is an application test.
    pub(super) fn app_ref(&self) -> Option<super::names::AppRef<'_>> {
        match &self.check {
            Check::AppTag { tag, .. } => Some(super::names::AppRef::Tag(tag)),
            Check::AppId { op: CmpOp::Eq | CmpOp::Ne, value, .. } => Some(super::names::AppRef::Id(*value)),
            _ => None,
        }
    }

    /// The operator as the canonical form writes it; `None` for a bare attribute.
    fn op(&self) -> Option<CmpOp> {
        let eq = |negate: bool| Some(if negate { CmpOp::Ne } else { CmpOp::Eq });
        match &self.check {
            Check::Truth(_) => None,
            Check::Bool { .. } => Some(CmpOp::Eq),
            Check::Number { op, .. } | Check::AppId { op, .. } => Some(*op),
            Check::ProtocolName { negate, .. }
            | Check::Address { negate, .. }
            | Check::AddressGroup { negate, .. }
            | Check::Mac { negate, .. }
            | Check::MacGroup { negate, .. }
            | Check::Text { negate, .. }
            | Check::Regex { negate, .. }
            | Check::AppTag { negate, .. }
            | Check::Category { negate, .. }
            | Check::UnknownCategory { negate, .. }
            | Check::Constant { negate, .. }
            | Check::RiskBit { negate, .. } => eq(*negate),
        }
    }

    fn step(&self, facts: &FlowFacts, result: bool, evaluated: bool) -> ExplainStep {
        ExplainStep {
            span: self.span.0..self.span.1,
            text: String::new(),
            attribute: self.attr.name,
            op: self.op().map(CmpOp::as_str),
            operand: self.op().map(|_| Operand(self).to_string()),
            actual: self.attr.accessor.describe_value(facts),
            result,
            evaluated,
            known: facts.final_facts.contains(self.needs),
        }
    }
}

/// Plans are equal when they test the same attributes with the same operands; the accessor
/// functions follow from the attribute and are not compared, nor are source positions.
impl PartialEq for Test {
    fn eq(&self, other: &Test) -> bool {
        use Check::*;
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
                (
                    AddressGroup { group: a, nets: a_nets, negate: a_neg, .. },
                    AddressGroup { group: b, nets: b_nets, negate: b_neg, .. },
                ) => a == b && a_nets == b_nets && a_neg == b_neg,
                (Mac { mac: a, negate: a_neg, .. }, Mac { mac: b, negate: b_neg, .. }) => a == b && a_neg == b_neg,
                (
                    MacGroup { group: a, macs: a_macs, negate: a_neg, .. },
                    MacGroup { group: b, macs: b_macs, negate: b_neg, .. },
                ) => a == b && a_macs == b_macs && a_neg == b_neg,
                (Text { value: a, negate: a_neg, .. }, Text { value: b, negate: b_neg, .. }) => {
                    a == b && a_neg == b_neg
                }
                (Regex { regex: a, negate: a_neg, .. }, Regex { regex: b, negate: b_neg, .. }) => {
                    a.as_str() == b.as_str() && a_neg == b_neg
                }
                (AppTag { tag: a, negate: a_neg, .. }, AppTag { tag: b, negate: b_neg, .. }) => {
                    a == b && a_neg == b_neg
                }
                (AppId { op: a_op, value: a, .. }, AppId { op: b_op, value: b, .. }) => a_op == b_op && a == b,
                (
                    Category { id: a, tag: a_tag, negate: a_neg, .. },
                    Category { id: b, tag: b_tag, negate: b_neg, .. },
                ) => a == b && a_tag == b_tag && a_neg == b_neg,
                (UnknownCategory { tag: a, negate: a_neg }, UnknownCategory { tag: b, negate: b_neg }) => {
                    a == b && a_neg == b_neg
                }
                (Constant { code: a, negate: a_neg, .. }, Constant { code: b, negate: b_neg, .. }) => {
                    a == b && a_neg == b_neg
                }
                (RiskBit { bit: a, negate: a_neg, .. }, RiskBit { bit: b, negate: b_neg, .. }) => {
                    a == b && a_neg == b_neg
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
        match self.op() {
            None => f.write_str(self.attr.name),
            Some(op) => write!(f, "{} {op} {}", self.attr.name, Operand(self)),
        }
    }
}

/// A test's right-hand side in canonical form.
struct Operand<'a>(&'a Test);

impl fmt::Display for Operand<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0.check {
            Check::Truth(_) => Ok(()),
            Check::Bool { value, .. } => write!(f, "{value}"),
            Check::Number { value, hex: true, .. } => write!(f, "{value:#06x}"),
            Check::Number { value, hex: false, .. } | Check::AppId { value, .. } => write!(f, "{value}"),
            Check::ProtocolName { name, .. } => write!(f, "{}", Quoted(name)),
            Check::Address { net, .. } => write!(f, "{net}"),
            Check::AddressGroup { group, .. } | Check::MacGroup { group, .. } => write!(f, "@{group}"),
            Check::Mac { mac, .. } => write!(f, "{}", Mac(*mac)),
            Check::Text { value, .. } => write!(f, "{}", Quoted(value)),
            Check::Regex { regex, .. } => write!(f, "{}", Quoted(&format!("rx:{}", regex.as_str()))),
            Check::AppTag { tag, .. } => write!(f, "{}", Quoted(tag)),
            Check::Category { tag: Some(tag), .. } => write!(f, "{}", Quoted(tag)),
            Check::Category { id, tag: None, .. } => write!(f, "{id}"),
            Check::UnknownCategory { tag, .. } => write!(f, "{}", Quoted(tag)),
            Check::Constant { name, .. } => f.write_str(name),
            Check::RiskBit { bit, .. } => match risks::name_of(u64::from(*bit)) {
                Some(name) => write!(f, "{}", Quoted(name)),
                None => write!(f, "{bit}"),
            },
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
pub(super) fn compile(
    expr: &Expr,
    context: &CompileContext<'_>,
    warnings: &mut Vec<CriteriaWarning>,
) -> Result<Node, CriteriaError> {
    let all = |items: &[Expr], warnings: &mut Vec<CriteriaWarning>| {
        items.iter().map(|e| compile(e, context, warnings)).collect::<Result<Vec<_>, _>>()
    };
    Ok(match expr {
        Expr::Literal(b) => Node::Const(*b),
        Expr::Truth { attr, span } => {
            let test = Test::new(attr, Check::Truth(attr.accessor), *span);
            warn_caveat(&test, warnings);
            Node::Test(test)
        }
        // Either side: `==` holds when one side equals, `!=` when neither does.
        Expr::Compare(compare) if compare.attr.name.starts_with("any_") => {
            let mut side = |name: &str| -> Result<Node, CriteriaError> {
                let attr = super::attribute::lookup(name).expect("local_/other_ attributes exist");
                let sided = Compare {
                    attr,
                    attr_text: compare.attr_text.clone(),
                    op: compare.op,
                    op_column: compare.op_column,
                    value: compare.value.clone(),
                    value_column: compare.value_column,
                    value_text: compare.value_text.clone(),
                    span: compare.span,
                };
                let check = compile_compare(&sided, context, warnings)?;
                Ok(Node::Test(Test::new(attr, check, compare.span)))
            };
            let suffix = &compare.attr.name["any_".len()..];
            let both = vec![side(&format!("local_{suffix}"))?, side(&format!("other_{suffix}"))?];
            if compare.op == CmpOp::Ne {
                Node::All(both)
            } else {
                Node::Any(both)
            }
        }
        Expr::Compare(compare) => {
            let check = compile_compare(compare, context, warnings)?;
            let test = Test::new(compare.attr, check, compare.span);
            warn_caveat(&test, warnings);
            Node::Test(test)
        }
        Expr::Not(inner) => Node::Not(Box::new(compile(inner, context, warnings)?)),
        Expr::And(items) => Node::All(all(items, warnings)?),
        Expr::Or(items) => Node::Any(all(items, warnings)?),
    })
}

/// For an attribute flowsieve cannot fill yet, says what the test always gives (found by
/// evaluating it on empty facts, which is what every flow has for that attribute today).
fn warn_caveat(test: &Test, warnings: &mut Vec<CriteriaWarning>) {
    if let Some(caveat) = test.attr.caveat {
        let always = test.eval(&FlowFacts::default());
        warnings
            .push(CriteriaWarning { column: test.span.0 + 1, message: format!("{caveat}: this is always {always}") });
    }
}

fn compile_compare(
    c: &Compare,
    context: &CompileContext<'_>,
    warnings: &mut Vec<CriteriaWarning>,
) -> Result<Check, CriteriaError> {
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
                let unnamed = u16::try_from(*value)
                    .is_ok_and(|id| id != 0 && protocol::name_of(protocol::ProtocolId(id)) == "Unknown");
                if c.op.is_equality() && unnamed {
                    warnings.push(CriteriaWarning {
                        column: c.value_column,
                        message: format!("protocol ID {value} is not in Netify's protocol table"),
                    });
                }
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
                match protocol::id_of(text) {
                    Some(id) => {
                        Check::ProtocolName { get, id: Some(u64::from(id)), name: protocol::name_of(id).into(), negate }
                    }
                    // netifyd's `TODO` (ID 4294967295): an nDPI protocol netifyd has no ID for.
                    // flowsieve names every protocol it detects, so no flow has it.
                    None if text.eq_ignore_ascii_case("TODO") => {
                        Check::ProtocolName { get, id: None, name: text.as_str().into(), negate }
                    }
                    None => {
                        // Netify's own table has every protocol Netify names; anything else
                        // is a typo or a protocol from elsewhere. It must still load.
                        warnings.push(CriteriaWarning {
                            column: c.value_column,
                            message: super::names::unknown(
                                "protocol",
                                text,
                                &format!("not in Netify's protocol table, so this is always {negate}"),
                                super::names::closest_protocol(text),
                            ),
                        });
                        Check::ProtocolName { get, id: None, name: text.as_str().into(), negate }
                    }
                }
            }
            _ => return Err(type_error()),
        },
        Accessor::Application(get) => match &c.value {
            Value::Number(value) => {
                warn_out_of_range(c, u64::from(u32::MAX), warnings);
                Check::AppId { get, op: c.op, value: *value }
            }
            Value::Str(text) => {
                if !c.op.is_equality() {
                    return Err(CriteriaError::new(
                        c.op_column,
                        format!("`{}` on `{name}` needs a numeric application ID, not a tag: use `==` or `!=`", c.op),
                    ));
                }
                Check::AppTag { get, tag: text.to_ascii_lowercase().into(), negate }
            }
            _ => return Err(type_error()),
        },
        Accessor::Category { get, index, hybrid } => {
            equality_only()?;
            let (id, tag) = match &c.value {
                Value::Number(n) => match u16::try_from(*n) {
                    Ok(id) => {
                        if index.tag_of(id).is_none() {
                            warnings.push(CriteriaWarning {
                                column: c.value_column,
                                message: format!("{} ID {id} is not in Netify's category table", index.describe()),
                            });
                        }
                        (id, None)
                    }
                    Err(_) => {
                        return Err(CriteriaError::new(
                            c.value_column,
                            format!("category ID `{}` is too large (at most {})", c.value_text, u16::MAX),
                        ))
                    }
                },
                Value::Str(text) => match index.id_of(text) {
                    Some(id) => (id, index.tag_of(id)),
                    None => {
                        // As unknown applications and protocols: Netify loads it, and it is
                        // then never any flow's category. `check` says so.
                        warnings.push(CriteriaWarning {
                            column: c.value_column,
                            message: index.unknown_message(
                                text,
                                &format!("not in Netify's category table, so this is always {negate}"),
                            ),
                        });
                        return Ok(Check::UnknownCategory { tag: text.as_str().into(), negate });
                    }
                },
                _ => return Err(type_error()),
            };
            if hybrid && negate {
                // Netify's hybrid `category !=` is true when *any* slot differs (docs/FLOW-ACTIONS.md §3.2),
                // so it is true for almost every flow; flowsieve keeps `!=` the negation of `==`.
                warnings.push(CriteriaWarning {
                    column: c.op_column,
                    message: format!(
                        "`{name} !=` is true when neither the application nor the domain category \
                         is {}; Netify makes it true when either differs",
                        c.value_text
                    ),
                });
            }
            Check::Category { get, id, tag, negate }
        }
        Accessor::Constant { get, values } => {
            equality_only()?;
            let Value::Name(text) = &c.value else {
                return Err(type_error());
            };
            let Some(code) = values.iter().position(|v| v.eq_ignore_ascii_case(text)) else {
                return Err(CriteriaError::new(
                    c.value_column,
                    format!("`{text}` is not a value of `{name}`: expected one of {}", values.join(", ")),
                ));
            };
            let code = u8::try_from(code).map_err(|_| type_error())?;
            Check::Constant { get, code, name: values[usize::from(code)], negate }
        }
        Accessor::Risks(get) => {
            equality_only()?;
            let bit = match &c.value {
                Value::Str(text) => risks::bit_of(text)
                    .ok_or_else(|| CriteriaError::new(c.value_column, risks::unknown_message(text)))?,
                Value::Number(n) if (1..=risks::MAX_BIT).contains(n) => u8::try_from(*n).map_err(|_| type_error())?,
                Value::Number(_) => {
                    return Err(CriteriaError::new(
                        c.value_column,
                        format!(
                            "risk bit `{}` is out of range: expected 1 to {} (`!{name}` tests for no risk)",
                            c.value_text,
                            risks::MAX_BIT
                        ),
                    ))
                }
                _ => return Err(type_error()),
            };
            Check::RiskBit { get, bit, negate }
        }
        Accessor::Address(get) => {
            equality_only()?;
            let (addr, prefix) = match &c.value {
                Value::Addr { addr, prefix } => (*addr, *prefix),
                Value::Group(group) => {
                    let members = resolve_group(c, group, context)?;
                    if members.ips.is_empty() {
                        warnings.push(CriteriaWarning {
                            column: c.value_column,
                            message: format!("address group `@{group}` has no IP addresses: `==` never matches"),
                        });
                    }
                    return Ok(Check::AddressGroup {
                        get,
                        group: group.as_str().into(),
                        nets: members.ips.clone().into(),
                        negate,
                    });
                }
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
        Accessor::Mac(get) => {
            equality_only()?;
            match &c.value {
                Value::Mac(mac) => Check::Mac { get, mac: *mac, negate },
                Value::Str(text) => match lexer::parse_mac(text) {
                    Some(mac) => Check::Mac { get, mac, negate },
                    None => return Err(type_error()),
                },
                Value::Group(group) => {
                    let members = resolve_group(c, group, context)?;
                    if members.macs.is_empty() {
                        warnings.push(CriteriaWarning {
                            column: c.value_column,
                            message: format!("address group `@{group}` has no MAC addresses: `==` never matches"),
                        });
                    }
                    Check::MacGroup { get, group: group.as_str().into(), macs: members.macs.clone().into(), negate }
                }
                _ => return Err(type_error()),
            }
        }
        Accessor::Text(get) => {
            equality_only()?;
            match &c.value {
                // NethSecurity writes `iface_nfq_src == '*'` for a rule bound to any device:
                // any NFQUEUE interface (a non-empty name), never a literal `*`.
                Value::Str(text) if text == "*" && c.attr.name.starts_with("iface_nfq_") => {
                    let regex = build_regex(".").map_err(|m| CriteriaError::new(c.value_column, m))?;
                    Check::Regex { get, regex, negate }
                }
                Value::Str(text) => Check::Text { get, value: text.to_ascii_lowercase().into(), negate },
                Value::Regex(pattern) => {
                    let regex = build_regex(pattern)
                        .map_err(|m| CriteriaError::new(c.value_column, format!("invalid regex `{pattern}`: {m}")))?;
                    if negate {
                        // Netify 4.x and 5.0 return true for any `!=` against a regex
                        // (docs/FLOW-ACTIONS.md §3.1); flowsieve makes it the negation of the match.
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

/// The group `@name` from the compile context, or an error at the value's column.
fn resolve_group<'a>(
    c: &Compare,
    group: &str,
    context: &CompileContext<'a>,
) -> Result<&'a super::groups::AddressGroup, CriteriaError> {
    let Some(groups) = context.address_groups else {
        return Err(CriteriaError::new(
            c.value_column,
            format!("unknown address group `@{group}`: no address groups are loaded"),
        ));
    };
    groups.get(group).ok_or_else(|| {
        let message = match groups.closest(group) {
            Some(best) => format!("unknown address group `@{group}`: did you mean `@{best}`?"),
            None => {
                let names: Vec<String> = groups.names().map(|n| format!("@{n}")).collect();
                if names.is_empty() {
                    format!("unknown address group `@{group}`: the address groups file defines none")
                } else {
                    format!("unknown address group `@{group}`: known are {}", names.join(", "))
                }
            }
        };
        CriteriaError::new(c.value_column, message)
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

/// `full` (an application's tag, `netify.youtube`) is `tag` or has `tag` after its first `.`,
/// ignoring ASCII case. Lengths first: this runs for every soft-dissector line on every
/// classification, and nearly every tag differs in length from the one asked for.
pub(super) fn app_tag_matches(full: &str, tag: &str) -> bool {
    if full.len() == tag.len() {
        return full.eq_ignore_ascii_case(tag);
    }
    let Some(dot) = full.len().checked_sub(tag.len() + 1) else { return false };
    full.as_bytes().get(dot) == Some(&b'.')
        && full.get(dot + 1..).is_some_and(|short| short.eq_ignore_ascii_case(tag))
        && !full.as_bytes().get(..dot).is_some_and(|head| head.contains(&b'.'))
}
