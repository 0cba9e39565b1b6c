//! The HTTP endpoint: `/metrics` (Prometheus text format) and `/healthz`.
//! Served by hyper (HTTP/1.1), plain text, read-only.

use std::convert::Infallible;
use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

use crate::scheduler::job::JobState;
use crate::server::Daemon;

/// What `/metrics` reports, gathered in one place so the text rendering is
/// a pure function.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// (kind, health, count)
    pub devices: Vec<(String, String, u64)>,
    /// (state, count), every state present.
    pub jobs: Vec<(&'static str, u64)>,
    pub bytes_written: u64,
    pub bytes_read: u64,
    /// (state, count) of cartridges.
    pub media: Vec<(String, u64)>,
    pub alerts: u64,
}

/// Renders the Prometheus text exposition format (version 0.0.4).
pub fn render(s: &Snapshot) -> String {
    let mut o = String::new();
    let total: u64 = s.devices.iter().map(|d| d.2).sum();
    let _ = writeln!(o, "# HELP reel_devices Devices known to reeld.");
    let _ = writeln!(o, "# TYPE reel_devices gauge");
    let _ = writeln!(o, "reel_devices {total}");
    let _ = writeln!(
        o,
        "# HELP reel_devices_by_health Devices by kind and health."
    );
    let _ = writeln!(o, "# TYPE reel_devices_by_health gauge");
    for (k, h, n) in &s.devices {
        let _ = writeln!(
            o,
            "reel_devices_by_health{{kind=\"{k}\",health=\"{h}\"}} {n}"
        );
    }
    let _ = writeln!(o, "# HELP reel_jobs Jobs by state.");
    let _ = writeln!(o, "# TYPE reel_jobs gauge");
    for (st, n) in &s.jobs {
        let _ = writeln!(o, "reel_jobs{{state=\"{st}\"}} {n}");
    }
    let _ = writeln!(o, "# HELP reel_media Cartridges by state.");
    let _ = writeln!(o, "# TYPE reel_media gauge");
    for (st, n) in &s.media {
        let _ = writeln!(o, "reel_media{{state=\"{st}\"}} {n}");
    }
    let _ = writeln!(
        o,
        "# HELP reel_bytes_written_total Bytes written to devices by jobs."
    );
    let _ = writeln!(o, "# TYPE reel_bytes_written_total counter");
    let _ = writeln!(o, "reel_bytes_written_total {}", s.bytes_written);
    let _ = writeln!(
        o,
        "# HELP reel_bytes_read_total Bytes read from devices by jobs."
    );
    let _ = writeln!(o, "# TYPE reel_bytes_read_total counter");
    let _ = writeln!(o, "reel_bytes_read_total {}", s.bytes_read);
    let _ = writeln!(o, "# HELP reel_alerts Alerts raised since start.");
    let _ = writeln!(o, "# TYPE reel_alerts gauge");
    let _ = writeln!(o, "reel_alerts {}", s.alerts);
    o
}

fn counts(c: &rusqlite::Connection, sql: &str) -> rusqlite::Result<Vec<Vec<String>>> {
    let mut st = c.prepare(sql)?;
    let n = st.column_count();
    let rows = st.query_map([], |r| {
        (0..n)
            .map(|i| {
                r.get::<_, rusqlite::types::Value>(i).map(|v| match v {
                    rusqlite::types::Value::Integer(i) => i.to_string(),
                    rusqlite::types::Value::Text(t) => t,
                    _ => String::new(),
                })
            })
            .collect::<rusqlite::Result<Vec<String>>>()
    })?;
    rows.collect()
}

fn num(s: &str) -> u64 {
    s.parse().unwrap_or(0)
}

