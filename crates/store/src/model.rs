//! The rows the store reads and writes, as typed values.

use serde::{Deserialize, Serialize};
use tributary_core::attribution::Binding;
use tributary_core::commission::{CommissionState, Explanation, Source};
use tributary_core::event::EventFacts;
use tributary_core::plan::Plan;
use tributary_core::*;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workspace {
    pub id: WorkspaceId,
    pub name: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    Owner,
    Manager,
    Finance,
    Viewer,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Owner, Role::Manager, Role::Finance, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Manager => "manager",
            Role::Finance => "finance",
            Role::Viewer => "viewer",
        }
    }

    pub fn parse(text: &str) -> Option<Role> {
        Self::ALL.into_iter().find(|role| role.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub workspace_id: WorkspaceId,
    pub email: String,
    pub password_hash: String,
    pub role: Role,
    pub created_at: Timestamp,
}

/// Who a session or API key acts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Principal {
    User(UserId),
    Partner(PartnerId),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub token_hash: String,
    pub workspace_id: WorkspaceId,
    pub principal: Principal,
    pub csrf_token: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    pub id: ApiKeyId,
    pub workspace_id: WorkspaceId,
    /// A partner-scoped key reads only that partner's data.
    pub partner_id: Option<PartnerId>,
    pub name: String,
    pub key_hash: String,
    pub prefix: String,
    pub created_at: Timestamp,
    pub revoked_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Program {
    pub id: ProgramId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub destination_url: String,
    pub currency: Currency,
    pub window_days: u32,
    pub hold_days: u32,
    pub min_payout_minor: i64,
    pub plan_version_id: PlanVersionId,
    /// The attribution model and channel precedence (the window is `window_days`).
    pub attribution: tributary_core::multitouch::Settings,
    pub created_at: Timestamp,
}

impl Program {
    /// The program's attribution, window included.
    pub fn attribution(&self) -> tributary_core::multitouch::Attribution {
        self.attribution.with_window(self.window_days)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanVersion {
    pub id: PlanVersionId,
    pub program_id: ProgramId,
    /// Numbered per program across scopes, from 1.
    pub version: i64,
    pub plan: Plan,
    pub scope: PlanScope,
    /// Events that occur at or after this instant are derived under this version (until a
    /// later version of the same scope takes effect).
    pub effective_from: Timestamp,
    pub created_at: Timestamp,
}

/// Whose plan a version is. Precedence when a commission is derived: the partner's own
/// override, then their group's, then the program's default (see `tributary_app::plans`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "scope", content = "key", rename_all = "snake_case")]
pub enum PlanScope {
    Program,
    Group(String),
    Partner(PartnerId),
}

impl PlanScope {
    pub fn as_str(&self) -> &'static str {
        match self {
            PlanScope::Program => "program",
            PlanScope::Group(_) => "group",
            PlanScope::Partner(_) => "partner",
        }
    }

    /// The `scope_key` column: the group name, the partner id, or empty.
    pub fn key(&self) -> String {
        match self {
            PlanScope::Program => String::new(),
            PlanScope::Group(name) => name.clone(),
            PlanScope::Partner(id) => id.to_string(),
        }
    }

    pub fn from_columns(scope: &str, key: &str) -> Option<PlanScope> {
        match scope {
            "program" => Some(PlanScope::Program),
            "group" => Some(PlanScope::Group(key.to_string())),
            "partner" => key.parse().ok().map(PlanScope::Partner),
            _ => None,
        }
    }
}

/// A commission key a safeguard voided: never owed again, whatever later facts say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommissionVoid {
    pub workspace_id: WorkspaceId,
    pub customer_id: CustomerId,
    pub source_event_id: EventId,
    pub rule_id: String,
    pub plan_version_id: PlanVersionId,
    pub reason: String,
    pub voided_at: Timestamp,
}

/// One stored event as replay reads it, in storage order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayEvent {
    pub customer_id: CustomerId,
    /// Metadata not parsed: replay reads `metadata_json` once per distinct text.
    pub event: tributary_core::commission::StoredEvent,
    pub metadata_json: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Partner {
    pub id: PartnerId,
    pub workspace_id: WorkspaceId,
    pub name: String,
    pub email: String,
    pub archetype: String,
    pub payout_email: Option<String>,
    #[serde(skip)]
    pub password_hash: Option<String>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrollment {
    pub id: EnrollmentId,
    pub workspace_id: WorkspaceId,
    pub program_id: ProgramId,
    pub partner_id: PartnerId,
    pub status: String,
    /// The partner's group in this program (plan overrides and conditions use it).
    pub partner_group: Option<String>,
    /// The partner's tier in this program (conditions and perks use it).
    pub tier: Option<String>,
    pub created_at: Timestamp,
    /// Why the status last changed (a suspension's reason), and when.
    pub status_reason: Option<String>,
    pub status_changed_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Link {
    pub id: LinkId,
    pub workspace_id: WorkspaceId,
    pub program_id: ProgramId,
    pub partner_id: PartnerId,
    pub code: String,
    pub destination_url: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkStats {
    #[serde(flatten)]
    pub link: Link,
    pub clicks: i64,
    pub bot_clicks: i64,
    pub leads: i64,
    pub sales: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Click {
    pub id: String,
    pub workspace_id: WorkspaceId,
    pub link_id: LinkId,
    pub partner_id: PartnerId,
    pub at: Timestamp,
    /// Keyed hash of the visitor's IP; the raw IP is never stored.
    pub ip_hash: String,
    pub user_agent: String,
    pub referrer: Option<String>,
    pub is_bot: bool,
    /// The sub-ids the tracking link was followed with (`?sub1=..` to `?sub5=..`): the
    /// partner's own labels, passed on to their postbacks and reports. Boxed: most clicks
    /// carry none, and clicks are queued by the hundred thousand.
    pub subs: Option<Box<Subs>>,
}

/// A click's sub-ids, `sub1` to `sub5`.
pub type Subs = [Option<String>; 5];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub id: CustomerId,
    pub workspace_id: WorkspaceId,
    pub external_id: String,
    pub binding: Option<Binding>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    pub id: EventId,
    pub workspace_id: WorkspaceId,
    pub idempotency_key: String,
    /// SHA-256 of the canonical request body: same key + other body is a conflict.
    pub request_hash: String,
    pub customer_id: CustomerId,
    pub facts: EventFacts,
    pub metadata_json: Option<String>,
    pub partner_id: Option<PartnerId>,
    pub link_id: Option<LinkId>,
    /// The first answer, returned again on a replay of the same key.
    pub response_json: String,
    pub received_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommissionKind {
    Earning,
    Clawback,
}

impl CommissionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CommissionKind::Earning => "earning",
            CommissionKind::Clawback => "clawback",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommissionRecord {
    pub id: CommissionId,
    pub workspace_id: WorkspaceId,
    pub program_id: ProgramId,
    pub partner_id: PartnerId,
    /// The customer whose event it is owed for; none for clicks and bonuses (ADR 0006).
    pub customer_id: Option<CustomerId>,
    /// The event whose value the commission is a share of (the sale), or the key of what no
    /// single event owns (`clicks:2026-05-03`, `bonus:<id>:<period>`).
    pub source: Source,
    /// The event whose arrival made this posting (the sale itself, or its refund); none when
    /// a job's count or judgement made it.
    pub caused_by_event_id: Option<EventId>,
    pub rule_id: String,
    pub plan_version_id: PlanVersionId,
    pub kind: CommissionKind,
    pub amount: Money,
    pub state: CommissionState,
    pub hold_until: Timestamp,
    pub payout_batch_id: Option<PayoutBatchId>,
    pub explanation: Explanation,
    pub created_at: Timestamp,
}

/// One partner's clicks in one program on one UTC day (from the daily counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartnerDayClicks {
    pub partner_id: PartnerId,
    /// Days since 1970-01-01.
    pub day: i64,
    pub clicks: i64,
    pub bot_clicks: i64,
}

/// Where a ledger transaction came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransactionHeader {
    pub id: TransactionId,
    pub workspace_id: WorkspaceId,
    /// `earned`, `approved`, `clawback`, `payout_batch`, `payout_paid`, ...
    pub kind: String,
    /// `commission`, `payout_batch`, `dispute`, `admin`.
    pub source_type: String,
    pub source_id: String,
    /// Unique per workspace: posting the same fact twice is refused by the database.
    pub idempotency_key: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PayoutState {
    Created,
    Paid,
}

impl PayoutState {
    pub fn as_str(self) -> &'static str {
        match self {
            PayoutState::Created => "created",
            PayoutState::Paid => "paid",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutBatch {
    pub id: PayoutBatchId,
    pub workspace_id: WorkspaceId,
    pub program_id: ProgramId,
    pub currency: Currency,
    pub total_minor: i64,
    pub item_count: i64,
    pub state: PayoutState,
    pub reference: Option<String>,
    pub created_at: Timestamp,
    pub paid_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PayoutItem {
    pub batch_id: PayoutBatchId,
    pub partner_id: PartnerId,
    /// The payout address (PayPal email) at the time of the batch.
    pub recipient: String,
    pub amount: Money,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: JobId,
    pub workspace_id: WorkspaceId,
    pub kind: String,
    pub payload_json: String,
    pub dedupe_key: String,
    pub run_at: Timestamp,
    pub attempts: i64,
    pub created_at: Timestamp,
}

/// A billing provider's webhook event as received (issue 5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderEventRecord {
    pub workspace_id: WorkspaceId,
    /// `stripe`, `paddle`, `chargebee`.
    pub provider: String,
    /// The provider's event id: unique per workspace and provider.
    pub event_id: String,
    pub kind: String,
    pub occurred_at: Timestamp,
    pub received_at: Timestamp,
    /// The body as received, byte for byte (UTF-8).
    pub body: String,
    /// `processed`, `ignored` (with the reason in `note`) or `parked` (waiting for the
    /// payment `waits_for` to be reported).
    pub status: String,
    pub note: String,
    pub waits_for: Option<String>,
}

/// A payment a provider reported, under one of its keys (invoice, charge, payment intent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderPayment {
    pub workspace_id: WorkspaceId,
    pub provider: String,
    pub payment_key: String,
    /// The customer's external id in Tributary.
    pub customer: String,
    /// The sale's `invoice_id` in Tributary.
    pub invoice: String,
    /// The sale's amount (net of tax) and what was paid (with tax).
    pub net: Money,
    pub gross_minor: i64,
    /// The largest cumulative refund (with tax) recorded for this payment.
    pub refunded_minor: i64,
}

/// A coupon code that credits a partner (issue 5). Codes are kept in upper case: a code is
/// matched without regard to case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coupon {
    pub workspace_id: WorkspaceId,
    pub code: String,
    pub program_id: ProgramId,
    pub partner_id: PartnerId,
    pub created_at: Timestamp,
}

/// A deal a partner registered: a prospect they are working, credited to them once an admin
/// approves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deal {
    pub id: DealId,
    pub workspace_id: WorkspaceId,
    pub program_id: ProgramId,
    pub partner_id: PartnerId,
    /// The customer id the business will report the prospect's events under.
    pub customer_external_id: String,
    pub company: String,
    pub contact_name: String,
    pub contact_email: String,
    pub notes: String,
    /// `pending`, `approved` or `rejected`.
    pub status: String,
    pub decided_at: Option<Timestamp>,
    pub decision_reason: Option<String>,
    pub created_at: Timestamp,
}

/// One line of the audit log: who did what to which subject, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub id: uuid::Uuid,
    pub workspace_id: WorkspaceId,
    pub at: Timestamp,
    /// `user:<id>`, `api_key:<id>` or `partner:<id>`.
    pub actor: String,
    /// e.g. `customer.reattributed`, `deal.approved`.
    pub action: String,
    /// e.g. `customer:<id>`, `deal:<id>`.
    pub subject: String,
    pub reason: String,
    pub detail_json: String,
}

/// A URL a partner registered to be called when they earn (issue 5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Postback {
    pub id: uuid::Uuid,
    pub workspace_id: WorkspaceId,
    pub partner_id: PartnerId,
    /// With macros (`tributary_core::postback::MACROS`).
    pub url_template: String,
    /// The event types it fires on (`lead`, `sale`, ...).
    pub events: Vec<String>,
    pub created_at: Timestamp,
    pub disabled_at: Option<Timestamp>,
}

/// One postback call for one event: filled when it is sent, retried as a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PostbackDelivery {
    pub id: uuid::Uuid,
    pub workspace_id: WorkspaceId,
    pub postback_id: uuid::Uuid,
    pub partner_id: PartnerId,
    pub event_id: EventId,
    /// What the macros are filled with (but the sub-ids, read when it is sent).
    pub values_json: String,
    /// The URL as last sent.
    pub url: Option<String>,
    /// `pending`, `delivered` or `failed` (given up).
    pub status: String,
    pub attempts: i64,
    pub response_status: Option<i64>,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub delivered_at: Option<Timestamp>,
}

