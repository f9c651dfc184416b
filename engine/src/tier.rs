//! The two backends behind one face: a module compiled for one tier ([`Code`]), a guest linked
//! from it ([`Guest`], driven through [`on_guest!`]), and [`link`], the one place a guest is
//! instantiated and its ABI version and regions are checked. Loading and instances build on
//! this; the backends (`interp`, `compiled`) know nothing of either.

use crate::backend::BackendGuest;
use crate::config::Config;
use crate::engine::{Backend, Engine};
use crate::error::{Error, Phase};
use crate::guest::{Entry, ExportSig, ImportDesc};
use crate::instrument::MutableGlobal;
use crate::{compiled, interp};
use lockstep_sdk::{
    ABI_VERSION, ACTION_SIZE, BOOK_SIZE, EVENT_SIZE, MIN_ABI_VERSION, REGIONS_SIZE, Regions,
};

/// A module compiled for one tier.
#[derive(Clone)]
pub(crate) enum Code {
    Interpreter(wasmi::Module),
    Compiled(wasmtime::Module),
}

impl Code {
    pub(crate) fn imports(&self) -> Vec<ImportDesc> {
        match self {
            Code::Interpreter(m) => interp::imports(m),
            Code::Compiled(m) => compiled::imports(m),
        }
    }

    /// The mutable globals the module exports for checkpoints.
    pub(crate) fn globals(&self) -> Vec<MutableGlobal> {
        match self {
            Code::Interpreter(m) => interp::globals(m),
            Code::Compiled(m) => compiled::globals(m),
        }
    }

    /// An export's function signature: `None` if absent, `Some(None)` if not a function.
    pub(crate) fn export(&self, name: &str) -> Option<Option<ExportSig>> {
        match self {
            Code::Interpreter(m) => interp::export(m, name),
            Code::Compiled(m) => compiled::export(m, name),
        }
    }
}

/// A guest instantiated on one tier.
// The interpreter's store is large and inline; an instance is built once and not moved on the
// hot path, so boxing it would only add a pointer chase per event.
#[allow(clippy::large_enum_variant, reason = "built once, never moved: no box per event")]
pub(crate) enum Guest {
    Interpreter(interp::Guest),
    Compiled(compiled::Guest),
}

/// Runs the same code on whichever tier's guest `$g` holds.
macro_rules! on_guest {
    ($g:expr, $x:ident => $body:expr) => {
        match $g {
            $crate::tier::Guest::Interpreter($x) => $body,
            $crate::tier::Guest::Compiled($x) => $body,
        }
    };
}

pub(crate) use on_guest;

/// Links `code` into a fresh guest without running init: creates the preallocated memory,
/// links the host functions, runs the start function under the init fuel, and checks the ABI
/// version and the region descriptor. The one place either tier instantiates.
pub(crate) fn link(
    engine: &Engine,
    code: &Code,
    pages: (u32, Option<u32>),
    globals: &[MutableGlobal],
) -> Result<(Guest, Regions), Error> {
    let config: &Config = &engine.config;
    let mut guest = match (&engine.inner, code) {
        (Backend::Interpreter(e), Code::Interpreter(m)) => {
            Guest::Interpreter(interp::Guest::instantiate(e, m, config, pages, globals)?)
        }
        (Backend::Compiled(e), Code::Compiled(m)) => {
            Guest::Compiled(compiled::Guest::instantiate(e, m, config, pages, globals)?)
        }
        _ => unreachable!("a module is compiled by the engine it keeps"),
    };
    let budget = config.init_fuel.0;
    on_guest!(&mut guest, g => g.call(Entry::Start, 0, budget, Phase::Load)).0?;
    let (version, _) =
        on_guest!(&mut guest, g => g.call(Entry::AbiVersion, 0, budget, Phase::Load));
    let version = version?;
    if !supported(i64::from(version)) {
        return Err(Error::AbiVersion { found: i64::from(version), expected: ABI_VERSION });
    }
    let (at, _) = on_guest!(&mut guest, g => g.call(Entry::Regions, 0, budget, Phase::Load));
    let at = at? as u32 as usize;
    let memory = on_guest!(&guest, g => g.memory());
    let Some(raw) = memory.get(at..at + REGIONS_SIZE) else {
        return Err(Error::BadRegions {
            reason: format!("descriptor address {at:#x} is outside memory"),
        });
    };
    let mut bytes = [0u8; REGIONS_SIZE];
    bytes.copy_from_slice(raw);
    let regions = Regions::decode(&bytes);
    if i64::from(regions.abi_version) != i64::from(version) {
        return Err(Error::BadRegions {
            reason: format!(
                "the descriptor says ABI v{} but lockstep_abi_version returned {version}",
                regions.abi_version
            ),
        });
    }
    check_regions(&regions, memory.len(), config)?;
    Ok((guest, regions))
}

