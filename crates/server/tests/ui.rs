//! The web UI over real HTTP: a fresh SQLite file per test, the real server on port 0, and
//! a cookie-keeping client that does not follow redirects (so each 303 can be checked).

use reqwest::redirect::Policy;
use reqwest::{Client, StatusCode, header};
use std::sync::Arc;
use tempfile::TempDir;
use tributary_app::admin::{self, NewLink, NewPartner, NewProgram};
use tributary_app::clicks::{self, Visit};
use tributary_app::clock::SystemClock;
use tributary_app::plans::{self, NewVersion};
use tributary_app::{App, click_pay, ingest};
use tributary_core::plan::Plan;
use tributary_core::{CommissionId, PartnerId, ProgramId, WorkspaceId};
use tributary_store::sqlite::SqliteStore;
use tributary_store::{CommissionFilter, Page, Role};

const OWNER_EMAIL: &str = "owner@example.com";
const PARTNER_A_EMAIL: &str = "ada@partners.example";
const PARTNER_B_EMAIL: &str = "bob@partners.example";
const PASSWORD: &str = "correct horse battery";
const BROWSER_AGENT: &str = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36";

/// One partner with a link and one commission on a 100.00 USD sale.
struct Seeded {
    id: PartnerId,
    code: &'static str,
    commission_id: CommissionId,
}

struct TestApp {
    base: String,
    app: App,
    workspace_id: WorkspaceId,
    program_id: ProgramId,
    a: Seeded,
    b: Seeded,
    _dir: TempDir,
}

