//! Integration tests of lockstep-feed: the simulated venue publishing a synthetic L3 market as
//! ITCH 5.0 over MoldUDP64, through a lossy network, into the gateway's feed handler.

mod network;
