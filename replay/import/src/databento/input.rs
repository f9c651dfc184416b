//! A DBN file being read: its decoder, record count, and the current record with its local
//! time.

use super::frames::{Fault, Frames};
use super::record::{Item, Rec, UNDEF_TS, convert};
use crate::error::{ImportError, Position};
use crate::merge::Cursor;
use dbn::VersionUpgradePolicy;
use dbn::decode::{DbnDecoder, DecodeRecordRef, DynReader};
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

/// The decoder of a file's DBN data, checked by [`Frames`] first.
type Decoder = DbnDecoder<Frames<DynReader<'static, BufReader<File>>>>;

/// One DBN input: its decoder, record count, and the current record.
pub(crate) struct Input {
    path: PathBuf,
    pub(crate) dec: Decoder,
    /// Records decoded so far (the current one's 1-based number).
    pub(crate) index: u64,
    /// The current record and its local time (-1 where it has none); `None` at the end.
    pub(crate) cur: Option<(i64, Item)>,
}

impl Input {
    /// Opens `path` and reads its metadata (the first record is not decoded yet).
    pub(crate) fn open(path: &Path) -> Result<Self, ImportError> {
        let refuse = |why: String| ImportError::Format {
            file: path.to_path_buf(),
            reason: format!(
                "not a readable DBN file ({why}); give Databento .dbn or .dbn.zst files"
            ),
        };
        let file = File::open(path)
            .map_err(|source| ImportError::Io { file: path.to_path_buf(), source })?;
        let data = DynReader::inferred_with_buffer(BufReader::new(file))
            .map_err(|e| refuse(e.to_string()))?;
        let frames = Frames::open(data).map_err(|f| match f {
            Fault { truncated: false, reason, .. } => refuse(reason),
            f => fault_error(path, f),
        })?;
        let dec = DbnDecoder::with_upgrade_policy(frames, VersionUpgradePolicy::UpgradeToV3)
            .map_err(|e| refuse(e.to_string()))?;
        Ok(Self { path: path.to_path_buf(), dec, index: 0, cur: None })
    }

    /// An error about the current record.
    pub(crate) fn err(&self, reason: impl Into<String>) -> ImportError {
        ImportError::Record { file: self.path.clone(), record: self.index, reason: reason.into() }
    }

    /// Decodes the next record; `cur` is then it with its local time, or `None` at the end.
    pub(crate) fn decode_next(&mut self) -> Result<(), ImportError> {
        let next = match self.dec.decode_record_ref() {
            Ok(next) => next,
            Err(e) => {
                return Err(match self.dec.get_ref().fault() {
                    Some(f) => fault_error(&self.path, f.clone()),
                    None => ImportError::Record {
                        file: self.path.clone(),
                        record: self.index + 1,
                        reason: format!("cannot decode: {e}"),
                    },
                });
            }
        };
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

/// The error of `fault` in the DBN data of `file`.
fn fault_error(file: &Path, fault: Fault) -> ImportError {
    let file = file.to_path_buf();
    let Fault { record, offset, truncated, reason } = fault;
    match (record, truncated) {
        (Some(record), true) => {
            ImportError::Truncated { file, at: Position::Record { record, offset }, reason }
        }
        (None, true) => ImportError::Truncated { file, at: Position::Header, reason },
        (Some(record), false) => ImportError::Record {
            file,
            record,
            reason: format!("at byte {offset} of the uncompressed data: {reason}"),
        },
        (None, false) => ImportError::Format { file, reason: format!("metadata: {reason}") },
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
