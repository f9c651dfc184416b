/*
 * lockstep_strategy.h: the Lockstep guest ABI (version 1) for strategies written in C.
 *
 * One header, no libc: it mirrors the records, constants and exports of engine/ABI.md, and adds
 * a small helper layer (an action sink, parameter parsing, fixed-point arithmetic). A strategy
 * defines a state struct, an init function and an event function, and names them once with
 * LOCKSTEP_STRATEGY(id, State, init, on_event):
 *
 *   - built with `clang --target=wasm32` it becomes a Lockstep guest: the macro defines the
 *     buffers, `lockstep_abi_version`, `lockstep_regions`, `lockstep_init` and
 *     `lockstep_on_event`;
 *   - built natively it exports `lockstep_c_<id>_state_size`, `lockstep_c_<id>_init` and
 *     `lockstep_c_<id>_on_event`, which the catalog runs as the strategy's native build.
 *
 * Both go through the same event check and dispatch below, so native and Wasm runs agree.
 * Build (see the README): clang-16 --target=wasm32 -nostdlib -O2 -I strategies/c/include
 *   -Wl,--no-entry -Xlinker --import-memory=lockstep,memory x.c libclang_rt.builtins-wasm32.a
 *
 * Determinism: no clock, no randomness, no I/O, no floats across the boundary. Prices and
 * quantities are int64 fixed point with 8 decimal places (LS_ONE = 1e8).
 */
#ifndef LOCKSTEP_STRATEGY_H
#define LOCKSTEP_STRATEGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the Lockstep ABI is little-endian; the records below are laid out for such a machine"
#endif

/* ---- constants (engine/ABI.md) ---------------------------------------------------------- */

#define LS_ABI_VERSION 1u
#define LS_SCALE 8
#define LS_ONE INT64_C(100000000)
#define LS_BOOK_LEVELS 10
/* Action records the guest's region holds; the same as the Rust SDK's DEFAULT_ACTION_CAP. */
#define LS_ACTION_CAP 64
/* Bytes of the parameter region; the same as the Rust SDK's PARAMS_CAP. */
#define LS_PARAMS_CAP 4096

enum ls_event_kind {
    LS_EV_QUOTE = 1,
    LS_EV_TRADE = 2,
    LS_EV_BOOK = 3,
    LS_EV_ORDER_ACK = 4,
    LS_EV_FILL = 5,
    LS_EV_REJECT = 6,
    LS_EV_CANCELED = 7,
    LS_EV_TIMER = 8
};

enum ls_action_kind {
    LS_ACT_PLACE_LIMIT = 1,
    LS_ACT_PLACE_MARKET = 2,
    LS_ACT_CANCEL = 3,
    LS_ACT_REPLACE = 4,
    LS_ACT_SET_TIMER = 5,
    LS_ACT_SIGNAL = 6
};

enum ls_side { LS_BUY = 1, LS_SELL = 2 };

enum ls_reject_reason {
    LS_REJECT_UNKNOWN_ORDER = 1,
    LS_REJECT_DUPLICATE_ID = 2,
    LS_REJECT_INVALID = 3,
    LS_REJECT_RISK = 4,
    LS_REJECT_UNKNOWN_INSTRUMENT = 5
};

/* Negative returns of lockstep_on_event. */
enum ls_status {
    LS_STATUS_ACTION_OVERFLOW = -1,
    LS_STATUS_BAD_EVENT = -2,
    LS_STATUS_NOT_INITIALIZED = -3
};

/* ---- records ----------------------------------------------------------------------------- */

/* One event (64 bytes). Payload p[0..3] by kind: QUOTE/BOOK bid px, bid qty, ask px, ask qty;
 * TRADE px, qty (flags: aggressor side or 0); ORDER_ACK id, px, open qty (flags: side);
 * FILL id, px, filled qty, leaves qty (flags: side); REJECT id (flags: reason);
 * CANCELED id, canceled qty; TIMER timer id. */
