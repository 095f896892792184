//! ctmark target (`"target_type": "ctmark"`): sets bits of the conntrack mark of every matching
//! flow's connection, for rules such as `ct mark & 0xff == 0x10 drop` or `CONNMARK --restore-mark`.
//!
//! The new mark is `ctmark = (ctmark & ~mask) | ((mark << shift) & mask)`: the bits outside
//! `mask` are kept, so several targets can share one mark by owning disjoint masks. Netify does
//! not document its arithmetic (docs/FLOW-ACTIONS.md §2.3, our choice); this is the one
//! iptables `CONNMARK --set-xmark` and nft `ct mark set ct mark and … or …` users expect.
//!
//! The connection is found by the flow's original-direction tuple (the side that opened it
//! first). A connection conntrack does not have (ENOENT: it ended, or is untracked) is counted,
//! not reported as a failure. The update goes out in [`Target::apply`]: one small ctnetlink
//! request, no batching.

use std::net::IpAddr;

use super::kind::{Props, TargetKind};
use crate::netlink::NetlinkError;
use super::{MatchEvent, Target, TargetError};
use crate::facts::FlowFacts;
pub use crate::flow::ctcache::original_tuple;
use crate::facts::ip_proto;
use crate::netlink::conntrack::{is_no_connection, ConntrackSocket, CtL4};

/// A `ctmark` target's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CtMarkConfig {
    pub name: String,
    pub mark: u32,
    /// Bits of the conntrack mark this target owns; default all (0xffffffff).
    pub mask: u32,
    /// Left shift applied to `mark` before masking (0–31).
    pub shift: u8,
}

impl CtMarkConfig {
    pub fn new(name: &str, mark: u32) -> CtMarkConfig {
        CtMarkConfig { name: name.to_string(), mark, mask: u32::MAX, shift: 0 }
    }

    /// The bits written into the mark: `(mark << shift) & mask`.
    pub fn value(&self) -> u32 {
        self.mark.checked_shl(u32::from(self.shift)).unwrap_or(0) & self.mask
    }
}

/// What happened to ct updates so far (shared by ctmark and ctlabel).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CtStats {
    /// Connections updated.
    pub updated: u64,
    /// Flows conntrack had no entry for (ENOENT): ended, or never tracked.
    pub no_connection: u64,
    /// Connections without label storage (ENOSPC; ctlabel only): created before any rule
    /// referenced `ct label`.
    pub no_label_space: u64,
    /// Flows conntrack keeps no entry of their own for (ICMP errors, ICMP without a header).
    pub unsupported: u64,
    /// Other kernel errors.
    pub failed: u64,
}

impl CtStats {
    /// Named counters for summaries.
    pub fn details(&self) -> Vec<(&'static str, u64)> {
        vec![
            ("updated", self.updated),
            ("no_connection", self.no_connection),
            ("no_label_space", self.no_label_space),
            ("unsupported", self.unsupported),
            ("failed", self.failed),
        ]
    }
}

/// `192.168.1.10:40000 -> 1.2.3.4:443 tcp`, the original direction as a person reads it;
/// ICMP queries as `10.0.0.1 -> 10.0.0.2 icmp type 8 code 0 id 4242`.
pub fn describe_flow(flow: &FlowFacts) -> String {
    if let Some(t) = original_tuple(flow) {
        if let CtL4::Icmp { id, icmp_type, code } = t.l4 {
            let name = if t.proto == ip_proto::ICMP { "icmp" } else { "icmpv6" };
            return format!("{} -> {} {name} type {icmp_type} code {code} id {id}", t.src, t.dst);
        }
    }
    let endpoint = |ip: IpAddr, port: u16| match ip {
        IpAddr::V4(a) => format!("{a}:{port}"),
        IpAddr::V6(a) => format!("[{a}]:{port}"),
    };
    let (src, dst) = if flow.local_origin {
        (endpoint(flow.local_ip, flow.local_port), endpoint(flow.other_ip, flow.other_port))
    } else {
        (endpoint(flow.other_ip, flow.other_port), endpoint(flow.local_ip, flow.local_port))
    };
    let proto = match flow.ip_protocol {
        6 => "tcp".to_string(),
        17 => "udp".to_string(),
        1 => "icmp".to_string(),
        58 => "icmpv6".to_string(),
        132 => "sctp".to_string(),
        n => format!("proto {n}"),
    };
    format!("{src} -> {dst} {proto}")
}

