//! Gateway core tests: sessions over the synthetic market with every built-in on both tiers,
//! journals verified (and cut and corrupted), risk limits and the kill switch, a journal disk
//! that fills up.

mod alloc;
mod common;
mod journal;
mod loopback;
mod risk;
