/* lockstep-cflags: -msimd128
 * A strategy that squares four lanes at once with a 128-bit vector. */
#include "lockstep_strategy.h"
typedef int32_t v4 __attribute__((vector_size(16)));
typedef struct { v4 lanes; } st;
static bool st_init(st *s, ls_params p, ls_actions *o, ls_error *e) {
    (void)p, (void)o, (void)e;
    s->lanes = (v4){1, 2, 3, (int32_t)p.len};
    return true;
}
static void st_event(st *s, const ls_event *ev, const ls_book *b, ls_actions *o) {
    (void)b;
    s->lanes = s->lanes * s->lanes + (int32_t)ev->seq;
    ls_signal(o, 0, 1, s->lanes[0] + s->lanes[3]);
}
LOCKSTEP_STRATEGY(simd, st, st_init, st_event)
