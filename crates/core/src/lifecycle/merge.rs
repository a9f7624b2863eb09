//! Merge fields in co-branded assets and message templates: `{{partner_name}}`,
//! `{{link}}`, `{{coupon}}`, `{{partner_logo}}`, `{{program_name}}`. A field the text does
//! not know is left as written, so a typo shows instead of vanishing. In markup (SVG, HTML)
//! values are escaped, so a partner's name cannot inject elements.

use std::collections::BTreeMap;

/// The fields a template may use.
pub const FIELDS: [&str; 5] = [
    "partner_name",
    "link",
    "coupon",
    "partner_logo",
    "program_name",
];

/// How merged values are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Escape {
    /// Plain text: values as they are.
    None,
    /// XML and HTML: `&`, `<`, `>`, `"` and `'` escaped.
    Markup,
}

fn markup(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Replaces each `{{field}}` (spaces inside the braces allowed) with its value.
pub fn merge(template: &str, values: &BTreeMap<&str, String>, escape: Escape) -> String {
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                let name = after[..end].trim();
                match values.get(name) {
                    Some(value) => match escape {
                        Escape::None => out.push_str(value),
                        Escape::Markup => out.push_str(&markup(value)),
                    },
                    None => out.push_str(&rest[start..start + 2 + end + 2]),
                }
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_merge_unknown_ones_stay_and_markup_is_escaped() {
        let values: BTreeMap<&str, String> = [
            ("partner_name", "Ada & <Co>".to_string()),
            ("link", "https://t.example/r/ada".to_string()),
        ]
        .into_iter()
        .collect();
        assert_eq!(
            merge(
                "Hi from {{ partner_name }}: {{link}} {{nope}} {{",
                &values,
                Escape::None
            ),
            "Hi from Ada & <Co>: https://t.example/r/ada {{nope}} {{"
        );
        assert_eq!(
            merge("<text>{{partner_name}}</text>", &values, Escape::Markup),
            "<text>Ada &amp; &lt;Co&gt;</text>"
        );
    }
}