typedef struct ls_event {
    uint16_t kind;
    uint16_t instrument;
    uint32_t flags;
    uint64_t seq;
    int64_t exchange_ts;
    int64_t local_ts; /* the strategy's "now", ns */
    int64_t p[4];
} ls_event;

typedef struct ls_level {
    int64_t px;
    int64_t qty;
} ls_level;

/* The L2 book (328 bytes), written before each BOOK event; best level first. */
typedef struct ls_book {
    uint16_t instrument;
    uint16_t bid_count;
    uint16_t ask_count;
    uint16_t reserved;
    ls_level bids[LS_BOOK_LEVELS];
    ls_level asks[LS_BOOK_LEVELS];
} ls_book;

/* One action (64 bytes). Unused bytes must stay zero: digests hash the record byte for byte;
 * the ls_* writers below zero them. */
typedef struct ls_action {
    uint16_t kind;
    uint16_t instrument;
    uint8_t side;
    uint8_t reserved0[3];
    uint64_t order_id; /* the timer id for SET_TIMER */
    int64_t px;
    int64_t qty;
    int64_t a; /* SET_TIMER fire time; SIGNAL value (fixed point) */
    uint64_t b; /* SIGNAL id */
    uint64_t reserved1[2];
} ls_action;

/* The region descriptor (32 bytes) lockstep_regions points at. */
typedef struct ls_regions {
    uint32_t abi_version;
    uint32_t event_ptr;
    uint32_t action_ptr;
    uint32_t action_cap;
    uint32_t book_ptr;
    uint32_t params_ptr;
    uint32_t params_cap;
    uint32_t reserved;
} ls_regions;

_Static_assert(sizeof(ls_event) == 64, "event record is 64 bytes");
_Static_assert(offsetof(ls_event, flags) == 4, "event flags at 4");
_Static_assert(offsetof(ls_event, seq) == 8, "event seq at 8");
_Static_assert(offsetof(ls_event, local_ts) == 24, "event local_ts at 24");
_Static_assert(offsetof(ls_event, p) == 32, "event payload at 32");
_Static_assert(sizeof(ls_book) == 328, "book record is 328 bytes");
_Static_assert(offsetof(ls_book, bids) == 8, "bids at 8");
_Static_assert(offsetof(ls_book, asks) == 168, "asks at 168");
_Static_assert(sizeof(ls_action) == 64, "action record is 64 bytes");
_Static_assert(offsetof(ls_action, side) == 4, "action side at 4");
_Static_assert(offsetof(ls_action, order_id) == 8, "action order id at 8");
_Static_assert(offsetof(ls_action, a) == 32, "action a at 32");
_Static_assert(offsetof(ls_action, b) == 40, "action b at 40");
_Static_assert(sizeof(ls_regions) == 32, "region descriptor is 32 bytes");

/* ---- small freestanding helpers ----------------------------------------------------------- */

static inline void ls_zero(void *p, size_t n) {
    unsigned char *b = (unsigned char *)p;
    for (size_t i = 0; i < n; i++) b[i] = 0;
}

static inline size_t ls_strlen(const char *s) {
    size_t n = 0;
    while (s[n]) n++;
    return n;
}

/* A byte string that is not NUL-terminated (parameter keys and values). */
typedef struct ls_str {
    const char *ptr;
    size_t len;
} ls_str;

static inline bool ls_str_eq(ls_str s, const char *c) {
    size_t n = ls_strlen(c);
    if (n != s.len) return false;
    for (size_t i = 0; i < n; i++)
        if (s.ptr[i] != c[i]) return false;
    return true;
}

static inline bool ls_is_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Trims ASCII whitespace at both ends. */
static inline ls_str ls_trim(ls_str s) {
    while (s.len > 0 && ls_is_space(s.ptr[0])) s.ptr++, s.len--;
    while (s.len > 0 && ls_is_space(s.ptr[s.len - 1])) s.len--;
    return s;
}

/* ---- the action sink ---------------------------------------------------------------------- */

