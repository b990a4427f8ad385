//! Migrations on the local ClickHouse 18.16: applying them again after a crash that lost the bookkeeping (the
//! statements ran, the `schema_migrations` row did not land) succeeds, columns added once stay once.

use opsmantik_e2e::Env;

#[tokio::test]
async fn a_migration_re_run_after_a_lost_bookkeeping_row_succeeds() -> anyhow::Result<()> {
    let env = Env::new("migrations").await?;
    env.ch()
        .query("ALTER TABLE schema_migrations DELETE WHERE name = '0007_call_context.sql'")
        .execute()
        .await?;
    // ALTER … DELETE is asynchronous on 18.16: wait until the row is gone.
    for _ in 0..50 {
        let left = env
            .count("SELECT count() FROM schema_migrations WHERE name = '0007_call_context.sql'")
            .await?;
        if left == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let again = opsmantik_runtime::clickhouse::migrate(&env.clickhouse).await?;
    assert_eq!(
        again,
        vec!["0007_call_context.sql"],
        "re-applied, not refused"
    );
    let columns = env
        .count("SELECT count() FROM system.columns WHERE database = currentDatabase() AND table = 'calls' AND name = 'intent_stamp'")
        .await?;
    assert_eq!(columns, 1);
    env.cleanup().await
}