/// Gathers the numbers.
pub async fn snapshot(d: &Arc<Daemon>) -> Result<Snapshot, crate::server::DaemonError> {
    let (devices, jobs, media, job_alerts) = d
        .sched(|s| {
            let c = s.db().conn();
            let dev = counts(
                c,
                "SELECT kind, health, COUNT(*) FROM devices GROUP BY kind, health ORDER BY kind, health",
            )?;
            let jobs = counts(c, "SELECT state, COUNT(*) FROM jobs GROUP BY state")?;
            let media = counts(
                c,
                "SELECT state, COUNT(*) FROM media GROUP BY state ORDER BY state",
            )?;
            let alerts = crate::jobs::store::alerts(c)?.len() as u64;
            Ok::<_, crate::server::DaemonError>((dev, jobs, media, alerts))
        })
        .await
        .map_err(|e| crate::server::DaemonError::Internal(e.to_string()))?;
    let jobs = JobState::ALL
        .iter()
        .map(|st| {
            let n = jobs
                .iter()
                .find(|r| r.first().map(String::as_str) == Some(st.as_str()))
                .and_then(|r| r.get(1))
                .map_or(0, |v| num(v));
            (st.as_str(), n)
        })
        .collect();
    Ok(Snapshot {
        devices: devices
            .into_iter()
            .filter(|r| r.len() == 3)
            .map(|r| (r[0].clone(), r[1].clone(), num(&r[2])))
            .collect(),
        jobs,
        media: media
            .into_iter()
            .filter(|r| r.len() == 2)
            .map(|r| (r[0].clone(), num(&r[1])))
            .collect(),
        bytes_written: d.counters.bytes_written.load(Ordering::Relaxed),
        bytes_read: d.counters.bytes_read.load(Ordering::Relaxed),
        alerts: d.registry.alerts().len() as u64 + job_alerts,
    })
}

fn text(status: StatusCode, body: String, ctype: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = status;
    r.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(ctype),
    );
    r
}

async fn handle(
    d: Arc<Daemon>,
    req: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    const PLAIN: &str = "text/plain; charset=utf-8";
    if req.method() != hyper::Method::GET {
        return Ok(text(
            StatusCode::METHOD_NOT_ALLOWED,
            "GET only\n".into(),
            PLAIN,
        ));
    }
    Ok(match req.uri().path() {
        "/healthz" => match d.sched(|s| s.jobs().map(|j| j.len())).await {
            Ok(_) => text(StatusCode::OK, "ok\n".into(), PLAIN),
            Err(e) => text(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("catalog: {e}\n"),
                PLAIN,
            ),
        },
        "/metrics" => match snapshot(&d).await {
            Ok(s) => text(
                StatusCode::OK,
                render(&s),
                "text/plain; version=0.0.4; charset=utf-8",
            ),
            Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, format!("{e}\n"), PLAIN),
        },
        _ => text(
            StatusCode::NOT_FOUND,
            "not found: try /metrics or /healthz\n".into(),
            PLAIN,
        ),
    })
}

/// Serves HTTP on `listener` until the process ends.
pub async fn serve(d: Arc<Daemon>, listener: TcpListener) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(x) => x,
            Err(e) => {
                tracing::warn!("http accept: {e}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let d = d.clone();
        tokio::spawn(async move {
            let svc = hyper::service::service_fn(move |req| handle(d.clone(), req));
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await
            {
                tracing::debug!(%peer, "http connection: {e}");
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let s = Snapshot {
            devices: vec![
                ("changer".into(), "online".into(), 1),
                ("tape_drive".into(), "online".into(), 4),
            ],
            jobs: vec![("queued", 2), ("running", 1)],
            bytes_written: 1234,
            bytes_read: 5,
            media: vec![("scratch".into(), 20)],
            alerts: 0,
        };
        let t = render(&s);
        let want = [
            "reel_devices 5",
            "reel_devices_by_health{kind=\"tape_drive\",health=\"online\"} 4",
            "reel_jobs{state=\"queued\"} 2",
            "reel_jobs{state=\"running\"} 1",
            "reel_media{state=\"scratch\"} 20",
            "reel_bytes_written_total 1234",
            "# TYPE reel_bytes_written_total counter",
        ];
        for w in want {
            assert!(t.lines().any(|l| l == w), "missing {w:?} in\n{t}");
        }
    }
}