impl TestApp {
    async fn start() -> TestApp {
        let dir = tempfile::tempdir().expect("a temp dir for the database");
        let url = format!("sqlite://{}/t.db", dir.path().display());
        let store = SqliteStore::open(&url)
            .await
            .expect("the SQLite store opens");
        let app = App::start(Arc::new(store), Arc::new(SystemClock))
            .await
            .expect("the app starts");
        let (workspace, _) = admin::create_workspace(&app, "Acme", OWNER_EMAIL, PASSWORD)
            .await
            .expect("the workspace is created");
        let program = admin::create_program(
            &app,
            workspace.id,
            NewProgram {
                name: "Acme referrals".into(),
                destination_url: "https://acme.example/pricing".into(),
                currency: Some("USD".into()),
                window_days: Some(30),
                hold_days: Some(0),
                min_payout_minor: Some(100),
                lead_flat_minor: None,
                sale_percent_bp: Some(2_000),
                plan: None,
                attribution: None,
            },
        )
        .await
        .expect("the program is created");
        let mut test = TestApp {
            base: String::new(),
            workspace_id: workspace.id,
            program_id: program.id,
            a: seed_partner(
                &app,
                workspace.id,
                program.id,
                "Ada",
                PARTNER_A_EMAIL,
                "ada-link",
            )
            .await,
            b: seed_partner(
                &app,
                workspace.id,
                program.id,
                "Bob",
                PARTNER_B_EMAIL,
                "bob-link",
            )
            .await,
            app,
            _dir: dir,
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a free port");
        test.base = format!(
            "http://{}",
            listener.local_addr().expect("the listener has an address")
        );
        tokio::spawn(tributary_server::serve(
            listener,
            test.app.clone(),
            std::future::pending(),
        ));
        test
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Signs in through the login form; returns the answer to the POST.
    async fn sign_in(
        &self,
        client: &Client,
        login_path: &str,
        email: &str,
        password: &str,
    ) -> reqwest::Response {
        let form = client
            .get(self.url(login_path))
            .send()
            .await
            .expect("the login page answers");
        assert_eq!(form.status(), StatusCode::OK);
        let csrf_token = csrf_token(&form.text().await.expect("the login page has a body"));
        client
            .post(self.url(login_path))
            .form(&[
                ("email", email),
                ("password", password),
                ("csrf_token", csrf_token.as_str()),
            ])
            .send()
            .await
            .expect("the login form is accepted for processing")
    }

    async fn signed_in(&self, login_path: &str, email: &str) -> Client {
        let client = new_client();
        let answer = self.sign_in(&client, login_path, email, PASSWORD).await;
        assert_eq!(answer.status(), StatusCode::SEE_OTHER, "sign-in succeeds");
        client
    }

    async fn page(&self, client: &Client, path: &str) -> (StatusCode, String) {
        let answer = client
            .get(self.url(path))
            .send()
            .await
            .expect("the page answers");
        let status = answer.status();
        (status, answer.text().await.expect("the page has a body"))
    }
}

async fn seed_partner(
    app: &App,
    workspace_id: WorkspaceId,
    program_id: ProgramId,
    name: &str,
    email: &str,
    code: &'static str,
) -> Seeded {
    let partner = admin::create_partner(
        app,
        workspace_id,
        NewPartner {
            name: name.into(),
            email: email.into(),
            archetype: Some("influencer".into()),
            payout_email: None,
            password: Some(PASSWORD.into()),
        },
    )
    .await
    .expect("the partner is created");
    admin::enroll(app, workspace_id, program_id, partner.id)
        .await
        .expect("the partner is enrolled");
    let link = admin::create_link(
        app,
        workspace_id,
        NewLink {
            program_id,
            partner_id: partner.id,
            code: Some(code.into()),
            destination_url: None,
        },
    )
    .await
    .expect("the link is created");
    let click = clicks::click(
        app,
        &link,
        Visit {
            ip: "203.0.113.7",
            user_agent: BROWSER_AGENT,
            referrer: None,
        },
    );
    let body = serde_json::json!({
        "type": "sale",
        "customer_id": format!("customer-of-{code}"),
        "click_id": click.click_id,
        "amount_minor": 10_000,
        "currency": "USD",
        "invoice_id": format!("inv-{code}"),
    });
    let request = ingest::parse_event(&body, app.now()).expect("the event is valid");
    ingest::ingest(app, workspace_id, &format!("sale-{code}"), request)
        .await
        .expect("the sale is ingested");
    let filter = CommissionFilter {
        partner_id: Some(partner.id),
        ..CommissionFilter::default()
    };
    let commissions = app
        .store
        .read()
        .await
        .expect("a read transaction")
        .commissions(workspace_id, &filter, Page::default())
        .await
        .expect("the commissions list");
    let commission = commissions.first().expect("the sale earned a commission");
    Seeded {
        id: partner.id,
        code,
        commission_id: commission.id,
    }
}

fn new_client() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .expect("an HTTP client")
}

/// The first form's CSRF token in a page.
fn csrf_token(html: &str) -> String {
    let marker = "name=\"csrf_token\" value=\"";
    let start = html.find(marker).expect("the page has a CSRF field") + marker.len();
    let end = html[start..]
        .find('"')
        .expect("the CSRF field's value is closed");
    html[start..start + end].to_string()
}

fn location(answer: &reqwest::Response) -> &str {
    answer
        .headers()
        .get(header::LOCATION)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
}

#[tokio::test]
async fn a_wrong_password_shows_an_error_and_keeps_the_email() {
    let test = TestApp::start().await;
    for (login_path, email) in [
        ("/admin/login", OWNER_EMAIL),
        ("/portal/login", PARTNER_A_EMAIL),
    ] {
        let client = new_client();
        let answer = test
            .sign_in(&client, login_path, email, "not the password at all")
            .await;
        assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
        assert!(
            !answer
                .headers()
                .get_all(header::SET_COOKIE)
                .iter()
                .any(|cookie| cookie.as_bytes().starts_with(b"tributary_session=")),
            "no session cookie after a refused sign-in"
        );
        let html = answer.text().await.expect("a body");
        assert!(html.contains("do not match an account"), "{html}");
        assert!(html.contains(&format!("value=\"{email}\"")), "{html}");
        let (status, _) = test.page(&client, "/admin").await;
        assert_eq!(status, StatusCode::SEE_OTHER, "still signed out");
    }
}

#[tokio::test]
async fn a_post_without_the_csrf_token_is_refused() {
    let test = TestApp::start().await;
    let client = test.signed_in("/admin/login", OWNER_EMAIL).await;
    let answer = client
        .post(test.url("/admin/programs"))
        .form(&[
            ("name", "Sneaky program"),
            ("destination_url", "https://evil.example/"),
        ])
        .send()
        .await
        .expect("the POST answers");
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    let html = answer.text().await.expect("a body");
    assert!(html.contains("This form has expired"), "{html}");

    let answer = client
        .post(test.url("/admin/programs"))
        .form(&[
            ("name", "Sneaky program"),
            ("destination_url", "https://evil.example/"),
            ("csrf_token", "a-token-of-another-session-xxxxx"),
        ])
        .send()
        .await
        .expect("the POST answers");
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    let (_, html) = test.page(&client, "/admin/programs").await;
    assert!(!html.contains("Sneaky program"), "nothing was created");

    // The login form needs its double-submit token too.
    let fresh = new_client();
    let answer = fresh
        .post(test.url("/admin/login"))
        .form(&[("email", OWNER_EMAIL), ("password", PASSWORD)])
        .send()
        .await
        .expect("the POST answers");
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn a_partner_sees_only_their_own_links_and_commissions() {
    let test = TestApp::start().await;
    let client = test.signed_in("/portal/login", PARTNER_A_EMAIL).await;
    let (status, html) = test.page(&client, "/portal").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(test.a.code), "{html}");
    assert!(
        html.contains(&format!("{}/r/{}", test.base, test.a.code)),
        "the full tracking URL is shown: {html}"
    );
    assert!(!html.contains(test.b.code), "{html}");
    assert!(
        html.contains("20.00 USD"),
        "the commission and balance: {html}"
    );

    let (status, html) = test
        .page(
            &client,
            &format!("/portal/commissions/{}", test.a.commission_id),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Why this amount?"), "{html}");
    assert!(html.contains("20.00 USD"), "{html}");

    let (status, html) = test
        .page(
            &client,
            &format!("/portal/commissions/{}", test.b.commission_id),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(!html.contains("Bob"), "{html}");
    let (status, _) = test.page(&client, "/portal/commissions/not-an-id").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_admin_cookie_does_not_open_the_portal_nor_a_partner_cookie_the_admin() {
    let test = TestApp::start().await;
    let staff = test.signed_in("/admin/login", OWNER_EMAIL).await;
    let (status, _) = test.page(&staff, "/admin").await;
    assert_eq!(status, StatusCode::OK);
    let answer = staff
        .get(test.url("/portal"))
        .send()
        .await
        .expect("the portal answers");
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&answer), "/portal/login");
    let answer = staff
        .get(test.url(&format!("/portal/commissions/{}", test.a.commission_id)))
        .send()
        .await
        .expect("the portal answers");
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);

    let partner = test.signed_in("/portal/login", PARTNER_A_EMAIL).await;
    let (status, _) = test.page(&partner, "/portal").await;
    assert_eq!(status, StatusCode::OK);
    for path in ["/admin", "/admin/partners", "/admin/commissions"] {
        let answer = partner
            .get(test.url(path))
            .send()
            .await
            .expect("the admin answers");
        assert_eq!(answer.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location(&answer), "/admin/login", "{path}");
    }
    let answer = partner
        .post(test.url("/admin/programs"))
        .form(&[("name", "x")])
        .send()
        .await
        .expect("the admin answers");
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn signed_out_visitors_are_sent_to_the_right_login_page() {
    let test = TestApp::start().await;
    let client = new_client();
    for (path, login) in [
        ("/", "/admin"),
        ("/admin", "/admin/login"),
        ("/admin/links", "/admin/login"),
        ("/portal", "/portal/login"),
    ] {
        let answer = client
            .get(test.url(path))
            .send()
            .await
            .expect("the page answers");
        assert_eq!(answer.status(), StatusCode::SEE_OTHER, "{path}");
        assert_eq!(location(&answer), login, "{path}");
    }
}

#[tokio::test]
async fn an_htmx_request_without_a_session_is_sent_to_the_login_page_whole() {
    let test = TestApp::start().await;
    let answer = new_client()
        .get(test.url("/admin/commissions?state=paid"))
        .header("HX-Request", "true")
        .send()
        .await
        .expect("the page answers");
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(
        answer
            .headers()
            .get("hx-redirect")
            .and_then(|value| value.to_str().ok()),
        Some("/admin/login")
    );
    assert!(
        answer
            .headers()
            .contains_key(header::CONTENT_SECURITY_POLICY)
    );
}

#[tokio::test]
async fn bad_input_comes_back_with_the_message_and_the_input() {
    let test = TestApp::start().await;
    let client = test.signed_in("/admin/login", OWNER_EMAIL).await;
    let (_, html) = test.page(&client, "/admin/programs").await;
    let csrf = csrf_token(&html);
    let answer = client
        .post(test.url("/admin/programs"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("name", "Spring <promo>"),
            ("destination_url", "https://acme.example/spring"),
            ("currency", "USD"),
            ("window_days", "thirty"),
        ])
        .send()
        .await
        .expect("the POST answers");
    assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = answer.text().await.expect("a body");
    assert!(
        html.contains("window days must be a whole number"),
        "{html}"
    );
    assert!(html.contains("value=\"thirty\""), "{html}");
    assert!(
        html.contains("value=\"Spring &#60;promo&#62;\""),
        "input is kept and escaped: {html}"
    );

    let answer = client
        .post(test.url("/admin/links"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("program_id", test.program_id.to_string().as_str()),
            ("partner_id", test.a.id.to_string().as_str()),
            ("code", test.b.code),
        ])
        .send()
        .await
        .expect("the POST answers");
    assert_eq!(answer.status(), StatusCode::CONFLICT);
    let html = answer.text().await.expect("a body");
    assert!(html.contains("is taken"), "{html}");
}

#[tokio::test]
async fn a_viewer_may_look_but_not_change_anything() {
    let test = TestApp::start().await;
    admin::add_user(
        &test.app,
        test.workspace_id,
        "viewer@example.com",
        PASSWORD,
        Role::Viewer,
    )
    .await
    .expect("the viewer is added");
    let client = test.signed_in("/admin/login", "viewer@example.com").await;
    let (status, html) = test.page(&client, "/admin/links").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(test.a.code), "{html}");
    assert!(!html.contains("Create link"), "no forms for viewers");
    let answer = client
        .post(test.url("/admin/links"))
        .form(&[
            ("csrf_token", csrf_token(&html).as_str()),
            ("program_id", test.program_id.to_string().as_str()),
            ("partner_id", test.a.id.to_string().as_str()),
            ("code", "viewer-made"),
        ])
        .send()
        .await
        .expect("the POST answers");
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    let html = answer.text().await.expect("a body");
    assert!(html.contains("viewer"), "{html}");
}

#[tokio::test]
async fn admin_pages_list_explain_and_pay_out() {
    let test = TestApp::start().await;
    let client = test.signed_in("/admin/login", OWNER_EMAIL).await;
    for path in [
        "/admin",
        "/admin/programs",
        "/admin/partners",
        "/admin/links",
        "/admin/customers",
        "/admin/events",
        "/admin/commissions",
        "/admin/commissions?state=pending",
        "/admin/commissions?state=nonsense&page=x",
        "/admin/payouts",
    ] {
        let (status, _) = test.page(&client, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
    }
    let (_, html) = test
        .page(
            &client,
            &format!("/admin/commissions/{}", test.b.commission_id),
        )
        .await;
    assert!(html.contains("Why this amount?"), "{html}");
    assert!(html.contains("Bob"), "{html}");
    let (status, _) = test
        .page(
            &client,
            "/admin/commissions/0190aaaa-0000-7000-8000-000000000000",
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = test.page(&client, "/admin/no-such-page").await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // The hold is zero days: the approval job makes the commissions payable.
    tributary_app::jobs::run_due(&test.app)
        .await
        .expect("the jobs run");
    let (_, html) = test.page(&client, "/admin/payouts").await;
    let csrf = csrf_token(&html);
    let answer = client
        .post(test.url("/admin/payouts"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("program_id", test.program_id.to_string().as_str()),
        ])
        .send()
        .await
        .expect("the POST answers");
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let batch = test
        .app
        .store
        .read()
        .await
        .expect("a read transaction")
        .payout_batches(test.workspace_id, Page::default())
        .await
        .expect("the batches")
        .into_iter()
        .next()
        .expect("a batch was made");
    let answer = client
        .get(test.url(&format!("/admin/payouts/{}/paypal.csv", batch.id)))
        .send()
        .await
        .expect("the CSV answers");
    assert_eq!(answer.status(), StatusCode::OK);
    let csv = answer.text().await.expect("a CSV body");
    assert!(
        csv.contains(PARTNER_A_EMAIL) && csv.contains("20.00,USD"),
        "{csv}"
    );

    let mark_paid = test.url(&format!("/admin/payouts/{}/mark-paid", batch.id));
    let answer = client
        .post(&mark_paid)
        .form(&[("csrf_token", csrf.as_str()), ("reference", "  ")])
        .send()
        .await
        .expect("the POST answers");
    assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        answer
            .text()
            .await
            .expect("a body")
            .contains("needs 1 to 200 characters")
    );
    let answer = client
        .post(&mark_paid)
        .form(&[("csrf_token", csrf.as_str()), ("reference", "PAYPAL-123")])
        .send()
        .await
        .expect("the POST answers");
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let (_, html) = test.page(&client, "/admin/payouts").await;
    assert!(html.contains("PAYPAL-123"), "{html}");

    let partner = test.signed_in("/portal/login", PARTNER_A_EMAIL).await;
    let (_, html) = test.page(&partner, "/portal").await;
    assert!(html.contains("state-paid"), "{html}");
}

#[tokio::test]
async fn a_click_commission_explains_its_day_of_clicks() {
    let test = TestApp::start().await;
    // Ada gets a pay-per-click plan of her own, covering today (a scope's first version may
    // start in the past); her seeded visit is a human click.
    let plan: Plan = serde_json::from_value(serde_json::json!({"rules": [
        {"id": "ppc", "trigger": "click",
         "reward": {"type": "flat", "amount": {"amount_minor": 5, "currency": "USD"}}}
    ]}))
    .expect("a plan");
    plans::create_version(
        &test.app,
        test.workspace_id,
        test.program_id,
        NewVersion {
            plan,
            scope: Some("partner".into()),
            group: None,
            partner_id: Some(test.a.id),
            effective_from: Some("2000-01-01T00:00:00Z".into()),
        },
    )
    .await
    .expect("the partner's plan");
    test.app.clicks.flush().await;
    let now = test.app.now();
    let mut tx = test.app.store.write().await.expect("write");
    let program = tx
        .program(test.workspace_id, test.program_id)
        .await
        .expect("read")
        .expect("the program");
    let written = click_pay::rollup(tx.as_mut(), &program, now.epoch_day(), now)
        .await
        .expect("the day rolls up");
    tx.commit().await.expect("commit");
    assert_eq!(written, 1, "Ada's one click; Bob's plan pays no clicks");
    let filter = CommissionFilter {
        partner_id: Some(test.a.id),
        ..CommissionFilter::default()
    };
    let rows = test
        .app
        .store
        .read()
        .await
        .expect("read")
        .commissions(test.workspace_id, &filter, Page::default())
        .await
        .expect("list");
    let click = rows
        .iter()
        .find(|c| c.source.key().is_some())
        .expect("a click commission");

    let client = test.signed_in("/portal/login", PARTNER_A_EMAIL).await;
    let (status, html) = test
        .page(&client, &format!("/portal/commissions/{}", click.id))
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("The clicks"), "{html}");
    assert!(html.contains("Human clicks paid"), "{html}");
    assert!(html.contains("0.05 USD"), "{html}");
    assert!(!html.contains("The events"), "no event to show: {html}");
    let admin = test.signed_in("/admin/login", OWNER_EMAIL).await;
    let (status, html) = test
        .page(&admin, &format!("/admin/commissions/{}", click.id))
        .await;
    assert_eq!(status, StatusCode::OK);
    let key = click.source.key().unwrap_or_default();
    assert!(html.contains(key), "the source key {key}: {html}");
    assert!(
        html.contains("none (owed for a partner"),
        "no customer: {html}"
    );
}

#[tokio::test]
async fn a_customer_page_shows_the_conversion_path_and_the_credit() {
    let test = TestApp::start().await;
    let client = test.signed_in("/admin/login", OWNER_EMAIL).await;
    let customer = test
        .app
        .store
        .read()
        .await
        .expect("read")
        .customer_by_external_id(test.workspace_id, "customer-of-ada-link")
        .await
        .expect("query")
        .expect("the seeded customer");
    let (_, list) = test.page(&client, "/admin/customers").await;
    assert!(
        list.contains(&format!("/admin/customers/{}", customer.id)),
        "the list links to the page: {list}"
    );
    let (status, html) = test
        .page(&client, &format!("/admin/customers/{}", customer.id))
        .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("Conversion path"), "{html}");
    assert!(html.contains("Ada"), "{html}");
    assert!(html.contains("100.00%"), "the whole credit: {html}");
    assert!(html.contains("closer"), "{html}");
    assert!(html.contains("last touch"), "the model is named: {html}");
    let (status, _) = test.page(&client, "/admin/customers/not-an-id").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = test
        .page(
            &client,
            "/admin/customers/0190aaaa-0000-7000-8000-000000000000",
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn signing_out_ends_the_session() {
    let test = TestApp::start().await;
    let client = test.signed_in("/admin/login", OWNER_EMAIL).await;
    let (_, html) = test.page(&client, "/admin").await;
    let answer = client
        .post(test.url("/admin/logout"))
        .form(&[("csrf_token", csrf_token(&html).as_str())])
        .send()
        .await
        .expect("the POST answers");
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&answer), "/admin/login");
    let (status, _) = test.page(&client, "/admin").await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn static_assets_are_served_with_a_long_cache() {
    let test = TestApp::start().await;
    for (path, content_type) in [
        ("/static/htmx.min.js", "text/javascript"),
        ("/static/app.css", "text/css"),
    ] {
        let answer = new_client()
            .get(test.url(path))
            .send()
            .await
            .expect("the asset answers");
        assert_eq!(answer.status(), StatusCode::OK);
        let headers = answer.headers();
        let header_text = |name| {
            headers
                .get(name)
                .and_then(|value| value.to_str().ok())
                .unwrap_or("")
                .to_string()
        };
        assert!(header_text(header::CONTENT_TYPE).starts_with(content_type));
        assert!(header_text(header::CACHE_CONTROL).contains("max-age=31536000"));
    }
}

#[tokio::test]
async fn an_admin_previews_publishes_and_simulates_a_plan() {
    let test = TestApp::start().await;
    let client = test.signed_in("/admin/login", OWNER_EMAIL).await;
    let plans_path = format!("/admin/programs/{}/plans", test.program_id);
    let (status, html) = test.page(&client, &plans_path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("20.00% for every sale and renewal"), "{html}");
    let csrf = csrf_token(&html);

    // A plan with a mistake: the editor keeps the text and names the part at fault.
    let broken = r#"{"rules":[{"id":"tiers","trigger":"sale","reward":{"type":"tiered","measure":"customers","period":"month","mode":"marginal","tiers":[{"from":0,"rate_bp":1000},{"from":0,"rate_bp":2000}]}}]}"#;
    let answer = client
        .post(test.url(&format!("{plans_path}/preview")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("plan", broken),
            ("scope", "program"),
        ])
        .send()
        .await
        .expect("the preview answers");
    assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = answer.text().await.expect("a body");
    assert!(
        html.contains(
            "rules[0].reward.tiers[1].from: tiers must start at strictly increasing volumes"
        ),
        "{html}"
    );
    assert!(
        html.contains("rate_bp&#34;:2000"),
        "the text is kept: {html}"
    );

    // A good one previews in words, then publishes as version 2, the new default.
    let good = r#"{"rules":[{"id":"sales","trigger":"any_sale","reward":{"type":"percent","rate_bp":3000}},
        {"id":"activated","trigger":{"milestone":"activated"},"reward":{"type":"flat","amount":{"amount_minor":1500,"currency":"USD"}}}],
        "perks":[{"tier":"gold","perks":["Early beta access"]}]}"#;
    let answer = client
        .post(test.url(&format!("{plans_path}/preview")))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("plan", good),
            ("scope", "program"),
        ])
        .send()
        .await
        .expect("the preview answers");
    assert_eq!(answer.status(), StatusCode::OK);
    let html = answer.text().await.expect("a body");
    assert!(html.contains("Preview: the plan is valid"), "{html}");
    assert!(
        html.contains("15.00 USD flat for the `activated` milestone"),
        "{html}"
    );
    let answer = client
        .post(test.url(&plans_path))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("plan", good),
            ("scope", "program"),
        ])
        .send()
        .await
        .expect("the publish answers");
    assert_eq!(
        answer.status(),
        StatusCode::SEE_OTHER,
        "{:?}",
        answer.text().await
    );
    let (_, html) = test.page(&client, &plans_path).await;
    assert!(html.contains("30.00% for every sale and renewal"), "{html}");
    assert!(html.contains("current default"), "{html}");

    // Simulate the two sales under a 50% plan: twice the current cost, CSV alike.
    let simulate_path = format!("/admin/programs/{}/simulate", test.program_id);
    let (status, html) = test.page(&client, &simulate_path).await;
    assert_eq!(status, StatusCode::OK);
    let csrf = csrf_token(&html);
    let today = tributary_core::period::date_of(test.app.now()).to_string();
    let proposed = r#"{"rules":[{"id":"half","trigger":"any_sale","reward":{"type":"percent","rate_bp":5000}}]}"#;
    let form = [
        ("csrf_token", csrf.as_str()),
        ("plan", proposed),
        ("from", "2020-01-01"),
        ("to", today.as_str()),
    ];
    let answer = client
        .post(test.url(&simulate_path))
        .form(&form)
        .send()
        .await
        .expect("the simulation answers");
    assert_eq!(answer.status(), StatusCode::OK);
    let html = answer.text().await.expect("a body");
    // Both sales were made under version 1 (20%): 2 × 20.00 current, 2 × 50.00 proposed.
    assert!(html.contains("40.00 USD"), "{html}");
    assert!(html.contains("100.00 USD"), "{html}");
    assert!(html.contains("60.00 USD"), "{html}");
    let answer = client
        .post(test.url(&format!("{simulate_path}.csv")))
        .form(&form)
        .send()
        .await
        .expect("the CSV answers");
    assert_eq!(answer.status(), StatusCode::OK);
    let csv = answer.text().await.expect("a body");
    assert!(
        csv.starts_with(
            "partner_id,name,archetype,tier,currency,current_minor,proposed_minor,delta_minor\n"
        ),
        "{csv}"
    );
    assert!(
        csv.contains(&format!(
            "{},Ada,influencer,none,USD,2000,5000,3000",
            test.a.id
        )),
        "{csv}"
    );

    // A bad range is an error on the form, not a crash.
    let answer = client
        .post(test.url(&simulate_path))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("plan", ""),
            ("from", "2026-13-01"),
            ("to", "2026-01-01"),
        ])
        .send()
        .await
        .expect("the simulation answers");
    assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = answer.text().await.expect("a body");
    assert!(
        html.contains("from must be a date such as 2026-01-01"),
        "{html}"
    );

    // Ada is gold: the portal shows her perks.
    tributary_app::plans::set_segment(
        &test.app,
        test.workspace_id,
        test.program_id,
        test.a.id,
        tributary_app::plans::SegmentInput {
            group: None,
            tier: Some("gold".into()),
        },
    )
    .await
    .expect("segment");
    let partner = test.signed_in("/portal/login", PARTNER_A_EMAIL).await;
    let (_, html) = test.page(&partner, "/portal").await;
    assert!(html.contains("Your tier: <strong>gold</strong>"), "{html}");
    assert!(html.contains("Early beta access"), "{html}");
}

