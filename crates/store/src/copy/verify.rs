//! Checking a copy from both ends: row counts per table, then, through each store's own `Tx`
//! reads (the code the product runs on each engine), every workspace's ledger totals per
//! currency and every partner's balances, and that the target holds no unbalanced ledger
//! transaction. Each check lists what differs rather than stopping at the first difference.

use super::schema::TablePlan;
use crate::postgres::PgStore;
use crate::postgres::query::{Db, optional};
use crate::sqlite::SqliteStore;
use crate::{Page, Partner, Result, Store, StoreError, Tx, WorkspaceId};
use rusqlite::Connection;

/// Partners one workspace may have for the copy to check them all: the listing's deepest
/// offset ([`Page::new`] caps it there).
const MAX_PARTNERS_PER_WORKSPACE: usize = 1_000_000;

/// What the balance checks covered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Checked {
    pub workspaces: usize,
    pub partners: usize,
    /// (workspace, currency) ledger totals compared.
    pub currencies: usize,
}

/// Rows in each table of the target, in `plan` order (on `db`: inside the copy's transaction,
/// or after it).
pub async fn target_counts(db: &Db, plan: &[TablePlan]) -> Result<Vec<u64>> {
    let mut counts = Vec::with_capacity(plan.len());
    for table in plan {
        let count: i64 = optional(
            db,
            &format!("SELECT COUNT(*) AS count FROM \"{}\"", table.name),
            &[],
            |row| {
                row.try_get("count")
                    .map_err(|error| StoreError::Corrupt(format!("{}: {error}", table.name)))
            },
        )
        .await?
        .unwrap_or(0);
        counts.push(
            u64::try_from(count)
                .map_err(|_| StoreError::Corrupt(format!("{}: row count {count}", table.name)))?,
        );
    }
    Ok(counts)
}

/// Every table whose source, copied and target row counts are not all equal.
pub fn count_differences(
    plan: &[TablePlan],
    source: &[u64],
    copied: &[u64],
    target: &[u64],
) -> Vec<String> {
    plan.iter()
        .zip(source.iter().zip(copied.iter().zip(target.iter())))
        .filter(|(_, (source, (copied, target)))| source != copied || copied != target)
        .map(|(table, (source, (copied, target)))| {
            format!(
                "{}: {source} rows in the source, {copied} copied, {target} in the target",
                table.name
            )
        })
        .collect()
}

/// The source's workspaces, read straight from its table.
pub fn workspace_ids(db: &Connection) -> Result<Vec<WorkspaceId>> {
    let mut statement = db.prepare("SELECT id FROM workspaces ORDER BY id")?;
    let ids: Vec<String> = statement
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    ids.iter()
        .map(|id| {
            id.parse()
                .map_err(|_| StoreError::Corrupt("workspaces.id: not a UUID".into()))
        })
        .collect()
}

/// Reads every workspace's figures through both stores and lists what differs.
pub async fn balances(
    source: &SqliteStore,
    target: &PgStore,
    workspace_ids: &[WorkspaceId],
) -> Result<(Checked, Vec<String>)> {
    // One snapshot per side for the whole check.
    let mut source = source.read().await?;
    let mut target = target.read().await?;
    let mut checked = Checked::default();
    let mut problems = Vec::new();
    for &workspace_id in workspace_ids {
        checked.workspaces += 1;
        let workspace = source.workspace(workspace_id).await?;
        if workspace.is_none() || workspace != target.workspace(workspace_id).await? {
            problems.push(format!("workspace {workspace_id} differs"));
            continue;
        }

        let totals = source.ledger_totals(workspace_id).await?;
        checked.currencies += totals.len();
        let target_totals = target.ledger_totals(workspace_id).await?;
        if totals != target_totals {
            problems.push(format!(
                "workspace {workspace_id}: ledger totals {} in the source, {} in the target",
                show_totals(&totals),
                show_totals(&target_totals)
            ));
        }

        let partners = all_partners(source.as_mut(), workspace_id).await?;
        if partners != all_partners(target.as_mut(), workspace_id).await? {
            problems.push(format!("workspace {workspace_id}: its partners differ"));
        }
        for partner in &partners {
            checked.partners += 1;
            let balances = source.partner_balances(workspace_id, partner.id).await?;
            if balances != target.partner_balances(workspace_id, partner.id).await? {
                problems.push(format!(
                    "workspace {workspace_id}: partner {}'s balances differ",
                    partner.id
                ));
            }
        }

        let unbalanced = target.unbalanced_transactions(workspace_id).await?;
        if !unbalanced.is_empty() {
            let in_source = source.unbalanced_transactions(workspace_id).await?.len();
            problems.push(format!(
                "workspace {workspace_id}: {} unbalanced ledger transaction(s) in the target ({in_source} in the source), the first {}",
                unbalanced.len(),
                unbalanced[0]
            ));
        }
    }
    Ok((checked, problems))
}

/// Every partner of a workspace, in id order.
async fn all_partners(tx: &mut dyn Tx, workspace_id: WorkspaceId) -> Result<Vec<Partner>> {
    let mut partners: Vec<Partner> = Vec::new();
    loop {
        if partners.len() >= MAX_PARTNERS_PER_WORKSPACE {
            return Err(StoreError::Database(format!(
                "workspace {workspace_id} has more than {MAX_PARTNERS_PER_WORKSPACE} partners, too many to check"
            )));
        }
        let offset = u32::try_from(partners.len()).unwrap_or(u32::MAX);
        let page = tx
            .partners(workspace_id, Page::new(Some(Page::MAX_LIMIT), Some(offset)))
            .await?;
        let last = page.len() < Page::MAX_LIMIT as usize;
        partners.extend(page);
        if last {
            break;
        }
    }
    partners.sort_by_key(|partner| partner.id);
    Ok(partners)
}

fn show_totals(totals: &[(tributary_core::Currency, i64)]) -> String {
    if totals.is_empty() {
        return "none".into();
    }
    let shown: Vec<String> = totals
        .iter()
        .map(|(currency, total)| format!("{total} {}", currency.code()))
        .collect();
    shown.join(", ")
}
