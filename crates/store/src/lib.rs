//! Persistence for Tributary. Callers see two traits: [`Store`] (a handle to a database)
//! and [`Tx`] (one transaction on it, read or write). Application code is written once
//! against these; each backend (SQLite now, PostgreSQL next) implements them with its own
//! SQL and migrations. Only the binary names a concrete backend.

pub mod copy;
pub mod model;
pub mod postgres;
pub mod sqlite;
#[cfg(feature = "testing")]
pub mod testing;

use async_trait::async_trait;
pub use model::*;
use tributary_core::commission::{CommissionState, StoredEvent};
use tributary_core::ledger::{PartnerBalance, Transaction};
use tributary_core::*;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness or foreign-key rule was violated; the message names it.
    #[error("conflict: {0}")]
    Conflict(String),
    /// A row held a value this version cannot read (a corrupt or foreign database).
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// The database failed or refused the statement (connection lost, disk full, a
    /// deadlock victim...). The message is the driver's.
    #[error("database error: {0}")]
    Database(String),
}

impl From<rusqlite::Error> for StoreError {
    fn from(error: rusqlite::Error) -> Self {
        StoreError::Database(error.to_string())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A page of a listing. `limit` is capped at [`Page::MAX_LIMIT`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    pub limit: u32,
    pub offset: u32,
}

impl Page {
    pub const MAX_LIMIT: u32 = 200;
    pub const DEFAULT_LIMIT: u32 = 50;

    pub fn new(limit: Option<u32>, offset: Option<u32>) -> Self {
        Page {
            limit: limit
                .unwrap_or(Self::DEFAULT_LIMIT)
                .clamp(1, Self::MAX_LIMIT),
            offset: offset.unwrap_or(0).min(1_000_000),
        }
    }

    pub fn first(limit: u32) -> Self {
        Page::new(Some(limit), None)
    }
}

impl Default for Page {
    fn default() -> Self {
        Page::new(None, None)
    }
}

/// Filters for the commission listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommissionFilter {
    pub partner_id: Option<PartnerId>,
    pub customer_id: Option<CustomerId>,
    pub state: Option<CommissionState>,
}

/// A handle to one database.
#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// A read-only transaction (a consistent snapshot).
    async fn read(&self) -> Result<Box<dyn Tx>>;
    /// A read-write transaction. Writers are serialized by the backend where it must be.
    async fn write(&self) -> Result<Box<dyn Tx>>;
    /// Appends a batch of clicks and their daily aggregates in one transaction.
    async fn append_clicks(&self, clicks: &[Click]) -> Result<()>;
    /// Appends a batch of clicks consumed from the event log, named `batch_id` in `stream`,
    /// in one durable transaction that also records the name; false (nothing written) if
    /// that batch was applied before. Only PostgreSQL runs event-log workers (tier 2).
    async fn append_logged_clicks(
        &self,
        _clicks: &[Click],
        _stream: &str,
        _batch_id: &str,
    ) -> Result<bool> {
        Err(StoreError::Database(format!(
            "event-log workers need PostgreSQL; this store is {}",
            self.backend()
        )))
    }
    /// Applies migrations.
    async fn migrate(&self) -> Result<()>;
    /// Short name of the backend, for logs and `/healthz`.
    fn backend(&self) -> &'static str;
    /// How many write transactions are worth running at once: 1 where writers queue for
    /// one lock anyway (SQLite); more where they run side by side (PostgreSQL).
    fn parallel_writers(&self) -> usize {
        1
    }
}