/* Where a call's actions go. A push past the capacity is dropped and marks the sink
 * overflowed; the event then fails with LS_STATUS_ACTION_OVERFLOW and none is sent. */
typedef struct ls_actions {
    ls_action *buf;
    uint32_t cap;
    uint32_t len;
    bool overflowed;
} ls_actions;

static inline ls_action *ls_push(ls_actions *out, uint16_t kind, uint16_t instrument) {
    if (out->len >= out->cap) {
        out->overflowed = true;
        return NULL;
    }
    ls_action *a = &out->buf[out->len++];
    ls_zero(a, sizeof *a);
    a->kind = kind;
    a->instrument = instrument;
    return a;
}

static inline void ls_place_limit(ls_actions *out, uint16_t instrument, uint64_t order_id,
                                  enum ls_side side, int64_t px, int64_t qty) {
    ls_action *a = ls_push(out, LS_ACT_PLACE_LIMIT, instrument);
    if (a) a->side = (uint8_t)side, a->order_id = order_id, a->px = px, a->qty = qty;
}

static inline void ls_place_market(ls_actions *out, uint16_t instrument, uint64_t order_id,
                                   enum ls_side side, int64_t qty) {
    ls_action *a = ls_push(out, LS_ACT_PLACE_MARKET, instrument);
    if (a) a->side = (uint8_t)side, a->order_id = order_id, a->qty = qty;
}

static inline void ls_cancel(ls_actions *out, uint16_t instrument, uint64_t order_id) {
    ls_action *a = ls_push(out, LS_ACT_CANCEL, instrument);
    if (a) a->order_id = order_id;
}

/* Replaces order `order_id` with a new price and a new total quantity. */
static inline void ls_replace(ls_actions *out, uint16_t instrument, uint64_t order_id,
                              int64_t px, int64_t qty) {
    ls_action *a = ls_push(out, LS_ACT_REPLACE, instrument);
    if (a) a->order_id = order_id, a->px = px, a->qty = qty;
}

/* Asks for a TIMER event with `timer_id` at (or after) local time `at_ns`. */
static inline void ls_set_timer(ls_actions *out, uint64_t timer_id, int64_t at_ns) {
    ls_action *a = ls_push(out, LS_ACT_SET_TIMER, 0);
    if (a) a->order_id = timer_id, a->a = at_ns;
}

/* Publishes a fixed-point value (8 places) under signal `id`. */
static inline void ls_signal(ls_actions *out, uint16_t instrument, uint32_t id, int64_t value) {
    ls_action *a = ls_push(out, LS_ACT_SIGNAL, instrument);
    if (a) a->a = value, a->b = id;
}

/* ---- init errors -------------------------------------------------------------------------- */

/* The message an init refusal carries to the host (UTF-8, truncated to the buffer). */
typedef struct ls_error {
    char buf[512];
    size_t len;
} ls_error;

static inline void ls_error_add(ls_error *e, const char *s, size_t n) {
    for (size_t i = 0; i < n && e->len < sizeof e->buf; i++) e->buf[e->len++] = s[i];
}

static inline void ls_error_cstr(ls_error *e, const char *s) { ls_error_add(e, s, ls_strlen(s)); }

static inline void ls_error_str(ls_error *e, ls_str s) { ls_error_add(e, s.ptr, s.len); }

/* ---- parameters ---------------------------------------------------------------------------- */

/* The parameter text: `key=value` pairs separated by `;` or newlines, keys and values trimmed,
 * empty segments skipped; the last value given for a key wins. */
typedef struct ls_params {
    const char *text;
    size_t len;
} ls_params;

