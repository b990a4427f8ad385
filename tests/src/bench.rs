//! What the benchmarks share (`deploy/local/bench`): the report row every benchmark prints, an external load
//! generator (`wrk`), CPU time of a process read from outside, and the smoke switch CI uses.
//!
//! Every benchmark measures its own baseline in the same run and prints one line per comparison:
//! `BENCH<TAB>path<TAB>ours<TAB>baseline<TAB>unit<TAB>p50 ms<TAB>p99 ms<TAB>CPU s per million<TAB>note`.
//! `deploy/local/bench` collects those lines into one table.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use opsmantik_runtime::kafka::OutRecord;
use opsmantik_schemas::{encode, ProductEvent};

use crate::{free_port, wait_for, Binary, Service};

/// One comparison: our figure against the baseline measured in the same run.
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub path: String,
    pub ours: f64,
    pub baseline: Option<f64>,
    pub unit: &'static str,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    /// CPU seconds our process spent per million events, read from `/proc` (independent of what shares the cores).
    pub cpu_s_per_million: Option<f64>,
    pub note: String,
}

impl Row {
    /// Prints the row in the format `deploy/local/bench` collects.
    pub fn report(&self) {
        let opt =
            |v: Option<f64>, digits: usize| v.map_or("-".to_string(), |v| format!("{v:.digits$}"));
        println!(
            "BENCH\t{}\t{:.0}\t{}\t{}\t{}\t{}\t{}\t{}",
            self.path,
            self.ours,
            opt(self.baseline, 0),
            self.unit,
            opt(self.p50_ms, 2),
            opt(self.p99_ms, 2),
            opt(self.cpu_s_per_million, 1),
            self.note
        );
    }
}

/// `BENCH_SMOKE=1`: every benchmark runs a few seconds only, so CI keeps them working (no figures judged).
pub fn smoke() -> bool {
    std::env::var("BENCH_SMOKE").is_ok_and(|v| v == "1")
}

/// `full` in a real run, `quick` in smoke mode.
pub fn scale<T>(full: T, quick: T) -> T {
    if smoke() {
        quick
    } else {
        full
    }
}

/// A server process started for a benchmark and the address it answers on (`http://127.0.0.1:<port>`).
#[derive(Debug)]
pub struct Server {
    pub service: Service,
    pub base: String,
}

/// Starts `binary` on a free port (`EDGE_ADDR`) with `vars` and waits until it listens.
pub async fn start_server(
    binary: Binary,
    vars: &[(String, String)],
    tag: &str,
) -> anyhow::Result<Server> {
    let port = free_port();
    let mut vars = vars.to_vec();
    vars.push(("EDGE_ADDR".into(), format!("127.0.0.1:{port}")));
    let service = Service::start(binary, &vars, tag);
    wait_for("server listening", Duration::from_secs(30), || async move {
        std::net::TcpStream::connect(("127.0.0.1", port))
            .map(|_| ())
            .map_err(|e| e.to_string())
    })
    .await?;
    Ok(Server {
        service,
        base: format!("http://127.0.0.1:{port}"),
    })
}

/// The `p` quantile (0..=1) of `sorted` values (nearest rank); 0 for none.
pub fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// User + system CPU seconds process `pid` has used so far (`/proc/<pid>/stat`, clock ticks of 1/100 s).
pub fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let tick = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the command.
    (tick(11) + tick(12)) / 100.0
}

/// CPU a set of processes spends from [`start`](Self::start) on: one figure per pid, in the given order.
#[derive(Debug)]
pub struct CpuSplit(Vec<(u32, f64)>);

impl CpuSplit {
    pub fn start(pids: &[u32]) -> Self {
        Self(pids.iter().map(|&p| (p, cpu_seconds(p))).collect())
    }

    /// Microseconds of CPU per item each process spent since [`start`](Self::start).
    pub fn per_item_us(&self, items: usize) -> Vec<f64> {
        self.0
            .iter()
            .map(|&(p, before)| (cpu_seconds(p) - before) * 1e6 / items.max(1) as f64)
            .collect()
    }
}

/// The most memory process `pid` held so far (`VmHWM`, its peak resident set), in MiB; 0 if unreadable.
pub fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kib| kib / 1024.0)
}

