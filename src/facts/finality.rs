//! Which of a flow's facts are final: can no longer change while the flow lives.
//!
//! Criteria are decided on final facts only (three-valued evaluation, see the README's "When
//! actions fire"): a test of a fact that is not
//! final yet is *unknown*, and an action fires only once its criteria are true and its
//! exemptions false whatever the unknown facts turn out to be.
//!
//! Facts fixed when the flow is created (addresses, ports, MACs, VLAN, IP protocol, origin,
//! interface, DSCP, tunnel, the DNS hint cache's name for the other address) are always
//! final. Conntrack facts (`ip_nat`, the connection mark) are the connection's current state:
//! once read they count as final, and a change re-evaluates the flow; a live flow opened by a
//! bare SYN reads them only once it is established or carries payload ([`Final::CONNTRACK`]),
//! so a flood of unanswered SYNs costs no conntrack query. The groups below become final
//! when a dissector says what it read can no longer change (the TLS dissector after the
//! ClientHello and the ServerHello), and all of them when detection completes or gives up.

/// A set of fact groups, one bit each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Final(u8);

impl Final {
    /// Nothing but the always-final facts.
    pub const NONE: Final = Final(0);
    /// The protocol and its category.
    pub const PROTOCOL: Final = Final(1);
    /// The application and its categories (including the domain category).
    pub const APPLICATION: Final = Final(1 << 1);
    /// `detected_hostname`.
    pub const HOSTNAME: Final = Final(1 << 2);
    /// What the TLS ClientHello says (JA4, offered version).
    pub const TLS_CLIENT: Final = Final(1 << 3);
    /// What the TLS ServerHello says: the negotiated version and cipher suite.
    pub const TLS_SERVER: Final = Final(1 << 4);
    /// Risks and risk scores. Assessed only when detection is over, so they share
    /// [`Final::DETECTION`]'s bit (the flow slot has no byte for a ninth group).
    pub const RISKS: Final = Final(1 << 6);
    /// `detection_complete`, `detection_guessed`, `detection_updated`.
    pub const DETECTION: Final = Final(1 << 6);
    /// `ip_nat` and `ct_mark` have been read from conntrack (see the module documentation).
    pub const CONNTRACK: Final = Final(1 << 5);
    /// Every group detection fills, and the conntrack facts: detection is over.
    pub const ALL: Final = Final((1 << 7) - 1);
    /// The flow's end: `expiring`/`expired`, known only when the flow ends (after [`Final::ALL`]).
    pub const END: Final = Final(1 << 7);

    /// Every group in `other` is in `self`.
    #[inline(always)]
    pub const fn contains(self, other: Final) -> bool {
        self.0 & other.0 == other.0
    }

    #[must_use]
    pub const fn with(self, other: Final) -> Final {
        Final(self.0 | other.0)
    }

    /// The group names, for records and `explain` (`"protocol, hostname"`; `"all"`, `"none"`).
    pub fn names(self) -> String {
        if self == Final::ALL {
            return "all".into();
        }
        let names: Vec<&str> = GROUPS.iter().filter(|(g, _)| self.contains(*g)).map(|(_, n)| *n).collect();
        if names.is_empty() {
            "none".into()
        } else {
            names.join(", ")
        }
    }
}

const GROUPS: [(Final, &str); 9] = [
    (Final::PROTOCOL, "protocol"),
    (Final::APPLICATION, "application"),
    (Final::HOSTNAME, "hostname"),
    (Final::TLS_CLIENT, "tls_client"),
    (Final::TLS_SERVER, "tls_server"),
    (Final::RISKS, "risks"),
    (Final::DETECTION, "detection"),
    (Final::END, "end"),
    (Final::CONNTRACK, "conntrack"),
];

impl std::ops::BitOr for Final {
    type Output = Final;
    fn bitor(self, other: Final) -> Final {
        self.with(other)
    }
}

impl std::ops::BitOrAssign for Final {
    fn bitor_assign(&mut self, other: Final) {
        *self = self.with(other);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_and_names() {
        let f = Final::PROTOCOL | Final::TLS_SERVER;
        assert!(f.contains(Final::PROTOCOL) && f.contains(Final::NONE) && !f.contains(Final::HOSTNAME));
        assert!(Final::ALL.contains(f));
        assert_eq!(f.names(), "protocol, tls_server");
        assert_eq!(Final::NONE.names(), "none");
        assert_eq!(Final::CONNTRACK.names(), "conntrack");
        assert_eq!(Final::ALL.names(), "all");
    }
}
