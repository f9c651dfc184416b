//! Files written whole or not at all.
//!
//! Every file Lockstep writes (tapes, traces, `.hlog`/`.hgrm`, charts) goes through
//! [`AtomicFile`]: the bytes go to a temporary file in the same directory, which is flushed to
//! disk and renamed over the target only when complete. A command that fails or is interrupted
//! leaves an existing file byte-identical (an interrupted one may leave a `.<stem>.tmp-<pid>.<ext>`
//! file beside it). [`refuse_overwriting_inputs`] refuses an output that is also an input before
//! anything is opened for writing.

use std::fs::{File, OpenOptions};
use std::io::{self, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// A file being written to a temporary path beside `path`; [`AtomicFile::commit`] moves it into
/// place. Dropped without a commit (an error, an early return, a panic), the temporary file is
/// removed and `path` is untouched.
#[derive(Debug)]
pub struct AtomicFile {
    file: Option<File>,
    tmp: PathBuf,
    path: PathBuf,
}

/// The temporary path used for `path`: `.<stem>.tmp-<pid>.<extension>` in the same directory
/// (a rename within one file system is atomic; the extension is kept for writers that choose
/// a format by it).
pub fn temp_path(path: &Path) -> PathBuf {
    let stem = path.file_stem().map_or_else(|| "out".into(), |n| n.to_string_lossy());
    let ext = path.extension().map(|e| format!(".{}", e.to_string_lossy())).unwrap_or_default();
    path.with_file_name(format!(".{stem}.tmp-{}{ext}", std::process::id()))
}

impl AtomicFile {
    /// Starts writing `path`; nothing at `path` changes until [`AtomicFile::commit`].
    ///
    /// # Errors
    /// The OS error creating the temporary file.
    pub fn create(path: &Path) -> io::Result<Self> {
        let tmp = temp_path(path);
        let file = OpenOptions::new().write(true).create(true).truncate(true).open(&tmp)?;
        Ok(Self { file: Some(file), tmp, path: path.to_path_buf() })
    }

    /// The file's final path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn file(&mut self) -> io::Result<&mut File> {
        self.file.as_mut().ok_or_else(|| io::Error::other("file already committed"))
    }

    /// Flushes the file to disk and renames it over the target.
    ///
    /// # Errors
    /// The OS error; the target is then untouched and the temporary file removed.
    pub fn commit(mut self) -> io::Result<()> {
        let file = self.file.take().ok_or_else(|| io::Error::other("file already committed"))?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&self.tmp, &self.path)?;
        // Make the rename itself durable where the platform allows syncing a directory.
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty())
            && let Ok(d) = File::open(dir)
        {
            let _ = d.sync_all();
        }
        self.tmp = PathBuf::new();
        Ok(())
    }
}

impl Write for AtomicFile {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.file()?.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file()?.flush()
    }
}

impl Seek for AtomicFile {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        self.file()?.seek(pos)
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            self.file = None;
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Writes `bytes` to `path` whole or not at all.
///
/// # Errors
/// The OS error; `path` is then untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut f = AtomicFile::create(path)?;
    f.write_all(bytes)?;
    f.commit()
}

/// A file of an output directory could not be written.
#[derive(Debug)]
pub struct WriteError {
    /// The file (or the directory that could not be created).
    pub path: PathBuf,
    /// The OS error.
    pub source: io::Error,
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "writing {}: {}; check the directory exists and is writable (each file before this one was written whole, none is half-written)",
            self.path.display(),
            self.source
        )
    }
}

impl std::error::Error for WriteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Writes each `(name, bytes)` into `dir` (created if missing) with [`write_atomic`]: no file
/// is ever half-written, and files in `dir` that are not named are left alone. Returns the
/// paths written.
///
/// # Errors
/// [`WriteError`] naming the file that could not be written.
pub fn write_files<'a>(
    dir: &Path,
    files: impl IntoIterator<Item = (&'a str, &'a [u8])>,
) -> Result<Vec<PathBuf>, WriteError> {
    std::fs::create_dir_all(dir)
        .map_err(|source| WriteError { path: dir.to_path_buf(), source })?;
    let mut paths = Vec::new();
    for (name, bytes) in files {
        let path = dir.join(name);
        write_atomic(&path, bytes).map_err(|source| WriteError { path: path.clone(), source })?;
        paths.push(path);
    }
    Ok(paths)
}

