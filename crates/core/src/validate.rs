//! Field rules shared by every entity: names, domains, addresses, URLs and size limits.
//!
//! Each rule returns the normalised value (trimmed, lower-cased where case carries no meaning)
//! or a [`FieldError`] whose message tells the user what is wrong and what is accepted.

use serde::{Deserialize, Serialize};
use std::fmt;

pub const MAX_NAME_LEN: usize = 100;
pub const MAX_DESCRIPTION_LEN: usize = 2_000;
pub const MAX_DOMAIN_LEN: usize = 253;
pub const MAX_LABEL_LEN: usize = 63;
pub const MAX_URL_LEN: usize = 2_000;
pub const MAX_TAGS: usize = 20;

/// One field that failed its rule, named as the form and the JSON body name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self { field: field.to_owned(), message: message.into() }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.message)
    }
}

/// Every rule a draft broke, so a form can show all its messages at once instead of one per submit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
#[error("{}", summary(.0))]
pub struct Invalid(pub Vec<FieldError>);

fn summary(errors: &[FieldError]) -> String {
    errors.iter().map(|e| e.message.as_str()).collect::<Vec<_>>().join("; ")
}

impl Invalid {
    pub fn single(field: &str, message: impl Into<String>) -> Self {
        Self(vec![FieldError::new(field, message)])
    }

    pub fn message_for(&self, field: &str) -> Option<&str> {
        self.0.iter().find(|e| e.field == field).map(|e| e.message.as_str())
    }
}

/// Collects field results so a draft's `validated` reads as a list of rules.
#[derive(Default)]
pub struct Checks {
    errors: Vec<FieldError>,
}

impl Checks {
    pub fn check<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.errors.push(error);
                None
            }
        }
    }

    /// Returns the built value only when no rule failed.
    pub fn finish<T>(self, build: impl FnOnce() -> T) -> Result<T, Invalid> {
        if self.errors.is_empty() {
            Ok(build())
        } else {
            Err(Invalid(self.errors))
        }
    }
}

/// A display name: any printable text, trimmed, not empty, at most [`MAX_NAME_LEN`] characters.
/// A site's key, fixed when the site is created: agent environments, its data volume, its
/// route-table entry and its releases are named by it, so renaming the site (its display name)
/// never cuts it off from its host. ASCII letters and digits lower-cased, every other run of
/// characters folded to one `-`, trimmed (`Acme Shop!` → `acme-shop`). A name with no letter or
/// digit folds to nothing and is refused.
pub fn site_key(field: &str, name: &str) -> Result<String, FieldError> {
    let mut key = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            key.push(c.to_ascii_lowercase());
        } else if !key.is_empty() && !key.ends_with('-') {
            key.push('-');
        }
    }
    let key = key.trim_end_matches('-').to_owned();
    if key.is_empty() {
        return Err(FieldError::new(
            field,
            format!("site name {name:?} has no ASCII letter or digit to name the site's environments on its host by; include at least one"),
        ));
    }
    Ok(key)
}

pub fn name(field: &str, what: &str, value: &str) -> Result<String, FieldError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(FieldError::new(field, format!("{what} must not be empty")));
    }
    let len = trimmed.chars().count();
    if len > MAX_NAME_LEN {
        return Err(FieldError::new(field, format!("{what} is {len} characters long; use at most {MAX_NAME_LEN}")));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(FieldError::new(field, format!("{what} must not contain control characters")));
    }
    Ok(trimmed.to_owned())
}

/// A name that also becomes a directory or a URL segment on hosts: lower-case letters, digits
/// and inner hyphens, like a DNS label.
pub fn slug(field: &str, what: &str, value: &str) -> Result<String, FieldError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(FieldError::new(field, format!("{what} must not be empty")));
    }
    label(trimmed).map_err(|problem| FieldError::new(field, format!("{what} {trimmed:?} {problem}")))
}

