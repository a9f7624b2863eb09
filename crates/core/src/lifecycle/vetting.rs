//! Vetting: a scorecard of weighted criteria (answers, audience size, geography, website)
//! that scores an application from 0 to 100 in integers, and automatic rules that approve
//! or reject with a reason. An application no rule decides waits in the review queue.
//!
//! As JSON: `{"label": "Audience", "weight": 40, "measure": "number_steps",
//! "question": "audience_size", "steps": [{"at_least": 1000, "points": 50}, ...]}` and
//! `{"decision": "reject", "reason": "...", "when": [{"score_below": 30}]}`.

use super::form::{Answer, Applicant};
use super::{LifecycleError, label};
use serde::{Deserialize, Serialize};

pub const MAX_CRITERIA: usize = 20;
pub const MAX_RULES: usize = 20;
/// Tests in one rule, and steps or values in one criterion or test, at most.
pub const MAX_PARTS: usize = 50;

// No `deny_unknown_fields`: serde cannot combine it with a flattened enum.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Criterion {
    pub label: String,
    /// Relative weight, 1 to 100.
    pub weight: u32,
    #[serde(flatten)]
    pub measure: Measure,
}

/// What a criterion looks at; each gives 0 to 100 points.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "measure", rename_all = "snake_case")]
pub enum Measure {
    /// 100 when the question was answered.
    Answered { question: String },
    /// 100 when the answer is one of these choices.
    ChoiceIn {
        question: String,
        choices: Vec<String>,
    },
    /// The points of the highest step the number reaches (audience size, clients served).
    NumberSteps { question: String, steps: Vec<Step> },
    /// 100 when the applicant's country is one of these.
    CountryIn { countries: Vec<String> },
    /// 100 for an https website, 50 for http, 0 for none.
    Website,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    pub at_least: i64,
    pub points: u32,
}

/// An automatic decision: when every test holds, `decision` with `reason`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub decision: Decision,
    /// Sent to the applicant with the decision.
    pub reason: String,
    pub when: Vec<Test>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Approve,
    Reject,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Approve => "approve",
            Decision::Reject => "reject",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Test {
    /// The score (with a scorecard) is at least this.
    ScoreAtLeast(u32),
    /// The score (with a scorecard) is below this.
    ScoreBelow(u32),
    CountryIn(Vec<String>),
    /// The applicant named a country and it is not one of these.
    CountryNotIn(Vec<String>),
    /// The applicant's email is at one of these domains (`mailinator.com`).
    EmailDomainIn(Vec<String>),
    /// The answer to `question` is exactly `equals`.
    Answer {
        question: String,
        equals: String,
    },
    /// No website was given.
    NoWebsite,
}

/// One criterion's part of a score.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScoreLine {
    pub label: String,
    pub weight: u32,
    pub points: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Score {
    /// Σ weight × points ÷ Σ weight, rounded down; none without a scorecard.
    pub total: Option<u32>,
    pub lines: Vec<ScoreLine>,
}

/// What vetting concluded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    pub score: Score,
    /// The rule that decided, if one did: its decision and reason.
    pub decided: Option<(Decision, String)>,
}

pub(super) fn validate(
    scorecard: &[Criterion],
    rules: &[Rule],
    known_question: &dyn Fn(&str) -> bool,
) -> Result<(), LifecycleError> {
    if scorecard.len() > MAX_CRITERIA {
        return Err(LifecycleError::new(
            "scorecard",
            format!("at most {MAX_CRITERIA} criteria"),
        ));
    }
    let question = |field: String, id: &str| {
        if known_question(id) {
            Ok(())
        } else {
            Err(LifecycleError::new(field, format!("no question {id:?}")))
        }
    };
    for (index, criterion) in scorecard.iter().enumerate() {
        let at = format!("scorecard[{index}]");
        label(&format!("{at}.label"), &criterion.label, true)?;
        if !(1..=100).contains(&criterion.weight) {
            return Err(LifecycleError::new(format!("{at}.weight"), "from 1 to 100"));
        }
        match &criterion.measure {
            Measure::Answered { question: id } => question(format!("{at}.question"), id)?,
            Measure::ChoiceIn {
                question: id,
                choices,
            } => {
                question(format!("{at}.question"), id)?;
                parts(&format!("{at}.choices"), choices.len())?;
            }
            Measure::NumberSteps {
                question: id,
                steps,
            } => {
                question(format!("{at}.question"), id)?;
                parts(&format!("{at}.steps"), steps.len())?;
                if steps.iter().any(|step| step.points > 100) {
                    return Err(LifecycleError::new(
                        format!("{at}.steps"),
                        "points are 0 to 100",
                    ));
                }
            }
            Measure::CountryIn { countries } => {
                parts(&format!("{at}.countries"), countries.len())?;
                countries_ok(&format!("{at}.countries"), countries)?;
            }
            Measure::Website => {}
        }
    }
    if rules.len() > MAX_RULES {
        return Err(LifecycleError::new(
            "rules",
            format!("at most {MAX_RULES} rules"),
        ));
    }
    for (index, rule) in rules.iter().enumerate() {
        let at = format!("rules[{index}]");
        label(&format!("{at}.reason"), &rule.reason, true)?;
        parts(&format!("{at}.when"), rule.when.len())?;
        for (t, test) in rule.when.iter().enumerate() {
            let here = format!("{at}.when[{t}]");
            match test {
                Test::ScoreAtLeast(_) | Test::ScoreBelow(_) if scorecard.is_empty() => {
                    return Err(LifecycleError::new(here, "a score test needs a scorecard"));
                }
                Test::CountryIn(list) | Test::CountryNotIn(list) => {
                    parts(&here, list.len())?;
                    countries_ok(&here, list)?;
                }
                Test::EmailDomainIn(list) => parts(&here, list.len())?,
                Test::Answer { question: id, .. } => question(here, id)?,
                _ => {}
            }
        }
    }
    Ok(())
}

