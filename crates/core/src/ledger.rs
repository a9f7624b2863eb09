//! The double-entry ledger: accounts, lines and transactions that must sum to zero per
//! currency, the postings for each business fact (DESIGN.md §9), and an in-memory book that
//! derives balances from postings. Corrections are new transactions; nothing is edited.

use crate::{Currency, Money, PartnerId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountKind {
    /// What the business has committed to pay partners (debit-normal).
    CommissionExpense,
    /// Earned by a partner, inside the hold period or waiting on a safeguard.
    PartnerPending,
    /// Approved and owed to a partner; negative after a clawback of paid money.
    PartnerPayable,
    /// In a payout batch sent to a rail, not yet confirmed.
    PayoutsInTransit,
    /// Money that left the business.
    Cash,
}

impl AccountKind {
    pub const ALL: [AccountKind; 5] = [
        AccountKind::CommissionExpense,
        AccountKind::PartnerPending,
        AccountKind::PartnerPayable,
        AccountKind::PayoutsInTransit,
        AccountKind::Cash,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::CommissionExpense => "commission_expense",
            AccountKind::PartnerPending => "partner_pending",
            AccountKind::PartnerPayable => "partner_payable",
            AccountKind::PayoutsInTransit => "payouts_in_transit",
            AccountKind::Cash => "cash",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }
}

/// An account within a workspace. Every account carries the partner it concerns, so
/// program-level accounts (expense, in transit, cash) are sub-ledgered per partner and a
/// partner's paid total is a balance, not a stored figure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Account {
    pub kind: AccountKind,
    pub partner_id: PartnerId,
}

/// One side of a transaction: positive amounts debit the account, negative amounts credit it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    pub account: Account,
    pub amount: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("a transaction needs at least two lines")]
    TooFewLines,
    #[error("a transaction line may not be zero")]
    ZeroLine,
    #[error("lines in {0} sum to {1}, not zero")]
    Unbalanced(Currency, i64),
    #[error("amounts overflow")]
    Overflow,
}

/// A balanced set of lines. The constructor is the only way to make one, so every value of
/// this type sums to zero per currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    lines: Vec<Line>,
}

impl Transaction {
    pub fn new(lines: Vec<Line>) -> Result<Self, LedgerError> {
        if lines.len() < 2 {
            return Err(LedgerError::TooFewLines);
        }
        let mut sums: BTreeMap<Currency, i64> = BTreeMap::new();
        for line in &lines {
            if line.amount.amount_minor == 0 {
                return Err(LedgerError::ZeroLine);
            }
            let sum = sums.entry(line.amount.currency).or_insert(0);
            *sum = sum
                .checked_add(line.amount.amount_minor)
                .ok_or(LedgerError::Overflow)?;
        }
        if let Some((currency, sum)) = sums.into_iter().find(|(_, sum)| *sum != 0) {
            return Err(LedgerError::Unbalanced(currency, sum));
        }
        Ok(Transaction { lines })
    }

    pub fn lines(&self) -> &[Line] {
        &self.lines
    }

    /// Debit `from` and credit `to` by `amount` (either sign; the pair always balances).
    fn transfer(
        partner_id: PartnerId,
        debit: AccountKind,
        credit: AccountKind,
        amount: Money,
    ) -> Result<Self, LedgerError> {
        Transaction::new(vec![
            Line {
                account: Account {
                    kind: debit,
                    partner_id,
                },
                amount,
            },
            Line {
                account: Account {
                    kind: credit,
                    partner_id,
                },
                amount: amount.negate(),
            },
        ])
    }

    /// Commission earned: expense → partner pending.
    pub fn earned(partner_id: PartnerId, amount: Money) -> Result<Self, LedgerError> {
        Self::transfer(
            partner_id,
            AccountKind::CommissionExpense,
            AccountKind::PartnerPending,
            amount,
        )
    }

    /// Hold passed: pending → payable. A negative amount approves a pending clawback.
    pub fn approved(partner_id: PartnerId, amount: Money) -> Result<Self, LedgerError> {
        Self::transfer(
            partner_id,
            AccountKind::PartnerPending,
            AccountKind::PartnerPayable,
            amount,
        )
    }

    /// Voided or clawed back before approval.
    pub fn clawed_back_pending(partner_id: PartnerId, amount: Money) -> Result<Self, LedgerError> {
        Self::transfer(
            partner_id,
            AccountKind::PartnerPending,
            AccountKind::CommissionExpense,
            amount,
        )
    }

    /// Clawed back after approval or payout; payable may go negative.
    pub fn clawed_back_payable(partner_id: PartnerId, amount: Money) -> Result<Self, LedgerError> {
        Self::transfer(
            partner_id,
            AccountKind::PartnerPayable,
            AccountKind::CommissionExpense,
            amount,
        )
    }

    /// A payout batch takes approved balances: payable → in transit, one pair per partner.
    pub fn payout_batch(items: &[(PartnerId, Money)]) -> Result<Self, LedgerError> {
        let mut lines = Vec::with_capacity(items.len() * 2);
        for (partner_id, amount) in items {
            lines.push(Line {
                account: Account {
                    kind: AccountKind::PartnerPayable,
                    partner_id: *partner_id,
                },
                amount: *amount,
            });
            lines.push(Line {
                account: Account {
                    kind: AccountKind::PayoutsInTransit,
                    partner_id: *partner_id,
                },
                amount: amount.negate(),
            });
        }
        Transaction::new(lines)
    }

