//! The tables both sides hold, matched column by column before anything moves: the copy
//! converts each value by its PostgreSQL column's type, and refuses a table or a column
//! found on one side only rather than skip it.

use crate::postgres::query::{Db, all};
use crate::{Result, StoreError};
use rusqlite::Connection;
use std::collections::{BTreeMap, BTreeSet};
use tokio_postgres::Row;

/// Every table the copy moves, parents before children: PostgreSQL checks foreign keys
/// statement by statement, so a child row must find its parent already inserted.
pub const TABLES: [&str; 45] = [
    "workspaces",
    "users",
    "partners",
    "sessions",
    "api_keys",
    "programs",
    "plan_versions",
    "enrollments",
    "links",
    "clicks",
    "click_subs",
    "link_daily",
    "customers",
    "touches",
    "customer_shares",
    "coupons",
    "deals",
    "events",
    "commissions",
    "commission_voids",
    "ledger_transactions",
    "ledger_lines",
    "payout_batches",
    "payout_items",
    "jobs",
    "settings",
    "provider_events",
    "provider_payments",
    "audit_log",
    "postbacks",
    "postback_deliveries",
    "program_lifecycles",
    "applications",
    "invitations",
    "emails",
    "partner_tokens",
    "terms_versions",
    "terms_acceptances",
    "enrollment_pauses",
    "commission_forfeits",
    "partner_profiles",
    "program_content",
    "training_completions",
    "tickets",
    "ticket_messages",
];

/// Tables each database keeps for itself: the target has applied its own migrations.
const NOT_COPIED: [&str; 1] = ["schema_migrations"];

/// Tables only the PostgreSQL schema has, for what only PostgreSQL runs (the event-log
/// workers' applied sequences): nothing to copy, and empty in a new target.
pub const POSTGRES_ONLY: [&str; 1] = ["log_applied"];

/// The PostgreSQL column types of the schema, and how a SQLite value becomes one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// SQLite TEXT in canonical UUID form.
    Uuid,
    /// SQLite INTEGER.
    BigInt,
    /// SQLite INTEGER 0 or 1 (`is_bot`).
    Boolean,
    /// SQLite TEXT, byte for byte.
    Text,
}

impl ColumnType {
    /// The type named by `information_schema.columns.data_type`, if the copy can fill it.
    fn from_postgres(data_type: &str) -> Option<ColumnType> {
        match data_type {
            "uuid" => Some(ColumnType::Uuid),
            "bigint" => Some(ColumnType::BigInt),
            "boolean" => Some(ColumnType::Boolean),
            "text" => Some(ColumnType::Text),
            _ => None,
        }
    }

    /// The type the same column is declared with in the SQLite schema.
    fn sqlite_type(self) -> &'static str {
        match self {
            ColumnType::Uuid | ColumnType::Text => "TEXT",
            ColumnType::BigInt | ColumnType::Boolean => "INTEGER",
        }
    }

    /// The PostgreSQL array type one batch of this column is sent as.
    pub fn array_type(self) -> &'static str {
        match self {
            ColumnType::Uuid => "UUID[]",
            ColumnType::BigInt => "BIGINT[]",
            ColumnType::Boolean => "BOOLEAN[]",
            ColumnType::Text => "TEXT[]",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    pub name: String,
    pub kind: ColumnType,
}

/// One table to copy: every column, in the target's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TablePlan {
    pub name: &'static str,
    pub columns: Vec<Column>,
}

impl TablePlan {
    /// `"a", "b", ...` for a column list. Names are checked to be plain identifiers when
    /// the plan is made, so quoting them is all they need.
    pub fn column_list(&self) -> String {
        let quoted: Vec<String> = self
            .columns
            .iter()
            .map(|column| format!("\"{}\"", column.name))
            .collect();
        quoted.join(", ")
    }
}

/// Table name → its (column name, declared type) pairs, in the table's order.
pub type Tables = BTreeMap<String, Vec<(String, String)>>;