/// `size` product events of batch `b` (ids `<prefix>-<b>-<i>`, 50 users), Avro-encoded for `topic`: what the
/// batch route would publish for them, ready to go straight to the broker.
pub fn product_event_records(topic: &str, prefix: &str, b: usize, size: usize) -> Vec<OutRecord> {
    (0..size)
        .map(|i| {
            let id = format!("{prefix}-{b}-{i}");
            let e = ProductEvent {
                event_id: id.clone(),
                site: "bench".into(),
                user_id: format!("u{}", i % 50),
                session_id: Some(format!("s{b}")),
                event_name: "page_view".into(),
                timestamp: 1_767_225_600_000,
                received_at: 1_767_225_600_000,
                metadata_json: r#"{"page":"/pricing","plan":"pro"}"#.into(),
                payload_json: None,
                priority: Some(1),
                idempotency_key: Some(id),
                dialect: "event_processor".into(),
            };
            OutRecord::new(
                topic.to_string(),
                format!("bench:{}", e.user_id).into_bytes(),
                encode(&e).unwrap_or_default(),
            )
        })
        .collect()
}

/// What a load run measured.
#[derive(Debug, Clone, Default)]
pub struct Load {
    pub requests: f64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// Answers other than 2xx/3xx plus socket errors.
    pub errors: u64,
}

/// Runs `wrk` (an external process: the load does not share the server's runtime) with `connections` in
/// flight for `duration` against `url`, each request made by the Lua `script`.
pub fn wrk(
    url: &str,
    connections: usize,
    duration: Duration,
    script: &Path,
) -> anyhow::Result<Load> {
    let out = Command::new("wrk")
        .args([
            "-t2",
            &format!("-c{connections}"),
            &format!("-d{}s", duration.as_secs().max(1)),
        ])
        .args(["--latency", "--timeout", "10s", "-s"])
        .arg(script)
        .arg(url)
        .output()
        .map_err(|e| anyhow::anyhow!("run wrk (deploy/local/bench installs it): {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    anyhow::ensure!(
        out.status.success(),
        "wrk failed: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    parse_wrk(&text).ok_or_else(|| anyhow::anyhow!("unreadable wrk report:\n{text}"))
}

fn parse_wrk(text: &str) -> Option<Load> {
    let mut load = Load::default();
    for line in text.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Requests/sec:", v] => load.per_second = v.parse().ok()?,
            ["50%", v] => load.p50_ms = millis(v)?,
            ["99%", v] => load.p99_ms = millis(v)?,
            [n, "requests", "in", ..] => load.requests = n.parse().ok()?,
            ["Non-2xx", "or", "3xx", "responses:", n] => load.errors += n.parse::<u64>().ok()?,
            ["Socket", "errors:", rest @ ..] => {
                load.errors += rest
                    .iter()
                    .filter_map(|w| w.trim_end_matches(',').parse::<u64>().ok())
                    .sum::<u64>()
            }
            _ => {}
        }
    }
    (load.per_second > 0.0).then_some(load)
}

fn millis(v: &str) -> Option<f64> {
    let (number, factor) = if let Some(n) = v.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = v.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1000.0)
    } else {
        return None;
    };
    number.parse::<f64>().ok().map(|n| n * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_wrk_report() {
        let report = "Running 2s test @ http://127.0.0.1:1/api/sync
  2 threads and 64 connections
  Latency Distribution
     50%    6.91ms
     75%    8.00ms
     90%    9.10ms
     99%    1.20s
  17932 requests in 2.00s, 2.91MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
  Non-2xx or 3xx responses: 4
Requests/sec:   8966.12
";
        let load = parse_wrk(report).unwrap();
        assert_eq!(load.requests, 17932.0);
        assert!((load.per_second - 8966.12).abs() < 1e-6);
        assert!((load.p50_ms - 6.91).abs() < 1e-9);
        assert!((load.p99_ms - 1200.0).abs() < 1e-9);
        assert_eq!(load.errors, 7);
        assert!(parse_wrk("nothing").is_none());
    }

    #[test]
    fn reads_cpu_time_of_this_process() {
        let before = cpu_seconds(std::process::id());
        let busy_until = std::time::Instant::now() + Duration::from_millis(300);
        let mut spin = 0u64;
        while std::time::Instant::now() < busy_until {
            spin = std::hint::black_box(spin.wrapping_add(1));
        }
        let spent = cpu_seconds(std::process::id()) - before;
        assert!(spent >= 0.1, "300 ms of spinning read as {spent} CPU s");
        assert_eq!(cpu_seconds(u32::MAX), 0.0, "an absent process reads as 0");
    }
}
