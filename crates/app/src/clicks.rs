//! The redirect's two helpers: an in-memory link cache (the redirect never queries the
//! database for a known code) and the click log, a bounded buffer drained in batches by one
//! writer task. A click is acknowledged (302) before it is written: the loss window is the
//! buffer's contents at a crash, and the self-describing `tclid` keeps a lost click's
//! conversion attributable.

use crate::event_log::EventSink;
use crate::metrics::Metrics;
use crate::{App, AppResult};
use rand::RngCore;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use tokio::sync::{mpsc, oneshot};
use tributary_core::clickid::{self, ClickFacts};
use tributary_store::{Click, Link, Store, Subs};

/// Clicks waiting for the writer at most. Beyond this the redirect still answers, and the
/// click is counted in `tributary_clicks_dropped_total`.
pub const CLICK_BUFFER: usize = 65_536;
/// Clicks written per transaction at most.
pub const CLICK_BATCH: usize = 2_000;
/// How long a click waits in the buffer at most before the writer takes it.
pub const FLUSH_INTERVAL: std::time::Duration = std::time::Duration::from_millis(5);
/// Cached links at most; a larger install falls back to the database for the rest.
pub const LINK_CACHE_MAX: usize = 1_000_000;

pub struct LinkCache {
    by_code: RwLock<HashMap<String, Arc<Link>>>,
}

impl LinkCache {
    pub async fn load(store: &dyn Store) -> AppResult<LinkCache> {
        let links = store.read().await?.all_links().await?;
        let by_code = links
            .into_iter()
            .take(LINK_CACHE_MAX)
            .map(|link| (link.code.clone(), Arc::new(link)))
            .collect();
        Ok(LinkCache {
            by_code: RwLock::new(by_code),
        })
    }

    pub fn get(&self, code: &str) -> Option<Arc<Link>> {
        self.by_code.read().ok()?.get(code).cloned()
    }

    pub fn insert(&self, link: Link) {
        if let Ok(mut map) = self.by_code.write()
            && map.len() < LINK_CACHE_MAX
        {
            map.insert(link.code.clone(), Arc::new(link));
        }
    }
}

enum Message {
    Click(Click),
    Flush(oneshot::Sender<()>),
}

#[derive(Clone)]
pub struct ClickLog {
    sender: mpsc::Sender<Message>,
    metrics: Arc<Metrics>,
}

impl ClickLog {
    /// Starts the writer task, which hands each batch to `sink`.
    pub fn start(sink: Arc<dyn EventSink>, metrics: Arc<Metrics>) -> ClickLog {
        let (sender, receiver) = mpsc::channel(CLICK_BUFFER);
        tokio::spawn(write_clicks(sink, receiver, metrics.clone()));
        ClickLog { sender, metrics }
    }

    /// Hands a click to the writer without waiting.
    pub fn record(&self, click: Click) {
        Metrics::incr(&self.metrics.clicks_accepted);
        if click.is_bot {
            Metrics::incr(&self.metrics.clicks_bot);
        }
        if self.sender.try_send(Message::Click(click)).is_err() {
            Metrics::incr(&self.metrics.clicks_dropped);
        }
    }

    /// Waits until every click recorded before this call is written (tests, shutdown).
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.sender.send(Message::Flush(done)).await.is_ok() {
            let _ = wait.await;
        }
    }
}

async fn write_clicks(
    sink: Arc<dyn EventSink>,
    mut receiver: mpsc::Receiver<Message>,
    metrics: Arc<Metrics>,
) {
    let mut batch = Vec::with_capacity(CLICK_BATCH);
    let mut waiters = Vec::new();
    // Drain on a short tick rather than waking per click: waking the writer for every click
    // costs the redirect a quarter to a half of its throughput (DESIGN.md §8), while a tick
    // bounds the wait to FLUSH_INTERVAL and lets batches grow under load.
    let mut ticker = tokio::time::interval(FLUSH_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let mut closed = false;
        loop {
            match receiver.try_recv() {
                Ok(Message::Click(click)) => {
                    batch.push(click);
                    if batch.len() >= CLICK_BATCH {
                        write_batch(sink.as_ref(), &metrics, &mut batch).await;
                    }
                }
                Ok(Message::Flush(done)) => waiters.push(done),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    closed = true;
                    break;
                }
            }
        }
        write_batch(sink.as_ref(), &metrics, &mut batch).await;
        for done in waiters.drain(..) {
            let _ = done.send(());
        }
        if closed {
            return;
        }
    }
}

