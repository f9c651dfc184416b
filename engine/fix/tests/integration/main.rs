//! Integration tests of lockstep-fix against independent implementations.

mod quickfix;
