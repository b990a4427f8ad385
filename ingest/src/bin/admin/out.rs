//! How the command line answers: text for people or one JSON document for machines (`--json`), and exit codes
//! scripts can rely on.

use serde_json::{json, Value};

/// Why a command did not fully succeed, and its exit code.
#[derive(Debug)]
pub enum Exit {
    /// 1: a store or the broker unavailable, or the action refused.
    Failed(anyhow::Error),
    /// 3: what the command names does not exist.
    NotFound(String),
    /// 4: done in part; the report says what failed.
    Partial(Value),
}

impl Exit {
    pub const fn code(&self) -> i32 {
        match self {
            Exit::Failed(_) => 1,
            Exit::NotFound(_) => 3,
            Exit::Partial(_) => 4,
        }
    }
}

impl<E: Into<anyhow::Error>> From<E> for Exit {
    fn from(e: E) -> Self {
        Exit::Failed(e.into())
    }
}

/// Prints a report: `--json` as is; otherwise its `text` member if any, else each member on a line.
pub fn print(report: &Value, json: bool) {
    if json {
        let mut report = report.clone();
        if let Some(m) = report.as_object_mut() {
            m.remove("text");
        }
        println!("{report}");
        return;
    }
    match report.get("text").and_then(Value::as_str) {
        Some(text) => println!("{text}"),
        None => {
            for (k, v) in report.as_object().into_iter().flatten() {
                match v {
                    Value::String(s) => println!("{k}: {s}"),
                    other => println!("{k}: {other}"),
                }
            }
        }
    }
}

/// Prints the outcome and returns the exit code.
pub fn finish(outcome: Result<Value, Exit>, json: bool) -> i32 {
    match outcome {
        Ok(report) => {
            print(&report, json);
            0
        }
        Err(e) => {
            let code = e.code();
            let (message, report) = match e {
                Exit::Failed(e) => (format!("{e:#}"), None),
                Exit::NotFound(what) => (format!("not found: {what}"), None),
                Exit::Partial(report) => ("done in part".to_string(), Some(report)),
            };
            if let Some(r) = &report {
                print(r, json);
            }
            if json && report.is_none() {
                println!("{}", json!({ "error": message, "exit_code": code }));
            }
            eprintln!("error: {message}");
            code
        }
    }
}

/// A text table: one line per row, fields separated by tabs.
pub fn table(rows: impl IntoIterator<Item = Vec<String>>) -> String {
    rows.into_iter()
        .map(|r| r.join("\t"))
        .collect::<Vec<_>>()
        .join("\n")
}
