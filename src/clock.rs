//! Where "now" comes from.
//!
//! Domain rules take `now` as an argument; only the edges (bot handlers, the scheduler tick,
//! the worker loop) ask a [`Clock`]. Tests hand the app a clock they move by hand, so a
//! simulated quarter runs in milliseconds and never sleeps.

use std::fmt::Debug;

use chrono::{DateTime, Utc};

/// A source of the current instant.
pub trait Clock: Send + Sync + Debug {
    fn now(&self) -> DateTime<Utc>;
}

/// The wall clock, used in production.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock stopped at one instant: `guanxi tick --now …` runs the planner and worker as of
/// that moment (catch-up by hand, rehearsing a schedule).
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub DateTime<Utc>);

impl Clock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}
