//! TLS dissector.
