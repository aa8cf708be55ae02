//! Checks on the harness itself, so a misconfigured run cannot pass silently.

use crate::helpers::{db, spawn_app};

/// CI sets `GUANXI_REQUIRE_BACKEND=postgres` for its PostgreSQL pass: if the variable that
/// selects PostgreSQL were lost on the way, this fails instead of quietly testing SQLite twice.
#[tokio::test]
async fn the_database_backend_is_the_one_the_run_asked_for() {
    let app = spawn_app().await;
    let actual = match app.ctx.db.backend() {
        guanxi::storage::Backend::Sqlite => "sqlite",
        guanxi::storage::Backend::Postgres => "postgres",
    };
    assert_eq!(actual, db::backend());
    if let Ok(required) = std::env::var("GUANXI_REQUIRE_BACKEND") {
        assert_eq!(actual, required, "this run was asked to test {required}");
    }
    eprintln!("integration tests ran on {actual}");
}
