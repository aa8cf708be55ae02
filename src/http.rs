//! `GET /healthz` and `GET /metrics` on a configurable address (`GUANXI_HTTP_ADDR`).
//!
//! The health check answers 200 when the database answers and the planner ticked within the
//! last five minutes (the scheduler's known failure is a tick that silently stops), otherwise
//! 503, with the facts as JSON either way.

use std::net::SocketAddr;

use anyhow::Context;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use chrono::DateTime;

use crate::services::Ctx;
use crate::shutdown::Shutdown;
use crate::storage::{app_state, outbox};

/// A tick older than this means the scheduler stopped.
const STALE_TICK_SECS: i64 = 300;

pub fn router(ctx: Ctx) -> Router {
    Router::new().route("/healthz", get(healthz)).route("/metrics", get(metrics)).with_state(ctx)
}

/// Serve until `stop`; returns the bound address (port 0 picks one).
pub async fn serve(
    ctx: Ctx,
    addr: SocketAddr,
    stop: Shutdown,
) -> anyhow::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener =
        tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding the health endpoint to {addr}"))?;
    let bound = listener.local_addr()?;
    let app = router(ctx);
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, app).with_graceful_shutdown(async move { stop.cancelled().await }).await;
        if let Err(error) = served {
            tracing::error!(%error, "the health endpoint stopped");
        }
    });
    tracing::info!(%bound, "health and metrics endpoint listening");
    Ok((bound, task))
}

struct Facts {
    database: bool,
    last_tick_age: Option<i64>,
    backlog: i64,
    dead: i64,
}

async fn facts(ctx: &Ctx) -> Facts {
    let Ok(mut conn) = ctx.db.pool().acquire().await else {
        return Facts { database: false, last_tick_age: None, backlog: 0, dead: 0 };
    };
    let backlog = outbox::backlog(&mut conn).await;
    let dead = outbox::list(&mut conn, Some("dead")).await.map(|rows| rows.len() as i64).unwrap_or(0);
    let last_tick = app_state::get(&mut conn, app_state::LAST_TICK).await.ok().flatten();
    let last_tick_age =
        last_tick.and_then(|t| DateTime::parse_from_rfc3339(&t).ok()).map(|t| (ctx.now() - t.to_utc()).num_seconds());
    Facts { database: backlog.is_ok(), last_tick_age, backlog: backlog.unwrap_or(0), dead }
}

async fn healthz(State(ctx): State<Ctx>) -> impl IntoResponse {
    let f = facts(&ctx).await;
    let ticking = f.last_tick_age.is_some_and(|age| age <= STALE_TICK_SECS);
    let status = if f.database && ticking { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = serde_json::json!({
        "database": f.database,
        "last_tick_age_seconds": f.last_tick_age,
        "outbox_backlog": f.backlog,
        "dead_letters": f.dead,
    });
    (status, Json(body))
}

async fn metrics(State(ctx): State<Ctx>) -> impl IntoResponse {
    let f = facts(&ctx).await;
    ([("content-type", "text/plain; version=0.0.4")], ctx.metrics.render(f.backlog, f.dead, f.last_tick_age))
}