/// One sub-id value of a link: its clicks and the customers credited through them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubRow {
    pub value: String,
    pub clicks: i64,
    pub bot_clicks: i64,
    /// Customers whose credit came through a click carrying this value.
    pub customers: i64,
}

/// A program's lifecycle settings and public slug (issue 6): the public page lives at
/// `/join/{slug}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramLifecycleRow {
    pub program_id: ProgramId,
    pub workspace_id: WorkspaceId,
    pub slug: String,
    pub lifecycle: tributary_core::lifecycle::ProgramLifecycle,
    pub updated_at: Timestamp,
}

/// An application to a program from the public page, and its decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Application {
    pub id: ApplicationId,
    pub workspace_id: WorkspaceId,
    pub program_id: ProgramId,
    pub applicant: tributary_core::lifecycle::Applicant,
    pub score: tributary_core::lifecycle::Score,
    /// `pending` (in the review queue), `approved` or `rejected`.
    pub status: String,
    /// `rule` for an automatic decision, else the deciding actor (`user:<id>`...).
    pub decided_by: Option<String>,
    pub reason: Option<String>,
    /// The partner an approval created or found.
    pub partner_id: Option<PartnerId>,
    /// Keyed hash of the applicant's IP (never the IP).
    #[serde(skip)]
    pub ip_hash: Option<String>,
    pub created_at: Timestamp,
    pub decided_at: Option<Timestamp>,
}

