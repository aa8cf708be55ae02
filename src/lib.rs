//! Guanxi turns a company's customer-relationship procedures into a Telegram bot and a
//! scheduler that never forgets.
//!
//! The binary (`src/main.rs`) only parses the command line; everything it does is reachable
//! from this library so that the integration tests build exactly the same [`startup::App`].

pub mod cli;
pub mod clock;
pub mod config;
pub mod domain;
pub mod email;
pub mod http;
pub mod jobs;
pub mod locale;
pub mod metrics;
pub mod notify;
pub mod render;
pub mod services;
pub mod shutdown;
pub mod startup;
pub mod storage;
pub mod telegram;
pub mod templates;
pub mod webhook;