/// Runs `op` on the ctnetlink socket, opening it when needed. A socket that failed (closed, no
/// answer) is replaced and `op` tried once more on the new one.
pub(crate) fn with_socket<T>(
    sock: &mut Option<ConntrackSocket>,
    target: &str,
    mut op: impl FnMut(&mut ConntrackSocket) -> Result<T, NetlinkError>,
) -> Result<T, NetlinkError> {
    let mut retried = false;
    loop {
        let s = match sock {
            Some(s) => s,
            None => sock.insert(ConntrackSocket::open()?),
        };
        match op(s) {
            Err(e) if matches!(e, NetlinkError::Io(_) | NetlinkError::NoReply { .. }) => {
                *sock = None;
                if retried {
                    return Err(e);
                }
                tracing::warn!(target_name = target, "ctnetlink socket failed ({e}); reconnecting");
                retried = true;
            }
            other => return other,
        }
    }
}

/// Sorts the outcome of one ctnetlink update into the stats; only real failures come back.
pub(crate) fn account(result: Result<(), NetlinkError>, stats: &mut CtStats) -> Result<(), NetlinkError> {
    match result {
        Ok(()) => {
            stats.updated += 1;
            Ok(())
        }
        Err(e) if is_no_connection(&e) => {
            stats.no_connection += 1;
            Ok(())
        }
        Err(e) => {
            stats.failed += 1;
            Err(e)
        }
    }
}

/// The `ctmark` target.
#[derive(Debug)]
pub struct CtMarkTarget {
    cfg: CtMarkConfig,
    sock: Option<ConntrackSocket>,
    stats: CtStats,
}

impl CtMarkTarget {
    pub fn new(cfg: CtMarkConfig) -> CtMarkTarget {
        CtMarkTarget { cfg, sock: None, stats: CtStats::default() }
    }

    pub fn config(&self) -> &CtMarkConfig {
        &self.cfg
    }

    pub fn stats(&self) -> CtStats {
        self.stats
    }

    fn mark(&mut self, event: &MatchEvent) -> Result<(), TargetError> {
        let Some(tuple) = original_tuple(&event.flow) else {
            self.stats.unsupported += 1;
            return Ok(());
        };
        let (value, mask) = (self.cfg.value(), self.cfg.mask);
        let result = with_socket(&mut self.sock, &self.cfg.name, |sock| sock.set_mark(&tuple, value, mask));
        account(result, &mut self.stats).map_err(TargetError::from)
    }
}

impl Target for CtMarkTarget {
    fn name(&self) -> &str {
        &self.cfg.name
    }

    /// Opens the ctnetlink socket, so a missing privilege shows at start.
    fn setup(&mut self) -> Result<(), TargetError> {
        if self.sock.is_none() {
            self.sock = Some(ConntrackSocket::open()?);
        }
        Ok(())
    }

    /// `ctmark 192.168.1.10:40000 -> 1.2.3.4:443 tcp mark 0x10/0xff`
    fn describe(&self, event: &MatchEvent, ops: &mut Vec<String>) {
        ops.push(format!("ctmark {} mark 0x{:x}/0x{:x}", describe_flow(&event.flow), self.cfg.value(), self.cfg.mask));
    }

    fn apply(&mut self, event: &MatchEvent) -> Result<(), TargetError> {
        self.mark(event)
    }

    /// The mark stays with the connection; setting it again costs one request and catches a
    /// mark someone else changed.
    fn refresh(&mut self, event: &MatchEvent) -> Result<(), TargetError> {
        self.mark(event)
    }

    /// Marks belong to connections and die with them: nothing to undo.
    fn shutdown(&mut self) -> Result<(), TargetError> {
        Ok(())
    }

    fn details(&self) -> Vec<(&'static str, u64)> {
        self.stats.details()
    }
}

