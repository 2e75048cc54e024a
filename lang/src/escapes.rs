//! Words for the two ways text that looks right is still refused: a leading byte order mark
//! (not whitespace in JSON, nor in a policy) and a `\u` escape naming half a surrogate pair
//! (not a character, so no string can hold it). Used by the policy parser and by every tool
//! that reads JSON, so the message names the problem instead of a parser's position.

/// U+FEFF, which editors on some systems put at the start of a UTF-8 file.
pub const BYTE_ORDER_MARK: char = '\u{feff}';

/// Why a policy or JSON text cannot be read, if it is one of these two cases.
pub fn explain_refusal(text: &str) -> Option<String> {
    if text.starts_with(BYTE_ORDER_MARK) {
        return Some("it starts with a UTF-8 byte order mark (U+FEFF); save it without one".into());
    }
    lone_surrogate(text).map(|escape| {
        format!("`{escape}` is a lone surrogate: an escape of U+D800 to U+DFFF must be one half of a pair")
    })
}

/// The first `\uXXXX` escape in `text` that is half of a UTF-16 surrogate pair without its
/// other half.
pub fn lone_surrogate(text: &str) -> Option<&str> {
    let bytes = text.as_bytes();
    let mut at = 0;
    while at + 1 < bytes.len() {
        if bytes.get(at) != Some(&b'\\') {
            at += 1;
            continue;
        }
        if bytes.get(at + 1) != Some(&b'u') {
            at += 2; // `\\`, `\"` and the others: the escaped byte is not a new escape.
            continue;
        }
        let unit = text.get(at + 2..at + 6).and_then(|hex| u16::from_str_radix(hex, 16).ok());
        match unit {
            Some(0xD800..=0xDBFF) => {
                let next = text.get(at + 6..at + 8) == Some("\\u");
                let low = text.get(at + 8..at + 12).and_then(|hex| u16::from_str_radix(hex, 16).ok());
                if next && matches!(low, Some(0xDC00..=0xDFFF)) {
                    at += 12;
                    continue;
                }
                return text.get(at..at + 6);
            }
            Some(0xDC00..=0xDFFF) => return text.get(at..at + 6),
            _ => at += 2,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_lone_halves_only() {
        assert_eq!(lone_surrogate(r#""\ud83d""#), Some(r"\ud83d"));
        assert_eq!(lone_surrogate(r#""x\ude00""#), Some(r"\ude00"));
        assert_eq!(lone_surrogate(r#""\ud83d\ude00""#), None, "a pair");
        assert_eq!(lone_surrogate(r#""\\ud83d""#), None, "an escaped backslash, then text");
        assert_eq!(lone_surrogate(r#""\u00e9 \ud83dx""#), Some(r"\ud83d"));
        assert!(explain_refusal("\u{feff}{}").is_some_and(|m| m.contains("byte order mark")));
        assert_eq!(explain_refusal("{}"), None);
    }
}
