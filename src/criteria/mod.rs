//! The criteria language: parsed and compiled once per configuration load, evaluated per flow.
//!
//! Criteria are Netify's flow-action expressions, e.g. `ip_nat == false && ssl_version ==
//! 0x0302;` (docs/FLOW-ACTIONS.md §3). Text goes through four steps, one file each:
//!
//! - [`lexer`]: characters → tokens (names, numbers, quoted strings, `'rx:…'` regexes, unquoted
//!   addresses and CIDRs, operators);
//! - [`parser`]: tokens → syntax tree, resolving names through [`attribute`]'s table;
//! - [`plan`]: syntax tree → typed plan (type checks, CIDRs to masks, regexes built, tags to
//!   IDs through [`categories`] and [`risks`], `@groups` through [`groups`]), plus the plan's
//!   evaluator, explainer ([`explain`]) and canonical printer.
//!
//! Netify's compact syntax (`ai:netify.facebook`, `!pi:5`, `ac:social-media`, `pc:vpn`) is
//! rewritten to the long form before lexing, so it compiles to the same plan.
//!
//! Where flowsieve differs from Netify (docs/FLOW-ACTIONS.md §7): `&&` binds tighter than `||` (Netify
//! groups them with equal precedence to the right; mixing them without parentheses gives a
//! warning naming both readings); `!` negates any sub-expression; a missing final `;` is
//! accepted with a warning; `!=` with a regex is the negation of the match; the hybrid
//! `category != X` is the negation of `category == X` (Netify: true when either the application
//! or the domain category differs), with a warning.

use std::fmt;

mod attribute;
mod categories;
mod explain;
mod groups;
mod lexer;
pub mod names;
mod parser;
mod plan;
mod risks;
#[cfg(test)]
mod tests;

pub use attribute::{Accessor, Attribute, ATTRIBUTES};
pub use categories::{CategoryKind, APPLICATION_CATEGORIES, PROTOCOL_CATEGORIES};
pub use explain::{ExplainStep, Explanation};
pub use groups::{AddressGroup, AddressGroups, AddressGroupsError};

use crate::facts::finality::Final;
use crate::facts::FlowFacts;

/// A compiled criteria expression, ready to test flows.
#[derive(Clone)]
pub struct Criteria {
    source: Box<str>,
    /// The last statement: the only one that decides (earlier ones are only checked).
    plan: plan::Node,
    warnings: Vec<CriteriaWarning>,
    /// The text was `*`.
    match_all: bool,
    /// Every fact group the deciding statement reads: once all are final, plain two-valued
    /// evaluation decides.
    needs: Final,
}

/// Why a criteria text does not compile: where, and what was expected or found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct CriteriaError {
    /// 1-based character position in the text. Criteria are normally one line (a JSON string);
    /// for a text of several lines it counts from the start of the text, newlines included,
    /// and [`CriteriaError::render`] shows the right line.
    pub column: usize,
    pub message: String,
}

/// What criteria may refer to beyond the text itself. [`Criteria::compile`] uses an empty one.
#[derive(Debug, Clone, Copy, Default)]
pub struct CompileContext<'a> {
    /// Groups for `@name` operands (Netify's address-groups.json); `None`: every `@name` is an
    /// error.
    pub address_groups: Option<&'a AddressGroups>,
}

/// Something that compiles but probably does not mean what it says, or differs from Netify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CriteriaWarning {
    /// 1-based character position, as in [`CriteriaError::column`].
    pub column: usize,
    pub message: String,
}

impl Criteria {
    /// Parses, checks and compiles `text` with no address groups.
    ///
    /// # Errors
    ///
    /// The first syntax, name or type error, with its column and what was expected there.
    pub fn compile(text: &str) -> Result<Criteria, CriteriaError> {
        Criteria::compile_with(text, &CompileContext::default())
    }