impl TargetKind for CtMarkConfig {
    const TYPE: &'static str = "ctmark";
    const KEYS: &'static [&'static [&'static str]] = &[&["mark", "mask", "shift"]];
    type Globals = ();

    fn parse(props: &mut Props<'_, '_>, _: &()) -> Option<CtMarkConfig> {
        if props.get("mark").is_none() {
            props.target_error("missing key 'mark'");
            return None;
        }
        let mark = props.u32_value("mark")?;
        let mut cfg = CtMarkConfig::new(props.name(), mark);
        if props.get("mask").is_some() {
            cfg.mask = props.u32_value("mask")?;
        }
        let shift = props.number("shift", 0);
        if shift > 31 {
            let p = props.path_of("shift");
            props.error(&p, format!("shift must be 0 to 31, found {shift}"));
        }
        cfg.shift = shift.min(31) as u8;
        if cfg.value() == 0 && cfg.mark != 0 {
            let p = props.path_of("mark");
            props.warn(&p, "mark shifted by 'shift' has no bit inside 'mask': the target clears the masked bits");
        }
        Some(cfg)
    }

    fn name(&self) -> &str {
        &self.name
    }

    fn build(&self) -> Box<dyn Target> {
        Box::new(CtMarkTarget::new(self.clone()))
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::sync::Arc;

    use super::*;

    fn flow(local_origin: bool, proto: u8) -> FlowFacts {
        FlowFacts {
            ip_protocol: proto,
            local_ip: Ipv4Addr::new(192, 168, 1, 10).into(),
            local_port: 40000,
            other_ip: Ipv4Addr::new(1, 2, 3, 4).into(),
            other_port: 443,
            local_origin,
            ..FlowFacts::default()
        }
    }

    #[test]
    fn value_shifts_then_masks() {
        let mut c = CtMarkConfig::new("m", 0x3);
        c.mask = 0xff00;
        c.shift = 8;
        assert_eq!(c.value(), 0x0300);
        c.shift = 15;
        assert_eq!(c.value(), 0x8000); // bit 16 falls outside the mask
        c.shift = 31;
        c.mask = u32::MAX;
        assert_eq!(c.value(), 0x8000_0000);
    }

    #[test]
    fn tuple_follows_the_side_that_opened_the_flow() {
        let out = original_tuple(&flow(true, 6)).unwrap();
        assert_eq!(
            (out.src, out.l4),
            (IpAddr::from(Ipv4Addr::new(192, 168, 1, 10)), CtL4::Ports { sport: 40000, dport: 443 })
        );
        let inbound = original_tuple(&flow(false, 17)).unwrap();
        assert_eq!(
            (inbound.src, inbound.l4),
            (IpAddr::from(Ipv4Addr::new(1, 2, 3, 4)), CtL4::Ports { sport: 443, dport: 40000 })
        );
        assert!(original_tuple(&flow(true, 1)).is_none(), "ICMP without its header");
    }

    #[test]
    fn icmp_tuples_take_the_request_direction() {
        use crate::facts::IcmpFacts;
        let mut f = flow(true, 1);
        f.icmp = Some(IcmpFacts { icmp_type: 8, code: 0, id: 4242 });
        let t = original_tuple(&f).unwrap();
        assert_eq!((t.src, t.l4), (f.local_ip, CtL4::Icmp { id: 4242, icmp_type: 8, code: 0 }));
        // First packet seen was the reply (sent by the local side): the request came from the
        // other side.
        f.icmp = Some(IcmpFacts { icmp_type: 0, code: 0, id: 4242 });
        let t = original_tuple(&f).unwrap();
        assert_eq!((t.src, t.dst, t.l4), (f.other_ip, f.local_ip, CtL4::Icmp { id: 4242, icmp_type: 8, code: 0 }));
        // Destination unreachable has no entry of its own.
        f.icmp = Some(IcmpFacts { icmp_type: 3, code: 1, id: 0 });
        assert!(original_tuple(&f).is_none());
        let mut v6 = flow(true, 58);
        v6.local_ip = "fd00::1".parse().unwrap();
        v6.other_ip = "fd00::2".parse().unwrap();
        v6.icmp = Some(IcmpFacts { icmp_type: 128, code: 0, id: 7 });
        assert_eq!(original_tuple(&v6).unwrap().proto, 58);
    }

    #[test]
    fn describe_prints_tuple_and_masked_mark() {
        let mut c = CtMarkConfig::new("ctmark.low", 0x10);
        c.mask = 0xff;
        let target = CtMarkTarget::new(c);
        let mut ops = Vec::new();
        let event =
            MatchEvent { action: Arc::from("a"), flow: Arc::new(flow(true, 6)), at: std::time::SystemTime::UNIX_EPOCH, times: Default::default() };
        target.describe(&event, &mut ops);
        assert_eq!(ops, vec!["ctmark 192.168.1.10:40000 -> 1.2.3.4:443 tcp mark 0x10/0xff"]);
    }

    #[test]
    fn no_connection_is_counted_not_failed() {
        let mut stats = CtStats::default();
        let enoent = NetlinkError::Kernel { errno: libc::ENOENT, context: "x".into() };
        assert!(account(Err(enoent), &mut stats).is_ok());
        let eperm = NetlinkError::Kernel { errno: libc::EPERM, context: "x".into() };
        assert!(account(Err(eperm), &mut stats).is_err());
        assert!(account(Ok(()), &mut stats).is_ok());
        assert_eq!((stats.updated, stats.no_connection, stats.failed), (1, 1, 1));
    }
}
