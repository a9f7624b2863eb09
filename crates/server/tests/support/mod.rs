//! A `TestApp`: the real server on 127.0.0.1:0 over a fresh SQLite file, with a manual clock,
//! a workspace and a workspace API key.

#![allow(dead_code)]

pub mod browser;

use reqwest::{Client, Response, StatusCode};
use serde_json::Value;
use std::sync::Arc;
use tributary_app::App;
use tributary_app::clock::ManualClock;
use tributary_core::{Timestamp, WorkspaceId};
pub use tributary_store::testing::{Backend, TestDatabase};

/// 2026-01-01T00:00:00Z.
pub const START_MILLIS: i64 = 1_767_225_600_000;
pub const BROWSER_UA: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36";

pub struct TestApp {
    pub base: String,
    pub client: Client,
    pub app: App,
    pub clock: Arc<ManualClock>,
    pub workspace_id: WorkspaceId,
    pub key: String,
    _database: TestDatabase,
}

impl TestApp {
    /// On the embedded default, SQLite.
    pub async fn start() -> TestApp {
        TestApp::start_on(Backend::Sqlite).await
    }

    /// On a fresh database of `backend` (PostgreSQL: a new database on the test server).
    pub async fn start_on(backend: Backend) -> TestApp {
        let database = TestDatabase::create(backend).await.expect("test database");
        let store = database.open().await.expect("open store");
        let clock = Arc::new(ManualClock::new(Timestamp::from_millis(START_MILLIS)));
        let app = App::start(store, clock.clone()).await.expect("start app");
        let (workspace, _) = tributary_app::admin::create_workspace(
            &app,
            "Test Co",
            "owner@test.example",
            "owner-password-1",
        )
        .await
        .expect("workspace");
        let (key, _) = tributary_app::auth::create_api_key(&app, workspace.id, None, "test")
            .await
            .expect("api key");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        tokio::spawn(tributary_server::serve(
            listener,
            app.clone(),
            std::future::pending(),
        ));
        let client = Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        TestApp {
            base,
            client,
            app,
            clock,
            workspace_id: workspace.id,
            key,
            _database: database,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get_as(&self, key: &str, path: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .get(self.url(path))
            .bearer_auth(key)
            .send()
            .await
            .expect("GET");
        split(response).await
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.get_as(&self.key, path).await
    }

    pub async fn post_as(&self, key: &str, path: &str, body: &Value) -> (StatusCode, Value) {
        let response = self
            .client
            .post(self.url(path))
            .bearer_auth(key)
            .json(body)
            .send()
            .await
            .expect("POST");
        split(response).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        self.post_as(&self.key, path, body).await
    }

    /// Reports an event with an idempotency key; returns status, raw body and parsed body.
    pub async fn event(&self, idempotency_key: &str, body: &Value) -> (StatusCode, String, Value) {
        let response = self
            .client
            .post(self.url("/api/v1/events"))
            .bearer_auth(&self.key)
            .header("Idempotency-Key", idempotency_key)
            .json(body)
            .send()
            .await
            .expect("POST event");
        let status = response.status();
        let text = response.text().await.expect("body");
        let value = serde_json::from_str(&text).unwrap_or(Value::Null);
        (status, text, value)
    }

    /// Runs due jobs at the clock's current time.
    pub async fn run_jobs(&self) -> usize {
        tributary_app::jobs::run_due(&self.app).await.expect("jobs")
    }
}

pub async fn split(response: Response) -> (StatusCode, Value) {
    let status = response.status();
    let text = response.text().await.expect("body");
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

pub fn id(value: &Value) -> String {
    value["id"].as_str().expect("an id").to_string()
}

/// Runs each named `async fn(Backend)` as two tests, `<name>::sqlite` and
/// `<name>::postgres`: the same story on both engines.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test]
                async fn sqlite() {
                    super::$name($crate::support::Backend::Sqlite).await
                }

                #[tokio::test]
                async fn postgres() {
                    super::$name($crate::support::Backend::Postgres).await
                }
            }
        )+
    };
}