/* Iterates segments: returns false at the end; a segment without '=' gives *ok = false. */
static inline bool ls_params_next(ls_params p, size_t *at, ls_str *key, ls_str *value,
                                  ls_str *segment, bool *ok) {
    while (*at <= p.len) {
        size_t start = *at, end = start;
        while (end < p.len && p.text[end] != ';' && p.text[end] != '\n') end++;
        *at = end + 1;
        ls_str seg = ls_trim((ls_str){p.text + start, end - start});
        if (seg.len == 0) continue;
        size_t eq = 0;
        while (eq < seg.len && seg.ptr[eq] != '=') eq++;
        *segment = seg;
        *ok = eq < seg.len;
        if (*ok) {
            *key = ls_trim((ls_str){seg.ptr, eq});
            *value = ls_trim((ls_str){seg.ptr + eq + 1, seg.len - eq - 1});
        }
        return true;
    }
    return false;
}

/* Whether `key` is one of the comma-separated names in `known_csv`. */
static inline bool ls_csv_contains(const char *known_csv, ls_str key) {
    const char *s = known_csv;
    while (*s) {
        const char *e = s;
        while (*e && *e != ',') e++;
        if ((size_t)(e - s) == key.len && key.len > 0) {
            bool same = true;
            for (size_t i = 0; i < key.len; i++) same = same && s[i] == key.ptr[i];
            if (same) return true;
        }
        s = *e ? e + 1 : e;
    }
    return false;
}

/* Checks every key is in `known_csv` and every segment is key=value; false with a message. */
static inline bool ls_params_check_known(ls_params p, const char *known_csv, ls_error *err) {
    size_t at = 0;
    ls_str k, v, seg;
    bool ok;
    while (ls_params_next(p, &at, &k, &v, &seg, &ok)) {
        if (!ok) {
            ls_error_cstr(err, "parameter segment \"");
            ls_error_str(err, seg);
            ls_error_cstr(err, "\" is not of the form key=value");
            return false;
        }
        if (!ls_csv_contains(known_csv, k)) {
            ls_error_cstr(err, "unknown parameter `");
            ls_error_str(err, k);
            ls_error_cstr(err, "`; this strategy accepts: ");
            for (const char *c = known_csv; *c; c++) ls_error_add(err, *c == ',' ? ", " : c,
                                                                  *c == ',' ? 2 : 1);
            return false;
        }
    }
    return true;
}

/* The last value given for `key`. */
static inline bool ls_params_get(ls_params p, const char *key, ls_str *value) {
    size_t at = 0;
    ls_str k, v, seg;
    bool ok, found = false;
    while (ls_params_next(p, &at, &k, &v, &seg, &ok))
        if (ok && ls_str_eq(k, key)) *value = v, found = true;
    return found;
}

/* A decimal integer with an optional sign, no overflow. */
static inline bool ls_parse_i64(ls_str s, int64_t *out) {
    size_t i = 0;
    bool neg = false;
    if (s.len > 0 && (s.ptr[0] == '-' || s.ptr[0] == '+')) neg = s.ptr[0] == '-', i = 1;
    if (i == s.len) return false;
    int64_t v = 0;
    for (; i < s.len; i++) {
        char c = s.ptr[i];
        if (c < '0' || c > '9') return false;
        int d = c - '0';
        if (__builtin_mul_overflow(v, 10, &v)) return false;
        if (neg ? __builtin_sub_overflow(v, d, &v) : __builtin_add_overflow(v, d, &v))
            return false;
    }
    *out = v;
    return true;
}

/* Exact decimal text ("579.40", "-0.00012") to fixed point with 8 places: no float, at most 8
 * significant decimal places (trailing zeros beyond are fine), no overflow. */