#[tokio::test]
async fn attribution_is_set_reattributed_and_seen_by_each_partner() {
    let test = TestApp::start().await;
    let client = test.signed_in("/admin/login", OWNER_EMAIL).await;
    let program = test.program_id;

    // The program's model and precedence, through the form.
    let path = format!("/admin/programs/{program}/attribution");
    let (status, html) = test.page(&client, &path).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("last touch"), "{html}");
    let csrf = csrf_token(&html);
    let answer = client
        .post(test.url(&path))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("model", "position_based"),
            ("first_bp", "3000"),
            ("last_bp", "5000"),
            ("precedence", "manual, coupon"),
        ])
        .send()
        .await
        .expect("saved");
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let (_, html) = test.page(&client, &path).await;
    assert!(html.contains("position based (30/20/50)"), "{html}");
    assert!(html.contains("manual &#62; coupon &#62; link"), "{html}");
    let refused = client
        .post(test.url(&path))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("model", "linear"),
            ("precedence", "carrier pigeon"),
        ])
        .send()
        .await
        .expect("answered");
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(
        refused
            .text()
            .await
            .expect("body")
            .contains("not a channel"),
        "the page says what is wrong"
    );

    // Ada's customer goes to Bob (75 %) and Ada (25 %), with a reason.
    let customer = test
        .app
        .store
        .read()
        .await
        .expect("read")
        .customer_by_external_id(test.workspace_id, "customer-of-ada-link")
        .await
        .expect("query")
        .expect("the seeded customer");
    let page = format!("/admin/customers/{}", customer.id);
    let (_, html) = test.page(&client, &page).await;
    assert!(html.contains("Re-attribute"), "{html}");
    let answer = client
        .post(test.url(&format!("{page}/attribution")))
        .form(&[
            ("csrf_token", csrf_token(&html).as_str()),
            ("partner_1", test.b.id.to_string().as_str()),
            ("share_1", "7500"),
            ("partner_2", test.a.id.to_string().as_str()),
            ("share_2", "2500"),
            ("reason", "Bob closed the deal"),
        ])
        .send()
        .await
        .expect("re-attributed");
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let (_, html) = test.page(&client, &page).await;
    assert!(
        html.contains("Bob closed the deal"),
        "the audit log: {html}"
    );
    assert!(html.contains("75.00%"), "{html}");
    assert!(html.contains("customer.reattributed"), "{html}");

    // Each partner sees the customer with their own share, and only their own touches.
    let bob = test.signed_in("/portal/login", PARTNER_B_EMAIL).await;
    let (status, html) = test.page(&bob, "/portal/customers").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("customer-of-ada-link"), "{html}");
    assert!(html.contains("75.00%"), "{html}");
    let (status, html) = test
        .page(&bob, &format!("/portal/customers/{}", customer.id))
        .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("closer"), "{html}");
    assert!(html.contains("manual"), "Bob's manual touch: {html}");
    assert!(
        !html.contains("Bob closed the deal"),
        "the admin's reason stays inside"
    );
    assert!(
        !html.contains("<td>link</td>"),
        "Ada's click is not Bob's to see: {html}"
    );
    let ada = test.signed_in("/portal/login", PARTNER_A_EMAIL).await;
    let (_, html) = test
        .page(&ada, &format!("/portal/customers/{}", customer.id))
        .await;
    assert!(html.contains("25.00%"), "{html}");
    assert!(html.contains("assist"), "{html}");
    let bob_customer = test
        .app
        .store
        .read()
        .await
        .expect("read")
        .customer_by_external_id(test.workspace_id, "customer-of-bob-link")
        .await
        .expect("query")
        .expect("Bob's customer");
    let (status, _) = test
        .page(&ada, &format!("/portal/customers/{}", bob_customer.id))
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not Ada's customer");
}

