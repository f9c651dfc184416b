/*
 * microprice-c: the microprice quoter (strategies/microprice) written in C against
 * lockstep_strategy.h. Its actions are those of the Rust build, byte for byte, on every input:
 * the catalog's tests compare the two over the synthetic market and real tapes, on both tiers.
 *
 * Model: S. Stoikov, "The micro-price: a high-frequency estimator of future prices" (2018),
 * first order: with I = Qb / (Qb + Qa) over the top `levels` levels,
 * micro = bid + (ask - bid) * I, kept as the exact fraction num / den in 128-bit integers.
 * One bid and one ask around it, ids 1, 2, 3, ...: placed when a side is empty, replaced once
 * acknowledged whenever the wanted price moves, cancelled at an inventory limit.
 */
#include "lockstep_strategy.h"

/* Catalog metadata (read by strategies/catalog/build.rs; the catalog name is `microprice-c`). */
#define LOCKSTEP_SUMMARY                                                                         \
    "Stoikov microprice quoter written in C: the Rust microprice's actions, bit for bit"
#define LOCKSTEP_DEFAULT_PARAMS                                                                  \
    "instrument=0;levels=3;tick=0.01;half_spread_ticks=1;order_qty=1;max_inventory=10"
#define LOCKSTEP_PARAMS "instrument,levels,tick,half_spread_ticks,order_qty,max_inventory"

/* Signal ids, as the Rust build's. */
enum { SIG_MICROPRICE = 1, SIG_IMBALANCE = 2, SIG_INVENTORY = 3 };

/* One resting quote. */
typedef struct working {
    bool live;
    bool acked;       /* the venue acknowledged it at least once */
    bool cancel_sent;
    uint64_t id;
    int64_t px;       /* last price requested */
    int64_t acked_px; /* last price acknowledged */
} working;

typedef struct microprice {
    uint16_t instrument;
    int64_t levels;
    int64_t tick;
    int64_t half; /* half_spread_ticks * tick */
    int64_t order_qty;
    int64_t max_inventory;
    int64_t inventory;
    uint64_t next_id;
    working bid;
    working ask;
} microprice;

/* The microprice as the fraction num / den of fixed-point units (den > 0). */
typedef struct micro {
    ls_i128 num;
    ls_i128 den;
    ls_i128 bid_qty;
} micro;

/* Stoikov's weighted mid; false when a side is empty, the book is crossed or has no size. */
static bool micro_new(int64_t bid, int64_t ask, ls_i128 bid_qty, ls_i128 ask_qty, micro *m) {
    ls_i128 den, a, b, num;
    if (__builtin_add_overflow(bid_qty, ask_qty, &den)) return false;
    if (bid <= 0 || ask < bid || bid_qty < 0 || ask_qty < 0 || den <= 0) return false;
    ls_i128 spread = (ls_i128)ask - bid;
    if (__builtin_mul_overflow((ls_i128)bid, den, &a) ||
        __builtin_mul_overflow(spread, bid_qty, &b) || __builtin_add_overflow(a, b, &num))
        return false;
    *m = (micro){num, den, bid_qty};
    return true;
}

/* Bid at floor(micro - half) and ask at ceil(micro + half) on the tick grid. */
static bool micro_quotes(const micro *m, int64_t half, int64_t tick, int64_t *bid, int64_t *ask) {
    ls_i128 hd, lo, hi, step;
    if (__builtin_mul_overflow((ls_i128)half, m->den, &hd) || __builtin_sub_overflow(m->num, hd, &lo) ||
        __builtin_add_overflow(m->num, hd, &hi) || __builtin_mul_overflow((ls_i128)tick, m->den, &step))
        return false;
    ls_i128 b = ls_div_floor(lo, step) * tick;
    ls_i128 a = (ls_div_floor(hi, step) + (ls_rem_floor(hi, step) != 0)) * tick;
    if (b < INT64_MIN || b > INT64_MAX || a < INT64_MIN || a > INT64_MAX) return false;
    *bid = (int64_t)b, *ask = (int64_t)a;
    return true;
}

/* Brings one side in line with the wanted price (`want` false: the side should be empty). */
static void sync(microprice *s, enum ls_side side, bool want, int64_t px, ls_actions *out) {
    working *w = side == LS_BUY ? &s->bid : &s->ask;
    if (!w->live && want) {
        *w = (working){true, false, false, s->next_id, px, 0};
        ls_place_limit(out, s->instrument, s->next_id, side, px, s->order_qty);
        s->next_id++;
    } else if (w->live && want && !w->cancel_sent && w->acked && w->px != px) {
        w->px = px;
        ls_replace(out, s->instrument, w->id, px, s->order_qty);
    } else if (w->live && !want && !w->cancel_sent) {
        w->cancel_sent = true;
        ls_cancel(out, s->instrument, w->id);
    }
}

static working *find(microprice *s, uint64_t id) {
    if (s->bid.live && s->bid.id == id) return &s->bid;
    if (s->ask.live && s->ask.id == id) return &s->ask;
    return NULL;
}

