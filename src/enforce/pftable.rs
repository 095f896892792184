//! pf table target (`"target_type": "pftable"`): BSD's packet filter tables, which Linux does
//! not have. A target of this type is refused with that reason, whatever its keys; the kind is
//! declared so that the refusal, and the place a BSD port would fill in, are one file like every
//! other kind's.

use super::kind::{Props, TargetKind};
use super::Target;

/// A `pftable` target's configuration: none can exist on Linux.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PfTableConfig {}

impl TargetKind for PfTableConfig {
    const TYPE: &'static str = "pftable";
    const KEYS: &'static [&'static [&'static str]] = &[];
    const UNAVAILABLE: Option<&'static str> = Some("BSD pf tables");
    type Globals = ();

    /// Never called: a kind that is [`TargetKind::UNAVAILABLE`] is refused before parsing.
    fn parse(_: &mut Props<'_, '_>, _: &()) -> Option<PfTableConfig> {
        None
    }

    fn name(&self) -> &str {
        match *self {}
    }

    fn build(&self) -> Box<dyn Target> {
        match *self {}
    }
}
