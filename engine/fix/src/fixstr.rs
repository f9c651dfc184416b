//! Fixed-capacity ASCII strings for identifiers and text fields: `Copy`, no heap.

use core::fmt;

/// A printable-ASCII string of at most `N` bytes stored inline (no heap), so messages that hold
/// identifiers stay `Copy`. Printable means 0x20..=0x7E: a value can never contain SOH.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FixStr<const N: usize> {
    len: u8,
    bytes: [u8; N],
}

/// ClOrdID, OrigClOrdID, OrderID, ExecID: up to 32 characters.
pub type Id = FixStr<32>;
/// Symbol (55): up to 16 characters.
pub type Symbol = FixStr<16>;
/// Free text (58) and SenderCompID/TargetCompID: up to 64 characters.
pub type Text = FixStr<64>;

impl<const N: usize> FixStr<N> {
    /// The empty string.
    pub const EMPTY: Self = Self { len: 0, bytes: [0; N] };

    /// Copies `bytes` if it is printable ASCII and at most `N` (and at most 255) bytes long.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() > N || bytes.len() > usize::from(u8::MAX) {
            return None;
        }
        if !bytes.iter().all(|b| (0x20..=0x7e).contains(b)) {
            return None;
        }
        let mut out = Self::EMPTY;
        out.bytes[..bytes.len()].copy_from_slice(bytes);
        out.len = u8::try_from(bytes.len()).ok()?;
        Some(out)
    }

    /// Like [`FixStr::from_bytes`] for a `&str`.
    #[allow(clippy::should_implement_trait, reason = "returns Option, not Result like FromStr")]
    pub fn from_str(s: &str) -> Option<Self> {
        Self::from_bytes(s.as_bytes())
    }

    /// Truncates `s` to the capacity and replaces non-printable bytes with `?`: for log text
    /// that must never fail.
    pub fn lossy(s: &[u8]) -> Self {
        let mut out = Self::EMPTY;
        let n = s.len().min(N).min(usize::from(u8::MAX));
        for (dst, &b) in out.bytes.iter_mut().zip(&s[..n]) {
            *dst = if (0x20..=0x7e).contains(&b) { b } else { b'?' };
        }
        out.len = u8::try_from(n).unwrap_or(u8::MAX);
        out
    }

    /// The decimal text of `v` (for numeric ClOrdIDs).
    pub fn from_u64(v: u64) -> Self {
        let mut tmp = [0u8; 20];
        let digits = crate::codec::format_u64(v, &mut tmp);
        Self::lossy(digits)
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The text (always valid UTF-8: printable ASCII).
    pub fn as_str(&self) -> &str {
        core::str::from_utf8(self.as_bytes()).unwrap_or("")
    }

    /// Whether the string is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<const N: usize> Default for FixStr<N> {
    fn default() -> Self {
        Self::EMPTY
    }
}

impl<const N: usize> fmt::Debug for FixStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl<const N: usize> fmt::Display for FixStr<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_soh_and_overlong() {
        assert!(Id::from_bytes(b"a\x01b").is_none());
        assert!(Symbol::from_bytes(&[b'x'; 17]).is_none());
        assert_eq!(Symbol::from_str("AAPL").unwrap().as_str(), "AAPL");
        assert_eq!(Id::from_u64(1234).as_str(), "1234");
        assert_eq!(Id::from_u64(0).as_str(), "0");
        assert_eq!(FixStr::<3>::lossy(b"a\x01bc").as_str(), "a?b");
    }
}
