//! A timer wheel for idle expiry: O(expiring flows) per tick instead of a scan of the table.
//!
//! One slot per second of packet time, enough slots for the longest timeout. A flow is filed
//! under the second its idle deadline falls in; packets do not touch the wheel (that would be
//! per-packet work). When a slot comes due, each flow in it is checked against its current
//! deadline: gone or past it, it expires; otherwise it is filed again under its new deadline.
//! So a busy flow costs one re-filing per timeout period, not one per packet.

use std::time::Duration;

use super::key::FlowKey;

pub struct TimerWheel {
    slots: Vec<Vec<FlowKey>>,
    /// The next second to process.
    cursor: u64,
    started: bool,
    /// Reused to walk a slot without allocating.
    spare: Vec<FlowKey>,
}

impl TimerWheel {
    /// A wheel for timeouts up to `longest`.
    pub fn new(longest: Duration) -> TimerWheel {
        let slots = (longest.as_secs() + 2).next_power_of_two() as usize;
        TimerWheel { slots: (0..slots).map(|_| Vec::new()).collect(), cursor: 0, started: false, spare: Vec::new() }
    }

    fn slot_of(&self, second: u64) -> usize {
        (second as usize) & (self.slots.len() - 1)
    }

    /// File `key` to be looked at when `deadline` has passed. `now` starts the wheel's clock
    /// on first use.
    pub fn schedule(&mut self, key: FlowKey, now: Duration, deadline: Duration) {
        if !self.started {
            self.cursor = now.as_secs();
            self.started = true;
        }
        self.file(key, deadline);
    }

    fn file(&mut self, key: FlowKey, deadline: Duration) {
        // Never file into the past, nor further than the wheel reaches (a longer deadline is
        // simply looked at again one turn later).
        let horizon = self.cursor + self.slots.len() as u64 - 1;
        let second = deadline.as_secs().saturating_add(1).clamp(self.cursor, horizon);
        let slot = self.slot_of(second);
        self.slots[slot].push(key);
    }

    /// Walk every slot up to `now`; `check` says, for each filed flow, `None` (expired or
    /// gone: drop it) or `Some(deadline)` (still alive: file it again).
    pub fn advance(&mut self, now: Duration, mut check: impl FnMut(&FlowKey) -> Option<Duration>) {
        if !self.started {
            return;
        }
        let target = now.as_secs();
        // After a long quiet spell, one turn of the wheel visits every slot once.
        let last = target.min(self.cursor + self.slots.len() as u64);
        while self.cursor <= last {
            let slot = self.slot_of(self.cursor);
            let mut due = std::mem::replace(&mut self.slots[slot], std::mem::take(&mut self.spare));
            self.cursor += 1;
            for key in due.drain(..) {
                if let Some(deadline) = check(&key) {
                    self.file(key, deadline);
                }
            }
            self.spare = due;
        }
        self.cursor = self.cursor.max(target + 1);
    }

    /// Forget everything (the table was drained).
    pub fn clear(&mut self) {
        for slot in &mut self.slots {
            slot.clear();
        }
        self.started = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr};

    fn key(port: u16) -> FlowKey {
        let ip = IpAddr::V4(Ipv4Addr::LOCALHOST);
        FlowKey { lower_ip: ip, upper_ip: ip, lower_port: port, upper_port: 1, ip_protocol: 6, vlan_id: 0 }
    }

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn flows_come_due_at_their_deadline_and_alive_ones_are_filed_again() {
        let mut wheel = TimerWheel::new(secs(300));
        wheel.schedule(key(1), secs(1000), secs(1010));
        wheel.schedule(key(2), secs(1000), secs(1300));
        let mut seen = Vec::new();
        wheel.advance(secs(1009), |k| {
            seen.push(k.lower_port);
            None
        });
        assert!(seen.is_empty(), "nothing due before 1010");
        wheel.advance(secs(1011), |k| {
            seen.push(k.lower_port);
            // Still alive: its deadline moved to 1020.
            Some(secs(1020))
        });
        assert_eq!(seen, [1]);
        wheel.advance(secs(1021), |k| {
            seen.push(k.lower_port);
            None
        });
        assert_eq!(seen, [1, 1]);
        wheel.advance(secs(5000), |k| {
            seen.push(k.lower_port);
            None
        });
        assert_eq!(seen, [1, 1, 2], "a long gap still visits every slot once");
    }

    #[test]
    fn deadlines_beyond_the_wheel_are_looked_at_again_later() {
        let mut wheel = TimerWheel::new(secs(10));
        wheel.schedule(key(1), secs(0), secs(100));
        let mut checks = 0;
        wheel.advance(secs(101), |_| {
            checks += 1;
            None
        });
        assert_eq!(checks, 1);
    }
}
