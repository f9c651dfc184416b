//! The DBN data of a file, checked record by record before the `dbn` crate decodes it.
//!
//! `dbn` trusts a record's length field: it panics where an instrument definition (or another
//! record it upgrades from an older DBN version) is shorter than its struct, reads a short
//! market data record's fields beyond its end, and takes data that stop mid-record or inside a
//! zstd frame for a complete file. [`Frames`] stands between the decompressed file and the
//! decoder and passes on whole, plausible units only: the metadata, then each record whose
//! length covers its type's struct (in the file's DBN version) and whose bytes are all there.

use dbn::RType;
use std::io::{self, Read};
use std::mem::size_of;

/// The DBN versions read (the decoder upgrades 1 and 2 to 3).
const VERSIONS: std::ops::RangeInclusive<u8> = 1..=3;
/// `DBN`, the version byte and the metadata's length.
const PRELUDE: usize = 8;
/// A record header: length, rtype, publisher, instrument, event time.
const HEADER: usize = 16;

/// Why the data cannot be decoded, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Fault {
    /// The 1-based record (`None`: the metadata).
    pub(crate) record: Option<u64>,
    /// Where that record (or the metadata) starts: bytes of data before it.
    pub(crate) offset: u64,
    /// Whether the data stop there (else they are malformed).
    pub(crate) truncated: bool,
    /// What is wrong, for the error.
    pub(crate) reason: String,
}

/// DBN data passed on one checked unit (the metadata, then a record) at a time.
pub(crate) struct Frames<R> {
    inner: R,
    version: u8,
    /// Whether every record carries an extra 8-byte send time (the metadata's `ts_out`).
    ts_out: bool,
    /// The unit being passed on, and how much of it has been.
    unit: Vec<u8>,
    pos: usize,
    /// Bytes of data before the unit.
    offset: u64,
    /// Records read (the unit's number when it is one).
    records: u64,
    /// The first fault, kept: every later read fails with it.
    fault: Option<Fault>,
}

impl<R: Read> Frames<R> {
    /// Reads and checks the metadata of the DBN data `inner`.
    pub(crate) fn open(inner: R) -> Result<Self, Fault> {
        let mut f = Self {
            inner,
            version: 0,
            ts_out: false,
            unit: Vec::new(),
            pos: 0,
            offset: 0,
            records: 0,
            fault: None,
        };
        f.metadata()?;
        Ok(f)
    }

    /// Why reading stopped, if it did at a fault.
    pub(crate) fn fault(&self) -> Option<&Fault> {
        self.fault.as_ref()
    }

    /// A fault in the current unit.
    fn fault_here(&self, truncated: bool, reason: String) -> Fault {
        let record = (self.records > 0).then_some(self.records);
        Fault { record, offset: self.offset, truncated, reason }
    }

    /// Appends up to `n` more bytes of data to the unit; how many there were (fewer only at
    /// the end of the data).
    fn more(&mut self, n: usize) -> Result<usize, Fault> {
        let r = (&mut self.inner).take(n as u64).read_to_end(&mut self.unit);
        r.map_err(|e| match e.kind() {
            io::ErrorKind::UnexpectedEof => self.fault_here(
                true,
                format!(
                    "input ends mid-frame of the zstd compression, {} bytes into this {}",
                    self.unit.len(),
                    if self.records > 0 { "record" } else { "metadata" }
                ),
            ),
            _ => self.fault_here(false, format!("cannot read the data: {e}")),
        })
    }

