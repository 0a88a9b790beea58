//! Where a publication keeps its monthly CSV files between the privacy check and the delivery.
//!
//! A year of hourly rows from hundreds of stations is hundreds of megabytes of CSV: each month
//! is written to a temporary folder as its rows are made, a megabyte at a time, and checked by
//! reading it back from there, so memory never holds a month's text. Nothing is delivered before every file passed, so a file that breaks
//! the policy still stops the whole dataset. The folder goes when the last [`Content`] that
//! points into it is dropped.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
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
    _folder: Arc<Folder>,
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
    folder: Arc<Folder>,
}

/// What a spool folder's name starts with.
const PREFIX: &str = "sensorhub-publish-";

/// A spool folder whose lock no process holds was left by one that was killed while it
/// published; one without a lock file (it was never locked) only once it is this old.
const STALE: std::time::Duration = std::time::Duration::from_secs(24 * 3600);

/// A new folder is locked a moment after it is made: younger ones are never removed.
const GRACE: std::time::Duration = std::time::Duration::from_secs(60);

/// The lock file in each spool folder, locked by the publication that writes there.
const LOCK: &str = ".lock";

/// A publication's spool folder and the lock that says it is in use; the folder goes first
/// when dropped.
#[derive(Debug)]
struct Folder {
    dir: tempfile::TempDir,
    _lock: std::fs::File,
}

impl Spool {
    /// A new folder in `spool/` beside the store's database (`store_path`), on the disk that
    /// holds the data (`TMPDIR` is often a RAM disk, where a year's CSV would take the memory
    /// the streaming saves); in `TMPDIR` for a store without a file. Folders that a killed
    /// publication left there (their lock free) are removed first.
    pub fn new(store_path: &Path) -> Result<Spool, PublishError> {
        let base = match store_path.parent() {
            Some(dir) if store_path.file_name().is_some_and(|n| n != ":memory:") => {
                dir.join("spool")
            }
            _ => std::env::temp_dir(),
        };
        let failed = |source| PublishError::Write {
            path: base.clone(),
            source,
        };
        std::fs::create_dir_all(&base).map_err(failed)?;
        remove_stale(&base);
        let dir = tempfile::Builder::new()
            .prefix(PREFIX)
            .tempdir_in(&base)
            .map_err(failed)?;
        let lock_path = dir.path().join(LOCK);
        let lock = std::fs::File::create(&lock_path)
            .and_then(|f| f.lock().map(|()| f))
            .map_err(|source| PublishError::Write {
                path: lock_path,
                source,
            })?;
        Ok(Spool {
            folder: Arc::new(Folder { dir, _lock: lock }),
        })
    }

    /// Where this publication's files are.
    pub fn path(&self) -> &Path {
        self.folder.dir.path()
    }

    /// A new file in the spool, to be written and then checked with [`Spool::keep_written`].
    pub fn create(&self, name: &str) -> Result<Unchecked, PublishError> {
        let path = self.folder.dir.path().join(name);
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
            let path = self.folder.dir.path().join(&file.name);
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

/// Removes the spool folders in `base` that no publication holds (see [`STALE`]); what
/// cannot be removed stays (a warning says so).
fn remove_stale(base: &Path) {
    let Ok(entries) = std::fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().starts_with(PREFIX) {
            continue;
        }
        let age = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .unwrap_or_default();
        let abandoned = age > GRACE
            && match std::fs::File::open(entry.path().join(LOCK)) {
                // Held while we look: a publication is writing there.
                Ok(lock) => lock.try_lock().is_ok(),
                Err(_) => age > STALE,
            };
        if abandoned {
            if let Err(e) = std::fs::remove_dir_all(entry.path()) {
                tracing::warn!(folder = %entry.path().display(), error = %e, "a stale spool folder stays");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn aged(path: &Path, age: std::time::Duration) {
        let dir = std::fs::File::open(path).unwrap();
        dir.set_modified(std::time::SystemTime::now() - age)
            .unwrap();
    }

    /// The spool lives beside the store, and what a killed publication left there goes,
    /// while the folder of a publication that still runs stays.
    #[test]
    fn the_spool_is_beside_the_store_and_stale_folders_go() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("data/sensorhub.db");
        let base = dir.path().join("data/spool");
        std::fs::create_dir_all(&base).unwrap();
        let (stale, recent, other) = (
            base.join("sensorhub-publish-old"),
            base.join("sensorhub-publish-new"),
            base.join("kept-by-someone-else"),
        );
        for folder in [&stale, &recent, &other] {
            std::fs::create_dir(folder).unwrap();
            std::fs::write(folder.join("x.csv"), b"time\n").unwrap();
        }
        aged(&stale, STALE + std::time::Duration::from_secs(60));
        aged(&recent, STALE - std::time::Duration::from_secs(3600));
        aged(&other, STALE * 3);

        // A folder whose lock is free, left a few minutes ago by a killed publication.
        let killed = base.join("sensorhub-publish-killed");
        std::fs::create_dir(&killed).unwrap();
        std::fs::write(killed.join(LOCK), b"").unwrap();
        aged(&killed, GRACE * 3);

        let spool = Spool::new(&store).unwrap();
        assert_eq!(spool.path().parent(), Some(base.as_path()));
        assert!(!stale.exists() && !killed.exists());
        assert!(recent.exists() && other.exists());
        // A publication still running holds its lock, however old its folder looks.
        aged(spool.path(), STALE * 2);
        let next = Spool::new(&store).unwrap();
        assert!(
            spool.path().exists(),
            "a running publication's folder stays"
        );
        let folder = spool.path().to_owned();
        drop(spool);
        assert!(!folder.exists(), "the spool goes with the publication");
        drop(next);
    }
}
