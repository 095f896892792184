//! In-order TCP stream reassembly with a bounded buffer.
