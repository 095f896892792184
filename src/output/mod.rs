//! What flowsieve writes about flows: the JSON flow record of `replay --json` and of sink
//! targets.

pub mod record;
