use super::*;
use std::collections::BTreeMap;

fn program() -> ProgramLifecycle {
    serde_json::from_value(serde_json::json!({
        "headline": "Grow with us",
        "questions": [
            {"id": "audience_size", "label": "Audience size", "kind": "number", "required": true},
            {"id": "channel", "label": "Main channel", "kind": "choice",
             "choices": ["YouTube", "Blog", "Newsletter"]},
            {"id": "pitch", "label": "Why us?", "kind": "text"}
        ],
        "groups": [
            {"key": "creators", "name": "Creators", "archetype": "influencer",
             "questions": [{"id": "portfolio", "label": "Portfolio", "kind": "url", "required": true}]},
            {"key": "agencies", "name": "Agencies", "archetype": "reseller"}
        ],
        "scorecard": [
            {"label": "Audience", "weight": 50, "measure": "number_steps", "question": "audience_size",
             "steps": [{"at_least": 1000, "points": 50}, {"at_least": 10000, "points": 100}]},
            {"label": "Geography", "weight": 30, "measure": "country_in", "countries": ["US", "CA"]},
            {"label": "Website", "weight": 20, "measure": "website"}
        ],
        "rules": [
            {"decision": "reject", "reason": "Disposable email addresses are not accepted.",
             "when": [{"email_domain_in": ["mailinator.com"]}]},
            {"decision": "approve", "reason": "Strong fit.", "when": [{"score_at_least": 80}]},
            {"decision": "reject", "reason": "Audience too small for now.", "when": [{"score_below": 30}]}
        ],
        "stage": {"name": "limited", "capacity": 2,
                  "gates": [{"metric": "active_partners", "at_least": 20},
                            {"metric": "roi_percent", "at_least": 300, "window_days": 60}]}
    }))
    .expect("the example document parses")
}

fn fields(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn the_example_document_is_valid_and_an_empty_one_is_open() {
    assert_eq!(program().validate(), Ok(()));
    let empty: ProgramLifecycle = serde_json::from_str("{}").expect("parses");
    assert_eq!(empty, ProgramLifecycle::default());
    assert_eq!(empty.stage.name, StageName::Open);
    assert!(empty.stage.has_room(1_000_000));
}

#[test]
fn the_form_parses_answers_and_names_the_field_it_refuses() {
    let lifecycle = program();
    let applicant = Applicant::parse(
        &lifecycle,
        &fields(&[
            ("name", " Ada "),
            ("email", "Ada@Example.com"),
            ("country", "us"),
            ("group", "creators"),
            ("audience_size", "12,500"),
            ("channel", "Blog"),
            ("portfolio", "https://ada.example/work"),
            ("pitch", ""),
        ]),
    )
    .expect("valid");
    assert_eq!(applicant.name, "Ada");
    assert_eq!(applicant.email, "ada@example.com");
    assert_eq!(applicant.country.as_deref(), Some("US"));
    assert_eq!(
        applicant.answers.get("audience_size"),
        Some(&form::Answer::Number(12_500))
    );
    assert!(!applicant.answers.contains_key("pitch"), "blank optional");

    let refuse = |pairs: &[(&str, &str)]| {
        Applicant::parse(&lifecycle, &fields(pairs))
            .expect_err("refused")
            .field
    };
    let base = [
        ("name", "Ada"),
        ("email", "ada@example.com"),
        ("group", "agencies"),
        ("audience_size", "10"),
    ];
    assert!(Applicant::parse(&lifecycle, &fields(&base)).is_ok());
    let with = |key: &str, value: &'static str| {
        let mut pairs: Vec<(&str, &str)> =
            base.iter().copied().filter(|(k, _)| *k != key).collect();
        let key: &'static str = Box::leak(key.to_string().into_boxed_str());
        pairs.push((key, value));
        pairs
    };
    assert_eq!(refuse(&with("email", "not-an-email")), "email");
    assert_eq!(refuse(&with("group", "pirates")), "group");
    assert_eq!(refuse(&with("audience_size", "lots")), "audience_size");
    assert_eq!(refuse(&with("audience_size", "")), "audience_size");
    assert_eq!(refuse(&with("channel", "TikTok")), "channel");
    assert_eq!(refuse(&with("website", "javascript:alert(1)")), "website");
    assert_eq!(refuse(&with("country", "USA")), "country");
    // The creators' own required question is asked of creators only.
    assert_eq!(refuse(&with("group", "creators")), "portfolio");
}

