//! Exponential backoff with jitter: the delay before attempt `n + 1` after
//! `n` failures. Jitter ("equal jitter": half fixed, half random) spreads
//! retries of many writes, or of many nodes, that failed together: the
//! write-behind flusher's retries, and every node's reconnects to L2 after
//! Redis comes back.

use std::time::Duration;

/// The delay after `failures` failures (1 = the first retry), between
/// `base`·2^(failures-1)/2 and `base`·2^(failures-1), capped at `max`.
pub fn delay(base_ms: u64, max_ms: u64, failures: u32) -> Duration {
    let exponent = failures.saturating_sub(1).min(32);
    let full = base_ms.saturating_mul(1u64 << exponent).min(max_ms).max(1);
    let half = full / 2;
    let jitter = if full > half {
        random_below(full - half + 1)
    } else {
        0
    };
    Duration::from_millis(half + jitter)
}

fn random_below(n: u64) -> u64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return n / 2;
    }
    u64::from_le_bytes(bytes) % n.max(1)
}

#[cfg(test)]
mod tests {
    use super::delay;

    #[test]
    fn doubles_within_jitter_and_caps() {
        for failures in 1..=6u32 {
            let full = 100u64 << (failures - 1);
            for _ in 0..50 {
                let ms = delay(100, 10_000, failures).as_millis() as u64;
                assert!(ms >= full / 2 && ms <= full, "{failures}: {ms}");
            }
        }
        for _ in 0..50 {
            let ms = delay(100, 1_000, 30).as_millis() as u64;
            assert!((500..=1_000).contains(&ms), "{ms}");
        }
    }
}
