//! `flowsieve explain`: why a criteria expression matched a flow or not, one line per test.

use std::fmt;
use std::ops::Range;

/// Every test of a criteria expression against one flow, in evaluation order, and the result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    pub steps: Vec<ExplainStep>,
    /// What [`super::Criteria::matches`] returns for the flow.
    pub result: bool,
    /// What [`super::Criteria::decide`] returns: `None` while the result depends on facts
    /// that are not final yet.
    pub decided: Option<bool>,
    /// The criteria was `*` (there are no steps).
    pub match_all: bool,
}

/// One comparison (or bare attribute) and how it came out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExplainStep {
    /// Character range of the test in the criteria text (the whole text for compact syntax
    /// such as `ai:netify.facebook`).
    pub span: Range<usize>,
    /// The source text of `span`, whitespace runs folded to one space.
    pub text: String,
    /// Canonical attribute name.
    pub attribute: &'static str,
    /// `==`, `<` …; `None` for a bare attribute (a truth test).
    pub op: Option<&'static str>,
    /// The right-hand side in canonical form (`0x0302`, `'netify.youtube'`, `@iot`).
    pub operand: Option<String>,
    /// The attribute's value in this flow (`0x0303`, `91 (TLS)`, `'example.com'`).
    pub actual: String,
    pub result: bool,
    /// False when `&&`/`||` had already decided and evaluation skipped this test; `result`
    /// still says what it would have given.
    pub evaluated: bool,
    /// The value is final; when false, `result` is what the current value gives, but the test
    /// counts as unknown for actions (the value may still change).
    pub known: bool,
}

impl fmt::Display for Explanation {
    /// ```text
    ///   ip_nat == false          → true (ip_nat is false)
    ///   ssl_version == 0x0302    → false (ssl_version is 0x0303)
    /// result: false
    /// ```
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.match_all {
            writeln!(f, "  *    → true (matches every flow)")?;
        }
        let width = self.steps.iter().map(|s| s.text.chars().count()).max().unwrap_or(0);
        for step in &self.steps {
            let skipped = if step.evaluated { "" } else { ", not evaluated" };
            if step.known {
                writeln!(
                    f,
                    "  {:<width$}   → {}{skipped} ({} is {})",
                    step.text, step.result, step.attribute, step.actual
                )?;
            } else {
                writeln!(
                    f,
                    "  {:<width$}   → unknown{skipped} ({} is not final; currently {})",
                    step.text, step.attribute, step.actual
                )?;
            }
        }
        match self.decided {
            Some(result) => write!(f, "result: {result}"),
            None => write!(f, "result: unknown (currently {})", self.result),
        }
    }
}
