//! What the lifecycle's emails say. Plain text, written here once, so a reviewer reads every
//! email a partner can receive in one place.

use tributary_core::Timestamp;
use tributary_core::period::date_of;

/// A subject and a body.
pub struct Letter {
    pub subject: String,
    pub body: String,
    pub kind: &'static str,
}

pub fn received(program: &str, name: &str) -> Letter {
    Letter {
        subject: format!("We received your application to {program}"),
        body: format!(
            "Hello {name},\n\nThank you for applying to {program}. We review every application \
             and will email you our decision.\n"
        ),
        kind: "application.received",
    }
}

pub fn approved(
    program: &str,
    name: &str,
    reason: &str,
    set_password: Option<&str>,
    sign_in: &str,
) -> Letter {
    let next = match set_password {
        Some(link) => format!(
            "Choose your password to open your partner portal (the link works once, for 7 days):\n{link}\n"
        ),
        None => format!("Sign in to your partner portal:\n{sign_in}\n"),
    };
    Letter {
        subject: format!("Welcome to {program}"),
        body: format!(
            "Hello {name},\n\nYour application to {program} is approved.\n{}\n{next}",
            reason_line(reason)
        ),
        kind: "application.approved",
    }
}

pub fn rejected(
    program: &str,
    name: &str,
    reason: &str,
    reapply_after: Option<Timestamp>,
) -> Letter {
    let again = match reapply_after {
        Some(at) => format!("You may apply again from {}.\n", date_of(at)),
        None => "You may apply again at any time.\n".to_string(),
    };
    Letter {
        subject: format!("Your application to {program}"),
        body: format!(
            "Hello {name},\n\nThank you for your interest in {program}. We are not able to accept \
             your application now.\n{}\n{again}",
            reason_line(reason)
        ),
        kind: "application.rejected",
    }
}

pub fn invitation(program: &str, name: Option<&str>, link: &str, expires: Timestamp) -> Letter {
    let greeting = name.map_or_else(|| "Hello,".to_string(), |name| format!("Hello {name},"));
    Letter {
        subject: format!("You are invited to join {program}"),
        body: format!(
            "{greeting}\n\nYou are invited to become a partner in {program}. Accept the \
             invitation and choose your password here (until {}):\n{link}\n",
            date_of(expires)
        ),
        kind: "invitation",
    }
}

fn reason_line(reason: &str) -> String {
    if reason.trim().is_empty() {
        String::new()
    } else {
        format!("Reason: {}\n", reason.trim())
    }
}

pub fn suspended(program: &str, name: &str, reason: &str) -> Letter {
    Letter {
        subject: format!("Your partnership in {program} is suspended"),
        body: format!(
            "Hello {name},\n\nYour partnership in {program} is suspended from now: your links \
             and codes earn nothing until it is lifted.\n{}\nReply to this email if you \
             think this is a mistake.\n",
            reason_line(reason)
        ),
        kind: "enrollment.suspended",
    }
}

pub fn reinstated(program: &str, name: &str, reason: &str) -> Letter {
    Letter {
        subject: format!("Your partnership in {program} is active again"),
        body: format!(
            "Hello {name},\n\nYour suspension in {program} is lifted: your links and codes \
             earn again from now.\n{}",
            reason_line(reason)
        ),
        kind: "enrollment.reinstated",
    }
}

pub fn terminated(program: &str, name: &str, reason: &str, policy: &str) -> Letter {
    let money = if policy == "forfeit" {
        "Under the program's terms, commissions still pending are forfeited; approved and \
         paid commissions stay yours."
    } else {
        "Commissions already earned stay yours and are paid as usual."
    };
    Letter {
        subject: format!("Your partnership in {program} has ended"),
        body: format!(
            "Hello {name},\n\nYour partnership in {program} is terminated from now: your links \
             and codes no longer earn.\n{}\n{money}\n",
            reason_line(reason)
        ),
        kind: "enrollment.terminated",
    }
}
