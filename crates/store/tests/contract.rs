//! The store contract: what every backend promises its callers, run on SQLite and on
//! PostgreSQL alike (each test twice, `<name>::sqlite` and `<name>::postgres`, each on a
//! fresh database). The queries themselves are exercised end to end by the app and server
//! tests, which also run on both.

use std::sync::Arc;
use tributary_core::plan::Plan;
use tributary_core::*;
use tributary_store::testing::{Backend, TestDatabase};
use tributary_store::*;
use uuid::Uuid;

const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00:00Z

async fn fresh(backend: Backend) -> (TestDatabase, Arc<dyn Store>) {
    let database = TestDatabase::create(backend).await.expect("test database");
    let store = database.open().await.expect("open");
    store.migrate().await.expect("migrate");
    (database, store)
}

fn workspace(name: &str) -> Workspace {
    Workspace {
        id: WorkspaceId(Uuid::now_v7()),
        name: name.into(),
        created_at: Timestamp::from_millis(T0),
    }
}

fn usd() -> Currency {
    Currency::parse("USD").expect("USD")
}

/// A workspace with one program, one partner and one link, committed.
async fn seeded(store: &dyn Store) -> Link {
    let ws = workspace("Seeded");
    let program_id = ProgramId(Uuid::now_v7());
    let version = PlanVersion {
        id: PlanVersionId(Uuid::now_v7()),
        program_id,
        version: 1,
        plan: Plan::simple(Some(Money::new(500, usd())), None),
        scope: PlanScope::Program,
        effective_from: Timestamp::from_millis(0),
        created_at: ws.created_at,
    };
    let program = Program {
        id: program_id,
        workspace_id: ws.id,
        name: "P".into(),
        destination_url: "https://shop.example/".into(),
        currency: usd(),
        window_days: 30,
        hold_days: 30,
        min_payout_minor: 0,
        plan_version_id: version.id,
        attribution: Default::default(),
        created_at: ws.created_at,
    };
    let partner = Partner {
        id: PartnerId(Uuid::now_v7()),
        workspace_id: ws.id,
        name: "Ada".into(),
        email: "ada@partners.example".into(),
        archetype: "reseller".into(),
        payout_email: None,
        password_hash: None,
        created_at: ws.created_at,
    };
    let link = Link {
        id: LinkId(Uuid::now_v7()),
        workspace_id: ws.id,
        program_id,
        partner_id: partner.id,
        code: "ada".into(),
        destination_url: program.destination_url.clone(),
        created_at: ws.created_at,
    };
    let mut tx = store.write().await.expect("write");
    tx.insert_workspace(&ws).await.expect("workspace");
    tx.insert_program(&program).await.expect("program");
    tx.insert_plan_version(&version).await.expect("plan");
    tx.insert_partner(&partner).await.expect("partner");
    tx.insert_link(&link).await.expect("link");
    tx.commit().await.expect("commit");
    link
}

fn job(at: i64) -> Job {
    Job {
        id: JobId(Uuid::now_v7()),
        workspace_id: WorkspaceId(Uuid::now_v7()),
        kind: "approve_commission".into(),
        payload_json: "{}".into(),
        dedupe_key: format!("test:{}", Uuid::now_v7()),
        run_at: Timestamp::from_millis(at),
        attempts: 0,
        created_at: Timestamp::from_millis(at),
    }
}

async fn migrating_twice_changes_nothing(backend: Backend) {
    let (_db, store) = fresh(backend).await;
    store.migrate().await.expect("second migrate");
    let mut tx = store.read().await.expect("read");
    assert_eq!(tx.first_workspace().await.expect("query"), None);
}

async fn a_write_dropped_without_commit_is_rolled_back(backend: Backend) {
    let (_db, store) = fresh(backend).await;
    let mut tx = store.write().await.expect("write");
    tx.insert_workspace(&workspace("Gone"))
        .await
        .expect("insert");
    drop(tx);
    // The next write gets a connection in a clean state.
    let kept = workspace("Kept");
    let mut tx = store.write().await.expect("write again");
    tx.insert_workspace(&kept).await.expect("insert");
    tx.commit().await.expect("commit");
    let mut tx = store.read().await.expect("read");
    assert_eq!(tx.first_workspace().await.expect("query"), Some(kept));
}

