//! Host matching: exact hosts, and one-label wildcards (`*.example.com`) whose label names the account.
//!
//! Pure and allocation-free on the lookup path, because it runs for every request.

use std::borrow::Cow;
use std::collections::HashMap;

/// A public address as configured: an exact host, or `*.` followed by a suffix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostPattern {
    Exact(String),
    /// Matches exactly one extra label in front of `suffix`; that label is the account.
    Wildcard {
        suffix: String,
    },
}

impl HostPattern {
    /// Parses a configured address. Hosts are case-insensitive and a trailing dot is the same
    /// host, so both are normalised away here rather than on every lookup.
    pub fn parse(address: &str) -> Result<HostPattern, &'static str> {
        let lowered = address.trim_end_matches('.').to_ascii_lowercase();
        match lowered.strip_prefix("*.") {
            Some(suffix) => {
                validate_host(suffix)?;
                Ok(HostPattern::Wildcard { suffix: suffix.to_string() })
            }
            None => {
                validate_host(&lowered)?;
                Ok(HostPattern::Exact(lowered))
            }
        }
    }
}

impl std::fmt::Display for HostPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HostPattern::Exact(host) => f.write_str(host),
            HostPattern::Wildcard { suffix } => write!(f, "*.{suffix}"),
        }
    }
}

fn validate_host(host: &str) -> Result<(), &'static str> {
    if host.is_empty() {
        return Err("the host is empty");
    }
    if host.len() > 253 {
        return Err("a host has at most 253 characters");
    }
    for label in host.split('.') {
        if label.is_empty() {
            return Err("a host has no empty labels (two dots in a row)");
        }
        if label.len() > 63 {
            return Err("a host label has at most 63 characters");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("a host label neither starts nor ends with '-'");
        }
        if !label.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
            return Err("a host uses only letters, digits, '-' and '.', and '*.' only at the front (no port)");
        }
    }
    Ok(())
}

/// The host a request names, without port or trailing dot, in lower case.
/// Borrows when the header is already in that form, which is nearly always.
pub fn normalize_host(raw: &str) -> Option<Cow<'_, str>> {
    let without_port = if raw.starts_with('[') {
        // An IPv6 literal; no site is configured for one, but it must not be cut at its colons.
        &raw[..raw.find(']').map(|i| i + 1)?]
    } else {
        raw.rsplit_once(':').map_or(raw, |(host, _port)| host)
    };
    let host = without_port.strip_suffix('.').unwrap_or(without_port);
    if host.is_empty() {
        return None;
    }
    if host.bytes().any(|b| b.is_ascii_uppercase()) {
        Some(Cow::Owned(host.to_ascii_lowercase()))
    } else {
        Some(Cow::Borrowed(host))
    }
}

/// Finds the value configured for a host: an exact match first, then the wildcard one level up.
#[derive(Debug, Clone)]
pub struct HostMatcher<T> {
    exact: HashMap<String, T>,
    wildcard: HashMap<String, T>,
}

impl<T> Default for HostMatcher<T> {
    fn default() -> Self {
        HostMatcher { exact: HashMap::new(), wildcard: HashMap::new() }
    }
}

/// A host lookup's result: the value and, for a wildcard match, the account label.
#[derive(Debug, PartialEq, Eq)]
pub struct HostMatch<'m, 'h, T> {
    pub value: &'m T,
    pub account: Option<&'h str>,
}

impl<T> HostMatcher<T> {
    /// Adds a pattern; gives the value back if the same pattern is already present.
    pub fn insert(&mut self, pattern: HostPattern, value: T) -> Result<(), T> {
        let map = match &pattern {
            HostPattern::Exact(_) => &mut self.exact,
            HostPattern::Wildcard { .. } => &mut self.wildcard,
        };
        let key = match pattern {
            HostPattern::Exact(host) => host,
            HostPattern::Wildcard { suffix } => suffix,
        };
        if map.contains_key(&key) {
            return Err(value);
        }
        map.insert(key, value);
        Ok(())
    }

    /// `host` must already be normalised (see [`normalize_host`]).
    pub fn lookup<'m, 'h>(&'m self, host: &'h str) -> Option<HostMatch<'m, 'h, T>> {
        if let Some(value) = self.exact.get(host) {
            return Some(HostMatch { value, account: None });
        }
        let (account, suffix) = host.split_once('.')?;
        if account.is_empty() {
            return None;
        }
        self.wildcard.get(suffix).map(|value| HostMatch { value, account: Some(account) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher() -> HostMatcher<&'static str> {
        let mut m = HostMatcher::default();
        m.insert(HostPattern::parse("shop.example.com").unwrap(), "shop").unwrap();
        m.insert(HostPattern::parse("*.example.com").unwrap(), "accounts").unwrap();
        m.insert(HostPattern::parse("*.eu.example.com").unwrap(), "eu-accounts").unwrap();
        m
    }

    #[test]
    fn exact_host_wins_over_wildcard() {
        let m = matcher();
        assert_eq!(m.lookup("shop.example.com"), Some(HostMatch { value: &"shop", account: None }));
    }

    #[test]
    fn wildcard_names_the_account() {
        let m = matcher();
        assert_eq!(m.lookup("acme.example.com"), Some(HostMatch { value: &"accounts", account: Some("acme") }));
        assert_eq!(m.lookup("acme.eu.example.com"), Some(HostMatch { value: &"eu-accounts", account: Some("acme") }));
    }

    #[test]
    fn wildcard_matches_exactly_one_label() {
        let m = matcher();
        assert_eq!(m.lookup("example.com"), None);
        assert_eq!(m.lookup("a.b.example.com"), None);
        assert_eq!(m.lookup(".example.com"), None);
        assert_eq!(m.lookup("acme.example.org"), None);
    }

    #[test]
    fn normalises_case_port_and_trailing_dot() {
        assert_eq!(normalize_host("Shop.Example.COM:8080").as_deref(), Some("shop.example.com"));
        assert_eq!(normalize_host("shop.example.com.").as_deref(), Some("shop.example.com"));
        assert!(matches!(normalize_host("shop.example.com"), Some(Cow::Borrowed(_))));
        assert_eq!(normalize_host("[::1]:80").as_deref(), Some("[::1]"));
        assert_eq!(normalize_host(":80"), None);
    }

    #[test]
    fn patterns_are_validated_and_normalised() {
        assert_eq!(HostPattern::parse("Shop.Example.com.").unwrap(), HostPattern::Exact("shop.example.com".into()));
        assert_eq!(HostPattern::parse("*.Example.com").unwrap(), HostPattern::Wildcard { suffix: "example.com".into() });
        assert_eq!(HostPattern::parse("*.example.com").unwrap().to_string(), "*.example.com");
        for bad in ["", "*.", "a..b", "shop.example.com:80", "a.*.example.com", "*", "-a.example.com", "sp ace.com"] {
            assert!(HostPattern::parse(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn duplicate_patterns_are_refused() {
        let mut m = matcher();
        assert_eq!(m.insert(HostPattern::parse("SHOP.example.com").unwrap(), "again"), Err("again"));
        assert_eq!(m.insert(HostPattern::parse("*.example.com").unwrap(), "again"), Err("again"));
    }
}
