//! A token bucket: the per-socket message rate limit.

use std::time::Instant;

/// Allows bursts of up to `capacity` messages, refilled at `per_second`.
#[derive(Debug)]
pub struct TokenBucket {
    capacity: f64,
    per_second: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(capacity: u32, per_second: u32, now: Instant) -> TokenBucket {
        TokenBucket {
            capacity: f64::from(capacity),
            per_second: f64::from(per_second),
            tokens: f64::from(capacity),
            last: now,
        }
    }

    /// Allows bursts of up to `capacity`, refilled at `per_minute`.
    pub fn per_minute(capacity: u32, per_minute: u32, now: Instant) -> TokenBucket {
        TokenBucket {
            per_second: f64::from(per_minute) / 60.0,
            ..TokenBucket::new(capacity, 0, now)
        }
    }

    /// True when a take at `now` would find the bucket full.
    pub fn is_full(&self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens + elapsed * self.per_second >= self.capacity
    }

    /// Takes one token if there is one.
    pub fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.capacity);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn burst_then_refill() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(3, 2, start);
        assert!((0..3).all(|_| bucket.try_take(start)));
        assert!(!bucket.try_take(start));
        // Half a second at 2 per second refills one token.
        assert!(bucket.try_take(start + Duration::from_millis(500)));
        assert!(!bucket.try_take(start + Duration::from_millis(500)));
        // A long pause refills to the capacity, not beyond.
        let later = start + Duration::from_secs(60);
        assert_eq!((0..10).filter(|_| bucket.try_take(later)).count(), 3);
    }
}
