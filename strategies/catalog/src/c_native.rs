//! The native builds of the C strategies: each `strategies/c/<id>.c`, compiled by clang and
//! linked into this crate, run through the three entry points `lockstep_strategy.h` defines
//! (`lockstep_c_<id>_state_size`, `_init`, `_on_event`) over buffers this module owns.
//!
//! This is the crate's one `unsafe` module: calling C. The C side keeps no pointer past a call,
//! touches only the buffers it is handed (of the sizes it is told), and its state is an opaque
//! block of the size it asks for, owned here, one per instance.
#![allow(unsafe_code, reason = "calls into the C strategies' native builds")]
#![cfg_attr(
    not(lockstep_c),
    allow(dead_code, reason = "without clang no C strategy is built, and nothing calls this")
)]

use lockstep_sdk::{
    AbiError, ActionRecord, BookRecord, DEFAULT_ACTION_CAP, DispatchError, EventRecord, InitError,
    RunError, Step, StrategyRunner, status,
};

/// Bytes the C side may write as an init refusal (the Wasm build's parameter region).
const MESSAGE_CAP: usize = 4096;

/// The entry points of one C strategy.
pub(crate) struct CFunctions {
    pub(crate) state_size: unsafe extern "C" fn() -> u32,
    pub(crate) init: unsafe extern "C" fn(
        state: *mut u8,
        params: *const u8,
        len: u32,
        actions: *mut ActionRecord,
        cap: u32,
        msg: *mut u8,
        msg_cap: u32,
    ) -> i32,
    pub(crate) on_event: unsafe extern "C" fn(
        state: *mut u8,
        ev: *const EventRecord,
        book: *const BookRecord,
        actions: *mut ActionRecord,
        cap: u32,
    ) -> i32,
}

/// A C strategy's native instance: its state block and its buffers, allocated once.
pub(crate) struct CInstance {
    f: &'static CFunctions,
    /// The C state, 16-byte aligned (the strictest alignment C gives a struct here).
    state: Box<[u128]>,
    actions: Box<[ActionRecord]>,
    book: BookRecord,
    len: usize,
}

impl CInstance {
    /// Runs the C init with `params`; its refusal message becomes the error.
    pub(crate) fn new(f: &'static CFunctions, params: &str) -> Result<Self, InitError> {
        // SAFETY: a C function of no arguments that returns a constant.
        let size = unsafe { (f.state_size)() } as usize;
        let mut me = Self {
            f,
            state: vec![0u128; size.div_ceil(16).max(1)].into_boxed_slice(),
            actions: vec![ActionRecord::zeroed(); DEFAULT_ACTION_CAP].into_boxed_slice(),
            book: BookRecord::default(),
            len: 0,
        };
        let len = u32::try_from(params.len())
            .map_err(|_| InitError::Other("the parameter text is over 4 GiB".into()))?;
        let mut msg = vec![0u8; MESSAGE_CAP];
        // SAFETY: the state block holds `size` bytes, 16-aligned; `params` is `len` readable
        // bytes; the action buffer holds `DEFAULT_ACTION_CAP` records and `msg` `MESSAGE_CAP`
        // bytes, as passed. The C init writes only inside them and keeps no pointer.
        let n = unsafe {
            (f.init)(
                me.state.as_mut_ptr().cast(),
                params.as_ptr(),
                len,
                me.actions.as_mut_ptr(),
                DEFAULT_ACTION_CAP as u32,
                msg.as_mut_ptr(),
                MESSAGE_CAP as u32,
            )
        };
        match usize::try_from(n) {
            Ok(n) if n <= DEFAULT_ACTION_CAP => {
                me.len = n;
                Ok(me)
            }
            Ok(n) => Err(InitError::Other(format!("init reported {n} actions, over the capacity"))),
            Err(_) => {
                let m = n.unsigned_abs() as usize;
                Err(InitError::Other(String::from_utf8_lossy(&msg[..m.min(MESSAGE_CAP)]).into()))
            }
        }
    }

