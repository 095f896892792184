//! What flowsieve writes about flows: the JSON flow record of `replay --json` and of sink
//! targets, and the MQTT client that publishes sink records to a broker.

pub mod mqtt;
pub mod record;