#[tokio::test]
async fn a_partner_registers_a_deal_and_the_admin_approves_it() {
    let test = TestApp::start().await;
    let ada = test.signed_in("/portal/login", PARTNER_A_EMAIL).await;
    let (status, html) = test.page(&ada, "/portal/deals").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let answer = ada
        .post(test.url("/portal/deals"))
        .form(&[
            ("csrf_token", csrf_token(&html).as_str()),
            ("program_id", test.program_id.to_string().as_str()),
            ("customer_id", "hank@globex.example"),
            ("company", "Globex"),
            ("contact_name", "Hank Scorpio"),
            ("contact_email", "hank@globex.example"),
            ("notes", "Met at the expo"),
        ])
        .send()
        .await
        .expect("registered");
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let forged = ada
        .post(test.url("/portal/deals"))
        .form(&[
            ("csrf_token", "forged"),
            ("program_id", test.program_id.to_string().as_str()),
            ("customer_id", "x@y.example"),
            ("company", "X"),
            ("contact_name", "X"),
            ("contact_email", "x@y.example"),
        ])
        .send()
        .await
        .expect("answered");
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    let admin = test.signed_in("/admin/login", OWNER_EMAIL).await;
    let (status, html) = test.page(&admin, "/admin/deals").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        html.contains("Globex") && html.contains("Met at the expo"),
        "{html}"
    );
    let marker = "action=\"/admin/deals/";
    let start = html.find(marker).expect("a decision form") + marker.len();
    let deal_id = &html[start..start + 36];
    let answer = admin
        .post(test.url(&format!("/admin/deals/{deal_id}/decision")))
        .form(&[
            ("csrf_token", csrf_token(&html).as_str()),
            ("decision", "approve"),
            ("reason", "known prospect"),
        ])
        .send()
        .await
        .expect("decided");
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let (_, html) = test.page(&ada, "/portal/deals").await;
    assert!(
        html.contains("approved") && html.contains("known prospect"),
        "{html}"
    );

    // A coupon through the admin form.
    let (_, html) = test.page(&admin, "/admin/coupons").await;
    let answer = admin
        .post(test.url("/admin/coupons"))
        .form(&[
            ("csrf_token", csrf_token(&html).as_str()),
            ("code", "ada10"),
            ("program_id", test.program_id.to_string().as_str()),
            ("partner_id", test.a.id.to_string().as_str()),
        ])
        .send()
        .await
        .expect("created");
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let (_, html) = test.page(&admin, "/admin/coupons").await;
    assert!(html.contains("ADA10") && html.contains("Ada"), "{html}");
}

