//! nftables set target.