/// Free text such as a description: may be empty, at most [`MAX_DESCRIPTION_LEN`] characters.
pub fn description(field: &str, value: &str) -> Result<String, FieldError> {
    let trimmed = value.trim();
    let len = trimmed.chars().count();
    if len > MAX_DESCRIPTION_LEN {
        return Err(FieldError::new(field, format!("description is {len} characters long; use at most {MAX_DESCRIPTION_LEN}")));
    }
    Ok(trimmed.to_owned())
}

/// One DNS label (RFC 1123): 1 to 63 of `a-z`, `0-9` and `-`, not starting or ending with `-`.
/// Returns what is wrong with it, phrased to follow the label in a sentence.
fn label(value: &str) -> Result<String, String> {
    let lower = value.to_ascii_lowercase();
    if lower.is_empty() {
        return Err("has an empty label (two dots in a row, or a dot at either end)".into());
    }
    if lower.len() > MAX_LABEL_LEN {
        return Err(format!("is longer than {MAX_LABEL_LEN} characters"));
    }
    if let Some(bad) = lower.chars().find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')) {
        return Err(format!("contains {bad:?}; use only letters, digits and hyphens"));
    }
    if lower.starts_with('-') || lower.ends_with('-') {
        return Err("must not start or end with a hyphen".into());
    }
    Ok(lower)
}

/// A domain name such as `shop.example.com`, lower-cased.
pub fn domain(field: &str, value: &str) -> Result<String, FieldError> {
    let trimmed = value.trim().trim_end_matches('.');
    domain_inner(trimmed).map_err(|problem| FieldError::new(field, problem))
}

fn domain_inner(value: &str) -> Result<String, String> {
    if value.is_empty() {
        return Err("domain must not be empty".into());
    }
    if value.len() > MAX_DOMAIN_LEN {
        return Err(format!("domain is {} characters long; use at most {MAX_DOMAIN_LEN}", value.len()));
    }
    let labels = value
        .split('.')
        .map(|part| label(part).map_err(|problem| format!("domain {value:?}: label {part:?} {problem}")))
        .collect::<Result<Vec<_>, _>>()?;
    if labels.last().is_some_and(|tld| tld.chars().all(|c| c.is_ascii_digit())) {
        return Err(format!("domain {value:?} ends in a number; write an IP address as host:port"));
    }
    Ok(labels.join("."))
}

/// A public address a site is served at: a domain (`shop.example.com`), a wildcard for per-account
/// subdomains (`*.shop.example.com`), or a host and port (`127.0.0.1:8080`, `shop.local:8443`).
pub fn address(field: &str, value: &str) -> Result<String, FieldError> {
    let trimmed = value.trim();
    let invalid = |problem: String| {
        FieldError::new(field, format!("{problem}; write a domain (shop.example.com), a wildcard (*.example.com) or host:port"))
    };
    if trimmed.is_empty() {
        return Err(invalid("address must not be empty".into()));
    }
    if trimmed.contains("://") || trimmed.contains('/') {
        return Err(invalid(format!("address {trimmed:?} looks like a URL")));
    }
    if let Some(rest) = trimmed.strip_prefix("*.") {
        return domain_inner(rest).map(|d| format!("*.{d}")).map_err(invalid);
    }
    match trimmed.rsplit_once(':') {
        Some((host, port)) => {
            let port = port_number(port).map_err(invalid)?;
            let host = host_name(host).map_err(invalid)?;
            Ok(format!("{host}:{port}"))
        }
        None => domain_inner(trimmed).map_err(invalid),
    }
}

fn port_number(value: &str) -> Result<u16, String> {
    match value.parse::<u16>() {
        Ok(0) | Err(_) => Err(format!("port {value:?} is not a number from 1 to 65535")),
        Ok(port) => Ok(port),
    }
}

/// A host part of host:port: an IPv4 address, a bracketed IPv6 address, or a domain.
fn host_name(value: &str) -> Result<String, String> {
    if let Some(inner) = value.strip_prefix('[').and_then(|v| v.strip_suffix(']')) {
        return inner.parse::<std::net::Ipv6Addr>().map(|ip| format!("[{ip}]")).map_err(|_| format!("{value:?} is not an IPv6 address"));
    }
    if value.chars().all(|c| c.is_ascii_digit() || c == '.') {
        return value.parse::<std::net::Ipv4Addr>().map(|ip| ip.to_string()).map_err(|_| format!("{value:?} is not an IPv4 address"));
    }
    if value.eq_ignore_ascii_case("localhost") {
        return Ok("localhost".into());
    }
    domain_inner(value)
}

