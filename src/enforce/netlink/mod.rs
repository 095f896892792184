//! Netlink plumbing for the enforcer (nftables now; ipset and conntrack later).

/// A netlink request failed.
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    #[error("netlink socket: {0}")]
    Io(#[from] std::io::Error),
}