    /// The instance behind the catalog's `native` function pointer.
    pub(crate) fn boxed(
        f: &'static CFunctions,
        params: &str,
    ) -> Result<Box<dyn StrategyRunner>, InitError> {
        Ok(Box::new(Self::new(f, params)?))
    }
}

/// The failure a negative `lockstep_on_event` status stands for, as the Rust SDK's dispatch
/// would have reported it.
fn dispatch_error(code: i32, ev: &EventRecord) -> DispatchError {
    match code {
        status::ACTION_OVERFLOW => DispatchError::ActionOverflow { cap: DEFAULT_ACTION_CAP },
        status::BAD_EVENT => {
            DispatchError::BadEvent(ev.decode().err().unwrap_or(AbiError::UnknownKind(ev.kind())))
        }
        _ => DispatchError::NotInitialized,
    }
}

impl StrategyRunner for CInstance {
    fn on_event(
        &mut self,
        ev: &EventRecord,
        book: Option<&BookRecord>,
    ) -> Result<Step<'_>, RunError> {
        if let Some(b) = book {
            self.book = *b;
        }
        // SAFETY: as in `new`; the event and book records are 64 and 328 readable bytes, laid
        // out as `ls_event` and `ls_book` (the header's static asserts and this module's tests
        // hold the two layouts together).
        let n = unsafe {
            (self.f.on_event)(
                self.state.as_mut_ptr().cast(),
                ev,
                &self.book,
                self.actions.as_mut_ptr(),
                DEFAULT_ACTION_CAP as u32,
            )
        };
        match usize::try_from(n) {
            Ok(n) if n <= DEFAULT_ACTION_CAP => {
                self.len = n;
                Ok(Step { actions: &self.actions[..n], fuel: None })
            }
            _ => {
                self.len = 0;
                Err(RunError::dispatch(ev.seq(), &dispatch_error(n, ev)))
            }
        }
    }

    fn actions(&self) -> &[ActionRecord] {
        &self.actions[..self.len]
    }
}

/// Declares one C strategy's entry points (their symbol names given by the build script) and
/// its `native` constructor, in a module named after the strategy's id.
macro_rules! c_strategy {
    ($id:ident, $size:literal, $init:literal, $event:literal) => {
        pub(crate) mod $id {
            use super::{CFunctions, CInstance};
            use lockstep_sdk::{ActionRecord, BookRecord, EventRecord, InitError, StrategyRunner};

            unsafe extern "C" {
                #[link_name = $size]
                fn state_size() -> u32;
                #[link_name = $init]
                fn init(
                    state: *mut u8,
                    params: *const u8,
                    len: u32,
                    actions: *mut ActionRecord,
                    cap: u32,
                    msg: *mut u8,
                    msg_cap: u32,
                ) -> i32;
                #[link_name = $event]
                fn on_event(
                    state: *mut u8,
                    ev: *const EventRecord,
                    book: *const BookRecord,
                    actions: *mut ActionRecord,
                    cap: u32,
                ) -> i32;
            }

            static FUNCTIONS: CFunctions = CFunctions { state_size, init, on_event };

            /// The native build, with `params`.
            pub(crate) fn native(params: &str) -> Result<Box<dyn StrategyRunner>, InitError> {
                CInstance::boxed(&FUNCTIONS, params)
            }
        }
    };
}

// `c_strategy!(microprice, "lockstep_c_microprice_state_size", ...);` per C strategy, written
// by build.rs (nothing without clang).
include!(concat!(env!("OUT_DIR"), "/c_ffi.rs"));

/// The C header against the Rust SDK: layout, constants, helpers and parsers, seen from C.
#[cfg(all(test, lockstep_c))]
mod tests {
    use lockstep_sdk::{
        ACTION_SIZE, Action, ActionRecord, Actions, BOOK_LEVELS, BOOK_SIZE, BookRecord,
        DEFAULT_ACTION_CAP, EVENT_SIZE, EventRecord, MIN_ABI_VERSION, Nanos, ONE, Price, Qty,
        REGIONS_SIZE, SCALE, Side, SplitMix64, action_kind, event_kind, reject_reason, status,
    };

