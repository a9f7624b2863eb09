//! Support tickets over HTTP, as a browser submits the forms:
//! - a partner opens a ticket with an attachment from the portal and sees it listed;
//! - the admin finds it in the open queue, answers and assigns it; the partner sees the
//!   answer and the status `answered`, gets an email, and downloads the attachment;
//! - another partner gets "not found" for the ticket, its file and a reply, and changes
//!   nothing;
//! - an empty reply comes back with its reason.

mod support;

use reqwest::multipart::{Form, Part};
use reqwest::{Client, StatusCode, header};
use support::{OWNER_EMAIL, TestApp, admin_client, cookie_client, csrf_token, location, page};
use tributary_app::admin::{self, NewPartner, NewProgram};
use tributary_core::PartnerId;
use tributary_store::Page;

const ADA_EMAIL: &str = "ada@partners.example";
const BOB_EMAIL: &str = "bob@partners.example";
const PASSWORD: &str = "a long partner password";
const SUBJECT: &str = "Where is my March payout";
const FILE_BYTES: &[u8] = b"%PDF-1.4\n\x00\x01\x02 binary invoice bytes \xff\xfe\n";

async fn sign_in(t: &TestApp, login_path: &str, email: &str, password: &str) -> Client {
    let client = cookie_client();
    let (status, html) = page(t, &client, login_path).await;
    assert_eq!(status, StatusCode::OK);
    let answer = client
        .post(t.url(login_path))
        .form(&[
            ("email", email),
            ("password", password),
            ("csrf_token", csrf_token(&html).as_str()),
        ])
        .send()
        .await
        .expect("sign in");
    assert_eq!(
        answer.status(),
        StatusCode::SEE_OTHER,
        "{login_path} {email}"
    );
    client
}

/// A partner with a portal password, enrolled in a program.
async fn partner(t: &TestApp, name: &str, email: &str) -> PartnerId {
    let program = admin::create_program(
        &t.app,
        t.workspace_id,
        NewProgram {
            name: format!("{name}'s program"),
            destination_url: "https://w.example/".into(),
            currency: None,
            window_days: None,
            hold_days: None,
            min_payout_minor: None,
            lead_flat_minor: Some(500),
            sale_percent_bp: None,
            plan: None,
            attribution: None,
        },
    )
    .await
    .expect("program");
    let partner = admin::create_partner(
        &t.app,
        t.workspace_id,
        NewPartner {
            name: name.into(),
            email: email.into(),
            archetype: None,
            payout_email: None,
            password: Some(PASSWORD.into()),
        },
    )
    .await
    .expect("partner");
    admin::enroll(&t.app, t.workspace_id, program.id, partner.id)
        .await
        .expect("enroll");
    partner.id
}

/// The value of the first `href` starting with `prefix`.
fn link(html: &str, prefix: &str) -> String {
    let marker = format!("href=\"{prefix}");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("a link to {prefix}: {html}"))
        + "href=\"".len();
    let end = html[start..].find('"').expect("closed");
    html[start..start + end].to_string()
}

async fn post_multipart(
    t: &TestApp,
    client: &Client,
    path: &str,
    fields: &[(&str, &str)],
    file: Option<(&str, &str, &[u8])>,
) -> reqwest::Response {
    let mut form = Form::new();
    for (name, value) in fields {
        form = form.text(name.to_string(), value.to_string());
    }
    if let Some((name, mime, bytes)) = file {
        let part = Part::bytes(bytes.to_vec())
            .file_name(name.to_string())
            .mime_str(mime)
            .expect("a MIME type");
        form = form.part("attachment", part);
    }
    client
        .post(t.url(path))
        .multipart(form)
        .send()
        .await
        .expect("POST")
}

async fn download(t: &TestApp, client: &Client, path: &str) -> (StatusCode, String, Vec<u8>) {
    let answer = client.get(t.url(path)).send().await.expect("GET");
    let status = answer.status();
    let disposition = answer
        .headers()
        .get(header::CONTENT_DISPOSITION)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("")
        .to_string();
    (
        status,
        disposition,
        answer.bytes().await.expect("body").to_vec(),
    )
}

