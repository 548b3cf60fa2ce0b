//! How times, durations, sizes and hashes read on screen.

/// Milliseconds since the epoch of an RFC 3339 timestamp, as the browser parses it.
pub fn epoch_ms(timestamp: &str) -> Option<f64> {
    let ms = js_sys::Date::parse(timestamp);
    (!ms.is_nan()).then_some(ms)
}

pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// `2026-11-25 16:31` from `2026-11-25T16:31:27Z`: minutes are precise enough for lists.
pub fn when(timestamp: &str) -> String {
    timestamp.chars().take(16).collect::<String>().replace('T', " ")
}

/// `2026-11-25 16:31:27`, for timelines where seconds matter.
pub fn when_precise(timestamp: &str) -> String {
    timestamp.chars().take(19).collect::<String>().replace('T', " ")
}

/// `45 s`, `3 min 20 s`, `2 h 5 min`, `3 d 4 h`.
pub fn duration(seconds: f64) -> String {
    let total = seconds.max(0.0).round() as i64;
    let (days, hours, minutes, secs) = (total / 86_400, total % 86_400 / 3_600, total % 3_600 / 60, total % 60);
    if days > 0 {
        format!("{days} d {hours} h")
    } else if hours > 0 {
        format!("{hours} h {minutes} min")
    } else if minutes > 0 {
        format!("{minutes} min {secs} s")
    } else {
        format!("{secs} s")
    }
}

/// How long ago a timestamp was, `3 min 20 s ago`.
pub fn age(timestamp: &str, now_ms: f64) -> String {
    match epoch_ms(timestamp) {
        Some(then) => format!("{} ago", duration((now_ms - then) / 1000.0)),
        None => timestamp.to_owned(),
    }
}

/// `850 B`, `12.4 KB`, `3.1 MB`.
pub fn bytes(count: u64) -> String {
    let count = count as f64;
    if count < 1024.0 {
        format!("{count} B")
    } else if count < 1024.0 * 1024.0 {
        format!("{:.1} KB", count / 1024.0)
    } else if count < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} MB", count / 1024.0 / 1024.0)
    } else {
        format!("{:.2} GB", count / 1024.0 / 1024.0 / 1024.0)
    }
}

/// The first 12 hex digits of a sha256: enough to tell candidates apart in a list.
pub fn short_hash(sha256: &str) -> String {
    sha256.chars().take(12).collect()
}

/// A 0..=1 rate as a percentage with one decimal.
pub fn percent(rate: f64) -> String {
    format!("{:.1} %", rate * 100.0)
}

/// Downtime in milliseconds as people read it: `0 s`, `1.25 s`, `2 min 3 s`.
pub fn downtime(ms: Option<i64>) -> String {
    match ms {
        None => "not measured".into(),
        Some(ms) if ms < 60_000 => format!("{:.2} s", ms as f64 / 1000.0),
        Some(ms) => duration(ms as f64 / 1000.0),
    }
}
