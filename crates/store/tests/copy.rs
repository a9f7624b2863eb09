//! Moving a SQLite install to PostgreSQL (`copy::sqlite_to_postgres`): a small database with
//! a row in every table, written through the `Tx` API, copied into a fresh PostgreSQL
//! database, and read back through both stores, which must answer alike; a target that
//! already holds data, a schema that differs and a value that does not fit are refused
//! with nothing committed.

use std::sync::Arc;
use tributary_core::attribution::{Binding, Credit, Touch};
use tributary_core::commission::{self, CommissionState, StoredEvent};
use tributary_core::event::{EventFacts, EventKind};
use tributary_core::ledger::{PartnerBalance, Transaction};
use tributary_core::plan::Plan;
use tributary_core::*;
use tributary_store::copy::{TABLES, sqlite_to_postgres};
use tributary_store::testing::{Backend, TestDatabase};
use tributary_store::*;
use uuid::Uuid;

const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z
const HOUR_MS: i64 = 3_600_000;
const CLICK_COLUMNS: &str = "SELECT id, workspace_id, link_id, partner_id, at, ip_hash, user_agent, referrer, is_bot FROM clicks";

fn id() -> Uuid {
    Uuid::now_v7()
}

fn usd() -> Currency {
    Currency::parse("USD").expect("USD")
}

fn at(millis: i64) -> Timestamp {
    Timestamp::from_millis(millis)
}

/// The ids a snapshot reads by.
struct Fixture {
    workspace: Workspace,
    user: User,
    session_token_hash: String,
    api_key_hash: String,
    program: Program,
    partner: Partner,
    link: Link,
    customer: Customer,
    binding_click_id: String,
    event: EventRecord,
    commission: CommissionRecord,
    batch_id: PayoutBatchId,
}

