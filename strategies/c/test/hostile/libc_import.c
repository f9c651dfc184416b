/* lockstep-cflags: -Wl,--allow-undefined
 * A strategy that calls libc's printf, left undefined at link: it becomes an import the engine
 * does not provide. */
#include "lockstep_strategy.h"
int printf(const char *, ...);
typedef struct { int calls; } st;
static bool st_init(st *s, ls_params p, ls_actions *o, ls_error *e) {
    (void)p, (void)o, (void)e;
    s->calls = printf("starting");
    return true;
}
static void st_event(st *s, const ls_event *ev, const ls_book *b, ls_actions *o) {
    (void)ev, (void)b, (void)o;
    s->calls++;
}
LOCKSTEP_STRATEGY(libc_import, st, st_init, st_event)
