//! The line reader every text format reads through: plain or gzip files, 1-based line numbers,
//! errors that name the file and the line.

use crate::error::{ImportError, Position};
use flate2::read::MultiGzDecoder;
use std::fs::File;
use std::io::{self, BufRead, BufReader};
use std::path::{Path, PathBuf};

/// Longest line an importer reads (a longer one is refused before it is all in memory).
pub(crate) const MAX_LINE_BYTES: u64 = 8 << 20;

/// Reads text lines from a plain or gzip file (by content), with 1-based line numbers.
pub(crate) struct Lines {
    path: PathBuf,
    inner: Box<dyn BufRead>,
    buf: String,
    line: u64,
}

impl Lines {
    pub(crate) fn open(path: &Path) -> Result<Self, ImportError> {
        let io = |source| ImportError::Io { file: path.to_path_buf(), source };
        let mut f = BufReader::with_capacity(1 << 20, File::open(path).map_err(io)?);
        let gz = f.fill_buf().map_err(io)?.starts_with(&[0x1f, 0x8b]);
        let inner: Box<dyn BufRead> = if gz {
            Box::new(BufReader::with_capacity(1 << 20, MultiGzDecoder::new(f)))
        } else {
            Box::new(f)
        };
        Ok(Self { path: path.to_path_buf(), inner, buf: String::new(), line: 0 })
    }

    /// Opens a file whose first line names its columns, and reads that line: it is then
    /// [`Lines::text`]. A file without a line is refused.
    pub(crate) fn open_with_header(path: &Path) -> Result<Self, ImportError> {
        let mut lines = Self::open(path)?;
        if !lines.next_line()? {
            return Err(ImportError::Format {
                file: path.to_path_buf(),
                reason: "file is empty".into(),
            });
        }
        Ok(lines)
    }

    /// Reads the next line; `false` at the end. The line is then [`Lines::text`].
    pub(crate) fn next_line(&mut self) -> Result<bool, ImportError> {
        self.buf.clear();
        let n = io::Read::take(&mut self.inner, MAX_LINE_BYTES + 1)
            .read_line(&mut self.buf)
            .map_err(|e| self.read_error(&e))?;
        if n == 0 {
            return Ok(false);
        }
        self.line += 1;
        if n as u64 > MAX_LINE_BYTES {
            return Err(self.err(format!(
                "line is longer than {MAX_LINE_BYTES} bytes; is this really a market data file?"
            )));
        }
        let keep = self.buf.trim_end_matches(['\n', '\r']).len();
        self.buf.truncate(keep);
        // A UTF-8 byte order mark (as spreadsheet tools write) is not part of the first field.
        if self.line == 1 && self.buf.starts_with('\u{feff}') {
            self.buf.drain(..'\u{feff}'.len_utf8());
        }
        Ok(true)
    }

    /// Reads the next line that is not blank (blank lines are passed over); `false` at the end.
    pub(crate) fn next_row(&mut self) -> Result<bool, ImportError> {
        while self.next_line()? {
            if !self.text().trim().is_empty() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// The current line without its line ending.
    pub(crate) fn text(&self) -> &str {
        &self.buf
    }

    /// The error of a failed read of the next line: a compressed stream that ends mid-frame
    /// is a truncated file (a plain file cannot end early).
    fn read_error(&self, e: &io::Error) -> ImportError {
        let (file, line) = (self.path.clone(), self.line + 1);
        if e.kind() == io::ErrorKind::UnexpectedEof {
            let reason = "input ends mid-frame of the gzip compression".into();
            return ImportError::Truncated { file, at: Position::Line { line }, reason };
        }
        ImportError::Row { file, line, reason: format!("cannot read line: {e}") }
    }

    /// An error about the current line.
    pub(crate) fn err(&self, reason: impl Into<String>) -> ImportError {
        ImportError::Row { file: self.path.clone(), line: self.line, reason: reason.into() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::scratch_dir;
    use std::io::Write;

    /// Reads every line of `path`: the lines, or the error that stopped reading.
    fn read_all(path: &Path) -> Result<u64, ImportError> {
        let mut l = Lines::open(path)?;
        while l.next_line()? {}
        Ok(l.line)
    }

    /// A gzip file cut anywhere was read as fewer lines where the cut fell inside its deflate
    /// stream; the cut must be an error at the line being read.
    #[test]
    fn a_truncated_gzip_file_is_refused_as_truncated() {
        let d = scratch_dir("lines", "gz");
        let text: String = (0..2000).map(|i| format!("{i},{},row {i}\n", i * 7)).collect();
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(text.as_bytes()).unwrap();
        let gz = e.finish().unwrap();
        let f = d.join("t.csv.gz");
        std::fs::write(&f, &gz).unwrap();
        assert_eq!(read_all(&f).unwrap(), 2000);
        for cut in (2..gz.len()).step_by(61).chain([gz.len() - 1]) {
            std::fs::write(&f, &gz[..cut]).unwrap();
            match read_all(&f) {
                Err(ImportError::Truncated { at: Position::Line { line }, reason, .. }) => {
                    assert!((1..=2001).contains(&line), "{line}");
                    assert_eq!(reason, "input ends mid-frame of the gzip compression");
                }
                other => panic!("cut at {cut} of {}: {other:?}", gz.len()),
            }
        }
        std::fs::remove_dir_all(&d).unwrap();
    }
}