/// Whether the engine runs guests of ABI `version` (v1 and v2: v1's records keep their meaning).
pub(crate) fn supported(version: i64) -> bool {
    (i64::from(MIN_ABI_VERSION)..=i64::from(ABI_VERSION)).contains(&version)
}

fn check_regions(r: &Regions, mem_len: usize, config: &Config) -> Result<(), Error> {
    if !supported(i64::from(r.abi_version)) {
        return Err(Error::AbiVersion { found: i64::from(r.abi_version), expected: ABI_VERSION });
    }
    if r.action_cap == 0 || r.action_cap > config.max_action_cap {
        return Err(Error::BadRegions {
            reason: format!(
                "action capacity {} is outside 1..={}",
                r.action_cap, config.max_action_cap
            ),
        });
    }
    let spans = [
        ("event", r.event_ptr, EVENT_SIZE as u64),
        ("action", r.action_ptr, u64::from(r.action_cap) * ACTION_SIZE as u64),
        ("book", r.book_ptr, BOOK_SIZE as u64),
        ("params", r.params_ptr, u64::from(r.params_cap)),
    ];
    for (name, ptr, len) in spans {
        if u64::from(ptr) + len > mem_len as u64 {
            return Err(Error::BadRegions {
                reason: format!(
                    "{name} region {ptr:#x}+{len} ends past initial memory ({mem_len} bytes)"
                ),
            });
        }
    }
    for (i, (a, pa, la)) in spans.iter().enumerate() {
        for (b, pb, lb) in &spans[i + 1..] {
            let (pa, pb) = (u64::from(*pa), u64::from(*pb));
            if pa < pb + lb && pb < pa + la {
                return Err(Error::BadRegions { reason: format!("{a} and {b} regions overlap") });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regions() -> Regions {
        Regions {
            abi_version: ABI_VERSION,
            event_ptr: 64,
            action_ptr: 128,
            action_cap: 4,
            book_ptr: 512,
            params_ptr: 1024,
            params_cap: 256,
        }
    }

    #[test]
    fn good_regions_pass() {
        assert_eq!(check_regions(&regions(), 65_536, &Config::new()), Ok(()));
    }

    #[test]
    fn overlapping_regions_are_named() {
        let r = Regions { book_ptr: 100, ..regions() };
        let e = check_regions(&r, 65_536, &Config::new()).unwrap_err();
        assert_eq!(e, Error::BadRegions { reason: "event and book regions overlap".into() });
    }

    #[test]
    fn regions_past_memory_and_bad_caps_are_refused() {
        let r = Regions { params_ptr: 65_500, ..regions() };
        assert!(matches!(check_regions(&r, 65_536, &Config::new()), Err(Error::BadRegions { .. })));
        let r = Regions { action_cap: 0, ..regions() };
        assert!(matches!(check_regions(&r, 65_536, &Config::new()), Err(Error::BadRegions { .. })));
        let r = Regions { abi_version: 7, ..regions() };
        assert_eq!(
            check_regions(&r, 65_536, &Config::new()),
            Err(Error::AbiVersion { found: 7, expected: ABI_VERSION })
        );
    }
}
