//! Classification after dissection: what a flow is about beyond its own packets. So far the
//! DNS hint cache; applications and categories come here too.

pub mod dns_hints;
