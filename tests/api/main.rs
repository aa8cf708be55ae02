//! The one integration test binary: the real app against a fake Telegram Bot API over HTTP,
//! an SMTP sink over SMTP, and a fresh database per test — SQLite by default, PostgreSQL when
//! `TEST_DATABASE_URL=postgres://…` is set.

mod access;
mod archive;
mod bot;
mod cadence;
mod calendar;
mod cli;
mod complaints;
mod fakes;
mod faults;
mod first_reply;
mod fuzz;
mod group_commit;
mod harness;
mod health;
mod helpers;
mod instances;
mod intake;
mod outbox;
mod shutdown;
mod templates;
mod upgrade;
mod webhook;
