//! Sequence numbers kept across restarts.

use crate::error::StoreError;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The next MsgSeqNum to send and the next one expected from the peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeqNums {
    /// Next outgoing MsgSeqNum.
    pub next_sender: u64,
    /// Next expected incoming MsgSeqNum.
    pub next_target: u64,
}

impl Default for SeqNums {
    fn default() -> Self {
        Self { next_sender: 1, next_target: 1 }
    }
}

/// Where a session keeps its sequence numbers. `save` is called whenever either changes and must
/// be as durable as the store promises when it returns.
pub trait SeqStore {
    /// The stored numbers, or `1, 1` for a new session.
    fn load(&mut self) -> Result<SeqNums, StoreError>;
    /// Replaces the stored numbers.
    fn save(&mut self, nums: SeqNums) -> Result<(), StoreError>;
    /// Makes what `save` was given as durable as the store promises. A store may hold saves
    /// until this call; whoever writes the session's bytes calls it before they leave, so a
    /// number is never on the wire before it is stored.
    ///
    /// # Errors
    /// The store's I/O error.
    fn commit(&mut self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Keeps the numbers in memory: for tests and for sessions that reset on every logon.
#[derive(Debug, Clone, Copy, Default)]
pub struct MemorySeqStore {
    /// The current numbers.
    pub nums: SeqNums,
}

impl SeqStore for MemorySeqStore {
    fn load(&mut self) -> Result<SeqNums, StoreError> {
        Ok(self.nums)
    }
    fn save(&mut self, nums: SeqNums) -> Result<(), StoreError> {
        self.nums = nums;
        Ok(())
    }
}

/// Keeps the numbers in a small text file (`next_sender=N`, `next_target=M`). Each save writes a
/// temporary file beside it, fsyncs it, renames it over the old one and fsyncs the directory, so
/// a crash leaves either the old or the new numbers. An fsync costs on the order of a
/// millisecond on a disk: a latency-critical thread should save from elsewhere or batch.
#[derive(Debug, Clone)]
pub struct FileSeqStore {
    path: PathBuf,
    tmp: PathBuf,
    text: Vec<u8>,
    /// [`FileSeqStore::in_place`]: the file kept open and overwritten in place, unsynced.
    open: Option<std::sync::Arc<std::fs::File>>,
    in_place: bool,
    /// In place: the numbers saved since the last [`SeqStore::commit`].
    pending: Option<SeqNums>,
}

impl FileSeqStore {
    /// A store at `path` (created on the first save; its directory must exist).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        let mut tmp = path.clone().into_os_string();
        tmp.push(".tmp");
        Self {
            path,
            tmp: tmp.into(),
            text: Vec::with_capacity(64),
            open: None,
            in_place: false,
            pending: None,
        }
    }

    /// A store at `path` for a latency-critical thread: saves are held until
    /// [`SeqStore::commit`], which overwrites the file in place with one positioned write of
    /// fixed width (about a microsecond, no fsync), so a batch of messages costs one write. The
    /// numbers committed survive a crash or `kill -9` of the process (the kernel holds the
    /// bytes) but not a power loss; [`FileSeqStore::sync`] makes them durable (at logout).
    pub fn in_place(path: impl Into<PathBuf>) -> Self {
        Self { in_place: true, ..Self::new(path) }
    }

    /// Flushes an in-place store's numbers to the disk.
    ///
    /// # Errors
    /// The OS error of the fsync.
    pub fn sync(&mut self) -> Result<(), StoreError> {
        self.commit()?;
        match &self.open {
            Some(f) => f.sync_all().map_err(self.io("fsync")),
            None => Ok(()),
        }
    }

    fn save_in_place(&mut self, nums: SeqNums) -> Result<(), StoreError> {
        self.text.clear();
        // Fixed width: every save covers the previous one whole, with no truncation.
        let _ = write!(
            self.text,
            "next_sender={:020}\nnext_target={:020}\n",
            nums.next_sender, nums.next_target
        );
        if self.open.is_none() {
            let f = std::fs::OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&self.path)
                .map_err(self.io("open"))?;
            self.open = Some(std::sync::Arc::new(f));
        }
        let Some(f) = self.open.as_deref() else { return Ok(()) };
        write_at_start(f, &self.text).map_err(self.io("write"))
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn io(&self, op: &'static str) -> impl FnOnce(std::io::Error) -> StoreError + '_ {
        move |source| StoreError::Io { path: self.path.clone(), op, source }
    }
}

fn parse_line(line: &str, key: &str) -> Option<u64> {
    let v = line.trim().strip_prefix(key)?.strip_prefix('=')?;
    crate::codec::parse_u64(v.as_bytes()).filter(|&n| n > 0)
}

impl SeqStore for FileSeqStore {
    fn load(&mut self) -> Result<SeqNums, StoreError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(SeqNums::default()),
            Err(e) => return Err(self.io("read")(e)),
        };
        let corrupt = |line| StoreError::Corrupt { path: self.path.clone(), line };
        let mut lines = text.lines();
        let next_sender = lines.next().and_then(|l| parse_line(l, "next_sender"));
        let next_sender = next_sender.ok_or_else(|| corrupt(1))?;
        let next_target = lines.next().and_then(|l| parse_line(l, "next_target"));
        let next_target = next_target.ok_or_else(|| corrupt(2))?;
        Ok(SeqNums { next_sender, next_target })
    }