/// The URL of a host agent: `https://host:port` (plain `http` only for loopback development).
pub fn agent_url(field: &str, value: &str) -> Result<String, FieldError> {
    let trimmed = value.trim().trim_end_matches('/');
    let invalid =
        |problem: String| FieldError::new(field, format!("{problem}; write it as https://host:port, e.g. https://web1.example.com:7443"));
    if trimmed.is_empty() {
        return Err(invalid("agent URL must not be empty".into()));
    }
    if trimmed.len() > MAX_URL_LEN {
        return Err(invalid(format!("agent URL is longer than {MAX_URL_LEN} characters")));
    }
    let (scheme, rest) = trimmed.split_once("://").ok_or_else(|| invalid(format!("agent URL {trimmed:?} has no scheme")))?;
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "https" && scheme != "http" {
        return Err(invalid(format!("agent URL scheme {scheme:?} is not https")));
    }
    if rest.contains('/') || rest.contains('?') || rest.contains('#') {
        return Err(invalid(format!("agent URL {trimmed:?} must not have a path")));
    }
    let host = match rest.rsplit_once(':') {
        Some((host, port)) if !port.contains(']') => {
            port_number(port).map_err(invalid)?;
            host
        }
        _ => rest,
    };
    let host = host_name(host).map_err(invalid)?;
    if scheme == "http" && !is_loopback(&host) {
        return Err(invalid(format!("plain http is only allowed for agents on this machine, not {host}; agents speak https")));
    }
    Ok(format!("{scheme}://{}", rest.to_ascii_lowercase()))
}

fn is_loopback(host: &str) -> bool {
    host == "localhost" || host == "[::1]" || host.starts_with("127.")
}

/// A reference to where a host's agent token is kept (never the token itself): `env:NAME`
/// or `file:/path`.
pub fn token_ref(field: &str, value: &str) -> Result<String, FieldError> {
    // A reference naming a file or variable let anyone who may edit hosts make the server read
    // any of its files or variables and send it to an agent URL of their choosing.
    if value.trim().is_empty() {
        Ok(String::new())
    } else {
        Err(FieldError::new(
            field,
            "token references (env:NAME, file:/path) are no longer accepted; send the agent's token itself in `token`: \
             Switchyard stores it encrypted and never shows it again",
        ))
    }
}

/// The longest agent token accepted, in bytes.
pub const MAX_AGENT_TOKEN_LEN: usize = 512;

/// An agent's bearer token as entered on a host: 16 to [`MAX_AGENT_TOKEN_LEN`] visible ASCII
/// characters. The message never repeats the value.
pub fn agent_token(field: &str, value: &str) -> Result<String, FieldError> {
    let trimmed = value.trim();
    if trimmed.len() < 16 || trimmed.len() > MAX_AGENT_TOKEN_LEN || !trimmed.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(FieldError::new(
            field,
            format!(
                "an agent token is 16 to {MAX_AGENT_TOKEN_LEN} visible characters without spaces; copy it from the agent's identity/token file"
            ),
        ));
    }
    Ok(trimmed.to_owned())
}

/// The sha256 fingerprint of an agent's certificate, which clients pin: 64 hex digits, colons
/// allowed (as `openssl x509 -fingerprint` prints them), stored lower-case without colons.
/// Empty means "not registered yet".
pub fn fingerprint(field: &str, value: &str) -> Result<String, FieldError> {
    let digits: String = value.trim().chars().filter(|c| *c != ':').collect::<String>().to_ascii_lowercase();
    if digits.is_empty() || (digits.len() == 64 && digits.chars().all(|c| c.is_ascii_hexdigit())) {
        Ok(digits)
    } else {
        Err(FieldError::new(
            field,
            "certificate fingerprint must be the 64 hex digits of a sha256; copy it from the agent's registration.json",
        ))
    }
}

