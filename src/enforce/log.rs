//! Log file target.
