//! # lockstep-fix
//!
//! Orders over FIX 4.4 on TCP: the tag=value codec and the session layer.
#![forbid(unsafe_code)]
