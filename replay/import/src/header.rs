//! The header row of a CSV file: which column holds what.

use crate::error::ImportError;
use std::path::Path;

/// The column names of a CSV file's first row.
pub(crate) struct Header<'a> {
    path: &'a Path,
    names: Vec<&'a str>,
}

impl<'a> Header<'a> {
    /// The header `text` of the file `path`.
    pub(crate) fn new(path: &'a Path, text: &'a str) -> Self {
        Self { path, names: text.split(',').map(str::trim).collect() }
    }

    /// Number of columns.
    pub(crate) fn len(&self) -> usize {
        self.names.len()
    }

    /// The index of the column `name`, if there is one.
    pub(crate) fn col(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|c| *c == name)
    }

    /// The index of the column `name`; without one, the file is refused for the reason
    /// `lacks(name)`.
    pub(crate) fn need(
        &self,
        name: &str,
        lacks: &dyn Fn(&str) -> String,
    ) -> Result<usize, ImportError> {
        self.col(name).ok_or_else(|| self.refuse(lacks(name)))
    }

    /// The file refused as a whole.
    pub(crate) fn refuse(&self, reason: String) -> ImportError {
        ImportError::Format { file: self.path.to_path_buf(), reason }
    }
}