    /// Parses, checks and compiles `text`; `@name` operands are looked up in `context`.
    ///
    /// # Errors
    ///
    /// As [`Criteria::compile`]; an unknown `@group` is an error at its column.
    pub fn compile_with(text: &str, context: &CompileContext<'_>) -> Result<Criteria, CriteriaError> {
        // `*` is not part of Netify's grammar but handled before it: match every flow.
        if text.trim() == "*" {
            return Ok(Criteria {
                source: text.into(),
                plan: plan::Node::Const(true),
                warnings: Vec::new(),
                match_all: true,
                needs: Final::NONE,
            });
        }
        if let Some(long) = compact_form(text) {
            return Criteria::compile_compact(text, long?, context);
        }
        let chars: Vec<char> = text.chars().collect();
        let tokens = lexer::tokenize(&chars)?;
        let program = parser::parse(&chars, tokens)?;
        let mut warnings = program.warnings;
        let mut last = None;
        for statement in &program.statements {
            last = Some(plan::compile(statement, context, &mut warnings)?);
        }
        let plan = last.ok_or_else(|| CriteriaError::new(1, "empty criteria".into()))?;
        warnings.sort_by_key(|w| w.column);
        let mut needs = Final::NONE;
        plan.for_each_test(&mut |test| needs |= test.needs());
        Ok(Criteria { source: text.into(), plan, warnings, match_all: false, needs })
    }

    /// Compiles the long form of a compact expression; errors point at the compact value.
    fn compile_compact(text: &str, long: CompactForm, context: &CompileContext<'_>) -> Result<Criteria, CriteriaError> {
        let mut criteria = Criteria::compile_with(&long.text, context)
            .map_err(|e| CriteriaError::new(long.value_column, e.message))?;
        let len = text.chars().count();
        let start = text.chars().take_while(|c| c.is_whitespace()).count();
        let end = len - text.chars().rev().take_while(|c| c.is_whitespace()).count();
        criteria.plan.set_spans((start, end.max(start)));
        for warning in &mut criteria.warnings {
            warning.column = long.value_column;
        }
        criteria.source = text.into();
        Ok(criteria)
    }

    /// False when the expression requires, at its top, an application tag `app` does not have
    /// (`app == 'netify.signal' && …`): it cannot match then. A gate in front of
    /// [`Criteria::matches`] for many expressions over the same flow.
    pub fn admits_application(&self, app: &crate::facts::AppFacts) -> bool {
        self.plan.admits_application(app)
    }

    /// Whether a flow with these facts matches. Walks the compiled plan; no allocation.
    pub fn matches(&self, facts: &FlowFacts) -> bool {
        self.plan.eval(facts)
    }

    /// Whether a flow with these facts matches, deciding only on its final facts
    /// ([`FlowFacts::final_facts`]): `Some(result)` once no fact that may still change can
    /// alter the result, `None` before. Actions fire on `Some(true)`. No allocation.
    #[inline]
    pub fn decide(&self, facts: &FlowFacts) -> Option<bool> {
        let known = facts.final_facts;
        if known.contains(self.needs) {
            return Some(self.plan.eval(facts));
        }
        self.plan.decide(facts, known)
    }

    /// Every test against `facts` in evaluation order, each with the attribute's value, and
    /// the result (always equal to [`Criteria::matches`]). For `flowsieve explain`; allocates.
    pub fn explain(&self, facts: &FlowFacts) -> Explanation {
        let mut steps = Vec::new();
        let result = self.plan.explain(facts, true, &mut steps);
        let chars: Vec<char> = self.source.chars().collect();
        for step in &mut steps {
            let end = step.span.end.min(chars.len());
            let start = step.span.start.min(end);
            let raw: String = chars[start..end].iter().collect();
            step.text = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        }
        Explanation { steps, result, decided: self.decide(facts), match_all: self.match_all }
    }

    /// The attributes the deciding statement tests, in order of first use, each once
    /// (for `check`: which facts a criteria depends on).
    pub fn attributes(&self) -> Vec<&'static Attribute> {
        let mut out: Vec<&'static Attribute> = Vec::new();
        self.plan.for_each_test(&mut |test| {
            let attr = test.attribute();
            if !out.iter().any(|a| std::ptr::eq(*a, attr)) {
                out.push(attr);
            }
        });
        out
    }

    /// Load-time warnings, in column order.
    pub fn warnings(&self) -> &[CriteriaWarning] {
        &self.warnings
    }

    /// The text this was compiled from.
    pub fn source(&self) -> &str {
        &self.source
    }
}