    /// Reads the prelude and the metadata into the unit.
    fn metadata(&mut self) -> Result<(), Fault> {
        let got = self.more(PRELUDE)?;
        if got == 0 {
            return Err(self.fault_here(false, "the file is empty".into()));
        }
        if !self.unit.starts_with(b"DBN") {
            return Err(self.fault_here(false, "it does not start with `DBN`".into()));
        }
        if got < PRELUDE {
            return Err(self.fault_here(true, format!("input ends {got} bytes into the metadata")));
        }
        self.version = self.unit[3];
        if !VERSIONS.contains(&self.version) {
            return Err(self.fault_here(
                false,
                format!("DBN version {} is not read (versions 1 to 3 are)", self.version),
            ));
        }
        let len = u32::from_le_bytes([self.unit[4], self.unit[5], self.unit[6], self.unit[7]]);
        let len = usize::try_from(len).unwrap_or(usize::MAX);
        let got = self.more(len)?;
        if got < len {
            return Err(self.fault_here(
                true,
                format!("input ends {got} bytes into the metadata's {len} bytes"),
            ));
        }
        // After the dataset, schema, start, end, limit (and version 1's record count), the
        // input and output symbology types.
        let ts_out_at = PRELUDE + if self.version == 1 { 52 } else { 44 };
        self.ts_out = self.unit.get(ts_out_at).is_some_and(|b| *b != 0);
        Ok(())
    }

    /// Reads the next record into the unit; `false` at the end of the data.
    fn record(&mut self) -> Result<bool, Fault> {
        self.offset += self.unit.len() as u64;
        self.unit.clear();
        self.pos = 0;
        self.records += 1;
        if self.more(1)? == 0 {
            self.records -= 1;
            return Ok(false);
        }
        let len = usize::from(self.unit[0]) * 4;
        if len < HEADER {
            return Err(self.fault_here(
                false,
                format!("its length field says {len} bytes, less than a record header's {HEADER}"),
            ));
        }
        let got = 1 + self.more(len - 1)?;
        if got < len {
            return Err(self
                .fault_here(true, format!("input ends {got} bytes into this {len}-byte record")));
        }
        let rtype = self.unit[1];
        if let Some(need) = struct_len(self.version, rtype) {
            let need = need + if self.ts_out { 8 } else { 0 };
            if len < need {
                let name = RType::try_from(rtype).map_or_else(|_| "?".into(), |r| r.to_string());
                return Err(self.fault_here(
                    false,
                    format!(
                        "a record of type {name} (rtype {rtype:#04x}) is {need} bytes long in DBN \
                         version {}, but its length field says {len}",
                        self.version
                    ),
                ));
            }
        }
        Ok(true)
    }
}

