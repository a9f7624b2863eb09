//! The SQLite transaction. Its methods stay `async` for the [`Tx`] trait but run their
//! statements in place, synchronously: a statement costs microseconds, less than any hop to
//! another thread. Only the commit, which may wait for an fsync, steps off the runtime's
//! worker. The SQL lives in one module per area; this file owns the transaction's life.

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

use super::connection::blocking;
use super::pool::{Reader, Writer};
use super::query::{classify, execute};
use crate::*;
use async_trait::async_trait;
use rusqlite::Connection;
use tributary_core::attribution::{Binding, Touch};
use tributary_core::commission::{CommissionState, StoredEvent};
use tributary_core::ledger::{PartnerBalance, Transaction};

/// One open transaction on the writer or on a reader. Dropping it without `commit` rolls
/// it back: the [`Writer`] and [`Reader`] guards end any open transaction when dropped.
pub struct SqliteTx {
    lease: Lease,
}

enum Lease {
    Writer(Writer),
    Reader(Reader),
}

impl SqliteTx {
    /// A write transaction: takes SQLite's write lock now rather than at the first write,
    /// so it cannot fail half way with a busy lock.
    pub fn write(writer: Writer) -> Result<SqliteTx> {
        execute(&writer, "BEGIN IMMEDIATE", [])?;
        Ok(SqliteTx {
            lease: Lease::Writer(writer),
        })
    }

    /// A read transaction: one consistent snapshot from its first read to its end.
    pub fn read(reader: Reader) -> Result<SqliteTx> {
        execute(&reader, "BEGIN", [])?;
        Ok(SqliteTx {
            lease: Lease::Reader(reader),
        })
    }

    fn db(&self) -> &Connection {
        match &self.lease {
            Lease::Writer(writer) => writer,
            Lease::Reader(reader) => reader,
        }
    }
}

fn commit_now(db: &Connection) -> Result<()> {
    db.prepare_cached("COMMIT")
        .and_then(|mut commit| commit.execute([]))
        .map_err(classify)?;
    Ok(())
}

#[async_trait]
impl Tx for SqliteTx {
    async fn commit(self: Box<Self>) -> Result<()> {
        // On failure the transaction is still open; dropping `self` rolls it back.
        match &self.lease {
            Lease::Writer(writer) => blocking(|| commit_now(writer)),
            Lease::Reader(reader) => commit_now(reader),
        }
    }

    async fn savepoint(&mut self) -> Result<()> {
        execute(self.db(), "SAVEPOINT request", [])?;
        Ok(())
    }

    async fn release_savepoint(&mut self) -> Result<()> {
        execute(self.db(), "RELEASE SAVEPOINT request", [])?;
        Ok(())
    }

    async fn rollback_to_savepoint(&mut self) -> Result<()> {
        // ROLLBACK TO keeps the savepoint open; release it so savepoints do not nest up.
        execute(self.db(), "ROLLBACK TO SAVEPOINT request", [])?;
        execute(self.db(), "RELEASE SAVEPOINT request", [])?;
        Ok(())
    }

    async fn lock_key(&mut self, _scope: &str, _key: &str) -> Result<()> {
        // The one writer connection already serializes every write transaction.
        Ok(())
    }

    async fn setting(&mut self, key: &str) -> Result<Option<String>> {
        accounts::setting(self.db(), key)
    }

    async fn put_setting_if_absent(&mut self, key: &str, value: &str) -> Result<()> {
        accounts::put_setting_if_absent(self.db(), key, value)
    }

    async fn set_program_attribution(
        &mut self,
        program_id: ProgramId,
        settings: &tributary_core::multitouch::Settings,
    ) -> Result<()> {
        programs::set_program_attribution(self.db(), program_id, settings)
    }

    async fn customer_shares(
        &mut self,
        customer_id: CustomerId,
    ) -> Result<Vec<tributary_core::attribution::BoundShare>> {
        attribution::customer_shares(self.db(), customer_id)
    }

    async fn workspace_customer_shares(
        &mut self,
        workspace_id: WorkspaceId,
    ) -> Result<Vec<(CustomerId, tributary_core::attribution::BoundShare)>> {
        attribution::workspace_customer_shares(self.db(), workspace_id)
    }