/// One transaction. Dropping it without `commit` rolls it back.
#[async_trait]
pub trait Tx: Send {
    async fn commit(self: Box<Self>) -> Result<()>;
    /// Marks a point to roll back to without losing the rest of the transaction (group
    /// commit runs many requests in one transaction, each inside its own savepoint).
    async fn savepoint(&mut self) -> Result<()>;
    /// Keeps everything since the last savepoint.
    async fn release_savepoint(&mut self) -> Result<()>;
    /// Undoes everything since the last savepoint.
    async fn rollback_to_savepoint(&mut self) -> Result<()>;
    /// Holds a lock named by `scope` and `key` until this transaction ends, so two writers
    /// handling the same idempotency key or the same customer take turns. A no-op where
    /// the backend already runs one writer at a time (SQLite).
    async fn lock_key(&mut self, scope: &str, key: &str) -> Result<()>;
    /// Takes several `(scope, key)` locks at once, in one order every writer uses (so groups
    /// of requests never wait on each other in a cycle). Later `lock_key` calls for a held
    /// key cost nothing.
    async fn lock_keys(&mut self, keys: &[(&str, &str)]) -> Result<()> {
        for (scope, key) in keys {
            self.lock_key(scope, key).await?;
        }
        Ok(())
    }
    /// Says which idempotency keys and customers a group of ingested events is about to
    /// look up. Where a lookup is a network round trip (PostgreSQL), the backend reads them
    /// all at once and answers "not there" from memory afterwards; elsewhere it does nothing.
    /// Sound only for keys this transaction holds with `lock_keys`, so nobody else can add
    /// them meanwhile.
    async fn prefetch(
        &mut self,
        _idempotency_keys: &[(WorkspaceId, &str)],
        _customers: &[(WorkspaceId, &str)],
    ) -> Result<()> {
        Ok(())
    }

    // Settings (server secrets live here so every node shares them).
    async fn setting(&mut self, key: &str) -> Result<Option<String>>;
    async fn put_setting_if_absent(&mut self, key: &str, value: &str) -> Result<()>;
    /// Sets a setting, replacing its value.
    async fn put_setting(&mut self, key: &str, value: &str) -> Result<()>;

    // Attribution: shares, coupons, deals, audit (issue 5).
    /// Replaces a program's attribution model and precedence.
    async fn set_program_attribution(
        &mut self,
        program_id: ProgramId,
        settings: &tributary_core::multitouch::Settings,
    ) -> Result<()>;
    /// The shares of a customer credited to several partners, largest first; none for a
    /// customer bound to one partner.
    async fn customer_shares(
        &mut self,
        customer_id: CustomerId,
    ) -> Result<Vec<tributary_core::attribution::BoundShare>>;
    /// Every customer's shares in a workspace, by customer (replay).
    async fn workspace_customer_shares(
        &mut self,
        workspace_id: WorkspaceId,
    ) -> Result<Vec<(CustomerId, tributary_core::attribution::BoundShare)>>;
    /// Replaces a customer's shares (none: bound to one partner).
    async fn set_customer_shares(
        &mut self,
        customer_id: CustomerId,
        program_id: ProgramId,
        shares: &[tributary_core::attribution::BoundShare],
    ) -> Result<()>;
    async fn insert_coupon(&mut self, coupon: &Coupon) -> Result<()>;
    /// A coupon by its code (upper case).
    async fn coupon(&mut self, workspace_id: WorkspaceId, code: &str) -> Result<Option<Coupon>>;
    async fn coupons(
        &mut self,
        workspace_id: WorkspaceId,
        partner_id: Option<PartnerId>,
    ) -> Result<Vec<Coupon>>;
    async fn insert_deal(&mut self, deal: &Deal) -> Result<()>;
    async fn deal(&mut self, workspace_id: WorkspaceId, id: DealId) -> Result<Option<Deal>>;
    async fn deals(
        &mut self,
        workspace_id: WorkspaceId,
        partner_id: Option<PartnerId>,
        page: Page,
    ) -> Result<Vec<Deal>>;
    async fn decide_deal(
        &mut self,
        id: DealId,
        status: &str,
        at: Timestamp,
        reason: &str,
    ) -> Result<()>;
    async fn insert_audit(&mut self, entry: &AuditEntry) -> Result<()>;
    /// A program by its id alone (the site snippet knows only the program's public key).
    async fn program_by_id(&mut self, id: ProgramId) -> Result<Option<Program>>;
    /// Points a customer's events at their (new) lead partner and link, after a
    /// re-attribution: the events' credit columns follow the binding.
    async fn set_customer_event_credit(
        &mut self,
        customer_id: CustomerId,
        partner_id: PartnerId,
        link_id: Option<LinkId>,
    ) -> Result<()>;
    /// The pending or approved deal registered for a customer in a program, if any.
    async fn open_deal(
        &mut self,
        workspace_id: WorkspaceId,
        program_id: ProgramId,
        customer_external_id: &str,
    ) -> Result<Option<Deal>>;
    /// The audit log of one subject, oldest first.
    async fn audit_entries(
        &mut self,
        workspace_id: WorkspaceId,
        subject: &str,
    ) -> Result<Vec<AuditEntry>>;