/// The user tables of a SQLite database (SQLite's own `sqlite_*` tables left out).
pub fn sqlite_tables(db: &Connection) -> Result<Tables> {
    let mut names = db.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
    )?;
    let names: Vec<String> = names
        .query_map([], |row| row.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    let mut columns = db.prepare("SELECT name, type FROM pragma_table_info(?1) ORDER BY cid")?;
    let mut tables = Tables::new();
    for name in names {
        let table: Vec<(String, String)> = columns
            .query_map([&name], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect::<rusqlite::Result<_>>()?;
        tables.insert(name, table);
    }
    Ok(tables)
}

/// The tables of the target's schema. A partition of `clicks` is a table of its own to
/// PostgreSQL, but its rows are the parent's: only the parent is listed.
pub async fn postgres_tables(db: &Db) -> Result<Tables> {
    let names: Vec<String> = all(
        db,
        "SELECT c.relname::TEXT AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
         WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition",
        &[],
        |row| text(row, "name"),
    )
    .await?;
    let columns: Vec<(String, String, String)> = all(
        db,
        "SELECT table_name::TEXT AS table_name, column_name::TEXT AS column_name,
                data_type::TEXT AS data_type
         FROM information_schema.columns WHERE table_schema = current_schema()
         ORDER BY table_name, ordinal_position",
        &[],
        |row| {
            Ok((
                text(row, "table_name")?,
                text(row, "column_name")?,
                text(row, "data_type")?,
            ))
        },
    )
    .await?;
    let mut tables: Tables = names.into_iter().map(|name| (name, Vec::new())).collect();
    for (table, column, data_type) in columns {
        // Partitions (and views) have columns too; their tables were left out above.
        if let Some(listed) = tables.get_mut(&table) {
            listed.push((column, data_type));
        }
    }
    Ok(tables)
}

fn text(row: &Row, column: &str) -> Result<String> {
    row.try_get(column)
        .map_err(|error| StoreError::Corrupt(format!("{column}: {error}")))
}

/// Matches the two schemas into what to copy, table by table in [`TABLES`] order. Any
/// difference (a table or column on one side only, a type the copy cannot convert) is an
/// error listing every difference found, before a single row moves.
pub fn plan(source: &Tables, target: &Tables) -> Result<Vec<TablePlan>> {
    let mut problems = Vec::new();
    for (side, tables) in [("source", source), ("target", target)] {
        let mut known: BTreeSet<&str> = TABLES.iter().chain(NOT_COPIED.iter()).copied().collect();
        if side == "target" {
            known.extend(POSTGRES_ONLY);
        }
        for name in tables.keys() {
            if !known.contains(name.as_str()) {
                problems.push(format!(
                    "the {side} has a table `{name}` this version does not know"
                ));
            }
        }
    }
    let mut plan = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        match (source.get(table), target.get(table)) {
            (Some(source_columns), Some(target_columns)) => {
                match columns(table, source_columns, target_columns) {
                    Ok(columns) => plan.push(TablePlan {
                        name: table,
                        columns,
                    }),
                    Err(mut found) => problems.append(&mut found),
                }
            }
            (None, _) => problems.push(format!("the source has no table `{table}`")),
            (Some(_), None) => problems.push(format!("the target has no table `{table}`")),
        }
    }
    if problems.is_empty() {
        Ok(plan)
    } else {
        Err(StoreError::Database(format!(
            "the two schemas differ, so nothing was copied (is the source from another version?): {}",
            problems.join("; ")
        )))
    }
}

/// One table's columns in the target's order, or every difference between the two sides.
fn columns(
    table: &str,
    source: &[(String, String)],
    target: &[(String, String)],
) -> std::result::Result<Vec<Column>, Vec<String>> {
    let mut problems = Vec::new();
    let source_types: BTreeMap<&str, &str> = source
        .iter()
        .map(|(name, declared)| (name.as_str(), declared.as_str()))
        .collect();
    let target_names: BTreeSet<&str> = target.iter().map(|(name, _)| name.as_str()).collect();
    for (name, _) in source {
        if !target_names.contains(name.as_str()) {
            problems.push(format!("column `{table}.{name}` is in the source only"));
        }
    }
    let mut columns = Vec::with_capacity(target.len());
    for (name, data_type) in target {
        if !is_plain_identifier(name) {
            problems.push(format!("column `{table}.{name}` has an unexpected name"));
            continue;
        }
        let Some(declared) = source_types.get(name.as_str()) else {
            problems.push(format!("column `{table}.{name}` is in the target only"));
            continue;
        };
        match ColumnType::from_postgres(data_type) {
            None => problems.push(format!(
                "column `{table}.{name}` is {data_type} in the target, which the copy cannot fill"
            )),
            Some(kind) if !declared.eq_ignore_ascii_case(kind.sqlite_type()) => {
                problems.push(format!(
                    "column `{table}.{name}` is {declared} in the source but {data_type} in the target"
                ))
            }
            Some(kind) => columns.push(Column {
                name: name.clone(),
                kind,
            }),
        }
    }
    if problems.is_empty() {
        Ok(columns)
    } else {
        Err(problems)
    }
}

