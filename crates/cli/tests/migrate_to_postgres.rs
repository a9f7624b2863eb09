//! `tributary migrate --from sqlite://… --to postgres://…` on the real binary: the demo's
//! 90 days built into a SQLite file, moved into a fresh PostgreSQL database, and then every
//! partner's balances read through both stores by this test itself (not taken from the
//! command's word). The password in the target URL never reaches the terminal.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use tributary_store::postgres::PgStore;
use tributary_store::sqlite::SqliteStore;
use tributary_store::testing::{Backend, TestDatabase};
use tributary_store::{Page, Partner, Store};

const BIN: &str = env!("CARGO_BIN_EXE_tributary");
/// A password the test server (trust authentication) accepts and ignores: it must not be
/// printed.
const PASSWORD: &str = "s3cret-never-printed";
/// The demo's partner count (`crates/cli/src/demo.rs`).
const DEMO_PARTNERS: usize = 20;

fn tributary(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_remove("TRIBUTARY_DATABASE_URL")
        .stdin(Stdio::null())
        .output()
        .expect("run the tributary binary")
}

fn succeeded(what: &str, output: &Output) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

/// `postgres://user@host/db` with a password added (`postgres://user:PASSWORD@host/db`),
/// unless the URL already carries one.
fn with_password(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let (user, host) = rest.split_once('@')?;
    (!user.contains(':')).then(|| format!("{scheme}://{user}:{PASSWORD}@{host}"))
}

async fn partners(store: &dyn Store) -> Vec<Partner> {
    let mut tx = store.read().await.expect("read");
    let workspace = tx
        .first_workspace()
        .await
        .expect("workspace")
        .expect("the demo made a workspace");
    let mut partners = tx
        .partners(workspace.id, Page::first(Page::MAX_LIMIT))
        .await
        .expect("partners");
    partners.sort_by_key(|partner| partner.id);
    partners
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_moves_to_postgres_with_every_balance() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sqlite_url = format!("sqlite://{}", dir.path().join("demo.db").display());
    succeeded(
        "demo",
        &tributary(&["demo", "--no-serve", "--database", &sqlite_url]),
    );

    let target = TestDatabase::create(Backend::Postgres)
        .await
        .expect("postgres");
    let to_url = with_password(&target.url).unwrap_or_else(|| target.url.clone());
    let output = tributary(&["migrate", "--from", &sqlite_url, "--to", &to_url]);
    let stdout = succeeded("migrate --from --to", &output);
    assert!(stdout.contains("verified"), "{stdout}");
    assert!(
        stdout.contains(&format!("balances of {DEMO_PARTNERS} partner(s)")),
        "{stdout}"
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !stdout.contains(PASSWORD) && !stderr.contains(PASSWORD),
        "the password was printed:\n{stdout}\n{stderr}"
    );

    // The test's own reading, through each engine's store.
    let sqlite = SqliteStore::open(&sqlite_url).await.expect("open sqlite");
    let postgres = PgStore::open(&target.url, 4).await.expect("open postgres");
    let source_partners = partners(&sqlite).await;
    assert_eq!(source_partners.len(), DEMO_PARTNERS);
    assert_eq!(partners(&postgres).await, source_partners);

    let mut from_sqlite = sqlite.read().await.expect("read sqlite");
    let mut from_postgres = postgres.read().await.expect("read postgres");
    let mut partners_with_money = 0;
    for partner in &source_partners {
        let expected = from_sqlite
            .partner_balances(partner.workspace_id, partner.id)
            .await
            .expect("sqlite balances");
        let found = from_postgres
            .partner_balances(partner.workspace_id, partner.id)
            .await
            .expect("postgres balances");
        assert_eq!(found, expected, "balances of partner {}", partner.name);
        if expected.iter().any(|balance| {
            balance.pending_minor != 0 || balance.approved_minor != 0 || balance.paid_minor != 0
        }) {
            partners_with_money += 1;
        }
    }
    // Equal because both hold the demo's money, not because both are empty.
    assert!(
        partners_with_money > DEMO_PARTNERS / 2,
        "{partners_with_money}"
    );
    let workspace_id = source_partners[0].workspace_id;
    assert_eq!(
        from_postgres
            .ledger_totals(workspace_id)
            .await
            .expect("totals"),
        from_sqlite
            .ledger_totals(workspace_id)
            .await
            .expect("totals")
    );
    assert!(
        from_postgres
            .unbalanced_transactions(workspace_id)
            .await
            .expect("unbalanced")
            .is_empty()
    );
    drop(from_postgres);

    // A second run into the same database is refused and changes nothing.
    let again = tributary(&["migrate", "--from", &sqlite_url, "--to", &to_url]);
    assert!(!again.status.success());
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(stderr.contains("already holds a workspace"), "{stderr}");
    assert!(!stderr.contains(PASSWORD), "{stderr}");
    assert_eq!(partners(&postgres).await, source_partners);
}

#[test]
fn from_without_to_is_an_error() {
    let output = tributary(&["migrate", "--from", "sqlite://nowhere.db"]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--to"), "{stderr}");
    assert!(!Path::new("nowhere.db").exists(), "nothing was created");
}
