//! The application form: the questions a program asks (text, choice, URL, number; required
//! or not) and the parsing of one applicant's submission into typed answers. Every refusal
//! names the field, so the public page can show it beside the input.

use super::{LifecycleError, is_key, label};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Questions per list (the program's, or one group's) at most.
pub const MAX_QUESTIONS: usize = 30;
/// Choices per choice question at most.
pub const MAX_CHOICES: usize = 30;
/// Characters in a text answer at most.
pub const MAX_TEXT_ANSWER: usize = 2_000;
/// Characters in a URL answer at most.
pub const MAX_URL_ANSWER: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// The answer's key (`audience_size`); scorecard criteria and rules name it.
    pub id: String,
    pub label: String,
    pub kind: QuestionKind,
    #[serde(default)]
    pub required: bool,
    /// The allowed answers of a `choice` question.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub choices: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuestionKind {
    Text,
    Choice,
    Url,
    Number,
}

impl QuestionKind {
    pub fn as_str(self) -> &'static str {
        match self {
            QuestionKind::Text => "text",
            QuestionKind::Choice => "choice",
            QuestionKind::Url => "url",
            QuestionKind::Number => "number",
        }
    }
}

/// Checks one list of questions; `others` are ids already taken (the program's, for a
/// group's list).
pub(super) fn validate_questions(
    at: &str,
    questions: &[Question],
    others: &[Question],
) -> Result<(), LifecycleError> {
    if questions.len() > MAX_QUESTIONS {
        return Err(LifecycleError::new(
            at,
            format!("at most {MAX_QUESTIONS} questions"),
        ));
    }
    for (index, question) in questions.iter().enumerate() {
        let here = format!("{at}[{index}]");
        if !is_key(&question.id) {
            return Err(LifecycleError::new(
                format!("{here}.id"),
                "1 to 64 characters of a-z, 0-9, '-' and '_'",
            ));
        }
        if Applicant::STANDARD.contains(&question.id.as_str()) {
            return Err(LifecycleError::new(
                format!("{here}.id"),
                "this id names a standard field of the form",
            ));
        }
        let taken = questions[..index]
            .iter()
            .chain(others)
            .any(|q| q.id == question.id);
        if taken {
            return Err(LifecycleError::new(
                format!("{here}.id"),
                "two questions have this id",
            ));
        }
        label(&format!("{here}.label"), &question.label, true)?;
        match question.kind {
            QuestionKind::Choice => {
                if question.choices.is_empty() || question.choices.len() > MAX_CHOICES {
                    return Err(LifecycleError::new(
                        format!("{here}.choices"),
                        format!("a choice question has 1 to {MAX_CHOICES} choices"),
                    ));
                }
                for (c, choice) in question.choices.iter().enumerate() {
                    label(&format!("{here}.choices[{c}]"), choice, true)?;
                }
            }
            _ if !question.choices.is_empty() => {
                return Err(LifecycleError::new(
                    format!("{here}.choices"),
                    "only a choice question has choices",
                ));
            }
            _ => {}
        }
    }
    Ok(())
}

/// One validated answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Answer {
    Number(i64),
    Text(String),
}

impl Answer {
    pub fn text(&self) -> String {
        match self {
            Answer::Number(n) => n.to_string(),
            Answer::Text(text) => text.clone(),
        }
    }
}

/// An applicant's answers by question id; unanswered optional questions are absent.
pub type Answers = BTreeMap<String, Answer>;

/// The standard fields every application carries, parsed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applicant {
    pub name: String,
    /// Lower-cased.
    pub email: String,
    pub website: Option<String>,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: Option<String>,
    /// The group applied to (a key of the program's groups).
    pub group: Option<String>,
    pub answers: Answers,
}

