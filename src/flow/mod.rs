//! Flows: keys, the per-worker table, the facts each flow carries, and which side is local.

pub mod ctcache;
pub mod key;
pub mod locality;
pub mod origin;
pub mod table;
pub mod wheel;