    /// The rail confirmed a batch: in transit → cash.
    pub fn payout_paid(items: &[(PartnerId, Money)]) -> Result<Self, LedgerError> {
        let mut lines = Vec::with_capacity(items.len() * 2);
        for (partner_id, amount) in items {
            lines.push(Line {
                account: Account {
                    kind: AccountKind::PayoutsInTransit,
                    partner_id: *partner_id,
                },
                amount: *amount,
            });
            lines.push(Line {
                account: Account {
                    kind: AccountKind::Cash,
                    partner_id: *partner_id,
                },
                amount: amount.negate(),
            });
        }
        Transaction::new(lines)
    }
}

/// A partner's figures, all derived from postings. Each is the credit balance of one account,
/// so positive means "owed to the partner" (or, for `paid`, "paid to the partner").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartnerBalance {
    pub currency: Currency,
    pub pending_minor: i64,
    pub approved_minor: i64,
    pub in_payout_minor: i64,
    pub paid_minor: i64,
}

impl PartnerBalance {
    pub fn zero(currency: Currency) -> Self {
        PartnerBalance {
            currency,
            pending_minor: 0,
            approved_minor: 0,
            in_payout_minor: 0,
            paid_minor: 0,
        }
    }

    /// Folds one account's debit balance into the partner view.
    pub fn absorb(&mut self, kind: AccountKind, debit_balance_minor: i64) {
        match kind {
            AccountKind::PartnerPending => self.pending_minor -= debit_balance_minor,
            AccountKind::PartnerPayable => self.approved_minor -= debit_balance_minor,
            AccountKind::PayoutsInTransit => self.in_payout_minor -= debit_balance_minor,
            AccountKind::Cash => self.paid_minor -= debit_balance_minor,
            AccountKind::CommissionExpense => {}
        }
    }
}

/// An in-memory book: applies transactions and derives balances. Used by tests, by replay
/// into a scratch ledger, and as the reference the stores are checked against.
#[derive(Debug, Default, Clone)]
pub struct Book {
    balances: BTreeMap<(Account, Currency), i64>,
}

impl Book {
    pub fn apply(&mut self, transaction: &Transaction) {
        for line in transaction.lines() {
            *self
                .balances
                .entry((line.account, line.amount.currency))
                .or_insert(0) += line.amount.amount_minor;
        }
    }

    /// Debit balance of one account.
    pub fn balance(&self, account: Account, currency: Currency) -> i64 {
        self.balances
            .get(&(account, currency))
            .copied()
            .unwrap_or(0)
    }

    pub fn partner_balance(&self, partner_id: PartnerId, currency: Currency) -> PartnerBalance {
        let mut balance = PartnerBalance::zero(currency);
        for kind in AccountKind::ALL {
            balance.absorb(kind, self.balance(Account { kind, partner_id }, currency));
        }
        balance
    }

    /// Sum of every account per currency: zero in a consistent book.
    pub fn totals(&self) -> BTreeMap<Currency, i64> {
        let mut totals = BTreeMap::new();
        for ((_, currency), amount) in &self.balances {
            *totals.entry(*currency).or_insert(0) += amount;
        }
        totals
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use uuid::Uuid;

    fn partner(n: u128) -> PartnerId {
        PartnerId::from_uuid(Uuid::from_u128(n))
    }

    #[test]
    fn rejects_unbalanced_and_degenerate_transactions() {
        let usd = |amount| Money::new(amount, Currency::USD);
        let line = |kind, amount| Line {
            account: Account {
                kind,
                partner_id: partner(1),
            },
            amount: usd(amount),
        };
        assert_eq!(
            Transaction::new(vec![line(AccountKind::Cash, 5)]),
            Err(LedgerError::TooFewLines)
        );
        assert_eq!(
            Transaction::new(vec![
                line(AccountKind::Cash, 5),
                line(AccountKind::PartnerPayable, -4)
            ]),
            Err(LedgerError::Unbalanced(Currency::USD, 1))
        );
        assert_eq!(
            Transaction::new(vec![
                line(AccountKind::Cash, 0),
                line(AccountKind::PartnerPayable, 0)
            ]),
            Err(LedgerError::ZeroLine)
        );
        let eur = Line {
            account: Account {
                kind: AccountKind::Cash,
                partner_id: partner(1),
            },
            amount: Money::new(-5, Currency::EUR),
        };
        assert_eq!(
            Transaction::new(vec![line(AccountKind::PartnerPayable, 5), eur]),
            Err(LedgerError::Unbalanced(Currency::EUR, -5))
        );
    }

    proptest! {
        #[test]
        fn every_posting_sums_to_zero(amounts in proptest::collection::vec((1u128..5, 1i64..1_000_000, 0u8..6), 1..50)) {
            let mut book = Book::default();
            for (who, amount, what) in amounts {
                let money = Money::new(amount, Currency::USD);
                let transaction = match what {
                    0 => Transaction::earned(partner(who), money),
                    1 => Transaction::approved(partner(who), money),
                    2 => Transaction::clawed_back_pending(partner(who), money),
                    3 => Transaction::clawed_back_payable(partner(who), money),
                    4 => Transaction::payout_batch(&[(partner(who), money), (partner(who + 10), money)]),
                    _ => Transaction::payout_paid(&[(partner(who), money)]),
                }.expect("builders balance");
                book.apply(&transaction);
                prop_assert!(book.totals().values().all(|sum| *sum == 0));
            }
        }
    }
}