#[test]
fn the_score_is_weighted_points_rounded_down_and_the_first_matching_rule_decides() {
    let lifecycle = program();
    let applicant = |email: &str, audience: &str, country: &str, website: &str| {
        Applicant::parse(
            &lifecycle,
            &fields(&[
                ("name", "A"),
                ("email", email),
                ("group", "agencies"),
                ("audience_size", audience),
                ("country", country),
                ("website", website),
            ]),
        )
        .expect("valid")
    };
    let vet = |a: &Applicant| vetting::vet(&lifecycle.scorecard, &lifecycle.rules, a);

    // 50×100 + 30×100 + 20×100 over 100.
    let strong = vet(&applicant("a@b.io", "20000", "US", "https://b.io"));
    assert_eq!(strong.score.total, Some(100));
    assert_eq!(
        strong.decided,
        Some((Decision::Approve, "Strong fit.".into()))
    );

    // 50×50 + 30×0 + 20×50 = 3500 over 100 = 35: no rule fires, the queue decides.
    let middling = vet(&applicant("a@b.io", "5000", "FR", "http://b.io"));
    assert_eq!(middling.score.total, Some(35));
    assert_eq!(middling.decided, None);
    assert_eq!(
        middling
            .score
            .lines
            .iter()
            .map(|l| l.points)
            .collect::<Vec<_>>(),
        vec![50, 0, 50]
    );

    // 50×0 + 30×0 + 20×0 → 0: rejected with the reason.
    let weak = vet(&applicant("a@b.io", "10", "FR", ""));
    assert_eq!(weak.score.total, Some(0));
    assert_eq!(
        weak.decided,
        Some((Decision::Reject, "Audience too small for now.".into()))
    );

    // Rule order: the disposable-email rule comes first, even for a perfect score.
    let disposable = vet(&applicant(
        "a@mailinator.com",
        "20000",
        "US",
        "https://b.io",
    ));
    assert_eq!(disposable.decided.map(|d| d.0), Some(Decision::Reject));

    // 50×50 + 30×100 + 20×100 = 7500 → 75 (rounding down 75.0): below the approve line.
    let close = vet(&applicant("a@b.io", "1000", "CA", "https://b.io"));
    assert_eq!(close.score.total, Some(75));
    assert_eq!(close.decided, None);
}

#[test]
fn a_document_with_a_mistake_is_refused_at_its_path() {
    let refuse = |edit: &dyn Fn(&mut ProgramLifecycle)| {
        let mut lifecycle = program();
        edit(&mut lifecycle);
        lifecycle.validate().expect_err("refused").field
    };
    assert_eq!(
        refuse(&|l| l.groups[1].key = "creators".into()),
        "groups[1].key"
    );
    assert_eq!(
        refuse(&|l| l.groups[0].archetype = "pirate".into()),
        "groups[0].archetype"
    );
    assert_eq!(
        refuse(&|l| l.groups[1].questions = vec![l.questions[0].clone()]),
        "groups[1].questions[0].id"
    );
    assert_eq!(
        refuse(&|l| l.questions[0].id = "email".into()),
        "questions[0].id"
    );
    assert_eq!(
        refuse(&|l| l.questions[1].choices.clear()),
        "questions[1].choices"
    );
    assert_eq!(
        refuse(&|l| l.scorecard[0].weight = 0),
        "scorecard[0].weight"
    );
    assert_eq!(
        refuse(&|l| l.scorecard[0].measure = Measure::Answered {
            question: "nope".into()
        }),
        "scorecard[0].question"
    );
    assert_eq!(refuse(&|l| l.rules[0].when.clear()), "rules[0].when");
    assert_eq!(refuse(&|l| l.rules[0].reason.clear()), "rules[0].reason");
    assert_eq!(
        refuse(&|l| {
            l.scorecard.clear();
            l.rules.truncate(2);
        }),
        "rules[1].when[0]"
    );
    assert_eq!(refuse(&|l| l.stage.capacity = Some(0)), "stage.capacity");
    assert_eq!(
        refuse(&|l| l.stage.name = StageName::Open),
        "stage.capacity"
    );
    assert_eq!(
        refuse(&|l| l.stage.gates[0].window_days = 0),
        "stage.gates[0].window_days"
    );
    let unknown = serde_json::from_str::<ProgramLifecycle>(r#"{"stages": []}"#);
    assert!(unknown.is_err(), "unknown fields are refused, not ignored");
}

#[test]
fn stages_gate_applications_and_capacity() {
    assert!(!StageName::Pilot.accepts_applications());
    assert!(StageName::Limited.accepts_applications());
    let stage = program().stage;
    assert!(stage.has_room(1));
    assert!(!stage.has_room(2));
    assert_eq!(stage::roi_percent(30_000, 10_000), Some(300));
    assert_eq!(stage::roi_percent(29_999, 10_000), Some(299));
    assert_eq!(stage::roi_percent(5, 0), None);
}
