// The C gateway's run, briefly, in C++ with lockstep.hpp: load, instantiate, feed the synthetic
// market, count and hash the actions, checkpoint halfway, check a restored copy acts the same,
// and show an error arriving as an exception. Exit code 0 only if every check holds.
//
//   gateway_cpp <strategy.wasm> <interpreter|compiled> [params] [events]
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "lockstep.hpp"
#include "synth.h"

namespace {

std::vector<uint8_t> read_file(const char *path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        throw std::runtime_error(std::string("cannot read ") + path);
    }
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

int run(int argc, char **argv) {
    const bool compiled = std::strcmp(argv[2], "compiled") == 0;
    const std::string params = argc > 3 ? argv[3] : "";
    const int events = argc > 4 ? std::atoi(argv[4]) : 2000;
    const std::vector<uint8_t> wasm = read_file(argv[1]);

    ls_config config = lockstep::default_config();
    config.tier = compiled ? LS_TIER_COMPILED : LS_TIER_INTERPRETER;
    lockstep::Engine engine(config);
    lockstep::Module module(engine, wasm);
    lockstep::Instance a(module, params);
    std::unique_ptr<lockstep::Instance> b;

    uint64_t kinds[7] = {0};
    uint64_t fuel = 0;
    uint64_t hash = 14695981039346656037ULL;
    bool identical = true;
    synth s = synth_new(42);
    for (int i = 1; i <= events; i++) {
        uint8_t record[LS_EVENT_SIZE];
        uint8_t book[LS_BOOK_SIZE];
        const int is_book = synth_event(&s, record, book);
        const lockstep::Step step = a.on_event(record, is_book ? book : nullptr);
        for (size_t k = 0; k < step.count; k++) {
            kinds[lockstep::decode(step.actions + k * LS_ACTION_SIZE).kind]++;
        }
        hash = synth_fnv(hash, step.actions, step.count * LS_ACTION_SIZE);
        fuel += step.fuel;
        if (b) {
            const lockstep::Step other = b->on_event(record, is_book ? book : nullptr);
            identical = identical && other.count == step.count && other.fuel == step.fuel &&
                        (step.count == 0 || std::memcmp(other.actions, step.actions,
                                                        step.count * LS_ACTION_SIZE) == 0);
        }
        if (i == events / 2) {
            b = std::make_unique<lockstep::Instance>(
                lockstep::Instance::restore(module, a.checkpoint()));
        }
    }
    std::printf("restored identical=%s\n", identical ? "yes" : "no");
    std::printf("actions place_limit=%" PRIu64 " place_market=%" PRIu64 " cancel=%" PRIu64
                " replace=%" PRIu64 " set_timer=%" PRIu64 " signal=%" PRIu64 "\n",
                kinds[LS_ACTION_PLACE_LIMIT], kinds[LS_ACTION_PLACE_MARKET],
                kinds[LS_ACTION_CANCEL], kinds[LS_ACTION_REPLACE], kinds[LS_ACTION_SET_TIMER],
                kinds[LS_ACTION_SIGNAL]);
    std::printf("fuel=%" PRIu64 "\n", fuel);
    std::printf("action_hash=%016" PRIx64 "\n", hash);

    bool refused = false;
    try {
        lockstep::Module bad(engine, std::vector<uint8_t>{'n', 'o', 't', ' ', 'w', 'a', 's', 'm'});
    } catch (const lockstep::Error &e) {
        refused = (e.status() & ~0xff) == LS_CODE_MALFORMED && std::strlen(e.what()) > 0;
    }
    std::printf("malformed refused=%s\n", refused ? "yes" : "no");
    const bool ok = identical && refused && !a.halted();
    if (ok) {
        std::printf("OK\n");
    }
    return ok ? 0 : 1;
}

}  // namespace

int main(int argc, char **argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: %s <strategy.wasm> <interpreter|compiled> [params] [events]\n",
                     argv[0]);
        return 2;
    }
    try {
        return run(argc, argv);
    } catch (const lockstep::Error &e) {
        std::fprintf(stderr, "lockstep error %d (%s): %s\n", e.status(),
                     ls_status_name(e.status()), e.what());
    } catch (const std::exception &e) {
        std::fprintf(stderr, "error: %s\n", e.what());
    }
    return 1;
}