/// Writes `path` whole or not at all through a function that writes a file by name (a
/// drawing backend): `write` gets a temporary path beside `path` (with the same extension),
/// which is renamed over `path` when it succeeds and removed when it fails.
///
/// # Errors
/// `write`'s error, or the OS error syncing or renaming (converted with `io`).
pub fn write_via_temp<E>(
    path: &Path,
    write: impl FnOnce(&Path) -> Result<(), E>,
    io: impl FnOnce(io::Error) -> E,
) -> Result<(), E> {
    let tmp = temp_path(path);
    let r = write(&tmp).and_then(|()| {
        File::open(&tmp)
            .and_then(|f| f.sync_all())
            .and_then(|()| std::fs::rename(&tmp, path))
            .map_err(io)
    });
    if r.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    r
}

/// An output path that is also an input.
#[derive(Debug)]
pub struct SameFileError {
    /// The output path.
    pub output: PathBuf,
    /// The input it names.
    pub input: PathBuf,
}

impl std::fmt::Display for SameFileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "output {} is the input {}: writing it would destroy the input; choose another output path",
            self.output.display(),
            self.input.display()
        )
    }
}

impl std::error::Error for SameFileError {}

/// Refuses `output` when it is the same file as one of `inputs` (by path, symbolic links
/// resolved, or on Unix by device and inode, so hard links count too). Call it before opening
/// anything for writing.
///
/// # Errors
/// [`SameFileError`] naming the output and the input.
pub fn refuse_overwriting_inputs(output: &Path, inputs: &[&Path]) -> Result<(), SameFileError> {
    let Ok(out) = std::fs::canonicalize(output) else { return Ok(()) };
    let out_meta = std::fs::metadata(&out).ok();
    for input in inputs {
        let same_path = std::fs::canonicalize(input).is_ok_and(|i| i == out);
        if same_path || same_inode(out_meta.as_ref(), input) {
            return Err(SameFileError { output: output.to_path_buf(), input: input.to_path_buf() });
        }
    }
    Ok(())
}

/// Reads the file at `path` whole, refusing one larger than `limit` bytes (a device such as
/// `/dev/zero`, or a forged file) after reading at most `limit + 1` bytes.
///
/// # Errors
/// The OS error, or [`std::io::ErrorKind::InvalidData`] naming the limit.
pub fn read_bounded(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.take(limit.saturating_add(1)).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {limit} bytes, the most this command reads from it"),
        ));
    }
    Ok(bytes)
}

#[cfg(unix)]
fn same_inode(out: Option<&std::fs::Metadata>, input: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (out, std::fs::metadata(input)) {
        (Some(o), Ok(i)) => o.dev() == i.dev() && o.ino() == i.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_inode(_: Option<&std::fs::Metadata>, _: &Path) -> bool {
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("lockstep-atomic-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn a_file_dropped_before_commit_leaves_the_old_one_byte_identical() {
        let d = dir("drop");
        let p = d.join("x.tape");
        std::fs::write(&p, b"old contents").unwrap();
        {
            let mut f = AtomicFile::create(&p).unwrap();
            f.write_all(b"half of the new").unwrap();
        }
        assert_eq!(std::fs::read(&p).unwrap(), b"old contents");
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1, "temporary file removed");
        let mut f = AtomicFile::create(&p).unwrap();
        f.write_all(b"new").unwrap();
        f.commit().unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new");
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1);
        let r: Result<(), io::Error> = write_via_temp(
            &d.join("c.png"),
            |t| {
                assert_eq!(t.extension().unwrap(), "png");
                std::fs::write(t, b"partial")?;
                Err(io::Error::other("drawing failed"))
            },
            |e| e,
        );
        assert_eq!(r.unwrap_err().to_string(), "drawing failed");
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 1);
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn an_output_that_is_an_input_is_refused() {
        let d = dir("same");
        let a = d.join("a.csv");
        std::fs::write(&a, b"x").unwrap();
        let e = refuse_overwriting_inputs(&d.join("./a.csv"), &[&d.join("b.csv"), &a]).unwrap_err();
        assert_eq!(e.input, a);
        assert!(e.to_string().contains("would destroy the input"), "{e}");
        assert!(refuse_overwriting_inputs(&d.join("new.tape"), &[&a]).is_ok());
        std::fs::hard_link(&a, d.join("link.csv")).unwrap();
        assert!(refuse_overwriting_inputs(&d.join("link.csv"), &[&a]).is_err());
        std::fs::remove_dir_all(&d).unwrap();
    }
}