static inline bool ls_parse_fixed(ls_str s, int64_t *out) {
    s = ls_trim(s);
    if (s.len == 0) return false;
    bool neg = s.ptr[0] == '-';
    if (s.ptr[0] == '-' || s.ptr[0] == '+') s.ptr++, s.len--;
    size_t dot = 0;
    while (dot < s.len && s.ptr[dot] != '.') dot++;
    ls_str ip = {s.ptr, dot};
    ls_str fp = {s.ptr + (dot < s.len ? dot + 1 : s.len), dot < s.len ? s.len - dot - 1 : 0};
    if (ip.len == 0 && fp.len == 0) return false;
    int64_t v = 0;
    for (size_t i = 0; i < ip.len; i++) {
        char c = ip.ptr[i];
        if (c < '0' || c > '9') return false;
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, c - '0', &v))
            return false;
    }
    for (size_t i = 0; i < fp.len; i++)
        if (fp.ptr[i] < '0' || fp.ptr[i] > '9') return false;
    size_t places = fp.len;
    while (places > 0 && fp.ptr[places - 1] == '0') places--;
    if (places > LS_SCALE) return false;
    int64_t frac = 0;
    for (size_t i = 0; i < LS_SCALE; i++) frac = frac * 10 + (i < places ? fp.ptr[i] - '0' : 0);
    if (__builtin_mul_overflow(v, LS_ONE, &v) || __builtin_add_overflow(v, frac, &v)) return false;
    *out = neg ? -v : v;
    return true;
}

static inline bool ls_malformed(ls_error *err, const char *key, ls_str v, const char *expected) {
    ls_error_cstr(err, "parameter `");
    ls_error_cstr(err, key);
    ls_error_cstr(err, "`=\"");
    ls_error_str(err, v);
    ls_error_cstr(err, "\" is not ");
    ls_error_cstr(err, expected);
    return false;
}

/* An integer parameter, or `def` when absent. */
static inline bool ls_params_i64(ls_params p, const char *key, int64_t def, int64_t *out,
                                 ls_error *err) {
    ls_str v;
    if (!ls_params_get(p, key, &v)) return *out = def, true;
    return ls_parse_i64(v, out) || ls_malformed(err, key, v, "an integer");
}

/* A fixed-point price (8 places), or `def` when absent. */
static inline bool ls_params_price(ls_params p, const char *key, int64_t def, int64_t *out,
                                   ls_error *err) {
    ls_str v;
    if (!ls_params_get(p, key, &v)) return *out = def, true;
    return ls_parse_fixed(v, out) ||
           ls_malformed(err, key, v, "a price with at most 8 decimal places");
}

/* A fixed-point quantity (8 places), or `def` when absent. */
static inline bool ls_params_qty(ls_params p, const char *key, int64_t def, int64_t *out,
                                 ls_error *err) {
    ls_str v;
    if (!ls_params_get(p, key, &v)) return *out = def, true;
    return ls_parse_fixed(v, out) ||
           ls_malformed(err, key, v, "a quantity with at most 8 decimal places");
}

/* Says `key` is out of range under `rule`; always false, to return from init. */
static inline bool ls_out_of_range(ls_params p, ls_error *err, const char *key, const char *rule) {
    ls_str v = {"<default>", 9};
    ls_params_get(p, key, &v);
    ls_error_cstr(err, "parameter `");
    ls_error_cstr(err, key);
    ls_error_cstr(err, "`=");
    ls_error_str(err, v);
    ls_error_cstr(err, " is out of range: ");
    ls_error_cstr(err, rule);
    return false;
}

/* An instrument id (0..=65535), or `def` when absent. */
static inline bool ls_params_instrument(ls_params p, const char *key, uint16_t def, uint16_t *out,
                                        ls_error *err) {
    int64_t v;
    if (!ls_params_i64(p, key, def, &v, err)) return false;
    if (v < 0 || v > 65535)
        return ls_out_of_range(p, err, key, "must be an instrument id in 0..=65535");
    *out = (uint16_t)v;
    return true;
}

/* ---- fixed-point arithmetic ----------------------------------------------------------------- */

typedef __int128 ls_i128;

/* Floor division and its non-negative remainder (Euclidean for d > 0). */
static inline ls_i128 ls_div_floor(ls_i128 n, ls_i128 d) {
    ls_i128 q = n / d;
    return (n % d != 0 && ((n < 0) != (d < 0))) ? q - 1 : q;
}

static inline ls_i128 ls_rem_floor(ls_i128 n, ls_i128 d) { return n - ls_div_floor(n, d) * d; }

