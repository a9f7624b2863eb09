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
        Some(match text {
            "lead" => EventKind::Lead,
            "sale" => EventKind::Sale,
            "renewal" => EventKind::Renewal,
            "refund" => EventKind::Refund,
            "chargeback" => EventKind::Chargeback,
            "milestone" => EventKind::Milestone,
            _ => return None,
        })
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

/// The string facts conditions test, from an event's stored `metadata_json`
/// (`{"metadata": {...}, "coupon": "..."}`): the metadata object's strings as they are,
/// numbers and booleans as text, objects and arrays left out; `coupon` too, unless the
/// metadata has its own. Unreadable JSON gives no facts (it was validated when stored).
pub fn condition_facts(metadata_json: Option<&str>) -> std::collections::BTreeMap<String, String> {
    let mut out = std::collections::BTreeMap::new();
    let Some(value) =
        metadata_json.and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok())
    else {
        return out;
    };
    if let Some(object) = value.get("metadata").and_then(|m| m.as_object()) {
        for (key, value) in object {
            let text = match value {
                serde_json::Value::String(text) => text.clone(),
                serde_json::Value::Number(number) => number.to_string(),
                serde_json::Value::Bool(flag) => flag.to_string(),
                _ => continue,
            };
            out.insert(key.clone(), text);
        }
    }
    if let Some(coupon) = value.get("coupon").and_then(|c| c.as_str()) {
        out.entry("coupon".to_string())
            .or_insert_with(|| coupon.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn condition_facts_keep_scalars_as_text() {
        let facts = super::condition_facts(Some(
            r#"{"metadata":{"product":"pro","seats":12,"trial":false,"nested":{"a":1}},"coupon":"SPRING"}"#,
        ));
        let pairs: Vec<(&str, &str)> = facts
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            pairs,
            vec![
                ("coupon", "SPRING"),
                ("product", "pro"),
                ("seats", "12"),
                ("trial", "false")
            ]
        );
        assert!(super::condition_facts(Some("not json")).is_empty());
        assert!(super::condition_facts(None).is_empty());
    }

    #[test]
    fn every_kind_reads_back_from_its_name() {
        for kind in super::EventKind::ALL {
            assert_eq!(super::EventKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(super::EventKind::parse("purchase"), None);
    }
}
