//! Appending a batch of clicks: one multi-row insert into the month-partitioned `clicks`
//! table and one upsert of the per-link daily counts, in one transaction.

use super::query::{Db, batch, execute};
use crate::{Click, Result, StoreError};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::Mutex;
use uuid::Uuid;

pub async fn append_clicks(db: &Db, known: &Mutex<HashSet<i64>>, clicks: &[Click]) -> Result<()> {
    append(db, known, clicks, None).await.map(|_| ())
}

/// Appends clicks consumed from the event log, recording `(stream, batch_id)` in the same
/// transaction, and committed durably (the log forgets the batch once it is acknowledged).
/// False, with nothing written, when that batch was applied before.
pub async fn append_logged_clicks(
    db: &Db,
    known: &Mutex<HashSet<i64>>,
    clicks: &[Click],
    stream: &str,
    batch_id: &str,
) -> Result<bool> {
    append(db, known, clicks, Some((stream, batch_id))).await
}

async fn append(
    db: &Db,
    known: &Mutex<HashSet<i64>>,
    clicks: &[Click],
    logged: Option<(&str, &str)>,
) -> Result<bool> {
    let months: BTreeSet<i64> = clicks.iter().map(|c| month_of(c.at.millis())).collect();
    for month in months {
        let seen = known
            .lock()
            .map(|set| set.contains(&month))
            .unwrap_or(false);
        if !seen {
            ensure_partition(db, month).await?;
            if let Ok(mut set) = known.lock() {
                set.insert(month);
            }
        }
    }
    batch(db, "BEGIN").await?;
    let written = async {
        match logged {
            Some((stream, batch_id)) => {
                let fresh = execute(
                    db,
                    "INSERT INTO log_applied (stream, batch_id, applied_at)
                     VALUES ($1, $2, (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT)
                     ON CONFLICT DO NOTHING",
                    &[&stream, &batch_id],
                )
                .await?;
                if fresh == 0 {
                    return Ok(false);
                }
            }
            // Clicks straight from the redirect are the loss-tolerant log (DESIGN.md §5):
            // no need to wait for the WAL flush.
            None => batch(db, "SET LOCAL synchronous_commit = off").await?,
        }
        write(db, clicks).await?;
        Ok(true)
    }
    .await;
    match written {
        Ok(true) => batch(db, "COMMIT").await.map(|()| true),
        Ok(false) => batch(db, "ROLLBACK").await.map(|()| false),
        Err(error) => {
            let _ = batch(db, "ROLLBACK").await;
            Err(error)
        }
    }
}

async fn write(db: &Db, clicks: &[Click]) -> Result<()> {
    let ids: Vec<&str> = clicks.iter().map(|c| c.id.as_str()).collect();
    let workspaces: Vec<Uuid> = clicks.iter().map(|c| c.workspace_id.as_uuid()).collect();
    let links: Vec<Uuid> = clicks.iter().map(|c| c.link_id.as_uuid()).collect();
    let partners: Vec<Uuid> = clicks.iter().map(|c| c.partner_id.as_uuid()).collect();
    let ats: Vec<i64> = clicks.iter().map(|c| c.at.millis()).collect();
    let ip_hashes: Vec<&str> = clicks.iter().map(|c| c.ip_hash.as_str()).collect();
    let agents: Vec<&str> = clicks.iter().map(|c| c.user_agent.as_str()).collect();
    let referrers: Vec<Option<&str>> = clicks.iter().map(|c| c.referrer.as_deref()).collect();
    let bots: Vec<bool> = clicks.iter().map(|c| c.is_bot).collect();
    execute(
        db,
        "INSERT INTO clicks (id, workspace_id, link_id, partner_id, at, ip_hash, user_agent, referrer, is_bot)
         SELECT * FROM UNNEST($1::TEXT[], $2::UUID[], $3::UUID[], $4::UUID[], $5::BIGINT[],
                              $6::TEXT[], $7::TEXT[], $8::TEXT[], $9::BOOLEAN[])",
        &[&ids, &workspaces, &links, &partners, &ats, &ip_hashes, &agents, &referrers, &bots],
    )
    .await?;
    for (click, subs) in clicks
        .iter()
        .filter_map(|click| click.subs.as_deref().map(|subs| (click, subs)))
    {
        let workspace_id = click.workspace_id.as_uuid();
        let link_id = click.link_id.as_uuid();
        let at = click.at.millis();
        execute(
            db,
            "INSERT INTO click_subs (click_id, workspace_id, link_id, at, is_bot, sub1, sub2, sub3, sub4, sub5)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (click_id) DO NOTHING",
            &[
                &click.id,
                &workspace_id,
                &link_id,
                &at,
                &click.is_bot,
                &subs[0],
                &subs[1],
                &subs[2],
                &subs[3],
                &subs[4],
            ],
        )
        .await?;
    }

    let mut daily: BTreeMap<(Uuid, i64), (i64, i64)> = BTreeMap::new();
    for click in clicks {
        let entry = daily
            .entry((click.link_id.as_uuid(), click.at.epoch_day()))
            .or_insert((0, 0));
        entry.0 += 1;
        if click.is_bot {
            entry.1 += 1;
        }
    }
    let mut link_ids = Vec::with_capacity(daily.len());
    let mut days = Vec::with_capacity(daily.len());
    let mut totals = Vec::with_capacity(daily.len());
    let mut bot_totals = Vec::with_capacity(daily.len());
    for ((link_id, day), (count, bots)) in daily {
        link_ids.push(link_id);
        days.push(day);
        totals.push(count);
        bot_totals.push(bots);
    }
    execute(
        db,
        "INSERT INTO link_daily (link_id, day, clicks, bot_clicks)
         SELECT * FROM UNNEST($1::UUID[], $2::BIGINT[], $3::BIGINT[], $4::BIGINT[])
         ON CONFLICT (link_id, day) DO UPDATE SET clicks = link_daily.clicks + excluded.clicks,
             bot_clicks = link_daily.bot_clicks + excluded.bot_clicks",
        &[&link_ids, &days, &totals, &bot_totals],
    )
    .await?;
    Ok(())
}

/// Creates the partition of `clicks` for one month (months since 1970-01) unless it exists.
/// Nodes that race take turns on an advisory lock.
pub(crate) async fn ensure_partition(db: &Db, month: i64) -> Result<()> {
    let (year, month_of_year) = (1970 + month.div_euclid(12), month.rem_euclid(12) + 1);
    let from = month_start_millis(month);
    let to = month_start_millis(month + 1);
    let name = format!("clicks_{year:04}_{month_of_year:02}");
    batch(db, "BEGIN").await?;
    let made = async {
        execute(
            db,
            "SELECT pg_advisory_xact_lock(hashtextextended('clicks partition', 0))",
            &[],
        )
        .await?;
        // Only digits go into the name and bounds, so formatting them in is safe.
        batch(
            db,
            &format!(
                "CREATE TABLE IF NOT EXISTS {name} PARTITION OF clicks FOR VALUES FROM ({from}) TO ({to})"
            ),
        )
        .await
    }
    .await;
    match made {
        Ok(()) => batch(db, "COMMIT").await,
        Err(error) => {
            let _ = batch(db, "ROLLBACK").await;
            Err(StoreError::Database(format!(
                "click partition {name}: {error}"
            )))
        }
    }
}

/// Months since January 1970 of a time in milliseconds (UTC).
pub fn month_of(millis: i64) -> i64 {
    let (year, month, _) = civil_from_days(millis.div_euclid(86_400_000));
    (year - 1970) * 12 + (month as i64 - 1)
}

/// The first millisecond of a month counted as in [`month_of`].
pub fn month_start_millis(month: i64) -> i64 {
    let year = 1970 + month.div_euclid(12);
    let month_of_year = month.rem_euclid(12) as u32 + 1;
    days_from_civil(year, month_of_year, 1) * 86_400_000
}

/// (year, month 1-12, day 1-31) of a day counted from 1970-01-01 (proleptic Gregorian).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = (day_of_year - (153 * shifted_month + 2) / 5 + 1) as u32;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    } as u32;
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days from 1970-01-01 to a civil date (proleptic Gregorian).
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let month = i64::from(month);
    let shifted_month = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * shifted_month + 2) / 5 + i64::from(day) - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_and_their_bounds() {
        // 2026-01-01T00:00:00Z and the millisecond before it.
        let new_year = 1_767_225_600_000;
        assert_eq!(month_of(new_year), (2026 - 1970) * 12);
        assert_eq!(month_of(new_year - 1), (2026 - 1970) * 12 - 1);
        assert_eq!(month_start_millis(month_of(new_year)), new_year);
        // 2024-02-29 is inside February of a leap year; March starts 29 days after Feb 1.
        let february = month_of(1_709_164_800_000);
        assert_eq!(
            month_start_millis(february + 1) - month_start_millis(february),
            29 * 86_400_000
        );
        assert_eq!(month_of(0), 0);
        assert_eq!(month_of(-1), -1);
    }

    #[test]
    fn every_day_round_trips() {
        for days in -800_000..800_000 {
            let (year, month, day) = civil_from_days(days);
            assert_eq!(days_from_civil(year, month, day), days);
        }
    }
}
