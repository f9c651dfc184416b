//! The logic behind every C function, in safe Rust over references, slices and `Option`s
//! (`None` where C passed a null pointer). `ffi` only turns pointers into these and back.

use crate::status::{ApiError, ApiResult};
use crate::types::{
    LS_TIER_COMPILED, LS_TIER_INTERPRETER, ls_action, ls_config, ls_engine, ls_event, ls_instance,
    ls_level, ls_module,
};
use lockstep_engine::sdk::{
    ACTION_SIZE, Action, ActionRecord, BOOK_LEVELS, BOOK_SIZE, BookRecord, Canceled, EVENT_SIZE,
    Event, EventBody, EventHeader, EventRecord, Fill, Level, Nanos, OrderAck, Price, Qty, Quote,
    Reject, Side, Trade, event_kind,
};
use lockstep_engine::{Config, Engine, Fuel, StrategyModule, Tier, WASM_PAGE};

/// `Some(x)` or the null-argument error naming `arg`.
fn need<T>(value: Option<T>, arg: &'static str) -> Result<T, ApiError> {
    value.ok_or(ApiError::Null(arg))
}

/// Builds a handle and stores it in `*out`; `*out` is null whenever this fails.
fn put<T>(out: Option<&mut *mut T>, make: impl FnOnce() -> Result<T, ApiError>) -> ApiResult {
    let out = need(out, "out")?;
    *out = std::ptr::null_mut();
    *out = Box::into_raw(Box::new(make()?));
    Ok(())
}

/// The two-call pattern: `*written` = `bytes.len()` always; the bytes are copied only when
/// `out` holds them all.
fn emit(
    bytes: &[u8],
    what: &'static str,
    out: &mut [u8],
    written: &mut usize,
) -> Result<(), ApiError> {
    *written = bytes.len();
    let Some(dst) = out.get_mut(..bytes.len()) else {
        return Err(ApiError::BufferTooSmall { what, needed: bytes.len(), cap: out.len() });
    };
    dst.copy_from_slice(bytes);
    Ok(())
}

/// `ls_config_default`.
pub(crate) fn config_default(out: Option<&mut ls_config>) -> ApiResult {
    *need(out, "config")? = default_config();
    Ok(())
}

/// The engine's defaults as an `ls_config`.
pub(crate) fn default_config() -> ls_config {
    let config = Config::default();
    ls_config {
        tier: LS_TIER_INTERPRETER,
        max_memory_pages: (config.memory_bytes() / WASM_PAGE) as u32,
        fuel_per_event: config.get_fuel_per_event().0,
        // `Config` has no getter for it; the unit test checks this against its `Debug`.
        init_fuel: 100_000_000,
    }
}

/// `ls_engine_new`.
pub(crate) fn engine_new(
    config: Option<&ls_config>,
    out: Option<&mut *mut ls_engine>,
) -> ApiResult {
    put(out, || new_engine(config))
}

/// The engine `config` describes.
fn new_engine(config: Option<&ls_config>) -> Result<ls_engine, ApiError> {
    {
        let c = need(config, "config")?;
        let tier = match c.tier {
            LS_TIER_INTERPRETER => Tier::Interpreter,
            LS_TIER_COMPILED => Tier::Compiled,
            other => {
                return Err(ApiError::Invalid(format!(
                    "tier {other} is not defined: use LS_TIER_INTERPRETER (0) or LS_TIER_COMPILED (1)"
                )));
            }
        };
        let mut config = Config::new();
        config
            .tier(tier)
            .fuel_per_event(Fuel(c.fuel_per_event))
            .init_fuel(Fuel(c.init_fuel))
            .max_memory_pages(c.max_memory_pages);
        Ok(ls_engine { engine: Engine::try_new(&config)? })
    }
}

/// `ls_module_load`.
pub(crate) fn module_load(
    engine: Option<&ls_engine>,
    wasm: Option<&[u8]>,
    out: Option<&mut *mut ls_module>,
) -> ApiResult {
    put(out, || load(engine, wasm))
}

