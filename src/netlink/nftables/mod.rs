//! nftables over NETLINK_NETFILTER: tables, sets and set elements, sent as batched transactions.
//!
//! Every change goes out as an nfnetlink batch (`NFNL_MSG_BATCH_BEGIN` … `NFNL_MSG_BATCH_END`),
//! which the kernel applies all-or-nothing. Each message inside asks for an ACK, so an error maps
//! back to the message (by sequence number) that caused it. Constants are from the kernel UAPI
//! headers `linux/netfilter/nfnetlink.h` and `linux/netfilter/nf_tables.h`.
//!
//! Kernel behaviour handled here (measured on Linux 6.18; docs/ARCHITECTURE.md, "Kernel facts"):
//! - one element too many for a set's `size` fails the whole batch with ENFILE → halve and retry,
//!   so the elements that fit get in and the rest are counted as refused;
//! - a batch larger than the socket send buffer fails with EMSGSIZE → raise SO_SNDBUF and keep
//!   batches under it;
//! - re-adding an element with `NLM_F_CREATE` (no `NLM_F_EXCL`) succeeds; its timer restarts only
//!   when `NFTA_SET_ELEM_EXPIRATION` is sent again, so we always send it.

use std::fmt;

mod batch;
mod keys;
mod socket;
#[cfg(test)]
mod tests;
mod uapi;

pub use batch::NftBatch;
pub use keys::{KeyLayout, KeyType, PackError, SetKey};
pub use socket::NftSocket;
pub use uapi::CT_LABEL_MAX_BIT;

/// Address family of an nftables table (the `nfgenmsg` family, `NFPROTO_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TableFamily {
    Inet,
    Ip,
    Ip6,
    Bridge,
    Netdev,
}

impl TableFamily {
    /// Parses nft's spelling (`inet`, `ip`, `ip6`, `bridge`, `netdev`).
    pub fn from_name(name: &str) -> Option<TableFamily> {
        Some(match name {
            "inet" => TableFamily::Inet,
            "ip" => TableFamily::Ip,
            "ip6" => TableFamily::Ip6,
            "bridge" => TableFamily::Bridge,
            "netdev" => TableFamily::Netdev,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            TableFamily::Inet => "inet",
            TableFamily::Ip => "ip",
            TableFamily::Ip6 => "ip6",
            TableFamily::Bridge => "bridge",
            TableFamily::Netdev => "netdev",
        }
    }

    /// `NFPROTO_*` from `linux/netfilter.h`.
    fn nfproto(self) -> u8 {
        match self {
            TableFamily::Inet => 1,
            TableFamily::Ip => 2,
            TableFamily::Netdev => 5,
            TableFamily::Bridge => 7,
            TableFamily::Ip6 => 10,
        }
    }
}

impl fmt::Display for TableFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a set should look like when we create it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetSpec {
    pub name: String,
    pub key: KeyLayout,
    /// Maximum number of elements (`size`).
    pub size: u32,
    /// Default element timeout in milliseconds; 0 = elements never expire.
    pub timeout_ms: u64,
}

/// Names one set: family, table and set name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetRef<'a> {
    pub family: TableFamily,
    pub table: &'a str,
    pub set: &'a str,
}

impl fmt::Display for SetRef<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.family, self.table, self.set)
    }
}

/// Outcome of adding elements.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddReport {
    /// Elements now in the set (new or refreshed).
    pub accepted: usize,
    /// Elements the kernel refused because the set was full (ENFILE).
    pub refused: usize,
    /// Transactions sent, retries included.
    pub batches: usize,
}
