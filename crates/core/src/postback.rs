//! Partner postbacks (issue 5): a partner's URL template with macros, filled for one
//! conversion, and the rule for which addresses a postback may never reach. Pure: resolving
//! the host and sending are the app's; this decides what to send and whether an address is
//! allowed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

pub const MAX_TEMPLATE_LEN: usize = 2_000;

/// The macros a template may use.
pub const MACROS: [&str; 11] = [
    "click_id",
    "sub1",
    "sub2",
    "sub3",
    "sub4",
    "sub5",
    "amount",
    "currency",
    "order_id",
    "event",
    "commission",
];

/// What a postback reports about one conversion. Missing values fill as empty text.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values {
    pub click_id: Option<String>,
    /// The link's sub-ids, `sub1`..`sub5`.
    pub subs: [Option<String>; 5],
    /// The sale amount as a decimal (`123.45`), in `currency`.
    pub amount: Option<String>,
    pub currency: Option<String>,
    pub order_id: Option<String>,
    /// `lead`, `sale`, `renewal`, `refund`, ...
    pub event: String,
    /// The partner's commission as a decimal.
    pub commission: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("a postback URL is http:// or https:// followed by a host")]
    Scheme,
    #[error("at most {MAX_TEMPLATE_LEN} characters")]
    TooLong,
    #[error(
        "unknown macro {{{0}}}; known: {{click_id}}, {{sub1}}..{{sub5}}, {{amount}}, {{currency}}, {{order_id}}, {{event}}, {{commission}}"
    )]
    UnknownMacro(String),
    #[error("a macro is opened with {{ and not closed")]
    Unclosed,
    #[error("macros may not be used in the host")]
    MacroInHost,
}

/// Checks a template: a URL with an http(s) scheme and a literal host, and known macros only.
pub fn validate(template: &str) -> Result<(), TemplateError> {
    if template.len() > MAX_TEMPLATE_LEN {
        return Err(TemplateError::TooLong);
    }
    let rest = template
        .strip_prefix("https://")
        .or_else(|| template.strip_prefix("http://"))
        .ok_or(TemplateError::Scheme)?;
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let host = &rest[..host_end];
    if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c == '@') {
        return Err(TemplateError::Scheme);
    }
    if host.contains('{') {
        return Err(TemplateError::MacroInHost);
    }
    for name in macros(template)? {
        if !MACROS.contains(&name) {
            return Err(TemplateError::UnknownMacro(name.to_string()));
        }
    }
    Ok(())
}

fn macros(template: &str) -> Result<Vec<&str>, TemplateError> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or(TemplateError::Unclosed)?;
        out.push(&after[..close]);
        rest = &after[close + 1..];
    }
    Ok(out)
}

/// Fills a valid template: each macro becomes its value, percent-encoded (RFC 3986
/// unreserved characters stay as they are), so a value can never change the URL's shape.
pub fn fill(template: &str, values: &Values) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            return out;
        };
        let name = &after[..close];
        let value = match name {
            "click_id" => values.click_id.as_deref(),
            "amount" => values.amount.as_deref(),
            "currency" => values.currency.as_deref(),
            "order_id" => values.order_id.as_deref(),
            "event" => Some(values.event.as_str()),
            "commission" => values.commission.as_deref(),
            sub => sub
                .strip_prefix("sub")
                .and_then(|n| n.parse::<usize>().ok())
                .filter(|n| (1..=5).contains(n))
                .and_then(|n| values.subs[n - 1].as_deref()),
        };
        out.push_str(&encode(value.unwrap_or("")));
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    out
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// Whether a postback may be delivered to `address`: never to loopback, private,
/// link-local, unspecified, multicast, broadcast, shared (carrier-grade NAT) or documentation
/// addresses, nor to IPv6 unique-local or IPv4-mapped forms of those. Checked on every address
/// the host resolves to, right before connecting.
pub fn deliverable(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => deliverable_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => deliverable_v4(v4),
            None => deliverable_v6(v6),
        },
    }
}

