//! The first pass over LOBSTER inputs: which inputs are one instrument, whether their files
//! belong together (LOBSTER's names), and each instrument's tick, given or inferred from its
//! limit prices.

use super::reconcile::Reconciler;
use super::record::{BookRow, PRICE_MUL, parse_book_row, parse_message};
use crate::error::{ImportError, file_name, quoted};
use crate::lines::Lines;
use crate::tick::{TickChoice, TickGcd, TickSource};
use lockstep_sdk::{ONE, Price, Qty};
use lockstep_sim::{InstrumentInfo, MAX_INSTRUMENTS};
use std::path::{Path, PathBuf};

/// One LOBSTER input of an import: a message file, the orderbook file of the same rows if any,
/// and its instrument's symbol and tick.
///
/// Inputs with the same symbol are one instrument (a day split into several files, given in
/// time order); inputs with different symbols are different instruments of one tape.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LobsterInput {
    /// The message file (`…_message_N.csv`, plain or gzip).
    pub message: PathBuf,
    /// Its orderbook file (`…_orderbook_N.csv`): seeds the opening book and keeps the book
    /// equal to LOBSTER's.
    pub orderbook: Option<PathBuf>,
    /// The instrument's symbol (`None`: the message file name's prefix, `GOOG` for
    /// `GOOG_2012-06-21_…`).
    pub symbol: Option<String>,
    /// The instrument's tick size (`None`: inferred from the data, see
    /// [`crate::import_lobster`]). Inputs of one symbol that give a tick must give the same one.
    pub tick: Option<Price>,
}

impl LobsterInput {
    /// A message file alone: symbol from its name, tick inferred.
    pub fn new(message: impl Into<PathBuf>) -> Self {
        Self { message: message.into(), ..Self::default() }
    }

    /// The same input with its orderbook file.
    pub fn with_orderbook(mut self, orderbook: impl Into<PathBuf>) -> Self {
        self.orderbook = Some(orderbook.into());
        self
    }
}

/// An instrument of a LOBSTER import: its inputs' shared state.
pub(crate) struct Instrument {
    pub(crate) symbol: String,
    /// The tick given by one of its inputs, and which.
    given: Option<(Price, usize)>,
    /// Whether any of its inputs has an orderbook file (the reconciler's book is then kept).
    pub(crate) has_book: bool,
    /// Whether a row of it has been written (the opening book is seeded before the first).
    pub(crate) started: bool,
    /// Levels per orderbook row (0 until the first orderbook row).
    pub(crate) file_levels: usize,
    pub(crate) rec: Reconciler,
}

/// What the first pass finds.
pub(crate) struct Scan {
    /// The instruments, by id.
    pub(crate) instruments: Vec<Instrument>,
    /// The instrument of each input.
    pub(crate) of_input: Vec<u16>,
    /// Each instrument's tick, by id.
    pub(crate) ticks: Vec<TickChoice>,
    /// The trading day the file names give (`YYYY-MM-DD`), if they give one.
    pub(crate) day: Option<String>,
}

/// The first pass (see [`crate::import_lobster`] for how a tick is inferred).
pub(crate) fn scan(inputs: &[LobsterInput]) -> Result<Scan, ImportError> {
    let first_day = inputs.iter().find_map(|i| day_from(&i.message).map(|d| (d, &i.message)));
    let mut instruments: Vec<Instrument> = Vec::new();
    let mut of_input: Vec<u16> = Vec::with_capacity(inputs.len());
    for (k, input) in inputs.iter().enumerate() {
        check_names(input, first_day)?;
        of_input.push(instrument_of(&mut instruments, input, k)?);
    }
    // For the instruments whose tick is not given: their limit prices.
    let ticks: Vec<TickChoice> = (0..instruments.len())
        .map(|i| choose_tick(i, &instruments[i], inputs, &of_input))
        .collect::<Result<_, _>>()?;
    let day = first_day.map(|(d, _)| d.to_owned());
    Ok(Scan { instruments, of_input, ticks, day })
}

/// The tape's instruments.
pub(crate) fn instruments(scan: &Scan) -> Vec<InstrumentInfo> {
    scan.instruments
        .iter()
        .zip(&scan.ticks)
        .enumerate()
        .map(|(i, (ins, t))| {
            // LOBSTER sizes are shares of a Nasdaq stock: US dollars, New York time.
            let mut info = InstrumentInfo::spot(
                i as u16,
                ins.symbol.clone(),
                "NASDAQ (LOBSTER)",
                t.tick,
                Qty(ONE),
                "USD",
                "America/New_York",
            );
            info.price_scale = 4;
            info
        })
        .collect()
}

fn format(file: &Path, reason: String) -> ImportError {
    ImportError::Format { file: file.to_path_buf(), reason }
}

