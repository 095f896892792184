//! The criteria language: parsed and compiled once per configuration load, evaluated per flow.
//!
//! Criteria are Netify's flow-action expressions, e.g. `ip_nat == false && ssl_version ==
//! 0x0302;` (spec/flow-actions.md §3). Text goes through four steps, one file each:
//!
//! - [`lexer`]: characters → tokens (names, numbers, quoted strings, `'rx:…'` regexes, unquoted
//!   addresses and CIDRs, operators);
//! - [`parser`]: tokens → syntax tree, resolving names through [`attribute`]'s table;
//! - [`plan`]: syntax tree → typed plan (type checks, CIDRs to masks, regexes built), plus the
//!   plan's evaluator and canonical printer.
//!
//! Where flowsieve differs from Netify (DESIGN.md): `&&` binds tighter than `||` (Netify
//! groups them with equal precedence to the right; mixing them without parentheses gives a
//! warning naming both readings); `!` negates any sub-expression; a missing final `;` is
//! accepted with a warning; `!=` with a regex is the negation of the match.

use std::fmt;

mod attribute;
mod lexer;
mod parser;
mod plan;
#[cfg(test)]
mod tests;

pub use attribute::{Accessor, Attribute, ATTRIBUTES};

use crate::flow::facts::FlowFacts;

/// A compiled criteria expression, ready to test flows.
#[derive(Clone)]
pub struct Criteria {
    source: Box<str>,
    /// The last statement: the only one that decides (earlier ones are only checked).
    plan: plan::Node,
    warnings: Vec<CriteriaWarning>,
    /// The text was `*`.
    match_all: bool,
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

/// Something that compiles but probably does not mean what it says, or differs from Netify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CriteriaWarning {
    /// 1-based character position, as in [`CriteriaError::column`].
    pub column: usize,
    pub message: String,
}

impl Criteria {
    /// Parses, checks and compiles `text`.
    ///
    /// # Errors
    ///
    /// The first syntax, name or type error, with its column and what was expected there.
    pub fn compile(text: &str) -> Result<Criteria, CriteriaError> {
        // `*` is not part of Netify's grammar but handled before it: match every flow.
        if text.trim() == "*" {
            return Ok(Criteria {
                source: text.into(),
                plan: plan::Node::Const(true),
                warnings: Vec::new(),
                match_all: true,
            });
        }
        let chars: Vec<char> = text.chars().collect();
        let tokens = lexer::tokenize(&chars)?;
        let program = parser::parse(&chars, tokens)?;
        let mut warnings = program.warnings;
        let mut last = None;
        for statement in &program.statements {
            last = Some(plan::compile(statement, &mut warnings)?);
        }
        let plan = last.ok_or_else(|| CriteriaError::new(1, "empty criteria".into()))?;
        warnings.sort_by_key(|w| w.column);
        Ok(Criteria { source: text.into(), plan, warnings, match_all: false })
    }

    /// Whether a flow with these facts matches. Walks the compiled plan; no allocation.
    pub fn matches(&self, facts: &FlowFacts) -> bool {
        self.plan.eval(facts)
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
