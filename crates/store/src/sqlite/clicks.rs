//! Appending a batch of clicks to the raw click log, with the per-link daily counts.

use super::pool::Writer;
use super::query::execute;
use crate::{Click, Result};
use rusqlite::{Connection, params};
use std::collections::BTreeMap;

/// Appends clicks on the writer connection with `synchronous=NORMAL` for just this
/// transaction: in WAL mode that survives a crash of the process (not of the machine), which
/// is the click log's stated loss window, and saves an fsync per batch that money events
/// need and clicks do not. The connection is put back to `FULL` before anyone else uses it;
/// if that fails, it is marked so that it is reopened (a new connection starts at `FULL`)
/// before the next writer gets it.
pub fn append_clicks(writer: &mut Writer, clicks: &[Click]) -> Result<()> {
    writer.set_must_reopen(true);
    execute(writer, "PRAGMA synchronous = NORMAL", [])?;
    let written = write_clicks(writer, clicks);
    // A failed batch leaves its transaction open: the reopen rolls it back.
    if written.is_ok() && execute(writer, "PRAGMA synchronous = FULL", []).is_ok() {
        writer.set_must_reopen(false);
    }
    written
}

fn write_clicks(db: &Connection, clicks: &[Click]) -> Result<()> {
    execute(db, "BEGIN IMMEDIATE", [])?;
    // One cached single-row insert per click: with the statement prepared once and no
    // thread hop per statement, a loop is as fast as a multi-row insert.
    for click in clicks {
        execute(
            db,
            "INSERT INTO clicks (id, workspace_id, link_id, partner_id, at, ip_hash, user_agent, referrer, is_bot)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            params![
                click.id,
                click.workspace_id.to_string(),
                click.link_id.to_string(),
                click.partner_id.to_string(),
                click.at.millis(),
                click.ip_hash,
                click.user_agent,
                click.referrer,
                click.is_bot,
            ],
        )?;
    }
    for (click, subs) in clicks
        .iter()
        .filter_map(|click| click.subs.as_deref().map(|subs| (click, subs)))
    {
        execute(
            db,
            "INSERT INTO click_subs (click_id, workspace_id, link_id, at, is_bot, sub1, sub2, sub3, sub4, sub5)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (click_id) DO NOTHING",
            params![
                click.id,
                click.workspace_id.to_string(),
                click.link_id.to_string(),
                click.at.millis(),
                click.is_bot,
                subs[0],
                subs[1],
                subs[2],
                subs[3],
                subs[4],
            ],
        )?;
    }
    let mut daily: BTreeMap<(String, i64), (i64, i64)> = BTreeMap::new();
    for click in clicks {
        let entry = daily
            .entry((click.link_id.to_string(), click.at.epoch_day()))
            .or_insert((0, 0));
        entry.0 += 1;
        if click.is_bot {
            entry.1 += 1;
        }
    }
    for ((link_id, day), (count, bots)) in daily {
        execute(
            db,
            "INSERT INTO link_daily (link_id, day, clicks, bot_clicks) VALUES (?, ?, ?, ?)
             ON CONFLICT (link_id, day) DO UPDATE SET clicks = clicks + excluded.clicks,
             bot_clicks = bot_clicks + excluded.bot_clicks",
            params![link_id, day, count, bots],
        )?;
    }
    execute(db, "COMMIT", [])?;
    Ok(())
}