#[tokio::test]
async fn a_ticket_goes_from_the_portal_to_the_admin_and_back() {
    let t = TestApp::start().await;
    partner(&t, "Ada Lovelace", ADA_EMAIL).await;
    partner(&t, "Bob Builder", BOB_EMAIL).await;
    let ada = sign_in(&t, "/portal/login", ADA_EMAIL, PASSWORD).await;
    let bob = sign_in(&t, "/portal/login", BOB_EMAIL, PASSWORD).await;
    let admin_client = admin_client(&t).await;

    // Ada opens a ticket with a file.
    let (status, html) = page(&t, &ada, "/portal/support").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("id=\"new-ticket\""), "{html}");
    assert!(
        html.contains("href=\"/portal/support\""),
        "in the menu: {html}"
    );
    let ada_csrf = csrf_token(&html);

    // Without the CSRF token nothing is opened.
    let answer = post_multipart(
        &t,
        &ada,
        "/portal/support",
        &[("subject", SUBJECT), ("body", "no token")],
        None,
    )
    .await;
    assert_eq!(answer.status(), StatusCode::FORBIDDEN);
    // A missing subject comes back with its reason and the message kept.
    let answer = post_multipart(
        &t,
        &ada,
        "/portal/support",
        &[
            ("csrf_token", &ada_csrf),
            ("subject", "  "),
            ("body", "kept-draft-text"),
        ],
        None,
    )
    .await;
    assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = answer.text().await.expect("body");
    assert!(html.contains("ticket-subject-error"), "{html}");
    assert!(html.contains("1 to 200 characters"), "{html}");
    assert!(html.contains("kept-draft-text"), "{html}");

    let answer = post_multipart(
        &t,
        &ada,
        "/portal/support",
        &[
            ("csrf_token", &ada_csrf),
            ("subject", SUBJECT),
            ("body", "It was due on the 1st.\nThe invoice is attached."),
        ],
        Some(("my invoice.pdf", "application/pdf", FILE_BYTES)),
    )
    .await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let ticket_path = location(&answer);
    assert!(ticket_path.starts_with("/portal/support/"), "{ticket_path}");
    let id = ticket_path
        .trim_start_matches("/portal/support/")
        .to_string();

    let (status, html) = page(&t, &ada, "/portal/support").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(SUBJECT), "{html}");
    assert!(html.contains(&format!("href=\"{ticket_path}\"")), "{html}");
    let (status, html) = page(&t, &ada, &ticket_path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("It was due on the 1st.<br>The invoice is attached."),
        "{html}"
    );
    assert!(html.contains("class=\"author\">You<"), "{html}");
    assert!(html.contains("id=\"ticket-status\">open<"), "{html}");
    assert!(html.contains("myinvoice.pdf"), "{html}");
    let file_path = link(&html, &format!("{ticket_path}/files/"));
    let message_id = file_path
        .rsplit('/')
        .next()
        .expect("a message id")
        .to_string();

    // The admin finds it in the open queue, not among the answered.
    let (status, html) = page(&t, &admin_client, "/admin/support").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains(SUBJECT), "{html}");
    assert!(html.contains("Ada Lovelace"), "{html}");
    assert!(
        html.contains(&format!("href=\"/admin/support/{id}\"")),
        "{html}"
    );
    let (_, html) = page(&t, &admin_client, "/admin/support?status=answered").await;
    assert!(!html.contains(SUBJECT), "{html}");

    let admin_ticket = format!("/admin/support/{id}");
    let (status, html) = page(&t, &admin_client, &admin_ticket).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("Ada Lovelace"), "{html}");
    assert!(
        html.contains(&format!("href=\"/admin/support/{id}/files/{message_id}\"")),
        "{html}"
    );
    let admin_csrf = csrf_token(&html);
    let (status, disposition, bytes) = download(
        &t,
        &admin_client,
        &format!("/admin/support/{id}/files/{message_id}"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(disposition, "attachment; filename=\"myinvoice.pdf\"");
    assert_eq!(bytes, FILE_BYTES);

    // An empty answer comes back with its reason.
    let answer = post_multipart(
        &t,
        &admin_client,
        &admin_ticket,
        &[("csrf_token", &admin_csrf), ("body", "   ")],
        None,
    )
    .await;
    assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = answer.text().await.expect("body");
    assert!(html.contains("reply-body-error"), "{html}");

    // The admin answers and assigns it to the owner.
    let answer = post_multipart(
        &t,
        &admin_client,
        &admin_ticket,
        &[
            ("csrf_token", &admin_csrf),
            ("body", "We sent it yesterday, it should arrive today."),
        ],
        None,
    )
    .await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&answer), admin_ticket);
    let owner = t
        .app
        .store
        .read()
        .await
        .expect("read")
        .users(t.workspace_id)
        .await
        .expect("users")
        .into_iter()
        .find(|user| user.email == OWNER_EMAIL)
        .expect("the owner");
    let (_, html) = page(&t, &admin_client, &admin_ticket).await;
    assert!(
        html.contains(&format!("value=\"{}\"", owner.id)),
        "an assignee option: {html}"
    );
    let answer = admin_client
        .post(t.url(&format!("{admin_ticket}/manage")))
        .form(&[
            ("csrf_token", admin_csrf.as_str()),
            ("status", "shelved"),
            ("assignee", ""),
        ])
        .send()
        .await
        .expect("manage");
    assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let owner_id = owner.id.to_string();
    let answer = admin_client
        .post(t.url(&format!("{admin_ticket}/manage")))
        .form(&[
            ("csrf_token", admin_csrf.as_str()),
            ("status", "answered"),
            ("assignee", owner_id.as_str()),
        ])
        .send()
        .await
        .expect("manage");
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&t, &admin_client, &admin_ticket).await;
    assert!(
        html.contains(&format!("id=\"ticket-assignee\">{OWNER_EMAIL}<")),
        "{html}"
    );
    assert!(html.contains("id=\"ticket-status\">answered<"), "{html}");
    assert!(
        html.contains(&format!("class=\"author\">{OWNER_EMAIL}<")),
        "the author: {html}"
    );
    let (_, html) = page(&t, &admin_client, "/admin/support?status=answered").await;
    assert!(html.contains(SUBJECT), "{html}");
    assert!(html.contains(OWNER_EMAIL), "the assignee: {html}");

    // Ada sees the answer, the status, and gets an email.
    let (status, html) = page(&t, &ada, &ticket_path).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        html.contains("We sent it yesterday, it should arrive today."),
        "{html}"
    );
    assert!(html.contains("class=\"author\">Support<"), "{html}");
    assert!(html.contains("id=\"ticket-status\">answered<"), "{html}");
    assert!(
        !html.contains(OWNER_EMAIL),
        "staff emails stay private: {html}"
    );
    let (_, html) = page(&t, &ada, "/portal/support").await;
    assert!(html.contains(">answered<"), "{html}");
    let emails = t
        .app
        .store
        .read()
        .await
        .expect("read")
        .emails(t.workspace_id, Some(ADA_EMAIL), Page::default())
        .await
        .expect("emails");
    assert!(
        emails.iter().any(|email| email.kind == "ticket.answered"
            && email.body.contains("We sent it yesterday")
            && email.body.contains(&ticket_path)),
        "{emails:?}"
    );
    let (status, disposition, bytes) = download(&t, &ada, &file_path).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(disposition, "attachment; filename=\"myinvoice.pdf\"");
    assert_eq!(bytes, FILE_BYTES);

    // Bob sees none of it and changes nothing.
    let (_, html) = page(&t, &bob, "/portal/support").await;
    assert!(!html.contains(SUBJECT), "{html}");
    let bob_csrf = csrf_token(&html);
    let (status, html) = page(&t, &bob, &ticket_path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        !html.contains(SUBJECT) && !html.contains("due on the 1st"),
        "{html}"
    );
    let (status, _, bytes) = download(&t, &bob, &file_path).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_ne!(bytes, FILE_BYTES);
    let answer = post_multipart(
        &t,
        &bob,
        &ticket_path,
        &[("csrf_token", &bob_csrf), ("body", "bob-was-here")],
        Some(("x.txt", "text/plain", b"bob's file")),
    )
    .await;
    assert_eq!(answer.status(), StatusCode::NOT_FOUND);
    let html = answer.text().await.expect("body");
    assert!(!html.contains(SUBJECT), "{html}");
    let messages = t
        .app
        .store
        .read()
        .await
        .expect("read")
        .ticket_messages(id.parse().expect("a ticket id"))
        .await
        .expect("messages");
    assert_eq!(messages.len(), 2, "the thread is unchanged");
    assert!(messages.iter().all(|m| m.body != "bob-was-here"));
    let (_, html) = page(&t, &ada, &ticket_path).await;
    assert!(html.contains("id=\"ticket-status\">answered<"), "{html}");
    // Nor through the admin area.
    let (status, _) = page(&t, &bob, &admin_ticket).await;
    assert_eq!(status, StatusCode::SEE_OTHER, "a partner is no admin");
    // Unreadable ids are not found either.
    let (status, _) = page(&t, &ada, "/portal/support/not-a-ticket").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = download(&t, &ada, &format!("{ticket_path}/files/not-a-message")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // An empty reply from Ada comes back with its reason, and the thread is unchanged.
    let answer = post_multipart(
        &t,
        &ada,
        &ticket_path,
        &[("csrf_token", &ada_csrf), ("body", "  \n ")],
        None,
    )
    .await;
    assert_eq!(answer.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = answer.text().await.expect("body");
    assert!(html.contains("id=\"reply-body-error\""), "{html}");
    assert!(html.contains("1 to 20000 characters"), "{html}");
    assert!(
        html.contains("We sent it yesterday"),
        "the thread is shown again: {html}"
    );

    // Ada's reply reopens the ticket.
    let answer = post_multipart(
        &t,
        &ada,
        &ticket_path,
        &[("csrf_token", &ada_csrf), ("body", "Got it, thanks!")],
        None,
    )
    .await;
    assert_eq!(answer.status(), StatusCode::SEE_OTHER);
    let (_, html) = page(&t, &ada, &ticket_path).await;
    assert!(html.contains("Got it, thanks!"), "{html}");
    assert!(html.contains("id=\"ticket-status\">open<"), "{html}");
}
