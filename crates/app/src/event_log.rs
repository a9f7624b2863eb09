//! Where the edge puts what it records, and where workers read it back: the [`EventSink`]
//! and [`EventSource`] traits, with two implementations. [`InProcess`] (tiers 0 and 1) has
//! no log: clicks and events go straight to the store. [`NatsLog`] (tier 2, DESIGN.md §5) is
//! the durable log between the edge and the workers, NATS JetStream.
//!
//! Without it (tiers 0 and 1) the edge writes straight to the store: the click log's writer
//! appends batches, and ingestion commits events in groups before answering. With it, the
//! edge publishes instead and answers once JetStream has stored the message:
//!
//! - clicks: each batch the click log drains is one message on `<namespace>.clicks`;
//! - events: each validated event is one message on `<namespace>.events`, and the API answers
//!   `202 Accepted` (an event already processed is still answered from the store: a replay
//!   gets its first answer, a reused key with another body its 409).
//!
//! Workers (`tributary serve --role worker`) consume both streams through durable pull
//! consumers and acknowledge a message only after its rows are committed. A worker killed
//! mid-batch loses nothing: JetStream redelivers what was not acknowledged. Nothing is
//! applied twice: a click batch is recorded by its name (first click id and count) in the
//! same transaction as its rows (`Store::append_logged_clicks`), and an event carries its
//! idempotency key.

use crate::ingest::{self, Ingested, Submission};
use crate::{App, AppError, AppResult};
use async_nats::jetstream::{self, consumer, stream};
use async_trait::async_trait;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;
use tributary_core::{Timestamp, WorkspaceId};
use tributary_store::Store;
use tributary_store::{Click, StoreError};

/// The default namespace: streams `TRIBUTARY_CLICKS` and `TRIBUTARY_EVENTS` on subjects
/// `tributary.clicks` and `tributary.events`. Installs sharing one NATS server (or tests)
/// each take their own.
pub const DEFAULT_NAMESPACE: &str = "tributary";
const CLICK_CONSUMER: &str = "click-writer";
const EVENT_CONSUMER: &str = "event-writer";
/// JetStream drops a second message with the same id within this window, so an edge that
/// retries a publish does not log an event twice.
const DUPLICATE_WINDOW: Duration = Duration::from_secs(120);
/// Messages a worker takes per fetch.
const FETCH_BATCH: usize = 256;
/// How long an unacknowledged message waits before JetStream offers it again (a worker
/// that died holding it). `TRIBUTARY_LOG_ACK_WAIT_MS` overrides it (tests use a short one).
pub const DEFAULT_ACK_WAIT: Duration = Duration::from_secs(30);

/// What the edge records goes to a sink.
#[async_trait]
pub trait EventSink: Send + Sync {
    /// Takes a batch of clicks from the click log's writer.
    async fn append_clicks(&self, clicks: &[Click]) -> AppResult<()>;
    /// Whether `append_clicks` stores the rows itself (counted as written) or hands them on
    /// to workers (counted as published).
    fn stores_clicks(&self) -> bool;
    /// Takes one validated event: stores and processes it now, or logs it durably for a
    /// worker. Either way it is durable when this returns.
    async fn submit_event(&self, app: &App, event: Validated<'_>) -> AppResult<Ingested>;
}

/// Workers read what a sink logged from a source.
#[async_trait]
pub trait EventSource: Send + Sync {
    /// Moves logged clicks and events into the store until the process stops.
    async fn run(&self, app: App);
}

/// An event the API has validated, on its way to a sink.
pub struct Validated<'a> {
    pub workspace_id: WorkspaceId,
    pub idempotency_key: &'a str,
    /// The body as received (a log keeps it, so a worker validates exactly the same).
    pub body: &'a serde_json::Value,
    pub request: ingest::EventRequest,
    pub received_at: Timestamp,
}

/// Tiers 0 and 1: no log; the store takes clicks and events directly (events through the
/// group committer, see [`crate::group_commit`]).
pub struct InProcess {
    pub store: Arc<dyn Store>,
}

#[async_trait]
impl EventSink for InProcess {
    async fn append_clicks(&self, clicks: &[Click]) -> AppResult<()> {
        Ok(self.store.append_clicks(clicks).await?)
    }

    fn stores_clicks(&self) -> bool {
        true
    }

    async fn submit_event(&self, app: &App, event: Validated<'_>) -> AppResult<Ingested> {
        ingest::ingest(
            app,
            event.workspace_id,
            event.idempotency_key,
            event.request,
        )
        .await
    }
}

#[async_trait]
impl EventSink for NatsLog {
    async fn append_clicks(&self, clicks: &[Click]) -> AppResult<()> {
        self.publish_clicks(clicks).await
    }

