//! Seeded mutations for the fuzz-style tests of the tape codec and the importers.

/// Seeded mutations for the fuzz-style tests (stable Rust, no fuzzing engine): deterministic
/// per seed, so a failing case is reproduced by its number. CI runs a few thousand cases; a
/// long run of the tape, importer and sanitiser fuzzers:
///
/// ```text
/// LOCKSTEP_FUZZ_CASES=1000000 cargo test --release -p lockstep-sim -p lockstep-import -p lockstep-sdk fuzz_
/// ```
///
/// Module loading is fuzzed in the engine's integration tests (`LOCKSTEP_FUZZ_CASES` there
/// counts mutants per seed module, each run on both tiers):
///
/// ```text
/// LOCKSTEP_FUZZ_CASES=20000 cargo test --release -p lockstep-engine --test integration fuzz_
/// ```
#[derive(Debug)]
pub struct FuzzRng(lockstep_sdk::SplitMix64);

impl FuzzRng {
    /// A mutator seeded with `seed`.
    pub fn new(seed: u64) -> Self {
        Self(lockstep_sdk::SplitMix64::new(seed))
    }
    /// The next raw draw.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }
    /// A draw below `n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        self.0.below(n.max(1) as u64) as usize
    }
    /// One to four random edits: flip a bit, overwrite a byte with an edge value, cut the
    /// end, insert bytes, or duplicate a range.
    pub fn mutate(&mut self, b: &mut Vec<u8>) {
        for _ in 0..1 + self.below(4) {
            let at = self.below(b.len());
            match self.below(5) {
                0 if !b.is_empty() => b[at] ^= 1 << self.below(8),
                1 if !b.is_empty() => b[at] = [0, 0xff, 0x7f, 0x80, b'\n', b','][self.below(6)],
                2 => b.truncate(at),
                3 => {
                    let v = self.next_u64().to_le_bytes();
                    b.splice(at..at, v[..1 + self.below(8)].iter().copied());
                }
                _ => {
                    let end = (at + self.below(64)).min(b.len());
                    let dup = b[at..end].to_vec();
                    b.splice(at..at, dup);
                }
            }
        }
    }
}

/// Cases per fuzz-style test: `default`, or `LOCKSTEP_FUZZ_CASES` for a long run.
pub fn fuzz_cases(default: u64) -> u64 {
    std::env::var("LOCKSTEP_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}
