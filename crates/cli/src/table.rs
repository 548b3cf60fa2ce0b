//! Plain-text tables and the small formats the CLI prints: sizes, times, durations.

/// Prints rows under a header, each column as wide as its widest cell.
pub fn print(header: &[&str], rows: &[Vec<String>]) {
    print!("{}", render(header, rows));
}

pub fn render(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(width) = widths.get_mut(i) {
                *width = (*width).max(cell.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let padded: Vec<String> = cells.iter().zip(&widths).map(|(cell, width)| format!("{cell:<width$}")).collect();
        format!("{}\n", padded.join("  ").trim_end())
    };
    let mut out = line(header.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

/// `12.3 MiB`, `512 B`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// `2026-11-25 17:04:53` from the API's RFC 3339 UTC text.
pub fn timestamp(at: &str) -> String {
    let text = at.replace('T', " ");
    text.get(..19).map_or(text.clone(), str::to_owned)
}

/// `17:04:53` from the API's RFC 3339 UTC text.
pub fn clock(at: &str) -> String {
    at.split_once('T').and_then(|(_, time)| time.get(..8)).unwrap_or(at).to_owned()
}

/// `0.35 s`, `4 min 05 s`.
pub fn seconds(s: f64) -> String {
    if s < 60.0 {
        format!("{s:.2} s")
    } else {
        let whole = s.round() as u64;
        format!("{} min {:02} s", whole / 60, whole % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_and_formats_read() {
        let table = render(&["ID", "SITE"], &[vec!["12".into(), "Acme Shop".into()], vec!["3".into(), "B".into()]]);
        assert_eq!(table, "ID  SITE\n12  Acme Shop\n3   B\n");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(12), "12 B");
        assert_eq!(clock("2026-11-25T17:04:53.120Z"), "17:04:53");
        assert_eq!(timestamp("2026-11-25T17:04:53Z"), "2026-11-25 17:04:53");
        assert_eq!(seconds(245.2), "4 min 05 s");
    }
}
