//! One strategy input, digested the same way live and in verification (and as the replay
//! session digests it): venue, risk and timer inputs as exchange events, then the event's
//! actions and fuel, then a failure's stable code.

use crate::journal::Origin;
use lockstep_sdk::{ActionRecord, EventRecord};
use lockstep_sim::Digest;

/// Digests one delivered input and the strategy's answer to it.
pub(crate) fn digest_step(
    digest: &mut Digest,
    origin: Origin,
    rec: &EventRecord,
    fuel: u64,
    actions: &[ActionRecord],
    error: u16,
) {
    match origin {
        Origin::Init => {
            digest.event(u64::MAX, fuel, actions);
            return;
        }
        Origin::Venue | Origin::Risk | Origin::Timer => digest.exchange_event(rec),
        Origin::Market => {}
    }
    let seq = rec.seq();
    digest.event(seq, fuel, actions);
    if error != 0 {
        digest.halt(seq, error);
    }
}