/// Refuses an orderbook file LOBSTER names for another message file, and a message file of
/// another day than `first_day` (the first day a message file's name gives, and that file).
fn check_names(
    input: &LobsterInput,
    first_day: Option<(&str, &PathBuf)>,
) -> Result<(), ImportError> {
    if let Some(ob) = &input.orderbook
        && let Some(why) = pairing_mismatch(&input.message, ob)
    {
        return Err(format(ob, why));
    }
    if let (Some((day, file)), Some(d)) = (first_day, day_from(&input.message))
        && d != day
    {
        return Err(format(
            &input.message,
            format!(
                "is of {d}, {} of {day}; LOBSTER times are seconds after midnight, so days \
                 cannot share a tape: import each day separately",
                quoted(file_name(file))
            ),
        ));
    }
    Ok(())
}

/// The instrument of input `k` (a new one for a new symbol), with the tick it gives.
fn instrument_of(
    instruments: &mut Vec<Instrument>,
    input: &LobsterInput,
    k: usize,
) -> Result<u16, ImportError> {
    let symbol = input.symbol.clone().unwrap_or_else(|| symbol_from(&input.message));
    let i = match instruments.iter().position(|x| x.symbol == symbol) {
        Some(i) => i,
        None => {
            if instruments.len() >= MAX_INSTRUMENTS {
                return Err(format(
                    &input.message,
                    format!(
                        "more than {MAX_INSTRUMENTS} symbols, the most a tape can hold; split \
                         the input"
                    ),
                ));
            }
            instruments.push(Instrument {
                symbol,
                given: None,
                has_book: false,
                started: false,
                file_levels: 0,
                rec: Reconciler::new(),
            });
            instruments.len() - 1
        }
    };
    let ins = &mut instruments[i];
    ins.has_book |= input.orderbook.is_some();
    if let Some(t) = input.tick {
        match ins.given {
            Some((g, at)) if g != t => {
                return Err(format(
                    &input.message,
                    format!(
                        "tick {t} for {}, but input {} gives it tick {g}; give one tick per \
                         symbol",
                        ins.symbol,
                        at + 1
                    ),
                ));
            }
            Some(_) => {}
            None => ins.given = Some((t, k)),
        }
    }
    Ok(i as u16)
}

/// Instrument `i`'s tick: given, or inferred from the limit prices of its inputs.
fn choose_tick(
    i: usize,
    ins: &Instrument,
    inputs: &[LobsterInput],
    of_input: &[u16],
) -> Result<TickChoice, ImportError> {
    let instrument = i as u16;
    if let Some((tick, _)) = ins.given {
        return Ok(TickChoice { instrument, tick, source: TickSource::Given, prices: 0 });
    }
    let mut g = TickGcd::default();
    for (input, _) in inputs.iter().zip(of_input).filter(|(_, x)| usize::from(**x) == i) {
        scan_prices(&input.message, input.orderbook.as_deref(), &mut g)?;
    }
    Ok(TickChoice {
        instrument,
        // Only halt rows: no price to infer from, LOBSTER's unit.
        tick: g.tick(PRICE_MUL).unwrap_or(Price(PRICE_MUL)),
        source: TickSource::Inferred,
        prices: g.prices(),
    })
}

/// Adds the limit prices of a message file and its orderbook file to `g` (see
/// [`crate::import_lobster`]).
fn scan_prices(
    message: &Path,
    orderbook: Option<&Path>,
    g: &mut TickGcd,
) -> Result<(), ImportError> {
    let mut msgs = Lines::open(message)?;
    while msgs.next_row()? {
        let m = parse_message(&msgs, msgs.text())?;
        if matches!(m.kind, 1..=4) {
            g.observe(m.price);
        }
    }
    if let Some(ob) = orderbook {
        let mut book = Lines::open(ob)?;
        let mut row = BookRow::default();
        while book.next_line()? {
            parse_book_row(&book, book.text(), &mut row)?;
            for &(p, _) in row.asks.iter().chain(&row.bids) {
                g.observe(p);
            }
        }
    }
    Ok(())
}

/// The symbol a LOBSTER file name starts with (`GOOG_2012-06-21_..._message_5.csv` → `GOOG`).
fn symbol_from(path: &Path) -> String {
    path.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.split('_').next())
        .filter(|s| !s.is_empty())
        .unwrap_or("LOBSTER")
        .to_owned()
}

/// The trading day a LOBSTER file name gives (`GOOG_2012-06-21_...` → `2012-06-21`), if any.
fn day_from(path: &Path) -> Option<&str> {
    let name = path.file_name()?.to_str()?;
    let day = name.split('_').nth(1)?;
    let b = day.as_bytes();
    (b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit()))
    .then_some(day)
}

/// Why `orderbook` cannot be the orderbook file of `message`, when both carry LOBSTER's names
/// (`<stem>_message_<N>.csv` and `<stem>_orderbook_<N>.csv`) and these differ.
fn pairing_mismatch(message: &Path, orderbook: &Path) -> Option<String> {
    let m = message.file_name()?.to_str()?;
    let o = orderbook.file_name()?.to_str()?;
    let expected = m.replacen("_message_", "_orderbook_", 1);
    (m.contains("_message_") && o.contains("_orderbook_") && o != expected).then(|| {
        format!(
            "is not the orderbook file of {} (LOBSTER names that {expected}); give the \
             orderbook files in the order of their message files, one per message file",
            quoted(m)
        )
    })
}
