//! The scheduler's work: the planner decides what is owed at `now` and queues it; the worker
//! delivers the queue. Both can be called by hand with an explicit `now` (tests, `guanxi tick`).

pub mod pace;
pub mod planner;
pub mod scheduler;
pub mod worker;