impl Applicant {
    /// The form's own fields; questions may not reuse these ids.
    pub const STANDARD: [&'static str; 5] = ["name", "email", "website", "country", "group"];

    /// Parses a submission (form fields by name) against a program's lifecycle settings.
    pub fn parse(
        lifecycle: &super::ProgramLifecycle,
        fields: &BTreeMap<String, String>,
    ) -> Result<Applicant, LifecycleError> {
        let get = |name: &str| {
            fields
                .get(name)
                .map(|value| value.trim())
                .filter(|value| !value.is_empty())
        };
        let name = get("name").ok_or_else(|| LifecycleError::new("name", "is required"))?;
        label("name", name, true)?;
        let email = get("email")
            .ok_or_else(|| LifecycleError::new("email", "is required"))?
            .to_ascii_lowercase();
        if !plausible_email(&email) {
            return Err(LifecycleError::new(
                "email",
                "is not an email address (name@example.com)",
            ));
        }
        let website = get("website")
            .map(|value| url("website", value))
            .transpose()?;
        let country = get("country")
            .map(|value| {
                let code = value.to_ascii_uppercase();
                if code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) {
                    Ok(code)
                } else {
                    Err(LifecycleError::new(
                        "country",
                        "a two-letter country code (US, DE, IN)",
                    ))
                }
            })
            .transpose()?;
        let group = match (lifecycle.groups.is_empty(), get("group")) {
            (true, _) => None,
            (false, None) => return Err(LifecycleError::new("group", "choose a group")),
            (false, Some(key)) => Some(
                lifecycle
                    .group(key)
                    .ok_or_else(|| LifecycleError::new("group", "is not one of this program's"))?,
            ),
        };
        let mut answers = Answers::new();
        for question in lifecycle.questions_for(group) {
            let Some(raw) = get(&question.id) else {
                if question.required {
                    return Err(LifecycleError::new(&question.id, "is required"));
                }
                continue;
            };
            answers.insert(question.id.clone(), answer(question, raw)?);
        }
        Ok(Applicant {
            name: name.to_string(),
            email,
            website,
            country,
            group: group.map(|group| group.key.clone()),
            answers,
        })
    }

    /// The part of the email after `@`.
    pub fn email_domain(&self) -> &str {
        self.email.rsplit('@').next().unwrap_or_default()
    }
}

fn answer(question: &Question, raw: &str) -> Result<Answer, LifecycleError> {
    let field = question.id.as_str();
    match question.kind {
        QuestionKind::Text => {
            if raw.chars().count() > MAX_TEXT_ANSWER {
                return Err(LifecycleError::new(
                    field,
                    format!("at most {MAX_TEXT_ANSWER} characters"),
                ));
            }
            Ok(Answer::Text(raw.to_string()))
        }
        QuestionKind::Choice => question
            .choices
            .iter()
            .find(|choice| choice.as_str() == raw)
            .map(|choice| Answer::Text(choice.clone()))
            .ok_or_else(|| LifecycleError::new(field, "is not one of the choices")),
        QuestionKind::Url => url(field, raw).map(Answer::Text),
        QuestionKind::Number => {
            // People write "12,000" and "12 000"; the digits are what counts.
            let digits: String = raw
                .chars()
                .filter(|c| !matches!(c, ',' | '_' | ' '))
                .collect();
            digits
                .parse::<i64>()
                .map(Answer::Number)
                .map_err(|_| LifecycleError::new(field, "is not a whole number"))
        }
    }
}

fn url(field: &str, raw: &str) -> Result<String, LifecycleError> {
    let rest = raw
        .strip_prefix("https://")
        .or_else(|| raw.strip_prefix("http://"));
    let host = rest.map(|rest| rest.split(['/', '?', '#']).next().unwrap_or_default());
    match host {
        Some(host)
            if raw.len() <= MAX_URL_ANSWER
                && host.contains('.')
                && !raw.chars().any(char::is_whitespace) =>
        {
            Ok(raw.to_string())
        }
        _ => Err(LifecycleError::new(
            field,
            "an address starting with https:// (https://example.com)",
        )),
    }
}

/// An address with one `@`, something before it and a dotted domain after it; delivery
/// is what really checks it.
pub fn plausible_email(text: &str) -> bool {
    let Some((local, domain)) = text.split_once('@') else {
        return false;
    };
    text.len() <= 254
        && !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !text.contains(char::is_whitespace)
        && !domain.contains('@')
}
