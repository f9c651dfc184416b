/*
 * A small C gateway on liblockstep: loads a strategy, feeds it a synthetic market, decodes its
 * actions, checkpoints it halfway and checks a restored copy acts identically, then exercises
 * the API's error paths. Exit code 0 only if every check holds.
 *
 *   gateway <strategy.wasm> <interpreter|compiled> [params] [events]
 *
 * Build (from the workspace root, after `cargo build -p lockstep-capi --release`):
 *   cc -std=c11 -Wall -Wextra -Werror -I engine/capi/include engine/capi/examples/c/gateway.c \
 *      target/release/liblockstep.a -lpthread -ldl -lm -o gateway
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lockstep.h"
#include "synth.h"

#define ERR_CAP 512

static int failures = 0;
static int checks = 0;

/* Records one check; prints what failed. */
static void expect(int ok, const char *what) {
    checks++;
    if (!ok) {
        failures++;
        fprintf(stderr, "CHECK FAILED: %s\n", what);
    }
}

/* Prints a failed call and exits. */
static void die(const char *call, int32_t status, const char *err) {
    fprintf(stderr, "%s failed: status %" PRId32 " (%s): %s\n", call, status,
            ls_status_name(status), err);
    exit(1);
}

/* Reads a whole file into a malloc'd buffer. */
static uint8_t *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        return NULL;
    }
    uint8_t *buf = NULL;
    size_t cap = 0;
    *len = 0;
    for (;;) {
        if (*len == cap) {
            cap = cap ? cap * 2 : 65536;
            uint8_t *grown = realloc(buf, cap);
            if (grown == NULL) {
                free(buf);
                fclose(f);
                return NULL;
            }
            buf = grown;
        }
        size_t n = fread(buf + *len, 1, cap - *len, f);
        if (n == 0) {
            break;
        }
        *len += n;
    }
    fclose(f);
    return buf;
}

/* What one run of the market produced. */
typedef struct tally {
    uint64_t kinds[7]; /* by LS_ACTION_* kind; [0] counts undecodable records */
    uint64_t fuel;
    uint64_t hash;
} tally;

static void count_actions(tally *t, const uint8_t *actions, size_t count) {
    for (size_t i = 0; i < count; i++) {
        ls_action a;
        int32_t st = ls_action_decode(actions + i * LS_ACTION_SIZE, &a);
        t->kinds[st == LS_OK && a.kind <= 6 ? a.kind : 0]++;
    }
    t->hash = synth_fnv(t->hash, actions, count * LS_ACTION_SIZE);
}

/* Takes a checkpoint with the two-call pattern; returns a malloc'd buffer. */
static uint8_t *checkpoint(ls_instance *inst, size_t *len) {
    char err[ERR_CAP];
    size_t need = 0;
    int32_t st = ls_instance_checkpoint(inst, NULL, 0, &need, err, sizeof err);
    expect(st == LS_ERR_BUFFER_TOO_SMALL && need > 0, "checkpoint size query");
    uint8_t *buf = malloc(need);
    if (buf == NULL) {
        die("malloc", 0, "out of memory");
    }
    st = ls_instance_checkpoint(inst, buf, need - 1, len, err, sizeof err);
    expect(st == LS_ERR_BUFFER_TOO_SMALL && *len == need, "checkpoint into a short buffer");
    expect(strlen(err) > 0, "a short buffer has a message");
    st = ls_instance_checkpoint(inst, buf, need, len, err, sizeof err);
    if (st != LS_OK) {
        die("ls_instance_checkpoint", st, err);
    }
    expect(*len == need && err[0] == '\0', "checkpoint written, message cleared");
    return buf;
}

