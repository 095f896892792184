//! Flows: keys, the per-worker table, the facts each flow carries, and which side is local.

pub mod ctcache;
pub mod facts;
pub mod key;
pub mod locality;
pub mod net;
pub mod origin;
pub mod record;
pub mod table;
pub mod wheel;
