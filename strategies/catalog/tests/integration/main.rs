//! Catalog integration tests: every built-in strategy gives bit-identical actions natively and
//! as Wasm over the same event stream (with order feedback), and its action digest matches the
//! checked-in golden value.

mod feed;
mod golden;
mod native_vs_wasm;
