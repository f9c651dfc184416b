//! Golden digests: for each strategy its `digest` (what it did: the same on every tier and for
//! its native build), then its `fuel_digest` on the interpreter and on the compiled tier. They
//! change only when replay, exchange, feeder, digest, synthetic market or a strategy's
//! behaviour (or, for the fuel digests, its fuel) changes; update them deliberately, with the
//! reason. Re-blessed once when fuel moved out of `digest` into `fuel_digest`.

/// (strategy, digest, interpreter fuel digest, compiled fuel digest)
pub(crate) type Golden = (&'static str, &'static str, &'static str, &'static str);
/// `run --events 20000 --strategy noop --strategy avellaneda-stoikov --strategy microprice`.
pub(crate) const SYNTH_20K: [Golden; 3] = [
    (
        "noop",
        "39a4d86e4145035b275c9b204351c819b7a9465978002b3564e0e1cf38d8c037",
        "5e435be7e45d924062f190bd18bc4a3cb4510e5c0e435f7e33737f9e9ca39513",
        "691cab10d7da107013763149e8be9793d7d8b344c2f80bd2ac0d3c8d34bc2788",
    ),
    (
        "avellaneda-stoikov",
        "50b517e8fbb8faf36c8e9b4f82d01863b1f7ce8485e7cd4e507f77219845dffe",
        "6793f9dcd8ac73a57e125c003422baea8e6b99b3944bda1db2b1fd81237e5fbb",
        "4d8e01505f64814e3df8e713be9c5b850dcbbaf154598edede3ee96282a23bb2",
    ),
    (
        "microprice",
        "2705319a5f2bab5e599eeab6bab1989247367349cf84a24595571e4130e4837c",
        "ecc41949fd6cc3bb8f17ba00cedb05e9851d1d5149f7fd190755ab71e876d34b",
        "770c6e4ebf828d60eb64baa511151bf3de6b238f27a483a21fa3314b72e5cb2c",
    ),
];
/// LOBSTER GOOG 2012-06-21 level 5, imported with its orderbook file.
pub(crate) const GOOG_EVENTS: u64 = 134_983;
pub(crate) const GOOG: [Golden; 2] = [
    (
        "noop",
        "7cd342ac99b8f98c510f8934f6e2fb22ac26968211f402b5730e845986c4e0c0",
        "7223e35e60d1391705d35a36c4c3153e686fc94b44c11b8bd2576935f95e8edb",
        "de7e2605fe46f5f2b3d64fe35340caed37d47266f00ffb436e178f751ee260cd",
    ),
    (
        "microprice",
        "6cc993e3816ed64689ea0703e95468171ff584332daf66b3eb78527450743ae9",
        "5800196cf14ba43eea235569ca0c16435a3817462150477bbbeaff77462e47f6",
        "4ccf2897b7de4ee89c62b3c0061d71378636c677a9a8eb75d329dc2140fe1554",
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
        "4a26c4449cf27d4a2f52f1b8553e4b9a1e6938ba356d6945c29e34a3f584d60b",
        "2ec49b64daf6a247c588a190b8f6d61f9657ee161414a90db8959f72001f07b1",
    ),
    (
        "avellaneda-stoikov",
        "ed7c9ea3a613f3dd9976bf0aad9d05c49cf0da463d374914f19b8154e4cf166f",
        "0c5a6aba7b7d5a71632607a02f77c324b01e11fcced27d5774adf7e2cfea3c65",
        "a8b5161c7a5c99f1c0212124c59da99bd71320ed8290d568fa5937164b6f7aaf",
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
        "c9b7f15ac847544f1172e48898b1cd303edc1e714e21097efe3751ece5ce14cf",
        "34e27d62ea4c522abed495e198dede4aa3913890429e6aaf7a7055b9fc6d2962",
    ),
    (
        "avellaneda-stoikov",
        "a8e1c1a087dbe6fc00a3f71c7b5475b27bdd65e999d61cc4fbae37e1c2c8f807",
        "ed266cc3c96adce936bd6782e3df7b25dbbb4caaa3f2020c9da9448b79e41c07",
        "2071ad204a129800dc175ab8ae46def5ebb1182b1d71cbf6038105770a3cbb15",
    ),
];
/// Binance COIN-M futures BTCUSD_PERP capture 2024-08-08.
pub(crate) const COINM_EVENTS: u64 = 319_444;
pub(crate) const COINM_GAPS: u64 = 0;
pub(crate) const COINM: [Golden; 2] = [
    (
        "noop",
        "87fea8a63d309cab5bc9b365566b2969c1d39f2602bf610c3b8976608bfa9bba",
        "154328d33e58479b67cbf222a2fe688166bd7b8fba8ed9663292bdaeb1bf48b2",
        "9744d9714097da6015b2936119037466702c23d504f8e03beda67ad1ffd4f935",
    ),
    (
        "avellaneda-stoikov",
        "1ec3435e44f6651cc0a64a30c25ca2f29353ca5850bceda8885a97920af46159",
        "1ee5cd012e4a745cdc6355054cb4679786ecc334943b95ba74f89733ea8bf470",
        "0765009eb825b65c0acf5cacd406e0069e448714377c5e9a58fbf5b0c6f684a4",
    ),
];
/// Databento ESH4 MBO snapshot (8,725 adds) with the ES definition file.
pub(crate) const DBN_MBO_EVENTS: u64 = 8_725;
pub(crate) const DBN_MBO: [Golden; 2] = [
    (
        "noop",
        "2ba107c0959da1db5a074a6048eab039c39630ff3d7880d8dfb8d4ee9396ff93",
        "9bf0d26c186cbfc3d95c335b9ef0d65273680c28623e370689067d45083c7fe8",
        "85ca0ee336fa0c3eb0a0adbea4f0d996f336c9c6ab82d658119098d02245f690",
    ),
    (
        "avellaneda-stoikov",
        "54f5c67312278062e82a274e06a285c86fb3f9494766e24c9c00cc137c31c5ac",
        "47ad441b757772feb891505bb6c2c500e9b601748d449aada501552e777c6a02",
        "cb7a03b5df7d13170d3b7c96f0bf19bef660a20fdf4a28e4c0bdcc6469bfea4e",
    ),
];
/// Databento MBP-1 + trades + definition of one CME future (ESU4).
pub(crate) const DBN_MBP1_EVENTS: u64 = 2_528;
pub(crate) const DBN_MBP1_KINDS: [(&str, u64); 2] = [("quote", 2_288), ("trade", 240)];
pub(crate) const DBN_MBP1_SYMBOL: &str = "ESU4";
/// MBP-1 records come only from messages that change the top of the book, and CME numbers
/// messages per channel: the sequence jumps (an upper bound on loss, none here).
pub(crate) const DBN_MBP1_SEQUENCE_GAPS: u64 = 537;
pub(crate) const DBN_MBP1: [Golden; 2] = [
    (
        "noop",
        "fe31b04717e189fe5eaadcdae99fef82a461b8016651c93e1399ea4b4ed8ac7f",
        "9fd19becaa7ca55687fd414cd99996ef2131284dde49c0c9fa903ccf0af1b81c",
        "1019c580d2eef4b36764937f942de57b90c4c4ea8a0384fa79e7adec71dde288",
    ),
    (
        "avellaneda-stoikov",
        "e46eb9318da3b25e5dd40114a11bce1c479f9086cda0fc1dfe6c94761381bcb1",
        "67f78ef52044473bc3360436ae8d0fdcf9af545ac2735334b4b22ed0d52c6967",
        "20f14f5f811eb98d754b05d3ef44d8e3d68455e6bf268d598be1cdd3bec10a37",
    ),
];
/// NautilusTrader's Binance USD-M depth CSV: a 100-level snapshot and one update.
pub(crate) const NT_DEPTH_EVENTS: u64 = 201;
pub(crate) const NT_DEPTH: [Golden; 2] = [
    (
        "noop",
        "9cec91bd29abe53c6af958166bce27282523331fc317e9099ea7095dd04551ad",
        "d1bd8395c816264cca082c1367f9b0a3cf645e9a47d7875e922ecd878f0ad76f",
        "61c27278e6654bd63c1f0f0cea020e3b4566f80807c10ae3d8111ba90f2da3f3",
    ),
    (
        "avellaneda-stoikov",
        "a5eb39ff53998746dd8c3a31fcf5abba88cf565bc347af71f38aa93f7bdcfe69",
        "adda0793dcf625ccef74bc505436c49dbaf9b9a2700bf5f1a9b594ddc04280bd",
        "581e08bee0186a3d8f8e5296be2f1f088b1f7f910b91db4c88813221fd930063",
    ),
];
/// NautilusTrader's TrueFX USD/JPY ticks: 1,000 quotes without sizes.
pub(crate) const NT_TRUEFX: [Golden; 2] = [
    (
        "noop",
        "c7ebb52906aeafe8b9f77e87ec2d958d9198634de3298da6b8961e1829ed6bc3",
        "086ca38887286c6b395b75a87fc7ea54e767c4754b95a99f47e348f8ec78d744",
        "e5494ab57cb00a880d472fe4e2ea5f17e63317ca52d886836bb080faa7bc9abf",
    ),
    (
        "avellaneda-stoikov",
        "e2903a40db877db2f00a5deabec0ccf10a4f6126d399464994f778deed2defba",
        "f5b37699687f1856fbbc63e430ac3a245c7c7020166f960c2ab8473e4928f042",
        "5c1e5f62ed1cc31d108c1af2a5f22f6eb5c1fe0ee5a65ecbb5cd1644253ee38b",
    ),
];
/// Databento one-minute BBO of two futures and two options, with the options' definitions.
pub(crate) const DBN_BBO_EVENTS: u64 = 40;
pub(crate) const DBN_BBO_SYMBOLS: [&str; 4] = ["NQM4", "ESM4", "ESM4 P5230", "ESM4 P5250"];
