//! Text from outside the host (a guest's `lockstep.fail` message or init refusal, a module's
//! import names, a field of a market data file) shown safely: the one sanitiser every printer
//! and JSON writer goes through.

use core::fmt;

/// Most characters of untrusted text shown by [`untrusted`]; the rest is summarised.
pub const UNTRUSTED_MAX_CHARS: usize = 200;

/// Untrusted text, displayed with control characters escaped and its length capped: see
/// [`untrusted`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Untrusted<'a> {
    text: &'a str,
    max_chars: usize,
}

/// Wraps text that came from a guest or a file for display: newlines, tabs, NULs, ANSI escape
/// sequences (ESC), every other control character and the Unicode direction overrides are
/// written as escapes (`\n`, `\u{1b}`), so the text cannot forge output lines or drive the
/// terminal; beyond [`UNTRUSTED_MAX_CHARS`] characters it is cut, saying how many bytes were
/// left out. Formatting allocates nothing.
pub fn untrusted(text: &str) -> Untrusted<'_> {
    Untrusted { text, max_chars: UNTRUSTED_MAX_CHARS }
}

impl<'a> Untrusted<'a> {
    /// The same text with another length cap, in characters.
    #[must_use]
    pub fn max_chars(self, max_chars: usize) -> Self {
        Self { max_chars, ..self }
    }
}

/// Characters that reorder how a terminal shows the text around them.
fn is_direction_control(c: char) -> bool {
    matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

impl fmt::Display for Untrusted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use fmt::Write as _;
        for (n, (at, c)) in self.text.char_indices().enumerate() {
            if n == self.max_chars {
                return write!(f, "… ({} more bytes)", self.text.len() - at);
            }
            match c {
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                c if c.is_control() || is_direction_control(c) => {
                    write!(f, "\\u{{{:x}}}", u32::from(c))?;
                }
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        let s = untrusted("ok\x1b[2J\ndigest: 00\r\t\0\u{7f}\u{202e}é").to_string();
        assert_eq!(s, "ok\\u{1b}[2J\\ndigest: 00\\r\\t\\u{0}\\u{7f}\\u{202e}é");
    }

    #[test]
    fn long_text_is_cut_saying_how_much_is_left() {
        let long = "x".repeat(4 << 20);
        let s = untrusted(&long).to_string();
        assert_eq!(s, format!("{}… ({} more bytes)", "x".repeat(200), (4 << 20) - 200));
        assert_eq!(untrusted("ab€d").max_chars(3).to_string(), "ab€… (1 more bytes)");
        assert_eq!(untrusted("abc").max_chars(3).to_string(), "abc");
    }

    /// Random text (ASCII, control characters, direction overrides, multi-byte characters):
    /// the output never holds a control or direction character, keeps every other character
    /// in order, and stops at the cap. `LOCKSTEP_FUZZ_CASES` raises the count for a long run.
    #[test]
    fn fuzz_random_text_comes_out_clean() {
        let cases: u64 = std::env::var("LOCKSTEP_FUZZ_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(20_000);
        let mut x = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let pool = [
            'a', 'Z', ' ', '\\', '\n', '\r', '\t', '\0', '\x1b', '\x7f', '\u{85}', '\u{202e}',
            '\u{2066}', 'é', '€', '😀',
        ];
        for _ in 0..cases {
            let len = (next() % 300) as usize;
            let text: String =
                (0..len).map(|_| pool[(next() % pool.len() as u64) as usize]).collect();
            let max = (next() % 250) as usize;
            let out = untrusted(&text).max_chars(max).to_string();
            assert!(!out.chars().any(|c| c.is_control() || is_direction_control(c)), "{out:?}");
            let kept: String = text
                .chars()
                .take(max)
                .filter(|c| !c.is_control() && !is_direction_control(*c))
                .collect();
            let shown: String = out
                .chars()
                .filter(|c| !"\\u{}0123456789abcdefnrt… ()morebys".contains(*c))
                .collect();
            let expect: String = kept
                .chars()
                .filter(|c| !"\\u{}0123456789abcdefnrt… ()morebys".contains(*c))
                .collect();
            assert_eq!(shown, expect, "{text:?} -> {out:?}");
            assert_eq!(
                out.contains("more bytes)"),
                text.chars().count() > max,
                "{text:?} -> {out:?}"
            );
        }
    }
}