    fn commit(&mut self) -> Result<(), StoreError> {
        match self.pending.take() {
            Some(nums) => self.save_in_place(nums).inspect_err(|_| self.pending = Some(nums)),
            None => Ok(()),
        }
    }

    fn save(&mut self, nums: SeqNums) -> Result<(), StoreError> {
        if self.in_place {
            self.pending = Some(nums);
            return Ok(());
        }
        self.text.clear();
        // Writing into a Vec cannot fail.
        let _ = write!(
            self.text,
            "next_sender={}\nnext_target={}\n",
            nums.next_sender, nums.next_target
        );
        let mut f = std::fs::File::create(&self.tmp).map_err(self.io("create temporary file"))?;
        f.write_all(&self.text).map_err(self.io("write temporary file"))?;
        f.sync_all().map_err(self.io("fsync temporary file"))?;
        drop(f);
        std::fs::rename(&self.tmp, &self.path).map_err(self.io("rename"))?;
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            // Makes the rename durable; some filesystems do not allow opening a directory.
            if let Ok(d) = std::fs::File::open(dir) {
                d.sync_all().map_err(self.io("fsync directory"))?;
            }
        }
        Ok(())
    }
}

/// Writes `bytes` at the start of `f`: one positioned write where the platform has it.
#[cfg(unix)]
fn write_at_start(f: &std::fs::File, bytes: &[u8]) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(f, bytes, 0)
}

#[cfg(not(unix))]
fn write_at_start(mut f: &std::fs::File, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom};
    f.seek(SeekFrom::Start(0))?;
    f.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_store_round_trips_and_reports_corruption() {
        let dir = std::env::temp_dir().join(format!("lockstep-fix-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("seq");
        let _ = std::fs::remove_file(&path);
        let mut s = FileSeqStore::new(&path);
        assert_eq!(s.load().unwrap(), SeqNums::default());
        s.save(SeqNums { next_sender: 42, next_target: 7 }).unwrap();
        let mut again = FileSeqStore::new(&path);
        assert_eq!(again.load().unwrap(), SeqNums { next_sender: 42, next_target: 7 });
        std::fs::write(&path, "next_sender=3\nnext_target=x\n").unwrap();
        let e = again.load().unwrap_err();
        assert!(e.to_string().contains("line 2"), "{e}");
        // In place: every commit readable by a fresh store at once (as after a kill -9); a save
        // alone is held.
        let _ = std::fs::remove_file(&path);
        let mut fast = FileSeqStore::in_place(&path);
        for n in [9_u64, 12_345_678_901, 10] {
            fast.save(SeqNums { next_sender: n, next_target: n + 1 }).unwrap();
            fast.save(SeqNums { next_sender: n + 5, next_target: n + 1 }).unwrap();
            fast.commit().unwrap();
            fast.save(SeqNums { next_sender: n + 9, next_target: n + 9 }).unwrap();
            let read = FileSeqStore::new(&path).load().unwrap();
            assert_eq!(read, SeqNums { next_sender: n + 5, next_target: n + 1 });
            fast.save(SeqNums { next_sender: n, next_target: n + 1 }).unwrap();
            fast.commit().unwrap();
            let read = FileSeqStore::new(&path).load().unwrap();
            assert_eq!(read, SeqNums { next_sender: n, next_target: n + 1 });
        }
        fast.sync().unwrap();
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