/// An invitation to join a program; the email carries a token whose hash is stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    pub id: InvitationId,
    pub workspace_id: WorkspaceId,
    pub program_id: ProgramId,
    pub email: String,
    pub name: Option<String>,
    pub partner_group: Option<String>,
    #[serde(skip)]
    pub token_hash: String,
    /// `sent`, `accepted` or `revoked`.
    pub status: String,
    pub invited_by: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub accepted_at: Option<Timestamp>,
    pub partner_id: Option<PartnerId>,
}

/// An email in the outbox: written with the change that causes it, sent by a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Email {
    pub id: EmailId,
    pub workspace_id: WorkspaceId,
    pub to_address: String,
    pub subject: String,
    pub body: String,
    /// What it is about (`application.approved`, `invitation`, `terms.published`...).
    pub kind: String,
    /// `queued`, `sent`, `held` (no mail relay configured: kept to read in the admin) or
    /// `failed` (the relay refused it for good, or retries ran out).
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    pub sent_at: Option<Timestamp>,
}

/// A one-time token a partner follows from an email (to set a password); only its hash is
/// kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerToken {
    pub token_hash: String,
    pub workspace_id: WorkspaceId,
    pub partner_id: PartnerId,
    /// `set_password`.
    pub purpose: String,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    pub used_at: Option<Timestamp>,
}