/// A module loaded from `.wasm` bytes.
fn load(engine: Option<&ls_engine>, wasm: Option<&[u8]>) -> Result<ls_module, ApiError> {
    let engine = &need(engine, "engine")?.engine;
    Ok(ls_module { module: StrategyModule::new(engine, need(wasm, "wasm")?)? })
}

/// `ls_module_precompile`.
pub(crate) fn module_precompile(
    engine: Option<&ls_engine>,
    wasm: Option<&[u8]>,
    out: Option<&mut [u8]>,
    written: Option<&mut usize>,
) -> ApiResult {
    let engine = &need(engine, "engine")?.engine;
    let wasm = need(wasm, "wasm")?;
    let out = need(out, "out")?;
    let written = need(written, "written")?;
    *written = 0;
    let artefact = StrategyModule::precompile(engine, wasm)?;
    emit(&artefact, "precompiled artefact", out, written)
}

/// `ls_module_load_precompiled`.
pub(crate) fn module_load_precompiled(
    engine: Option<&ls_engine>,
    artefact: Option<&[u8]>,
    out: Option<&mut *mut ls_module>,
) -> ApiResult {
    put(out, || load_precompiled(engine, artefact))
}

/// A module loaded from a precompiled artefact.
fn load_precompiled(
    engine: Option<&ls_engine>,
    artefact: Option<&[u8]>,
) -> Result<ls_module, ApiError> {
    let engine = &need(engine, "engine")?.engine;
    Ok(ls_module { module: StrategyModule::from_precompiled(engine, need(artefact, "artefact")?)? })
}

/// `ls_module_sha256`.
pub(crate) fn module_sha256(module: Option<&ls_module>, out: Option<&mut [u8; 32]>) -> ApiResult {
    let module = &need(module, "module")?.module;
    *need(out, "out")? = module.sha256();
    Ok(())
}

/// `ls_instance_new`.
pub(crate) fn instance_new(
    module: Option<&ls_module>,
    params: Option<&[u8]>,
    out: Option<&mut *mut ls_instance>,
) -> ApiResult {
    put(out, || instantiate(module, params))
}

/// A new instance of `module`, initialised with `params`.
fn instantiate(module: Option<&ls_module>, params: Option<&[u8]>) -> Result<ls_instance, ApiError> {
    let module = &need(module, "module")?.module;
    let params = std::str::from_utf8(need(params, "params")?).map_err(|e| {
        ApiError::Invalid(format!("params are not UTF-8 (byte {})", e.valid_up_to()))
    })?;
    Ok(ls_instance { instance: module.instantiate(params)?, scratch: Vec::new() })
}

/// `ls_instance_restore`.
pub(crate) fn instance_restore(
    module: Option<&ls_module>,
    checkpoint: Option<&[u8]>,
    out: Option<&mut *mut ls_instance>,
) -> ApiResult {
    put(out, || restore(module, checkpoint))
}

/// An instance of `module` restored from checkpoint bytes.
fn restore(module: Option<&ls_module>, checkpoint: Option<&[u8]>) -> Result<ls_instance, ApiError> {
    let module = &need(module, "module")?.module;
    let instance = module.restore(need(checkpoint, "checkpoint")?)?;
    Ok(ls_instance { instance, scratch: Vec::new() })
}

/// `ls_instance_take_over`: `module` (a new version) takes over from `running`.
pub(crate) fn instance_take_over(
    module: Option<&ls_module>,
    running: Option<&mut ls_instance>,
    params: Option<&[u8]>,
    migrate: bool,
    out: Option<&mut *mut ls_instance>,
) -> ApiResult {
    put(out, || {
        let module = &need(module, "module")?.module;
        let running = &mut need(running, "running")?.instance;
        let how = if migrate {
            lockstep_engine::Handover::Migrate
        } else {
            let params = std::str::from_utf8(need(params, "params")?).map_err(|e| {
                ApiError::Invalid(format!("params are not UTF-8 (byte {})", e.valid_up_to()))
            })?;
            lockstep_engine::Handover::Fresh { params }
        };
        let instance = module.take_over(running, how)?;
        Ok(ls_instance { instance, scratch: Vec::new() })
    })
}

