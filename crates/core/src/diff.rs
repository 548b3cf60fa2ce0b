//! Line diff of two texts (a patch document against the last released one), by longest common
//! subsequence. Documents are short runbooks, so the quadratic table is cheap.

/// One line of a diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Line<'a> {
    Same(&'a str),
    Added(&'a str),
    Removed(&'a str),
}

/// The lines of `old` and `new` in order, each kept, added or removed. Removals come before
/// additions where a line was replaced, as reviewers expect.
pub fn lines<'a>(old: &'a str, new: &'a str) -> Vec<Line<'a>> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    // common[i][j]: length of the longest common subsequence of a[i..] and b[j..].
    let mut common = vec![vec![0u32; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            common[i][j] = if a[i] == b[j] { common[i + 1][j + 1] + 1 } else { common[i + 1][j].max(common[i][j + 1]) };
        }
    }
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    while i < a.len() && j < b.len() {
        if a[i] == b[j] {
            out.push(Line::Same(a[i]));
            i += 1;
            j += 1;
        } else if common[i + 1][j] >= common[i][j + 1] {
            out.push(Line::Removed(a[i]));
            i += 1;
        } else {
            out.push(Line::Added(b[j]));
            j += 1;
        }
    }
    out.extend(a[i..].iter().map(|l| Line::Removed(l)));
    out.extend(b[j..].iter().map(|l| Line::Added(l)));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_texts_are_all_kept() {
        assert_eq!(lines("a\nb", "a\nb"), vec![Line::Same("a"), Line::Same("b")]);
    }

    #[test]
    fn a_changed_line_is_removed_then_added() {
        let diff = lines("site = \"shop\"\nversion = 1\nstep = \"deploy\"", "site = \"shop\"\nversion = 2\nstep = \"deploy\"");
        assert_eq!(
            diff,
            vec![Line::Same("site = \"shop\""), Line::Removed("version = 1"), Line::Added("version = 2"), Line::Same("step = \"deploy\"")]
        );
    }

    #[test]
    fn insertions_and_deletions_at_either_end() {
        assert_eq!(lines("", "x\ny"), vec![Line::Added("x"), Line::Added("y")]);
        assert_eq!(lines("x\ny", ""), vec![Line::Removed("x"), Line::Removed("y")]);
        assert_eq!(lines("b\nc", "a\nb\nc\nd"), vec![Line::Added("a"), Line::Same("b"), Line::Same("c"), Line::Added("d")]);
    }
}