#[tokio::test]
async fn a_partner_manages_postbacks_in_the_portal() {
    let test = TestApp::start().await;
    let ada = test.signed_in("/portal/login", PARTNER_A_EMAIL).await;
    let (status, html) = test.page(&ada, "/portal/postbacks").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let csrf = csrf_token(&html);
    let refused = ada
        .post(test.url("/portal/postbacks"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            ("url", "https://{sub1}.example/pb"),
            ("sale", "on"),
        ])
        .send()
        .await
        .expect("answered");
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert!(
        refused
            .text()
            .await
            .expect("body")
            .contains("macros may not be used in the host")
    );
    let answer = ada
        .post(test.url("/portal/postbacks"))
        .form(&[
            ("csrf_token", csrf.as_str()),
            (
                "url",
                "https://track.example.com/pb?cid={click_id}&a={amount}",
            ),
            ("sale", "on"),
            ("refund", "on"),
        ])
        .send()
        .await
        .expect("registered");
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let (_, html) = test.page(&ada, "/portal/postbacks").await;
    assert!(html.contains("refund, sale"), "{html}");
    // Bob does not see Ada's postback, and cannot disable it.
    let bob = test.signed_in("/portal/login", PARTNER_B_EMAIL).await;
    let (_, bobs) = test.page(&bob, "/portal/postbacks").await;
    assert!(!bobs.contains("hooks.ada.example"), "{bobs}");
    let marker = "action=\"/portal/postbacks/";
    let start = html.find(marker).expect("a disable form") + marker.len();
    let postback_id = &html[start..start + 36];
    let theirs = bob
        .post(test.url(&format!("/portal/postbacks/{postback_id}/disable")))
        .form(&[("csrf_token", csrf_token(&bobs).as_str())])
        .send()
        .await
        .expect("answered");
    assert_eq!(theirs.status(), StatusCode::NOT_FOUND);
    let mine = ada
        .post(test.url(&format!("/portal/postbacks/{postback_id}/disable")))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .expect("disabled");
    assert_eq!(mine.status(), StatusCode::SEE_OTHER);
    let (_, html) = test.page(&ada, "/portal/postbacks").await;
    assert!(html.contains("disabled"), "{html}");
}

