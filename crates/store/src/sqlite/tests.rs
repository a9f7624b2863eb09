//! The SQLite store's own guarantees, on a real file: its migrations, read-only readers, the
//! writer's durability settings. What every store promises (rollback on drop, conflicts and
//! savepoints...) is in `tests/contract.rs`, run on SQLite and PostgreSQL alike.

use super::SqliteStore;
use crate::*;
use tempfile::TempDir;
use uuid::Uuid;

async fn fresh() -> (TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("temp dir");
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = SqliteStore::open(&url).await.expect("open");
    (dir, store)
}

fn workspace(name: &str) -> Workspace {
    Workspace {
        id: WorkspaceId(Uuid::now_v7()),
        name: name.into(),
        created_at: Timestamp::from_millis(1_700_000_000_000),
    }
}

async fn workspace_count(store: &SqliteStore) -> usize {
    let mut tx = store.read().await.expect("read");
    let count = usize::from(tx.first_workspace().await.expect("query").is_some());
    tx.commit().await.expect("commit");
    count
}

async fn synchronous_mode(store: &SqliteStore) -> i64 {
    let writer = store.writer.lock().await.expect("writer");
    writer
        .query_row("PRAGMA synchronous", [], |row| row.get(0))
        .expect("pragma")
}

#[tokio::test]
async fn a_fresh_file_can_be_read_before_and_after_migrating() {
    let (_dir, store) = fresh().await;
    let mut tx = store.read().await.expect("read a fresh file");
    assert!(tx.setting("x").await.is_err(), "no tables before migrating");
    drop(tx);
    store.migrate().await.expect("migrate");
    assert_eq!(workspace_count(&store).await, 0);
}

#[tokio::test]
async fn migrating_twice_applies_nothing_the_second_time() {
    let (_dir, store) = fresh().await;
    store.migrate().await.expect("first");
    store.migrate().await.expect("second");
    let writer = store.writer.lock().await.expect("writer");
    let versions: i64 = writer
        .query_row("SELECT COUNT(*) FROM schema_migrations", [], |row| {
            row.get(0)
        })
        .expect("count");
    assert_eq!(versions, super::migrate::MIGRATIONS.len() as i64);
}

/// ADR 0006: a bonus posted before commissions could be keyed hung on the period's latest
/// purchase with the key as its rule id; the migration moves it onto the key.
#[tokio::test]
async fn bonuses_posted_before_keyed_commissions_move_onto_their_key() {
    use tributary_core::commission::{ExplainedEvent, Explanation, Source};
    use tributary_core::event::EventKind;
    use tributary_core::plan::{Reward, Rule, Trigger};
    let (_dir, store) = fresh().await;
    let [program, partner, customer, event, version] = [(); 5].map(|_| Uuid::now_v7());
    let usd = Money::new(5_000, Currency::parse("USD").expect("USD"));
    let explanation = Explanation {
        summary: "50.00 USD bonus".into(),
        event: Some(ExplainedEvent {
            id: EventId(event),
            kind: EventKind::Sale,
            amount: Some(usd),
            occurred_at: Timestamp::from_millis(0),
            invoice_id: Some("in_1".into()),
            milestone: None,
        }),
        adjustments: Vec::new(),
        attribution: None,
        clicks: None,
        plan_version_id: PlanVersionId(version),
        rule: Rule::new("q-new", Trigger::AnySale, Reward::Flat { amount: usd }),
        base: None,
        arithmetic: "flat".into(),
        rounding: "none".into(),
        tier: None,
        limited_by: None,
        notes: Vec::new(),
        owed: usd,
        previously_posted_minor: 0,
        posted: usd,
    };
    let json = serde_json::to_string(&explanation).expect("json");
    {
        let writer = store.writer.lock().await.expect("writer");
        // The rows' parents are not the point here.
        writer
            .execute_batch("PRAGMA foreign_keys = OFF")
            .expect("pragma");
        writer
            .execute_batch(include_str!("../../migrations/sqlite/0001_init.sql"))
            .expect("0001");
        writer
            .execute_batch(include_str!("../../migrations/sqlite/0002_plans.sql"))
            .expect("0002");
        writer
            .execute_batch(
                "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL);
                 INSERT INTO schema_migrations VALUES (1, 0), (2, 0);",
            )
            .expect("history");
        for (rule, id) in [
            ("lead", Uuid::now_v7()),
            ("bonus:q-new:2026-Q1", Uuid::now_v7()),
        ] {
            writer
                .execute(
                    "INSERT INTO commissions (id, workspace_id, program_id, partner_id, customer_id,
                     source_event_id, caused_by_event_id, rule_id, plan_version_id, kind, amount_minor,
                     currency, state, hold_until, payout_batch_id, explanation_json, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7, ?8, 'earning', 5000, 'USD', 'pending', 0,
                     NULL, ?9, 0)",
                    rusqlite::params![
                        id.to_string(),
                        Uuid::now_v7().to_string(),
                        program.to_string(),
                        partner.to_string(),
                        customer.to_string(),
                        event.to_string(),
                        rule,
                        version.to_string(),
                        json,
                    ],
                )
                .expect("an old commission");
        }
    }
    store.migrate().await.expect("migrate");
    let mut tx = store.read().await.expect("read");
    let of_customer = tx
        .customer_commissions(CustomerId(customer))
        .await
        .expect("customer's");
    assert_eq!(of_customer.len(), 1);
    assert_eq!(of_customer[0].source, Source::Event(EventId(event)));
    assert_eq!(of_customer[0].rule_id, "lead");
    let keyed = tx
        .keyed_commissions(ProgramId(program), PartnerId(partner), "bonus:", "bonus;")
        .await
        .expect("keyed");
    assert_eq!(keyed.len(), 1);
    assert_eq!(keyed[0].source, Source::Key("bonus:q-new:2026-Q1".into()));
    assert_eq!(keyed[0].rule_id, "q-new");
    assert_eq!(keyed[0].customer_id, None);
    assert_eq!(keyed[0].caused_by_event_id, Some(EventId(event)));
    assert_eq!(keyed[0].explanation, explanation);
}