async fn a_duplicate_is_a_conflict_and_a_savepoint_undoes_only_its_part(backend: Backend) {
    let (_db, store) = fresh(backend).await;
    let first = workspace("First");
    let mut tx = store.write().await.expect("write");
    tx.insert_workspace(&first).await.expect("insert");
    tx.savepoint().await.expect("savepoint");
    let duplicate = tx.insert_workspace(&first).await;
    assert!(
        matches!(duplicate, Err(StoreError::Conflict(_))),
        "{duplicate:?}"
    );
    tx.rollback_to_savepoint()
        .await
        .expect("rollback to savepoint");
    tx.put_setting_if_absent("after", "yes")
        .await
        .expect("the transaction goes on after the savepoint");
    tx.commit().await.expect("commit");
    let mut tx = store.read().await.expect("read");
    assert_eq!(tx.workspace(first.id).await.expect("query"), Some(first));
    assert_eq!(
        tx.setting("after").await.expect("setting").as_deref(),
        Some("yes")
    );
}

async fn readers_refuse_writes(backend: Backend) {
    let (_db, store) = fresh(backend).await;
    let mut tx = store.read().await.expect("read");
    assert!(tx.insert_workspace(&workspace("No")).await.is_err());
}

async fn settings_keep_their_first_value(backend: Backend) {
    let (_db, store) = fresh(backend).await;
    let mut tx = store.write().await.expect("write");
    tx.put_setting_if_absent("k", "first").await.expect("put");
    tx.put_setting_if_absent("k", "second")
        .await
        .expect("put again");
    tx.commit().await.expect("commit");
    let mut tx = store.read().await.expect("read");
    assert_eq!(
        tx.setting("k").await.expect("get").as_deref(),
        Some("first")
    );
}

async fn a_finished_job_is_never_claimed_again(backend: Backend) {
    let (_db, store) = fresh(backend).await;
    let due = job(T0);
    let later = job(T0 + 60_000);
    let mut tx = store.write().await.expect("write");
    tx.enqueue_job(&due).await.expect("enqueue");
    tx.enqueue_job(&later).await.expect("enqueue");
    // The same dedupe key again is ignored.
    tx.enqueue_job(&Job {
        id: JobId(Uuid::now_v7()),
        ..due.clone()
    })
    .await
    .expect("enqueue duplicate");
    tx.commit().await.expect("commit");

    let now = Timestamp::from_millis(T0 + 1);
    let mut tx = store.read().await.expect("read");
    let listed: Vec<JobId> = tx
        .due_jobs(now, 10)
        .await
        .expect("due")
        .iter()
        .map(|job| job.id)
        .collect();
    assert_eq!(listed, vec![due.id]);
    drop(tx);

    let mut tx = store.write().await.expect("write");
    assert!(
        !tx.claim_job(later.id, now).await.expect("claim"),
        "not due yet"
    );
    assert!(tx.claim_job(due.id, now).await.expect("claim"));
    tx.finish_job(due.id, now).await.expect("finish");
    tx.commit().await.expect("commit");

    let mut tx = store.write().await.expect("write");
    assert!(!tx.claim_job(due.id, now).await.expect("claim"), "done");
    drop(tx);
    let mut tx = store.read().await.expect("read");
    assert!(tx.due_jobs(now, 10).await.expect("due").is_empty());
}

/// While one write transaction holds a job, another skips it rather than waiting.
async fn a_held_job_is_skipped_by_other_writers(backend: Backend) {
    if backend == Backend::Sqlite {
        // One writer at a time by construction: a second writer cannot even begin.
        return;
    }
    let (_db, store) = fresh(backend).await;
    let due = job(T0);
    let mut tx = store.write().await.expect("write");
    tx.enqueue_job(&due).await.expect("enqueue");
    tx.commit().await.expect("commit");
    let now = Timestamp::from_millis(T0);
    let mut first = store.write().await.expect("first");
    assert!(first.claim_job(due.id, now).await.expect("claim"));
    let mut second = store.write().await.expect("second");
    assert!(!second.claim_job(due.id, now).await.expect("claim"));
    drop(second);
    first.finish_job(due.id, now).await.expect("finish");
    first.commit().await.expect("commit");
}

