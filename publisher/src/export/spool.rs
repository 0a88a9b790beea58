//! Where a publication keeps its monthly CSV files between the privacy check and the delivery.
//!
//! A year of hourly rows from hundreds of stations is hundreds of megabytes of CSV: each month
//! is written to a temporary folder as its rows are made, a megabyte at a time, and checked by
//! reading it back from there, so memory never holds a month's text. Nothing is delivered before every file passed, so a file that breaks
//! the policy still stops the whole dataset. The folder goes when the last [`Content`] that
//! points into it is dropped.

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::Arc;

use crate::export::OutFile;
use crate::guard::{self, Rules};
use crate::PublishError;

/// A file's bytes.
#[derive(Debug, Clone)]
pub enum Content {
    /// Built in memory; the privacy check reads it before anything leaves.
    Memory(Vec<u8>),
    /// Passed the privacy check and was written to the spool; only [`Spool::keep`] makes one.
    Checked(Spooled),
}

/// A checked file in the spool.
#[derive(Debug, Clone)]
pub struct Spooled {
    path: PathBuf,
    len: usize,
    _folder: Arc<tempfile::TempDir>,
}

impl Content {
    /// The bytes, read from the spool for a checked file.
    pub fn bytes(&self) -> Result<Cow<'_, [u8]>, PublishError> {
        match self {
            Content::Memory(bytes) => Ok(Cow::Borrowed(bytes)),
            Content::Checked(s) => {
                std::fs::read(&s.path)
                    .map(Cow::Owned)
                    .map_err(|source| PublishError::Write {
                        path: s.path.clone(),
                        source,
                    })
            }
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Content::Memory(bytes) => bytes.len(),
            Content::Checked(s) => s.len,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether it passed the privacy check already.
    pub fn is_checked(&self) -> bool {
        matches!(self, Content::Checked(_))
    }
}

/// A file being written into the spool, not checked yet: it can only become a file's content
/// through [`Spool::keep_written`].
#[derive(Debug)]
pub struct Unchecked {
    path: PathBuf,
    file: std::fs::File,
    len: usize,
}

impl Unchecked {
    pub fn write(&mut self, bytes: &[u8]) -> Result<(), PublishError> {
        use std::io::Write;
        self.file
            .write_all(bytes)
            .map_err(|source| PublishError::Write {
                path: self.path.clone(),
                source,
            })?;
        self.len += bytes.len();
        Ok(())
    }
}

/// The temporary folder of one dataset's publication.
#[derive(Debug, Clone)]
pub struct Spool {
    folder: Arc<tempfile::TempDir>,
}

impl Spool {
    /// A new folder in the system's temporary directory (`TMPDIR`).
    pub fn new() -> Result<Spool, PublishError> {
        let folder = tempfile::Builder::new()
            .prefix("sensorhub-publish-")
            .tempdir()
            .map_err(|source| PublishError::Write {
                path: std::env::temp_dir(),
                source,
            })?;
        Ok(Spool {
            folder: Arc::new(folder),
        })
    }

    /// A new file in the spool, to be written and then checked with [`Spool::keep_written`].
    pub fn create(&self, name: &str) -> Result<Unchecked, PublishError> {
        let path = self.folder.path().join(name);
        match std::fs::File::create(&path) {
            Ok(file) => Ok(Unchecked { path, file, len: 0 }),
            Err(source) => Err(PublishError::Write { path, source }),
        }
    }

    /// Checks a CSV written into the spool against `rules`, reading it back from disk; when
    /// it passes, it becomes `file`'s content.
    pub fn keep_written(
        &self,
        mut file: OutFile,
        written: Unchecked,
        rules: &Rules,
    ) -> Result<OutFile, PublishError> {
        let Unchecked { path, file: f, len } = written;
        drop(f);
        guard::check_csv_file(&file.name, &path, rules)?;
        file.content = Content::Checked(Spooled {
            path,
            len,
            _folder: Arc::clone(&self.folder),
        });
        Ok(file)
    }

    /// Checks `file` against `rules` and, when it passes, moves its bytes to the spool.
    pub fn keep(&self, mut file: OutFile, rules: &Rules) -> Result<OutFile, PublishError> {
        guard::check(&file, rules)?;
        if let Content::Memory(bytes) = &file.content {
            let path = self.folder.path().join(&file.name);
            if let Err(source) = std::fs::write(&path, bytes) {
                return Err(PublishError::Write { path, source });
            }
            file.content = Content::Checked(Spooled {
                path,
                len: bytes.len(),
                _folder: Arc::clone(&self.folder),
            });
        }
        Ok(file)
    }
}
