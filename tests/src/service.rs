//! Child processes of the real binaries, with their output in `target/e2e-logs/`.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::time::Duration;

/// The binaries under test.
#[derive(Debug, Clone, Copy)]
pub enum Binary {
    Edge,
    Sessionizer,
    CallMatcher,
    ClickHouseSink,
    RedisOverlay,
    Admin,
    Rules,
    WebhookSink,
    /// The baselines of `deploy/local/bench` (bare axum, the minimal durable handler).
    BenchBaseline,
}

impl Binary {
    fn file(self) -> &'static str {
        match self {
            Binary::Edge => "opsmantik-edge",
            Binary::Sessionizer => "opsmantik-sessionizer",
            Binary::CallMatcher => "opsmantik-call-matcher",
            Binary::ClickHouseSink => "opsmantik-clickhouse-sink",
            Binary::RedisOverlay => "opsmantik-redis-overlay",
            Binary::Admin => "opsmantik-admin",
            Binary::Rules => "opsmantik-rules",
            Binary::WebhookSink => "opsmantik-webhook-sink",
            Binary::BenchBaseline => "opsmantik-bench-baseline",
        }
    }
}

/// `target/debug` (or wherever this test executable was built).
fn bin_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> -> target/<profile>
    exe.parent()
        .and_then(|p| p.parent())
        .expect("target dir")
        .to_path_buf()
}

/// Builds the binaries once per test process (a no-op when they are up to date).
fn ensure_built() {
    static BUILD: Once = Once::new();
    BUILD.call_once(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let release = bin_dir().ends_with("release");
        let status = Command::new(cargo)
            .args(["build", "--quiet", "--bins", "--workspace"])
            .args(release.then_some("--release"))
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .status()
            .expect("run cargo build");
        assert!(status.success(), "cargo build --bins failed");
    });
}

/// Runs a command-line binary to completion with `vars` and `args`; returns (success, stdout + stderr).
pub fn run_to_end(binary: Binary, vars: &[(String, String)], args: &[&str]) -> (bool, String) {
    let (code, text) = run_for_code(binary, vars, args);
    (code == Some(0), text)
}

/// Like [`run_to_end`], with the exit code (`None` when killed by a signal).
pub fn run_for_code(
    binary: Binary,
    vars: &[(String, String)],
    args: &[&str],
) -> (Option<i32>, String) {
    ensure_built();
    let out = Command::new(bin_dir().join(binary.file()))
        .envs(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {}: {e}", binary.file()));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code(), text)
}

/// A running binary; killed (SIGKILL) on drop unless stopped before.
#[derive(Debug)]
pub struct Service {
    child: Child,
    pub name: String,
    pub log: PathBuf,
}

impl Service {
    /// Starts `binary` with `vars` added to the environment.
    pub fn start(binary: Binary, vars: &[(String, String)], tag: &str) -> Self {
        ensure_built();
        let logs = bin_dir().join("../e2e-logs");
        std::fs::create_dir_all(&logs).expect("log dir");
        let log = logs.join(format!("{tag}-{}.log", binary.file()));
        let out = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .expect("log file");
        let err = out.try_clone().expect("log file");
        let child = Command::new(bin_dir().join(binary.file()))
            .envs(vars.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err))
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", binary.file()));
        Self {
            child,
            name: binary.file().to_string(),
            log,
        }
    }

    /// The process id (for CPU time read from `/proc`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process at once (no flush, no offset commit): a crash.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits up to `timeout` for a clean exit; returns whether it exited successfully.
    pub fn terminate(mut self, timeout: Duration) -> bool {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A free loopback port (bound and released; good enough for tests on one machine).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}
