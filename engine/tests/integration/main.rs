//! Engine integration tests: the ABI from a language without the SDK (WAT), the hostile-module
//! suite, the same errors on both tiers, determinism across runs and workers, module loading
//! fuzzed on both tiers, and zero allocations per event.

mod checkpoint;
mod common;
mod determinism;
mod differential;
mod fuzz_modules;
mod host_math;
mod hostile;
mod hot_swap;
mod profile;
mod tier_parity;
mod wat_abi;
mod zero_alloc;
