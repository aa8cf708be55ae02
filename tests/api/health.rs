//! `GET /healthz` and `GET /metrics`.

use guanxi::domain::customer::Tier;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::app::team;
use crate::helpers::spawn_app;

/// A plain HTTP/1.1 GET; returns (status, body).
async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).await.unwrap();
    let status = raw.split_whitespace().nth(1).unwrap().parse().unwrap();
    let body = raw.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn health_follows_the_ticks_and_metrics_count_what_happened() {
    let app = spawn_app().await;
    let t = team(&app).await;
    app.add_customer("指标公司", Tier::A, &t.rep).await;
    let (_stop_handle, stop) = guanxi::shutdown::channel();
    let (addr, _task) = guanxi::http::serve(app.ctx.clone(), "127.0.0.1:0".parse().unwrap(), stop).await.unwrap();

    // Never ticked: unhealthy, and it says why.
    let (status, body) = get(addr, "/healthz").await;
    assert_eq!(status, 503);
    assert!(body.contains("\"last_tick_age_seconds\":null") && body.contains("\"database\":true"), "{body}");

    app.tick_at("2026-01-08 09:00").await;
    let (status, body) = get(addr, "/healthz").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\"outbox_backlog\":0"), "{body}");
    let (status, metrics) = get(addr, "/metrics").await;
    assert_eq!(status, 200);
    for line in [
        "guanxi_ticks_total 1",
        "guanxi_messages_sent_total 1",
        "guanxi_emails_sent_total 1",
        "guanxi_escalations_total 1",
        "guanxi_outbox_depth 0",
        "# TYPE guanxi_tick_duration_seconds gauge",
    ] {
        assert!(metrics.contains(line), "{line} missing from\n{metrics}");
    }
    // Ten minutes without a tick: the scheduler has stopped, and the check says so.
    app.clock.advance(chrono::Duration::minutes(10));
    assert_eq!(get(addr, "/healthz").await.0, 503);
}
