//! Exhaustive small inputs for tests that check a function against its definition on every
//! short input rather than on hand-picked ones.

/// Every word over `alphabet` of length `0..=max_len`, shortest first.
pub(crate) fn words(alphabet: &[u8], max_len: usize) -> Vec<Vec<u8>> {
    let mut all = vec![Vec::new()];
    let mut last_length = vec![Vec::new()];
    for _ in 0..max_len {
        last_length = last_length
            .iter()
            .flat_map(|word: &Vec<u8>| {
                alphabet.iter().map(move |&letter| {
                    let mut longer = word.clone();
                    longer.push(letter);
                    longer
                })
            })
            .collect();
        all.extend(last_length.iter().cloned());
    }
    all
}