    unsafe extern "C" {
        fn lockstep_c_abi_layout(out: *mut i64, cap: u32) -> u32;
        fn lockstep_c_abi_read_event(ev: *const EventRecord, out: *mut i64);
        fn lockstep_c_abi_read_book(book: *const BookRecord, out: *mut i64);
        fn lockstep_c_abi_write_actions(buf: *mut ActionRecord, cap: u32) -> i32;
        fn lockstep_c_abi_parse_fixed(text: *const u8, len: u32, out: *mut i64) -> i32;
        fn lockstep_c_abi_parse_i64(text: *const u8, len: u32, out: *mut i64) -> i32;
    }

    fn le(b: &[u8], at: usize, n: usize) -> i64 {
        let mut v = [0u8; 8];
        v[..n].copy_from_slice(&b[at..at + n]);
        i64::from_le_bytes(v)
    }

    #[test]
    fn sizes_and_constants_are_the_sdks() {
        let want: Vec<i64> = [
            EVENT_SIZE as i64,
            BOOK_SIZE as i64,
            ACTION_SIZE as i64,
            REGIONS_SIZE as i64,
            // The C header speaks ABI v1, which the engine still runs unchanged.
            i64::from(MIN_ABI_VERSION),
            i64::from(SCALE),
            ONE,
            BOOK_LEVELS as i64,
            DEFAULT_ACTION_CAP as i64,
            lockstep_sdk::PARAMS_CAP as i64,
        ]
        .into_iter()
        .chain(
            [
                event_kind::QUOTE,
                event_kind::TRADE,
                event_kind::BOOK,
                event_kind::ORDER_ACK,
                event_kind::FILL,
                event_kind::REJECT,
                event_kind::CANCELED,
                event_kind::TIMER,
                action_kind::PLACE_LIMIT,
                action_kind::PLACE_MARKET,
                action_kind::CANCEL,
                action_kind::REPLACE,
                action_kind::SET_TIMER,
                action_kind::SIGNAL,
            ]
            .map(i64::from),
        )
        .chain([Side::Buy.to_u8(), Side::Sell.to_u8()].map(i64::from))
        .chain(
            [
                reject_reason::UNKNOWN_ORDER,
                reject_reason::DUPLICATE_ID,
                reject_reason::INVALID,
                reject_reason::RISK,
                reject_reason::UNKNOWN_INSTRUMENT,
            ]
            .map(i64::from),
        )
        .chain([status::ACTION_OVERFLOW, status::BAD_EVENT, status::NOT_INITIALIZED].map(i64::from))
        .collect();
        let mut got = vec![0i64; 64];
        // SAFETY: `got` holds 64 values and the C side writes at most `cap`.
        let n = unsafe { lockstep_c_abi_layout(got.as_mut_ptr(), 64) } as usize;
        assert_eq!(&got[..n], &want[..]);
    }