/// Lower-case letters, digits and underscores: safe inside double quotes in SQL.
fn is_plain_identifier(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every table of [`TABLES`] with the same columns.
    fn every_table(columns: &[(&str, &str)]) -> Tables {
        let columns: Vec<(String, String)> = columns
            .iter()
            .map(|(name, kind)| (name.to_string(), kind.to_string()))
            .collect();
        TABLES
            .iter()
            .map(|table| (table.to_string(), columns.clone()))
            .collect()
    }

    #[test]
    fn matching_schemas_give_every_table_in_foreign_key_order() {
        let mut source = every_table(&[("id", "TEXT"), ("at", "INTEGER")]);
        let mut target = every_table(&[("at", "bigint"), ("id", "uuid")]);
        source.insert("schema_migrations".into(), vec![]);
        target.insert("schema_migrations".into(), vec![]);
        target.insert("log_applied".into(), vec![("stream".into(), "text".into())]);
        let plan = plan(&source, &target).expect("plan");
        let names: Vec<&str> = plan.iter().map(|table| table.name).collect();
        assert_eq!(names, TABLES);
        assert_eq!(
            plan[0].columns,
            vec![
                Column {
                    name: "at".into(),
                    kind: ColumnType::BigInt
                },
                Column {
                    name: "id".into(),
                    kind: ColumnType::Uuid
                },
            ]
        );
        assert_eq!(plan[0].column_list(), "\"at\", \"id\"");
    }

    #[test]
    fn nothing_on_one_side_only_is_skipped() {
        let mut source = every_table(&[("id", "TEXT"), ("note", "TEXT")]);
        let target = every_table(&[("id", "uuid"), ("at", "bigint")]);
        source.insert("extras".into(), vec![("id".into(), "TEXT".into())]);
        let error = plan(&source, &target).expect_err("differs").to_string();
        assert!(
            error.contains("`workspaces.note` is in the source only"),
            "{error}"
        );
        assert!(
            error.contains("`workspaces.at` is in the target only"),
            "{error}"
        );
        assert!(error.contains("table `extras`"), "{error}");

        let mut target = every_table(&[("id", "uuid")]);
        target.remove("settings");
        let source = every_table(&[("id", "TEXT")]);
        let error = plan(&source, &target).expect_err("missing").to_string();
        assert!(error.contains("target has no table `settings`"), "{error}");

        // A PostgreSQL-only table in a SQLite file is not something to ignore.
        let mut source = every_table(&[("id", "TEXT")]);
        let target = every_table(&[("id", "uuid")]);
        source.insert("log_applied".into(), vec![]);
        let error = plan(&source, &target).expect_err("foreign").to_string();
        assert!(
            error.contains("the source has a table `log_applied`"),
            "{error}"
        );
    }

    #[test]
    fn types_must_correspond() {
        let source = every_table(&[("id", "INTEGER")]);
        let target = every_table(&[("id", "uuid")]);
        let error = plan(&source, &target).expect_err("types").to_string();
        assert!(
            error.contains("is INTEGER in the source but uuid"),
            "{error}"
        );

        let source = every_table(&[("id", "TEXT")]);
        let target = every_table(&[("id", "jsonb")]);
        let error = plan(&source, &target).expect_err("types").to_string();
        assert!(error.contains("cannot fill"), "{error}");
    }
}
