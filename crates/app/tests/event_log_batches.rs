//! A click batch larger than NATS's message limit still reaches the store: the edge
//! publishes it in parts, and a worker writes every click once. Needs PostgreSQL and NATS
//! with JetStream (TRIBUTARY_TEST_NATS_URL, default nats://127.0.0.1:4222).

use std::sync::Arc;
use std::time::Duration;
use tributary_app::App;
use tributary_app::clock::ManualClock;
use tributary_app::event_log::NatsLog;
use tributary_core::{LinkId, PartnerId, Timestamp, WorkspaceId};
use tributary_store::Click;
use tributary_store::testing::{Backend, TestDatabase};
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_over_the_message_limit_is_published_in_parts() {
    let nats =
        std::env::var("TRIBUTARY_TEST_NATS_URL").unwrap_or_else(|_| "nats://127.0.0.1:4222".into());
    let namespace = format!("batches-{}", std::process::id());
    let log = NatsLog::connect(&nats, &namespace).await.expect("nats");
    let database = TestDatabase::create(Backend::Postgres)
        .await
        .expect("database");
    let store = database.open().await.expect("store");
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(1_767_225_600_000)));
    let app = App::start_with(store.clone(), clock, Some(log.clone()))
        .await
        .expect("app");

    // 2,000 clicks with long user agents and referrers: about 3 MB as one message, three
    // times the server's default limit.
    let (workspace, link, partner) = (
        WorkspaceId(Uuid::now_v7()),
        LinkId(Uuid::now_v7()),
        PartnerId(Uuid::now_v7()),
    );
    let clicks: Vec<Click> = (0..2_000)
        .map(|n| Click {
            id: format!("{namespace}-click-{n}"),
            workspace_id: workspace,
            link_id: link,
            partner_id: partner,
            at: Timestamp::from_millis(1_767_225_600_000 + n),
            ip_hash: "h".into(),
            user_agent: "u".repeat(512),
            referrer: Some(format!("https://blog.example/{}", "r".repeat(1_000))),
            is_bot: false,
            subs: Default::default(),
        })
        .collect();
    log.publish_clicks(&clicks)
        .await
        .expect("published despite the size");

    let source = app.source.clone().expect("a source");
    let worker = tokio::spawn({
        let app = app.clone();
        async move { source.run(app).await }
    });
    let mut written = 0;
    for _ in 0..300 {
        written = count_clicks(&database.url).await;
        if written >= 2_000 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    worker.abort();
    assert_eq!(written, 2_000);
    let _ = log.delete_streams().await;
}

async fn count_clicks(url: &str) -> i64 {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    let driver = tokio::spawn(connection);
    let count: i64 = client
        .query_one("SELECT COUNT(DISTINCT id) FROM clicks", &[])
        .await
        .expect("count")
        .get(0);
    drop(client);
    let _ = driver.await;
    count
}