fn parts(field: &str, count: usize) -> Result<(), LifecycleError> {
    if count == 0 || count > MAX_PARTS {
        return Err(LifecycleError::new(
            field,
            format!("1 to {MAX_PARTS} entries"),
        ));
    }
    Ok(())
}

fn countries_ok(field: &str, countries: &[String]) -> Result<(), LifecycleError> {
    let valid = countries
        .iter()
        .all(|code| code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()));
    if valid {
        Ok(())
    } else {
        Err(LifecycleError::new(
            field,
            "two-letter upper-case country codes",
        ))
    }
}

fn points(measure: &Measure, applicant: &Applicant) -> u32 {
    let answer = |id: &str| applicant.answers.get(id);
    match measure {
        Measure::Answered { question } => {
            if answer(question).is_some() {
                100
            } else {
                0
            }
        }
        Measure::ChoiceIn { question, choices } => match answer(question) {
            Some(Answer::Text(text)) if choices.contains(text) => 100,
            _ => 0,
        },
        Measure::NumberSteps { question, steps } => match answer(question) {
            Some(Answer::Number(n)) => steps
                .iter()
                .filter(|step| *n >= step.at_least)
                .map(|step| step.points)
                .max()
                .unwrap_or(0),
            _ => 0,
        },
        Measure::CountryIn { countries } => match &applicant.country {
            Some(country) if countries.contains(country) => 100,
            _ => 0,
        },
        Measure::Website => match &applicant.website {
            Some(site) if site.starts_with("https://") => 100,
            Some(_) => 50,
            None => 0,
        },
    }
}

/// Scores an application against a scorecard.
pub fn score(scorecard: &[Criterion], applicant: &Applicant) -> Score {
    let lines: Vec<ScoreLine> = scorecard
        .iter()
        .map(|criterion| ScoreLine {
            label: criterion.label.clone(),
            weight: criterion.weight,
            points: points(&criterion.measure, applicant).min(100),
        })
        .collect();
    let weights: u64 = lines.iter().map(|line| u64::from(line.weight)).sum();
    let weighted: u64 = lines
        .iter()
        .map(|line| u64::from(line.weight) * u64::from(line.points))
        .sum();
    let total = (weights > 0).then(|| (weighted / weights) as u32);
    Score { total, lines }
}

fn holds(test: &Test, applicant: &Applicant, score: Option<u32>) -> bool {
    match test {
        Test::ScoreAtLeast(at_least) => score.is_some_and(|s| s >= *at_least),
        Test::ScoreBelow(below) => score.is_some_and(|s| s < *below),
        Test::CountryIn(list) => applicant.country.as_ref().is_some_and(|c| list.contains(c)),
        Test::CountryNotIn(list) => applicant
            .country
            .as_ref()
            .is_some_and(|c| !list.contains(c)),
        Test::EmailDomainIn(list) => {
            let domain = applicant.email_domain();
            list.iter().any(|d| d.eq_ignore_ascii_case(domain))
        }
        Test::Answer { question, equals } => applicant
            .answers
            .get(question)
            .is_some_and(|answer| answer.text() == *equals),
        Test::NoWebsite => applicant.website.is_none(),
    }
}

/// Scores an application and applies the first rule whose every test holds.
pub fn vet(scorecard: &[Criterion], rules: &[Rule], applicant: &Applicant) -> Verdict {
    let score = score(scorecard, applicant);
    let decided = rules
        .iter()
        .find(|rule| {
            !rule.when.is_empty()
                && rule
                    .when
                    .iter()
                    .all(|test| holds(test, applicant, score.total))
        })
        .map(|rule| (rule.decision, rule.reason.clone()));
    Verdict { score, decided }
}