    // The partner lifecycle (issue 6).
    async fn program_lifecycle(
        &mut self,
        program_id: ProgramId,
    ) -> Result<Option<ProgramLifecycleRow>>;
    async fn program_lifecycle_by_slug(
        &mut self,
        slug: &str,
    ) -> Result<Option<ProgramLifecycleRow>>;
    /// Inserts or replaces a program's lifecycle row; a slug another program holds is a
    /// conflict.
    async fn put_program_lifecycle(&mut self, row: &ProgramLifecycleRow) -> Result<()>;
    /// Sets an enrollment's status and its reason; false when not enrolled.
    async fn set_enrollment_status(
        &mut self,
        program_id: ProgramId,
        partner_id: PartnerId,
        status: &str,
        reason: Option<&str>,
        at: Timestamp,
    ) -> Result<bool>;
    /// How many of a program's enrollments have one of these statuses.
    async fn count_enrollments(&mut self, program_id: ProgramId, statuses: &[&str]) -> Result<u64>;
    async fn insert_application(&mut self, application: &Application) -> Result<()>;
    async fn application(
        &mut self,
        workspace_id: WorkspaceId,
        id: ApplicationId,
    ) -> Result<Option<Application>>;
    /// A workspace's applications (one program's, one status), oldest first: the queue.
    async fn applications(
        &mut self,
        workspace_id: WorkspaceId,
        program_id: Option<ProgramId>,
        status: Option<&str>,
        page: Page,
    ) -> Result<Vec<Application>>;
    /// The newest application from an email to a program.
    async fn latest_application(
        &mut self,
        program_id: ProgramId,
        email: &str,
    ) -> Result<Option<Application>>;
    /// Decides a pending application; false when it was not pending (decided already).
    async fn decide_application(&mut self, decided: &Application) -> Result<bool>;
    /// Inserts an invitation; false when the program has a live or accepted one for that
    /// email (an expired one is renewed with the new token and expiry).
    async fn insert_invitation(&mut self, invitation: &Invitation) -> Result<bool>;
    async fn invitation_by_token(&mut self, token_hash: &str) -> Result<Option<Invitation>>;
    async fn invitations(
        &mut self,
        workspace_id: WorkspaceId,
        program_id: ProgramId,
        page: Page,
    ) -> Result<Vec<Invitation>>;
    /// Marks a sent invitation accepted by a partner; false when it was not `sent`.
    async fn accept_invitation(
        &mut self,
        id: InvitationId,
        partner_id: PartnerId,
        at: Timestamp,
    ) -> Result<bool>;
    async fn insert_email(&mut self, email: &Email) -> Result<()>;
    async fn email(&mut self, id: EmailId) -> Result<Option<Email>>;
    /// Records a send attempt: status, attempts, error and sent time.
    async fn update_email(&mut self, email: &Email) -> Result<()>;
    /// A workspace's emails, newest first; `to` narrows to one address.
    async fn emails(
        &mut self,
        workspace_id: WorkspaceId,
        to: Option<&str>,
        page: Page,
    ) -> Result<Vec<Email>>;
    async fn insert_partner_token(&mut self, token: &PartnerToken) -> Result<()>;
    /// Uses a one-time token: returns it and marks it used if it exists for `purpose`, is
    /// unused and unexpired at `now`; else none.
    async fn use_partner_token(
        &mut self,
        token_hash: &str,
        purpose: &str,
        now: Timestamp,
    ) -> Result<Option<PartnerToken>>;
    async fn insert_terms_version(&mut self, terms: &TermsVersion) -> Result<()>;
    /// A program's terms versions, newest first.
    async fn terms_versions(&mut self, program_id: ProgramId) -> Result<Vec<TermsVersion>>;
    /// When each of a program's terms versions was published and its grace, without the
    /// text (every credited event reads this).
    async fn terms_schedule(
        &mut self,
        program_id: ProgramId,
    ) -> Result<Vec<tributary_core::lifecycle::terms::Published>>;
    /// Records an acceptance; accepting the same version twice keeps the first.
    async fn insert_terms_acceptance(&mut self, acceptance: &TermsAcceptance) -> Result<()>;
    /// A program's acceptances (one partner's, when named), newest first.
    async fn terms_acceptances(
        &mut self,
        program_id: ProgramId,
        partner_id: Option<PartnerId>,
    ) -> Result<Vec<TermsAcceptance>>;

