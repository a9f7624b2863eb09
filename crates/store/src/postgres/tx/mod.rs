//! The PostgreSQL transaction. A write transaction runs at READ COMMITTED: writers on
//! several connections and nodes run side by side, and take turns only where they must,
//! through `lock_key` (an advisory lock held to the end of the transaction) and through
//! conditional updates (`set_commission_state` changes a row only from the state the
//! caller saw). A read transaction is REPEATABLE READ, READ ONLY: one snapshot from its
//! first statement to its end, like SQLite's. The SQL lives in one module per area.

mod accounts;
mod attribution;
mod billing;
mod commissions;
mod content;
mod events;
mod jobs;
mod ledger;
mod lifecycle;
mod postbacks;
mod programs;
mod support;

use super::query::{Db, batch, execute};
use crate::*;
use async_trait::async_trait;
use std::collections::HashSet;
use std::future::Future;
use tributary_core::attribution::{Binding, Touch};
use tributary_core::commission::{CommissionState, StoredEvent};
use tributary_core::ledger::{PartnerBalance, Transaction};
use uuid::Uuid;

/// One open transaction on a pooled connection. Dropping it without `commit` rolls it
/// back (on a spawned task: rollback is a round trip) before the connection returns to the
/// pool.
///
/// Savepoints cost no round trip of their own: `SAVEPOINT` and `RELEASE` wait in `pending`
/// and go out on the wire just ahead of the next statement (or the commit), which is
/// answered after them, so a failure of theirs surfaces there (a transaction whose
/// savepoint failed is aborted, and the next statement says so). On a loopback round trip
/// of ~0.25 ms, that is two of an ingested event's round trips saved.
pub struct PgTx {
    db: Option<Db>,
    pending: Option<&'static str>,
    /// Advisory locks taken outside any savepoint (they last to the end of the transaction;
    /// one taken inside a savepoint is released if the savepoint is rolled back).
    held: HashSet<String>,
    in_savepoint: bool,
    /// Known not to exist, from `prefetch`; an insert takes its key out again. Only ever
    /// shrinks after the prefetch, so a savepoint rolled back leaves it safe (a removed key
    /// is simply asked of the database again).
    absent_events: HashSet<(Uuid, String)>,
    absent_customers: HashSet<(Uuid, String)>,
    /// Customers created in this transaction that have no touch yet.
    touchless_customers: HashSet<Uuid>,
}

impl PgTx {
    /// `BEGIN` goes out with the first statement, like a savepoint: no round trip of its own.
    pub async fn write(db: Db) -> Result<PgTx> {
        Ok(PgTx::new(db, "BEGIN ISOLATION LEVEL READ COMMITTED"))
    }

    pub async fn read(db: Db) -> Result<PgTx> {
        Ok(PgTx::new(
            db,
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        ))
    }

    fn new(db: Db, begin: &'static str) -> PgTx {
        PgTx {
            db: Some(db),
            pending: Some(begin),
            held: HashSet::new(),
            in_savepoint: false,
            absent_events: HashSet::new(),
            absent_customers: HashSet::new(),
            touchless_customers: HashSet::new(),
        }
    }

    /// The connection, with any pending savepoint command sent ahead.
    fn db(&mut self) -> &Db {
        let Some(db) = &self.db else {
            unreachable!("a PgTx holds its connection until commit or drop")
        };
        if let Some(command) = self.pending.take() {
            send_ahead(db, command);
        }
        db
    }
}

/// Puts `command` on the connection's wire now without waiting for its answer: tokio-postgres
/// sends a request when its future is first polled, and the connection answers requests in
/// order, so whatever is sent next runs after it. The answer itself is dropped.
fn send_ahead(db: &Db, command: &'static str) {
    let future = std::pin::pin!(db.batch_execute(command));
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    // Ready only if it already failed (the connection is closed); the next statement reports
    // that too.
    let _ = future.poll(&mut context);
}

