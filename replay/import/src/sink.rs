//! Where every importer writes its events: a tape, checked event by event as a replay will
//! read it.

use crate::error::ImportError;
use crate::lines::Lines;
use crate::options::ImportOptions;
use crate::summary::ImportSummary;
use lockstep_io::TapeFile;
use lockstep_sim::{Book, EventCheck, FLAG_MORE, TapeEvent, TapeHeader, check_instruments};
use std::path::{Path, PathBuf};

/// Writes batches of events to a tape: every event of a batch but the last gets
/// [`FLAG_MORE`], so strategies see the book once per source message.
pub(crate) struct Sink {
    path: PathBuf,
    w: TapeFile,
    check: EventCheck,
    /// The book each instrument's events build, as a replay will build it: an event it cannot
    /// apply (a level's total quantity overflowing) is refused at its line here rather than
    /// stopping every later replay of the tape.
    books: Vec<Option<Book>>,
    first_local: Option<i64>,
    last_local: Option<i64>,
}

impl Sink {
    pub(crate) fn create(
        path: &Path,
        mut header: TapeHeader,
        opts: &ImportOptions,
    ) -> Result<Self, ImportError> {
        if opts.chunk_events > 0 {
            header.chunk_events = opts.chunk_events;
        }
        check_instruments(&header.instruments).map_err(|reason| ImportError::Format {
            file: path.to_path_buf(),
            reason: format!("the tape would be invalid: {reason}"),
        })?;
        let check = EventCheck::new(header.instruments.len(), true);
        let books = (0..header.instruments.len()).map(|_| None).collect();
        let w = TapeFile::create(path, header, opts.compression)
            .map_err(|source| ImportError::Tape { file: path.to_path_buf(), source })?;
        Ok(Self { path: path.to_path_buf(), w, check, books, first_local: None, last_local: None })
    }

    /// Writes the events of one source message; `at` is the input being read, whose current
    /// line an event breaking the tape's rules is reported at.
    pub(crate) fn batch(
        &mut self,
        events: &mut [TapeEvent],
        at: &Lines,
    ) -> Result<(), ImportError> {
        self.batch_with(events, &|reason| at.err(reason))
    }

    /// [`Sink::batch`] with errors located by `at`.
    pub(crate) fn batch_with(
        &mut self,
        events: &mut [TapeEvent],
        at: &dyn Fn(String) -> ImportError,
    ) -> Result<(), ImportError> {
        let n = events.len();
        for e in events.iter() {
            self.check.check(e).map_err(|reason| at(format!("the event {reason}")))?;
            // `check` has verified the instrument is on the tape.
            if let Some(slot) = self.books.get_mut(usize::from(e.instrument)) {
                let book = slot.get_or_insert_with(|| Book::with_capacity(1 << 10, 1 << 6));
                book.try_apply(&e.msg).map_err(|o| {
                    at(format!("instrument {}: {o}; the tape could not be replayed", e.instrument))
                })?;
            }
        }
        for (i, e) in events.iter_mut().enumerate() {
            if i + 1 < n {
                e.flags |= FLAG_MORE;
            } else {
                e.flags &= !FLAG_MORE;
            }
            self.w
                .push(e)
                .map_err(|source| ImportError::Tape { file: self.path.clone(), source })?;
            self.first_local.get_or_insert(e.local_ts.0);
            self.last_local = Some(self.last_local.map_or(e.local_ts.0, |l| l.max(e.local_ts.0)));
        }
        Ok(())
    }

    /// Closes the tape: a summary with the counts, `notes`, and the first and last local times.
    pub(crate) fn finish(
        self,
        rows: u64,
        notes: Vec<(String, u64)>,
    ) -> Result<ImportSummary, ImportError> {
        let events = self.w.events();
        let (header, tape_bytes) = self
            .w
            .finish()
            .map_err(|source| ImportError::Tape { file: self.path.clone(), source })?;
        let mut s = ImportSummary::plain(header, rows, events, tape_bytes);
        s.notes = notes;
        s.start_ns = self.first_local;
        s.end_ns = self.last_local;
        Ok(s)
    }
}
