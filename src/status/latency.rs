//! How long a match takes to reach the kernel: from the capture time of the packet that made
//! the flow match to the acknowledgement of the flush that sent its operations (an nftables
//! batch is acknowledged after its commit, so the element is in the set by then).
//!
//! A fixed-size log-linear histogram in microseconds: exact below 1 ms, then 64 steps per
//! power of two (under 1.6 % error), up to about 12 days. Recording never allocates.

use serde::{Deserialize, Serialize};

/// Values below this are counted exactly (µs).
const EXACT: u64 = 1024;
/// Steps per power of two above `EXACT`.
const SUB_BITS: u32 = 6;
const POWERS: usize = 30;
const BUCKETS: usize = EXACT as usize + (POWERS << SUB_BITS);

/// Counts of latencies in microseconds.
#[derive(Clone)]
pub struct LatencyHistogram {
    counts: Box<[u64]>,
    total: u64,
    max_us: u64,
    sum_us: u64,
}

impl std::fmt::Debug for LatencyHistogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "LatencyHistogram({:?})", self.summary())
    }
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        LatencyHistogram { counts: vec![0; BUCKETS].into_boxed_slice(), total: 0, max_us: 0, sum_us: 0 }
    }
}

/// What `flowsieve status` shows: count and quantiles in microseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencySummary {
    pub count: u64,
    pub p50_us: u64,
    pub p90_us: u64,
    pub p99_us: u64,
    pub max_us: u64,
}

/// Cumulative counts at fixed bounds, the shape of a Prometheus histogram
/// (`flowsieve_match_to_kernel_seconds`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencyBuckets {
    /// Upper bounds in microseconds, ascending (the `+Inf` bucket is `count`).
    pub bounds_us: Vec<u64>,
    /// Values at or below each bound. Above 1 ms a value is placed by the lower end of its
    /// histogram step, so one up to 1.6 % above a bound may be counted under it.
    pub cumulative: Vec<u64>,
    pub count: u64,
    pub sum_us: u64,
}

/// The bounds `flowsieve status` and the metrics endpoint publish, in microseconds: 100 µs to
/// 10 s, about three per decade.
pub const PUBLISHED_BOUNDS_US: &[u64] = &[
    100, 250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1_000_000, 2_500_000,
    10_000_000,
];

fn bucket(us: u64) -> usize {
    if us < EXACT {
        return us as usize;
    }
    let power = 63 - us.leading_zeros(); // ≥ 10
    let sub = (us >> (power - SUB_BITS)) & ((1 << SUB_BITS) - 1);
    let index = EXACT as usize + (((power - 10) as usize) << SUB_BITS) + sub as usize;
    index.min(BUCKETS - 1)
}

/// The smallest value that falls in bucket `index`.
fn lower_bound(index: usize) -> u64 {
    if index < EXACT as usize {
        return index as u64;
    }
    let rel = index - EXACT as usize;
    let power = (rel >> SUB_BITS) as u32 + 10;
    let sub = (rel & ((1 << SUB_BITS) - 1)) as u64;
    (1 << power) + (sub << (power - SUB_BITS))
}

impl LatencyHistogram {
    pub fn record_us(&mut self, us: u64) {
        self.counts[bucket(us)] += 1;
        self.total += 1;
        self.max_us = self.max_us.max(us);
        self.sum_us = self.sum_us.saturating_add(us);
    }

    pub fn count(&self) -> u64 {
        self.total
    }

    /// The value at quantile `q` (0..=1): the lower bound of the bucket holding it, so at most
    /// 1.6 % low above 1 ms and exact below.
    pub fn quantile_us(&self, q: f64) -> u64 {
        if self.total == 0 {
            return 0;
        }
        let rank = ((q * self.total as f64).ceil() as u64).clamp(1, self.total);
        let mut seen = 0;
        for (index, &n) in self.counts.iter().enumerate() {
            seen += n;
            if seen >= rank {
                return lower_bound(index).min(self.max_us);
            }
        }
        self.max_us
    }

    /// Cumulative counts at `bounds_us` (ascending), with the count and the sum.
    pub fn buckets(&self, bounds_us: &[u64]) -> LatencyBuckets {
        let mut cumulative = Vec::with_capacity(bounds_us.len());
        let mut seen = 0;
        let mut index = 0;
        for &bound in bounds_us {
            while index < BUCKETS && lower_bound(index) <= bound {
                seen += self.counts[index];
                index += 1;
            }
            cumulative.push(seen);
        }
        LatencyBuckets { bounds_us: bounds_us.to_vec(), cumulative, count: self.total, sum_us: self.sum_us }
    }

    pub fn summary(&self) -> LatencySummary {
        LatencySummary {
            count: self.total,
            p50_us: self.quantile_us(0.5),
            p90_us: self.quantile_us(0.9),
            p99_us: self.quantile_us(0.99),
            max_us: self.max_us,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_exact_below_a_millisecond_and_close_above() {
        for us in [0, 1, 999, 1023] {
            assert_eq!(lower_bound(bucket(us)), us);
        }
        for us in [1024u64, 1500, 4096, 65_537, 1_000_000, 123_456_789] {
            let low = lower_bound(bucket(us));
            assert!(low <= us && us - low <= us / 64, "{us} -> {low}");
        }
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn quantiles_of_a_known_spread() {
        let mut h = LatencyHistogram::default();
        for us in 1..=1000 {
            h.record_us(us);
        }
        h.record_us(50_000);
        let s = h.summary();
        assert_eq!(s.count, 1001);
        assert_eq!(s.p50_us, 501);
        assert_eq!(s.p99_us, 991);
        assert_eq!(s.max_us, 50_000);
        assert_eq!(LatencyHistogram::default().summary(), LatencySummary::default());
    }

    #[test]
    fn cumulative_buckets_count_values_at_or_below_each_bound() {
        let mut h = LatencyHistogram::default();
        for us in [50, 100, 101, 999, 5_000, 20_000_000] {
            h.record_us(us);
        }
        let b = h.buckets(&[100, 1_000, 10_000]);
        assert_eq!(b.cumulative, [2, 4, 5]);
        assert_eq!((b.count, b.sum_us), (6, 20_006_250));
        assert_eq!(
            LatencyHistogram::default().buckets(PUBLISHED_BOUNDS_US).cumulative,
            vec![0; PUBLISHED_BOUNDS_US.len()]
        );
    }
}