/// One published version of a program's terms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermsVersion {
    pub id: TermsVersionId,
    pub workspace_id: WorkspaceId,
    pub program_id: ProgramId,
    /// From 1, per program.
    pub version: i64,
    pub body_markdown: String,
    pub payout_schedule: String,
    /// What happens to pending commissions on termination: `keep` or `forfeit`.
    pub termination_policy: String,
    /// Days an active partner has to accept before their links stop earning.
    pub grace_days: u32,
    pub published_by: String,
    pub published_at: Timestamp,
}

/// A partner's acceptance of one terms version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermsAcceptance {
    pub workspace_id: WorkspaceId,
    pub program_id: ProgramId,
    pub partner_id: PartnerId,
    pub terms_version_id: TermsVersionId,
    pub version: i64,
    pub accepted_at: Timestamp,
    /// Keyed hash of the IP it was accepted from.
    #[serde(skip)]
    pub ip_hash: Option<String>,
}

/// A span in which a partner does not earn in a program: a suspension (until reinstated)
/// or a termination (for good).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnrollmentPause {
    pub id: uuid::Uuid,
    pub workspace_id: WorkspaceId,
    pub program_id: ProgramId,
    pub partner_id: PartnerId,
    /// `suspended` or `terminated`.
    pub kind: String,
    pub reason: String,
    pub from_at: Timestamp,
    pub until_at: Option<Timestamp>,
    pub decided_by: String,
}