/// `(workspace, key)` pairs grouped by workspace.
fn by_workspace<'a>(pairs: &[(WorkspaceId, &'a str)]) -> Vec<(Uuid, Vec<&'a str>)> {
    let mut grouped: Vec<(Uuid, Vec<&'a str>)> = Vec::new();
    for (workspace, key) in pairs {
        let workspace = workspace.as_uuid();
        match grouped.iter_mut().find(|(known, _)| *known == workspace) {
            Some((_, keys)) => keys.push(key),
            None => grouped.push((workspace, vec![key])),
        }
    }
    grouped
}

fn scoped(scope: &str, key: &str) -> String {
    format!("{scope}:{key}")
}

impl Drop for PgTx {
    fn drop(&mut self) {
        if self
            .pending
            .is_some_and(|command| command.starts_with("BEGIN"))
        {
            // Nothing was ever sent: the connection is as the pool gave it.
            return;
        }
        if let Some(db) = self.db.take() {
            match tokio::runtime::Handle::try_current() {
                Ok(runtime) => {
                    runtime.spawn(async move {
                        if let Err(error) = db.batch_execute("ROLLBACK").await {
                            tracing::warn!(%error, "rollback failed; closing the connection");
                            drop(deadpool_postgres::Object::take(db));
                        }
                    });
                }
                // No runtime to roll back on: close the connection, which aborts the
                // transaction server-side, rather than return it to the pool mid-transaction.
                Err(_) => drop(deadpool_postgres::Object::take(db)),
            }
        }
    }
}

#[async_trait]
impl Tx for PgTx {
    async fn commit(mut self: Box<Self>) -> Result<()> {
        let pending = self.pending.take();
        let db = self.db.take();
        let Some(db) = db else {
            return Ok(());
        };
        let sql = match pending {
            // Nothing was ever sent: there is no transaction to end.
            Some(command) if command.starts_with("BEGIN") => return Ok(()),
            Some(command) => format!("{command}; COMMIT"),
            None => "COMMIT".to_string(),
        };
        match batch(&db, &sql).await {
            Ok(()) => Ok(()),
            Err(error) => {
                // The transaction is over either way; never reuse a connection whose
                // commit failed half way.
                drop(deadpool_postgres::Object::take(db));
                Err(error)
            }
        }
    }

    async fn savepoint(&mut self) -> Result<()> {
        if let Some(command) = self.pending.take() {
            // A BEGIN or RELEASE still waiting: it goes out first.
            send_ahead(self.db(), command);
        }
        self.pending = Some("SAVEPOINT request");
        self.in_savepoint = true;
        Ok(())
    }

    async fn release_savepoint(&mut self) -> Result<()> {
        self.in_savepoint = false;
        self.pending = match self.pending {
            // Nothing ran inside it: neither command needs to be sent.
            Some("SAVEPOINT request") => None,
            _ => Some("RELEASE SAVEPOINT request"),
        };
        Ok(())
    }

    async fn rollback_to_savepoint(&mut self) -> Result<()> {
        self.in_savepoint = false;
        if self.pending == Some("SAVEPOINT request") {
            self.pending = None;
            return Ok(());
        }
        batch(
            self.db(),
            "ROLLBACK TO SAVEPOINT request; RELEASE SAVEPOINT request",
        )
        .await
    }

    async fn lock_key(&mut self, scope: &str, key: &str) -> Result<()> {
        let name = scoped(scope, key);
        if self.held.contains(&name) {
            return Ok(());
        }
        execute(
            self.db(),
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            &[&name],
        )
        .await?;
        if !self.in_savepoint {
            self.held.insert(name);
        }
        Ok(())
    }

    async fn lock_keys(&mut self, keys: &[(&str, &str)]) -> Result<()> {
        let mut names: Vec<String> = keys
            .iter()
            .map(|(scope, key)| scoped(scope, key))
            .filter(|name| !self.held.contains(name))
            .collect();
        if names.is_empty() {
            return Ok(());
        }
        // One order for every writer on every node, so two groups never wait on each other
        // in a cycle.
        names.sort();
        names.dedup();
        execute(
            self.db(),
            "SELECT pg_advisory_xact_lock(hashtextextended(name, 0))
             FROM unnest($1::TEXT[]) WITH ORDINALITY AS wanted(name, position)
             ORDER BY position",
            &[&names],
        )
        .await?;
        if !self.in_savepoint {
            self.held.extend(names);
        }
        Ok(())
    }

    async fn prefetch(
        &mut self,
        idempotency_keys: &[(WorkspaceId, &str)],
        customers: &[(WorkspaceId, &str)],
    ) -> Result<()> {
        // One statement per workspace (a group is nearly always one), each key probed on
        // its unique index by a LATERAL ... LIMIT 1: a plain join or `= ANY` against the
        // array is free to become a scan of the whole table when the statistics lag behind
        // a fast-growing table, which they do under load.
        let keys = by_workspace(idempotency_keys);
        let ids = by_workspace(customers);
        let mut workspaces: Vec<Uuid> = keys.iter().map(|(workspace, _)| *workspace).collect();
        for (workspace, _) in &ids {
            if !workspaces.contains(workspace) {
                workspaces.push(*workspace);
            }
        }
        for workspace in workspaces {
            let wanted_keys: Vec<&str> = keys
                .iter()
                .filter(|(known, _)| *known == workspace)
                .flat_map(|(_, keys)| keys.iter().copied())
                .collect();
            let wanted_ids: Vec<&str> = ids
                .iter()
                .filter(|(known, _)| *known == workspace)
                .flat_map(|(_, ids)| ids.iter().copied())
                .collect();
            let present: HashSet<(bool, String)> = super::query::all(
                self.db(),
                "SELECT TRUE AS is_event, wanted.key FROM unnest($2::TEXT[]) AS wanted(key)
                 CROSS JOIN LATERAL (SELECT 1 FROM events
                     WHERE workspace_id = $1 AND idempotency_key = wanted.key LIMIT 1) AS found
                 UNION ALL
                 SELECT FALSE, wanted.key FROM unnest($3::TEXT[]) AS wanted(key)
                 CROSS JOIN LATERAL (SELECT 1 FROM customers
                     WHERE workspace_id = $1 AND external_id = wanted.key LIMIT 1) AS found",
                &[&workspace, &wanted_keys, &wanted_ids],
                |row| {
                    Ok((
                        super::rows::get(row, "is_event")?,
                        super::rows::get(row, "key")?,
                    ))
                },
            )
            .await?
            .into_iter()
            .collect();
            for key in wanted_keys {
                if !present.contains(&(true, key.to_string())) {
                    self.absent_events.insert((workspace, key.to_string()));
                }
            }
            for id in wanted_ids {
                if !present.contains(&(false, id.to_string())) {
                    self.absent_customers.insert((workspace, id.to_string()));
                }
            }
        }
        Ok(())
    }

    async fn setting(&mut self, key: &str) -> Result<Option<String>> {
        accounts::setting(self.db(), key).await
    }

    async fn put_setting_if_absent(&mut self, key: &str, value: &str) -> Result<()> {
        accounts::put_setting_if_absent(self.db(), key, value).await
    }

    async fn set_program_attribution(
        &mut self,
        program_id: ProgramId,
        settings: &tributary_core::multitouch::Settings,
    ) -> Result<()> {
        programs::set_program_attribution(self.db(), program_id, settings).await
    }

    async fn customer_shares(
        &mut self,
        customer_id: CustomerId,
    ) -> Result<Vec<tributary_core::attribution::BoundShare>> {
        attribution::customer_shares(self.db(), customer_id).await
    }

    async fn workspace_customer_shares(
        &mut self,
        workspace_id: WorkspaceId,
    ) -> Result<Vec<(CustomerId, tributary_core::attribution::BoundShare)>> {
        attribution::workspace_customer_shares(self.db(), workspace_id).await
    }

    async fn set_customer_shares(
        &mut self,
        customer_id: CustomerId,
        program_id: ProgramId,
        shares: &[tributary_core::attribution::BoundShare],
    ) -> Result<()> {
        attribution::set_customer_shares(self.db(), customer_id, program_id, shares).await
    }

    async fn insert_coupon(&mut self, coupon: &Coupon) -> Result<()> {
        attribution::insert_coupon(self.db(), coupon).await
    }

    async fn coupon(&mut self, workspace_id: WorkspaceId, code: &str) -> Result<Option<Coupon>> {
        attribution::coupon(self.db(), workspace_id, code).await
    }

    async fn coupons(
        &mut self,
        workspace_id: WorkspaceId,
        partner_id: Option<PartnerId>,
    ) -> Result<Vec<Coupon>> {
        attribution::coupons(self.db(), workspace_id, partner_id).await
    }

    async fn insert_deal(&mut self, deal: &Deal) -> Result<()> {
        attribution::insert_deal(self.db(), deal).await
    }

    async fn deal(&mut self, workspace_id: WorkspaceId, id: DealId) -> Result<Option<Deal>> {
        attribution::deal(self.db(), workspace_id, id).await
    }

    async fn deals(
        &mut self,
        workspace_id: WorkspaceId,
        partner_id: Option<PartnerId>,
        page: Page,
    ) -> Result<Vec<Deal>> {
        attribution::deals(self.db(), workspace_id, partner_id, page).await
    }

    async fn decide_deal(
        &mut self,
        id: DealId,
        status: &str,
        at: Timestamp,
        reason: &str,
    ) -> Result<()> {
        attribution::decide_deal(self.db(), id, status, at, reason).await
    }

    async fn insert_audit(&mut self, entry: &AuditEntry) -> Result<()> {
        attribution::insert_audit(self.db(), entry).await
    }

    async fn audit_entries(
        &mut self,
        workspace_id: WorkspaceId,
        subject: &str,
    ) -> Result<Vec<AuditEntry>> {
        attribution::audit_entries(self.db(), workspace_id, subject).await
    }

    async fn set_customer_event_credit(
        &mut self,
        customer_id: CustomerId,
        partner_id: PartnerId,
        link_id: Option<LinkId>,
    ) -> Result<()> {
        attribution::set_customer_event_credit(self.db(), customer_id, partner_id, link_id).await
    }

    async fn open_deal(
        &mut self,
        workspace_id: WorkspaceId,
        program_id: ProgramId,
        customer_external_id: &str,
    ) -> Result<Option<Deal>> {
        attribution::open_deal(self.db(), workspace_id, program_id, customer_external_id).await
    }

    async fn program_by_id(&mut self, id: ProgramId) -> Result<Option<Program>> {
        programs::program_by_id(self.db(), id).await
    }

    async fn program_lifecycle(
        &mut self,
        program_id: ProgramId,
    ) -> Result<Option<ProgramLifecycleRow>> {
        lifecycle::program_lifecycle(self.db(), program_id).await
    }

    async fn program_lifecycle_by_slug(
        &mut self,
        slug: &str,
    ) -> Result<Option<ProgramLifecycleRow>> {
        lifecycle::program_lifecycle_by_slug(self.db(), slug).await
    }

    async fn put_program_lifecycle(&mut self, row: &ProgramLifecycleRow) -> Result<()> {
        lifecycle::put_program_lifecycle(self.db(), row).await
    }

    async fn set_enrollment_status(
        &mut self,
        program_id: ProgramId,
        partner_id: PartnerId,
        status: &str,
        reason: Option<&str>,
        at: Timestamp,
    ) -> Result<bool> {
        lifecycle::set_enrollment_status(self.db(), program_id, partner_id, status, reason, at)
            .await
    }

    async fn count_enrollments(&mut self, program_id: ProgramId, statuses: &[&str]) -> Result<u64> {
        lifecycle::count_enrollments(self.db(), program_id, statuses).await
    }

    async fn insert_application(&mut self, application: &Application) -> Result<()> {
        lifecycle::insert_application(self.db(), application).await
    }

    async fn application(
        &mut self,
        workspace_id: WorkspaceId,
        id: ApplicationId,
    ) -> Result<Option<Application>> {
        lifecycle::application(self.db(), workspace_id, id).await
    }

    async fn applications(
        &mut self,
        workspace_id: WorkspaceId,
        program_id: Option<ProgramId>,
        status: Option<&str>,
        page: Page,
    ) -> Result<Vec<Application>> {
        lifecycle::applications(self.db(), workspace_id, program_id, status, page).await
    }

    async fn latest_application(
        &mut self,
        program_id: ProgramId,
        email: &str,
    ) -> Result<Option<Application>> {
        lifecycle::latest_application(self.db(), program_id, email).await
    }

    async fn decide_application(&mut self, decided: &Application) -> Result<bool> {
        lifecycle::decide_application(self.db(), decided).await
    }

    async fn insert_invitation(&mut self, invitation: &Invitation) -> Result<bool> {
        lifecycle::insert_invitation(self.db(), invitation).await
    }

    async fn invitation_by_token(&mut self, token_hash: &str) -> Result<Option<Invitation>> {
        lifecycle::invitation_by_token(self.db(), token_hash).await
    }

    async fn invitations(
        &mut self,
        workspace_id: WorkspaceId,
        program_id: ProgramId,
        page: Page,
    ) -> Result<Vec<Invitation>> {
        lifecycle::invitations(self.db(), workspace_id, program_id, page).await
    }

    async fn accept_invitation(
        &mut self,
        id: InvitationId,
        partner_id: PartnerId,
        at: Timestamp,
    ) -> Result<bool> {
        lifecycle::accept_invitation(self.db(), id, partner_id, at).await
    }

    async fn insert_email(&mut self, email: &Email) -> Result<()> {
        lifecycle::insert_email(self.db(), email).await
    }

    async fn email(&mut self, id: EmailId) -> Result<Option<Email>> {
        lifecycle::email(self.db(), id).await
    }

    async fn update_email(&mut self, email: &Email) -> Result<()> {
        lifecycle::update_email(self.db(), email).await
    }

    async fn emails(
        &mut self,
        workspace_id: WorkspaceId,
        to: Option<&str>,
        page: Page,
    ) -> Result<Vec<Email>> {
        lifecycle::emails(self.db(), workspace_id, to, page).await
    }

    async fn insert_partner_token(&mut self, token: &PartnerToken) -> Result<()> {
        lifecycle::insert_partner_token(self.db(), token).await
    }

    async fn use_partner_token(
        &mut self,
        token_hash: &str,
        purpose: &str,
        now: Timestamp,
    ) -> Result<Option<PartnerToken>> {
        lifecycle::use_partner_token(self.db(), token_hash, purpose, now).await
    }

    async fn insert_terms_version(&mut self, terms: &TermsVersion) -> Result<()> {
        lifecycle::insert_terms_version(self.db(), terms).await
    }

    async fn terms_versions(&mut self, program_id: ProgramId) -> Result<Vec<TermsVersion>> {
        lifecycle::terms_versions(self.db(), program_id).await
    }

    async fn terms_schedule(
        &mut self,
        program_id: ProgramId,
    ) -> Result<Vec<tributary_core::lifecycle::terms::Published>> {
        lifecycle::terms_schedule(self.db(), program_id).await
    }

    async fn insert_terms_acceptance(&mut self, acceptance: &TermsAcceptance) -> Result<()> {
        lifecycle::insert_terms_acceptance(self.db(), acceptance).await
    }

    async fn terms_acceptances(
        &mut self,
        program_id: ProgramId,
        partner_id: Option<PartnerId>,
    ) -> Result<Vec<TermsAcceptance>> {
        lifecycle::terms_acceptances(self.db(), program_id, partner_id).await
    }

    async fn insert_enrollment_pause(&mut self, pause: &EnrollmentPause) -> Result<()> {
        lifecycle::insert_enrollment_pause(self.db(), pause).await
    }

    async fn end_suspension(
        &mut self,
        program_id: ProgramId,
        partner_id: PartnerId,
        at: Timestamp,
    ) -> Result<bool> {
        lifecycle::end_suspension(self.db(), program_id, partner_id, at).await
    }

    async fn enrollment_pauses(
        &mut self,
        program_id: ProgramId,
        partner_id: Option<PartnerId>,
    ) -> Result<Vec<EnrollmentPause>> {
        lifecycle::enrollment_pauses(self.db(), program_id, partner_id).await
    }

    async fn insert_forfeit(&mut self, forfeit: &CommissionForfeit) -> Result<()> {
        lifecycle::insert_forfeit(self.db(), forfeit).await
    }

    async fn partner_forfeits(
        &mut self,
        program_id: ProgramId,
        partner_id: PartnerId,
    ) -> Result<Vec<CommissionForfeit>> {
        lifecycle::partner_forfeits(self.db(), program_id, partner_id).await
    }

    async fn partner_profile(&mut self, partner_id: PartnerId) -> Result<Option<PartnerProfile>> {
        content::partner_profile(self.db(), partner_id).await
    }

    async fn put_partner_profile(&mut self, profile: &PartnerProfile) -> Result<()> {
        content::put_partner_profile(self.db(), profile).await
    }

    async fn insert_content(&mut self, content: &ProgramContent) -> Result<()> {
        content::insert_content(self.db(), content).await
    }

    async fn content(
        &mut self,
        workspace_id: WorkspaceId,
        id: uuid::Uuid,
    ) -> Result<Option<ProgramContent>> {
        content::content(self.db(), workspace_id, id).await
    }

    async fn contents(
        &mut self,
        program_id: ProgramId,
        kind: Option<&str>,
    ) -> Result<Vec<ProgramContent>> {
        content::contents(self.db(), program_id, kind).await
    }

    async fn count_download(&mut self, id: uuid::Uuid) -> Result<()> {
        content::count_download(self.db(), id).await
    }

    async fn insert_training_completion(&mut self, completion: &TrainingCompletion) -> Result<()> {
        content::insert_training_completion(self.db(), completion).await
    }

    async fn training_completions(
        &mut self,
        program_id: ProgramId,
        partner_id: PartnerId,
    ) -> Result<Vec<TrainingCompletion>> {
        content::training_completions(self.db(), program_id, partner_id).await
    }

    async fn partner_firsts(
        &mut self,
        program_id: ProgramId,
        partner_id: PartnerId,
    ) -> Result<PartnerFirsts> {
        content::partner_firsts(self.db(), program_id, partner_id).await
    }

    async fn partner_performance(
        &mut self,
        program_id: ProgramId,
        partner_id: PartnerId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<PartnerPerformance> {
        content::partner_performance(self.db(), program_id, partner_id, from, to).await
    }

    async fn program_leaders(
        &mut self,
        program_id: ProgramId,
        from: Timestamp,
        to: Timestamp,
        limit: u32,
    ) -> Result<Vec<LeaderRow>> {
        content::program_leaders(self.db(), program_id, from, to, limit).await
    }

    async fn program_measures(
        &mut self,
        program_id: ProgramId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<ProgramMeasures> {
        content::program_measures(self.db(), program_id, from, to).await
    }

    async fn insert_ticket(&mut self, ticket: &Ticket) -> Result<()> {
        support::insert_ticket(self.db(), ticket).await
    }

    async fn update_ticket(&mut self, ticket: &Ticket) -> Result<()> {
        support::update_ticket(self.db(), ticket).await
    }

    async fn ticket(
        &mut self,
        workspace_id: WorkspaceId,
        id: uuid::Uuid,
    ) -> Result<Option<Ticket>> {
        support::ticket(self.db(), workspace_id, id).await
    }

    async fn tickets(
        &mut self,
        workspace_id: WorkspaceId,
        partner_id: Option<PartnerId>,
        status: Option<&str>,
        page: Page,
    ) -> Result<Vec<Ticket>> {
        support::tickets(self.db(), workspace_id, partner_id, status, page).await
    }

    async fn insert_ticket_message(&mut self, message: &TicketMessage) -> Result<()> {
        support::insert_ticket_message(self.db(), message).await
    }

    async fn ticket_message(
        &mut self,
        ticket_id: uuid::Uuid,
        id: uuid::Uuid,
    ) -> Result<Option<TicketMessage>> {
        support::ticket_message(self.db(), ticket_id, id).await
    }

    async fn ticket_messages(&mut self, ticket_id: uuid::Uuid) -> Result<Vec<TicketMessage>> {
        support::ticket_messages(self.db(), ticket_id).await
    }

    async fn insert_postback(&mut self, postback: &Postback) -> Result<()> {
        postbacks::insert_postback(self.db(), postback).await
    }

    async fn postbacks(
        &mut self,
        workspace_id: WorkspaceId,
        partner_id: Option<PartnerId>,
    ) -> Result<Vec<Postback>> {
        postbacks::postbacks(self.db(), workspace_id, partner_id).await
    }

    async fn disable_postback(&mut self, id: uuid::Uuid, at: Timestamp) -> Result<()> {
        postbacks::disable_postback(self.db(), id, at).await
    }

    async fn insert_postback_delivery(&mut self, delivery: &PostbackDelivery) -> Result<bool> {
        postbacks::insert_postback_delivery(self.db(), delivery).await
    }

    async fn postback_delivery(&mut self, id: uuid::Uuid) -> Result<Option<PostbackDelivery>> {
        postbacks::postback_delivery(self.db(), id).await
    }

    async fn update_postback_delivery(&mut self, delivery: &PostbackDelivery) -> Result<()> {
        postbacks::update_postback_delivery(self.db(), delivery).await
    }

    async fn postback_deliveries(
        &mut self,
        workspace_id: WorkspaceId,
        partner_id: Option<PartnerId>,
        page: Page,
    ) -> Result<Vec<PostbackDelivery>> {
        postbacks::postback_deliveries(self.db(), workspace_id, partner_id, page).await
    }

    async fn click_subs(&mut self, click_id: &str) -> Result<Option<Subs>> {
        postbacks::click_subs(self.db(), click_id).await
    }

    async fn link_sub_report(&mut self, link: &Link, slot: u8) -> Result<Vec<SubRow>> {
        postbacks::link_sub_report(self.db(), link, slot).await
    }

    async fn put_setting(&mut self, key: &str, value: &str) -> Result<()> {
        billing::put_setting(self.db(), key, value).await
    }

    async fn insert_provider_event(&mut self, event: &ProviderEventRecord) -> Result<()> {
        billing::insert_provider_event(self.db(), event).await
    }

    async fn provider_event(
        &mut self,
        workspace_id: WorkspaceId,
        provider: &str,
        event_id: &str,
    ) -> Result<Option<ProviderEventRecord>> {
        billing::provider_event(self.db(), workspace_id, provider, event_id).await
    }

    async fn parked_provider_events(
        &mut self,
        workspace_id: WorkspaceId,
        provider: &str,
        key: &str,
    ) -> Result<Vec<ProviderEventRecord>> {
        billing::parked_provider_events(self.db(), workspace_id, provider, key).await
    }

    async fn set_provider_event_status(
        &mut self,
        workspace_id: WorkspaceId,
        provider: &str,
        event_id: &str,
        status: &str,
        note: &str,
    ) -> Result<()> {
        billing::set_provider_event_status(
            self.db(),
            workspace_id,
            provider,
            event_id,
            status,
            note,
        )
        .await
    }

    async fn insert_provider_payment(&mut self, payment: &ProviderPayment) -> Result<()> {
        billing::insert_provider_payment(self.db(), payment).await
    }

    async fn provider_payment(
        &mut self,
        workspace_id: WorkspaceId,
        provider: &str,
        key: &str,
    ) -> Result<Option<ProviderPayment>> {
        billing::provider_payment(self.db(), workspace_id, provider, key).await
    }

    async fn set_provider_refunded(
        &mut self,
        workspace_id: WorkspaceId,
        provider: &str,
        key: &str,
        refunded_minor: i64,
    ) -> Result<()> {
        billing::set_provider_refunded(self.db(), workspace_id, provider, key, refunded_minor).await
    }

    async fn insert_workspace(&mut self, workspace: &Workspace) -> Result<()> {
        accounts::insert_workspace(self.db(), workspace).await
    }

    async fn workspace(&mut self, id: WorkspaceId) -> Result<Option<Workspace>> {
        accounts::workspace(self.db(), id).await
    }

    async fn first_workspace(&mut self) -> Result<Option<Workspace>> {
        accounts::first_workspace(self.db()).await
    }

    async fn insert_user(&mut self, user: &User) -> Result<()> {
        accounts::insert_user(self.db(), user).await
    }

    async fn user(&mut self, id: UserId) -> Result<Option<User>> {
        accounts::user(self.db(), id).await
    }

    async fn users(&mut self, workspace_id: WorkspaceId) -> Result<Vec<User>> {
        accounts::users(self.db(), workspace_id).await
    }

    async fn user_by_email(&mut self, email: &str) -> Result<Option<User>> {
        accounts::user_by_email(self.db(), email).await
    }

    async fn insert_session(&mut self, session: &Session) -> Result<()> {
        accounts::insert_session(self.db(), session).await
    }

    async fn session(&mut self, token_hash: &str) -> Result<Option<Session>> {
        accounts::session(self.db(), token_hash).await
    }

    async fn delete_session(&mut self, token_hash: &str) -> Result<()> {
        accounts::delete_session(self.db(), token_hash).await
    }

    async fn insert_api_key(&mut self, key: &ApiKey) -> Result<()> {
        accounts::insert_api_key(self.db(), key).await
    }

    async fn api_key_by_hash(&mut self, key_hash: &str) -> Result<Option<ApiKey>> {
        accounts::api_key_by_hash(self.db(), key_hash).await
    }

    async fn insert_program(&mut self, program: &Program) -> Result<()> {
        programs::insert_program(self.db(), program).await
    }

    async fn program(
        &mut self,
        workspace_id: WorkspaceId,
        id: ProgramId,
    ) -> Result<Option<Program>> {
        programs::program(self.db(), workspace_id, id).await
    }

    async fn programs(&mut self, workspace_id: WorkspaceId, page: Page) -> Result<Vec<Program>> {
        programs::programs(self.db(), workspace_id, page).await
    }

    async fn insert_plan_version(&mut self, version: &PlanVersion) -> Result<()> {
        programs::insert_plan_version(self.db(), version).await
    }

    async fn plan_version(&mut self, id: PlanVersionId) -> Result<Option<PlanVersion>> {
        programs::plan_version(self.db(), id).await
    }

    async fn plan_versions(&mut self, program_id: ProgramId) -> Result<Vec<PlanVersion>> {
        programs::plan_versions(self.db(), program_id).await
    }

    async fn set_program_plan_version(
        &mut self,
        program_id: ProgramId,
        version_id: PlanVersionId,
    ) -> Result<()> {
        programs::set_program_plan_version(self.db(), program_id, version_id).await
    }

    async fn set_enrollment_segment(
        &mut self,
        program_id: ProgramId,
        partner_id: PartnerId,
        partner_group: Option<&str>,
        tier: Option<&str>,
    ) -> Result<bool> {
        programs::set_enrollment_segment(self.db(), program_id, partner_id, partner_group, tier)
            .await
    }

    async fn insert_void(&mut self, void: &CommissionVoid) -> Result<()> {
        events::insert_void(self.db(), void).await
    }

    async fn customer_voids(&mut self, customer_id: CustomerId) -> Result<Vec<CommissionVoid>> {
        events::customer_voids(self.db(), customer_id).await
    }

    async fn partner_period_customers(
        &mut self,
        program_id: ProgramId,
        partner_id: PartnerId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<CustomerId>> {
        events::partner_period_customers(self.db(), program_id, partner_id, from, to).await
    }

    async fn event_count_estimate(&mut self) -> Result<u64> {
        events::event_count_estimate(self.db()).await
    }

    async fn all_customers(&mut self, workspace_id: WorkspaceId) -> Result<Vec<Customer>> {
        events::all_customers(self.db(), workspace_id).await
    }

    async fn replay_events(
        &mut self,
        workspace_id: WorkspaceId,
        cursor: Option<String>,
        limit: u32,
    ) -> Result<(Vec<ReplayEvent>, Option<String>)> {
        events::replay_events(self.db(), workspace_id, cursor, limit).await
    }

    async fn insert_partner(&mut self, partner: &Partner) -> Result<()> {
        programs::insert_partner(self.db(), partner).await
    }

    async fn partner(
        &mut self,
        workspace_id: WorkspaceId,
        id: PartnerId,
    ) -> Result<Option<Partner>> {
        programs::partner(self.db(), workspace_id, id).await
    }

    async fn partners(&mut self, workspace_id: WorkspaceId, page: Page) -> Result<Vec<Partner>> {
        programs::partners(self.db(), workspace_id, page).await
    }

    async fn partners_by_email(&mut self, email: &str) -> Result<Vec<Partner>> {
        programs::partners_by_email(self.db(), email).await
    }

    async fn set_partner_password(&mut self, id: PartnerId, password_hash: &str) -> Result<()> {
        programs::set_partner_password(self.db(), id, password_hash).await
    }

    async fn set_partner_payout_email(&mut self, id: PartnerId, email: Option<&str>) -> Result<()> {
        programs::set_partner_payout_email(self.db(), id, email).await
    }

    async fn insert_enrollment(&mut self, enrollment: &Enrollment) -> Result<()> {
        programs::insert_enrollment(self.db(), enrollment).await
    }

    async fn enrollment(
        &mut self,
        program_id: ProgramId,
        partner_id: PartnerId,
    ) -> Result<Option<Enrollment>> {
        programs::enrollment(self.db(), program_id, partner_id).await
    }

    async fn enrollments(
        &mut self,
        workspace_id: WorkspaceId,
        partner_id: Option<PartnerId>,
        page: Page,
    ) -> Result<Vec<Enrollment>> {
        programs::enrollments(self.db(), workspace_id, partner_id, page).await
    }

    async fn insert_link(&mut self, link: &Link) -> Result<()> {
        programs::insert_link(self.db(), link).await
    }

    async fn link(&mut self, workspace_id: WorkspaceId, id: LinkId) -> Result<Option<Link>> {
        programs::link(self.db(), workspace_id, id).await
    }

    async fn link_by_id_any_workspace(&mut self, id: LinkId) -> Result<Option<Link>> {
        programs::link_by_id_any_workspace(self.db(), id).await
    }

    async fn link_by_code(&mut self, code: &str) -> Result<Option<Link>> {
        programs::link_by_code(self.db(), code).await
    }

    async fn links(
        &mut self,
        workspace_id: WorkspaceId,
        partner_id: Option<PartnerId>,
        page: Page,
    ) -> Result<Vec<LinkStats>> {
        programs::links(self.db(), workspace_id, partner_id, page).await
    }

    async fn all_links(&mut self) -> Result<Vec<Link>> {
        programs::all_links(self.db()).await
    }

    async fn customer_by_external_id(
        &mut self,
        workspace_id: WorkspaceId,
        external_id: &str,
    ) -> Result<Option<Customer>> {
        if self
            .absent_customers
            .contains(&(workspace_id.as_uuid(), external_id.to_string()))
        {
            return Ok(None);
        }
        events::customer_by_external_id(self.db(), workspace_id, external_id).await
    }

    async fn customer(
        &mut self,
        workspace_id: WorkspaceId,
        id: CustomerId,
    ) -> Result<Option<Customer>> {
        events::customer(self.db(), workspace_id, id).await
    }

    async fn insert_customer(&mut self, customer: &Customer) -> Result<()> {
        self.absent_customers.remove(&(
            customer.workspace_id.as_uuid(),
            customer.external_id.clone(),
        ));
        events::insert_customer(self.db(), customer).await?;
        self.touchless_customers.insert(customer.id.as_uuid());
        Ok(())
    }

    async fn bind_customer(&mut self, id: CustomerId, binding: &Binding) -> Result<()> {
        events::bind_customer(self.db(), id, binding).await
    }

    async fn customers(
        &mut self,
        workspace_id: WorkspaceId,
        partner_id: Option<PartnerId>,
        page: Page,
    ) -> Result<Vec<Customer>> {
        events::customers(self.db(), workspace_id, partner_id, page).await
    }

    async fn insert_touch(&mut self, customer_id: CustomerId, touch: &Touch) -> Result<()> {
        self.touchless_customers.remove(&customer_id.as_uuid());
        events::insert_touch(self.db(), customer_id, touch).await
    }

    async fn touches(&mut self, customer_id: CustomerId) -> Result<Vec<Touch>> {
        if self.touchless_customers.contains(&customer_id.as_uuid()) {
            return Ok(Vec::new());
        }
        events::touches(self.db(), customer_id).await
    }

    async fn event_by_idempotency_key(
        &mut self,
        workspace_id: WorkspaceId,
        key: &str,
    ) -> Result<Option<EventRecord>> {
        if self
            .absent_events
            .contains(&(workspace_id.as_uuid(), key.to_string()))
        {
            return Ok(None);
        }
        events::event_by_idempotency_key(self.db(), workspace_id, key).await
    }

    async fn insert_event(&mut self, event: &EventRecord) -> Result<()> {
        self.absent_events
            .remove(&(event.workspace_id.as_uuid(), event.idempotency_key.clone()));
        events::insert_event(self.db(), event).await
    }

    async fn set_event_response(&mut self, id: EventId, response_json: &str) -> Result<()> {
        events::set_event_response(self.db(), id, response_json).await
    }

    async fn customer_events(&mut self, customer_id: CustomerId) -> Result<Vec<StoredEvent>> {
        events::customer_events(self.db(), customer_id).await
    }

    async fn events(&mut self, workspace_id: WorkspaceId, page: Page) -> Result<Vec<EventRecord>> {
        events::events(self.db(), workspace_id, page).await
    }

    async fn event(
        &mut self,
        workspace_id: WorkspaceId,
        id: EventId,
    ) -> Result<Option<EventRecord>> {
        events::event(self.db(), workspace_id, id).await
    }

    async fn insert_commission(&mut self, commission: &CommissionRecord) -> Result<()> {
        commissions::insert_commission(self.db(), commission).await
    }

    async fn commission(
        &mut self,
        workspace_id: WorkspaceId,
        id: CommissionId,
    ) -> Result<Option<CommissionRecord>> {
        commissions::commission(self.db(), workspace_id, id).await
    }

    async fn commissions(
        &mut self,
        workspace_id: WorkspaceId,
        filter: &CommissionFilter,
        page: Page,
    ) -> Result<Vec<CommissionRecord>> {
        commissions::commissions(self.db(), workspace_id, filter, page).await
    }

    async fn customer_commissions(
        &mut self,
        customer_id: CustomerId,
    ) -> Result<Vec<CommissionRecord>> {
        commissions::customer_commissions(self.db(), customer_id).await
    }

    async fn keyed_commissions(
        &mut self,
        program_id: ProgramId,
        partner_id: PartnerId,
        from_key: &str,
        to_key: &str,
    ) -> Result<Vec<CommissionRecord>> {
        commissions::keyed_commissions(self.db(), program_id, partner_id, from_key, to_key).await
    }

    async fn partner_daily_clicks(
        &mut self,
        program_id: ProgramId,
        from_day: i64,
        to_day: i64,
    ) -> Result<Vec<PartnerDayClicks>> {
        programs::partner_daily_clicks(self.db(), program_id, from_day, to_day).await
    }

    async fn set_commission_state(
        &mut self,
        id: CommissionId,
        from: CommissionState,
        to: CommissionState,
        payout_batch_id: Option<PayoutBatchId>,
    ) -> Result<bool> {
        commissions::set_commission_state(self.db(), id, from, to, payout_batch_id).await
    }

    async fn approved_commissions(
        &mut self,
        workspace_id: WorkspaceId,
        program_id: ProgramId,
        currency: Currency,
    ) -> Result<Vec<CommissionRecord>> {
        commissions::approved_commissions(self.db(), workspace_id, program_id, currency).await
    }

    async fn batch_commissions(
        &mut self,
        batch_id: PayoutBatchId,
    ) -> Result<Vec<CommissionRecord>> {
        commissions::batch_commissions(self.db(), batch_id).await
    }

    async fn insert_transaction(
        &mut self,
        header: &TransactionHeader,
        transaction: &Transaction,
    ) -> Result<()> {
        ledger::insert_transaction(self.db(), header, transaction).await
    }

    async fn partner_balances(
        &mut self,
        workspace_id: WorkspaceId,
        partner_id: PartnerId,
    ) -> Result<Vec<PartnerBalance>> {
        ledger::partner_balances(self.db(), workspace_id, partner_id).await
    }

    async fn ledger_totals(&mut self, workspace_id: WorkspaceId) -> Result<Vec<(Currency, i64)>> {
        ledger::ledger_totals(self.db(), workspace_id).await
    }

    async fn unbalanced_transactions(
        &mut self,
        workspace_id: WorkspaceId,
    ) -> Result<Vec<TransactionId>> {
        ledger::unbalanced_transactions(self.db(), workspace_id).await
    }

    async fn insert_payout_batch(
        &mut self,
        batch: &PayoutBatch,
        items: &[PayoutItem],
    ) -> Result<()> {
        ledger::insert_payout_batch(self.db(), batch, items).await
    }

    async fn payout_batch(
        &mut self,
        workspace_id: WorkspaceId,
        id: PayoutBatchId,
    ) -> Result<Option<PayoutBatch>> {
        ledger::payout_batch(self.db(), workspace_id, id).await
    }

    async fn payout_batches(
        &mut self,
        workspace_id: WorkspaceId,
        page: Page,
    ) -> Result<Vec<PayoutBatch>> {
        ledger::payout_batches(self.db(), workspace_id, page).await
    }

    async fn payout_items(&mut self, batch_id: PayoutBatchId) -> Result<Vec<PayoutItem>> {
        ledger::payout_items(self.db(), batch_id).await
    }

    async fn mark_payout_batch_paid(
        &mut self,
        id: PayoutBatchId,
        reference: &str,
        paid_at: Timestamp,
    ) -> Result<bool> {
        ledger::mark_payout_batch_paid(self.db(), id, reference, paid_at).await
    }

    async fn rearm_job(&mut self, job: &Job) -> Result<()> {
        jobs::rearm_job(self.db(), job).await
    }

    async fn enqueue_job(&mut self, job: &Job) -> Result<()> {
        jobs::enqueue_job(self.db(), job).await
    }

    async fn due_jobs(&mut self, now: Timestamp, limit: u32) -> Result<Vec<Job>> {
        jobs::due_jobs(self.db(), now, limit).await
    }

    async fn claim_job(&mut self, id: JobId, now: Timestamp) -> Result<bool> {
        let claimed = super::query::optional(
            self.db(),
            "SELECT 1 AS one FROM jobs WHERE id = $1 AND done_at IS NULL AND run_at <= $2
             FOR UPDATE SKIP LOCKED",
            &[&id.as_uuid(), &now.millis()],
            |_| Ok(()),
        )
        .await?;
        Ok(claimed.is_some())
    }

    async fn finish_job(&mut self, id: JobId, now: Timestamp) -> Result<()> {
        jobs::finish_job(self.db(), id, now).await
    }

    async fn retry_job(&mut self, id: JobId, error: &str, run_at: Timestamp) -> Result<()> {
        jobs::retry_job(self.db(), id, error, run_at).await
    }
}
