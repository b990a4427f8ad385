//! ClickHouse migrations: ordered `.sql` files in `schemas/clickhouse/`, compiled in.
//!
//! This module only lists and splits them; the runner that applies them (and records what it applied) lives
//! with the ClickHouse client in the stream runtime. Every statement is idempotent (`IF NOT EXISTS`) and runs
//! on ClickHouse 18.16 and current (`../shared/tools/ch-compat schemas/clickhouse`).

/// One migration file.
#[derive(Debug, Clone, Copy)]
pub struct Migration {
    /// File name, which orders the migrations (`0001_...sql`).
    pub name: &'static str,
    pub sql: &'static str,
}

/// The runner's bookkeeping table, applied before every run.
pub const BOOKKEEPING: Migration = Migration {
    name: "0000_schema_migrations.sql",
    sql: include_str!("../clickhouse/0000_schema_migrations.sql"),
};

/// Every migration after the bookkeeping one, in the order they apply.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        name: "0001_sessions_events.sql",
        sql: include_str!("../clickhouse/0001_sessions_events.sql"),
    },
    Migration {
        name: "0002_dead_letters.sql",
        sql: include_str!("../clickhouse/0002_dead_letters.sql"),
    },
    Migration {
        name: "0003_callflow_events.sql",
        sql: include_str!("../clickhouse/0003_callflow_events.sql"),
    },
    Migration {
        name: "0004_product_events.sql",
        sql: include_str!("../clickhouse/0004_product_events.sql"),
    },
    Migration {
        name: "0005_calls.sql",
        sql: include_str!("../clickhouse/0005_calls.sql"),
    },
    Migration {
        name: "0006_audit_log.sql",
        sql: include_str!("../clickhouse/0006_audit_log.sql"),
    },
    Migration {
        name: "0007_call_context.sql",
        sql: include_str!("../clickhouse/0007_call_context.sql"),
    },
    Migration {
        name: "0008_session_engagement.sql",
        sql: include_str!("../clickhouse/0008_session_engagement.sql"),
    },
    Migration {
        name: "0009_call_workflow.sql",
        sql: include_str!("../clickhouse/0009_call_workflow.sql"),
    },
    Migration {
        name: "0010_call_history.sql",
        sql: include_str!("../clickhouse/0010_call_history.sql"),
    },
    Migration {
        name: "0011_webhook_deliveries.sql",
        sql: include_str!("../clickhouse/0011_webhook_deliveries.sql"),
    },
    Migration {
        name: "0012_dead_letter_replays.sql",
        sql: include_str!("../clickhouse/0012_dead_letter_replays.sql"),
    },
    Migration {
        name: "0013_product_rollups.sql",
        sql: include_str!("../clickhouse/0013_product_rollups.sql"),
    },
];

/// Whether `statement` adds exactly one column (`ALTER TABLE t ADD COLUMN c …`): ClickHouse 18.16 has no
/// `IF NOT EXISTS` for it, so the migrator takes "column already exists" as done for such statements.
pub fn adds_one_column(statement: &str) -> bool {
    let s = statement.trim_start().to_ascii_uppercase();
    s.starts_with("ALTER TABLE") && s.matches("ADD COLUMN").count() == 1 && !s.contains(',')
}

/// Tables whose rows are aggregate states that absorb the same source rows again without changing what is read
/// (`uniq`/`uniqHLL12`/`max` states; `topK` weights only rank candidates): migration 0013's rollups.
pub const ROLLUPS: [&str; 3] = ["product_quarters", "product_hours", "product_user_quarters"];

/// Whether `statement` fills one of the [`ROLLUPS`] from its source (`INSERT INTO <rollup> SELECT …`): running
/// it twice (a crash before the bookkeeping row) leaves every figure read from the rollup as it was.
pub fn backfills_a_rollup(statement: &str) -> bool {
    let mut words = statement.split_whitespace();
    let head: Vec<&str> = words.by_ref().take(3).collect();
    matches!(head.as_slice(), [insert, into, table]
        if insert.eq_ignore_ascii_case("INSERT") && into.eq_ignore_ascii_case("INTO") && ROLLUPS.contains(table))
        && words
            .next()
            .is_some_and(|w| w.eq_ignore_ascii_case("SELECT"))
}

impl Migration {
    /// The statements of the file: split on `;` at the end of a line, `--` comments removed (the same rule
    /// as `ch-compat`, so both run the same statements).
    pub fn statements(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut current = String::new();
        for line in self.sql.lines() {
            let line = line.split("--").next().unwrap_or("");
            current.push_str(line);
            current.push('\n');
            if line.trim_end().ends_with(';') {
                push_statement(&mut out, &current);
                current.clear();
            }
        }
        push_statement(&mut out, &current);
        out
    }
}

fn push_statement(out: &mut Vec<String>, text: &str) {
    let statement = text.trim().trim_end_matches(';').trim();
    if !statement.is_empty() {
        out.push(statement.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_ordered_and_all_files_listed() {
        let mut sorted: Vec<_> = MIGRATIONS.iter().map(|m| m.name).collect();
        sorted.sort();
        assert_eq!(
            sorted,
            MIGRATIONS.iter().map(|m| m.name).collect::<Vec<_>>()
        );
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/clickhouse");
        let on_disk = std::fs::read_dir(dir)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .path()
                    .extension()
                    .is_some_and(|x| x == "sql")
            })
            .count();
        assert_eq!(
            on_disk,
            MIGRATIONS.len() + 1,
            "a migration file is not listed in MIGRATIONS"
        );
        assert!(MIGRATIONS.iter().all(|m| m.name > BOOKKEEPING.name));
    }

    #[test]
    fn only_single_column_alters_count_as_idempotent() {
        assert!(adds_one_column(
            "ALTER TABLE calls ADD COLUMN a String DEFAULT ''"
        ));
        assert!(!adds_one_column(
            "ALTER TABLE calls ADD COLUMN a String, ADD COLUMN b String"
        ));
        assert!(!adds_one_column("ALTER TABLE calls DROP COLUMN a"));
    }

    #[test]
    fn only_selects_into_rollups_count_as_idempotent_inserts() {
        assert!(backfills_a_rollup(
            "INSERT INTO product_hours\nSELECT site FROM product_events"
        ));
        assert!(!backfills_a_rollup(
            "INSERT INTO product_events SELECT * FROM product_events"
        ));
        assert!(!backfills_a_rollup("INSERT INTO product_hours VALUES (1)"));
    }

    #[test]
    fn statements_are_idempotent() {
        for m in MIGRATIONS.iter().chain([&BOOKKEEPING]) {
            for s in m.statements() {
                assert!(
                    s.contains("IF NOT EXISTS") || adds_one_column(&s) || backfills_a_rollup(&s),
                    "{}: not idempotent: {s}",
                    m.name
                );
                assert!(!s.contains("--"));
            }
        }
    }
}