#[tokio::test]
async fn a_database_migrated_by_sqlx_is_taken_over() {
    let (_dir, store) = fresh().await;
    {
        let writer = store.writer.lock().await.expect("writer");
        writer
            .execute_batch(include_str!("../../migrations/sqlite/0001_init.sql"))
            .expect("schema");
        writer
            .execute_batch(
                "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL,
                 installed_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL,
                 checksum BLOB NOT NULL, execution_time BIGINT NOT NULL);
                 INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
                 VALUES (1, 'init', TRUE, x'00', 1);",
            )
            .expect("sqlx history");
    }
    store.migrate().await.expect("migrate over sqlx's history");
    assert_eq!(workspace_count(&store).await, 0);
}

#[tokio::test]
async fn readers_refuse_writes() {
    let (_dir, store) = fresh().await;
    store.migrate().await.expect("migrate");
    let mut tx = store.read().await.expect("read");
    let refused = tx.insert_workspace(&workspace("sneaky")).await;
    assert!(
        matches!(refused, Err(StoreError::Database(_))),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_click_batch_leaves_the_writer_at_synchronous_full() {
    let (_dir, store) = fresh().await;
    store.migrate().await.expect("migrate");
    let click = Click {
        id: "c1".into(),
        workspace_id: WorkspaceId(Uuid::now_v7()),
        link_id: LinkId(Uuid::now_v7()),
        partner_id: PartnerId(Uuid::now_v7()),
        at: Timestamp::from_millis(1_700_000_000_000),
        ip_hash: "h".into(),
        user_agent: "ua".into(),
        referrer: None,
        is_bot: false,
        subs: Default::default(),
    };
    store
        .append_clicks(&[click.clone(), click])
        .await
        .expect("append");
    const FULL: i64 = 2;
    assert_eq!(synchronous_mode(&store).await, FULL);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commits_work_on_a_multi_thread_runtime() {
    let (_dir, store) = fresh().await;
    store.migrate().await.expect("migrate");
    let mut tx = store.write().await.expect("write");
    tx.insert_workspace(&workspace("mt")).await.expect("insert");
    tx.commit().await.expect("commit in block_in_place");
    assert_eq!(workspace_count(&store).await, 1);
}

#[tokio::test]
async fn cached_statements_are_not_planned_again_for_new_parameter_values() {
    let (_dir, store) = fresh().await;
    store.migrate().await.expect("migrate");
    let writer = store.writer.lock().await.expect("writer");
    // Two statements from the ingestion path that SQLite re-plans on every new binding
    // unless the query planner stability guarantee is on.
    for sql in [
        "SELECT * FROM events WHERE customer_id = ? ORDER BY occurred_at, id LIMIT ?",
        "SELECT * FROM touches WHERE customer_id = ? ORDER BY at LIMIT 1000",
    ] {
        let mut statement = writer.prepare_cached(sql).expect("prepare");
        let parameters = statement.parameter_count();
        for run in 0..3_i64 {
            let values = (0..parameters).map(|index| run * 10 + index as i64 + 1);
            let mut rows = statement
                .query(rusqlite::params_from_iter(values))
                .expect("query");
            while rows.next().expect("row").is_some() {}
        }
        assert_eq!(
            statement.get_status(rusqlite::StatementStatus::RePrepare),
            0,
            "{sql}"
        );
    }
}
