//! Upgrading a database keeps what it holds. On SQLite a migration that drops a constraint
//! rebuilds the table, so it must carry every row over and keep numbering after them.

use chrono::{TimeZone, Utc};
use guanxi::domain::ids::{CustomerId, StaffId};
use guanxi::storage::{Backend, Db, access};
use sqlx::Row;

use crate::helpers::db;

/// The version before the log tables lost their foreign keys.
const BEFORE_0007: i64 = 6;

type LogRow = (i64, i64, Option<i64>, String, String, i64);
type EscalationRow = (i64, String, i64, i64, String, String, Option<i64>, i64);

async fn access_log(store: &Db) -> Vec<LogRow> {
    sqlx::query("SELECT id, staff_id, customer_id, levels, command, at FROM access_log ORDER BY id")
        .fetch_all(store.pool())
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5)))
        .collect()
}

async fn escalations(store: &Db) -> Vec<EscalationRow> {
    sqlx::query(
        "SELECT id, item_key, level, customer_id, action, due_on, recipient_id, created_at
         FROM escalations ORDER BY id",
    )
    .fetch_all(store.pool())
    .await
    .unwrap()
    .iter()
    .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5), r.get(6), r.get(7)))
    .collect()
}

async fn scalar(store: &Db, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(store.pool()).await.unwrap()
}

/// Record the level-1 escalation of the customer's call due on 12 January, as the planner
/// does; `false` when it was recorded already.
async fn escalate_overdue_call(store: &Db, customer: i64, manager: i64, at: i64) -> bool {
    sqlx::query(
        "INSERT INTO escalations (item_key, level, customer_id, action, due_on, recipient_id, created_at)
         VALUES ($1, 1, $2, 'call', '2026-01-12', $3, $4) ON CONFLICT (item_key, level) DO NOTHING",
    )
    .bind(format!("call:{customer}:2026-01-12"))
    .bind(customer)
    .bind(manager)
    .bind(at)
    .execute(store.pool())
    .await
    .unwrap()
    .rows_affected()
        == 1
}

#[tokio::test]
async fn the_log_tables_keep_their_rows_and_numbering_when_they_lose_their_foreign_keys() {
    let test_db = db::fresh().await;
    let store = Db::connect(&test_db.url).await.unwrap();
    let migrator = match store.backend() {
        Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
        Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
    };
    migrator.run_to(BEFORE_0007, store.pool()).await.unwrap();

    let rep = scalar(
        &store,
        "INSERT INTO staff (telegram_id, name, role, created_at) VALUES (9001, '李销售', 'rep', 0) RETURNING id",
    )
    .await;
    let manager = scalar(
        &store,
        "INSERT INTO staff (telegram_id, name, role, created_at) VALUES (9002, '钱经理', 'manager', 0) RETURNING id",
    )
    .await;
    let customer: i64 = sqlx::query_scalar(
        "INSERT INTO customers (archive_no, name, tier, owner_id, created_on, next_call_due, next_visit_due,
             created_at, updated_at)
         VALUES ('KH-000001', '华东机械有限公司', 'A', $1, '2026-01-05', '2026-01-12', '2026-03-05', 0, 0)
         RETURNING id",
    )
    .bind(rep)
    .fetch_one(store.pool())
    .await
    .unwrap();
    for (staff, customer, command, at) in
        [(rep, Some(customer), "card", 10), (manager, None, "audit", 11), (manager, Some(customer), "digest", 12)]
    {
        sqlx::query(
            "INSERT INTO access_log (staff_id, customer_id, levels, command, at) VALUES ($1, $2, 'public', $3, $4)",
        )
        .bind(staff)
        .bind(customer)
        .bind(command)
        .bind(at as i64)
        .execute(store.pool())
        .await
        .unwrap();
    }
    assert!(escalate_overdue_call(&store, customer, manager, 13).await);
    let log_before = access_log(&store).await;
    let escalations_before = escalations(&store).await;
    assert_eq!((log_before.len(), escalations_before.len()), (3, 1));

    store.migrate().await.unwrap();

    assert_eq!(access_log(&store).await, log_before, "every access-log row carried over as it was");
    assert_eq!(escalations(&store).await, escalations_before, "every escalation carried over as it was");
    let now = Utc.with_ymd_and_hms(2026, 1, 13, 2, 0, 0).unwrap();
    let mut conn = store.pool().acquire().await.unwrap();
    access::log_reads(&mut conn, StaffId(rep), &[CustomerId(customer)], "public", "card", now).await.unwrap();
    drop(conn);
    let log_after = access_log(&store).await;
    assert_eq!(log_after.len(), 4);
    assert!(
        log_after[3].0 > log_before[2].0,
        "a read logged after the upgrade is numbered after the old ones: {log_after:?}"
    );
    assert!(!escalate_overdue_call(&store, customer, manager, 14).await, "an item escalates once per level, as before");
}