/* Feeds `events` events to `a`; from the halfway point also to a restored copy, comparing. */
static tally run_market(const ls_module *module, ls_instance *a, int events, size_t *ckpt_len) {
    tally t;
    memset(&t, 0, sizeof t);
    t.hash = 14695981039346656037ULL;
    synth s = synth_new(42);
    ls_instance *b = NULL;
    int compared = 0, identical = 1;
    char err[ERR_CAP];
    for (int i = 1; i <= events; i++) {
        uint8_t record[LS_EVENT_SIZE], book[LS_BOOK_SIZE];
        int is_book = synth_event(&s, record, book);
        if (is_book < 0) {
            die("synth_event", LS_ERR_INVALID_ARGUMENT, "encoding failed");
        }
        const uint8_t *acts = NULL;
        size_t n = 0;
        uint64_t fuel = 0;
        int32_t st = ls_instance_on_event(a, record, is_book ? book : NULL, &acts, &n, &fuel, err,
                                          sizeof err);
        if (st != LS_OK) {
            die("ls_instance_on_event", st, err);
        }
        count_actions(&t, acts, n);
        t.fuel += fuel;
        if (b != NULL) {
            const uint8_t *acts_b = NULL;
            size_t n_b = 0;
            uint64_t fuel_b = 0;
            st = ls_instance_on_event(b, record, is_book ? book : NULL, &acts_b, &n_b, &fuel_b,
                                      err, sizeof err);
            if (st != LS_OK) {
                die("ls_instance_on_event (restored)", st, err);
            }
            compared++;
            if (n != n_b || fuel != fuel_b ||
                (n > 0 && memcmp(acts, acts_b, n * LS_ACTION_SIZE) != 0)) {
                identical = 0;
            }
        }
        if (i == events / 2) {
            uint8_t *bytes = checkpoint(a, ckpt_len);
            st = ls_instance_restore(module, bytes, *ckpt_len, &b, err, sizeof err);
            free(bytes);
            if (st != LS_OK) {
                die("ls_instance_restore", st, err);
            }
        }
    }
    expect(identical && compared == events - events / 2, "restored copy acts identically");
    printf("restored compared=%d identical=%s\n", compared, identical ? "yes" : "no");
    ls_instance_free(b);
    return t;
}

/* Precompiles the module (compiled tier) and checks the artefact loads as the same module. */
static void check_precompile(const ls_engine *engine, const ls_module *module, const uint8_t *wasm,
                             size_t len, int compiled) {
    char err[ERR_CAP];
    size_t need = 0;
    int32_t st = ls_module_precompile(engine, wasm, len, NULL, 0, &need, err, sizeof err);
    if (!compiled) {
        expect((st & ~0xff) == LS_CODE_WRONG_TIER, "precompile needs the compiled tier");
        return;
    }
    expect(st == LS_ERR_BUFFER_TOO_SMALL && need > 0, "precompile size query");
    uint8_t *artefact = malloc(need);
    size_t written = 0;
    st = ls_module_precompile(engine, wasm, len, artefact, need, &written, err, sizeof err);
    if (st != LS_OK) {
        die("ls_module_precompile", st, err);
    }
    ls_module *pre = NULL;
    st = ls_module_load_precompiled(engine, artefact, written, &pre, err, sizeof err);
    if (st != LS_OK) {
        die("ls_module_load_precompiled", st, err);
    }
    uint8_t h1[LS_SHA256_SIZE], h2[LS_SHA256_SIZE];
    expect(ls_module_sha256(module, h1) == LS_OK && ls_module_sha256(pre, h2) == LS_OK &&
               memcmp(h1, h2, sizeof h1) == 0,
           "a precompiled module has the .wasm's SHA-256");
    artefact[written / 2] ^= 0x5a;
    ls_module *bad = NULL;
    st = ls_module_load_precompiled(engine, artefact, written, &bad, err, sizeof err);
    expect(st != LS_OK && bad == NULL, "a damaged artefact is refused");
    ls_module_free(pre);
    free(artefact);
}

/* Loads a module and restores checkpoints that are wrong in different ways. */
static void check_load_and_restore_errors(ls_engine *engine, const ls_module *module,
                                          ls_instance *inst) {
    char err[ERR_CAP], small[8];
    static const uint8_t garbage[] = "this is not WebAssembly";
    ls_module *m = (ls_module *)(uintptr_t)1; /* must be overwritten with NULL */
    int32_t st = ls_module_load(engine, garbage, sizeof garbage, &m, err, sizeof err);
    expect((st & ~0xff) == LS_CODE_MALFORMED && m == NULL, "a malformed module is refused");
    expect(strcmp(ls_status_name(st), "malformed module") == 0, "status name of malformed");
    st = ls_module_load(engine, garbage, sizeof garbage, &m, small, sizeof small);
    expect(strlen(small) == sizeof small - 1, "messages are truncated and NUL-terminated");
    expect(ls_module_load(engine, NULL, 4, &m, err, sizeof err) == LS_ERR_NULL, "null wasm");
    expect(ls_module_load(NULL, garbage, 4, &m, err, sizeof err) == LS_ERR_NULL, "null engine");

    size_t len = 0;
    uint8_t *bytes = checkpoint(inst, &len);
    ls_instance *r = NULL;
    bytes[len / 2] ^= 0xff;
    st = ls_instance_restore(module, bytes, len, &r, err, sizeof err);
    expect((st & ~0xff) == LS_CODE_CHECKPOINT && r == NULL, "a corrupt checkpoint is refused");
    st = ls_instance_restore(module, bytes, len / 3, &r, err, sizeof err);
    expect((st & ~0xff) == LS_CODE_CHECKPOINT, "a truncated checkpoint is refused");
    st = ls_instance_restore(module, garbage, sizeof garbage, &r, err, sizeof err);
    expect(st == (LS_CODE_CHECKPOINT | 1), "not a checkpoint");
    expect(ls_instance_restore(module, NULL, 0, &r, err, sizeof err) == LS_ERR_NULL, "null bytes");
    free(bytes);
}

