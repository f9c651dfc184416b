//! Decimal numbers from text to integers, exactly (never through `f64`).

/// Parses a decimal number into an integer scaled by `10^places` exactly; `None` for malformed
/// text, more than `places` significant decimals, or overflow.
pub(crate) fn parse_scaled(text: &str, places: u32) -> Option<i64> {
    let t = text.trim();
    let (neg, digits) = match t.as_bytes().first()? {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let (int_part, frac) = digits.split_once('.').unwrap_or((digits, ""));
    if int_part.is_empty() && frac.is_empty() {
        return None;
    }
    let frac = frac.trim_end_matches('0');
    if frac.len() > places as usize {
        return None;
    }
    let mut v: i64 = 0;
    for b in int_part.bytes().chain(frac.bytes()) {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(i64::from(b - b'0'))?;
    }
    v = v.checked_mul(10i64.checked_pow(places - frac.len() as u32)?)?;
    Some(if neg { -v } else { v })
}

/// Number of significant decimal places in a decimal string (`"61837.63000000"` → 2).
pub(crate) fn decimals(text: &str) -> u32 {
    match text.trim().split_once('.') {
        Some((_, f)) => f.trim_end_matches('0').len() as u32,
        None => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_count_significant_places() {
        assert_eq!(decimals("61837.63000000"), 2);
        assert_eq!(decimals("9682"), 0);
    }

    #[test]
    fn scaled_numbers_are_exact() {
        assert_eq!(parse_scaled("12.5", 3), Some(12_500));
        assert_eq!(parse_scaled("-0.001", 3), Some(-1));
        assert_eq!(parse_scaled("+.5", 1), Some(5));
        assert_eq!(parse_scaled("7.", 0), Some(7));
        assert_eq!(parse_scaled("1.0001", 3), None);
        assert_eq!(parse_scaled(".", 3), None);
        assert_eq!(parse_scaled("1x", 3), None);
        assert_eq!(parse_scaled("9223372036854775808", 0), None);
    }
}
