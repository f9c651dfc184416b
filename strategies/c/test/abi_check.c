/*
 * The C header seen from C, for the catalog's tests against the Rust SDK (built natively only):
 * its sizes and constants, an event and a book read through its structs, one action of each
 * kind written through its helpers, and its fixed-point and integer parsers.
 */
#include "lockstep_strategy.h"

/* Sizes and constants, in the order strategies/catalog/src/c_native.rs lists them. */
uint32_t lockstep_c_abi_layout(int64_t *out, uint32_t cap) {
    const int64_t v[] = {
        sizeof(ls_event), sizeof(ls_book), sizeof(ls_action), sizeof(ls_regions),
        LS_ABI_VERSION, LS_SCALE, LS_ONE, LS_BOOK_LEVELS, LS_ACTION_CAP, LS_PARAMS_CAP,
        LS_EV_QUOTE, LS_EV_TRADE, LS_EV_BOOK, LS_EV_ORDER_ACK, LS_EV_FILL, LS_EV_REJECT,
        LS_EV_CANCELED, LS_EV_TIMER,
        LS_ACT_PLACE_LIMIT, LS_ACT_PLACE_MARKET, LS_ACT_CANCEL, LS_ACT_REPLACE,
        LS_ACT_SET_TIMER, LS_ACT_SIGNAL,
        LS_BUY, LS_SELL,
        LS_REJECT_UNKNOWN_ORDER, LS_REJECT_DUPLICATE_ID, LS_REJECT_INVALID, LS_REJECT_RISK,
        LS_REJECT_UNKNOWN_INSTRUMENT,
        LS_STATUS_ACTION_OVERFLOW, LS_STATUS_BAD_EVENT, LS_STATUS_NOT_INITIALIZED,
    };
    uint32_t n = sizeof v / sizeof v[0];
    for (uint32_t i = 0; i < n && i < cap; i++) out[i] = v[i];
    return n;
}

/* The event's fields through ls_event, and whether the SDK check accepts it (1 or 0). */
void lockstep_c_abi_read_event(const ls_event *ev, int64_t out[11]) {
    out[0] = ev->kind, out[1] = ev->instrument, out[2] = ev->flags, out[3] = (int64_t)ev->seq;
    out[4] = ev->exchange_ts, out[5] = ev->local_ts;
    for (int i = 0; i < 4; i++) out[6 + i] = ev->p[i];
    out[10] = ls_event_ok(ev);
}

/* The book's fields through ls_book: instrument, counts, then bids and asks (px, qty). */
void lockstep_c_abi_read_book(const ls_book *b, int64_t out[3 + 4 * LS_BOOK_LEVELS]) {
    out[0] = b->instrument, out[1] = b->bid_count, out[2] = b->ask_count;
    for (int i = 0; i < LS_BOOK_LEVELS; i++) {
        out[3 + 2 * i] = b->bids[i].px, out[4 + 2 * i] = b->bids[i].qty;
        out[3 + 2 * LS_BOOK_LEVELS + 2 * i] = b->asks[i].px;
        out[4 + 2 * LS_BOOK_LEVELS + 2 * i] = b->asks[i].qty;
    }
}

/* One action of each kind through the helpers (into a sink of `cap`): the count written, or
 * -1 when the sink overflowed. */
int32_t lockstep_c_abi_write_actions(ls_action *buf, uint32_t cap) {
    ls_actions out = {buf, cap, 0, false};
    ls_place_limit(&out, 7, 11, LS_BUY, 12345, 100000000);
    ls_place_market(&out, 8, 12, LS_SELL, 300000000);
    ls_cancel(&out, 9, 13);
    ls_replace(&out, 10, 14, -5, 6);
    ls_set_timer(&out, 15, INT64_MAX);
    ls_signal(&out, 11, 4000000000u, INT64_MIN);
    return out.overflowed ? -1 : (int32_t)out.len;
}

/* ls_parse_fixed on `len` bytes: 1 and the value in *out, or 0. */
int32_t lockstep_c_abi_parse_fixed(const char *text, uint32_t len, int64_t *out) {
    return ls_parse_fixed((ls_str){text, len}, out);
}

/* ls_parse_i64 on `len` bytes: 1 and the value in *out, or 0. */
int32_t lockstep_c_abi_parse_i64(const char *text, uint32_t len, int64_t *out) {
    return ls_parse_i64((ls_str){text, len}, out);
}
