//! Catalog integration tests: every built-in strategy does bit for bit the same natively and as
//! Wasm on both tiers over replay's market and exchange, and its digests match the checked-in
//! golden values.

mod abuse;
mod golden;
mod market;
mod native_vs_wasm;
mod resume;