/// Account tags such as `beta`: each a slug, no duplicates, at most [`MAX_TAGS`].
pub fn tags(field: &str, values: &[String]) -> Result<Vec<String>, FieldError> {
    if values.len() > MAX_TAGS {
        return Err(FieldError::new(field, format!("{} tags given; use at most {MAX_TAGS}", values.len())));
    }
    let mut normalised: Vec<String> = Vec::with_capacity(values.len());
    for value in values {
        let tag = slug(field, "tag", value)?;
        if !normalised.contains(&tag) {
            normalised.push(tag);
        }
    }
    Ok(normalised)
}

/// An e-mail address for contact: loosely checked (something@domain), may be empty.
pub fn email(field: &str, value: &str) -> Result<String, FieldError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Ok(String::new());
    }
    let valid = trimmed.len() <= MAX_NAME_LEN
        && trimmed
            .split_once('@')
            .is_some_and(|(user, host)| !user.is_empty() && !user.contains(char::is_whitespace) && domain_inner(host).is_ok());
    if valid {
        Ok(trimmed.to_owned())
    } else {
        Err(FieldError::new(field, format!("{trimmed:?} is not an e-mail address like ops@example.com")))
    }
}

/// Long enough to resist guessing; spaces and any characters are allowed.
pub fn password(field: &str, value: &str) -> Result<(), FieldError> {
    let length = value.chars().count();
    if length < 10 {
        Err(FieldError::new(field, format!("a password needs at least 10 characters, this one has {length}; a few words make a good one")))
    } else if length > 200 {
        Err(FieldError::new(field, "a password can have at most 200 characters"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(name("name", "site name", "  Acme shop ").unwrap(), "Acme shop");
        assert_eq!(name("name", "site name", "   ").unwrap_err().message, "site name must not be empty");
        let long = "x".repeat(MAX_NAME_LEN + 1);
        assert_eq!(name("name", "site name", &long).unwrap_err().message, "site name is 101 characters long; use at most 100");
        assert!(name("name", "site name", "a\u{7}b").is_err());
        assert_eq!(name("name", "site name", &"é".repeat(MAX_NAME_LEN)).unwrap().chars().count(), 100);
    }

    #[test]
    fn slugs_follow_dns_label_rules() {
        assert_eq!(slug("name", "environment name", "Staging-2").unwrap(), "staging-2");
        let err = slug("name", "environment name", "my env").unwrap_err();
        assert_eq!(err.message, "environment name \"my env\" contains ' '; use only letters, digits and hyphens");
        assert!(slug("name", "environment name", "-prod").unwrap_err().message.contains("hyphen"));
        assert!(slug("name", "environment name", &"a".repeat(64)).is_err());
    }

    #[test]
    fn domains_are_checked_label_by_label() {
        assert_eq!(domain("d", "Shop.Example.COM.").unwrap(), "shop.example.com");
        assert!(domain("d", "shop..example.com").unwrap_err().message.contains("empty label"));
        assert!(domain("d", "shop_1.example.com").unwrap_err().message.contains("'_'"));
        assert!(domain("d", "10.0.0.1").unwrap_err().message.contains("host:port"));
        assert!(domain("d", &format!("{}.com", "a".repeat(250))).is_err());
    }

    #[test]
    fn addresses_accept_domains_wildcards_and_host_ports() {
        assert_eq!(address("a", "www.Example.com").unwrap(), "www.example.com");
        assert_eq!(address("a", "*.example.com").unwrap(), "*.example.com");
        assert_eq!(address("a", "127.0.0.1:8080").unwrap(), "127.0.0.1:8080");
        assert_eq!(address("a", "[::1]:8443").unwrap(), "[::1]:8443");
        assert_eq!(address("a", "localhost:80").unwrap(), "localhost:80");
        for bad in ["", "http://example.com", "example.com:0", "example.com:99999", "*.", "a b.com", "300.1.1.1:80"] {
            let err = address("a", bad).unwrap_err();
            assert!(err.message.contains("host:port"), "{bad}: {}", err.message);
        }
    }

    #[test]
    fn agent_urls_must_be_https_except_on_loopback() {
        assert_eq!(agent_url("u", "https://Web1.example.com:7443/").unwrap(), "https://web1.example.com:7443");
        assert_eq!(agent_url("u", "http://127.0.0.1:7443").unwrap(), "http://127.0.0.1:7443");
        assert!(agent_url("u", "http://web1.example.com").unwrap_err().message.contains("only allowed"));
        assert!(agent_url("u", "ftp://x.com").unwrap_err().message.contains("not https"));
        assert!(agent_url("u", "https://x.com/path").unwrap_err().message.contains("path"));
        assert!(agent_url("u", "web1:7443").unwrap_err().message.contains("no scheme"));
        assert!(agent_url("u", "https://x.com:70000").is_err());
    }

    #[test]
    fn token_references_can_no_longer_name_files_or_variables() {
        assert_eq!(token_ref("t", " ").unwrap(), "");
        for reference in ["env:WEB1_TOKEN", "file:/etc/shadow", "s3cr3t"] {
            assert!(token_ref("t", reference).unwrap_err().message.contains("no longer accepted"), "{reference}");
        }
    }

    #[test]
    fn agent_tokens_are_visible_ascii_and_never_echoed() {
        assert_eq!(agent_token("token", " 0123456789abcdef0123 ").unwrap(), "0123456789abcdef0123");
        for bad in ["short", "with a space in the middle", &"x".repeat(MAX_AGENT_TOKEN_LEN + 1)] {
            let message = agent_token("token", bad).unwrap_err().message;
            assert!(!message.contains(bad), "{message}");
        }
    }

    #[test]
    fn fingerprints_are_sha256_hex_with_optional_colons() {
        let hex = "AB".repeat(32);
        let with_colons = hex.as_bytes().chunks(2).map(|c| std::str::from_utf8(c).unwrap()).collect::<Vec<_>>().join(":");
        assert_eq!(fingerprint("f", &with_colons).unwrap(), "ab".repeat(32));
        assert_eq!(fingerprint("f", "").unwrap(), "");
        assert!(fingerprint("f", "abc").unwrap_err().message.contains("64 hex digits"));
        assert!(fingerprint("f", &"zz".repeat(32)).is_err());
    }

    #[test]
    fn tags_are_slugs_without_duplicates() {
        let tags_in = vec!["Beta".to_string(), "beta".to_string(), "vip".to_string()];
        assert_eq!(tags("tags", &tags_in).unwrap(), vec!["beta", "vip"]);
        assert!(tags("tags", &["not ok".to_string()]).is_err());
        assert!(tags("tags", &vec!["t".to_string(); MAX_TAGS + 1]).is_err());
    }

    #[test]
    fn emails_may_be_empty_but_not_malformed() {
        assert_eq!(email("e", " ").unwrap(), "");
        assert!(email("e", "ops@example.com").is_ok());
        assert!(email("e", "ops.example.com").is_err());
    }

    #[test]
    fn checks_collect_every_failure() {
        let mut checks = Checks::default();
        checks.check(name("name", "site name", ""));
        checks.check(address("address", "nope nope"));
        let invalid = checks.finish(|| ()).unwrap_err();
        assert_eq!(invalid.0.len(), 2);
        assert_eq!(invalid.message_for("name"), Some("site name must not be empty"));
        assert!(invalid.to_string().starts_with("site name must not be empty; "));
    }

    #[test]
    fn a_site_key_folds_the_name_and_refuses_a_name_without_letters() {
        assert_eq!(site_key("name", "Acme Shop").unwrap(), "acme-shop");
        assert_eq!(site_key("name", "acme-shop").unwrap(), "acme-shop");
        assert_eq!(site_key("name", "  --Acme__Shop 2!! ").unwrap(), "acme-shop-2");
        assert_eq!(site_key("name", "Café Noir").unwrap(), "caf-noir");
        let refused = site_key("name", "¡¿ ?!").unwrap_err();
        assert!(refused.message.contains("include at least one"), "{refused}");
    }
}
