//! What flowsieve writes about flows: flowsieve's JSON flow record and Netify's v5 telemetry
//! record (`replay --json`, sink targets), and the MQTT client that publishes sink records to a
//! broker.

pub mod mqtt;
pub mod netify;
pub mod record;

use serde_json::Value;

/// Which record a flow is written as: Netify's v5 flow telemetry record ([`netify`]) or
/// flowsieve's own ([`record`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RecordFormat {
    #[default]
    Netify,
    Flowsieve,
}

impl RecordFormat {
    pub const NAMES: &'static [&'static str] = &["netify", "flowsieve"];

    pub fn parse(name: &str) -> Option<RecordFormat> {
        match name {
            "netify" => Some(RecordFormat::Netify),
            "flowsieve" => Some(RecordFormat::Flowsieve),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            RecordFormat::Netify => "netify",
            RecordFormat::Flowsieve => "flowsieve",
        }
    }
}

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