    fn stores_clicks(&self) -> bool {
        false
    }

    async fn submit_event(&self, app: &App, event: Validated<'_>) -> AppResult<Ingested> {
        ingest::validate_idempotency_key(event.idempotency_key)?;
        ingest::verified_clicks(app, &event.request)?;
        // Already processed: answer as the store would (replay, or 409 for another body).
        // Best effort: the edge keeps accepting events while the database is away.
        let existing = async {
            app.store
                .read()
                .await?
                .event_by_idempotency_key(event.workspace_id, event.idempotency_key)
                .await
        };
        match existing.await {
            Ok(Some(existing)) => {
                return ingest::answer_existing(existing, &event.request.request_hash);
            }
            Ok(None) => {}
            Err(error) => {
                tracing::warn!(%error, "no earlier answer could be looked up; logging the event")
            }
        }
        self.publish_event(&LoggedEvent {
            workspace_id: event.workspace_id,
            idempotency_key: event.idempotency_key.to_string(),
            body: event.body.clone(),
            received_at: event.received_at.millis(),
        })
        .await?;
        crate::metrics::Metrics::incr(&app.metrics.events_published);
        Ok(Ingested {
            response_json: serde_json::json!({
                "status": "accepted",
                "idempotency_key": event.idempotency_key,
            })
            .to_string(),
            replayed: false,
            queued: true,
        })
    }
}

#[async_trait]
impl EventSource for NatsLog {
    async fn run(&self, app: App) {
        let clicks = tokio::spawn(self.clone().run_click_writer(app.clone()));
        let events = tokio::spawn(self.clone().run_event_writer(app));
        let _ = tokio::join!(clicks, events);
    }
}

/// An event as the edge logged it: enough for a worker to validate and ingest it exactly as
/// the edge would have.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LoggedEvent {
    pub workspace_id: WorkspaceId,
    pub idempotency_key: String,
    pub body: serde_json::Value,
    /// When the edge received it, in milliseconds: the default `occurred_at`.
    pub received_at: i64,
}

#[derive(Clone)]
pub struct NatsLog {
    jetstream: jetstream::Context,
    ack_wait: Duration,
    /// The largest message the server takes, less room for headers.
    max_payload: usize,
    click_stream: String,
    click_subject: String,
    event_stream: String,
    event_subject: String,
}

fn unavailable(what: &str, error: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!("event log: {what}: {error}"))
}