    async fn set_customer_shares(
        &mut self,
        customer_id: CustomerId,
        program_id: ProgramId,
        shares: &[tributary_core::attribution::BoundShare],
    ) -> Result<()> {
        attribution::set_customer_shares(self.db(), customer_id, program_id, shares)
    }

    async fn insert_coupon(&mut self, coupon: &Coupon) -> Result<()> {
        attribution::insert_coupon(self.db(), coupon)
    }

    async fn coupon(&mut self, workspace_id: WorkspaceId, code: &str) -> Result<Option<Coupon>> {
        attribution::coupon(self.db(), workspace_id, code)
    }

    async fn coupons(
        &mut self,
        workspace_id: WorkspaceId,
        partner_id: Option<PartnerId>,
    ) -> Result<Vec<Coupon>> {
        attribution::coupons(self.db(), workspace_id, partner_id)
    }

    async fn insert_deal(&mut self, deal: &Deal) -> Result<()> {
        attribution::insert_deal(self.db(), deal)
    }

    async fn deal(&mut self, workspace_id: WorkspaceId, id: DealId) -> Result<Option<Deal>> {
        attribution::deal(self.db(), workspace_id, id)
    }

    async fn deals(
        &mut self,
        workspace_id: WorkspaceId,
        partner_id: Option<PartnerId>,
        page: Page,
    ) -> Result<Vec<Deal>> {
        attribution::deals(self.db(), workspace_id, partner_id, page)
    }

    async fn decide_deal(
        &mut self,
        id: DealId,
        status: &str,
        at: Timestamp,
        reason: &str,
    ) -> Result<()> {
        attribution::decide_deal(self.db(), id, status, at, reason)
    }

    async fn insert_audit(&mut self, entry: &AuditEntry) -> Result<()> {
        attribution::insert_audit(self.db(), entry)
    }

    async fn audit_entries(
        &mut self,
        workspace_id: WorkspaceId,
        subject: &str,
    ) -> Result<Vec<AuditEntry>> {
        attribution::audit_entries(self.db(), workspace_id, subject)
    }

    async fn set_customer_event_credit(
        &mut self,
        customer_id: CustomerId,
        partner_id: PartnerId,
        link_id: Option<LinkId>,
    ) -> Result<()> {
        attribution::set_customer_event_credit(self.db(), customer_id, partner_id, link_id)
    }

    async fn open_deal(
        &mut self,
        workspace_id: WorkspaceId,
        program_id: ProgramId,
        customer_external_id: &str,
    ) -> Result<Option<Deal>> {
        attribution::open_deal(self.db(), workspace_id, program_id, customer_external_id)
    }

    async fn program_by_id(&mut self, id: ProgramId) -> Result<Option<Program>> {
        programs::program_by_id(self.db(), id)
    }

    async fn program_lifecycle(
        &mut self,
        program_id: ProgramId,
    ) -> Result<Option<ProgramLifecycleRow>> {
        lifecycle::program_lifecycle(self.db(), program_id)
    }

    async fn program_lifecycle_by_slug(
        &mut self,
        slug: &str,
    ) -> Result<Option<ProgramLifecycleRow>> {
        lifecycle::program_lifecycle_by_slug(self.db(), slug)
    }

    async fn put_program_lifecycle(&mut self, row: &ProgramLifecycleRow) -> Result<()> {
        lifecycle::put_program_lifecycle(self.db(), row)
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
    }

    async fn count_enrollments(&mut self, program_id: ProgramId, statuses: &[&str]) -> Result<u64> {
        lifecycle::count_enrollments(self.db(), program_id, statuses)
    }

    async fn insert_application(&mut self, application: &Application) -> Result<()> {
        lifecycle::insert_application(self.db(), application)
    }

    async fn application(
        &mut self,
        workspace_id: WorkspaceId,
        id: ApplicationId,
    ) -> Result<Option<Application>> {
        lifecycle::application(self.db(), workspace_id, id)
    }

    async fn applications(
        &mut self,
        workspace_id: WorkspaceId,
        program_id: Option<ProgramId>,
        status: Option<&str>,
        page: Page,
    ) -> Result<Vec<Application>> {
        lifecycle::applications(self.db(), workspace_id, program_id, status, page)
    }

    async fn latest_application(
        &mut self,
        program_id: ProgramId,
        email: &str,
    ) -> Result<Option<Application>> {
        lifecycle::latest_application(self.db(), program_id, email)
    }