/// What `ls_instance_on_event` writes back.
pub(crate) struct EventOut<'a> {
    /// Where the actions' address goes.
    pub(crate) actions: Option<&'a mut *const u8>,
    /// Where their count goes.
    pub(crate) count: Option<&'a mut usize>,
    /// Where the fuel used goes (optional).
    pub(crate) fuel: Option<&'a mut u64>,
}

/// `ls_instance_on_event`: on success `*actions` points at `*count` records inside the instance.
pub(crate) fn instance_on_event(
    instance: Option<&mut ls_instance>,
    event: Option<&[u8; EVENT_SIZE]>,
    book: Option<&[u8; BOOK_SIZE]>,
    out: EventOut<'_>,
) -> ApiResult {
    let instance = &mut need(instance, "instance")?.instance;
    let event = EventRecord(*need(event, "event")?);
    let actions = need(out.actions, "actions")?;
    let count = need(out.count, "count")?;
    *actions = std::ptr::null();
    *count = 0;
    let book = book.map(|b| BookRecord(*b));
    let result = instance.on_event(&event, book.as_ref()).map(|_| ());
    if let Some(fuel) = out.fuel {
        *fuel = instance.last_fuel().0;
    }
    result?;
    let records = instance.actions();
    *actions = records.as_ptr().cast::<u8>();
    *count = records.len();
    Ok(())
}

/// `ls_instance_is_halted`: 1 halted, 0 running, `LS_ERR_NULL` for a null instance.
pub(crate) fn instance_is_halted(instance: Option<&ls_instance>) -> i32 {
    match instance {
        Some(i) => i32::from(i.instance.is_halted()),
        None => crate::types::LS_ERR_NULL,
    }
}

/// `ls_instance_checkpoint`.
pub(crate) fn instance_checkpoint(
    instance: Option<&mut ls_instance>,
    out: Option<&mut [u8]>,
    written: Option<&mut usize>,
) -> ApiResult {
    let instance = need(instance, "instance")?;
    let out = need(out, "out")?;
    let written = need(written, "written")?;
    instance.instance.checkpoint_into(&mut instance.scratch);
    emit(&instance.scratch, "checkpoint", out, written)
}

/// `ls_event_encode`.
pub(crate) fn event_encode(
    event: Option<&ls_event>,
    out: Option<&mut [u8; EVENT_SIZE]>,
) -> ApiResult {
    let e = need(event, "event")?;
    let out = need(out, "out")?;
    *out = Event { h: header(e), body: body(e)? }.encode().0;
    Ok(())
}

fn header(e: &ls_event) -> EventHeader {
    EventHeader {
        seq: e.seq,
        instrument: e.instrument,
        exchange_ts: Nanos(e.exchange_ts),
        local_ts: Nanos(e.local_ts),
    }
}

/// The kind-specific part of an `ls_event`.
fn body(e: &ls_event) -> Result<EventBody, ApiError> {
    let side = || {
        Side::from_u8(e.side).ok_or_else(|| {
            ApiError::Invalid(format!(
                "side {} is invalid: use LS_SIDE_BUY or LS_SIDE_SELL",
                e.side
            ))
        })
    };
    let quote = Quote {
        bid: Level { px: Price(e.bid_px), qty: Qty(e.bid_qty) },
        ask: Level { px: Price(e.ask_px), qty: Qty(e.ask_qty) },
    };
    let (px, qty) = (Price(e.px), Qty(e.qty));
    Ok(match e.kind {
        event_kind::QUOTE => EventBody::Quote(quote),
        event_kind::BOOK => EventBody::Book(quote),
        event_kind::TRADE => {
            let aggressor = if e.side == 0 { None } else { Some(side()?) };
            EventBody::Trade(Trade { px, qty, aggressor })
        }
        event_kind::ORDER_ACK => {
            EventBody::OrderAck(OrderAck { order_id: e.order_id, side: side()?, px, qty })
        }
        event_kind::FILL => EventBody::Fill(Fill {
            order_id: e.order_id,
            side: side()?,
            px,
            qty,
            leaves: Qty(e.leaves),
        }),
        event_kind::REJECT => EventBody::Reject(Reject { order_id: e.order_id, reason: e.reason }),
        event_kind::CANCELED => EventBody::Canceled(Canceled { order_id: e.order_id, qty }),
        event_kind::TIMER => EventBody::Timer(e.timer_id),
        other => {
            return Err(ApiError::Invalid(format!(
                "event kind {other} is not defined: use an LS_EVENT_* constant"
            )));
        }
    })
}

