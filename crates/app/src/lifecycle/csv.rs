//! A small CSV reader for uploads (RFC 4180: commas, double-quoted fields with `""` inside,
//! quoted line breaks, CRLF or LF). A malformed record is reported with its line and the
//! records after it are still read.

/// Records one upload may hold at most.
pub const MAX_RECORDS: usize = 50_000;
/// Characters in one field at most.
pub const MAX_FIELD_LEN: usize = 1_000;
/// Fields in one record at most.
pub const MAX_FIELDS: usize = 50;

/// One record and the line it starts on (1-based).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub line: usize,
    pub fields: Result<Vec<String>, String>,
}

/// Reads every record of `text`; blank lines are skipped.
pub fn records(text: &str) -> Result<Vec<Record>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut records = Vec::new();
    let mut chars = text.chars().peekable();
    let mut line = 1;
    while chars.peek().is_some() {
        if records.len() >= MAX_RECORDS {
            return Err(format!("at most {MAX_RECORDS} rows in one upload"));
        }
        let start = line;
        let mut fields = Vec::new();
        let mut field = String::new();
        let mut problem: Option<String> = None;
        let mut quoted = false;
        let mut was_quoted = false;
        loop {
            let Some(c) = chars.next() else {
                if quoted {
                    problem.get_or_insert_with(|| "a quoted field is never closed".into());
                }
                break;
            };
            if quoted {
                match c {
                    '"' if chars.peek() == Some(&'"') => {
                        chars.next();
                        field.push('"');
                    }
                    '"' => quoted = false,
                    '\n' => {
                        line += 1;
                        field.push('\n');
                    }
                    c => field.push(c),
                }
                if field.len() > MAX_FIELD_LEN * 4 {
                    problem
                        .get_or_insert_with(|| format!("a field over {MAX_FIELD_LEN} characters"));
                    field.clear();
                }
                continue;
            }
            match c {
                '"' if field.is_empty() && !was_quoted => {
                    quoted = true;
                    was_quoted = true;
                }
                '"' => {
                    problem.get_or_insert_with(|| "a quote inside an unquoted field".into());
                }
                ',' => {
                    if fields.len() < MAX_FIELDS {
                        fields.push(std::mem::take(&mut field));
                    } else {
                        problem.get_or_insert_with(|| format!("more than {MAX_FIELDS} columns"));
                        field.clear();
                    }
                    was_quoted = false;
                }
                '\r' if chars.peek() == Some(&'\n') => {}
                '\n' => {
                    line += 1;
                    break;
                }
                c => field.push(c),
            }
            if field.chars().count() > MAX_FIELD_LEN {
                problem.get_or_insert_with(|| format!("a field over {MAX_FIELD_LEN} characters"));
                field.clear();
            }
        }
        fields.push(field);
        if problem.is_none() && fields.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        records.push(Record {
            line: start,
            fields: match problem {
                Some(problem) => Err(problem),
                None => Ok(fields),
            },
        });
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(record: &Record) -> Vec<&str> {
        record
            .fields
            .as_ref()
            .expect("well formed")
            .iter()
            .map(String::as_str)
            .collect()
    }

    #[test]
    fn quoted_fields_commas_quotes_and_line_breaks() {
        let text = "\u{feff}email,name\r\na@x.io,\"Doe, \"\"Jo\"\"\"\r\n\r\nb@x.io,\"two\nlines\"\nc@x.io,";
        let records = records(text).expect("read");
        assert_eq!(records.len(), 4);
        assert_eq!(ok(&records[0]), vec!["email", "name"]);
        assert_eq!(ok(&records[1]), vec!["a@x.io", "Doe, \"Jo\""]);
        assert_eq!(
            (records[2].line, ok(&records[2])),
            (4, vec!["b@x.io", "two\nlines"])
        );
        assert_eq!((records[3].line, ok(&records[3])), (6, vec!["c@x.io", ""]));
    }

    #[test]
    fn a_malformed_record_is_reported_and_the_next_still_read() {
        let records = records("a@x.io,Jo\"e\nb@x.io,Bo\n").expect("read");
        assert_eq!(records.len(), 2);
        assert!(records[0].fields.is_err());
        assert_eq!(ok(&records[1]), vec!["b@x.io", "Bo"]);
        let wide = super::records(&format!("{}\nb@x.io\n", ",".repeat(10_000))).expect("read");
        assert_eq!(
            wide[0].fields,
            Err(format!("more than {MAX_FIELDS} columns"))
        );
        assert_eq!(ok(&wide[1]), vec!["b@x.io"]);
        let unclosed = super::records("a@x.io,\"never").expect("read");
        assert_eq!(
            unclosed[0].fields,
            Err("a quoted field is never closed".to_string())
        );
    }
}