async fn write_batch(sink: &dyn EventSink, metrics: &Metrics, batch: &mut Vec<Click>) {
    if batch.is_empty() {
        return;
    }
    match sink.append_clicks(batch).await {
        // Published to the event log, a batch is counted as written by the worker that
        // stores it.
        Ok(()) if !sink.stores_clicks() => {
            metrics
                .clicks_published
                .fetch_add(batch.len() as u64, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(()) => {
            metrics
                .clicks_written
                .fetch_add(batch.len() as u64, std::sync::atomic::Ordering::Relaxed);
        }
        Err(error) => {
            Metrics::incr(&metrics.click_write_errors);
            tracing::error!(clicks = batch.len(), %error, "click batch write failed; clicks lost");
        }
    }
    batch.clear();
}

/// What the redirect needs to answer one visit.
pub struct Visit<'a> {
    pub ip: &'a str,
    pub user_agent: &'a str,
    pub referrer: Option<&'a str>,
}

/// The 302's target and the click id, for a known link.
pub struct Redirect {
    pub location: String,
    pub click_id: String,
}

/// Records a click on `link` and says where to send the visitor.
pub fn click(app: &App, link: &Link, visit: Visit<'_>) -> Redirect {
    click_with(app, link, visit, Subs::default())
}

/// Longest sub-id kept, in characters.
pub const MAX_SUB_LEN: usize = 100;

/// The sub-ids in a tracking link's query (`sub1=..` to `sub5=..`, percent-decoded, control
/// characters dropped, at most [`MAX_SUB_LEN`] characters each; empty ones are absent).
pub fn subs_from_query(query: &str) -> Subs {
    let mut subs = Subs::default();
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let Some(slot) = name
            .strip_prefix("sub")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|n| (1..=5).contains(n))
        else {
            continue;
        };
        let value: String = percent_decode(value)
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_SUB_LEN)
            .collect();
        if !value.is_empty() {
            subs[slot - 1] = Some(value);
        }
    }
    subs
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte; invalid UTF-8
/// is replaced.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let hex = |byte: u8| (byte as char).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                (Some(high), Some(low)) => {
                    out.push((high * 16 + low) as u8);
                    i += 2;
                }
                _ => out.push(b'%'),
            },
            byte => out.push(byte),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A click with the sub-ids the link was followed with.
pub fn click_with(app: &App, link: &Link, visit: Visit<'_>, subs: Subs) -> Redirect {
    let click_id = record(app, link, visit, false, subs);
    Redirect {
        location: append_click_id(&link.destination_url, &click_id),
        click_id,
    }
}

/// Records a visit on `link`: a click on the tracking link itself, or (`referral`) a
/// `?via=` visit the site snippet reported. Returns the click id.
pub fn record(app: &App, link: &Link, visit: Visit<'_>, referral: bool, subs: Subs) -> String {
    let now = app.now();
    let is_bot = tributary_core::bots::is_bot(visit.user_agent);
    let mut random = [0u8; 6];
    rand::thread_rng().fill_bytes(&mut random);
    let click_id = clickid::encode(
        &app.secrets.click_key,
        ClickFacts {
            link_id: link.id,
            at: now,
            is_bot,
            referral,
        },
        random,
    );
    app.clicks.record(Click {
        id: click_id.clone(),
        workspace_id: link.workspace_id,
        link_id: link.id,
        partner_id: link.partner_id,
        at: now,
        ip_hash: app.secrets.hash_ip(visit.ip),
        user_agent: visit.user_agent.chars().take(512).collect(),
        referrer: visit
            .referrer
            .map(|referrer| referrer.chars().take(1024).collect()),
        is_bot,
        subs: subs.iter().any(Option::is_some).then(|| Box::new(subs)),
    });
    click_id
}

/// Adds `tclid=<id>` to a stored destination, before any fragment.
pub fn append_click_id(destination: &str, click_id: &str) -> String {
    let (base, fragment) = match destination.split_once('#') {
        Some((base, fragment)) => (base, Some(fragment)),
        None => (destination, None),
    };
    let separator = if base.contains('?') { '&' } else { '?' };
    let mut out = format!("{base}{separator}tclid={click_id}");
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::append_click_id;

    #[test]
    fn sub_ids_are_read_decoded_and_bounded() {
        let subs = super::subs_from_query(
            "utm=x&sub1=spring%20sale&sub3=a+b&sub6=no&sub2=&sub5=%E2%82%AC%zz",
        );
        assert_eq!(subs[0].as_deref(), Some("spring sale"));
        assert_eq!(subs[1], None, "empty is absent");
        assert_eq!(subs[2].as_deref(), Some("a b"));
        assert_eq!(subs[4].as_deref(), Some("€%zz"));
        let long = format!("sub4={}", "x".repeat(500));
        assert_eq!(
            super::subs_from_query(&long)[3].as_ref().map(String::len),
            Some(super::MAX_SUB_LEN)
        );
    }

    #[test]
    fn appends_before_fragment_and_after_query() {
        assert_eq!(
            append_click_id("https://a.example/p", "X"),
            "https://a.example/p?tclid=X"
        );
        assert_eq!(
            append_click_id("https://a.example/p?x=1#top", "X"),
            "https://a.example/p?x=1&tclid=X#top"
        );
    }
}
