//! A fresh database for every test, on the backend the run asks for.

use sqlx::Connection;
use sqlx::postgres::PgConnection;
use tokio::sync::OnceCell;

/// Where a test's database lives; keeps a SQLite file's folder alive as long as the test.
#[derive(Debug)]
pub struct TestDb {
    pub url: String,
    _dir: Option<tempfile::TempDir>,
}

/// `postgres` when `TEST_DATABASE_URL` points at PostgreSQL, otherwise `sqlite`.
pub fn backend() -> &'static str {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => "postgres",
        _ => "sqlite",
    }
}

pub async fn fresh() -> TestDb {
    match std::env::var("TEST_DATABASE_URL") {
        Ok(base) if base.starts_with("postgres") => fresh_postgres(&base).await,
        _ => {
            let dir = tempfile::tempdir().expect("temp dir");
            let url = format!("sqlite://{}", dir.path().join("guanxi.db").display());
            TestDb { url, _dir: Some(dir) }
        }
    }
}

static LEFTOVERS_DROPPED: OnceCell<()> = OnceCell::const_new();

/// Create `guanxi_test_<pid>_<created>_<random>` next to the given database. Databases left
/// by earlier runs (other pids, created more than six hours ago) are dropped once per process.
async fn fresh_postgres(base: &str) -> TestDb {
    let pid = std::process::id();
    LEFTOVERS_DROPPED
        .get_or_init(|| async {
            let mut conn = PgConnection::connect(base).await.expect("TEST_DATABASE_URL must reach PostgreSQL");
            let names: Vec<String> =
                sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE 'guanxi\\_test\\_%'")
                    .fetch_all(&mut conn)
                    .await
                    .expect("listing test databases");
            // Only databases of runs that are surely over: another test run may be going on
            // at the same time (names carry their creation time in seconds).
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
            let stale = |name: &str| {
                let created = name.split('_').nth(3).and_then(|t| t.parse::<u64>().ok());
                created.is_none_or(|t| t + 6 * 3600 < now)
            };
            for name in names.into_iter().filter(|n| !n.starts_with(&format!("guanxi_test_{pid}_")) && stale(n)) {
                let _ = sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")))
                    .execute(&mut conn)
                    .await;
            }
        })
        .await;
    let created = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let name = format!("guanxi_test_{pid}_{created}_{:016x}", rand::random::<u64>());
    let mut conn = PgConnection::connect(base).await.expect("TEST_DATABASE_URL must reach PostgreSQL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
        .execute(&mut conn)
        .await
        .expect("creating a test database");
    let mut url = url::Url::parse(base).expect("TEST_DATABASE_URL is a URL");
    url.set_path(&name);
    TestDb { url: url.to_string(), _dir: None }
}
