//! Peak resident memory of the process (Linux `/proc`), to catch a case that allocates from a
//! declared length: the peak is reset before each case and read after it. Elsewhere both are
//! no-ops and the memory oracle is off.

use std::fs;

/// Resets the peak (`VmHWM`) to the current resident size; `false` where it cannot.
pub(crate) fn reset_peak() -> bool {
    fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// The current (`VmRSS`) and peak (`VmHWM`) resident size in bytes.
pub(crate) fn resident() -> Option<(u64, u64)> {
    let s = fs::read_to_string("/proc/self/status").ok()?;
    let field = |name: &str| {
        let line = s.lines().find(|l| l.starts_with(name))?;
        let kb: u64 = line[name.len()..].trim().trim_end_matches("kB").trim().parse().ok()?;
        Some(kb * 1024)
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}