/* round(n / d) half up, for d > 0. */
static inline ls_i128 ls_div_round(ls_i128 n, ls_i128 d) {
    ls_i128 q = ls_div_floor(n, d);
    return 2 * ls_rem_floor(n, d) >= d ? q + 1 : q;
}

/* +1 for a buy, -1 for a sell. */
static inline int64_t ls_side_sign(enum ls_side s) { return s == LS_BUY ? 1 : -1; }

static inline int64_t ls_sat_add(int64_t a, int64_t b) {
    int64_t r;
    return __builtin_add_overflow(a, b, &r) ? (b > 0 ? INT64_MAX : INT64_MIN) : r;
}

static inline int64_t ls_sat_mul(int64_t a, int64_t b) {
    int64_t r;
    return __builtin_mul_overflow(a, b, &r) ? (((a < 0) != (b < 0)) ? INT64_MIN : INT64_MAX) : r;
}

/* ---- the event check and the two entry points, shared by the Wasm and native builds ------- */

/* Whether the record is one this ABI version defines (the Rust SDK's decode): a known kind,
 * and a buy or sell side (the flags' low byte) on acks and fills. */
static inline bool ls_event_ok(const ls_event *ev) {
    uint8_t side = (uint8_t)ev->flags;
    switch (ev->kind) {
    case LS_EV_QUOTE: case LS_EV_TRADE: case LS_EV_BOOK: case LS_EV_REJECT:
    case LS_EV_CANCELED: case LS_EV_TIMER:
        return true;
    case LS_EV_ORDER_ACK: case LS_EV_FILL:
        return side == LS_BUY || side == LS_SELL;
    default:
        return false;
    }
}

/* lockstep_init's contract: n >= 0 actions written, or -m with an m-byte message in `msg`. */
static inline int32_t ls_run_init(bool (*init)(void *, ls_params, ls_actions *, ls_error *),
                                  void *state, const char *params, uint32_t len,
                                  ls_action *actions, uint32_t cap, char *msg, uint32_t msg_cap,
                                  bool *ready) {
    ls_actions out = {actions, cap, 0, false};
    ls_error err;
    err.len = 0;
    *ready = false;
    bool ok = init(state, (ls_params){params, len}, &out, &err);
    if (ok && out.overflowed) {
        err.len = 0;
        ls_error_cstr(&err, "init emitted more actions than the action region holds");
        ok = false;
    }
    if (ok) {
        *ready = true;
        return (int32_t)out.len;
    }
    if (err.len == 0) ls_error_cstr(&err, "init refused its parameters");
    size_t n = err.len < msg_cap ? err.len : msg_cap;
    for (size_t i = 0; i < n; i++) msg[i] = err.buf[i];
    return -(int32_t)n;
}

/* lockstep_on_event's contract: n actions, or a negative ls_status. */
static inline int32_t ls_run_event(void (*on_event)(void *, const ls_event *, const ls_book *,
                                                    ls_actions *),
                                   void *state, bool ready, const ls_event *ev,
                                   const ls_book *book, ls_action *actions, uint32_t cap) {
    if (!ready) return LS_STATUS_NOT_INITIALIZED;
    if (!ls_event_ok(ev)) return LS_STATUS_BAD_EVENT;
    ls_actions out = {actions, cap, 0, false};
    on_event(state, ev, book, &out);
    return out.overflowed ? LS_STATUS_ACTION_OVERFLOW : (int32_t)out.len;
}

#define LS_CAT_(a, b) a##b
#define LS_CAT(a, b) LS_CAT_(a, b)

/* Adapters from the strategy's typed functions to the shared entry points. */
#define LS_ADAPTERS_(STATE, INIT, ON_EVENT)                                                       \
    static bool ls_init_adapter_(void *s, ls_params p, ls_actions *o, ls_error *e) {             \
        return INIT((STATE *)s, p, o, e);                                                         \
    }                                                                                             \
    static void ls_event_adapter_(void *s, const ls_event *ev, const ls_book *b, ls_actions *o) { \
        ON_EVENT((STATE *)s, ev, b, o);                                                           \
    }

