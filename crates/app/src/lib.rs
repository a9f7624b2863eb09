//! Tributary's application services, written once against the store traits: event
//! ingestion, commission posting, approvals, payouts, authentication, the redirect's link
//! cache and click log, and the job runner. HTTP, the CLI and the demo all call these.

pub mod admin;
pub mod attribution;
pub mod auth;
pub mod billing;
pub mod click_pay;
pub mod clicks;
pub mod clock;
pub mod error;
pub mod event_log;
pub mod group_commit;
pub mod ingest;
pub mod jobs;
pub mod lifecycle;
pub mod mail;
pub mod metrics;
pub mod payouts;
pub mod plans;
pub mod postbacks;
pub mod posting;
pub mod rate_limit;
pub mod replay;
pub mod secrets;
pub mod smtp;
pub mod snippet;

use std::sync::Arc;
use tributary_store::Store;

pub use error::{AppError, AppResult};

/// Everything a request handler, job or command needs. Cheap to clone: one reference count,
/// since axum clones the state for every extractor of every request.
#[derive(Clone)]
pub struct App {
    parts: Arc<Parts>,
}

/// The services behind an [`App`], reached through `Deref` (`app.store`, `app.clicks`...).
pub struct Parts {
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn clock::Clock>,
    pub secrets: Arc<secrets::Secrets>,
    pub links: Arc<clicks::LinkCache>,
    pub clicks: clicks::ClickLog,
    pub metrics: Arc<metrics::Metrics>,
    pub ingest_queue: group_commit::IngestQueue,
    pub api_keys: Arc<auth::ApiKeyCache>,
    /// Where clicks and events go: the store, or (tier 2) the event log.
    pub sink: Arc<dyn event_log::EventSink>,
    /// Tier 2: where workers read what the edge logged.
    pub source: Option<Arc<dyn event_log::EventSource>>,
    /// Which addresses partner postbacks may reach.
    pub postbacks: Arc<postbacks::Policy>,
    /// The mail relay emails go through, and the public address links in them use.
    pub mail: Arc<mail::Mailer>,
    /// Applications per hashed IP per hour on the public pages.
    pub applications_limit: Arc<rate_limit::Limiter>,
}

impl App {
    /// Migrates the store, loads or creates the server secrets, warms the link cache and
    /// starts the click writer and the ingestion group committer.
    pub async fn start(store: Arc<dyn Store>, clock: Arc<dyn clock::Clock>) -> AppResult<App> {
        App::start_with(store, clock, None).await
    }

    /// As [`App::start`]; with an event log, clicks and events are published to it and
    /// workers move them into the store (tier 2).
    pub async fn start_with(
        store: Arc<dyn Store>,
        clock: Arc<dyn clock::Clock>,
        event_log: Option<event_log::NatsLog>,
    ) -> AppResult<App> {
        store.migrate().await?;
        let secrets = Arc::new(secrets::Secrets::load_or_create(store.as_ref()).await?);
        let links = Arc::new(clicks::LinkCache::load(store.as_ref()).await?);
        let metrics = Arc::new(metrics::Metrics::default());
        let (sink, source): (
            Arc<dyn event_log::EventSink>,
            Option<Arc<dyn event_log::EventSource>>,
        ) = match event_log {
            Some(log) => (Arc::new(log.clone()), Some(Arc::new(log))),
            None => (
                Arc::new(event_log::InProcess {
                    store: store.clone(),
                }),
                None,
            ),
        };
        let clicks = clicks::ClickLog::start(sink.clone(), metrics.clone());
        let ingest_queue =
            group_commit::IngestQueue::start(store.clone(), clock.clone(), metrics.clone());
        Ok(App {
            parts: Arc::new(Parts {
                store,
                clock,
                secrets,
                links,
                clicks,
                metrics,
                ingest_queue,
                api_keys: Arc::new(auth::ApiKeyCache::default()),
                sink,
                source,
                postbacks: Arc::new(postbacks::Policy::default()),
                mail: Arc::new(mail::Mailer::default()),
                applications_limit: Arc::new(rate_limit::Limiter::new(
                    lifecycle::applications::APPLICATIONS_PER_IP_PER_HOUR,
                    3_600_000,
                )),
            }),
        })
    }

    pub fn now(&self) -> tributary_core::Timestamp {
        self.clock.now()
    }
}

impl std::ops::Deref for App {
    type Target = Parts;

    fn deref(&self) -> &Parts {
        &self.parts
    }
}

/// A new time-ordered id.
pub fn new_uuid() -> uuid::Uuid {
    uuid::Uuid::now_v7()
}