/// A commission key a partner forfeited (pending at their termination, under terms that
/// forfeit): never owed to that partner again, whatever later facts say.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommissionForfeit {
    pub workspace_id: WorkspaceId,
    pub program_id: ProgramId,
    pub partner_id: PartnerId,
    /// The commission's source: an event id, or a key (`clicks:<day>`, `bonus:..`).
    pub source: String,
    pub rule_id: String,
    pub plan_version_id: PlanVersionId,
    pub reason: String,
    pub forfeited_at: Timestamp,
}

/// What a partner tells the programs about themselves (onboarding asks for it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerProfile {
    pub partner_id: PartnerId,
    pub workspace_id: WorkspaceId,
    pub website: Option<String>,
    pub country: Option<String>,
    /// An image merged into co-branded assets (`image/png`, `image/jpeg`, `image/svg+xml`).
    pub logo_content_type: Option<String>,
    #[serde(skip)]
    pub logo_base64: Option<String>,
    /// `none`, `submitted` or `verified`.
    pub tax_form_status: String,
    /// The name shown on the leaderboard, if they opted in.
    pub display_name: Option<String>,
    pub show_on_leaderboard: bool,
    pub updated_at: Timestamp,
}

/// A piece of a program's content: an asset (a file, co-branded at download when it is a
/// text format), a message template, a training module, a resource or an announcement.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramContent {
    pub id: uuid::Uuid,
    pub workspace_id: WorkspaceId,
    pub program_id: ProgramId,
    /// Shown to this group only; none: everyone in the program.
    pub partner_group: Option<String>,
    /// `asset`, `template`, `training`, `resource` or `announcement`.
    pub kind: String,
    pub title: String,
    /// Markdown (training, resource, announcement), or the template's text with merge
    /// fields, or an asset's description.
    pub body: String,
    /// A template's persona and channel (`email`, `social`, `webinar`).
    pub persona: Option<String>,
    pub channel: Option<String>,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    #[serde(skip)]
    pub file_base64: Option<String>,
    pub downloads: i64,
    pub created_at: Timestamp,
}

/// A training module a partner finished.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrainingCompletion {
    pub workspace_id: WorkspaceId,
    pub program_id: ProgramId,
    pub partner_id: PartnerId,
    pub content_id: uuid::Uuid,
    pub completed_at: Timestamp,
}

/// The first time a partner did what onboarding waits for, in one program.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerFirsts {
    pub first_link_at: Option<Timestamp>,
    /// The UTC day (days since the epoch) of their first click.
    pub first_click_day: Option<i64>,
    /// When their first customer was credited to them.
    pub first_referral_at: Option<Timestamp>,
}

/// One partner's performance in a program over a span (tiers).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerPerformance {
    /// Sales and renewals less refunds and chargebacks of their customers.
    pub revenue_minor: i64,
    /// Customers with a sale or renewal in the span.
    pub retained_customers: i64,
    /// Customers first credited to them in the span.
    pub new_customers: i64,
    /// Clicks on their links less bot clicks, over the span's days.
    pub human_clicks: i64,
}

/// A partner's revenue in a program over a span (leaderboards).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaderRow {
    pub partner_id: PartnerId,
    pub revenue_minor: i64,
    pub customers: i64,
}

/// A program's totals over a span (stage gates).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgramMeasures {
    pub revenue_minor: i64,
    /// Commissions posted (net of clawbacks) in the span.
    pub commission_minor: i64,
    /// Partners with a credited event in the span.
    pub active_partners: i64,
    pub new_customers: i64,
}

/// A support ticket a partner opened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub id: uuid::Uuid,
    pub workspace_id: WorkspaceId,
    pub partner_id: PartnerId,
    pub subject: String,
    /// `open` (waiting for the business), `answered` (waiting for the partner), `closed`.
    pub status: String,
    pub assignee_id: Option<UserId>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

/// One message of a ticket's thread.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TicketMessage {
    pub id: uuid::Uuid,
    pub ticket_id: uuid::Uuid,
    /// `partner:<id>` or `user:<id>`.
    pub author: String,
    pub body: String,
    pub attachment_name: Option<String>,
    pub attachment_type: Option<String>,
    #[serde(skip)]
    pub attachment_base64: Option<String>,
    pub created_at: Timestamp,
}