async fn click_batches_count_per_link_across_months(backend: Backend) {
    let (_db, store) = fresh(backend).await;
    let link = seeded(store.as_ref()).await;
    let click = |n: i64, at: i64, is_bot: bool| Click {
        id: format!("click-{n}"),
        workspace_id: link.workspace_id,
        link_id: link.id,
        partner_id: link.partner_id,
        at: Timestamp::from_millis(at),
        ip_hash: "h".into(),
        user_agent: "ua".into(),
        referrer: (n % 2 == 0).then(|| "https://blog.example/".into()),
        is_bot,
        subs: Default::default(),
    };
    // December and January: two months, so two click partitions on PostgreSQL.
    let batch: Vec<Click> = (0..10)
        .map(|n| click(n, T0 - 86_400_000 + n * 3_600_000, n == 3))
        .collect();
    store.append_clicks(&batch).await.expect("append");
    store
        .append_clicks(&[click(10, T0 + 5, false)])
        .await
        .expect("append again");
    let mut tx = store.read().await.expect("read");
    let stats = tx
        .links(link.workspace_id, None, Page::default())
        .await
        .expect("links");
    assert_eq!(stats.len(), 1);
    assert_eq!((stats[0].clicks, stats[0].bot_clicks), (11, 1));
}

/// Writers that lock one key take turns; another key does not wait.
async fn writers_on_one_key_take_turns(backend: Backend) {
    if backend == Backend::Sqlite {
        // One writer at a time by construction: a second writer cannot even begin.
        return;
    }
    let (_db, store) = fresh(backend).await;
    let mut first = store.write().await.expect("first");
    first.lock_key("test", "k").await.expect("lock");
    let mut other = store.write().await.expect("other");
    other
        .lock_key("test", "other")
        .await
        .expect("another key is free at once");
    other.commit().await.expect("commit other");

    let second_store = store.clone();
    let second = tokio::spawn(async move {
        let mut second = second_store.write().await.expect("second");
        second.lock_key("test", "k").await.expect("lock");
        // Runs only once the first has committed: it sees the first's row.
        let seen = second.setting("winner").await.expect("get");
        second
            .put_setting_if_absent("winner", "second")
            .await
            .expect("put");
        second.commit().await.expect("commit");
        seen
    });
    first
        .put_setting_if_absent("winner", "first")
        .await
        .expect("put");
    first.commit().await.expect("commit first");
    let seen_by_second = second.await.expect("second task");
    assert_eq!(seen_by_second.as_deref(), Some("first"));
}

