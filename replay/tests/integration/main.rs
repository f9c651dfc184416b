//! End-to-end tests of the `replay` binary: imports, runs, goldens, verification, errors.
//!
//! Tests that need the shared real data (`../shared/data` beside the repository) print a
//! notice and pass when it is absent, unless `LOCKSTEP_REQUIRE_DATA=1`, which makes them fail.

mod certify;
mod cli;
mod common;
mod golden;
mod goldens;
mod hostile;
mod import;
mod integrity;
mod languages;
mod models;
mod profile;
mod report;
mod resume;
mod samples;
mod serve;
mod sweep;
mod verify;
mod web;