    async fn decide_application(&mut self, decided: &Application) -> Result<bool> {
        lifecycle::decide_application(self.db(), decided)
    }

    async fn insert_invitation(&mut self, invitation: &Invitation) -> Result<bool> {
        lifecycle::insert_invitation(self.db(), invitation)
    }

    async fn invitation_by_token(&mut self, token_hash: &str) -> Result<Option<Invitation>> {
        lifecycle::invitation_by_token(self.db(), token_hash)
    }

    async fn invitations(
        &mut self,
        workspace_id: WorkspaceId,
        program_id: ProgramId,
        page: Page,
    ) -> Result<Vec<Invitation>> {
        lifecycle::invitations(self.db(), workspace_id, program_id, page)
    }

    async fn accept_invitation(
        &mut self,
        id: InvitationId,
        partner_id: PartnerId,
        at: Timestamp,
    ) -> Result<bool> {
        lifecycle::accept_invitation(self.db(), id, partner_id, at)
    }

    async fn insert_email(&mut self, email: &Email) -> Result<()> {
        lifecycle::insert_email(self.db(), email)
    }

    async fn email(&mut self, id: EmailId) -> Result<Option<Email>> {
        lifecycle::email(self.db(), id)
    }

    async fn update_email(&mut self, email: &Email) -> Result<()> {
        lifecycle::update_email(self.db(), email)
    }

    async fn emails(
        &mut self,
        workspace_id: WorkspaceId,
        to: Option<&str>,
        page: Page,
    ) -> Result<Vec<Email>> {
        lifecycle::emails(self.db(), workspace_id, to, page)
    }

    async fn insert_partner_token(&mut self, token: &PartnerToken) -> Result<()> {
        lifecycle::insert_partner_token(self.db(), token)
    }

    async fn use_partner_token(
        &mut self,
        token_hash: &str,
        purpose: &str,
        now: Timestamp,
    ) -> Result<Option<PartnerToken>> {
        lifecycle::use_partner_token(self.db(), token_hash, purpose, now)
    }

    async fn insert_terms_version(&mut self, terms: &TermsVersion) -> Result<()> {
        lifecycle::insert_terms_version(self.db(), terms)
    }

    async fn terms_versions(&mut self, program_id: ProgramId) -> Result<Vec<TermsVersion>> {
        lifecycle::terms_versions(self.db(), program_id)
    }

    async fn terms_schedule(
        &mut self,
        program_id: ProgramId,
    ) -> Result<Vec<tributary_core::lifecycle::terms::Published>> {
        lifecycle::terms_schedule(self.db(), program_id)
    }

    async fn insert_terms_acceptance(&mut self, acceptance: &TermsAcceptance) -> Result<()> {
        lifecycle::insert_terms_acceptance(self.db(), acceptance)
    }

    async fn terms_acceptances(
        &mut self,
        program_id: ProgramId,
        partner_id: Option<PartnerId>,
    ) -> Result<Vec<TermsAcceptance>> {
        lifecycle::terms_acceptances(self.db(), program_id, partner_id)
    }

    async fn insert_enrollment_pause(&mut self, pause: &EnrollmentPause) -> Result<()> {
        lifecycle::insert_enrollment_pause(self.db(), pause)
    }

    async fn end_suspension(
        &mut self,
        program_id: ProgramId,
        partner_id: PartnerId,
        at: Timestamp,
    ) -> Result<bool> {
        lifecycle::end_suspension(self.db(), program_id, partner_id, at)
    }

    async fn enrollment_pauses(
        &mut self,
        program_id: ProgramId,
        partner_id: Option<PartnerId>,
    ) -> Result<Vec<EnrollmentPause>> {
        lifecycle::enrollment_pauses(self.db(), program_id, partner_id)
    }

    async fn insert_forfeit(&mut self, forfeit: &CommissionForfeit) -> Result<()> {
        lifecycle::insert_forfeit(self.db(), forfeit)
    }

    async fn partner_forfeits(
        &mut self,
        program_id: ProgramId,
        partner_id: PartnerId,
    ) -> Result<Vec<CommissionForfeit>> {
        lifecycle::partner_forfeits(self.db(), program_id, partner_id)
    }

