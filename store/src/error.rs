//! Errors of the store.

/// What went wrong in the store. Every variant says which operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the store at {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: rusqlite::Error,
    },
    #[error("store migration to schema version {version} failed: {source}")]
    Migration {
        version: u32,
        #[source]
        source: rusqlite::Error,
    },
    #[error("store {operation} failed: {source}")]
    Sqlite {
        operation: &'static str,
        #[source]
        source: rusqlite::Error,
    },
    #[error("the store's schema version {found} is newer than this sensorhub understands ({supported}); upgrade sensorhub")]
    SchemaTooNew { found: u32, supported: u32 },
    #[error("device {0} is not in the registry")]
    UnknownDevice(String),
    #[error("InfluxDB {operation} failed: {detail}")]
    Influx {
        operation: &'static str,
        detail: String,
    },
    /// InfluxDB refused what was sent (400, 413, 422: a value or a size it cannot take):
    /// sending it again fails again.
    #[error("InfluxDB refused the {operation}: {detail}")]
    InfluxRefused {
        operation: &'static str,
        detail: String,
    },
    #[error("the store worker stopped: {0}")]
    Worker(String),
    #[error("the store file {0} cannot be written (read-only file, folder or file system); sensorhub needs to write it")]
    ReadOnly(String),
}

impl StoreError {
    /// Whether trying again later may succeed (a busy, full or unwritable store, a server
    /// that does not answer), as opposed to an error caused by what was written, which fails
    /// again every time and must be set aside.
    pub fn is_transient(&self) -> bool {
        use rusqlite::ErrorCode as C;
        match self {
            StoreError::Sqlite { source, .. } | StoreError::Open { source, .. } => {
                match source.sqlite_error_code() {
                    Some(code) => matches!(
                        code,
                        C::DatabaseBusy
                            | C::DatabaseLocked
                            | C::DiskFull
                            | C::SystemIoFailure
                            | C::CannotOpen
                            | C::OutOfMemory
                            | C::ReadOnly
                            | C::FileLockingProtocolFailed
                            | C::PermissionDenied
                    ),
                    // Not an error of SQLite itself (a conversion of a value): content.
                    None => false,
                }
            }
            StoreError::Migration { .. } | StoreError::SchemaTooNew { .. } => true,
            StoreError::UnknownDevice(_) | StoreError::InfluxRefused { .. } => false,
            StoreError::Influx { .. } | StoreError::Worker(_) | StoreError::ReadOnly(_) => true,
        }
    }
}

/// Attaches the name of the failed operation to a SQLite error.
pub(crate) trait Context<T> {
    fn during(self, operation: &'static str) -> Result<T, StoreError>;
}

impl<T> Context<T> for Result<T, rusqlite::Error> {
    fn during(self, operation: &'static str) -> Result<T, StoreError> {
        self.map_err(|source| StoreError::Sqlite { operation, source })
    }
}
