//! "Did you mean …?": the closest known name to a misspelt one. Public so that every front end
//! (the checker, the `warrant` command line's file formats) suggests alike.

/// The candidate closest to `name`, if it is close enough to be a plausible typo or
/// abbreviation (`subject` → `sub`). Ties go to the earliest candidate.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.len() / 3).max(2);
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, c)| *d <= limit || is_abbreviation(name, c))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// `sub` for `subject`, or the other way round.
fn is_abbreviation(a: &str, b: &str) -> bool {
    a.len().min(b.len()) >= 3 && (a.starts_with(b) || b.starts_with(a))
}

/// Levenshtein distance over bytes.
fn edit_distance(a: &str, b: &str) -> usize {
    let b = b.as_bytes();
    // `previous[j]`: distance from the prefix of `a` read so far to `b[..j]`.
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.bytes().enumerate() {
        let mut current = Vec::with_capacity(b.len() + 1);
        let mut left = i + 1; // `current[j]`, starting at j = 0.
        current.push(left);
        // For each `b[j]`: `diagonal` is `previous[j]`, `above` is `previous[j + 1]`.
        for ((cb, &diagonal), &above) in b.iter().zip(&previous).zip(previous.iter().skip(1)) {
            left = (diagonal + usize::from(ca != *cb)).min(above + 1).min(left + 1);
            current.push(left);
        }
        previous = current;
    }
    // `previous` has `b.len() + 1` entries; the last is the distance to the whole of `b`.
    previous.last().copied().unwrap_or(0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn suggests_typos_and_abbreviations_but_not_strangers() {
        assert_eq!(closest("subject", ["iss", "sub", "scope"]), Some("sub"));
        assert_eq!(closest("resourse", ["resource", "action"]), Some("resource"));
        assert_eq!(closest("dpeth", ["depth", "first", "last"]), Some("depth"));
        assert_eq!(closest("zzzzzz", ["depth", "first", "last"]), None);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
    }

    /// Levenshtein's recursive definition; exponential, fine for short inputs.
    fn distance_by_definition(a: &[u8], b: &[u8]) -> usize {
        match (a.split_first(), b.split_first()) {
            (None, _) => b.len(),
            (_, None) => a.len(),
            (Some((x, a_tail)), Some((y, b_tail))) => (distance_by_definition(a_tail, b_tail) + usize::from(x != y))
                .min(distance_by_definition(a_tail, b) + 1)
                .min(distance_by_definition(a, b_tail) + 1),
        }
    }

    #[test]
    fn edit_distance_matches_its_definition_on_every_short_pair() {
        let words = crate::test_words::words(b"abc", 4);
        for a in &words {
            for b in &words {
                let (a_text, b_text) = (std::str::from_utf8(a).unwrap(), std::str::from_utf8(b).unwrap());
                assert_eq!(edit_distance(a_text, b_text), distance_by_definition(a, b), "{a_text:?} to {b_text:?}");
            }
        }
    }
}
