// lockstep.hpp: a small RAII layer over liblockstep's C API (lockstep.h) for C++17.
//
// Owners free their handle in the destructor (unique_ptr with the library's _free function);
// every failing call throws lockstep::Error carrying the status and the library's message.
// Threading follows the C API: Engine and Module may be shared across threads, an Instance is
// used by one thread at a time (it may be moved between threads).
#ifndef LOCKSTEP_HPP
#define LOCKSTEP_HPP

#include <array>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "lockstep.h"

namespace lockstep {

/// A failed call: the status (LS_ERR_* or an engine code) and the message.
class Error : public std::runtime_error {
public:
    Error(int32_t status, const std::string &message)
        : std::runtime_error(message), status_(status) {}
    /// The status code; `status() & ~0xff` is the engine family (LS_CODE_*) when positive.
    int32_t status() const noexcept { return status_; }

private:
    int32_t status_;
};

/// Room for a call's message.
struct ErrBuf {
    char text[512] = {0};
};

/// Throws an Error for any status but LS_OK.
inline void check(int32_t status, const ErrBuf &err) {
    if (status != LS_OK) {
        std::string message = err.text[0] != '\0' ? err.text : ls_status_name(status);
        throw Error(status, message);
    }
}

namespace detail {
struct EngineFree {
    void operator()(ls_engine *p) const noexcept { ls_engine_free(p); }
};
struct ModuleFree {
    void operator()(ls_module *p) const noexcept { ls_module_free(p); }
};
struct InstanceFree {
    void operator()(ls_instance *p) const noexcept { ls_instance_free(p); }
};
}  // namespace detail

/// The engine's default settings.
inline ls_config default_config() {
    ls_config c{};
    ls_config_default(&c);
    return c;
}

/// An engine of one tier.
class Engine {
public:
    explicit Engine(const ls_config &config = default_config()) {
        ErrBuf err;
        ls_engine *p = nullptr;
        check(ls_engine_new(&config, &p, err.text, sizeof err.text), err);
        p_.reset(p);
    }
    const ls_engine *get() const noexcept { return p_.get(); }

private:
    std::unique_ptr<ls_engine, detail::EngineFree> p_;
};

/// A loaded strategy module.
class Module {
public:
    /// Loads `.wasm` bytes.
    Module(const Engine &engine, const std::vector<uint8_t> &wasm) {
        ErrBuf err;
        ls_module *p = nullptr;
        check(ls_module_load(engine.get(), wasm.data(), wasm.size(), &p, err.text,
                             sizeof err.text),
              err);
        p_.reset(p);
    }
    /// SHA-256 of the module's .wasm bytes.
    std::array<uint8_t, LS_SHA256_SIZE> sha256() const {
        std::array<uint8_t, LS_SHA256_SIZE> out{};
        check(ls_module_sha256(p_.get(), out.data()), ErrBuf{});
        return out;
    }
    const ls_module *get() const noexcept { return p_.get(); }

private:
    std::unique_ptr<ls_module, detail::ModuleFree> p_;
};

/// What one event produced: `count` records of LS_ACTION_SIZE bytes, owned by the instance
/// and valid until its next call.
struct Step {
    const uint8_t *actions;
    size_t count;
    uint64_t fuel;
};

/// A running strategy.
class Instance {
public:
    /// Instantiates `module` with `params`.
    Instance(const Module &module, std::string_view params) {
        ErrBuf err;
        ls_instance *p = nullptr;
        check(ls_instance_new(module.get(), params.data(), params.size(), &p, err.text,
                              sizeof err.text),
              err);
        p_.reset(p);
    }
    /// Restores checkpoint bytes into a fresh instance of `module`.
    static Instance restore(const Module &module, const std::vector<uint8_t> &bytes) {
        ErrBuf err;
        ls_instance *p = nullptr;
        check(ls_instance_restore(module.get(), bytes.data(), bytes.size(), &p, err.text,
                                  sizeof err.text),
              err);
        return Instance(p);
    }
    /// Handles one event record (and the book record for book events, else nullptr).
    Step on_event(const uint8_t *event, const uint8_t *book = nullptr) {
        ErrBuf err;
        Step s{nullptr, 0, 0};
        check(ls_instance_on_event(p_.get(), event, book, &s.actions, &s.count, &s.fuel,
                                   err.text, sizeof err.text),
              err);
        return s;
    }
    /// The strategy's state as bytes (the two-call pattern, done here).
    std::vector<uint8_t> checkpoint() {
        ErrBuf err;
        size_t need = 0;
        int32_t st = ls_instance_checkpoint(p_.get(), nullptr, 0, &need, err.text,
                                            sizeof err.text);
        if (st != LS_ERR_BUFFER_TOO_SMALL) {
            check(st, err);
        }
        std::vector<uint8_t> out(need);
        check(ls_instance_checkpoint(p_.get(), out.data(), out.size(), &need, err.text,
                                     sizeof err.text),
              err);
        out.resize(need);
        return out;
    }
    /// Whether an error has halted the instance.
    bool halted() const noexcept { return ls_instance_is_halted(p_.get()) == 1; }

private:
    explicit Instance(ls_instance *p) : p_(p) {}
    std::unique_ptr<ls_instance, detail::InstanceFree> p_;
};

/// Decodes one action record.
inline ls_action decode(const uint8_t *record) {
    ls_action a{};
    int32_t st = ls_action_decode(record, &a);
    if (st != LS_OK) {
        throw Error(st, "undecodable action record");
    }
    return a;
}

}  // namespace lockstep

#endif  // LOCKSTEP_HPP