/// `ls_book_write`: at most `LS_BOOK_LEVELS` levels per side are kept.
pub(crate) fn book_write(
    out: Option<&mut [u8; BOOK_SIZE]>,
    instrument: u16,
    bids: Option<&[ls_level]>,
    asks: Option<&[ls_level]>,
) -> ApiResult {
    let out = need(out, "out")?;
    let (mut b, mut a) = ([Level::default(); BOOK_LEVELS], [Level::default(); BOOK_LEVELS]);
    let nb = levels(need(bids, "bids")?, &mut b);
    let na = levels(need(asks, "asks")?, &mut a);
    let mut book = BookRecord::default();
    book.write(instrument, &b[..nb], &a[..na]);
    *out = book.0;
    Ok(())
}

/// Copies up to `dst.len()` levels; returns how many.
fn levels(src: &[ls_level], dst: &mut [Level]) -> usize {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = Level { px: Price(s.px), qty: Qty(s.qty) };
    }
    src.len().min(dst.len())
}

/// `ls_action_decode`.
pub(crate) fn action_decode(
    record: Option<&[u8; ACTION_SIZE]>,
    out: Option<&mut ls_action>,
) -> ApiResult {
    let record = ActionRecord(*need(record, "record")?);
    let out = need(out, "out")?;
    let action = record
        .decode()
        .map_err(|e| ApiError::Invalid(format!("not a valid action record: {e}")))?;
    let mut a = ls_action { kind: record.kind(), ..ls_action::default() };
    match action {
        Action::PlaceLimit { instrument, order_id, side, px, qty } => {
            (a.instrument, a.order_id, a.side, a.px, a.qty) =
                (instrument, order_id, side.to_u8(), px.0, qty.0);
        }
        Action::PlaceOrder { instrument, order_id, side, px, qty, tif } => {
            (a.instrument, a.order_id, a.side, a.tif, a.px, a.qty) =
                (instrument, order_id, side.to_u8(), tif.code(), px.0, qty.0);
        }
        Action::PlaceMarket { instrument, order_id, side, qty } => {
            (a.instrument, a.order_id, a.side, a.qty) = (instrument, order_id, side.to_u8(), qty.0);
        }
        Action::Cancel { instrument, order_id } => {
            (a.instrument, a.order_id) = (instrument, order_id)
        }
        Action::Replace { instrument, order_id, px, qty } => {
            (a.instrument, a.order_id, a.px, a.qty) = (instrument, order_id, px.0, qty.0);
        }
        Action::SetTimer { timer_id, at } => (a.timer_id, a.at) = (timer_id, at.0),
        Action::Signal { instrument, id, value } => {
            (a.instrument, a.signal_id, a.value) = (instrument, id, value);
        }
    }
    *out = a;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::run;
    use crate::types::{LS_ERR_BUFFER_TOO_SMALL, LS_ERR_INVALID_ARGUMENT, LS_ERR_NULL, LS_OK};
    use lockstep_engine::Instance;

    const fn send_sync<T: Send + Sync>() {}
    const fn send<T: Send>() {}
    // The thread-safety rules the header states.
    const _: () = {
        send_sync::<Engine>();
        send_sync::<StrategyModule>();
        send::<Instance>();
        send_sync::<ls_engine>();
        send_sync::<ls_module>();
        send::<ls_instance>();
    };

    fn engine(tier: u32) -> ls_engine {
        new_engine(Some(&ls_config { tier, ..default_config() })).unwrap()
    }

    fn microprice(engine: &ls_engine) -> ls_module {
        let info = lockstep_strategies::get("microprice").unwrap();
        ls_module { module: StrategyModule::new(&engine.engine, info.wasm).unwrap() }
    }

    #[test]
    fn defaults_are_the_engines() {
        let c = default_config();
        let debug = format!("{:?}", Config::default());
        assert!(debug.contains(&format!("init_fuel: Fuel({})", c.init_fuel)), "{debug}");
        assert!(debug.contains(&format!("fuel_per_event: Fuel({})", c.fuel_per_event)));
        assert!(debug.contains(&format!("max_memory_pages: {}", c.max_memory_pages)));
        assert_eq!(c.tier, LS_TIER_INTERPRETER);
    }

    #[test]
    fn null_arguments_are_refused_and_out_is_cleared() {
        let mut p: *mut ls_engine = std::ptr::NonNull::dangling().as_ptr();
        let e = engine_new(None, Some(&mut p)).unwrap_err();
        assert_eq!(e.status(), LS_ERR_NULL);
        assert!(p.is_null() && e.to_string().contains("`config`"), "{e}");
        assert_eq!(engine_new(Some(&default_config()), None).unwrap_err().status(), LS_ERR_NULL);
        let bad = ls_config { tier: 2, ..default_config() };
        assert_eq!(
            engine_new(Some(&bad), Some(&mut p)).unwrap_err().status(),
            LS_ERR_INVALID_ARGUMENT
        );
        let eng = engine(LS_TIER_INTERPRETER);
        let mut m = std::ptr::null_mut();
        assert_eq!(module_load(Some(&eng), None, Some(&mut m)).unwrap_err().status(), LS_ERR_NULL);
        assert_eq!(module_load(None, Some(b"x"), Some(&mut m)).unwrap_err().status(), LS_ERR_NULL);
        assert_eq!(instance_is_halted(None), LS_ERR_NULL);
        assert_eq!(
            event_encode(None, Some(&mut [0; EVENT_SIZE])).unwrap_err().status(),
            LS_ERR_NULL
        );
        assert_eq!(action_decode(Some(&[0; ACTION_SIZE]), None).unwrap_err().status(), LS_ERR_NULL);
        assert_eq!(
            book_write(Some(&mut [0; BOOK_SIZE]), 0, None, Some(&[])).unwrap_err().status(),
            LS_ERR_NULL
        );
    }

    #[test]
    fn checkpoints_use_the_two_call_pattern_and_restore() {
        let eng = engine(LS_TIER_INTERPRETER);
        let module = microprice(&eng);
        let params = lockstep_strategies::get("microprice").unwrap().default_params;
        let mut inst = instantiate(Some(&module), Some(params.as_bytes())).unwrap();
        let mut written = 0;
        let e = instance_checkpoint(Some(&mut inst), Some(&mut []), Some(&mut written));
        assert_eq!(e.unwrap_err().status(), LS_ERR_BUFFER_TOO_SMALL);
        assert!(written > 0);
        let mut short = vec![0; written - 1];
        let e = instance_checkpoint(Some(&mut inst), Some(&mut short), Some(&mut written));
        assert_eq!(e.unwrap_err().status(), LS_ERR_BUFFER_TOO_SMALL);
        let mut buf = vec![0; written + 10];
        instance_checkpoint(Some(&mut inst), Some(&mut buf), Some(&mut written)).unwrap();
        assert_eq!(written, buf.len() - 10);
        let e = instance_checkpoint(Some(&mut inst), None, Some(&mut written)).unwrap_err();
        assert_eq!(e.status(), LS_ERR_NULL);
        let restored = restore(Some(&module), Some(&buf[..written])).unwrap();
        assert!(!restored.instance.is_halted());
        buf[written / 2] ^= 1;
        let mut r: *mut ls_instance = std::ptr::NonNull::dangling().as_ptr();
        let e = instance_restore(Some(&module), Some(&buf[..written]), Some(&mut r)).unwrap_err();
        assert_eq!(e.status() & !0xff, crate::types::LS_CODE_CHECKPOINT);
        assert!(r.is_null());
        // Params must be UTF-8.
        let e = instance_new(Some(&module), Some(b"\xff"), Some(&mut r)).unwrap_err();
        assert_eq!(e.status(), LS_ERR_INVALID_ARGUMENT);
    }

    #[test]
    fn precompile_sizes_first_and_needs_the_compiled_tier() {
        let wasm = lockstep_strategies::get("noop").unwrap().wasm;
        let interp = engine(LS_TIER_INTERPRETER);
        let mut written = 7;
        let e = module_precompile(Some(&interp), Some(wasm), Some(&mut []), Some(&mut written));
        assert_eq!(e.unwrap_err().status() & !0xff, crate::types::LS_CODE_WRONG_TIER);
        assert_eq!(written, 0);
        let compiled = engine(LS_TIER_COMPILED);
        let e = module_precompile(Some(&compiled), Some(wasm), Some(&mut []), Some(&mut written));
        assert_eq!(e.unwrap_err().status(), LS_ERR_BUFFER_TOO_SMALL);
        let mut buf = vec![0; written];
        module_precompile(Some(&compiled), Some(wasm), Some(&mut buf), Some(&mut written)).unwrap();
        let m = load_precompiled(Some(&compiled), Some(&buf)).unwrap();
        let mut sha = [0; 32];
        module_sha256(Some(&m), Some(&mut sha)).unwrap();
        assert_eq!(sha, StrategyModule::new(&compiled.engine, wasm).unwrap().sha256());
    }

    #[test]
    fn records_match_the_sdk_encoding() {
        let ev = ls_event {
            kind: event_kind::FILL,
            instrument: 3,
            side: 2,
            seq: 9,
            exchange_ts: 10,
            local_ts: 11,
            px: 12,
            qty: 13,
            leaves: 14,
            order_id: 15,
            ..ls_event::default()
        };
        let mut rec = [0; EVENT_SIZE];
        event_encode(Some(&ev), Some(&mut rec)).unwrap();
        let decoded = EventRecord(rec).decode().unwrap();
        let fill =
            Fill { order_id: 15, side: Side::Sell, px: Price(12), qty: Qty(13), leaves: Qty(14) };
        assert_eq!(decoded, Event { h: header(&ev), body: EventBody::Fill(fill) });
        let bad_side = ls_event { side: 3, ..ev };
        assert_eq!(
            event_encode(Some(&bad_side), Some(&mut rec)).unwrap_err().status(),
            LS_ERR_INVALID_ARGUMENT
        );

        let action = Action::Signal { instrument: 4, id: 7, value: -5 };
        let mut out = ls_action::default();
        action_decode(Some(&action.encode().0), Some(&mut out)).unwrap();
        let want =
            ls_action { kind: 6, instrument: 4, signal_id: 7, value: -5, ..ls_action::default() };
        assert_eq!(out, want);

        let lv = |px, qty| ls_level { px, qty };
        let bids: Vec<ls_level> = (0..12).map(|i| lv(100 - i, i)).collect();
        let mut raw = [0; BOOK_SIZE];
        book_write(Some(&mut raw), 5, Some(&bids), Some(&[lv(101, 1)])).unwrap();
        let mut sdk = BookRecord::default();
        let sdk_bids: Vec<Level> =
            bids.iter().map(|l| Level { px: Price(l.px), qty: Qty(l.qty) }).collect();
        sdk.write(5, &sdk_bids, &[Level { px: Price(101), qty: Qty(1) }]);
        assert_eq!(raw, sdk.0);
    }

    #[test]
    fn run_reports_ok_and_errors_through_the_buffer() {
        let mut err = [b'x'; 64];
        let status = run(|| Some(&mut err[..]), || engine_new(None, None));
        assert_eq!(status, LS_ERR_NULL);
        assert!(err.starts_with(b"argument `out` is null\0"));
        let mut c = ls_config { tier: 9, ..default_config() };
        let status = run(|| Some(&mut err[..]), || config_default(Some(&mut c)));
        assert_eq!((status, err[0], c), (LS_OK, 0, default_config()));
    }
}
