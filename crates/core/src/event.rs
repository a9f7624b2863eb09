//! Business events as facts: what the business reports (lead, sale, refund, ...) after
//! validation at the edge. Once stored, an event never changes.

use crate::{Money, Timestamp};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Lead,
    Sale,
    Renewal,
    Refund,
    Chargeback,
    Milestone,
}

impl EventKind {
    pub const ALL: [EventKind; 6] = [
        EventKind::Lead,
        EventKind::Sale,
        EventKind::Renewal,
        EventKind::Refund,
        EventKind::Chargeback,
        EventKind::Milestone,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Lead => "lead",
            EventKind::Sale => "sale",
            EventKind::Renewal => "renewal",
            EventKind::Refund => "refund",
            EventKind::Chargeback => "chargeback",
            EventKind::Milestone => "milestone",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// Events that carry revenue and earn percentage commissions.
    pub fn is_revenue(self) -> bool {
        matches!(self, EventKind::Sale | EventKind::Renewal)
    }

    /// Events that take revenue back and claw commissions back.
    pub fn is_reversal(self) -> bool {
        matches!(self, EventKind::Refund | EventKind::Chargeback)
    }

    /// Whether the kind needs `amount_minor` and `currency`.
    pub fn needs_amount(self) -> bool {
        self.is_revenue() || self.is_reversal()
    }
}

/// Bounds on what an event may carry.
pub const MAX_EXTERNAL_ID_LEN: usize = 200;
pub const MAX_METADATA_BYTES: usize = 8 * 1024;
/// A single event may not move more than this many minor units (10^13: 100 billion USD).
pub const MAX_AMOUNT_MINOR: i64 = 10_000_000_000_000;

/// A validated event, ready to be stored and processed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventFacts {
    pub kind: EventKind,
    /// The business's own id for its customer.
    pub customer_external_id: String,
    pub click_id: Option<String>,
    pub amount: Option<Money>,
    pub occurred_at: Timestamp,
    /// Ties sales to their refunds.
    pub invoice_id: Option<String>,
    pub milestone: Option<String>,
}
