//! Integration tests of the fuzzing harness.

mod replay;
