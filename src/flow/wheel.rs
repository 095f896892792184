//! A timer wheel for idle expiry: O(expiring flows) per tick instead of a scan of the table.
//!
//! One slot per second of packet time, enough slots for the longest timeout. A flow is filed
//! (by its slot in the flow table) under the second its idle deadline falls in; packets do not
//! touch the wheel (that would be per-packet work). When a second comes due, the table checks
//! each flow filed under it against its current deadline: gone or past it, it expires;
//! otherwise it is filed again under its new deadline. So a busy flow costs one re-filing per
//! timeout period, not one per packet.
//!
//! Every entry is filed under a second within one turn of the cursor, so a slot stands for
//! exactly one second. An occupancy bitmap lets the walk jump over empty seconds; after a gap
//! longer than a turn every entry is taken out and judged at once, so expiry depends only on
//! packet times, never on how the walk was split.

use std::time::Duration;

pub struct TimerWheel {
    slots: Vec<Vec<u32>>,
    /// Bit n set: slot n holds entries.
    occupied: Vec<u64>,
    /// The next second to process.
    cursor: u64,
    started: bool,
    /// The slot being handed out, the second it stood for and how far it has been read.
    due: Vec<u32>,
    due_second: u64,
    due_read: usize,
    /// Every entry, with the second it was filed under, after a gap longer than one turn.
    gap: Vec<(u32, u64)>,
    gap_read: usize,
}

impl TimerWheel {
    /// A wheel for timeouts up to `longest`.
    pub fn new(longest: Duration) -> TimerWheel {
        // At least 64 slots: the bitmap is scanned a word at a time.
        let slots = (longest.as_secs() + 2).next_power_of_two().max(64) as usize;
        TimerWheel {
            slots: (0..slots).map(|_| Vec::new()).collect(),
            occupied: vec![0; slots / 64],
            cursor: 0,
            started: false,
            due: Vec::new(),
            due_second: 0,
            due_read: 0,
            gap: Vec::new(),
            gap_read: 0,
        }
    }

    fn slot_of(&self, second: u64) -> usize {
        (second as usize) & (self.slots.len() - 1)
    }

    /// File flow `id` to be looked at when `deadline` has passed; returns the second it is
    /// filed under (an entry handed out later with another second is stale). `now` starts the
    /// wheel's clock on first use.
    pub fn schedule(&mut self, id: u32, now: Duration, deadline: Duration) -> u64 {
        if !self.started {
            self.cursor = now.as_secs();
            self.started = true;
        }
        self.file(id, deadline)
    }

    fn file(&mut self, id: u32, deadline: Duration) -> u64 {
        // Never file into the past, nor further than the wheel reaches (a longer deadline is
        // simply looked at again one turn later).
        let horizon = self.cursor + self.slots.len() as u64 - 1;
        let second = deadline.as_secs().saturating_add(1).clamp(self.cursor, horizon);
        let slot = self.slot_of(second);
        self.slots[slot].push(id);
        self.occupied[slot / 64] |= 1 << (slot % 64);
        second
    }

    /// The next entry due by `now`: a flow id and the second it was filed under. The caller
    /// checks the flow and, if it is still alive, files it again with [`Self::schedule`].
    pub fn next_due(&mut self, now: Duration) -> Option<(u32, u64)> {
        loop {
            if let Some(&id) = self.due.get(self.due_read) {
                self.due_read += 1;
                return Some((id, self.due_second));
            }
            if let Some(&entry) = self.gap.get(self.gap_read) {
                self.gap_read += 1;
                return Some(entry);
            }
            self.due.clear();
            self.due_read = 0;
            self.gap.clear();
            self.gap_read = 0;
            let target = now.as_secs();
            if !self.started || self.cursor > target {
                return None;
            }
            let turn = self.slots.len() as u64;
            if target - self.cursor >= turn {
                // A gap longer than one turn: take every entry out, in the order of the
                // seconds they were filed under, and move the clock past `now` before any is
                // filed again (relative to the new cursor).
                let mut from = self.cursor;
                while let Some(second) = self.next_occupied(from, self.cursor + turn - 1) {
                    let slot = self.slot_of(second);
                    self.gap.extend(self.slots[slot].drain(..).map(|id| (id, second)));
                    self.occupied[slot / 64] &= !(1 << (slot % 64));
                    from = second + 1;
                }
                self.cursor = target + 1;
                continue;
            }
            let Some(second) = self.next_occupied(self.cursor, target) else {
                self.cursor = target + 1;
                return None;
            };
            let slot = self.slot_of(second);
            std::mem::swap(&mut self.due, &mut self.slots[slot]);
            self.occupied[slot / 64] &= !(1 << (slot % 64));
            self.due_second = second;
            self.cursor = second + 1;
        }
    }

    /// The first second in `from..=to` whose slot holds entries (`to - from` < one turn).
    fn next_occupied(&self, from: u64, to: u64) -> Option<u64> {
        let mut second = from;
        while second <= to {
            let slot = self.slot_of(second);
            let bit = slot % 64;
            let word = self.occupied[slot / 64] >> bit;
            if word != 0 {
                let found = second + u64::from(word.trailing_zeros());
                return (found <= to).then_some(found);
            }
            second += 64 - bit as u64;
        }
        None
    }

