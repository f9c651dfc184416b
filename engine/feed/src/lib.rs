//! # lockstep-feed
//!
//! Market data over the network: NASDAQ TotalView-ITCH 5.0 messages in MoldUDP64 packets.
#![forbid(unsafe_code)]
