//! A private tansu broker for tests that kill the broker itself: its own port and data folder, started the
//! way `deploy/local/stack` starts the shared one (SQLite engine), so a SIGKILL takes down nobody else's test.
//! The benchmarks start one on tansu's memory engine: the fastest broker here, so it hides none of our own
//! overhead (it is unsafe only for consumer resumes and restarts, which they do not do).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::service::free_port;

/// The tansu binary `deploy/local/stack` installed (`OPSMANTIK_TANSU` from `stack env`).
fn tansu() -> PathBuf {
    std::env::var_os("OPSMANTIK_TANSU")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME").unwrap_or_default();
            PathBuf::from(home).join(".cargo/opt/tansu-0.6-sqlite/bin/tansu")
        })
}

/// A broker process over a data folder that outlives it.
#[derive(Debug)]
pub struct PrivateBroker {
    pub port: u16,
    dir: PathBuf,
    engine: &'static str,
    child: Option<Child>,
}

impl PrivateBroker {
    /// Starts a broker on a free port with a fresh data folder under `target/e2e-brokers/<tag>`.
    pub fn start(tag: &str) -> anyhow::Result<Self> {
        Self::start_on(tag, "sqlite://tansu.db")
    }

    /// Like [`start`](Self::start), on tansu's memory engine (for the benchmarks).
    pub fn start_memory(tag: &str) -> anyhow::Result<Self> {
        Self::start_on(tag, "memory://tansu/")
    }

    fn start_on(tag: &str, engine: &'static str) -> anyhow::Result<Self> {
        let dir = std::env::current_exe()?
            .parent()
            .and_then(|p| p.parent())
            .map(|p| p.join("../e2e-brokers").join(tag))
            .ok_or_else(|| anyhow::anyhow!("target dir"))?;
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let mut broker = Self {
            port: free_port(),
            dir,
            engine,
            child: None,
        };
        broker.spawn()?;
        Ok(broker)
    }

    pub fn brokers(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The broker process (0 once killed): for CPU read from outside.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    fn spawn(&mut self) -> anyhow::Result<()> {
        let url = format!("tcp://127.0.0.1:{}", self.port);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("tansu.log"))?;
        let child = Command::new(tansu())
            .current_dir(&self.dir)
            .args([
                "broker",
                "--listener-url",
                &url,
                "--advertised-listener-url",
                &url,
            ])
            .args(["--storage-engine", self.engine])
            .stdout(Stdio::from(log.try_clone()?))
            .stderr(Stdio::from(log))
            .spawn()
            .map_err(|e| anyhow::anyhow!("start {}: {e}", tansu().display()))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            anyhow::ensure!(
                Instant::now() < deadline,
                "broker did not listen within 20 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// SIGKILL: no flush, no clean close.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the broker again over the same data folder and port.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.kill();
        self.spawn()
    }
}

impl Drop for PrivateBroker {
    fn drop(&mut self) {
        self.kill();
    }
}
