//! The connection clock: which phase a connection is in — idle between
//! requests, reading a request's head, busy with a request — since when, and
//! the watchdog that ends a connection that stays in a phase too long.
//!
//! hyper's own `header_read_timeout` starts when a connection goes idle, so it
//! bounds idle keep-alive and head reading with one figure; the contract wants
//! two (a till keeps its connection for a minute, a slowloris gets seconds),
//! hence this clock. The body has its own deadline in `crate::http`, which can
//! still answer 408.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::time::Instant;

/// How long a connection may spend in each phase.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Timeouts {
    /// From a request's first byte to its last header line.
    pub header: Duration,
    /// From the head to the last byte of the body (answered with 408).
    pub body: Duration,
    /// A keep-alive connection with no request under way.
    pub idle: Duration,
}

impl Default for Timeouts {
    fn default() -> Timeouts {
        Timeouts { header: Duration::from_secs(10), body: Duration::from_secs(30), idle: Duration::from_secs(60) }
    }
}

/// A connection's phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Accepted, or its last answer is out; nothing of a next request yet.
    Idle,
    /// Bytes of a request (or of a TLS handshake) arrived; no full head yet.
    Head,
    /// The head is read; the API is handling the request.
    Busy,
}

impl Phase {
    fn tag(self) -> u64 {
        match self {
            Phase::Idle => 0,
            Phase::Head => 1,
            Phase::Busy => 2,
        }
    }

    fn from_tag(tag: u64) -> Phase {
        match tag {
            0 => Phase::Idle,
            1 => Phase::Head,
            _ => Phase::Busy,
        }
    }

    /// For log lines: which timeout ended the connection.
    pub fn timeout_name(self) -> &'static str {
        match self {
            Phase::Idle => "idle keep-alive",
            Phase::Head => "header read",
            Phase::Busy => "none",
        }
    }
}

/// One connection's phase and the time it entered it, in one atomic word
/// (milliseconds since the clock's start, shifted, plus a 2-bit phase tag),
/// so a reader never sees a phase with another phase's start.
pub struct ConnClock {
    start: Instant,
    word: AtomicU64,
}

impl ConnClock {
    /// A clock for a connection accepted now: idle.
    pub fn new() -> ConnClock {
        ConnClock { start: Instant::now(), word: AtomicU64::new(Phase::Idle.tag()) }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX >> 2)
    }

    fn set(&self, phase: Phase) {
        self.word.store(self.now_ms() << 2 | phase.tag(), Ordering::Release);
    }

    /// The phase and when it began.
    pub fn phase(&self) -> (Phase, Instant) {
        let w = self.word.load(Ordering::Acquire);
        (Phase::from_tag(w & 3), self.start + Duration::from_millis(w >> 2))
    }

    /// Bytes arrived: an idle connection starts reading a head.
    pub fn bytes_read(&self) {
        let w = self.word.load(Ordering::Acquire);
        if Phase::from_tag(w & 3) == Phase::Idle {
            // Lost races are fine: whoever won set Head or Busy.
            let _ = self.word.compare_exchange(
                w,
                self.now_ms() << 2 | Phase::Head.tag(),
                Ordering::AcqRel,
                Ordering::Relaxed,
            );
        }
    }

    /// The head is parsed and the request handed to the API.
    pub fn request_started(&self) {
        self.set(Phase::Busy);
    }

    /// The API has answered: the connection is idle again.
    pub fn request_finished(&self) {
        self.set(Phase::Idle);
    }

    /// When the current phase runs out; `None` while busy.
    pub fn deadline(&self, t: &Timeouts) -> (Phase, Option<Instant>) {
        let (phase, since) = self.phase();
        let limit = match phase {
            Phase::Idle => Some(t.idle),
            Phase::Head => Some(t.header),
            Phase::Busy => None,
        };
        (phase, limit.map(|l| since + l))
    }
}

impl Default for ConnClock {
    fn default() -> ConnClock {
        ConnClock::new()
    }
}

/// Resolves with the phase whose timeout ran out. Wakes at least every
/// `min(header, idle)`: a phase that begins after a check cannot end before
/// the next one, so no deadline is overslept and no waker is needed.
pub async fn watchdog(clock: &ConnClock, t: &Timeouts) -> Phase {
    let step = t.header.min(t.idle);
    loop {
        let now = Instant::now();
        match clock.deadline(t) {
            (phase, Some(d)) if d <= now => return phase,
            (_, Some(d)) => tokio::time::sleep_until(d.min(now + step)).await,
            (_, None) => tokio::time::sleep_until(now + step).await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn short() -> Timeouts {
        Timeouts { header: Duration::from_millis(200), body: Duration::from_secs(1), idle: Duration::from_millis(500) }
    }

    #[test]
    fn phases_follow_the_connection() {
        let c = ConnClock::new();
        assert_eq!(c.phase().0, Phase::Idle);
        c.bytes_read();
        assert_eq!(c.phase().0, Phase::Head);
        c.request_started();
        c.bytes_read(); // body bytes do not make a busy connection read a head
        assert_eq!(c.phase().0, Phase::Busy);
        assert_eq!(c.deadline(&short()).1, None);
        c.request_finished();
        assert_eq!(c.phase().0, Phase::Idle);
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_connection_ends_after_the_idle_timeout() {
        let c = ConnClock::new();
        let t0 = Instant::now();
        assert_eq!(watchdog(&c, &short()).await, Phase::Idle);
        let took = t0.elapsed();
        assert!(took >= Duration::from_millis(500) && took < Duration::from_millis(510), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_head_begun_after_a_check_still_ends_on_time() {
        let c = std::sync::Arc::new(ConnClock::new());
        let c2 = c.clone();
        let t0 = Instant::now();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(150)).await;
            c2.bytes_read();
        });
        assert_eq!(watchdog(&c, &short()).await, Phase::Head);
        let took = t0.elapsed();
        assert!(took >= Duration::from_millis(350) && took < Duration::from_millis(360), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_busy_connection_is_left_alone_then_idles_out() {
        let c = std::sync::Arc::new(ConnClock::new());
        c.request_started();
        let c2 = c.clone();
        let t0 = Instant::now();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(5)).await;
            c2.request_finished();
        });
        assert_eq!(watchdog(&c, &short()).await, Phase::Idle);
        let took = t0.elapsed();
        assert!(took >= Duration::from_millis(5500) && took < Duration::from_millis(5510), "{took:?}");
    }
}
