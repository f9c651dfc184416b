/*
 * A deterministic synthetic market for the gateway examples (C and C++): a random walk of the
 * mid price of instrument 0 near 100.00 with tick 0.01, as quote events, and every fourth
 * event a book event with five levels a side. The same seed gives the same events everywhere;
 * the Rust integration test generates the identical sequence to check the examples' output.
 */
#ifndef LOCKSTEP_EXAMPLES_SYNTH_H
#define LOCKSTEP_EXAMPLES_SYNTH_H

#include <stdint.h>
#include <string.h>

#include "lockstep.h"

#define SYNTH_LEVELS 5

typedef struct synth {
    uint64_t state; /* LCG state */
    int64_t mid;    /* fixed point, 8 decimals */
    uint64_t seq;   /* last sequence number */
} synth;

static inline synth synth_new(uint64_t seed) {
    synth s;
    s.state = seed;
    s.mid = 100 * LS_FIXED_SCALE;
    s.seq = 0;
    return s;
}

/* The next 31 random bits (Knuth's MMIX LCG, high bits). */
static inline uint64_t synth_next(synth *s) {
    s->state = s->state * 6364136223846793005ULL + 1442695040888963407ULL;
    return s->state >> 33;
}

/* Quantity of 1..9 units, fixed point. */
static inline int64_t synth_qty(synth *s) {
    return (int64_t)(1 + synth_next(s) % 9) * LS_FIXED_SCALE;
}

/*
 * Writes the next event's record into `record` and, for a book event, the L2 view into `book`.
 * Returns 1 for a book event, 0 for a quote, -1 if encoding failed.
 */
static inline int synth_event(synth *s, uint8_t record[LS_EVENT_SIZE], uint8_t book[LS_BOOK_SIZE]) {
    const int64_t tick = LS_FIXED_SCALE / 100;
    ls_event ev;
    memset(&ev, 0, sizeof ev);
    s->seq += 1;
    s->mid += ((int64_t)(synth_next(s) % 5) - 2) * tick;
    int64_t half = (int64_t)(1 + synth_next(s) % 3) * tick;
    ev.seq = s->seq;
    ev.instrument = 0;
    ev.exchange_ts = (int64_t)s->seq * 1000000;
    ev.local_ts = ev.exchange_ts + 25000;
    ev.bid_px = s->mid - half;
    ev.ask_px = s->mid + half;
    ev.bid_qty = synth_qty(s);
    ev.ask_qty = synth_qty(s);
    int is_book = s->seq % 4 == 0;
    ev.kind = is_book ? LS_EVENT_BOOK : LS_EVENT_QUOTE;
    if (is_book) {
        ls_level bids[SYNTH_LEVELS];
        ls_level asks[SYNTH_LEVELS];
        for (int i = 0; i < SYNTH_LEVELS; i++) {
            bids[i].px = ev.bid_px - i * tick;
            asks[i].px = ev.ask_px + i * tick;
            bids[i].qty = i == 0 ? ev.bid_qty : synth_qty(s);
            asks[i].qty = i == 0 ? ev.ask_qty : synth_qty(s);
        }
        if (ls_book_write(book, 0, bids, SYNTH_LEVELS, asks, SYNTH_LEVELS) != LS_OK) {
            return -1;
        }
    }
    return ls_event_encode(&ev, record) == LS_OK ? is_book : -1;
}

/* FNV-1a over `n` bytes, continuing from `h` (start with 14695981039346656037). */
static inline uint64_t synth_fnv(uint64_t h, const uint8_t *bytes, size_t n) {
    for (size_t i = 0; i < n; i++) {
        h ^= bytes[i];
        h *= 1099511628211ULL;
    }
    return h;
}

#endif /* LOCKSTEP_EXAMPLES_SYNTH_H */
