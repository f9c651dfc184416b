//! Tape files: opened for reading, and written atomically (the target is replaced only when
//! the tape is complete).

use crate::atomic::AtomicFile;
use lockstep_sim::{Compression, TapeError, TapeHeader, TapeReader, TapeWriter};
use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::ops::{Deref, DerefMut};
use std::path::Path;

/// Buffer size of tape files, both ways.
const BUFFER: usize = 1 << 20;

/// A tape file being read.
pub type TapeFileReader = TapeReader<BufReader<File>>;

/// Opens the tape file at `path` and reads its header.
///
/// # Errors
/// [`TapeError`] if the file cannot be opened or its header is invalid.
pub fn open_tape(path: &Path) -> Result<TapeFileReader, TapeError> {
    let f = File::open(path).map_err(|source| TapeError::Io { offset: 0, source })?;
    TapeReader::new(BufReader::with_capacity(BUFFER, f))
}

/// A tape file being written: a [`TapeWriter`] (push events through it) whose
/// [`TapeFile::finish`] moves the complete file into place. A failed or abandoned write leaves
/// an existing file untouched.
pub struct TapeFile(TapeWriter<BufWriter<AtomicFile>>);

impl std::fmt::Debug for TapeFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TapeFile").field("events", &self.0.events()).finish_non_exhaustive()
    }
}

impl TapeFile {
    /// Starts the tape file at `path`, written to a temporary file beside it.
    ///
    /// # Errors
    /// [`TapeError::Io`] if the file cannot be created or written.
    pub fn create(
        path: &Path,
        header: TapeHeader,
        compression: Compression,
    ) -> Result<Self, TapeError> {
        let f = AtomicFile::create(path).map_err(|source| TapeError::Io { offset: 0, source })?;
        TapeWriter::new(BufWriter::with_capacity(BUFFER, f), header, compression).map(Self)
    }

    /// Completes the tape and moves it into place; returns the final header and the file size.
    ///
    /// # Errors
    /// [`TapeError::Io`] on a write error; the target path is then untouched.
    pub fn finish(self) -> Result<(TapeHeader, u64), TapeError> {
        let (header, size, out) = self.0.finish_into()?;
        let io = |source| TapeError::Io { offset: size, source };
        out.into_inner().map_err(|e| io(e.into_error()))?.commit().map_err(io)?;
        Ok((header, size))
    }
}

impl Deref for TapeFile {
    type Target = TapeWriter<BufWriter<AtomicFile>>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for TapeFile {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}
