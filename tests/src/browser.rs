//! Runs a driver script of `tests/browser/` (Node with playwright-core, Debian's Chromium) and reads the one
//! JSON line it prints last.

use std::time::Duration;

use serde_json::Value;

/// Runs `node <script>` with `vars` (at most two minutes); its report.
pub async fn run(script: &str, vars: &[(&str, &str)]) -> anyhow::Result<Value> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/browser");
    anyhow::ensure!(
        std::path::Path::new(dir)
            .join("node_modules/playwright-core")
            .exists(),
        "playwright-core is not installed in {dir}: `deploy/local/stack browser` installs it"
    );
    let run = tokio::process::Command::new("node")
        .arg(script)
        .current_dir(dir)
        .envs(vars.iter().copied())
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(120), run).await??;
    let stdout = String::from_utf8_lossy(&out.stdout);
    anyhow::ensure!(
        out.status.success(),
        "{script} failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .map_err(|e| anyhow::anyhow!("{script} printed no report ({e}): {stdout}"))
}