#if defined(__wasm__)
/* The guest: static buffers at fixed addresses, described once by lockstep_regions. */
#define LOCKSTEP_STRATEGY(ID, STATE, INIT, ON_EVENT)                                              \
    LS_ADAPTERS_(STATE, INIT, ON_EVENT)                                                           \
    static struct {                                                                               \
        ls_regions regions;                                                                       \
        ls_event event;                                                                           \
        ls_book book;                                                                             \
        ls_action actions[LS_ACTION_CAP];                                                         \
        char params[LS_PARAMS_CAP];                                                               \
    } ls_buffers_ __attribute__((aligned(16)));                                                   \
    static STATE ls_state_;                                                                       \
    static bool ls_ready_;                                                                        \
    __attribute__((export_name("lockstep_abi_version"))) int32_t lockstep_abi_version(void) {   \
        return (int32_t)LS_ABI_VERSION;                                                           \
    }                                                                                             \
    __attribute__((export_name("lockstep_regions"))) int32_t lockstep_regions(void) {           \
        ls_regions *r = &ls_buffers_.regions;                                                     \
        r->abi_version = LS_ABI_VERSION;                                                          \
        r->event_ptr = (uint32_t)(uintptr_t)&ls_buffers_.event;                                   \
        r->action_ptr = (uint32_t)(uintptr_t)ls_buffers_.actions;                                 \
        r->action_cap = LS_ACTION_CAP;                                                            \
        r->book_ptr = (uint32_t)(uintptr_t)&ls_buffers_.book;                                     \
        r->params_ptr = (uint32_t)(uintptr_t)ls_buffers_.params;                                  \
        r->params_cap = LS_PARAMS_CAP;                                                            \
        r->reserved = 0;                                                                          \
        return (int32_t)(uintptr_t)r;                                                             \
    }                                                                                             \
    __attribute__((export_name("lockstep_init"))) int32_t lockstep_init(int32_t len) {          \
        uint32_t n = len < 0 ? 0 : (uint32_t)len;                                                 \
        if (n > LS_PARAMS_CAP) n = LS_PARAMS_CAP;                                                 \
        return ls_run_init(ls_init_adapter_, &ls_state_, ls_buffers_.params, n,                  \
                           ls_buffers_.actions, LS_ACTION_CAP, ls_buffers_.params, LS_PARAMS_CAP, \
                           &ls_ready_);                                                           \
    }                                                                                             \
    __attribute__((export_name("lockstep_on_event"))) int32_t lockstep_on_event(void) {         \
        return ls_run_event(ls_event_adapter_, &ls_state_, ls_ready_, &ls_buffers_.event,        \
                            &ls_buffers_.book, ls_buffers_.actions, LS_ACTION_CAP);               \
    }
#else
/* The native build: the host owns the state and the buffers; one object per strategy id. */
#define LOCKSTEP_STRATEGY(ID, STATE, INIT, ON_EVENT)                                              \
    LS_ADAPTERS_(STATE, INIT, ON_EVENT)                                                           \
    uint32_t LS_CAT(LS_CAT(lockstep_c_, ID), _state_size)(void) { return sizeof(STATE); }        \
    int32_t LS_CAT(LS_CAT(lockstep_c_, ID), _init)(void *state, const char *params, uint32_t len, \
                                                   ls_action *actions, uint32_t cap, char *msg,   \
                                                   uint32_t msg_cap) {                            \
        bool ready;                                                                               \
        return ls_run_init(ls_init_adapter_, state, params, len, actions, cap, msg, msg_cap,     \
                           &ready);                                                               \
    }                                                                                             \
    int32_t LS_CAT(LS_CAT(lockstep_c_, ID), _on_event)(void *state, const ls_event *ev,          \
                                                       const ls_book *book, ls_action *actions,   \
                                                       uint32_t cap) {                            \
        return ls_run_event(ls_event_adapter_, state, true, ev, book, actions, cap);             \
    }
#endif

#endif /* LOCKSTEP_STRATEGY_H */
