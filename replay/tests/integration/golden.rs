//! Golden digests: for each strategy its `digest` (what it did: the same on every tier and for
//! its native build), then its `fuel_digest` (the same on every tier: modules meter their own
//! fuel). They change only when replay, exchange, feeder, digest, synthetic market or a
//! strategy's behaviour (or, for the fuel digests, its fuel) changes; update them deliberately,
//! with the reason. Re-blessed when fuel moved out of `digest` into `fuel_digest`, when
//! modules began to meter their own fuel (one fuel digest for both tiers), and when the SDK's
//! transcendental math became host calls (`lockstep.math.*`) charged a fixed fuel: every
//! `digest` held, only the fuel digests of strategies calling them (avellaneda-stoikov here)
//! moved.

/// (strategy, digest, fuel digest)
pub(crate) type Golden = (&'static str, &'static str, &'static str);
/// `run --events 20000 --strategy noop --strategy avellaneda-stoikov --strategy microprice`.
pub(crate) const SYNTH_20K: [Golden; 3] = [
    (
        "noop",
        "39a4d86e4145035b275c9b204351c819b7a9465978002b3564e0e1cf38d8c037",
        "8135bf6839dff248a56c8d79c28aa804ce0ba97b43f6bb7f723958f213f64f5c",
    ),
    (
        "avellaneda-stoikov",
        "50b517e8fbb8faf36c8e9b4f82d01863b1f7ce8485e7cd4e507f77219845dffe",
        "348c131bb2a2d1172aaba254a6816aecf26f7e3f75722c03b00c306dce5f55e5",
    ),
    (
        "microprice",
        "2705319a5f2bab5e599eeab6bab1989247367349cf84a24595571e4130e4837c",
        "d5ce05137b2bbd5a4f0a6766c13a66662b2f5c873d116ad9e7f9348819432ec0",
    ),
];
/// LOBSTER GOOG 2012-06-21 level 5, imported with its orderbook file.
pub(crate) const GOOG_EVENTS: u64 = 134_983;
pub(crate) const GOOG: [Golden; 2] = [
    (
        "noop",
        "7cd342ac99b8f98c510f8934f6e2fb22ac26968211f402b5730e845986c4e0c0",
        "59a84da6492aa860bf30265c2d1a429dca3cefde9095de52171742a406692eef",
    ),
    (
        "microprice",
        "6cc993e3816ed64689ea0703e95468171ff584332daf66b3eb78527450743ae9",
        "f2a0046fae15a28b44c42a8b14d0dde9748af1a80d9183a1741e62ffadf52d8a",
    ),
];
/// Limit prices the GOOG tick is inferred from: messages of types 1-4, and ten per orderbook
/// row (five levels a side).
pub(crate) const GOOG_LIMIT_PRICES: u64 = 54_907 + 16 + 46_072 + 7_765 + 112_673 * 10;
/// `run --book-only` on the GOOG tape: a digest of every L2 view.
pub(crate) const GOOG_BOOK: &str =
    "32614d9b70ef413d644b5689ef185388452dd28a21840c376851fe31d3c64f36";
/// Binance BTCUSDT spot capture 2024-08-08 (hftbacktest collector).
pub(crate) const BTC_EVENTS: u64 = 163_904;
pub(crate) const BTC: [Golden; 2] = [
    (
        "noop",
        "e5d9a110b1b04585e6af8982d76ff9f8d7fe2badb7d53bd7398ec18a56b8920b",
        "2c0c369d8bbad3662fedc33eb2f1244b6ef081174573a9db9ca07b3bd62c1c19",
    ),
    (
        "avellaneda-stoikov",
        "ed7c9ea3a613f3dd9976bf0aad9d05c49cf0da463d374914f19b8154e4cf166f",
        "2066085fc1133cf09a416aa47c90f7d913fc6ed8ef23c54027d4af56a05c274e",
    ),
];
/// `book-check` on GOOG level 5, top 1..5 levels.
pub(crate) const GOOG_ROWS: u64 = 112_673;
pub(crate) const GOOG_MATCHED: [u64; 5] = [112_673, 112_673, 112_673, 112_673, 103_954];
pub(crate) const GOOG_REVEALED: u64 = 8_719;
/// `inspect` of the GOOG tape: events by kind, and the top of book at 10:00.
pub(crate) const GOOG_KINDS: [(&str, u64); 7] = [
    ("add", 54_907),
    ("cancel", 16),
    ("delete", 46_072),
    ("execute", 7_765),
    ("forget", 9_198),
    ("hidden_execute", 3_913),
    ("level", 13_112),
];
pub(crate) const GOOG_TOP_10H: (Option<&str>, Option<&str>) = (Some("575.63"), Some("575.91"));
/// Binance USD-M futures BTCUSDT capture 2024-08-08 (hftbacktest collector): every diff
/// chains by `pu`, so no gaps.
pub(crate) const USDM_EVENTS: u64 = 532_993;
pub(crate) const USDM_GAPS: u64 = 0;
pub(crate) const USDM: [Golden; 2] = [
    (
        "noop",
        "2ee3d7dfc06da0741f49b125fcec1f8032cb824d6f508326f7a6927bdd33fba4",
        "3ec8c45e70f62debd57020a2738bec36fd2cf98c5e7530a64786cb1627b53b5c",
    ),
    (
        "avellaneda-stoikov",
        "fb407ebb9277c4e9b7921bb03bfe91311060b8b520324deb0e6fad0cf7231eea",
        "b3732a0fb4cff3cc7cf88b6b62473c49b1a626850a30132eadd412de91975f97",
    ),
];
/// Binance COIN-M futures BTCUSD_PERP capture 2024-08-08.
pub(crate) const COINM_EVENTS: u64 = 319_444;
pub(crate) const COINM_GAPS: u64 = 0;
pub(crate) const COINM: [Golden; 2] = [
    (
        "noop",
        "87fea8a63d309cab5bc9b365566b2969c1d39f2602bf610c3b8976608bfa9bba",
        "a5901cb5b78422fa66228694d60b49f3dea5b841004f38da1b14189ad18b4d9b",
    ),
    (
        "avellaneda-stoikov",
        "534258add6a653b70855e1c6f4ef2a0a91a642c3d77b4c5db3325c2ee5c90da1",
        "f689f674e8521a3ef1d17e47666642610d2e2e01eacdeec0b294b871b11480c1",
    ),
];
/// Databento ESH4 MBO snapshot (8,725 adds) with the ES definition file.
pub(crate) const DBN_MBO_EVENTS: u64 = 8_725;
pub(crate) const DBN_MBO: [Golden; 2] = [
    (
        "noop",
        "2ba107c0959da1db5a074a6048eab039c39630ff3d7880d8dfb8d4ee9396ff93",
        "ffe6cc3c3d6812b8eb470fac2ae043b5c13e252f477e7b73f4162f2ba56f2bbd",
    ),
    (
        "avellaneda-stoikov",
        "23cb807d972ae8909aa98bc1b0e15e88adb2191227167ae08431c6cc29800f69",
        "f83271b2dfd436fe2bfd4cb83da10a2c040041d919ee08c01bc61545af7045b5",
    ),
];
/// Databento MBP-1 + trades + definition of one CME future (ESU4).
pub(crate) const DBN_MBP1_EVENTS: u64 = 2_528;
pub(crate) const DBN_MBP1_KINDS: [(&str, u64); 2] = [("quote", 2_288), ("trade", 240)];
pub(crate) const DBN_MBP1_SYMBOL: &str = "ESU4";
/// MBP-1 records come only from messages that change the top of the book, and CME numbers
/// messages per channel: the sequence jumps where nothing was lost (counted apart from gaps).
pub(crate) const DBN_MBP1_SEQUENCE_JUMPS: u64 = 537;
pub(crate) const DBN_MBP1: [Golden; 2] = [
    (
        "noop",
        "fe31b04717e189fe5eaadcdae99fef82a461b8016651c93e1399ea4b4ed8ac7f",
        "1b5ae02c5b35626c28b7d9d7b1072ed9866bf29581306885c2281270fc326d75",
    ),
    (
        "avellaneda-stoikov",
        "f6dbc953bd983d8a7934d824655d0dddeeecdcf39083387ebda37f7adeba21d1",
        "4ca7e47134e471085dc4878a627ddf630a32b90a237370623a2d9cc48b5d8afa",
    ),
];
/// NautilusTrader's Binance USD-M depth CSV: a 100-level snapshot and one update.
pub(crate) const NT_DEPTH_EVENTS: u64 = 201;
pub(crate) const NT_DEPTH: [Golden; 2] = [
    (
        "noop",
        "9cec91bd29abe53c6af958166bce27282523331fc317e9099ea7095dd04551ad",
        "d006caf338d94b560d65f98745b6c21e75c04a67e3dcb3b08e37c2d98f57fbf4",
    ),
    (
        "avellaneda-stoikov",
        "a5eb39ff53998746dd8c3a31fcf5abba88cf565bc347af71f38aa93f7bdcfe69",
        "e864c539a27d3cbc49bfe5b25bc2343ab059522938234a2cb4b8219dde4261c9",
    ),
];
/// NautilusTrader's TrueFX USD/JPY ticks: 1,000 quotes without sizes.
pub(crate) const NT_TRUEFX: [Golden; 2] = [
    (
        "noop",
        "c7ebb52906aeafe8b9f77e87ec2d958d9198634de3298da6b8961e1829ed6bc3",
        "7f291a9da5fd84a026843c932984541e17d83c418b95fc52a1c6bdf3d18b1b05",
    ),
    (
        "avellaneda-stoikov",
        "ebeb26de9a956fd613fe1c75c1ee9faa14305533f4d24a1cc37bbf67f3f594e8",
        "1676f2391a7ba3e128b9a7da65161552f79643e33c0233441afa6c8fabbbbe8e",
    ),
];
/// Databento one-minute BBO of two futures and two options, with the options' definitions.
pub(crate) const DBN_BBO_EVENTS: u64 = 40;
pub(crate) const DBN_BBO_SYMBOLS: [&str; 4] = ["NQM4", "ESM4", "ESM4 P5230", "ESM4 P5250"];
