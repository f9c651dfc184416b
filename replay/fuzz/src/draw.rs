//! Generator helpers over `arbitrary`'s [`Unstructured`]: every draw has a value even when the
//! bytes run out (the smallest one), so a generator always yields a valid input.

use arbitrary::Unstructured;

/// Draws from generator bytes.
pub(crate) struct G<'a>(Unstructured<'a>);

impl<'a> G<'a> {
    /// Draws from `bytes`.
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self(Unstructured::new(bytes))
    }

    /// A value in `lo..=hi` (`lo` once the bytes are spent).
    pub(crate) fn int(&mut self, lo: i64, hi: i64) -> i64 {
        self.0.int_in_range(lo..=hi).unwrap_or(lo)
    }

    /// A value in `lo..=hi` as `u64`.
    pub(crate) fn u(&mut self, lo: u64, hi: u64) -> u64 {
        self.0.int_in_range(lo..=hi).unwrap_or(lo)
    }

    /// A count in `lo..=hi`.
    pub(crate) fn len(&mut self, lo: usize, hi: usize) -> usize {
        self.0.int_in_range(lo..=hi).unwrap_or(lo)
    }

    /// A coin flip.
    pub(crate) fn bool(&mut self) -> bool {
        self.0.arbitrary().unwrap_or(false)
    }

    /// True about one time in `n`.
    pub(crate) fn one_in(&mut self, n: u64) -> bool {
        self.u(1, n.max(1)) == 1
    }

    /// Any `u64`.
    pub(crate) fn any_u64(&mut self) -> u64 {
        self.0.arbitrary().unwrap_or(0)
    }

    /// One of `items` (the first once the bytes are spent).
    pub(crate) fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.len(0, items.len() - 1)]
    }

    /// A string of `lo..=hi` characters from `alphabet`.
    pub(crate) fn word(&mut self, alphabet: &[u8], lo: usize, hi: usize) -> String {
        let n = self.len(lo, hi);
        (0..n).map(|_| char::from(self.pick(alphabet))).collect()
    }

    /// A decimal with up to `places` decimals of the integer `raw / 10^places`, as text.
    pub(crate) fn decimal(&mut self, raw: i64, places: u32) -> String {
        let scale = 10i64.pow(places);
        let (int, frac) = (raw / scale, raw % scale);
        if places == 0 || (frac == 0 && self.bool()) {
            return int.to_string();
        }
        format!("{int}.{frac:0w$}", w = places as usize)
    }
}

/// Upper-case letters.
pub(crate) const UPPER: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
/// Printable ASCII without separators that would change a text format's structure.
pub(crate) const PRINTABLE: &[u8] =
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 -_.:/";
