//! The fuzz targets, one per parser: each a generator of valid inputs, a check with its
//! oracles, and a fixup of the checksums a mutation breaks.

use crate::draw::G;
use crate::error::FuzzError;
use crate::harness::Checked;

mod abi;
mod engine_checkpoint;
mod fix;
mod import;
mod inputs;
mod itch;
mod journal;
mod session_checkpoint;
mod tape;

/// One parser under test.
pub struct Target {
    /// Its name on the command line and its corpus folder.
    pub name: &'static str,
    /// What it parses, in words.
    pub about: &'static str,
    /// Builds a structurally valid input from generator bytes.
    pub(crate) generate: fn(&mut G<'_>) -> Vec<u8>,
    /// Runs the parser on any bytes and applies the oracles.
    pub(crate) check: fn(&[u8]) -> Checked,
    /// Repairs the checksums and lengths a mutation broke (best effort).
    pub(crate) fixup: fn(&mut Vec<u8>),
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target").field("name", &self.name).finish_non_exhaustive()
    }
}

/// Leaves the input as it is (formats without checksums).
fn no_fixup(_: &mut Vec<u8>) {}

/// Every target, in the order `--all` runs them.
pub static TARGETS: &[Target] = &[
    Target {
        name: "tape",
        about: "the tape reader (lockstep-sim): prologue, header, chunks, end marker",
        generate: tape::generate,
        check: tape::check,
        fixup: tape::fixup,
    },
    Target {
        name: "lobster",
        about: "the LOBSTER importer: a message file and its orderbook file",
        generate: import::lobster::generate,
        check: import::lobster::check,
        fixup: no_fixup,
    },
    Target {
        name: "csv",
        about: "the CSV importer: the generic format and Binance depth CSV",
        generate: import::text::generate_csv,
        check: import::text::check_csv,
        fixup: no_fixup,
    },
    Target {
        name: "truefx",
        about: "the CSV importer's TrueFX tick dialect",
        generate: import::text::generate_truefx,
        check: import::text::check_truefx,
        fixup: no_fixup,
    },
    Target {
        name: "tardis",
        about: "the Tardis importer: quote, trades and incremental_book_L2 files",
        generate: import::text::generate_tardis,
        check: import::text::check_tardis,
        fixup: no_fixup,
    },
    Target {
        name: "binance",
        about: "the Binance collector-capture importer: trades, book tickers, depth diffs",
        generate: import::text::generate_binance,
        check: import::text::check_binance,
        fixup: no_fixup,
    },
    Target {
        name: "databento",
        about: "the Databento DBN importer (its record pre-check, then the dbn decoder)",
        generate: import::dbn::generate,
        check: import::dbn::check,
        fixup: no_fixup,
    },
    Target {
        name: "actions",
        about: "the ABI records: ActionRecord, EventRecord, BookView and Regions decoders",
        generate: abi::generate,
        check: abi::check,
        fixup: no_fixup,
    },
    Target {
        name: "itch",
        about: "MoldUDP64 packets of ITCH 5.0 messages, and the feed handler behind them",
        generate: itch::generate,
        check: itch::check,
        fixup: no_fixup,
    },
    Target {
        name: "fix",
        about: "the FIX 4.4 framer, message view, application messages and acceptor session",
        generate: fix::generate,
        check: fix::check,
        fixup: fix::fixup,
    },
    Target {
        name: "journal",
        about: "the gateway journal reader",
        generate: journal::generate,
        check: journal::check,
        fixup: journal::fixup,
    },
    Target {
        name: "inputs",
        about: "the gateway's input log reader, and the feed sequences recorded in it",
        generate: inputs::generate,
        check: inputs::check,
        fixup: inputs::fixup,
    },
    Target {
        name: "engine-checkpoint",
        about: "engine checkpoints restored into a module (interpreter tier)",
        generate: engine_checkpoint::generate,
        check: engine_checkpoint::check,
        fixup: engine_checkpoint::fixup,
    },
    Target {
        name: "session-checkpoint",
        about: "session checkpoints decoded and resumed",
        generate: session_checkpoint::generate,
        check: session_checkpoint::check,
        fixup: session_checkpoint::fixup,
    },
];

/// The target called `name`.
///
/// # Errors
/// [`FuzzError::UnknownTarget`].
pub fn target(name: &str) -> Result<&'static Target, FuzzError> {
    TARGETS
        .iter()
        .find(|t| t.name == name)
        .ok_or_else(|| FuzzError::UnknownTarget { name: name.to_owned() })
}

/// A refusal: the parser's typed error, shown.
pub(crate) fn refused(e: impl std::fmt::Display) -> Checked {
    Ok(crate::harness::Verdict::Refused(e.to_string()))
}
