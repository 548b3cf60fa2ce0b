//! A site's own limits on its release candidates (storage quota, unpacked size, entries), the
//! server's defaults they override, and sizes as people write them (`2GiB`). Pure, so the UI
//! checks the site page's form with the server's own rule.

use crate::validate::{FieldError, Invalid};
use serde::{Deserialize, Serialize};

/// The most entries a site may be allowed per candidate: well past any real release, low
/// enough that the agent's bookkeeping for one unpack stays bounded.
pub const MAX_ENTRIES_CEILING: u64 = 10_000_000;

/// What support staff set for one site; `None` leaves a limit at the server's default.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CandidateLimitsDraft {
    /// Compressed bytes the site's candidates may take together.
    #[serde(default)]
    pub quota_bytes: Option<u64>,
    /// Bytes of regular files one candidate may unpack to.
    #[serde(default)]
    pub max_unpacked_bytes: Option<u64>,
    /// Files, directories and links one candidate may hold.
    #[serde(default)]
    pub max_entries: Option<u64>,
}

impl CandidateLimitsDraft {
    /// Refuses a limit of zero, and any byte limit above the server's total quota (a site can
    /// never keep or unpack more than the whole server allows), naming the field.
    pub fn validated(&self, server_total_bytes: u64) -> Result<(), Invalid> {
        let mut errors = Vec::new();
        let total = human_size(server_total_bytes);
        for (field, value, what) in [
            ("quota_bytes", self.quota_bytes, "the site's candidate quota"),
            ("max_unpacked_bytes", self.max_unpacked_bytes, "the largest unpacked size"),
        ] {
            match value {
                Some(0) => {
                    errors.push(FieldError::new(field, format!("{what} must be more than 0 bytes; clear it to use the server's default")))
                }
                Some(v) if v > server_total_bytes => errors.push(FieldError::new(
                    field,
                    format!("{what} ({}) is above the server's total quota of {total}; choose at most {total}", human_size(v)),
                )),
                _ => {}
            }
        }
        match self.max_entries {
            Some(0) => errors
                .push(FieldError::new("max_entries", "a candidate must be allowed at least 1 entry; clear it to use the server's default")),
            Some(n) if n > MAX_ENTRIES_CEILING => {
                errors.push(FieldError::new("max_entries", format!("at most {MAX_ENTRIES_CEILING} entries per candidate can be allowed")))
            }
            _ => {}
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(Invalid(errors))
        }
    }
}

/// Where an effective limit comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LimitSource {
    /// Set for this site.
    Site,
    /// The server's default (`switchyard serve --candidate-*`).
    Server,
}

/// One limit as it applies to a site.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EffectiveLimit {
    pub value: u64,
    pub source: LimitSource,
    /// What the server would apply without the site's own.
    pub server_default: u64,
}

impl EffectiveLimit {
    /// The site's own value when it has one, else the server's.
    pub fn of(site: Option<u64>, server_default: u64) -> Self {
        match site {
            Some(value) => EffectiveLimit { value, source: LimitSource::Site, server_default },
            None => EffectiveLimit { value: server_default, source: LimitSource::Server, server_default },
        }
    }
}

/// The limits a site's candidates are held to, each with where it comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SiteCandidateLimits {
    pub quota_bytes: EffectiveLimit,
    pub max_unpacked_bytes: EffectiveLimit,
    pub max_entries: EffectiveLimit,
    /// All sites' candidates together; no site's own limit may pass it.
    pub server_total_bytes: u64,
}

/// Reads a size as people write it: `2GiB`, `512 MiB`, `10kB`, `1.5G`, or plain bytes.
/// Binary (`KiB`, `MiB`, `GiB`, `TiB`, and the bare `K`, `M`, `G`, `T`) and decimal (`kB`,
/// `MB`, `GB`, `TB`) units.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = (&text[..split], text[split..].trim());
    let bad = || format!("{text:?} is not a size; write it like 2GiB, 500MiB or 1048576 (bytes)");
    let factor: u64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "t" | "tib" => 1 << 40,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        "tb" => 1_000_000_000_000,
        _ => return Err(bad()),
    };
    if number.is_empty() {
        return Err(bad());
    }
    if let Ok(whole) = number.parse::<u64>() {
        return whole.checked_mul(factor).ok_or_else(|| format!("{text:?} is too large"));
    }
    let value: f64 = number.parse().map_err(|_| bad())?;
    let bytes = value * factor as f64;
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(format!("{text:?} is too large"));
    }
    Ok(bytes.round() as u64)
}

/// A size for people: whole GiB or MiB where it is one, else one decimal, else bytes.
pub fn human_size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 && b % (1 << 30) == 0 => format!("{} GiB", b >> 30),
        b if b >= 1 << 30 => format!("{:.1} GiB", b as f64 / (1u64 << 30) as f64),
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 20 => format!("{:.1} MiB", b as f64 / (1u64 << 20) as f64),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("512 MiB"), Ok(512 << 20));
        assert_eq!(parse_size("1.5G"), Ok(3 << 29));
        assert_eq!(parse_size("10kB"), Ok(10_000));
        assert_eq!(parse_size("4096"), Ok(4096));
        assert!(parse_size("two gigs").unwrap_err().contains("write it like 2GiB"));
        assert!(parse_size("GiB").is_err());
        assert!(parse_size("99999999999T").unwrap_err().contains("too large"));
    }

    #[test]
    fn a_site_limit_may_differ_from_the_default_but_never_pass_the_total_quota() {
        let total = 20 << 30;
        let higher = CandidateLimitsDraft { quota_bytes: Some(10 << 30), max_unpacked_bytes: Some(8 << 30), max_entries: Some(500_000) };
        assert_eq!(higher.validated(total), Ok(()));
        let lower = CandidateLimitsDraft { quota_bytes: Some(1 << 20), max_unpacked_bytes: None, max_entries: Some(10) };
        assert_eq!(lower.validated(total), Ok(()));

        let above = CandidateLimitsDraft { quota_bytes: Some(21 << 30), max_unpacked_bytes: Some(0), max_entries: Some(0) };
        let refused = above.validated(total).unwrap_err();
        assert_eq!(
            refused.message_for("quota_bytes"),
            Some("the site's candidate quota (21 GiB) is above the server's total quota of 20 GiB; choose at most 20 GiB")
        );
        assert!(refused.message_for("max_unpacked_bytes").unwrap().contains("more than 0 bytes"));
        assert!(refused.message_for("max_entries").unwrap().contains("at least 1 entry"));
    }

    #[test]
    fn an_effective_limit_says_where_it_comes_from() {
        assert_eq!(EffectiveLimit::of(Some(5), 9), EffectiveLimit { value: 5, source: LimitSource::Site, server_default: 9 });
        assert_eq!(EffectiveLimit::of(None, 9), EffectiveLimit { value: 9, source: LimitSource::Server, server_default: 9 });
    }
}