static void update(microprice *s, const micro *m, ls_actions *out) {
    ls_signal(out, s->instrument, SIG_MICROPRICE, (int64_t)ls_div_round(m->num, m->den));
    ls_signal(out, s->instrument, SIG_IMBALANCE,
              (int64_t)ls_div_round(m->bid_qty * LS_ONE, m->den));
    int64_t bid, ask;
    if (!micro_quotes(m, s->half, s->tick, &bid, &ask)) return;
    sync(s, LS_BUY, bid > 0 && s->inventory < s->max_inventory, bid, out);
    sync(s, LS_SELL, s->inventory > -s->max_inventory, ask, out);
}

static void on_book(microprice *s, const ls_book *book, ls_actions *out) {
    int64_t nb = book->bid_count < LS_BOOK_LEVELS ? book->bid_count : LS_BOOK_LEVELS;
    int64_t na = book->ask_count < LS_BOOK_LEVELS ? book->ask_count : LS_BOOK_LEVELS;
    if (nb == 0 || na == 0) return;
    ls_i128 qb = 0, qa = 0;
    for (int64_t i = 0; i < s->levels; i++) {
        if (i < nb && book->bids[i].qty > 0) qb += book->bids[i].qty;
        if (i < na && book->asks[i].qty > 0) qa += book->asks[i].qty;
    }
    micro m;
    if (micro_new(book->bids[0].px, book->asks[0].px, qb, qa, &m)) update(s, &m, out);
}

static void on_fill(microprice *s, const ls_event *ev, ls_actions *out) {
    working *w = find(s, (uint64_t)ev->p[0]);
    if (!w) return;
    if (ev->p[3] <= 0) w->live = false;
    int64_t signed_qty = ls_sat_mul(ls_side_sign((enum ls_side)(uint8_t)ev->flags), ev->p[2]);
    s->inventory = ls_sat_add(s->inventory, signed_qty);
    ls_signal(out, s->instrument, SIG_INVENTORY, s->inventory);
}

static void on_reject(microprice *s, const ls_event *ev) {
    working *w = find(s, (uint64_t)ev->p[0]);
    if (!w) return;
    if (w->acked && !w->cancel_sent && ev->flags != LS_REJECT_UNKNOWN_ORDER)
        w->px = w->acked_px;
    else
        w->live = false;
}

static void microprice_on_event(microprice *s, const ls_event *ev, const ls_book *book,
                                ls_actions *out) {
    working *w;
    micro m;
    switch (ev->kind) {
    case LS_EV_QUOTE:
        if (ev->instrument == s->instrument &&
            micro_new(ev->p[0], ev->p[2], ev->p[1], ev->p[3], &m))
            update(s, &m, out);
        break;
    case LS_EV_BOOK:
        if (ev->instrument == s->instrument) on_book(s, book, out);
        break;
    case LS_EV_ORDER_ACK:
        if ((w = find(s, (uint64_t)ev->p[0]))) w->acked = true, w->acked_px = ev->p[1];
        break;
    case LS_EV_FILL:
        on_fill(s, ev, out);
        break;
    case LS_EV_REJECT:
        on_reject(s, ev);
        break;
    case LS_EV_CANCELED:
        if ((w = find(s, (uint64_t)ev->p[0]))) w->live = false;
        break;
    default:
        break;
    }
}

static bool microprice_init(microprice *s, ls_params p, ls_actions *out, ls_error *err) {
    (void)out;
    int64_t half_ticks;
    ls_zero(s, sizeof *s);
    if (!ls_params_check_known(p, LOCKSTEP_PARAMS, err) ||
        !ls_params_instrument(p, "instrument", 0, &s->instrument, err) ||
        !ls_params_i64(p, "levels", 3, &s->levels, err))
        return false;
    if (s->levels < 1 || s->levels > LS_BOOK_LEVELS)
        return ls_out_of_range(p, err, "levels", "must be within 1..=10");
    if (!ls_params_price(p, "tick", LS_ONE / 100, &s->tick, err)) return false;
    if (s->tick <= 0) return ls_out_of_range(p, err, "tick", "must be > 0");
    if (!ls_params_i64(p, "half_spread_ticks", 1, &half_ticks, err)) return false;
    if (half_ticks < 1 || half_ticks > 10000)
        return ls_out_of_range(p, err, "half_spread_ticks", "must be within 1..=10000");
    if (__builtin_mul_overflow(s->tick, half_ticks, &s->half))
        return ls_out_of_range(p, err, "half_spread_ticks", "half_spread_ticks*tick is too large");
    if (!ls_params_qty(p, "order_qty", LS_ONE, &s->order_qty, err)) return false;
    if (s->order_qty <= 0) return ls_out_of_range(p, err, "order_qty", "must be > 0");
    if (!ls_params_qty(p, "max_inventory", 10 * LS_ONE, &s->max_inventory, err)) return false;
    if (s->max_inventory <= 0) return ls_out_of_range(p, err, "max_inventory", "must be > 0");
    s->next_id = 1;
    return true;
}

LOCKSTEP_STRATEGY(microprice, microprice, microprice_init, microprice_on_event)
