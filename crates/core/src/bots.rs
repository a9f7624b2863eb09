//! Obvious-bot detection from the user agent. Clicks from bots are recorded (so a partner's
//! traffic report stays honest) but flagged and never credited.
//!
//! The rule is deliberately simple and explainable: a missing or very short user agent, or
//! one containing any of the tokens below (case-insensitive), is a bot. Real browsers never
//! carry these tokens; crawlers, link previewers, monitors and HTTP libraries do.

const BOT_TOKENS: &[&str] = &[
    "bot",
    "crawl",
    "spider",
    "slurp",
    "scrape",
    "fetch",
    "preview",
    "monitor",
    "headless",
    "lighthouse",
    "phantomjs",
    "selenium",
    "puppeteer",
    "playwright",
    "curl/",
    "wget/",
    "httpie/",
    "python-requests",
    "python-urllib",
    "aiohttp",
    "go-http-client",
    "okhttp",
    "java/",
    "apache-httpclient",
    "libwww-perl",
    "node-fetch",
    "axios/",
    "undici",
    "facebookexternalhit",
    "whatsapp",
    "slackbot",
    "discordbot",
    "telegrambot",
    "embedly",
    "quora link preview",
    "bingpreview",
    "pingdom",
    "uptimerobot",
    "statuscake",
    "datadog",
    "apachebench",
    "hey/",
    "k6/",
];

/// Shortest user agent a real browser sends is far longer than this.
const MIN_BROWSER_UA_LEN: usize = 12;

/// One automaton for all tokens: a single pass over the user agent, on the redirect's hot path.
fn matcher() -> &'static Option<aho_corasick::AhoCorasick> {
    static MATCHER: std::sync::OnceLock<Option<aho_corasick::AhoCorasick>> =
        std::sync::OnceLock::new();
    MATCHER.get_or_init(|| {
        aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(BOT_TOKENS)
            .ok()
    })
}

pub fn is_bot(user_agent: &str) -> bool {
    let trimmed = user_agent.trim();
    if trimmed.len() < MIN_BROWSER_UA_LEN {
        return true;
    }
    match matcher() {
        Some(matcher) => matcher.is_match(trimmed),
        None => {
            let lower = trimmed.to_ascii_lowercase();
            BOT_TOKENS.iter().any(|token| lower.contains(token))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::is_bot;

    #[test]
    fn flags_crawlers_and_tools() {
        assert!(is_bot(
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
        ));
        assert!(is_bot("curl/8.5.0"));
        assert!(is_bot(""));
        assert!(is_bot(
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36"
        ));
    }

    #[test]
    fn passes_browsers() {
        assert!(!is_bot(
            "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36"
        ));
        assert!(!is_bot(
            "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1"
        ));
    }
}
