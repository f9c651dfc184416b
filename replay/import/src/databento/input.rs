//! A DBN file being read: its decoder, record count, and the current record with its local
//! time.

use super::record::{Item, Rec, UNDEF_TS, convert};
use crate::error::ImportError;
use crate::merge::Cursor;
use dbn::VersionUpgradePolicy;
use dbn::decode::{DecodeRecordRef, DynDecoder};
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

/// One DBN input: its decoder, record count, and the current record.
pub(crate) struct Input {
    path: PathBuf,
    pub(crate) dec: DynDecoder<'static, BufReader<File>>,
    /// Records decoded so far (the current one's 1-based number).
    pub(crate) index: u64,
    /// The current record and its local time (-1 where it has none); `None` at the end.
    pub(crate) cur: Option<(i64, Item)>,
}

impl Input {
    /// Opens `path` and reads its metadata (the first record is not decoded yet).
    pub(crate) fn open(path: &Path) -> Result<Self, ImportError> {
        let dec = DynDecoder::from_file(path, VersionUpgradePolicy::UpgradeToV3).map_err(|e| {
            ImportError::Format {
                file: path.to_path_buf(),
                reason: format!(
                    "not a readable DBN file ({e}); give Databento .dbn or .dbn.zst files"
                ),
            }
        })?;
        Ok(Self { path: path.to_path_buf(), dec, index: 0, cur: None })
    }

    /// An error about the current record.
    pub(crate) fn err(&self, reason: impl Into<String>) -> ImportError {
        ImportError::Record { file: self.path.clone(), record: self.index, reason: reason.into() }
    }

    /// Decodes the next record; `cur` is then it with its local time, or `None` at the end.
    pub(crate) fn decode_next(&mut self) -> Result<(), ImportError> {
        let next = self.dec.decode_record_ref().map_err(|e| ImportError::Record {
            file: self.path.clone(),
            record: self.index + 1,
            reason: format!("cannot decode: {e}"),
        })?;
        let Some(r) = next else {
            self.cur = None;
            return Ok(());
        };
        self.index += 1;
        let item = match r.as_enum().map(convert) {
            Ok(Ok(item)) => item,
            Ok(Err(reason)) => return Err(self.err(reason)),
            Err(_) => Item {
                instrument_id: r.header().instrument_id,
                publisher_id: r.header().publisher_id,
                sequence: None,
                ts_event: r.header().ts_event,
                ts_recv: UNDEF_TS,
                flags: 0,
                rec: Rec::Other("record of an unknown type"),
            },
        };
        let raw = if item.ts_recv == UNDEF_TS { item.ts_event } else { item.ts_recv };
        let local = if raw == UNDEF_TS {
            -1
        } else {
            i64::try_from(raw).map_err(|_| self.err(format!("time {raw} ns is beyond 2262")))?
        };
        self.cur = Some((local, item));
        Ok(())
    }
}

impl Cursor for Input {
    type Context = ();

    fn at(&self) -> Option<i64> {
        self.cur.as_ref().map(|(t, _)| *t)
    }

    fn advance(&mut self, _: &()) -> Result<(), ImportError> {
        self.decode_next()
    }
}
