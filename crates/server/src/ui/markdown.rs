//! Markdown the business writes (a program's pitch, its terms, training pages) rendered to
//! HTML for a page. Raw HTML in the source is shown as text, and links and images may only
//! point at http(s), mailto or this site: a program's text cannot run script in a partner's
//! browser.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, html};

/// Characters of Markdown rendered at most (longer text is cut).
pub const MAX_SOURCE_LEN: usize = 200_000;

fn safe_url(url: &str) -> bool {
    let lower = url.trim().to_ascii_lowercase();
    lower.starts_with("https://")
        || lower.starts_with("http://")
        || lower.starts_with("mailto:")
        || (lower.starts_with('/') && !lower.starts_with("//"))
        || lower.starts_with('#')
}

/// Renders `source` to HTML that is safe to print unescaped.
pub fn to_html(source: &str) -> String {
    let source: String = source.chars().take(MAX_SOURCE_LEN).collect();
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    let events = Parser::new_ext(&source, options).map(|event| match event {
        Event::Html(text) | Event::InlineHtml(text) => Event::Text(text),
        Event::Start(Tag::Link {
            link_type,
            dest_url,
            title,
            id,
        }) if !safe_url(&dest_url) => Event::Start(Tag::Link {
            link_type,
            dest_url: CowStr::Borrowed("#"),
            title,
            id,
        }),
        Event::Start(Tag::Image {
            link_type,
            dest_url,
            title,
            id,
        }) if !safe_url(&dest_url) => Event::Start(Tag::Image {
            link_type,
            dest_url: CowStr::Borrowed(""),
            title,
            id,
        }),
        other => other,
    });
    let mut out = String::with_capacity(source.len() * 3 / 2);
    html::push_html(&mut out, events);
    out
}

#[cfg(test)]
mod tests {
    use super::to_html;

    #[test]
    fn markdown_renders_and_html_and_script_links_do_not() {
        let html = to_html(
            "# Terms\n\n**Net 30**. <script>alert(1)</script> [x](javascript:alert(1)) [ok](https://a.example)",
        );
        assert!(html.contains("<h1>Terms</h1>"), "{html}");
        assert!(html.contains("<strong>Net 30</strong>"), "{html}");
        assert!(!html.contains("<script>"), "{html}");
        assert!(html.contains("&lt;script&gt;"), "{html}");
        assert!(!html.contains("javascript:"), "{html}");
        assert!(html.contains(r#"href="https://a.example""#), "{html}");
    }
}