/* Hot swap: a fresh take-over by the same module is a working instance; a migration to a
 * module without lockstep_migrate is refused and the running instance goes on. */
static void check_take_over(const ls_module *module, ls_instance *inst, const char *params) {
    char err[ERR_CAP];
    ls_instance *next = NULL;
    int32_t st = ls_instance_take_over(module, inst, params, strlen(params), 0, &next, err,
                                       sizeof err);
    expect(st == LS_OK && next != NULL, "a fresh take-over gives an instance");
    ls_instance_free(next);
    next = (ls_instance *)(uintptr_t)1; /* must be overwritten with NULL */
    st = ls_instance_take_over(module, inst, NULL, 0, 1, &next, err, sizeof err);
    expect(st == LS_CODE_MIGRATION_REFUSED && next == NULL, "no lockstep_migrate: refused");
    expect(strcmp(ls_status_name(st), "migration refused") == 0, "status name of a refusal");
    expect(ls_instance_is_halted(inst) == 0, "the running instance goes on");
    expect(ls_instance_take_over(module, NULL, NULL, 0, 1, &next, err, sizeof err) == LS_ERR_NULL,
           "null running instance");
    printf("take_over fresh=ok migrate=refused\n");
}

/* Null pointers, bad arguments, and an instance that runs out of fuel. */
static void check_api_errors(const ls_module *module, ls_instance *inst, int tier,
                             const char *wasm_path, const char *params) {
    char err[ERR_CAP];
    ls_engine *e = NULL;
    expect(ls_engine_new(NULL, &e, err, sizeof err) == LS_ERR_NULL && e == NULL, "null config");
    expect(strlen(err) > 0, "a null argument has a message");
    ls_config config;
    expect(ls_config_default(NULL) == LS_ERR_NULL, "null config out");
    ls_config_default(&config);
    config.tier = 7;
    expect(ls_engine_new(&config, &e, err, sizeof err) == LS_ERR_INVALID_ARGUMENT, "bad tier");
    expect(ls_engine_new(&config, NULL, NULL, 0) == LS_ERR_NULL, "null out, no err buffer");
    ls_instance *i2 = NULL;
    expect(ls_instance_new(module, "\xff", 1, &i2, err, sizeof err) == LS_ERR_INVALID_ARGUMENT,
           "params must be UTF-8");
    uint8_t record[LS_EVENT_SIZE];
    const uint8_t *acts = NULL;
    size_t n = 0;
    expect(ls_instance_on_event(inst, NULL, NULL, &acts, &n, NULL, err, sizeof err) ==
               LS_ERR_NULL,
           "null event");
    ls_event ev;
    memset(&ev, 0, sizeof ev);
    ev.kind = 99;
    expect(ls_event_encode(&ev, record) == LS_ERR_INVALID_ARGUMENT, "unknown event kind");
    ls_action a;
    uint8_t zero[LS_ACTION_SIZE] = {0};
    expect(ls_action_decode(zero, &a) == LS_ERR_INVALID_ARGUMENT, "unknown action kind");
    expect(ls_instance_is_halted(NULL) == LS_ERR_NULL && ls_instance_is_halted(inst) == 0,
           "is_halted");
    size_t w = 0;
    expect(ls_instance_checkpoint(inst, NULL, 0, NULL, err, sizeof err) == LS_ERR_NULL,
           "null written");
    expect(ls_instance_checkpoint(inst, NULL, 5, &w, err, sizeof err) == LS_ERR_NULL,
           "null buffer with a capacity");

    /* A starved engine: the first event runs out of fuel and halts the instance. */
    ls_config_default(&config);
    config.tier = (uint32_t)tier;
    config.fuel_per_event = 10;
    size_t len = 0;
    uint8_t *wasm = read_file(wasm_path, &len);
    ls_module *m = NULL;
    ls_instance *starved = NULL;
    if (ls_engine_new(&config, &e, err, sizeof err) != LS_OK ||
        ls_module_load(e, wasm, len, &m, err, sizeof err) != LS_OK ||
        ls_instance_new(m, params, strlen(params), &starved, err, sizeof err) != LS_OK) {
        die("starved engine setup", -1, err);
    } else {
        synth s = synth_new(7);
        uint8_t book[LS_BOOK_SIZE];
        synth_event(&s, record, book);
        int32_t st = ls_instance_on_event(starved, record, NULL, &acts, &n, NULL, err, sizeof err);
        expect((st & ~0xff) == LS_CODE_OUT_OF_FUEL && acts == NULL && n == 0, "out of fuel");
        expect(ls_instance_is_halted(starved) == 1, "out of fuel halts");
        st = ls_instance_on_event(starved, record, NULL, &acts, &n, NULL, err, sizeof err);
        expect((st & ~0xff) == LS_CODE_HALTED, "a halted instance refuses events");
    }
    ls_instance_free(starved);
    ls_module_free(m);
    ls_engine_free(e);
    free(wasm);
    ls_engine_free(NULL);
    ls_module_free(NULL);
    ls_instance_free(NULL);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s <strategy.wasm> <interpreter|compiled> [params] [events]\n",
                argv[0]);
        return 2;
    }
    int compiled = strcmp(argv[2], "compiled") == 0;
    const char *params = argc > 3 ? argv[3] : "";
    int events = argc > 4 ? atoi(argv[4]) : 2000;
    size_t len = 0;
    uint8_t *wasm = read_file(argv[1], &len);
    if (wasm == NULL) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        return 2;
    }
    char err[ERR_CAP];
    ls_config config;
    ls_config_default(&config);
    config.tier = compiled ? LS_TIER_COMPILED : LS_TIER_INTERPRETER;
    ls_engine *engine = NULL;
    int32_t st = ls_engine_new(&config, &engine, err, sizeof err);
    if (st != LS_OK) {
        die("ls_engine_new", st, err);
    }
    ls_module *module = NULL;
    st = ls_module_load(engine, wasm, len, &module, err, sizeof err);
    if (st != LS_OK) {
        die("ls_module_load", st, err);
    }
    check_precompile(engine, module, wasm, len, compiled);
    ls_instance *inst = NULL;
    st = ls_instance_new(module, params, strlen(params), &inst, err, sizeof err);
    if (st != LS_OK) {
        die("ls_instance_new", st, err);
    }
    size_t ckpt_len = 0;
    tally t = run_market(module, inst, events, &ckpt_len);
    printf("tier=%s events=%d checkpoint_bytes=%zu\n", compiled ? "compiled" : "interpreter",
           events, ckpt_len);
    printf("actions place_limit=%" PRIu64 " place_market=%" PRIu64 " cancel=%" PRIu64
           " replace=%" PRIu64 " set_timer=%" PRIu64 " signal=%" PRIu64 " undecodable=%" PRIu64
           "\n",
           t.kinds[LS_ACTION_PLACE_LIMIT], t.kinds[LS_ACTION_PLACE_MARKET],
           t.kinds[LS_ACTION_CANCEL], t.kinds[LS_ACTION_REPLACE], t.kinds[LS_ACTION_SET_TIMER],
           t.kinds[LS_ACTION_SIGNAL], t.kinds[0]);
    printf("fuel=%" PRIu64 "\n", t.fuel);
    printf("action_hash=%016" PRIx64 "\n", t.hash);
    expect(t.kinds[0] == 0, "every action decodes");

    check_load_and_restore_errors(engine, module, inst);
    check_take_over(module, inst, params);
    check_api_errors(module, inst, compiled, argv[1], params);

    ls_instance_free(inst);
    ls_module_free(module);
    ls_engine_free(engine);
    free(wasm);
    printf("checks=%d failed=%d\n", checks, failures);
    if (failures == 0) {
        printf("OK\n");
    }
    return failures == 0 ? 0 : 1;
}