    #[test]
    fn events_and_books_read_through_the_c_structs_are_the_records() {
        let mut rng = SplitMix64::new(28);
        for i in 0..2000u64 {
            let mut ev = EventRecord([0; EVENT_SIZE]);
            for b in ev.0.iter_mut() {
                *b = rng.next_u64() as u8;
            }
            // Mostly defined kinds and sides, so both answers of the check are exercised.
            if i % 4 != 0 {
                ev.0[..2].copy_from_slice(&(1 + (i % 8) as u16).to_le_bytes());
                ev.0[4] = (i % 3) as u8;
            }
            let mut c = [0i64; 11];
            // SAFETY: a 64-byte record and 11 outputs, as the C side expects.
            unsafe { lockstep_c_abi_read_event(&ev, c.as_mut_ptr()) };
            let b = &ev.0;
            let want = [
                le(b, 0, 2),
                le(b, 2, 2),
                le(b, 4, 4),
                le(b, 8, 8),
                le(b, 16, 8),
                le(b, 24, 8),
                le(b, 32, 8),
                le(b, 40, 8),
                le(b, 48, 8),
                le(b, 56, 8),
                i64::from(ev.decode().is_ok()),
            ];
            assert_eq!(c, want, "event {i}: {ev:?}");
        }
        let mut book = BookRecord::default();
        for b in book.0.iter_mut() {
            *b = rng.next_u64() as u8;
        }
        let mut c = [0i64; 3 + 4 * BOOK_LEVELS];
        // SAFETY: a 328-byte record and 43 outputs, as the C side expects.
        unsafe { lockstep_c_abi_read_book(&book, c.as_mut_ptr()) };
        let b = &book.0;
        let mut want = vec![le(b, 0, 2), le(b, 2, 2), le(b, 4, 2)];
        want.extend((0..4 * BOOK_LEVELS).map(|i| le(b, 8 + 8 * i, 8)));
        assert_eq!(c.to_vec(), want);
    }

    #[test]
    fn the_c_action_writers_write_the_sdks_records() {
        let mut rust = vec![ActionRecord::zeroed(); 8];
        let mut out = Actions::new(&mut rust);
        out.place_limit(7, 11, Side::Buy, Price(12345), Qty(ONE));
        out.place_market(8, 12, Side::Sell, Qty(3 * ONE));
        out.cancel(9, 13);
        out.replace(10, 14, Price(-5), Qty(6));
        out.set_timer(15, Nanos(i64::MAX));
        out.push(Action::Signal { instrument: 11, id: 4_000_000_000, value: i64::MIN });
        let want = out.records().to_vec();
        // Dirty buffers: the writers must zero what they do not set.
        let mut c = vec![ActionRecord([0xA5; ACTION_SIZE]); 8];
        // SAFETY: 8 records of room, as passed.
        let n = unsafe { lockstep_c_abi_write_actions(c.as_mut_ptr(), 8) };
        assert_eq!(n, 6);
        assert_eq!(&c[..6], &want[..]);
        // SAFETY: 3 records of room, as passed.
        let n = unsafe { lockstep_c_abi_write_actions(c.as_mut_ptr(), 3) };
        assert_eq!(n, -1, "a push past the capacity marks the sink overflowed");
    }

    /// Random strings over the characters numbers are made of, and some fixed edge cases.
    fn texts() -> Vec<String> {
        let mut v: Vec<String> = [
            "",
            "0",
            "-0",
            "+",
            "-",
            ".",
            "-.5",
            "5.",
            "1.2.3",
            "00012.34000",
            "0.000000001",
            "0.1000000000",
            "92233720368.54775807",
            "92233720368.54775808",
            "-92233720368.54775807",
            "9223372036854775807",
            "-9223372036854775808",
            "9223372036854775808",
            " 1",
            "1 ",
            "1e5",
            "0x10",
            "+-1",
            "--1",
            "１",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        let alphabet = b"0123456789.-+ 0123456789";
        let mut rng = SplitMix64::new(8);
        for _ in 0..20_000 {
            let len = rng.below(24) as usize;
            let s = (0..len).map(|_| alphabet[rng.below(alphabet.len() as u64) as usize] as char);
            v.push(s.collect());
        }
        v
    }

    #[test]
    fn the_c_parsers_agree_with_the_sdks() {
        for t in texts() {
            let mut c = 0i64;
            // SAFETY: `t` is `len` readable bytes; one output.
            let ok = unsafe { lockstep_c_abi_parse_fixed(t.as_ptr(), t.len() as u32, &mut c) };
            assert_eq!((ok == 1).then_some(c), Price::parse(&t).map(|p| p.0), "fixed {t:?}");
            // SAFETY: as above.
            let ok = unsafe { lockstep_c_abi_parse_i64(t.as_ptr(), t.len() as u32, &mut c) };
            assert_eq!((ok == 1).then_some(c), t.parse::<i64>().ok(), "integer {t:?}");
        }
    }
}