/// Every portal route that takes an id, tried by one partner with another partner's ids:
/// "not found", never the other partner's data, and nothing changed.
#[tokio::test]
async fn portal_routes_never_show_or_change_another_partners_data() {
    let test = TestApp::start().await;
    let bob_postback = tributary_app::postbacks::register(
        &test.app,
        test.workspace_id,
        test.b.id,
        tributary_app::postbacks::NewPostback {
            url: "https://hooks.bob.example/pb?cid={click_id}".into(),
            events: None,
        },
    )
    .await
    .expect("Bob's postback");
    let bob_customer = test
        .app
        .store
        .read()
        .await
        .expect("read")
        .customer_by_external_id(test.workspace_id, "customer-of-bob-link")
        .await
        .expect("query")
        .expect("Bob's customer");
    // A program only Bob is in, with terms, a banner and a training module.
    let bobs_program = admin::create_program(
        &test.app,
        test.workspace_id,
        NewProgram {
            name: "Bob's private program".into(),
            destination_url: "https://acme.example/bob".into(),
            currency: None,
            window_days: None,
            hold_days: None,
            min_payout_minor: None,
            lead_flat_minor: Some(100),
            sale_percent_bp: None,
            plan: None,
            attribution: None,
        },
    )
    .await
    .expect("Bob's program");
    admin::enroll(&test.app, test.workspace_id, bobs_program.id, test.b.id)
        .await
        .expect("Bob enrolled");
    tributary_app::lifecycle::terms::publish(
        &test.app,
        test.workspace_id,
        bobs_program.id,
        tributary_app::lifecycle::terms::NewTerms {
            body_markdown: "bob-terms-text".into(),
            payout_schedule: "Monthly".into(),
            termination_policy: "keep".into(),
            grace_days: None,
        },
        "user:test",
    )
    .await
    .expect("terms");
    use tributary_app::lifecycle::content::{self, NewContent, Upload};
    let bobs_banner = content::create(
        &test.app,
        test.workspace_id,
        bobs_program.id,
        NewContent {
            kind: "asset".into(),
            title: "bob-banner-title".into(),
            file: Some(Upload {
                file_name: "b.svg".into(),
                content_type: "image/svg+xml".into(),
                bytes: b"<svg>{{partner_name}}</svg>".to_vec(),
            }),
            ..Default::default()
        },
        "user:test",
    )
    .await
    .expect("banner");
    let bobs_module = content::create(
        &test.app,
        test.workspace_id,
        bobs_program.id,
        NewContent {
            kind: "training".into(),
            title: "bob-module-title".into(),
            body: "bob-module-text".into(),
            ..Default::default()
        },
        "user:test",
    )
    .await
    .expect("module");
    let ada = test.signed_in("/portal/login", PARTNER_A_EMAIL).await;
    let (_, home) = test.page(&ada, "/portal").await;
    let csrf = csrf_token(&home);
    for path in [
        format!("/portal/commissions/{}", test.b.commission_id),
        format!("/portal/customers/{}", bob_customer.id),
        format!("/portal/terms/{}", bobs_program.id),
        format!("/portal/library/{}/download", bobs_banner.id),
        format!("/portal/training/{}", bobs_module.id),
    ] {
        let (status, html) = test.page(&ada, &path).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{path}");
        for bobs in ["customer-of-bob-link", "bob-terms-text", "bob-module-text"] {
            assert!(!html.contains(bobs), "{path} shows {bobs}: {html}");
        }
    }
    for path in [
        "/portal",
        "/portal/customers",
        "/portal/deals",
        "/portal/postbacks",
        "/portal/programs",
        "/portal/library",
        "/portal/profile",
    ] {
        let (status, html) = test.page(&ada, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        for bobs in [
            "customer-of-bob-link",
            "bob-link",
            "hooks.bob.example",
            "Bob&#39;s private program",
            "Bob's private program",
            "bob-banner-title",
            "bob-module-title",
        ] {
            assert!(!html.contains(bobs), "{path} shows {bobs}: {html}");
        }
    }
    let answer = ada
        .post(test.url(&format!("/portal/postbacks/{}/disable", bob_postback.id)))
        .form(&[("csrf_token", csrf.as_str())])
        .send()
        .await
        .expect("answered");
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);
    let still = test
        .app
        .store
        .read()
        .await
        .expect("read")
        .postbacks(test.workspace_id, Some(test.b.id))
        .await
        .expect("postbacks");
    assert!(
        still[0].disabled_at.is_none(),
        "Bob's postback is untouched"
    );
    // Writes through Bob's program's ids change nothing.
    for path in [
        format!("/portal/terms/{}", bobs_program.id),
        format!("/portal/training/{}/complete", bobs_module.id),
    ] {
        let answer = ada
            .post(test.url(&path))
            .form(&[("csrf_token", csrf.as_str()), ("version", "1")])
            .send()
            .await
            .expect("answered");
        assert_eq!(answer.status(), StatusCode::NOT_FOUND, "{path}");
    }
    let mut tx = test.app.store.read().await.expect("read");
    assert!(
        tx.terms_acceptances(bobs_program.id, None)
            .await
            .expect("read")
            .is_empty(),
        "no acceptance was recorded"
    );
    assert!(
        tx.training_completions(bobs_program.id, test.a.id)
            .await
            .expect("read")
            .is_empty(),
        "no completion was recorded"
    );
    assert_eq!(
        tx.content(test.workspace_id, bobs_banner.id)
            .await
            .expect("read")
            .expect("banner")
            .downloads,
        0,
        "no download was counted"
    );
}