fn deliverable_v4(address: Ipv4Addr) -> bool {
    let [a, b, ..] = address.octets();
    !(address.is_loopback()
        || address.is_private()
        || address.is_link_local()
        || address.is_unspecified()
        || address.is_multicast()
        || address.is_broadcast()
        || address.is_documentation()
        // 0.0.0.0/8, 100.64.0.0/10 (shared), 198.18.0.0/15 (benchmarking), 240.0.0.0/4.
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

fn deliverable_v6(address: Ipv6Addr) -> bool {
    let segments = address.segments();
    let first = segments[0];
    let embedded = |high: u16, low: u16| {
        let [a, b] = high.to_be_bytes();
        let [c, d] = low.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    // Forms that carry an IPv4 address a gateway may reach: NAT64 64:ff9b::/96, 6to4
    // 2002::/16 and the deprecated IPv4-compatible ::a.b.c.d. Judged by that address.
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return deliverable_v4(embedded(segments[6], segments[7]));
    }
    if first == 0x2002 {
        return deliverable_v4(embedded(segments[1], segments[2]));
    }
    if segments[..6] == [0, 0, 0, 0, 0, 0] && !address.is_loopback() && !address.is_unspecified() {
        return deliverable_v4(embedded(segments[6], segments[7]));
    }
    !(address.is_loopback()
        || address.is_unspecified()
        || address.is_multicast()
        // fc00::/7 unique local, fe80::/10 link-local, fec0::/10 site-local (deprecated),
        // 2001:db8::/32 documentation.
        || (first & 0xfe00) == 0xfc00
        || (first & 0xffc0) == 0xfe80
        || (first & 0xffc0) == 0xfec0
        || (first == 0x2001 && address.segments()[1] == 0x0db8))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_with_encoded_values() {
        let template = "https://tracker.example/pb?cid={click_id}&s1={sub1}&amt={amount}&cur={currency}&oid={order_id}&e={event}&c={commission}&s5={sub5}";
        assert_eq!(validate(template), Ok(()));
        let values = Values {
            click_id: Some("abc_123".into()),
            subs: [Some("spring sale&x=1".into()), None, None, None, None],
            amount: Some("99.00".into()),
            currency: Some("USD".into()),
            order_id: Some("in/42".into()),
            event: "sale".into(),
            commission: Some("19.80".into()),
        };
        assert_eq!(
            fill(template, &values),
            "https://tracker.example/pb?cid=abc_123&s1=spring%20sale%26x%3D1&amt=99.00&cur=USD&oid=in%2F42&e=sale&c=19.80&s5="
        );
    }

    #[test]
    fn bad_templates_say_what_is_wrong() {
        assert_eq!(
            validate("ftp://x.example/{click_id}"),
            Err(TemplateError::Scheme)
        );
        assert_eq!(validate("https:///path"), Err(TemplateError::Scheme));
        assert_eq!(
            validate("https://user@evil.example/"),
            Err(TemplateError::Scheme)
        );
        assert_eq!(
            validate("https://{sub1}.example/"),
            Err(TemplateError::MacroInHost)
        );
        assert_eq!(
            validate("https://x.example/?a={payout}"),
            Err(TemplateError::UnknownMacro("payout".into()))
        );
        assert_eq!(
            validate("https://x.example/?a={click_id"),
            Err(TemplateError::Unclosed)
        );
        assert_eq!(
            validate(&format!(
                "https://x.example/{}",
                "a".repeat(MAX_TEMPLATE_LEN)
            )),
            Err(TemplateError::TooLong)
        );
    }

    #[test]
    fn internal_addresses_are_never_deliverable() {
        for blocked in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "192.0.2.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "2001:db8::1",
            "64:ff9b::a9fe:a9fe",
            "2002:a00:1::1",
            "::10.0.0.1",
            "fec0::1",
        ] {
            let address: IpAddr = blocked.parse().expect("an address");
            assert!(!deliverable(address), "{blocked}");
        }
        for allowed in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            let address: IpAddr = allowed.parse().expect("an address");
            assert!(deliverable(address), "{allowed}");
        }
    }
}