    async fn partner_profile(&mut self, partner_id: PartnerId) -> Result<Option<PartnerProfile>> {
        content::partner_profile(self.db(), partner_id)
    }

    async fn put_partner_profile(&mut self, profile: &PartnerProfile) -> Result<()> {
        content::put_partner_profile(self.db(), profile)
    }

    async fn insert_content(&mut self, content: &ProgramContent) -> Result<()> {
        content::insert_content(self.db(), content)
    }

    async fn content(
        &mut self,
        workspace_id: WorkspaceId,
        id: uuid::Uuid,
    ) -> Result<Option<ProgramContent>> {
        content::content(self.db(), workspace_id, id)
    }

    async fn contents(
        &mut self,
        program_id: ProgramId,
        kind: Option<&str>,
    ) -> Result<Vec<ProgramContent>> {
        content::contents(self.db(), program_id, kind)
    }

    async fn count_download(&mut self, id: uuid::Uuid) -> Result<()> {
        content::count_download(self.db(), id)
    }

    async fn insert_training_completion(&mut self, completion: &TrainingCompletion) -> Result<()> {
        content::insert_training_completion(self.db(), completion)
    }

    async fn training_completions(
        &mut self,
        program_id: ProgramId,
        partner_id: PartnerId,
    ) -> Result<Vec<TrainingCompletion>> {
        content::training_completions(self.db(), program_id, partner_id)
    }

    async fn partner_firsts(
        &mut self,
        program_id: ProgramId,
        partner_id: PartnerId,
    ) -> Result<PartnerFirsts> {
        content::partner_firsts(self.db(), program_id, partner_id)
    }

