//! Pure types and rules: no I/O, no `async`, no clock.
//!
//! Everything here is a function of state, policy and a `now` (or `today`) passed in, so the
//! procedures' rules can be tested for any date and the scheduler can be replayed.

pub mod access;
pub mod agenda;
pub mod birthday;
pub mod cadence;
pub mod calendar;
pub mod complaint;
pub mod customer;
pub mod escalation;
pub mod ids;
pub mod invite;
pub mod page;
pub mod prc_calendar;
pub mod quiet;
pub mod report;
pub mod staff;
pub mod tasks;