async fn plan_versions_keep_their_scope_and_enrollments_their_segment(backend: Backend) {
    let (_db, store) = fresh(backend).await;
    let link = seeded(store.as_ref()).await;
    let mut tx = store.write().await.expect("write");
    let override_version = PlanVersion {
        id: PlanVersionId(Uuid::now_v7()),
        program_id: link.program_id,
        version: 2,
        plan: Plan::simple(None, Some(BasisPoints::new(3_000).expect("30 %"))),
        scope: PlanScope::Partner(link.partner_id),
        effective_from: Timestamp::from_millis(1_800_000_000_000),
        created_at: Timestamp::from_millis(1_700_000_000_000),
    };
    tx.insert_plan_version(&override_version)
        .await
        .expect("override");
    let group_version = PlanVersion {
        id: PlanVersionId(Uuid::now_v7()),
        version: 3,
        scope: PlanScope::Group("resellers".into()),
        ..override_version.clone()
    };
    tx.insert_plan_version(&group_version).await.expect("group");
    tx.set_program_plan_version(link.program_id, group_version.id)
        .await
        .expect("point the program");
    assert!(
        !tx.set_enrollment_segment(link.program_id, link.partner_id, Some("resellers"), None)
            .await
            .expect("update"),
        "not enrolled yet"
    );
    tx.insert_enrollment(&Enrollment {
        id: EnrollmentId(Uuid::now_v7()),
        workspace_id: link.workspace_id,
        program_id: link.program_id,
        partner_id: link.partner_id,
        status: "approved".into(),
        partner_group: None,
        tier: None,
        created_at: Timestamp::from_millis(1_700_000_000_000),
        status_reason: None,
        status_changed_at: None,
    })
    .await
    .expect("enroll");
    assert!(
        tx.set_enrollment_segment(
            link.program_id,
            link.partner_id,
            Some("resellers"),
            Some("gold")
        )
        .await
        .expect("update")
    );
    let void = CommissionVoid {
        workspace_id: link.workspace_id,
        customer_id: CustomerId(Uuid::now_v7()),
        source_event_id: EventId(Uuid::now_v7()),
        rule_id: "sale-percent".into(),
        plan_version_id: override_version.id,
        reason: "the customer did not reach `activated` within 90 days".into(),
        voided_at: Timestamp::from_millis(1_700_000_000_000),
    };
    tx.insert_void(&void).await.expect("void");
    // Voiding twice is a no-op, not a conflict.
    tx.insert_void(&void).await.expect("void again");
    tx.commit().await.expect("commit");

    let mut tx = store.read().await.expect("read");
    let versions = tx.plan_versions(link.program_id).await.expect("versions");
    let scopes: Vec<(i64, PlanScope)> = versions
        .iter()
        .map(|version| (version.version, version.scope.clone()))
        .collect();
    assert_eq!(
        scopes,
        vec![
            (1, PlanScope::Program),
            (2, PlanScope::Partner(link.partner_id)),
            (3, PlanScope::Group("resellers".into()))
        ]
    );
    assert_eq!(versions[1], override_version);
    let program = tx
        .program(link.workspace_id, link.program_id)
        .await
        .expect("program")
        .expect("exists");
    assert_eq!(program.plan_version_id, group_version.id);
    let enrollment = tx
        .enrollment(link.program_id, link.partner_id)
        .await
        .expect("enrollment")
        .expect("exists");
    assert_eq!(
        (
            enrollment.partner_group.as_deref(),
            enrollment.tier.as_deref()
        ),
        (Some("resellers"), Some("gold"))
    );
    assert_eq!(
        tx.customer_voids(void.customer_id).await.expect("voids"),
        vec![void]
    );
}

macro_rules! on_both_backends {
    ($($name:ident),+ $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name(super::Backend::Sqlite).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name(super::Backend::Postgres).await
                }
            }
        )+
    };
}

