//! Where codecs run: built-in decoders inline (they are fast and bounded), JavaScript codecs on
//! tokio's blocking threads, one at a time (the committer awaits each), never on the async
//! runtime's workers, so a slow codec delays no HTTP request and no other task.
//!
//! Each JavaScript codec file has a budget: after [`PAUSE_AFTER`] timeouts in a row it is
//! paused, and its uplinks are dead-lettered `codec_paused` at once (they can be replayed) until
//! the file changes on disk or the gateway restarts. A looping codec thus costs a few of its own
//! uplinks' time limits, not every other device's latency.

use std::collections::HashMap;
use std::time::SystemTime;

use super::{CodecError, Measurement};

/// Timeouts in a row after which a JavaScript codec is paused.
pub const PAUSE_AFTER: u32 = 5;

/// Why a payload produced no measurements.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Codec(#[from] CodecError),
    #[error("JavaScript codec {path} is paused after {PAUSE_AFTER} timeouts in a row; it resumes when the file changes (or the gateway restarts); replay these uplinks then")]
    Paused { path: String },
}

impl RunError {
    /// The dead-letter reason.
    pub fn reason(&self) -> &'static str {
        match self {
            RunError::Codec(_) => "codec_error",
            RunError::Paused { .. } => "codec_paused",
        }
    }
}

#[derive(Default)]
struct Budget {
    timeouts_in_a_row: u32,
    /// Set while paused: the file's modification time when it was paused.
    paused_at_version: Option<Option<SystemTime>>,
}

/// Runs decoders, keeping each JavaScript codec's budget.
#[derive(Default)]
pub struct CodecRunner {
    budgets: HashMap<String, Budget>,
}

fn file_version(path: &str) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

impl CodecRunner {
    /// Decodes `payload` of a device of type `device_type` (see [`super::decode`]).
    pub async fn decode(
        &mut self,
        device_type: &str,
        f_port: Option<u8>,
        payload: &[u8],
        time_ms: i64,
    ) -> Result<Vec<Measurement>, RunError> {
        let Some(path) = device_type.strip_prefix("js:") else {
            return Ok(super::decode(device_type, f_port, payload, time_ms)?);
        };
        let budget = self.budgets.entry(path.to_owned()).or_default();
        if let Some(version) = budget.paused_at_version {
            if file_version(path) == version {
                return Err(RunError::Paused {
                    path: path.to_owned(),
                });
            }
            tracing::info!(path, "JavaScript codec changed on disk; resumed");
            *budget = Budget::default();
        }
        let (device_type, payload) = (device_type.to_owned(), payload.to_vec());
        let result = tokio::task::spawn_blocking(move || {
            super::decode(&device_type, f_port, &payload, time_ms)
        })
        .await
        .unwrap_or_else(|e| {
            Err(CodecError::Js {
                path: path.to_owned(),
                detail: format!("the codec's thread failed: {e}"),
            })
        });
        let budget = self.budgets.entry(path.to_owned()).or_default();
        match &result {
            Err(CodecError::Timeout { .. }) => {
                budget.timeouts_in_a_row += 1;
                if budget.timeouts_in_a_row >= PAUSE_AFTER {
                    budget.paused_at_version = Some(file_version(path));
                    tracing::error!(
                        path,
                        "JavaScript codec timed out {PAUSE_AFTER} times in a row; paused until the file changes"
                    );
                }
            }
            _ => budget.timeouts_in_a_row = 0,
        }
        Ok(result?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_looping_codec_is_paused_after_five_timeouts_and_resumes_when_changed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loop.js");
        std::fs::write(&path, "function decodeUplink(i) { for (;;) {} }").unwrap();
        let device_type = format!("js:{}", path.display());
        let mut runner = CodecRunner::default();
        for _ in 0..PAUSE_AFTER {
            let err = runner.decode(&device_type, Some(1), &[1], 0).await;
            assert!(matches!(
                err,
                Err(RunError::Codec(CodecError::Timeout { .. }))
            ));
        }
        let started = std::time::Instant::now();
        let err = runner.decode(&device_type, Some(1), &[1], 0).await;
        assert_eq!(err.unwrap_err().reason(), "codec_paused");
        assert!(started.elapsed() < std::time::Duration::from_millis(100));

        // A fixed codec (a new modification time) runs again.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(
            &path,
            "function decodeUplink(i) { return {data: {temperature: 21.5}}; }",
        )
        .unwrap();
        let filetime = SystemTime::now() + std::time::Duration::from_secs(5);
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_modified(filetime)
            .unwrap();
        let ok = runner.decode(&device_type, Some(1), &[1], 0).await.unwrap();
        assert_eq!(ok[0].quantity, "air_temperature");
    }
}
