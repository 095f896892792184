//! What flowsieve writes about flows: the JSON flow record of `replay --json` and of sink
//! targets, and the MQTT client that publishes sink records to a broker.

pub mod mqtt;
pub mod record;

use serde_json::Value;

/// What a JSON value is, for configuration messages ("expected a string, found a number"):
/// shared by the target kinds' parsing (`enforce::kind`) and the MQTT options here.
pub fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