/// The canonical form: fully parenthesised, canonical attribute names, ending in `;` (or `*`).
/// Compiling it gives the same plan.
impl fmt::Display for Criteria {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.match_all {
            f.write_str("*")
        } else {
            write!(f, "{};", self.plan)
        }
    }
}

impl fmt::Debug for Criteria {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Criteria")
            .field("source", &self.source)
            .field("plan", &format_args!("{self}"))
            .field("warnings", &self.warnings)
            .finish()
    }
}

impl CriteriaError {
    pub(crate) fn new(column: usize, message: String) -> CriteriaError {
        CriteriaError { column, message }
    }

    /// The source line, a caret under the column, then the message:
    ///
    /// ```text
    /// ip_nat == false && ssl_verison == 0x0302;
    ///                    ^
    /// unknown attribute `ssl_verison`: did you mean `ssl_version`?
    /// ```
    pub fn render(&self, source: &str) -> String {
        render_at(source, self.column, &self.message)
    }
}

impl CriteriaWarning {
    /// Like [`CriteriaError::render`].
    pub fn render(&self, source: &str) -> String {
        render_at(source, self.column, &self.message)
    }
}

impl fmt::Display for CriteriaWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.column, self.message)
    }
}

/// A compact expression rewritten to the long form.
struct CompactForm {
    text: String,
    /// 1-based column of the value in the original text (where errors point).
    value_column: usize,
}

/// Netify's compact syntax, which must be the whole text (docs/FLOW-ACTIONS.md §3.1): optional `!`, then
/// `ai:` (application), `pi:` (protocol), `ac:` (application category) or `pc:` (protocol
/// category), then a tag, short tag or numeric ID; a final `;` is allowed. `None` when the text
/// is not compact syntax.
fn compact_form(text: &str) -> Option<Result<CompactForm, CriteriaError>> {
    let lead = text.chars().take_while(|c| c.is_whitespace()).count();
    let body = text.trim();
    let (negate, rest) = match body.strip_prefix('!') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, body),
    };
    let prefix = rest.get(..3)?;
    let attribute = match prefix {
        "ai:" => "application",
        "pi:" => "protocol",
        "ac:" => "application_category",
        "pc:" => "protocol_category",
        _ => return None,
    };
    let value_start = lead + body.chars().count() - rest.chars().count() + 3;
    let value = rest[3..].strip_suffix(';').unwrap_or(&rest[3..]).trim_end();
    let error = |column: usize, message: String| Some(Err(CriteriaError::new(column, message)));
    if value.is_empty() {
        return error(value_start + 1, format!("missing value after `{prefix}`: expected a tag or a numeric ID"));
    }
    if let Some(bad) = value.chars().position(|c| !(c.is_ascii_alphanumeric() || "._+-/".contains(c))) {
        return error(
            value_start + bad + 1,
            format!(
                "compact syntax (`{prefix}…`) takes one tag or ID and must be the whole criteria \
                 text; combine tests with the long form (`{attribute} == …`)"
            ),
        );
    }
    let operand = if value.chars().all(|c| c.is_ascii_digit()) { value.to_string() } else { format!("'{value}'") };
    let test = format!("{attribute} == {operand}");
    let text = if negate { format!("!({test});") } else { format!("{test};") };
    Some(Ok(CompactForm { text, value_column: value_start + 1 }))
}

fn render_at(source: &str, column: usize, message: &str) -> String {
    let index = column.saturating_sub(1);
    // Find the line holding character `index` (a column past the end points after the text).
    let mut line_start = 0;
    let mut seen = 0;
    let mut line = "";
    for text in source.split('\n') {
        let len = text.chars().count();
        line = text;
        line_start = seen;
        if index <= seen + len {
            break;
        }
        seen += len + 1;
    }
    let line = line.strip_suffix('\r').unwrap_or(line);
    // Keep tabs so the caret lines up under tab-indented text.
    let pad: String = line
        .chars()
        .chain(std::iter::repeat(' '))
        .take(index.saturating_sub(line_start))
        .map(|c| if c == '\t' { '\t' } else { ' ' })
        .collect();
    format!("{line}\n{pad}^\n{message}")
}