/// The lifecycle rows' one-way steps: a slug names one program, an application is decided
/// once, a program invites an email once, a token is used once and not after it expires,
/// and accepting the same terms twice keeps the first acceptance.
async fn lifecycle_rows_move_one_way(backend: Backend) {
    let (_db, store) = fresh(backend).await;
    let first = seeded(store.as_ref()).await;
    let at = Timestamp::from_millis(T0);
    let mut tx = store.write().await.expect("write");
    let program = tx
        .program(first.workspace_id, first.program_id)
        .await
        .expect("read")
        .expect("seeded");
    let other_program = ProgramId(Uuid::now_v7());
    tx.insert_program(&Program {
        id: other_program,
        ..program
    })
    .await
    .expect("second program");
    tx.commit().await.expect("commit");
    let second = Link {
        program_id: other_program,
        ..first.clone()
    };
    let lifecycle_row = |link: &Link, slug: &str| ProgramLifecycleRow {
        program_id: link.program_id,
        workspace_id: link.workspace_id,
        slug: slug.into(),
        lifecycle: Default::default(),
        updated_at: at,
    };
    let mut tx = store.write().await.expect("write");
    tx.put_program_lifecycle(&lifecycle_row(&first, "join-us"))
        .await
        .expect("first slug");
    tx.savepoint().await.expect("savepoint");
    let taken = tx
        .put_program_lifecycle(&lifecycle_row(&second, "join-us"))
        .await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    tx.rollback_to_savepoint()
        .await
        .expect("rollback to savepoint");
    let mut renamed = lifecycle_row(&first, "partners");
    renamed.lifecycle.reapply_cooldown_days = 7;
    tx.put_program_lifecycle(&renamed).await.expect("replace");
    assert_eq!(
        tx.program_lifecycle_by_slug("partners")
            .await
            .expect("read"),
        Some(renamed.clone())
    );
    assert_eq!(
        tx.program_lifecycle_by_slug("join-us").await.expect("read"),
        None
    );

    let applicant = tributary_core::lifecycle::Applicant {
        name: "Grace".into(),
        email: "grace@example.com".into(),
        website: None,
        country: Some("GB".into()),
        group: None,
        answers: Default::default(),
    };
    let application = Application {
        id: ApplicationId(Uuid::now_v7()),
        workspace_id: first.workspace_id,
        program_id: first.program_id,
        applicant,
        score: tributary_core::lifecycle::Score {
            total: Some(42),
            lines: vec![],
        },
        status: "pending".into(),
        decided_by: None,
        reason: None,
        partner_id: None,
        ip_hash: Some("hash".into()),
        created_at: at,
        decided_at: None,
    };
    tx.insert_application(&application).await.expect("apply");
    let decided = Application {
        status: "approved".into(),
        decided_by: Some("rule".into()),
        reason: Some("fits".into()),
        partner_id: Some(first.partner_id),
        decided_at: Some(at.plus_millis(1)),
        ..application.clone()
    };
    assert!(tx.decide_application(&decided).await.expect("decide"));
    let again = Application {
        status: "rejected".into(),
        ..decided.clone()
    };
    assert!(!tx.decide_application(&again).await.expect("decide again"));
    assert_eq!(
        tx.latest_application(first.program_id, "grace@example.com")
            .await
            .expect("latest"),
        Some(decided.clone())
    );
    assert_eq!(
        tx.applications(first.workspace_id, None, Some("pending"), Page::default())
            .await
            .expect("queue"),
        vec![]
    );

    let invitation = Invitation {
        id: InvitationId(Uuid::now_v7()),
        workspace_id: first.workspace_id,
        program_id: first.program_id,
        email: "lin@example.com".into(),
        name: None,
        partner_group: Some("agencies".into()),
        token_hash: "token-1".into(),
        status: "sent".into(),
        invited_by: "user:1".into(),
        created_at: at,
        expires_at: at.plus_days(14),
        accepted_at: None,
        partner_id: None,
    };
    assert!(tx.insert_invitation(&invitation).await.expect("invite"));
    let twice = Invitation {
        id: InvitationId(Uuid::now_v7()),
        token_hash: "token-2".into(),
        ..invitation.clone()
    };
    assert!(!tx.insert_invitation(&twice).await.expect("invite twice"));
    assert!(
        tx.accept_invitation(invitation.id, first.partner_id, at)
            .await
            .expect("accept")
    );
    assert!(
        !tx.accept_invitation(invitation.id, first.partner_id, at)
            .await
            .expect("accept twice")
    );
    let accepted = tx
        .invitation_by_token("token-1")
        .await
        .expect("read")
        .expect("found");
    assert_eq!(
        (accepted.status.as_str(), accepted.partner_id),
        ("accepted", Some(first.partner_id))
    );

    let token = PartnerToken {
        token_hash: "secret-hash".into(),
        workspace_id: first.workspace_id,
        partner_id: first.partner_id,
        purpose: "set_password".into(),
        created_at: at,
        expires_at: at.plus_days(1),
        used_at: None,
    };
    tx.insert_partner_token(&token).await.expect("token");
    let late = tx
        .use_partner_token("secret-hash", "set_password", at.plus_days(2))
        .await
        .expect("late");
    assert_eq!(late, None, "expired");
    let wrong = tx
        .use_partner_token("secret-hash", "other", at)
        .await
        .expect("wrong purpose");
    assert_eq!(wrong, None);
    let used = tx
        .use_partner_token("secret-hash", "set_password", at)
        .await
        .expect("use")
        .expect("valid");
    assert_eq!(used.partner_id, first.partner_id);
    assert_eq!(used.used_at, Some(at));
    let reused = tx
        .use_partner_token("secret-hash", "set_password", at)
        .await
        .expect("reuse");
    assert_eq!(reused, None, "one time");

    let terms = TermsVersion {
        id: TermsVersionId(Uuid::now_v7()),
        workspace_id: first.workspace_id,
        program_id: first.program_id,
        version: 1,
        body_markdown: "# Terms".into(),
        payout_schedule: "Monthly".into(),
        termination_policy: "forfeit".into(),
        grace_days: 14,
        published_by: "user:1".into(),
        published_at: at,
    };
    tx.insert_terms_version(&terms).await.expect("terms");
    let acceptance = TermsAcceptance {
        workspace_id: first.workspace_id,
        program_id: first.program_id,
        partner_id: first.partner_id,
        terms_version_id: terms.id,
        version: 1,
        accepted_at: at,
        ip_hash: Some("h".into()),
    };
    tx.insert_terms_acceptance(&acceptance)
        .await
        .expect("accept");
    tx.insert_terms_acceptance(&TermsAcceptance {
        accepted_at: at.plus_days(1),
        ..acceptance.clone()
    })
    .await
    .expect("accept again");
    assert_eq!(
        tx.terms_acceptances(first.program_id, Some(first.partner_id))
            .await
            .expect("acceptances"),
        vec![acceptance]
    );
    assert_eq!(
        tx.terms_versions(first.program_id).await.expect("versions"),
        vec![terms]
    );

    tx.insert_enrollment(&Enrollment {
        id: EnrollmentId(Uuid::now_v7()),
        workspace_id: first.workspace_id,
        program_id: first.program_id,
        partner_id: first.partner_id,
        status: "approved".into(),
        partner_group: None,
        tier: None,
        created_at: at,
        status_reason: None,
        status_changed_at: None,
    })
    .await
    .expect("enroll");
    assert_eq!(
        tx.count_enrollments(first.program_id, &["approved", "suspended"])
            .await
            .expect("count"),
        1
    );
    assert!(
        tx.set_enrollment_status(
            first.program_id,
            first.partner_id,
            "suspended",
            Some("spam"),
            at
        )
        .await
        .expect("suspend")
    );
    let enrollment = tx
        .enrollment(first.program_id, first.partner_id)
        .await
        .expect("read")
        .expect("enrolled");
    assert_eq!(
        (
            enrollment.status.as_str(),
            enrollment.status_reason.as_deref()
        ),
        ("suspended", Some("spam"))
    );
    assert_eq!(
        tx.count_enrollments(first.program_id, &["approved"])
            .await
            .expect("count"),
        0
    );
    tx.insert_enrollment_pause(&EnrollmentPause {
        id: Uuid::now_v7(),
        workspace_id: first.workspace_id,
        program_id: first.program_id,
        partner_id: first.partner_id,
        kind: "suspended".into(),
        reason: "spam".into(),
        from_at: at,
        until_at: None,
        decided_by: "user:1".into(),
    })
    .await
    .expect("pause");
    assert!(
        tx.end_suspension(first.program_id, first.partner_id, at.plus_days(3))
            .await
            .expect("reinstate")
    );
    assert!(
        !tx.end_suspension(first.program_id, first.partner_id, at.plus_days(4))
            .await
            .expect("again"),
        "no open suspension is left"
    );
    let pauses = tx
        .enrollment_pauses(first.program_id, Some(first.partner_id))
        .await
        .expect("pauses");
    assert_eq!(pauses.len(), 1);
    assert_eq!(pauses[0].until_at, Some(at.plus_days(3)));
    tx.commit().await.expect("commit");
}

on_both_backends!(
    migrating_twice_changes_nothing,
    a_write_dropped_without_commit_is_rolled_back,
    a_duplicate_is_a_conflict_and_a_savepoint_undoes_only_its_part,
    readers_refuse_writes,
    settings_keep_their_first_value,
    a_finished_job_is_never_claimed_again,
    a_held_job_is_skipped_by_other_writers,
    click_batches_count_per_link_across_months,
    writers_on_one_key_take_turns,
    plan_versions_keep_their_scope_and_enrollments_their_segment,
    lifecycle_rows_move_one_way,
);