    async fn insert_enrollment_pause(&mut self, pause: &EnrollmentPause) -> Result<()>;
    /// Ends a partner's open suspension in a program at `at`; false when there is none.
    async fn end_suspension(
        &mut self,
        program_id: ProgramId,
        partner_id: PartnerId,
        at: Timestamp,
    ) -> Result<bool>;
    /// A program's pauses (one partner's, when named), oldest first.
    async fn enrollment_pauses(
        &mut self,
        program_id: ProgramId,
        partner_id: Option<PartnerId>,
    ) -> Result<Vec<EnrollmentPause>>;
    /// Records a forfeit; the same key twice keeps the first.
    async fn insert_forfeit(&mut self, forfeit: &CommissionForfeit) -> Result<()>;
    async fn partner_forfeits(
        &mut self,
        program_id: ProgramId,
        partner_id: PartnerId,
    ) -> Result<Vec<CommissionForfeit>>;
    async fn partner_profile(&mut self, partner_id: PartnerId) -> Result<Option<PartnerProfile>>;
    /// Inserts or replaces a partner's profile.
    async fn put_partner_profile(&mut self, profile: &PartnerProfile) -> Result<()>;
    async fn insert_content(&mut self, content: &ProgramContent) -> Result<()>;
    async fn content(
        &mut self,
        workspace_id: WorkspaceId,
        id: uuid::Uuid,
    ) -> Result<Option<ProgramContent>>;
    /// A program's content of one kind (all kinds when none), newest first, without the
    /// files (`content` reads one with its file); at most 500.
    async fn contents(
        &mut self,
        program_id: ProgramId,
        kind: Option<&str>,
    ) -> Result<Vec<ProgramContent>>;
    async fn count_download(&mut self, id: uuid::Uuid) -> Result<()>;
    /// Records a finished module; finishing it again keeps the first time.
    async fn insert_training_completion(&mut self, completion: &TrainingCompletion) -> Result<()>;
    async fn training_completions(
        &mut self,
        program_id: ProgramId,
        partner_id: PartnerId,
    ) -> Result<Vec<TrainingCompletion>>;
    /// A partner's first link, click and credited customer in a program.
    async fn partner_firsts(
        &mut self,
        program_id: ProgramId,
        partner_id: PartnerId,
    ) -> Result<PartnerFirsts>;
    /// A partner's performance in a program over `[from, to)`.
    async fn partner_performance(
        &mut self,
        program_id: ProgramId,
        partner_id: PartnerId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<PartnerPerformance>;
    /// A program's partners by revenue over `[from, to)`, highest first.
    async fn program_leaders(
        &mut self,
        program_id: ProgramId,
        from: Timestamp,
        to: Timestamp,
        limit: u32,
    ) -> Result<Vec<LeaderRow>>;
    /// A program's totals over `[from, to)`.
    async fn program_measures(
        &mut self,
        program_id: ProgramId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<ProgramMeasures>;
    async fn insert_ticket(&mut self, ticket: &Ticket) -> Result<()>;
    /// Sets a ticket's status, assignee and update time.
    async fn update_ticket(&mut self, ticket: &Ticket) -> Result<()>;
    async fn ticket(&mut self, workspace_id: WorkspaceId, id: uuid::Uuid)
    -> Result<Option<Ticket>>;
    /// A workspace's tickets (one partner's, one status), most recently updated first.
    async fn tickets(
        &mut self,
        workspace_id: WorkspaceId,
        partner_id: Option<PartnerId>,
        status: Option<&str>,
        page: Page,
    ) -> Result<Vec<Ticket>>;
    async fn insert_ticket_message(&mut self, message: &TicketMessage) -> Result<()>;
    /// A ticket's thread, oldest first (at most 1,000 messages), without the attachments'
    /// bytes (`ticket_message` reads one with its file).
    async fn ticket_messages(&mut self, ticket_id: uuid::Uuid) -> Result<Vec<TicketMessage>>;
    async fn ticket_message(
        &mut self,
        ticket_id: uuid::Uuid,
        id: uuid::Uuid,
    ) -> Result<Option<TicketMessage>>;

    // Postbacks (issue 5).
    async fn insert_postback(&mut self, postback: &Postback) -> Result<()>;
    /// A workspace's postbacks (one partner's, when named), disabled ones too.
    async fn postbacks(
        &mut self,
        workspace_id: WorkspaceId,
        partner_id: Option<PartnerId>,
    ) -> Result<Vec<Postback>>;
    async fn disable_postback(&mut self, id: uuid::Uuid, at: Timestamp) -> Result<()>;
    /// Records a delivery unless one exists for the postback and event; true when new.
    async fn insert_postback_delivery(&mut self, delivery: &PostbackDelivery) -> Result<bool>;
    async fn postback_delivery(&mut self, id: uuid::Uuid) -> Result<Option<PostbackDelivery>>;
    async fn update_postback_delivery(&mut self, delivery: &PostbackDelivery) -> Result<()>;
    async fn postback_deliveries(
        &mut self,
        workspace_id: WorkspaceId,
        partner_id: Option<PartnerId>,
        page: Page,
    ) -> Result<Vec<PostbackDelivery>>;
    /// The sub-ids a click carried, if it carried any (and its batch is written).
    async fn click_subs(&mut self, click_id: &str) -> Result<Option<Subs>>;
    /// A link's clicks and credited customers by the value of sub-id `slot` (1 to 5), most
    /// clicked first, at most 100 values.
    async fn link_sub_report(&mut self, link: &Link, slot: u8) -> Result<Vec<SubRow>>;

    // Billing webhooks (issue 5).
    async fn insert_provider_event(&mut self, event: &ProviderEventRecord) -> Result<()>;
    async fn provider_event(
        &mut self,
        workspace_id: WorkspaceId,
        provider: &str,
        event_id: &str,
    ) -> Result<Option<ProviderEventRecord>>;
    /// Parked events waiting for the payment `key`, oldest first.
    async fn parked_provider_events(
        &mut self,
        workspace_id: WorkspaceId,
        provider: &str,
        key: &str,
    ) -> Result<Vec<ProviderEventRecord>>;
    async fn set_provider_event_status(
        &mut self,
        workspace_id: WorkspaceId,
        provider: &str,
        event_id: &str,
        status: &str,
        note: &str,
    ) -> Result<()>;
    /// Records a payment under its key; a key already recorded is left as it is.
    async fn insert_provider_payment(&mut self, payment: &ProviderPayment) -> Result<()>;
    async fn provider_payment(
        &mut self,
        workspace_id: WorkspaceId,
        provider: &str,
        key: &str,
    ) -> Result<Option<ProviderPayment>>;
    async fn set_provider_refunded(
        &mut self,
        workspace_id: WorkspaceId,
        provider: &str,
        key: &str,
        refunded_minor: i64,
    ) -> Result<()>;

    // Workspaces, staff, sessions, API keys.
    async fn insert_workspace(&mut self, workspace: &Workspace) -> Result<()>;
    async fn workspace(&mut self, id: WorkspaceId) -> Result<Option<Workspace>>;
    async fn first_workspace(&mut self) -> Result<Option<Workspace>>;
    async fn insert_user(&mut self, user: &User) -> Result<()>;
    async fn user(&mut self, id: UserId) -> Result<Option<User>>;
    /// A workspace's users, oldest first (at most 1,000).
    async fn users(&mut self, workspace_id: WorkspaceId) -> Result<Vec<User>>;
    async fn user_by_email(&mut self, email: &str) -> Result<Option<User>>;
    async fn insert_session(&mut self, session: &Session) -> Result<()>;
    async fn session(&mut self, token_hash: &str) -> Result<Option<Session>>;
    async fn delete_session(&mut self, token_hash: &str) -> Result<()>;
    async fn insert_api_key(&mut self, key: &ApiKey) -> Result<()>;
    async fn api_key_by_hash(&mut self, key_hash: &str) -> Result<Option<ApiKey>>;

    // Programs and plans.
    async fn insert_program(&mut self, program: &Program) -> Result<()>;
    async fn program(
        &mut self,
        workspace_id: WorkspaceId,
        id: ProgramId,
    ) -> Result<Option<Program>>;
    async fn programs(&mut self, workspace_id: WorkspaceId, page: Page) -> Result<Vec<Program>>;
    async fn insert_plan_version(&mut self, version: &PlanVersion) -> Result<()>;
    async fn plan_version(&mut self, id: PlanVersionId) -> Result<Option<PlanVersion>>;
    /// Every version of a program's plans, all scopes, by version number.
    async fn plan_versions(&mut self, program_id: ProgramId) -> Result<Vec<PlanVersion>>;
    /// Points the program at its current default version.
    async fn set_program_plan_version(
        &mut self,
        program_id: ProgramId,
        version_id: PlanVersionId,
    ) -> Result<()>;

    // Partners and enrollments.
    async fn insert_partner(&mut self, partner: &Partner) -> Result<()>;
    async fn partner(
        &mut self,
        workspace_id: WorkspaceId,
        id: PartnerId,
    ) -> Result<Option<Partner>>;
    async fn partners(&mut self, workspace_id: WorkspaceId, page: Page) -> Result<Vec<Partner>>;
    async fn partners_by_email(&mut self, email: &str) -> Result<Vec<Partner>>;
    async fn set_partner_password(&mut self, id: PartnerId, password_hash: &str) -> Result<()>;
    async fn set_partner_payout_email(&mut self, id: PartnerId, email: Option<&str>) -> Result<()>;
    async fn insert_enrollment(&mut self, enrollment: &Enrollment) -> Result<()>;
    async fn enrollment(
        &mut self,
        program_id: ProgramId,
        partner_id: PartnerId,
    ) -> Result<Option<Enrollment>>;
    async fn enrollments(
        &mut self,
        workspace_id: WorkspaceId,
        partner_id: Option<PartnerId>,
        page: Page,
    ) -> Result<Vec<Enrollment>>;
    /// Sets a partner's group and tier in a program; false when not enrolled.
    async fn set_enrollment_segment(
        &mut self,
        program_id: ProgramId,
        partner_id: PartnerId,
        partner_group: Option<&str>,
        tier: Option<&str>,
    ) -> Result<bool>;

    // The plan engine's lookups.
    async fn insert_void(&mut self, void: &CommissionVoid) -> Result<()>;
    async fn customer_voids(&mut self, customer_id: CustomerId) -> Result<Vec<CommissionVoid>>;
    /// Customers credited to `partner_id` in the program with an event in `[from, to)`.
    async fn partner_period_customers(
        &mut self,
        program_id: ProgramId,
        partner_id: PartnerId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<CustomerId>>;
    /// Roughly how many events the database holds (all workspaces), cheaply: replay sizes
    /// its buffers by it.
    async fn event_count_estimate(&mut self) -> Result<u64>;
    /// Every customer of a workspace, by external id (the unique index serves the order;
    /// replay holds them in memory).
    async fn all_customers(&mut self, workspace_id: WorkspaceId) -> Result<Vec<Customer>>;
    /// A page of the workspace's events in storage order, after `cursor` (`None`: from the
    /// start); returns the events and the cursor to continue from (`None`: no more). The
    /// events' `customer_external_id` is left empty (replay has the customers) and their
    /// metadata unread (`metadata_json` carries it).
    async fn replay_events(
        &mut self,
        workspace_id: WorkspaceId,
        cursor: Option<String>,
        limit: u32,
    ) -> Result<(Vec<ReplayEvent>, Option<String>)>;

    // Links.
    async fn insert_link(&mut self, link: &Link) -> Result<()>;
    async fn link(&mut self, workspace_id: WorkspaceId, id: LinkId) -> Result<Option<Link>>;
    async fn link_by_id_any_workspace(&mut self, id: LinkId) -> Result<Option<Link>>;
    async fn link_by_code(&mut self, code: &str) -> Result<Option<Link>>;
    async fn links(
        &mut self,
        workspace_id: WorkspaceId,
        partner_id: Option<PartnerId>,
        page: Page,
    ) -> Result<Vec<LinkStats>>;
    /// Every link, for the redirect cache.
    async fn all_links(&mut self) -> Result<Vec<Link>>;

    // Customers, touches, events.
    async fn customer_by_external_id(
        &mut self,
        workspace_id: WorkspaceId,
        external_id: &str,
    ) -> Result<Option<Customer>>;
    async fn customer(
        &mut self,
        workspace_id: WorkspaceId,
        id: CustomerId,
    ) -> Result<Option<Customer>>;
    async fn insert_customer(&mut self, customer: &Customer) -> Result<()>;
    async fn bind_customer(
        &mut self,
        id: CustomerId,
        binding: &tributary_core::attribution::Binding,
    ) -> Result<()>;
    async fn customers(
        &mut self,
        workspace_id: WorkspaceId,
        partner_id: Option<PartnerId>,
        page: Page,
    ) -> Result<Vec<Customer>>;
    async fn insert_touch(
        &mut self,
        customer_id: CustomerId,
        touch: &tributary_core::attribution::Touch,
    ) -> Result<()>;
    async fn touches(
        &mut self,
        customer_id: CustomerId,
    ) -> Result<Vec<tributary_core::attribution::Touch>>;
    async fn event_by_idempotency_key(
        &mut self,
        workspace_id: WorkspaceId,
        key: &str,
    ) -> Result<Option<EventRecord>>;
    async fn insert_event(&mut self, event: &EventRecord) -> Result<()>;
    async fn set_event_response(&mut self, id: EventId, response_json: &str) -> Result<()>;
    /// Every event of one customer, bounded by [`MAX_EVENTS_PER_CUSTOMER`].
    async fn customer_events(&mut self, customer_id: CustomerId) -> Result<Vec<StoredEvent>>;
    async fn events(&mut self, workspace_id: WorkspaceId, page: Page) -> Result<Vec<EventRecord>>;
    async fn event(
        &mut self,
        workspace_id: WorkspaceId,
        id: EventId,
    ) -> Result<Option<EventRecord>>;

    // Commissions.
    async fn insert_commission(&mut self, commission: &CommissionRecord) -> Result<()>;
    async fn commission(
        &mut self,
        workspace_id: WorkspaceId,
        id: CommissionId,
    ) -> Result<Option<CommissionRecord>>;
    async fn commissions(
        &mut self,
        workspace_id: WorkspaceId,
        filter: &CommissionFilter,
        page: Page,
    ) -> Result<Vec<CommissionRecord>>;
    async fn customer_commissions(
        &mut self,
        customer_id: CustomerId,
    ) -> Result<Vec<CommissionRecord>>;
    /// A partner's commissions in a program whose source key is in `[from_key, to_key)`
    /// (bytewise order), oldest first: a run of click days, a bonus's periods (ADR 0006).
    async fn keyed_commissions(
        &mut self,
        program_id: ProgramId,
        partner_id: PartnerId,
        from_key: &str,
        to_key: &str,
    ) -> Result<Vec<CommissionRecord>>;
    /// Each partner's clicks in a program per UTC day for days in `[from_day, to_day)`, from
    /// the daily counts, ordered by partner and day; days without clicks are absent.
    async fn partner_daily_clicks(
        &mut self,
        program_id: ProgramId,
        from_day: i64,
        to_day: i64,
    ) -> Result<Vec<PartnerDayClicks>>;
    async fn set_commission_state(
        &mut self,
        id: CommissionId,
        from: CommissionState,
        to: CommissionState,
        payout_batch_id: Option<PayoutBatchId>,
    ) -> Result<bool>;
    /// Approved commissions of a program in one currency, for a payout batch.
    async fn approved_commissions(
        &mut self,
        workspace_id: WorkspaceId,
        program_id: ProgramId,
        currency: Currency,
    ) -> Result<Vec<CommissionRecord>>;
    async fn batch_commissions(&mut self, batch_id: PayoutBatchId)
    -> Result<Vec<CommissionRecord>>;

    // Ledger.
    async fn insert_transaction(
        &mut self,
        header: &TransactionHeader,
        transaction: &Transaction,
    ) -> Result<()>;
    async fn partner_balances(
        &mut self,
        workspace_id: WorkspaceId,
        partner_id: PartnerId,
    ) -> Result<Vec<PartnerBalance>>;
    /// Sum of all lines per currency: zero in a consistent ledger.
    async fn ledger_totals(&mut self, workspace_id: WorkspaceId) -> Result<Vec<(Currency, i64)>>;
    /// Ledger transactions whose lines do not sum to zero per currency (should be none).
    async fn unbalanced_transactions(
        &mut self,
        workspace_id: WorkspaceId,
    ) -> Result<Vec<TransactionId>>;

    // Payouts.
    async fn insert_payout_batch(
        &mut self,
        batch: &PayoutBatch,
        items: &[PayoutItem],
    ) -> Result<()>;
    async fn payout_batch(
        &mut self,
        workspace_id: WorkspaceId,
        id: PayoutBatchId,
    ) -> Result<Option<PayoutBatch>>;
    async fn payout_batches(
        &mut self,
        workspace_id: WorkspaceId,
        page: Page,
    ) -> Result<Vec<PayoutBatch>>;
    async fn payout_items(&mut self, batch_id: PayoutBatchId) -> Result<Vec<PayoutItem>>;
    async fn mark_payout_batch_paid(
        &mut self,
        id: PayoutBatchId,
        reference: &str,
        paid_at: Timestamp,
    ) -> Result<bool>;

    // Jobs (the outbox).
    /// Inserts a job unless one with the same dedupe key exists.
    async fn enqueue_job(&mut self, job: &Job) -> Result<()>;
    /// Enqueues a job that may run many times: a new key is inserted; a finished job with
    /// the key runs again at `job.run_at`; a waiting one keeps the earlier of the two times.
    /// (On PostgreSQL a running job's row is locked, so this waits for it to finish and
    /// then arms it again: the change that called for it is never missed.)
    async fn rearm_job(&mut self, job: &Job) -> Result<()>;
    async fn due_jobs(&mut self, now: Timestamp, limit: u32) -> Result<Vec<Job>>;
    /// Takes a due job for this write transaction: true if it is still due and no other
    /// transaction holds it (PostgreSQL: `FOR UPDATE SKIP LOCKED`, so a node never waits for
    /// another node's job); false means skip it. The job's effects and `finish_job` then
    /// commit together, so it runs once however many nodes poll.
    async fn claim_job(&mut self, id: JobId, now: Timestamp) -> Result<bool>;
    async fn finish_job(&mut self, id: JobId, now: Timestamp) -> Result<()>;
    async fn retry_job(&mut self, id: JobId, error: &str, run_at: Timestamp) -> Result<()>;
}

/// A customer with more events than this is refused further events (a sign of a loop in
/// the caller's integration, not of a real customer).
pub const MAX_EVENTS_PER_CUSTOMER: u32 = 10_000;

/// The column of sub-id `slot` (1 to 5).
pub(crate) fn sub_column(slot: u8) -> Result<&'static str> {
    ["sub1", "sub2", "sub3", "sub4", "sub5"]
        .get(usize::from(slot).wrapping_sub(1))
        .copied()
        .ok_or_else(|| StoreError::Conflict(format!("no sub-id {slot}")))
}
