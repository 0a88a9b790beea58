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
    #[error("the store worker stopped: {0}")]
    Worker(String),
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
