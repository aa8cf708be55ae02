//! The harness: `spawn_app()` and the fakes it talks to.

pub mod app;
pub mod clock;
pub mod db;
pub mod fake_telegram;
pub mod process;
pub mod smtp_sink;

pub use app::{TestApp, spawn_app, spawn_app_at};
pub use fake_telegram::TgUser;
