//! A bounded key → value cache with expiry, evicted by the CLOCK algorithm: the store behind the
//! DNS hint cache ([`super::dns_hints`]) and the call hint cache ([`super::call_hints`]).
//!
//! At most `capacity` entries in a slot array with a hash index; when it is full, the hand
//! takes the first slot that has expired or was not referenced since the hand last passed,
//! clearing reference bits as it goes (an entry in use gets a second chance). Insert and lookup
//! are O(1) amortised; nothing is allocated once the slots are full (the index is sized for
//! `capacity` up to 65,536 entries at creation).
//!
//! Which accesses reference an entry is the caller's choice: the DNS hint cache references the
//! names flows look up; the call hint cache only what its learning touches, so its contents
//! depend on the frames it learned from alone, never on which flows a worker owns (parallel
//! replay's workers all learn the same frames, docs/ARCHITECTURE.md "Decisions and why").

use std::hash::Hash;
use std::time::Duration;

use hashbrown::HashMap;

#[derive(Debug)]
struct Slot<K, V> {
    key: K,
    value: V,
    expires: Duration,
    referenced: bool,
}

/// See the module documentation.
#[derive(Debug)]
pub struct ClockCache<K, V> {
    index: HashMap<K, usize, foldhash::fast::RandomState>,
    slots: Vec<Slot<K, V>>,
    capacity: usize,
    hand: usize,
}

impl<K: Copy + Eq + Hash, V> ClockCache<K, V> {
    /// A cache holding at most `capacity` entries (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        ClockCache {
            index: HashMap::with_capacity_and_hasher(capacity.min(65_536), foldhash::fast::RandomState::default()),
            slots: Vec::new(),
            capacity,
            hand: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Bytes the cache takes when full: its slots and its index (hashbrown keeps at most 7/8 of
    /// its power-of-two buckets full; a bucket is the entry and a control byte).
    pub fn bytes_when_full(&self) -> usize {
        let buckets = (self.capacity * 8 / 7).next_power_of_two();
        self.capacity * std::mem::size_of::<Slot<K, V>>() + buckets * (std::mem::size_of::<(K, usize)>() + 1)
    }

    /// Store `value` under `key` until `expires`. A key already held gets the new value and
    /// expiry and counts as referenced.
    pub fn insert(&mut self, key: K, value: V, expires: Duration, now: Duration) {
        if let Some(slot) = self.index.get(&key).and_then(|&i| self.slots.get_mut(i)) {
            slot.value = value;
            slot.expires = expires;
            slot.referenced = true;
            return;
        }
        let slot = Slot { key, value, expires, referenced: false };
        if self.slots.len() < self.capacity {
            self.index.insert(key, self.slots.len());
            self.slots.push(slot);
            return;
        }
        let victim = self.victim(now);
        if let Some(old) = self.slots.get_mut(victim) {
            self.index.remove(&old.key);
            *old = slot;
            self.index.insert(key, victim);
        }
    }

    /// The unexpired value under `key`; `reference` marks the entry as in use.
    pub fn get(&mut self, key: &K, now: Duration, reference: bool) -> Option<&V> {
        let &i = self.index.get(key)?;
        let slot = self.slots.get_mut(i)?;
        if slot.expires <= now {
            return None;
        }
        slot.referenced |= reference;
        Some(&slot.value)
    }

    /// Keep an unexpired entry until `expires` (if that is later) and mark it referenced; its
    /// value, if it was there.
    pub fn refresh(&mut self, key: &K, expires: Duration, now: Duration) -> Option<&V> {
        let &i = self.index.get(key)?;
        let slot = self.slots.get_mut(i)?;
        if slot.expires <= now {
            return None;
        }
        slot.expires = slot.expires.max(expires);
        slot.referenced = true;
        Some(&slot.value)
    }

    /// Slot to reuse: the first expired or unreferenced one from the hand, clearing reference
    /// bits as it passes (terminates within two turns).
    fn victim(&mut self, now: Duration) -> usize {
        let n = self.slots.len();
        for _ in 0..2 * n {
            let i = self.hand;
            self.hand = (self.hand + 1) % n;
            if let Some(slot) = self.slots.get_mut(i) {
                if slot.expires <= now || !slot.referenced {
                    return i;
                }
                slot.referenced = false;
            }
        }
        self.hand
    }

    #[cfg(test)]
    pub(crate) fn index_len(&self) -> usize {
        self.index.len()
    }
}