impl NatsLog {
    /// Connects to `url` (`nats://host:port`) and makes sure the namespace's two streams
    /// exist (file storage, so a restarted NATS server keeps what it acknowledged).
    /// `namespace` is letters, digits, `-` and `_`.
    pub async fn connect(url: &str, namespace: &str) -> AppResult<NatsLog> {
        if namespace.is_empty()
            || !namespace
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return Err(AppError::invalid(
                "event_log_namespace",
                "use letters, digits, '-' and '_' only",
            ));
        }
        let client = async_nats::connect(url)
            .await
            .map_err(|error| unavailable("connect", error))?;
        let max_payload = client
            .server_info()
            .max_payload
            .saturating_sub(4 * 1024)
            .max(64 * 1024);
        let jetstream = jetstream::new(client);
        let upper = namespace.to_ascii_uppercase().replace('-', "_");
        let click_stream = format!("{upper}_CLICKS");
        let click_subject = format!("{namespace}.clicks");
        let event_stream = format!("{upper}_EVENTS");
        let event_subject = format!("{namespace}.events");
        for (name, subject) in [
            (&click_stream, &click_subject),
            (&event_stream, &event_subject),
        ] {
            jetstream
                .get_or_create_stream(stream::Config {
                    name: name.to_string(),
                    subjects: vec![subject.to_string()],
                    storage: stream::StorageType::File,
                    // A work queue: a message is gone once a worker acknowledged it, so the
                    // log holds only what the store does not have yet.
                    retention: stream::RetentionPolicy::WorkQueue,
                    duplicate_window: DUPLICATE_WINDOW,
                    ..Default::default()
                })
                .await
                .map_err(|error| unavailable("create stream", error))?;
        }
        let ack_wait = std::env::var("TRIBUTARY_LOG_ACK_WAIT_MS")
            .ok()
            .and_then(|text| text.parse::<u64>().ok())
            .map(Duration::from_millis)
            .unwrap_or(DEFAULT_ACK_WAIT);
        Ok(NatsLog {
            jetstream,
            ack_wait,
            max_payload,
            click_stream,
            click_subject,
            event_stream,
            event_subject,
        })
    }

    async fn publish(&self, subject: &str, id: String, payload: Vec<u8>) -> AppResult<()> {
        let acked = self
            .jetstream
            .send_publish(
                subject.to_string(),
                jetstream::context::Publish::build()
                    .payload(payload.into())
                    .message_id(id),
            )
            .await
            .map_err(|error| unavailable("publish", error))?;
        // Acknowledged only once JetStream has stored it.
        acked
            .await
            .map_err(|error| unavailable("publish acknowledgement", error))?;
        Ok(())
    }

    /// Logs one batch of clicks: one message, or (when its encoding is larger than the
    /// server takes, 1 MiB by default) halves of it, each its own message.
    pub async fn publish_clicks(&self, clicks: &[Click]) -> AppResult<()> {
        let Some(first) = clicks.first() else {
            return Ok(());
        };
        let wire: Vec<WireClick<'_>> = clicks.iter().map(WireClick::from).collect();
        let payload = serde_json::to_vec(&wire)
            .map_err(|error| AppError::Internal(format!("click batch: {error}")))?;
        if payload.len() > self.max_payload && clicks.len() > 1 {
            let (front, back) = clicks.split_at(clicks.len() / 2);
            Box::pin(self.publish_clicks(front)).await?;
            return Box::pin(self.publish_clicks(back)).await;
        }
        // Click ids are unique, so the first id and the count name the batch.
        self.publish(
            &self.click_subject,
            format!("{}:{}", first.id, clicks.len()),
            payload,
        )
        .await
    }

    /// Logs one validated event.
    pub async fn publish_event(&self, event: &LoggedEvent) -> AppResult<()> {
        let payload = serde_json::to_vec(event)
            .map_err(|error| AppError::Internal(format!("event: {error}")))?;
        let id =
            crate::auth::sha256_hex(&format!("{}:{}", event.workspace_id, event.idempotency_key));
        self.publish(&self.event_subject, id, payload).await
    }

    async fn consumer(
        &self,
        stream_name: &str,
        durable: &str,
    ) -> AppResult<consumer::PullConsumer> {
        let stream = self
            .jetstream
            .get_stream(stream_name)
            .await
            .map_err(|error| unavailable("stream", error))?;
        stream
            .get_or_create_consumer(
                durable,
                consumer::pull::Config {
                    durable_name: Some(durable.to_string()),
                    ack_policy: consumer::AckPolicy::Explicit,
                    ack_wait: self.ack_wait,
                    ..Default::default()
                },
            )
            .await
            .map_err(|error| unavailable("consumer", error))
    }

    /// Removes the namespace's streams and everything in them (tests).
    pub async fn delete_streams(&self) -> AppResult<()> {
        for name in [&self.click_stream, &self.event_stream] {
            self.jetstream
                .delete_stream(name)
                .await
                .map_err(|error| unavailable("delete stream", error))?;
        }
        Ok(())
    }

    /// Consumes click batches into the store until the process stops.
    pub async fn run_click_writer(self, app: App) {
        loop {
            if let Err(error) = self.write_clicks(&app).await {
                tracing::error!(%error, "click consumer stopped; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }

    async fn write_clicks(&self, app: &App) -> AppResult<()> {
        let consumer = self.consumer(&self.click_stream, CLICK_CONSUMER).await?;
        loop {
            let mut batch = consumer
                .fetch()
                .max_messages(FETCH_BATCH)
                .expires(Duration::from_secs(1))
                .messages()
                .await
                .map_err(|error| unavailable("fetch", error))?;
            while let Some(message) = batch.next().await {
                let message = message.map_err(|error| unavailable("message", error))?;
                let sequence = message
                    .info()
                    .map_err(|error| unavailable("message info", error))?
                    .stream_sequence;
                // The batch's own name (first click id and count), which survives the stream
                // being recreated; a message without one is named by its sequence.
                let batch_id = message
                    .headers
                    .as_ref()
                    .and_then(|headers| headers.get(async_nats::header::NATS_MESSAGE_ID))
                    .map(|id| id.as_str().to_string())
                    .unwrap_or_else(|| format!("sequence:{sequence}"));
                let clicks: Vec<Click> =
                    match serde_json::from_slice::<Vec<WireClick<'_>>>(&message.payload) {
                        Ok(wire) => wire.into_iter().map(Click::from).collect(),
                        Err(error) => {
                            // Nothing will ever read it; keep it from blocking the stream.
                            tracing::error!(sequence, %error, "unreadable click batch skipped");
                            message
                                .ack()
                                .await
                                .map_err(|error| unavailable("ack", error))?;
                            continue;
                        }
                    };
                let written = app
                    .store
                    .append_logged_clicks(&clicks, &self.click_stream, &batch_id)
                    .await?;
                if written {
                    app.metrics
                        .clicks_written
                        .fetch_add(clicks.len() as u64, std::sync::atomic::Ordering::Relaxed);
                }
                message
                    .ack()
                    .await
                    .map_err(|error| unavailable("ack", error))?;
            }
        }
    }

    /// Consumes events into the store (through the same group commit as direct ingestion)
    /// until the process stops.
    pub async fn run_event_writer(self, app: App) {
        loop {
            if let Err(error) = self.write_events(&app).await {
                tracing::error!(%error, "event consumer stopped; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }

    async fn write_events(&self, app: &App) -> AppResult<()> {
        let consumer = self.consumer(&self.event_stream, EVENT_CONSUMER).await?;
        loop {
            let batch = consumer
                .fetch()
                .max_messages(FETCH_BATCH)
                .expires(Duration::from_secs(1))
                .messages()
                .await
                .map_err(|error| unavailable("fetch", error))?;
            let messages: Vec<_> = batch.collect().await;
            // Submitted together, so the group committer commits them together.
            let mut handles = Vec::with_capacity(messages.len());
            for message in messages {
                let message = message.map_err(|error| unavailable("message", error))?;
                let app = app.clone();
                handles.push(tokio::spawn(async move {
                    let outcome = apply_event(&app, &message.payload).await;
                    (message, outcome)
                }));
            }
            for handle in handles {
                let (message, outcome) = handle
                    .await
                    .map_err(|error| AppError::Internal(format!("event task: {error}")))?;
                match outcome {
                    Ok(()) => {}
                    // The store could not take it now: leave it unacknowledged, JetStream
                    // offers it again after the ack wait.
                    Err(error @ (AppError::Store(_) | AppError::Internal(_)))
                        if !matches!(error, AppError::Store(StoreError::Conflict(_))) =>
                    {
                        tracing::warn!(%error, "event not stored; it will be redelivered");
                        continue;
                    }
                    // Refused for good (invalid, or a key reused with another body): the
                    // edge could not know; log it and move on.
                    Err(error) => tracing::warn!(%error, "logged event refused"),
                }
                message
                    .ack()
                    .await
                    .map_err(|error| unavailable("ack", error))?;
            }
        }
    }
}

async fn apply_event(app: &App, payload: &[u8]) -> AppResult<()> {
    let logged: LoggedEvent =
        serde_json::from_slice(payload).map_err(|error| AppError::Invalid {
            field: None,
            message: format!("unreadable logged event: {error}"),
        })?;
    let request = ingest::parse_event(&logged.body, Timestamp::from_millis(logged.received_at))?;
    let clicks = ingest::verified_clicks(app, &request)?;
    app.ingest_queue
        .submit(Submission {
            workspace_id: logged.workspace_id,
            idempotency_key: logged.idempotency_key,
            request,
            clicks,
        })
        .await?;
    Ok(())
}

/// A click on the wire (the store row, with the ids as text).
#[derive(Serialize, Deserialize)]
struct WireClick<'a> {
    #[serde(borrow)]
    id: std::borrow::Cow<'a, str>,
    workspace_id: tributary_core::WorkspaceId,
    link_id: tributary_core::LinkId,
    partner_id: tributary_core::PartnerId,
    at: i64,
    #[serde(borrow)]
    ip_hash: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    user_agent: std::borrow::Cow<'a, str>,
    referrer: Option<String>,
    is_bot: bool,
    /// Absent in batches logged before sub-ids existed.
    #[serde(default)]
    subs: Option<Box<tributary_store::Subs>>,
}

impl<'a> From<&'a Click> for WireClick<'a> {
    fn from(click: &'a Click) -> Self {
        WireClick {
            id: click.id.as_str().into(),
            workspace_id: click.workspace_id,
            link_id: click.link_id,
            partner_id: click.partner_id,
            at: click.at.millis(),
            ip_hash: click.ip_hash.as_str().into(),
            user_agent: click.user_agent.as_str().into(),
            referrer: click.referrer.clone(),
            is_bot: click.is_bot,
            subs: click.subs.clone(),
        }
    }
}

impl From<WireClick<'_>> for Click {
    fn from(wire: WireClick<'_>) -> Self {
        Click {
            id: wire.id.into_owned(),
            workspace_id: wire.workspace_id,
            link_id: wire.link_id,
            partner_id: wire.partner_id,
            at: Timestamp::from_millis(wire.at),
            ip_hash: wire.ip_hash.into_owned(),
            user_agent: wire.user_agent.into_owned(),
            referrer: wire.referrer,
            is_bot: wire.is_bot,
            subs: wire.subs,
        }
    }
}
