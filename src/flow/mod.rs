//! Flows: keys, the per-worker table, and the facts each flow carries.

pub mod facts;