impl<R: Read> Read for Frames<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let fail = |f: &Fault| io::Error::new(io::ErrorKind::InvalidData, f.reason.clone());
        if let Some(f) = &self.fault {
            return Err(fail(f));
        }
        if self.pos == self.unit.len() {
            match self.record() {
                Ok(true) => {}
                Ok(false) => return Ok(0),
                Err(f) => {
                    let e = fail(&f);
                    self.fault = Some(f);
                    return Err(e);
                }
            }
        }
        let n = buf.len().min(self.unit.len() - self.pos);
        buf[..n].copy_from_slice(&self.unit[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// The size of the struct of a record of `rtype` in DBN `version` (without `ts_out`), as the
/// decoder reads it; `None` for a type it does not know (skipped as such).
#[allow(deprecated, reason = "old files still carry the deprecated OHLCV rtype")]
fn struct_len(version: u8, rtype: u8) -> Option<usize> {
    Some(match RType::try_from(rtype).ok()? {
        RType::Mbp0 => size_of::<dbn::TradeMsg>(),
        RType::Mbp1 | RType::Tbbo => size_of::<dbn::Mbp1Msg>(),
        RType::Mbp10 => size_of::<dbn::Mbp10Msg>(),
        RType::Mbo => size_of::<dbn::MboMsg>(),
        RType::Bbo1S | RType::Bbo1M => size_of::<dbn::BboMsg>(),
        RType::Cmbp1 | RType::Tcbbo => size_of::<dbn::Cmbp1Msg>(),
        RType::Cbbo1S | RType::Cbbo1M => size_of::<dbn::CbboMsg>(),
        RType::OhlcvDeprecated
        | RType::Ohlcv1S
        | RType::Ohlcv1M
        | RType::Ohlcv1H
        | RType::Ohlcv1D
        | RType::OhlcvEod => size_of::<dbn::OhlcvMsg>(),
        RType::Status => size_of::<dbn::StatusMsg>(),
        RType::Imbalance => size_of::<dbn::ImbalanceMsg>(),
        RType::InstrumentDef => match version {
            1 => size_of::<dbn::v1::InstrumentDefMsg>(),
            2 => size_of::<dbn::v2::InstrumentDefMsg>(),
            _ => size_of::<dbn::v3::InstrumentDefMsg>(),
        },
        RType::Statistics if version < 3 => size_of::<dbn::v1::StatMsg>(),
        RType::Statistics => size_of::<dbn::v3::StatMsg>(),
        RType::Error if version == 1 => size_of::<dbn::v1::ErrorMsg>(),
        RType::Error => size_of::<dbn::v2::ErrorMsg>(),
        RType::SymbolMapping if version == 1 => size_of::<dbn::v1::SymbolMappingMsg>(),
        RType::SymbolMapping => size_of::<dbn::v2::SymbolMappingMsg>(),
        RType::System if version == 1 => size_of::<dbn::v1::SystemMsg>(),
        RType::System => size_of::<dbn::v2::SystemMsg>(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{scratch_dir, shared_file, tape_events};
    use crate::{ImportError, ImportOptions, ImportSummary, Position, import_databento};
    use dbn::decode::DynReader;
    use dbn::encode::{DbnEncoder, DynWriter, EncodeRecord};
    use dbn::{Compression, FlagSet, Metadata, RecordHeader, SType, Schema, flags, rtype};
    use std::ffi::c_char;
    use std::io::Write;

    const T0: u64 = 1_703_422_805_000_000_000;

    /// An MBO add of instrument 7, the `i`-th.
    fn mbo(i: u64) -> dbn::MboMsg {
        dbn::MboMsg {
            hd: RecordHeader::new::<dbn::MboMsg>(rtype::MBO, 1, 7, T0 + i),
            order_id: i + 1,
            price: 4_799_000_000_000 + 250_000_000 * i as i64,
            size: 1,
            flags: FlagSet::new(flags::LAST),
            channel_id: 0,
            action: b'A' as c_char,
            side: b'B' as c_char,
            ts_recv: T0 + i + 1_000,
            ts_in_delta: 0,
            sequence: i as u32,
        }
    }

    /// A DBN file of `version` (1 or 3): instrument 7's definition, then three MBO adds; its
    /// bytes and where each record starts.
    fn sample(version: u8) -> (Vec<u8>, Vec<usize>) {
        let meta = Metadata::builder()
            .dataset("GLBX.MDP3")
            .schema(Some(Schema::Mbo))
            .start(T0)
            .stype_in(None)
            .stype_out(SType::InstrumentId)
            .version(version)
            .build();
        let mut buf = Vec::new();
        let mut enc = DbnEncoder::new(&mut buf, &meta).unwrap();
        let symbol = [b'E', b'S', b'H', b'4'].map(|b| b as c_char);
        if version == 1 {
            let mut def = dbn::v1::InstrumentDefMsg::default();
            (def.hd.instrument_id, def.hd.ts_event, def.ts_recv) = (7, T0, T0);
            def.min_price_increment = 250_000_000;
            def.raw_symbol[..4].copy_from_slice(&symbol);
            enc.encode_record(&def).unwrap();
        } else {
            let mut def = dbn::InstrumentDefMsg::default();
            (def.hd.instrument_id, def.hd.ts_event, def.ts_recv) = (7, T0, T0);
            def.min_price_increment = 250_000_000;
            def.raw_symbol[..4].copy_from_slice(&symbol);
            enc.encode_record(&def).unwrap();
        }
        for i in 0..3 {
            enc.encode_record(&mbo(i)).unwrap();
        }
        let mut at = 8 + u32::from_le_bytes([buf[4], buf[5], buf[6], buf[7]]) as usize;
        let mut starts = Vec::new();
        while at < buf.len() {
            starts.push(at);
            at += usize::from(buf[at]) * 4;
        }
        (buf, starts)
    }

    /// `bytes` compressed as Databento ships them (zstd).
    fn zstd(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut w = DynWriter::new(&mut out, Compression::Zstd).unwrap();
        w.write_all(bytes).unwrap();
        drop(w);
        out
    }

    /// Imports `bytes` as the file `name`; a refused import leaves no tape.
    fn import(name: &str, bytes: &[u8]) -> Result<ImportSummary, ImportError> {
        let d = scratch_dir("dbn-frames", name);
        let (f, out) = (d.join(name), d.join("t.tape"));
        std::fs::write(&f, bytes).unwrap();
        let r = import_databento(std::slice::from_ref(&f), &out, &ImportOptions::default());
        match &r {
            Ok(s) => assert_eq!(tape_events(&out).len() as u64, s.events),
            Err(_) => assert!(!out.exists(), "a refused import left a tape"),
        }
        std::fs::remove_dir_all(&d).unwrap();
        r
    }

    #[test]
    fn the_sample_files_import() {
        for version in [1, 3] {
            let (bytes, starts) = sample(version);
            assert_eq!(starts.len(), 4);
            let s = import("ok.dbn", &bytes).unwrap();
            assert_eq!((s.rows, s.events), (4, 3), "version {version}");
            assert_eq!(s.header.instruments[0].symbol, "ESH4");
            let s = import("ok.dbn.zst", &zstd(&bytes)).unwrap();
            assert_eq!((s.rows, s.events), (4, 3), "version {version}");
        }
    }

    /// A definition whose length field is shorter than its struct made `dbn` panic while
    /// upgrading it from DBN version 1 (`RecordRef::get`'s length assertion).
    #[test]
    fn a_definition_shorter_than_its_struct_is_refused_not_a_panic() {
        for version in [1, 3] {
            let (mut bytes, starts) = sample(version);
            bytes[starts[0]] -= 1;
            let e = import("short-def.dbn", &bytes).unwrap_err();
            let ImportError::Record { record: 1, reason, .. } = &e else { panic!("{e}") };
            let want = if version == 1 { 360 } else { 520 };
            assert!(
                reason
                    == &format!(
                        "at byte {} of the uncompressed data: a record of type instrument-def (rtype 0x13) is {want} bytes long in DBN version {version}, but its length field says {}",
                        starts[0],
                        want - 4
                    ),
                "{e}"
            );
        }
    }

    /// Market data records are read field by field without a length check by `dbn`: a short
    /// one is refused, as is a length below the header's.
    #[test]
    fn short_records_are_refused_with_their_record_and_offset() {
        let (bytes, starts) = sample(3);
        for (len, want) in [
            (
                4,
                "a record of type mbo (rtype 0xa0) is 56 bytes long in DBN version 3, but its length field says 16",
            ),
            (0, "its length field says 0 bytes, less than a record header's 16"),
        ] {
            let mut b = bytes.clone();
            b[starts[2]] = len;
            let e = import("short-mbo.dbn", &b).unwrap_err();
            let ImportError::Record { record: 3, reason, .. } = &e else { panic!("{e}") };
            assert_eq!(reason, &format!("at byte {} of the uncompressed data: {want}", starts[2]));
        }
    }

    /// DBN data cut inside a record (or the metadata) were imported as a shorter tape.
    #[test]
    fn data_cut_mid_record_are_refused_as_truncated() {
        let (bytes, starts) = sample(1);
        for cut in 3..bytes.len() {
            let r = import("cut.dbn", &bytes[..cut]);
            let Some(k) = starts.iter().rposition(|s| *s <= cut) else {
                let e = r.unwrap_err();
                assert!(matches!(e, ImportError::Truncated { at: Position::Header, .. }), "{e}");
                continue;
            };
            if starts[k] == cut {
                // At a record boundary nothing tells a cut from the end of the data (and the
                // definition alone is no market data).
                match r {
                    Ok(s) => assert_eq!(s.rows, k as u64, "cut at {cut}"),
                    Err(e) => assert!(k <= 1 && matches!(e, ImportError::Format { .. }), "{e}"),
                }
                continue;
            }
            let e = r.unwrap_err();
            let at = Position::Record { record: k as u64 + 1, offset: starts[k] as u64 };
            assert!(matches!(&e, ImportError::Truncated { at: a, .. } if *a == at), "{e}");
        }
        let e = import("cut.dbn", &bytes[..starts[2] + 20]).unwrap_err().to_string();
        assert!(
            e.ends_with(&format!("cut.dbn: record 3 (at byte {} of the uncompressed data): input ends 20 bytes into this 56-byte record: the file is truncated; copy or download it again", starts[2])),
            "{e}"
        );
    }

    /// A zstd stream cut anywhere (Databento's `.dbn.zst`) was imported as a shorter tape.
    #[test]
    fn a_truncated_zstd_stream_is_refused() {
        let (bytes, mut starts) = sample(1);
        // A cut in the frame's end: the data stop where a fifth record would start.
        starts.push(bytes.len());
        let z = zstd(&bytes);
        for cut in 4..z.len() {
            let e = import("cut.dbn.zst", &z[..cut]).unwrap_err();
            let ImportError::Truncated { at, reason, .. } = &e else { panic!("cut {cut}: {e}") };
            assert!(reason.starts_with("input ends mid-frame of the zstd compression, "), "{e}");
            if let Position::Record { record, offset } = at {
                assert_eq!(starts[*record as usize - 1] as u64, *offset, "{e}");
            }
        }
    }

    #[test]
    fn the_shared_definition_file_with_a_short_definition_is_refused_not_a_panic() {
        let Some(f) = shared_file("databento/definition-glbx-es-fut.dbn.zst") else { return };
        let mut bytes = Vec::new();
        DynReader::inferred_with_buffer(std::io::BufReader::new(std::fs::File::open(&f).unwrap()))
            .unwrap()
            .read_to_end(&mut bytes)
            .unwrap();
        assert_eq!(&bytes[..4], b"DBN\x01");
        let first = 8 + u32::from_le_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]) as usize;
        assert_eq!(bytes[first + 1], rtype::INSTRUMENT_DEF);
        bytes[first] -= 2;
        let e = import("def.dbn", &bytes).unwrap_err();
        assert!(matches!(e, ImportError::Record { record: 1, .. }), "{e}");
        assert!(e.to_string().contains("but its length field says 352"), "{e}");
    }

    #[test]
    fn the_shared_mbo_file_cut_in_half_is_refused_as_truncated() {
        let Some(f) = shared_file("databento/esh4-glbx-mdp3-20231224.mbo.dbn.zst") else {
            return;
        };
        let z = std::fs::read(&f).unwrap();
        let e = import("esh4.mbo.dbn.zst", &z[..z.len() / 2]).unwrap_err();
        assert!(matches!(e, ImportError::Truncated { at: Position::Record { .. }, .. }), "{e}");
    }

    /// Mutated DBN files (plain and zstd, versions 1 and 3) are imported or refused, never a
    /// panic: random record lengths, then the fuzzer's bit flips, edge bytes, cuts and
    /// insertions. `LOCKSTEP_FUZZ_CASES` raises the count.
    #[test]
    fn fuzz_mutated_dbn_files_never_panic() {
        let cases = lockstep_sim::fuzz_cases(300);
        let mut rng = lockstep_sim::FuzzRng::new(0xdb17);
        let (mut ok, mut refused) = (0u64, 0u64);
        for (k, version, compress) in [(0, 1, false), (1, 3, false), (2, 1, true)] {
            let (seed, starts) = sample(version);
            for case in 0..cases {
                let mut b = seed.clone();
                if case % 2 == 0 {
                    b[starts[rng.below(starts.len())]] = rng.below(256) as u8;
                }
                if case % 3 != 0 {
                    rng.mutate(&mut b);
                }
                let b = if compress { zstd(&b) } else { b };
                match import(&format!("fuzz{k}.dbn"), &b) {
                    Ok(_) => ok += 1,
                    Err(e) => {
                        refused += 1;
                        assert!(!e.to_string().chars().any(char::is_control), "{e}");
                    }
                }
            }
        }
        assert!(ok > 0 && refused > 0, "{ok} imported, {refused} refused");
    }
}