    async fn partner_performance(
        &mut self,
        program_id: ProgramId,
        partner_id: PartnerId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<PartnerPerformance> {
        content::partner_performance(self.db(), program_id, partner_id, from, to)
    }

    async fn program_leaders(
        &mut self,
        program_id: ProgramId,
        from: Timestamp,
        to: Timestamp,
        limit: u32,
    ) -> Result<Vec<LeaderRow>> {
        content::program_leaders(self.db(), program_id, from, to, limit)
    }

    async fn program_measures(
        &mut self,
        program_id: ProgramId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<ProgramMeasures> {
        content::program_measures(self.db(), program_id, from, to)
    }

    async fn insert_ticket(&mut self, ticket: &Ticket) -> Result<()> {
        support::insert_ticket(self.db(), ticket)
    }

    async fn update_ticket(&mut self, ticket: &Ticket) -> Result<()> {
        support::update_ticket(self.db(), ticket)
    }

    async fn ticket(
        &mut self,
        workspace_id: WorkspaceId,
        id: uuid::Uuid,
    ) -> Result<Option<Ticket>> {
        support::ticket(self.db(), workspace_id, id)
    }

    async fn tickets(
        &mut self,
        workspace_id: WorkspaceId,
        partner_id: Option<PartnerId>,
        status: Option<&str>,
        page: Page,
    ) -> Result<Vec<Ticket>> {
        support::tickets(self.db(), workspace_id, partner_id, status, page)
    }

    async fn insert_ticket_message(&mut self, message: &TicketMessage) -> Result<()> {
        support::insert_ticket_message(self.db(), message)
    }

    async fn ticket_message(
        &mut self,
        ticket_id: uuid::Uuid,
        id: uuid::Uuid,
    ) -> Result<Option<TicketMessage>> {
        support::ticket_message(self.db(), ticket_id, id)
    }

    async fn ticket_messages(&mut self, ticket_id: uuid::Uuid) -> Result<Vec<TicketMessage>> {
        support::ticket_messages(self.db(), ticket_id)
    }

    async fn insert_postback(&mut self, postback: &Postback) -> Result<()> {
        postbacks::insert_postback(self.db(), postback)
    }

    async fn postbacks(
        &mut self,
        workspace_id: WorkspaceId,
        partner_id: Option<PartnerId>,
    ) -> Result<Vec<Postback>> {
        postbacks::postbacks(self.db(), workspace_id, partner_id)
    }

    async fn disable_postback(&mut self, id: uuid::Uuid, at: Timestamp) -> Result<()> {
        postbacks::disable_postback(self.db(), id, at)
    }

    async fn insert_postback_delivery(&mut self, delivery: &PostbackDelivery) -> Result<bool> {
        postbacks::insert_postback_delivery(self.db(), delivery)
    }

    async fn postback_delivery(&mut self, id: uuid::Uuid) -> Result<Option<PostbackDelivery>> {
        postbacks::postback_delivery(self.db(), id)
    }

    async fn update_postback_delivery(&mut self, delivery: &PostbackDelivery) -> Result<()> {
        postbacks::update_postback_delivery(self.db(), delivery)
    }

    async fn postback_deliveries(
        &mut self,
        workspace_id: WorkspaceId,
        partner_id: Option<PartnerId>,
        page: Page,
    ) -> Result<Vec<PostbackDelivery>> {
        postbacks::postback_deliveries(self.db(), workspace_id, partner_id, page)
    }

    async fn click_subs(&mut self, click_id: &str) -> Result<Option<Subs>> {
        postbacks::click_subs(self.db(), click_id)
    }

    async fn link_sub_report(&mut self, link: &Link, slot: u8) -> Result<Vec<SubRow>> {
        postbacks::link_sub_report(self.db(), link, slot)
    }

    async fn put_setting(&mut self, key: &str, value: &str) -> Result<()> {
        billing::put_setting(self.db(), key, value)
    }

    async fn insert_provider_event(&mut self, event: &ProviderEventRecord) -> Result<()> {
        billing::insert_provider_event(self.db(), event)
    }

    async fn provider_event(
        &mut self,
        workspace_id: WorkspaceId,
        provider: &str,
        event_id: &str,
    ) -> Result<Option<ProviderEventRecord>> {
        billing::provider_event(self.db(), workspace_id, provider, event_id)
    }

    async fn parked_provider_events(
        &mut self,
        workspace_id: WorkspaceId,
        provider: &str,
        key: &str,
    ) -> Result<Vec<ProviderEventRecord>> {
        billing::parked_provider_events(self.db(), workspace_id, provider, key)
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
    }

    async fn insert_provider_payment(&mut self, payment: &ProviderPayment) -> Result<()> {
        billing::insert_provider_payment(self.db(), payment)
    }

    async fn provider_payment(
        &mut self,
        workspace_id: WorkspaceId,
        provider: &str,
        key: &str,
    ) -> Result<Option<ProviderPayment>> {
        billing::provider_payment(self.db(), workspace_id, provider, key)
    }

    async fn set_provider_refunded(
        &mut self,
        workspace_id: WorkspaceId,
        provider: &str,
        key: &str,
        refunded_minor: i64,
    ) -> Result<()> {
        billing::set_provider_refunded(self.db(), workspace_id, provider, key, refunded_minor)
    }

    async fn insert_workspace(&mut self, workspace: &Workspace) -> Result<()> {
        accounts::insert_workspace(self.db(), workspace)
    }

    async fn workspace(&mut self, id: WorkspaceId) -> Result<Option<Workspace>> {
        accounts::workspace(self.db(), id)
    }

    async fn first_workspace(&mut self) -> Result<Option<Workspace>> {
        accounts::first_workspace(self.db())
    }

    async fn insert_user(&mut self, user: &User) -> Result<()> {
        accounts::insert_user(self.db(), user)
    }

    async fn user(&mut self, id: UserId) -> Result<Option<User>> {
        accounts::user(self.db(), id)
    }

    async fn users(&mut self, workspace_id: WorkspaceId) -> Result<Vec<User>> {
        accounts::users(self.db(), workspace_id)
    }

    async fn user_by_email(&mut self, email: &str) -> Result<Option<User>> {
        accounts::user_by_email(self.db(), email)
    }

    async fn insert_session(&mut self, session: &Session) -> Result<()> {
        accounts::insert_session(self.db(), session)
    }

    async fn session(&mut self, token_hash: &str) -> Result<Option<Session>> {
        accounts::session(self.db(), token_hash)
    }

    async fn delete_session(&mut self, token_hash: &str) -> Result<()> {
        accounts::delete_session(self.db(), token_hash)
    }

    async fn insert_api_key(&mut self, key: &ApiKey) -> Result<()> {
        accounts::insert_api_key(self.db(), key)
    }

    async fn api_key_by_hash(&mut self, key_hash: &str) -> Result<Option<ApiKey>> {
        accounts::api_key_by_hash(self.db(), key_hash)
    }

    async fn insert_program(&mut self, program: &Program) -> Result<()> {
        programs::insert_program(self.db(), program)
    }

    async fn program(
        &mut self,
        workspace_id: WorkspaceId,
        id: ProgramId,
    ) -> Result<Option<Program>> {
        programs::program(self.db(), workspace_id, id)
    }

    async fn programs(&mut self, workspace_id: WorkspaceId, page: Page) -> Result<Vec<Program>> {
        programs::programs(self.db(), workspace_id, page)
    }

    async fn insert_plan_version(&mut self, version: &PlanVersion) -> Result<()> {
        programs::insert_plan_version(self.db(), version)
    }

    async fn plan_version(&mut self, id: PlanVersionId) -> Result<Option<PlanVersion>> {
        programs::plan_version(self.db(), id)
    }

    async fn plan_versions(&mut self, program_id: ProgramId) -> Result<Vec<PlanVersion>> {
        programs::plan_versions(self.db(), program_id)
    }

    async fn set_program_plan_version(
        &mut self,
        program_id: ProgramId,
        version_id: PlanVersionId,
    ) -> Result<()> {
        programs::set_program_plan_version(self.db(), program_id, version_id)
    }

    async fn set_enrollment_segment(
        &mut self,
        program_id: ProgramId,
        partner_id: PartnerId,
        partner_group: Option<&str>,
        tier: Option<&str>,
    ) -> Result<bool> {
        programs::set_enrollment_segment(self.db(), program_id, partner_id, partner_group, tier)
    }

    async fn insert_void(&mut self, void: &CommissionVoid) -> Result<()> {
        events::insert_void(self.db(), void)
    }

    async fn customer_voids(&mut self, customer_id: CustomerId) -> Result<Vec<CommissionVoid>> {
        events::customer_voids(self.db(), customer_id)
    }

    async fn partner_period_customers(
        &mut self,
        program_id: ProgramId,
        partner_id: PartnerId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<CustomerId>> {
        events::partner_period_customers(self.db(), program_id, partner_id, from, to)
    }

    async fn event_count_estimate(&mut self) -> Result<u64> {
        events::event_count_estimate(self.db())
    }

    async fn all_customers(&mut self, workspace_id: WorkspaceId) -> Result<Vec<Customer>> {
        events::all_customers(self.db(), workspace_id)
    }

    async fn replay_events(
        &mut self,
        workspace_id: WorkspaceId,
        cursor: Option<String>,
        limit: u32,
    ) -> Result<(Vec<ReplayEvent>, Option<String>)> {
        events::replay_events(self.db(), workspace_id, cursor, limit)
    }

    async fn insert_partner(&mut self, partner: &Partner) -> Result<()> {
        programs::insert_partner(self.db(), partner)
    }

    async fn partner(
        &mut self,
        workspace_id: WorkspaceId,
        id: PartnerId,
    ) -> Result<Option<Partner>> {
        programs::partner(self.db(), workspace_id, id)
    }

    async fn partners(&mut self, workspace_id: WorkspaceId, page: Page) -> Result<Vec<Partner>> {
        programs::partners(self.db(), workspace_id, page)
    }

    async fn partners_by_email(&mut self, email: &str) -> Result<Vec<Partner>> {
        programs::partners_by_email(self.db(), email)
    }

    async fn set_partner_password(&mut self, id: PartnerId, password_hash: &str) -> Result<()> {
        programs::set_partner_password(self.db(), id, password_hash)
    }

    async fn set_partner_payout_email(&mut self, id: PartnerId, email: Option<&str>) -> Result<()> {
        programs::set_partner_payout_email(self.db(), id, email)
    }

    async fn insert_enrollment(&mut self, enrollment: &Enrollment) -> Result<()> {
        programs::insert_enrollment(self.db(), enrollment)
    }

    async fn enrollment(
        &mut self,
        program_id: ProgramId,
        partner_id: PartnerId,
    ) -> Result<Option<Enrollment>> {
        programs::enrollment(self.db(), program_id, partner_id)
    }

    async fn enrollments(
        &mut self,
        workspace_id: WorkspaceId,
        partner_id: Option<PartnerId>,
        page: Page,
    ) -> Result<Vec<Enrollment>> {
        programs::enrollments(self.db(), workspace_id, partner_id, page)
    }

    async fn insert_link(&mut self, link: &Link) -> Result<()> {
        programs::insert_link(self.db(), link)
    }

    async fn link(&mut self, workspace_id: WorkspaceId, id: LinkId) -> Result<Option<Link>> {
        programs::link(self.db(), workspace_id, id)
    }

    async fn link_by_id_any_workspace(&mut self, id: LinkId) -> Result<Option<Link>> {
        programs::link_by_id_any_workspace(self.db(), id)
    }

    async fn link_by_code(&mut self, code: &str) -> Result<Option<Link>> {
        programs::link_by_code(self.db(), code)
    }

    async fn links(
        &mut self,
        workspace_id: WorkspaceId,
        partner_id: Option<PartnerId>,
        page: Page,
    ) -> Result<Vec<LinkStats>> {
        programs::links(self.db(), workspace_id, partner_id, page)
    }

    async fn all_links(&mut self) -> Result<Vec<Link>> {
        programs::all_links(self.db())
    }

    async fn customer_by_external_id(
        &mut self,
        workspace_id: WorkspaceId,
        external_id: &str,
    ) -> Result<Option<Customer>> {
        events::customer_by_external_id(self.db(), workspace_id, external_id)
    }

    async fn customer(
        &mut self,
        workspace_id: WorkspaceId,
        id: CustomerId,
    ) -> Result<Option<Customer>> {
        events::customer(self.db(), workspace_id, id)
    }

    async fn insert_customer(&mut self, customer: &Customer) -> Result<()> {
        events::insert_customer(self.db(), customer)
    }

    async fn bind_customer(&mut self, id: CustomerId, binding: &Binding) -> Result<()> {
        events::bind_customer(self.db(), id, binding)
    }

    async fn customers(
        &mut self,
        workspace_id: WorkspaceId,
        partner_id: Option<PartnerId>,
        page: Page,
    ) -> Result<Vec<Customer>> {
        events::customers(self.db(), workspace_id, partner_id, page)
    }

    async fn insert_touch(&mut self, customer_id: CustomerId, touch: &Touch) -> Result<()> {
        events::insert_touch(self.db(), customer_id, touch)
    }

    async fn touches(&mut self, customer_id: CustomerId) -> Result<Vec<Touch>> {
        events::touches(self.db(), customer_id)
    }

    async fn event_by_idempotency_key(
        &mut self,
        workspace_id: WorkspaceId,
        key: &str,
    ) -> Result<Option<EventRecord>> {
        events::event_by_idempotency_key(self.db(), workspace_id, key)
    }

    async fn insert_event(&mut self, event: &EventRecord) -> Result<()> {
        events::insert_event(self.db(), event)
    }

    async fn set_event_response(&mut self, id: EventId, response_json: &str) -> Result<()> {
        events::set_event_response(self.db(), id, response_json)
    }

    async fn customer_events(&mut self, customer_id: CustomerId) -> Result<Vec<StoredEvent>> {
        events::customer_events(self.db(), customer_id)
    }

    async fn events(&mut self, workspace_id: WorkspaceId, page: Page) -> Result<Vec<EventRecord>> {
        events::events(self.db(), workspace_id, page)
    }

    async fn event(
        &mut self,
        workspace_id: WorkspaceId,
        id: EventId,
    ) -> Result<Option<EventRecord>> {
        events::event(self.db(), workspace_id, id)
    }

    async fn insert_commission(&mut self, commission: &CommissionRecord) -> Result<()> {
        commissions::insert_commission(self.db(), commission)
    }

    async fn commission(
        &mut self,
        workspace_id: WorkspaceId,
        id: CommissionId,
    ) -> Result<Option<CommissionRecord>> {
        commissions::commission(self.db(), workspace_id, id)
    }

    async fn commissions(
        &mut self,
        workspace_id: WorkspaceId,
        filter: &CommissionFilter,
        page: Page,
    ) -> Result<Vec<CommissionRecord>> {
        commissions::commissions(self.db(), workspace_id, filter, page)
    }

    async fn customer_commissions(
        &mut self,
        customer_id: CustomerId,
    ) -> Result<Vec<CommissionRecord>> {
        commissions::customer_commissions(self.db(), customer_id)
    }

    async fn keyed_commissions(
        &mut self,
        program_id: ProgramId,
        partner_id: PartnerId,
        from_key: &str,
        to_key: &str,
    ) -> Result<Vec<CommissionRecord>> {
        commissions::keyed_commissions(self.db(), program_id, partner_id, from_key, to_key)
    }

    async fn partner_daily_clicks(
        &mut self,
        program_id: ProgramId,
        from_day: i64,
        to_day: i64,
    ) -> Result<Vec<PartnerDayClicks>> {
        programs::partner_daily_clicks(self.db(), program_id, from_day, to_day)
    }

    async fn set_commission_state(
        &mut self,
        id: CommissionId,
        from: CommissionState,
        to: CommissionState,
        payout_batch_id: Option<PayoutBatchId>,
    ) -> Result<bool> {
        commissions::set_commission_state(self.db(), id, from, to, payout_batch_id)
    }

    async fn approved_commissions(
        &mut self,
        workspace_id: WorkspaceId,
        program_id: ProgramId,
        currency: Currency,
    ) -> Result<Vec<CommissionRecord>> {
        commissions::approved_commissions(self.db(), workspace_id, program_id, currency)
    }

    async fn batch_commissions(
        &mut self,
        batch_id: PayoutBatchId,
    ) -> Result<Vec<CommissionRecord>> {
        commissions::batch_commissions(self.db(), batch_id)
    }

    async fn insert_transaction(
        &mut self,
        header: &TransactionHeader,
        transaction: &Transaction,
    ) -> Result<()> {
        ledger::insert_transaction(self.db(), header, transaction)
    }

    async fn partner_balances(
        &mut self,
        workspace_id: WorkspaceId,
        partner_id: PartnerId,
    ) -> Result<Vec<PartnerBalance>> {
        ledger::partner_balances(self.db(), workspace_id, partner_id)
    }

    async fn ledger_totals(&mut self, workspace_id: WorkspaceId) -> Result<Vec<(Currency, i64)>> {
        ledger::ledger_totals(self.db(), workspace_id)
    }

    async fn unbalanced_transactions(
        &mut self,
        workspace_id: WorkspaceId,
    ) -> Result<Vec<TransactionId>> {
        ledger::unbalanced_transactions(self.db(), workspace_id)
    }

    async fn insert_payout_batch(
        &mut self,
        batch: &PayoutBatch,
        items: &[PayoutItem],
    ) -> Result<()> {
        ledger::insert_payout_batch(self.db(), batch, items)
    }

    async fn payout_batch(
        &mut self,
        workspace_id: WorkspaceId,
        id: PayoutBatchId,
    ) -> Result<Option<PayoutBatch>> {
        ledger::payout_batch(self.db(), workspace_id, id)
    }

    async fn payout_batches(
        &mut self,
        workspace_id: WorkspaceId,
        page: Page,
    ) -> Result<Vec<PayoutBatch>> {
        ledger::payout_batches(self.db(), workspace_id, page)
    }

    async fn payout_items(&mut self, batch_id: PayoutBatchId) -> Result<Vec<PayoutItem>> {
        ledger::payout_items(self.db(), batch_id)
    }

    async fn mark_payout_batch_paid(
        &mut self,
        id: PayoutBatchId,
        reference: &str,
        paid_at: Timestamp,
    ) -> Result<bool> {
        ledger::mark_payout_batch_paid(self.db(), id, reference, paid_at)
    }

    async fn rearm_job(&mut self, job: &Job) -> Result<()> {
        jobs::rearm_job(self.db(), job)
    }

    async fn enqueue_job(&mut self, job: &Job) -> Result<()> {
        jobs::enqueue_job(self.db(), job)
    }

    async fn due_jobs(&mut self, now: Timestamp, limit: u32) -> Result<Vec<Job>> {
        jobs::due_jobs(self.db(), now, limit)
    }

    async fn claim_job(&mut self, id: JobId, now: Timestamp) -> Result<bool> {
        jobs::claim_job(self.db(), id, now)
    }

    async fn finish_job(&mut self, id: JobId, now: Timestamp) -> Result<()> {
        jobs::finish_job(self.db(), id, now)
    }

    async fn retry_job(&mut self, id: JobId, error: &str, run_at: Timestamp) -> Result<()> {
        jobs::retry_job(self.db(), id, error, run_at)
    }
}
