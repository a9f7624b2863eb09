//! A `TestApp`: the real server on 127.0.0.1:0 over a fresh SQLite file, with a manual clock,
//! a workspace and a workspace API key; and helpers for driving its pages as a browser does
//! (a cookie-keeping client, the CSRF token of a form, an admin signed in).

#![allow(dead_code)]

pub mod browser;

use reqwest::redirect::Policy;
use reqwest::{Client, Response, StatusCode, header};
use serde_json::Value;
use std::sync::Arc;
use tributary_app::App;
use tributary_app::clock::ManualClock;
use tributary_core::{Timestamp, WorkspaceId};
pub use tributary_store::testing::{Backend, TestDatabase};

/// 2026-01-01T00:00:00Z.
pub const START_MILLIS: i64 = 1_767_225_600_000;
/// The TestApp's workspace owner, who signs in to the admin area.
pub const OWNER_EMAIL: &str = "owner@test.example";
pub const OWNER_PASSWORD: &str = "owner-password-1";
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
        let (workspace, _) =
            tributary_app::admin::create_workspace(&app, "Test Co", OWNER_EMAIL, OWNER_PASSWORD)
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

/// A client as a browser: it keeps cookies and does not follow redirects.
pub fn cookie_client() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .expect("an HTTP client")
}

/// The CSRF token of the first form in a page.
pub fn csrf_token(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("the page has a CSRF field") + marker.len();
    let end = html[start..].find('"').expect("closed");
    html[start..start + end].to_string()
}

/// Where a redirect goes; empty when it is none.
pub fn location(answer: &Response) -> String {
    answer
        .headers()
        .get(header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_string()
}

/// GETs a page with `client`: its status and HTML.
pub async fn page(t: &TestApp, client: &Client, path: &str) -> (StatusCode, String) {
    let answer = client.get(t.url(path)).send().await.expect("GET");
    let status = answer.status();
    (status, answer.text().await.expect("body"))
}

/// A cookie client signed in to the admin area as the TestApp's workspace owner.
pub async fn admin_client(t: &TestApp) -> Client {
    let client = cookie_client();
    let (status, html) = page(t, &client, "/admin/login").await;
    assert_eq!(status, StatusCode::OK);
    let answer = client
        .post(t.url("/admin/login"))
        .form(&[
            ("email", OWNER_EMAIL),
            ("password", OWNER_PASSWORD),
            ("csrf_token", csrf_token(&html).as_str()),
        ])
        .send()
        .await
        .expect("sign in");
    assert_eq!(answer.status(), StatusCode::SEE_OTHER, "admin sign-in");
    client
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
