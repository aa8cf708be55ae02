//! `guanxi`: parses the command line and hands over to the library.

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let filter = EnvFilter::try_from_env("GUANXI_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // Logging starts before the settings are read, so its format is an environment variable only.
    match std::env::var("GUANXI_LOG_FORMAT").as_deref().map(str::trim) {
        Ok("json") => logs.json().flatten_event(true).init(),
        Ok("text" | "") | Err(_) => logs.init(),
        Ok(other) => {
            eprintln!("configuration error: GUANXI_LOG_FORMAT: '{other}' is neither text nor json");
            return ExitCode::from(2);
        }
    }
    let cli = match guanxi::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    guanxi::cli::main(cli).await
}