/// A workspace with a row in every table, written the way the app writes them.
async fn populate(store: &dyn Store) -> Fixture {
    let workspace = Workspace {
        id: WorkspaceId(id()),
        name: "Acme".into(),
        created_at: at(T0 - 40 * 24 * HOUR_MS),
    };
    let user = User {
        id: UserId(id()),
        workspace_id: workspace.id,
        email: "owner@acme.example".into(),
        password_hash: "$argon2id$v=19$stub".into(),
        role: Role::Owner,
        created_at: workspace.created_at,
    };
    let session = Session {
        token_hash: "session-hash".into(),
        workspace_id: workspace.id,
        principal: Principal::User(user.id),
        csrf_token: "csrf".into(),
        created_at: workspace.created_at,
        expires_at: at(T0 + 24 * HOUR_MS),
    };
    let program_id = ProgramId(id());
    let version = PlanVersion {
        id: PlanVersionId(id()),
        program_id,
        version: 1,
        plan: Plan::simple(
            Some(Money::new(500, usd())),
            Some(BasisPoints::new(2_000).expect("20 %")),
        ),
        scope: PlanScope::Program,
        effective_from: Timestamp::from_millis(0),
        created_at: workspace.created_at,
    };
    let program = Program {
        id: program_id,
        workspace_id: workspace.id,
        name: "Partners".into(),
        destination_url: "https://shop.example/".into(),
        currency: usd(),
        window_days: 30,
        hold_days: 14,
        min_payout_minor: 5_000,
        plan_version_id: version.id,
        attribution: tributary_core::multitouch::Settings {
            model: tributary_core::multitouch::Model::POSITION_BASED,
            precedence: vec![tributary_core::multitouch::Channel::Coupon],
        },
        created_at: workspace.created_at,
    };
    let partner = Partner {
        id: PartnerId(id()),
        workspace_id: workspace.id,
        name: "Ada Résumé".into(),
        email: "ada@partners.example".into(),
        archetype: "influencer".into(),
        payout_email: Some("ada-pay@partners.example".into()),
        password_hash: Some("$argon2id$v=19$partner".into()),
        created_at: workspace.created_at,
    };
    let api_key = ApiKey {
        id: ApiKeyId(id()),
        workspace_id: workspace.id,
        partner_id: Some(partner.id),
        name: "reporting".into(),
        key_hash: "key-hash".into(),
        prefix: "trb_abcd".into(),
        created_at: workspace.created_at,
        revoked_at: None,
    };
    let enrollment = Enrollment {
        id: EnrollmentId(id()),
        workspace_id: workspace.id,
        program_id,
        partner_id: partner.id,
        status: "active".into(),
        partner_group: Some("resellers".into()),
        tier: Some("gold".into()),
        created_at: workspace.created_at,
        status_reason: Some("a reason".into()),
        status_changed_at: Some(workspace.created_at),
    };
    let link = Link {
        id: LinkId(id()),
        workspace_id: workspace.id,
        program_id,
        partner_id: partner.id,
        code: "ada".into(),
        destination_url: program.destination_url.clone(),
        created_at: workspace.created_at,
    };

    let mut tx = store.write().await.expect("write");
    tx.insert_workspace(&workspace).await.expect("workspace");
    tx.insert_user(&user).await.expect("user");
    tx.insert_session(&session).await.expect("session");
    tx.insert_program(&program).await.expect("program");
    tx.insert_plan_version(&version)
        .await
        .expect("plan version");
    tx.insert_partner(&partner).await.expect("partner");
    tx.insert_api_key(&api_key).await.expect("api key");
    tx.insert_enrollment(&enrollment).await.expect("enrollment");
    tx.insert_link(&link).await.expect("link");
    tx.put_setting_if_absent("click_id_key", "c2VjcmV0")
        .await
        .expect("setting");
    tx.commit().await.expect("commit setup");

    // December and January: two click partitions on PostgreSQL.
    let clicks: Vec<Click> = (0..12)
        .map(|n| Click {
            id: format!("click-{n:02}"),
            workspace_id: workspace.id,
            link_id: link.id,
            partner_id: partner.id,
            at: at(T0 - 6 * HOUR_MS + n * HOUR_MS),
            ip_hash: format!("ip-{}", n % 3),
            user_agent: if n == 4 {
                "Googlebot/2.1"
            } else {
                "Mozilla/5.0"
            }
            .into(),
            referrer: (n % 2 == 0).then(|| "https://blog.example/post".into()),
            is_bot: n == 4,
            subs: (n == 11).then(|| {
                Box::new([
                    Some("spring".into()),
                    None,
                    Some("ünïcode".into()),
                    None,
                    None,
                ])
            }),
        })
        .collect();
    store.append_clicks(&clicks).await.expect("clicks");
    let last_click = &clicks[11];

    let touch = Touch {
        id: last_click.id.clone(),
        channel: tributary_core::multitouch::Channel::Link,
        link_id: Some(link.id),
        partner_id: partner.id,
        program_id,
        at: last_click.at,
        is_bot: false,
        detail: None,
    };
    let sale_at = at(T0 + 12 * HOUR_MS);
    let binding = Binding {
        partner_id: partner.id,
        program_id,
        link_id: Some(link.id),
        click_id: Some(touch.id.clone()),
        touched_at: Some(touch.at),
        bound_at: sale_at,
    };
    let customer = Customer {
        id: CustomerId(id()),
        workspace_id: workspace.id,
        external_id: "cus_42".into(),
        binding: None,
        created_at: sale_at,
    };
    let facts = EventFacts {
        kind: EventKind::Sale,
        customer_external_id: customer.external_id.clone(),
        click_id: Some(touch.id.clone()),
        amount: Some(Money::new(12_345, usd())),
        occurred_at: sale_at,
        invoice_id: Some("in_1".into()),
        milestone: None,
    };
    let event = EventRecord {
        id: EventId(id()),
        workspace_id: workspace.id,
        idempotency_key: "sale-42".into(),
        request_hash: "request-hash".into(),
        customer_id: customer.id,
        facts: facts.clone(),
        metadata_json: Some(r#"{"plan":"pro","note":"ünïcode"}"#.into()),
        partner_id: Some(partner.id),
        link_id: Some(link.id),
        response_json: r#"{"id":"evt","status":"credited"}"#.into(),
        received_at: sale_at,
    };
    let credit = Credit {
        partner_id: partner.id,
        program_id,
        model: "last_click".into(),
        share_bp: 10_000,
        role: "closer".into(),
        link_id: Some(link.id),
        click_id: Some(touch.id.clone()),
        touched_at: Some(touch.at),
        window_days: program.window_days,
        reason: "last non-bot click within the 30-day window".into(),
    };
    let owed = commission::owed_for_customer(
        &version.plan,
        version.id,
        &credit,
        &[StoredEvent {
            id: event.id,
            facts,
            metadata: Default::default(),
        }],
        Default::default(),
        event.received_at,
    );
    let owed = owed.into_iter().next().expect("the sale owes a commission");
    let commission = CommissionRecord {
        id: CommissionId(id()),
        workspace_id: workspace.id,
        program_id,
        partner_id: partner.id,
        customer_id: Some(customer.id),
        source: commission::Source::Event(event.id),
        caused_by_event_id: Some(event.id),
        rule_id: owed.rule_id,
        plan_version_id: version.id,
        kind: CommissionKind::Earning,
        amount: owed.amount,
        state: CommissionState::Pending,
        hold_until: sale_at.plus_days(program.hold_days),
        payout_batch_id: None,
        explanation: owed.explanation,
        created_at: sale_at,
    };
    let earned = Transaction::earned(partner.id, commission.amount).expect("balanced");
    let batch = PayoutBatch {
        id: PayoutBatchId(id()),
        workspace_id: workspace.id,
        program_id,
        currency: usd(),
        total_minor: 0,
        item_count: 1,
        state: PayoutState::Created,
        reference: None,
        created_at: sale_at,
        paid_at: None,
    };
    let item = PayoutItem {
        batch_id: batch.id,
        partner_id: partner.id,
        recipient: "ada-pay@partners.example".into(),
        amount: Money::new(0, usd()),
    };
    let job = Job {
        id: JobId(id()),
        workspace_id: workspace.id,
        kind: "approve_commission".into(),
        payload_json: format!(r#"{{"commission_id":"{}"}}"#, commission.id),
        dedupe_key: format!("approve:{}", commission.id),
        run_at: commission.hold_until,
        attempts: 0,
        created_at: sale_at,
    };

    let mut tx = store.write().await.expect("write");
    tx.insert_customer(&customer).await.expect("customer");
    tx.insert_touch(customer.id, &touch).await.expect("touch");
    tx.insert_touch(
        customer.id,
        &Touch {
            id: "coupon:SPRING".into(),
            channel: tributary_core::multitouch::Channel::Coupon,
            link_id: None,
            detail: Some("SPRING".into()),
            ..touch.clone()
        },
    )
    .await
    .expect("coupon touch");
    tx.insert_event(&event).await.expect("event");
    tx.bind_customer(customer.id, &binding).await.expect("bind");
    // Credited to two partners (the second needs no partner row).
    let share = |partner_id, share_bp, role| tributary_core::attribution::BoundShare {
        partner_id,
        share_bp,
        role,
        model: "position_based".into(),
        touch_id: touch.id.clone(),
        channel: tributary_core::multitouch::Channel::Link,
        link_id: Some(link.id),
        touched_at: touch.at,
    };
    tx.set_customer_shares(
        customer.id,
        program_id,
        &[
            share(partner.id, 6_667, tributary_core::multitouch::Role::Closer),
            share(
                PartnerId(id()),
                3_333,
                tributary_core::multitouch::Role::Originator,
            ),
        ],
    )
    .await
    .expect("shares");
    tx.insert_coupon(&Coupon {
        workspace_id: workspace.id,
        code: "SPRING".into(),
        program_id,
        partner_id: partner.id,
        created_at: sale_at,
    })
    .await
    .expect("coupon");
    tx.insert_deal(&Deal {
        id: DealId(id()),
        workspace_id: workspace.id,
        program_id,
        partner_id: partner.id,
        customer_external_id: "cus_43".into(),
        company: "Globex".into(),
        contact_name: "Hank Scorpio".into(),
        contact_email: "hank@globex.example".into(),
        notes: "ünïcode notes".into(),
        status: "approved".into(),
        decided_at: Some(sale_at),
        decision_reason: Some("known prospect".into()),
        created_at: sale_at,
    })
    .await
    .expect("deal");
    let postback = Postback {
        id: id(),
        workspace_id: workspace.id,
        partner_id: partner.id,
        url_template: "https://track.partner.example/pb?cid={click_id}&s={sub1}".into(),
        events: vec!["lead".into(), "sale".into()],
        created_at: sale_at,
        disabled_at: None,
    };
    tx.insert_postback(&postback).await.expect("postback");
    assert!(
        tx.insert_postback_delivery(&PostbackDelivery {
            id: id(),
            workspace_id: workspace.id,
            postback_id: postback.id,
            partner_id: partner.id,
            event_id: event.id,
            values_json: r#"{"event":"sale"}"#.into(),
            url: Some("https://track.partner.example/pb?cid=x&s=spring".into()),
            status: "delivered".into(),
            attempts: 2,
            response_status: Some(200),
            last_error: Some("answered 503".into()),
            created_at: sale_at,
            delivered_at: Some(sale_at),
        })
        .await
        .expect("delivery")
    );
    tx.insert_audit(&AuditEntry {
        id: id(),
        workspace_id: workspace.id,
        at: sale_at,
        actor: format!("user:{}", user.id),
        action: "customer.reattributed".into(),
        subject: format!("customer:{}", customer.id),
        reason: "the reseller closed it".into(),
        detail_json: r#"{"shares":[]}"#.into(),
    })
    .await
    .expect("audit");
    tx.insert_commission(&commission).await.expect("commission");
    // A commission no event owns (ADR 0006): no customer, no event, a source key.
    tx.insert_commission(&CommissionRecord {
        id: CommissionId(id()),
        customer_id: None,
        source: commission::Source::Key("clicks:2025-12-31".into()),
        caused_by_event_id: None,
        rule_id: "ppc".into(),
        state: CommissionState::Reversed,
        ..commission.clone()
    })
    .await
    .expect("keyed commission");
    tx.insert_void(&CommissionVoid {
        workspace_id: workspace.id,
        customer_id: customer.id,
        source_event_id: event.id,
        rule_id: "activation-bonus".into(),
        plan_version_id: version.id,
        reason: "the customer did not reach `activated` within 90 days".into(),
        voided_at: sale_at,
    })
    .await
    .expect("void");
    tx.insert_transaction(
        &TransactionHeader {
            id: TransactionId(id()),
            workspace_id: workspace.id,
            kind: "earned".into(),
            source_type: "commission".into(),
            source_id: commission.id.to_string(),
            idempotency_key: format!("earned:{}", commission.id),
            created_at: sale_at,
        },
        &earned,
    )
    .await
    .expect("ledger transaction");
    tx.insert_payout_batch(&batch, &[item])
        .await
        .expect("payout batch");
    tx.enqueue_job(&job).await.expect("job");
    tx.insert_provider_event(&ProviderEventRecord {
        workspace_id: workspace.id,
        provider: "stripe".into(),
        event_id: "evt_1".into(),
        kind: "charge.dispute.created".into(),
        occurred_at: sale_at,
        received_at: sale_at,
        body: r#"{"id":"evt_1"}"#.into(),
        status: "parked".into(),
        note: "waits for its charge".into(),
        waits_for: Some("ch_1".into()),
    })
    .await
    .expect("provider event");
    tx.insert_provider_payment(&ProviderPayment {
        workspace_id: workspace.id,
        provider: "stripe".into(),
        payment_key: "in_1".into(),
        customer: customer.external_id.clone(),
        invoice: "in_1".into(),
        net: commission.amount,
        gross_minor: commission.amount.amount_minor + 19,
        refunded_minor: 0,
    })
    .await
    .expect("provider payment");
    // Issue 6: one row in each lifecycle table, with text that must survive byte for byte.
    let lifecycle: tributary_core::lifecycle::ProgramLifecycle =
        serde_json::from_str(r#"{"headline": "Grow — with us", "reapply_cooldown_days": 9}"#)
            .expect("lifecycle");
    tx.put_program_lifecycle(&ProgramLifecycleRow {
        program_id: program.id,
        workspace_id: workspace.id,
        slug: "grow".into(),
        lifecycle,
        updated_at: sale_at,
    })
    .await
    .expect("lifecycle");
    let application = Application {
        id: ApplicationId(id()),
        workspace_id: workspace.id,
        program_id: program.id,
        applicant: tributary_core::lifecycle::Applicant {
            name: "Zoë".into(),
            email: "zoe@example.com".into(),
            website: Some("https://zoe.example".into()),
            country: Some("FR".into()),
            group: Some("resellers".into()),
            answers: [(
                "audience".to_string(),
                tributary_core::lifecycle::form::Answer::Number(1200),
            )]
            .into(),
        },
        score: tributary_core::lifecycle::Score {
            total: Some(61),
            lines: vec![],
        },
        status: "approved".into(),
        decided_by: Some("rule".into()),
        reason: Some("fits".into()),
        partner_id: Some(partner.id),
        ip_hash: Some("iphash".into()),
        created_at: sale_at,
        decided_at: Some(sale_at),
    };
    tx.insert_application(&application)
        .await
        .expect("application");
    tx.insert_invitation(&Invitation {
        id: InvitationId(id()),
        workspace_id: workspace.id,
        program_id: program.id,
        email: "lin@example.com".into(),
        name: Some("Lin".into()),
        partner_group: None,
        token_hash: "invite-hash".into(),
        status: "sent".into(),
        invited_by: format!("user:{}", user.id),
        created_at: sale_at,
        expires_at: sale_at.plus_days(30),
        accepted_at: None,
        partner_id: None,
    })
    .await
    .expect("invitation");
    tx.insert_email(&Email {
        id: EmailId(id()),
        workspace_id: workspace.id,
        to_address: "zoe@example.com".into(),
        subject: "Bienvenue".into(),
        body: "Line one\n.dot line".into(),
        kind: "application.approved".into(),
        status: "held".into(),
        attempts: 1,
        last_error: None,
        created_at: sale_at,
        sent_at: None,
    })
    .await
    .expect("email");
    tx.insert_partner_token(&PartnerToken {
        token_hash: "token-hash".into(),
        workspace_id: workspace.id,
        partner_id: partner.id,
        purpose: "set_password".into(),
        created_at: sale_at,
        expires_at: sale_at.plus_days(3),
        used_at: None,
    })
    .await
    .expect("token");
    let terms = TermsVersion {
        id: TermsVersionId(id()),
        workspace_id: workspace.id,
        program_id: program.id,
        version: 1,
        body_markdown: "# Terms\n\n* one".into(),
        payout_schedule: "Net 30".into(),
        termination_policy: "keep".into(),
        grace_days: 14,
        published_by: format!("user:{}", user.id),
        published_at: sale_at,
    };
    tx.insert_terms_version(&terms).await.expect("terms");
    tx.insert_terms_acceptance(&TermsAcceptance {
        workspace_id: workspace.id,
        program_id: program.id,
        partner_id: partner.id,
        terms_version_id: terms.id,
        version: 1,
        accepted_at: sale_at,
        ip_hash: Some("iphash".into()),
    })
    .await
    .expect("acceptance");
    tx.insert_enrollment_pause(&EnrollmentPause {
        id: id(),
        workspace_id: workspace.id,
        program_id: program.id,
        partner_id: partner.id,
        kind: "suspended".into(),
        reason: "spam in comments".into(),
        from_at: sale_at,
        until_at: Some(sale_at.plus_days(2)),
        decided_by: format!("user:{}", user.id),
    })
    .await
    .expect("pause");
    tx.insert_forfeit(&CommissionForfeit {
        workspace_id: workspace.id,
        program_id: program.id,
        partner_id: partner.id,
        source: "clicks:2025-12-31".into(),
        rule_id: "clicks".into(),
        plan_version_id: version.id,
        reason: "forfeited on termination".into(),
        forfeited_at: sale_at,
    })
    .await
    .expect("forfeit");
    tx.put_partner_profile(&PartnerProfile {
        partner_id: partner.id,
        workspace_id: workspace.id,
        website: Some("https://ada.example".into()),
        country: Some("FR".into()),
        logo_content_type: Some("image/svg+xml".into()),
        logo_base64: Some("PHN2Zy8+".into()),
        tax_form_status: "submitted".into(),
        display_name: Some("Ada".into()),
        show_on_leaderboard: true,
        updated_at: sale_at,
    })
    .await
    .expect("profile");
    let module = ProgramContent {
        id: id(),
        workspace_id: workspace.id,
        program_id: program.id,
        partner_group: Some("resellers".into()),
        kind: "training".into(),
        title: "Pitching — the basics".into(),
        body: "# Pitch\n\nSay *why*.".into(),
        persona: None,
        channel: None,
        file_name: None,
        content_type: None,
        file_base64: None,
        downloads: 3,
        created_at: sale_at,
    };
    tx.insert_content(&module).await.expect("content");
    tx.insert_training_completion(&TrainingCompletion {
        workspace_id: workspace.id,
        program_id: program.id,
        partner_id: partner.id,
        content_id: module.id,
        completed_at: sale_at,
    })
    .await
    .expect("completion");
    let ticket = Ticket {
        id: id(),
        workspace_id: workspace.id,
        partner_id: partner.id,
        subject: "Where is my payout?".into(),
        status: "answered".into(),
        assignee_id: Some(user.id),
        created_at: sale_at,
        updated_at: sale_at,
    };
    tx.insert_ticket(&ticket).await.expect("ticket");
    tx.insert_ticket_message(&TicketMessage {
        id: id(),
        ticket_id: ticket.id,
        author: format!("partner:{}", partner.id),
        body: "It is late — 3 days".into(),
        attachment_name: Some("invoice.pdf".into()),
        attachment_type: Some("application/pdf".into()),
        attachment_base64: Some("JVBERi0=".into()),
        created_at: sale_at,
    })
    .await
    .expect("message");
    tx.commit().await.expect("commit facts");

    let customer = Customer {
        binding: Some(binding),
        ..customer
    };
    Fixture {
        workspace,
        user,
        session_token_hash: session.token_hash,
        api_key_hash: api_key.key_hash,
        program,
        partner,
        link,
        customer,
        binding_click_id: touch.id.clone(),
        event,
        commission,
        batch_id: batch.id,
    }
}

/// Everything the app can read about the fixture, through one store's `Tx`.
#[derive(Debug, PartialEq)]
struct Snapshot {
    first_workspace: Option<Workspace>,
    user: Option<User>,
    user_by_email: Option<User>,
    session: Option<Session>,
    api_key: Option<ApiKey>,
    programs: Vec<Program>,
    plan_version: Option<PlanVersion>,
    partners: Vec<Partner>,
    partners_by_email: Vec<Partner>,
    enrollments: Vec<Enrollment>,
    links: Vec<LinkStats>,
    link_by_code: Option<Link>,
    customers: Vec<Customer>,
    customer_by_external_id: Option<Customer>,
    touches: Vec<Touch>,
    shares: Vec<tributary_core::attribution::BoundShare>,
    all_shares: Vec<(CustomerId, tributary_core::attribution::BoundShare)>,
    coupons: Vec<Coupon>,
    deals: Vec<Deal>,
    audit: Vec<AuditEntry>,
    postbacks: Vec<Postback>,
    deliveries: Vec<PostbackDelivery>,
    subs: Option<Subs>,
    sub_report: Vec<SubRow>,
    events: Vec<EventRecord>,
    event_by_key: Option<EventRecord>,
    customer_events: Vec<StoredEvent>,
    commissions: Vec<CommissionRecord>,
    commission: Option<CommissionRecord>,
    keyed: Vec<CommissionRecord>,
    daily_clicks: Vec<PartnerDayClicks>,
    parked: Vec<ProviderEventRecord>,
    payment: Option<ProviderPayment>,
    balances: Vec<PartnerBalance>,
    ledger_totals: Vec<(Currency, i64)>,
    unbalanced: Vec<TransactionId>,
    payout_batches: Vec<PayoutBatch>,
    payout_items: Vec<PayoutItem>,
    due_jobs: Vec<Job>,
    setting: Option<String>,
    lifecycle: Option<ProgramLifecycleRow>,
    applications: Vec<Application>,
    invitations: Vec<Invitation>,
    emails: Vec<Email>,
    terms: Vec<TermsVersion>,
    acceptances: Vec<TermsAcceptance>,
    pauses: Vec<EnrollmentPause>,
    forfeits: Vec<CommissionForfeit>,
    profile: Option<PartnerProfile>,
    contents: Vec<ProgramContent>,
    completions: Vec<TrainingCompletion>,
    firsts: PartnerFirsts,
    tickets: Vec<Ticket>,
}

async fn snapshot(store: &dyn Store, fixture: &Fixture) -> Snapshot {
    let ws = fixture.workspace.id;
    let page = Page::default();
    let mut tx = store.read().await.expect("read");
    Snapshot {
        first_workspace: tx.first_workspace().await.expect("workspace"),
        user: tx.user(fixture.user.id).await.expect("user"),
        user_by_email: tx.user_by_email(&fixture.user.email).await.expect("user"),
        session: tx
            .session(&fixture.session_token_hash)
            .await
            .expect("session"),
        api_key: tx
            .api_key_by_hash(&fixture.api_key_hash)
            .await
            .expect("key"),
        programs: tx.programs(ws, page).await.expect("programs"),
        plan_version: tx
            .plan_version(fixture.program.plan_version_id)
            .await
            .expect("plan"),
        partners: tx.partners(ws, page).await.expect("partners"),
        partners_by_email: tx
            .partners_by_email(&fixture.partner.email)
            .await
            .expect("partners"),
        enrollments: tx.enrollments(ws, None, page).await.expect("enrollments"),
        links: tx.links(ws, None, page).await.expect("links"),
        link_by_code: tx.link_by_code(&fixture.link.code).await.expect("link"),
        customers: tx.customers(ws, None, page).await.expect("customers"),
        customer_by_external_id: tx
            .customer_by_external_id(ws, &fixture.customer.external_id)
            .await
            .expect("customer"),
        touches: tx.touches(fixture.customer.id).await.expect("touches"),
        shares: tx
            .customer_shares(fixture.customer.id)
            .await
            .expect("shares"),
        all_shares: tx.workspace_customer_shares(ws).await.expect("shares"),
        coupons: tx.coupons(ws, None).await.expect("coupons"),
        deals: tx.deals(ws, None, page).await.expect("deals"),
        audit: tx
            .audit_entries(ws, &format!("customer:{}", fixture.customer.id))
            .await
            .expect("audit"),
        postbacks: tx.postbacks(ws, None).await.expect("postbacks"),
        deliveries: tx
            .postback_deliveries(ws, None, page)
            .await
            .expect("deliveries"),
        subs: tx
            .click_subs(fixture.binding_click_id.as_str())
            .await
            .expect("subs"),
        sub_report: tx
            .link_sub_report(&fixture.link, 3)
            .await
            .expect("sub report"),
        events: tx.events(ws, page).await.expect("events"),
        event_by_key: tx
            .event_by_idempotency_key(ws, &fixture.event.idempotency_key)
            .await
            .expect("event"),
        customer_events: tx
            .customer_events(fixture.customer.id)
            .await
            .expect("events"),
        commissions: tx
            .commissions(ws, &CommissionFilter::default(), page)
            .await
            .expect("commissions"),
        commission: tx
            .commission(ws, fixture.commission.id)
            .await
            .expect("commission"),
        keyed: tx
            .keyed_commissions(
                fixture.program.id,
                fixture.partner.id,
                "clicks:2025-12-01",
                "clicks:2026-01-01",
            )
            .await
            .expect("keyed commissions"),
        daily_clicks: tx
            .partner_daily_clicks(fixture.program.id, 0, 100_000)
            .await
            .expect("daily clicks"),
        parked: tx
            .parked_provider_events(ws, "stripe", "ch_1")
            .await
            .expect("parked"),
        payment: tx
            .provider_payment(ws, "stripe", "in_1")
            .await
            .expect("payment"),
        balances: tx
            .partner_balances(ws, fixture.partner.id)
            .await
            .expect("balances"),
        ledger_totals: tx.ledger_totals(ws).await.expect("totals"),
        unbalanced: tx.unbalanced_transactions(ws).await.expect("unbalanced"),
        payout_batches: tx.payout_batches(ws, page).await.expect("batches"),
        payout_items: tx.payout_items(fixture.batch_id).await.expect("items"),
        due_jobs: tx.due_jobs(at(i64::MAX / 2), 100).await.expect("jobs"),
        setting: tx.setting("click_id_key").await.expect("setting"),
        lifecycle: tx
            .program_lifecycle_by_slug("grow")
            .await
            .expect("lifecycle"),
        applications: tx
            .applications(ws, Some(fixture.program.id), None, page)
            .await
            .expect("applications"),
        invitations: tx
            .invitations(ws, fixture.program.id, page)
            .await
            .expect("invitations"),
        emails: tx.emails(ws, None, page).await.expect("emails"),
        terms: tx.terms_versions(fixture.program.id).await.expect("terms"),
        acceptances: tx
            .terms_acceptances(fixture.program.id, None)
            .await
            .expect("acceptances"),
        pauses: tx
            .enrollment_pauses(fixture.program.id, None)
            .await
            .expect("pauses"),
        forfeits: tx
            .partner_forfeits(fixture.program.id, fixture.partner.id)
            .await
            .expect("forfeits"),
        profile: tx
            .partner_profile(fixture.partner.id)
            .await
            .expect("profile"),
        contents: tx
            .contents(fixture.program.id, None)
            .await
            .expect("contents"),
        completions: tx
            .training_completions(fixture.program.id, fixture.partner.id)
            .await
            .expect("completions"),
        firsts: tx
            .partner_firsts(fixture.program.id, fixture.partner.id)
            .await
            .expect("firsts"),
        tickets: tx
            .tickets(ws, Some(fixture.partner.id), None, page)
            .await
            .expect("tickets"),
    }
}

/// A populated SQLite database and an empty PostgreSQL one.
async fn source_and_target() -> (TestDatabase, Arc<dyn Store>, Fixture, TestDatabase) {
    let source = TestDatabase::create(Backend::Sqlite).await.expect("sqlite");
    let store = source.open().await.expect("open sqlite");
    store.migrate().await.expect("migrate sqlite");
    let fixture = populate(store.as_ref()).await;
    let target = TestDatabase::create(Backend::Postgres)
        .await
        .expect("postgres");
    (source, store, fixture, target)
}

async fn pg_client(url: &str) -> tokio_postgres::Client {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    client
}

async fn workspace_rows(url: &str) -> i64 {
    let store = tributary_store::postgres::PgStore::open(url, 1)
        .await
        .expect("open");
    store.migrate().await.expect("migrate");
    let client = pg_client(url).await;
    client
        .query_one("SELECT COUNT(*) FROM workspaces", &[])
        .await
        .expect("count")
        .get(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_row_reads_back_the_same_through_both_stores() {
    let (source_db, source, fixture, target_db) = source_and_target().await;
    let report = sqlite_to_postgres(&source_db.url, &target_db.url)
        .await
        .expect("copy");

    let counted: Vec<&str> = report.tables.iter().map(|table| table.table).collect();
    assert_eq!(counted, TABLES);
    for table in &report.tables {
        let expected = match table.table {
            "clicks" => 12,
            // Two days: December 31 and January 1.
            "link_daily" => 2,
            // One transaction of two lines.
            "ledger_lines" => 2,
            // One from a sale, one from a day's clicks.
            "commissions" => 2,
            // A click and a coupon; a customer shared by two partners.
            "touches" | "customer_shares" => 2,
            // One click of twelve carried sub-ids.
            "click_subs" => 1,
            _ => 1,
        };
        assert_eq!(table.rows, expected, "{}", table.table);
    }
    assert_eq!(
        (
            report.workspaces,
            report.partners_checked,
            report.currencies
        ),
        (1, 1, 1)
    );

    let target = target_db.open().await.expect("open postgres");
    let from_sqlite = snapshot(source.as_ref(), &fixture).await;
    let from_postgres = snapshot(target.as_ref(), &fixture).await;
    assert_eq!(from_postgres, from_sqlite);
    // The snapshot holds what was written, not two equal empty answers.
    assert_eq!(from_sqlite.first_workspace, Some(fixture.workspace.clone()));
    assert_eq!(from_sqlite.commission, Some(fixture.commission.clone()));
    assert_eq!(from_sqlite.keyed.len(), 1);
    assert_eq!(
        from_sqlite.sub_report,
        vec![SubRow {
            value: "ünïcode".into(),
            clicks: 1,
            bot_clicks: 0,
            customers: 1
        }]
    );
    assert_eq!(from_sqlite.shares.len(), 2);
    assert_eq!(from_sqlite.applications.len(), 1);
    assert_eq!(from_sqlite.pauses.len(), 1);
    assert_eq!(from_sqlite.forfeits.len(), 1);
    assert_eq!(from_sqlite.contents.len(), 1);
    assert_eq!(from_sqlite.tickets.len(), 1);
    assert!(
        from_sqlite
            .profile
            .as_ref()
            .is_some_and(|p| p.show_on_leaderboard)
    );
    assert!(from_sqlite.firsts.first_link_at.is_some());
    assert!(from_sqlite.firsts.first_click_day.is_some());
    assert_eq!(
        from_sqlite
            .lifecycle
            .as_ref()
            .map(|row| row.lifecycle.headline.as_str()),
        Some("Grow — with us")
    );
    // The one-time token arrived usable: a write on the target uses it once.
    let mut tx = target.write().await.expect("write");
    let token = tx
        .use_partner_token("token-hash", "set_password", fixture.customer.created_at)
        .await
        .expect("use token");
    assert_eq!(token.map(|t| t.partner_id), Some(fixture.partner.id));
    tx.commit().await.expect("commit");
    assert_eq!(from_sqlite.deliveries.len(), 1);
    assert_eq!(from_sqlite.touches.len(), 2);
    assert_eq!(from_sqlite.keyed[0].customer_id, None);
    assert_eq!(from_sqlite.keyed[0].source.key(), Some("clicks:2025-12-31"));
    let days: Vec<(i64, i64)> = from_sqlite
        .daily_clicks
        .iter()
        .map(|day| (day.clicks, day.bot_clicks))
        .collect();
    assert_eq!(days.iter().map(|d| d.0).sum::<i64>(), 12);
    assert_eq!(days.iter().map(|d| d.1).sum::<i64>(), 1);
    assert_eq!(days.len(), 2, "two days of clicks: {days:?}");
    assert_eq!(from_sqlite.parked.len(), 1);
    assert!(from_sqlite.payment.is_some());
    assert_eq!(from_sqlite.event_by_key, Some(fixture.event.clone()));
    assert_eq!(
        from_sqlite.customer_by_external_id,
        Some(fixture.customer.clone())
    );
    assert_eq!(
        (from_sqlite.links[0].clicks, from_sqlite.links[0].bot_clicks),
        (12, 1)
    );
    assert_eq!(from_sqlite.balances.len(), 1);
    assert_eq!(
        from_sqlite.balances[0].pending_minor,
        fixture.commission.amount.amount_minor
    );
    assert_eq!(from_sqlite.ledger_totals, vec![(usd(), 0)]);
    assert_eq!(from_sqlite.due_jobs.len(), 1);
    assert_eq!(from_sqlite.setting.as_deref(), Some("c2VjcmV0"));

    // The raw clicks, which no `Tx` lists, arrived field for field in their months.
    let client = pg_client(&target_db.url).await;
    let postgres_clicks: Vec<Click> = client
        .query(&format!("{CLICK_COLUMNS} ORDER BY id"), &[])
        .await
        .expect("clicks")
        .iter()
        .map(|row| Click {
            id: row.get("id"),
            workspace_id: WorkspaceId(row.get("workspace_id")),
            link_id: LinkId(row.get("link_id")),
            partner_id: PartnerId(row.get("partner_id")),
            at: at(row.get("at")),
            ip_hash: row.get("ip_hash"),
            user_agent: row.get("user_agent"),
            referrer: row.get("referrer"),
            is_bot: row.get("is_bot"),
            subs: Default::default(),
        })
        .collect();
    let sqlite = rusqlite::Connection::open(source_db.url.trim_start_matches("sqlite://"))
        .expect("open the SQLite file");
    let mut statement = sqlite
        .prepare(&format!("{CLICK_COLUMNS} ORDER BY id"))
        .expect("prepare");
    let uuid = |text: String| Uuid::parse_str(&text).expect("uuid");
    let sqlite_clicks: Vec<Click> = statement
        .query_map([], |row| {
            Ok(Click {
                id: row.get("id")?,
                workspace_id: WorkspaceId(uuid(row.get("workspace_id")?)),
                link_id: LinkId(uuid(row.get("link_id")?)),
                partner_id: PartnerId(uuid(row.get("partner_id")?)),
                at: at(row.get("at")?),
                ip_hash: row.get("ip_hash")?,
                user_agent: row.get("user_agent")?,
                referrer: row.get("referrer")?,
                is_bot: row.get("is_bot")?,
                subs: Default::default(),
            })
        })
        .expect("query")
        .collect::<rusqlite::Result<_>>()
        .expect("clicks");
    assert_eq!(sqlite_clicks.len(), 12);
    assert_eq!(postgres_clicks, sqlite_clicks);
    let partitions: Vec<String> = client
        .query(
            "SELECT relname::TEXT FROM pg_class WHERE relispartition ORDER BY relname",
            &[],
        )
        .await
        .expect("partitions")
        .iter()
        .map(|row| row.get(0))
        .collect();
    assert_eq!(partitions, ["clicks_2025_12", "clicks_2026_01"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_holds_data_is_refused() {
    let (source_db, _source, _fixture, target_db) = source_and_target().await;
    sqlite_to_postgres(&source_db.url, &target_db.url)
        .await
        .expect("first copy");
    let again = sqlite_to_postgres(&source_db.url, &target_db.url).await;
    match again {
        Err(StoreError::Conflict(message)) => {
            assert!(message.contains("already holds a workspace"), "{message}")
        }
        other => panic!("a second copy must be refused, got {other:?}"),
    }
    assert_eq!(workspace_rows(&target_db.url).await, 1);

    // Not only workspaces: any row is refused (here a setting a server wrote on start).
    let fresh = TestDatabase::create(Backend::Postgres)
        .await
        .expect("postgres");
    let store = fresh.open().await.expect("open");
    store.migrate().await.expect("migrate");
    let mut tx = store.write().await.expect("write");
    tx.put_setting_if_absent("ip_hash_key", "x")
        .await
        .expect("setting");
    tx.commit().await.expect("commit");
    let refused = sqlite_to_postgres(&source_db.url, &fresh.url).await;
    assert!(
        matches!(&refused, Err(StoreError::Conflict(message)) if message.contains("settings")),
        "{refused:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_column_on_one_side_only_stops_the_copy_before_any_row() {
    let (source_db, _source, _fixture, target_db) = source_and_target().await;
    let path = source_db.url.trim_start_matches("sqlite://");
    rusqlite::Connection::open(path)
        .expect("open")
        .execute_batch("ALTER TABLE partners ADD COLUMN nickname TEXT")
        .expect("alter");
    let refused = sqlite_to_postgres(&source_db.url, &target_db.url).await;
    let message = refused.expect_err("schemas differ").to_string();
    assert!(
        message.contains("`partners.nickname` is in the source only"),
        "{message}"
    );
    assert_eq!(workspace_rows(&target_db.url).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_value_that_does_not_fit_rolls_the_whole_copy_back() {
    let (source_db, _source, _fixture, target_db) = source_and_target().await;
    let path = source_db.url.trim_start_matches("sqlite://");
    // `jobs` comes late in the order: everything before it was already inserted.
    rusqlite::Connection::open(path)
        .expect("open")
        .execute_batch("UPDATE jobs SET workspace_id = 'not-a-uuid'")
        .expect("update");
    let refused = sqlite_to_postgres(&source_db.url, &target_db.url).await;
    let message = refused.expect_err("bad value").to_string();
    assert!(
        message.contains("jobs.workspace_id in source row 1: not a UUID"),
        "{message}"
    );
    assert_eq!(workspace_rows(&target_db.url).await, 0);
}