    /// Bytes held by the wheel's entry vectors.
    pub fn bytes(&self) -> usize {
        let entries: usize = self.slots.iter().map(Vec::capacity).sum::<usize>() + self.due.capacity();
        entries * std::mem::size_of::<u32>() + self.gap.capacity() * std::mem::size_of::<(u32, u64)>()
    }

    /// Forget everything (the table was drained).
    pub fn clear(&mut self) {
        for slot in &mut self.slots {
            slot.clear();
        }
        self.occupied.fill(0);
        self.due.clear();
        self.due_read = 0;
        self.gap.clear();
        self.gap_read = 0;
        self.started = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    /// Hand out everything due by `now`; `deadline` says, per id, `None` (expired: drop it) or
    /// the deadline to file it again under. Returns the ids seen, in order.
    fn advance(wheel: &mut TimerWheel, now: Duration, mut deadline: impl FnMut(u32) -> Option<Duration>) -> Vec<u32> {
        let mut seen = Vec::new();
        while let Some((id, _)) = wheel.next_due(now) {
            seen.push(id);
            if let Some(d) = deadline(id) {
                wheel.schedule(id, now, d);
            }
        }
        seen
    }

    #[test]
    fn flows_come_due_at_their_deadline_and_alive_ones_are_filed_again() {
        let mut wheel = TimerWheel::new(secs(300));
        assert_eq!(wheel.schedule(1, secs(1000), secs(1010)), 1011);
        wheel.schedule(2, secs(1000), secs(1300));
        assert!(advance(&mut wheel, secs(1009), |_| None).is_empty(), "nothing due before 1010");
        // Still alive: its deadline moved to 1020.
        assert_eq!(advance(&mut wheel, secs(1011), |_| Some(secs(1020))), [1]);
        assert_eq!(advance(&mut wheel, secs(1020), |_| None), Vec::<u32>::new());
        assert_eq!(advance(&mut wheel, secs(1021), |_| None), [1]);
        assert_eq!(advance(&mut wheel, secs(5000), |_| None), [2], "a long gap hands out every entry once");
        assert_eq!(advance(&mut wheel, secs(9000), |_| None), Vec::<u32>::new());
    }

    #[test]
    fn deadlines_beyond_the_wheel_are_looked_at_again_later() {
        let mut wheel = TimerWheel::new(secs(10));
        // 64 slots: a deadline 100 s ahead is filed at the horizon, 63 s ahead.
        assert_eq!(wheel.schedule(1, secs(0), secs(100)), 63);
        assert_eq!(advance(&mut wheel, secs(63), |_| Some(secs(100))), [1]);
        assert_eq!(advance(&mut wheel, secs(100), |_| None), Vec::<u32>::new());
        assert_eq!(advance(&mut wheel, secs(101), |_| None), [1]);
    }

    #[test]
    fn after_a_gap_longer_than_a_turn_alive_flows_come_due_on_time() {
        let mut wheel = TimerWheel::new(secs(300)); // 512 slots
        wheel.schedule(1, secs(1000), secs(1100));
        wheel.schedule(2, secs(1000), secs(1200));
        // Packets stop for 4000 s; a flow seen just before now is still alive until 5030.
        let seen = advance(&mut wheel, secs(5000), |id| (id == 2).then_some(secs(5030)));
        assert_eq!(seen, [1, 2], "every entry once, in the order of its second");
        assert!(advance(&mut wheel, secs(5030), |_| None).is_empty(), "not before its deadline");
        assert_eq!(advance(&mut wheel, secs(5031), |_| None), [2], "not a turn late either");
    }

    #[test]
    fn the_walk_gives_the_same_answer_in_one_step_or_many() {
        let deadlines = [(1u32, 1003u64), (2, 1040), (3, 1290), (4, 1300), (5, 1700), (6, 2900)];
        let run = |steps: &[u64]| {
            let mut wheel = TimerWheel::new(secs(300));
            for &(id, d) in &deadlines {
                wheel.schedule(id, secs(1000), secs(d));
            }
            let mut expired = Vec::new();
            for &now in steps {
                let mut seen = advance(&mut wheel, secs(now), |id| {
                    let d = deadlines.iter().find(|e| e.0 == id).map_or(0, |e| e.1);
                    (now <= d).then_some(secs(d))
                });
                // Only the expired ones: the rest were filed again.
                seen.retain(|&id| deadlines.iter().any(|e| e.0 == id && now > e.1));
                expired.push(seen);
            }
            expired
        };
        let stepwise: Vec<u64> = (1000..=3000).collect();
        let expired_one_by_one: Vec<u32> = run(&stepwise).concat();
        assert_eq!(expired_one_by_one, [1, 2, 3, 4, 5, 6]);
        // A gap that jumps over several turns at once: same flows expire, and one that is not
        // yet due does not.
        let jumped = run(&[1000, 2899, 3000]);
        assert_eq!(jumped[1], [1, 2, 3, 4, 5]);
        assert_eq!(jumped[2], [6]);
    }
}
