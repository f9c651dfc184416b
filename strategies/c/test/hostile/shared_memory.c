/* lockstep-cflags: -matomics -Wl,--shared-memory -Wl,--max-memory=1048576
 * The same counter linked for threads: the memory it imports is shared. */
#include "lockstep_strategy.h"
static _Atomic int events;
typedef struct { int unused; } st;
static bool st_init(st *s, ls_params p, ls_actions *o, ls_error *e) {
    (void)s, (void)p, (void)o, (void)e;
    return true;
}
static void st_event(st *s, const ls_event *ev, const ls_book *b, ls_actions *o) {
    (void)s, (void)ev, (void)b, (void)o;
    events++;
}
LOCKSTEP_STRATEGY(shared_memory, st, st_init, st_event)
