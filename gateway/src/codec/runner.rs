//! Where codecs run: built-in decoders inline (they are fast and bounded), JavaScript codecs on
//! one thread of their own that keeps each codec file compiled and warm, never on the async
//! runtime's workers, so a slow codec delays no HTTP request and no other task. A codec file
//! that changes on disk (modification time or size) is reloaded for the next uplink; a codec
//! whose call failed or timed out is rebuilt from its file, so no broken state carries over.
//!
//! Uplinks are handed to the codec thread as they are parsed ([`CodecRunner::submit`]) and
//! their results collected afterwards, in order: the thread decodes a batch's uplinks while the
//! gateway parses the next ones, instead of one thread handover per uplink.
//!
//! Each JavaScript codec file has a budget, kept by the codec thread itself: after
//! [`PAUSE_AFTER`] timeouts in a row it is paused, and its uplinks are dead-lettered
//! `codec_paused` at once (they can be replayed) until the file changes on disk or the gateway
//! restarts. A looping codec thus costs a few of its own uplinks' time limits, not every other
//! device's latency.

use sensorhub_store::{DeadLetterReason, DeviceType, TtnCodec};
use std::collections::HashMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use super::js::{Codec, Decoded, FileVersion};
use super::ttn::{self, CodecsConfig};
use super::{CodecError, Output};

/// Timeouts in a row after which a JavaScript codec is paused.
pub const PAUSE_AFTER: u32 = 5;

/// How long a `ttn:` definition that could not be read is not read again.
const RESOLVE_RETRY: Duration = Duration::from_secs(60);

/// Codec files kept compiled at most; beyond, the least recently used is dropped.
const WARM_CODECS: usize = 64;

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
    pub fn reason(&self) -> DeadLetterReason {
        match self {
            RunError::Codec(_) => DeadLetterReason::CodecError,
            RunError::Paused { .. } => DeadLetterReason::CodecPaused,
        }
    }
}

#[derive(Default)]
struct Budget {
    timeouts_in_a_row: u32,
    /// Set while paused: the file's version when it was paused.
    paused_at_version: Option<Option<FileVersion>>,
}

/// One uplink for the codec thread.
struct Job {
    path: String,
    f_port: Option<u8>,
    payload: Vec<u8>,
    recv_time: String,
    reply: tokio::sync::oneshot::Sender<Result<Decoded, RunError>>,
}

/// What the codec thread keeps: compiled codecs (most recently used last) and budgets.
#[derive(Default)]
struct CodecThread {
    warm: Vec<(String, Codec)>,
    budgets: HashMap<String, Budget>,
}

impl CodecThread {
    fn run(&mut self, job: &Job) -> Result<Decoded, RunError> {
        let version = FileVersion::of(&job.path);
        let budget = self.budgets.entry(job.path.clone()).or_default();
        if let Some(paused) = budget.paused_at_version {
            if paused == version {
                return Err(RunError::Paused {
                    path: job.path.clone(),
                });
            }
            tracing::info!(path = job.path, "JavaScript codec changed on disk; resumed");
            *budget = Budget::default();
        }
        let result = self.decode(job, version);
        let budget = self.budgets.entry(job.path.clone()).or_default();
        match &result {
            Err(CodecError::Timeout { .. }) => {
                budget.timeouts_in_a_row += 1;
                if budget.timeouts_in_a_row >= PAUSE_AFTER {
                    budget.paused_at_version = Some(version);
                    tracing::error!(
                        path = job.path,
                        "JavaScript codec timed out {PAUSE_AFTER} times in a row; paused until the file changes"
                    );
                }
            }
            _ => budget.timeouts_in_a_row = 0,
        }
        Ok(result?)
    }

    fn decode(&mut self, job: &Job, version: Option<FileVersion>) -> Result<Decoded, CodecError> {
        let at = self.warm.iter().position(|(p, _)| *p == job.path);
        match at {
            Some(i) if version.is_some() && self.warm[i].1.version() == version => {
                let entry = self.warm.remove(i);
                self.warm.push(entry);
            }
            _ => {
                if let Some(i) = at {
                    self.warm.remove(i);
                    tracing::info!(
                        path = job.path,
                        "JavaScript codec changed on disk; reloaded"
                    );
                }
                let codec = Codec::load(&job.path)?;
                if self.warm.len() == WARM_CODECS {
                    self.warm.remove(0);
                }
                self.warm.push((job.path.clone(), codec));
            }
        }
        let (_, codec) = self.warm.last().expect("just pushed");
        let result = codec.run(job.f_port, &job.payload, &job.recv_time);
        if result.is_err() {
            self.warm.pop();
        }
        result
    }
}

fn codec_thread(jobs: mpsc::Receiver<Job>) {
    let mut thread = CodecThread::default();
    for job in jobs {
        // Nothing a codec does should panic here; if something does, that uplink is
        // dead-lettered, the codec rebuilt from its file, and the thread goes on.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| thread.run(&job)))
            .unwrap_or_else(|_| {
                thread.warm.retain(|(p, _)| *p != job.path);
                Err(RunError::Codec(CodecError::Js {
                    path: job.path.clone(),
                    detail: "decoding this uplink failed inside the gateway (a panic); the codec is rebuilt for the next one".into(),
                }))
            });
        let _ = job.reply.send(result);
    }
}

/// A JavaScript decode handed to the codec thread; [`PendingDecode::wait`] collects it.
pub struct PendingDecode {
    path: String,
    answer: tokio::sync::oneshot::Receiver<Result<Decoded, RunError>>,
}

impl PendingDecode {
    pub async fn wait(self) -> Result<Output, RunError> {
        let decoded = self.answer.await.unwrap_or_else(|_| {
            Err(RunError::Codec(CodecError::Js {
                path: self.path.clone(),
                detail: "the codec thread stopped".into(),
            }))
        })?;
        Ok(Output::Json {
            data: decoded.data(&self.path)?.clone(),
            normalized: decoded.normalized,
        })
    }
}

/// A decode's state right after [`CodecRunner::submit`].
pub enum Submitted {
    Ready(Result<Output, RunError>),
    Pending(PendingDecode),
}

/// Runs decoders: built-in ones at once, JavaScript ones on the codec thread.
pub struct CodecRunner {
    config: CodecsConfig,
    /// Started with the first JavaScript uplink.
    jobs: Option<mpsc::Sender<Job>>,
    /// `ttn:` device types resolved to their JavaScript files, or why not and when that was
    /// found: a broken definition is read again after [`RESOLVE_RETRY`], not for every uplink.
    resolved: HashMap<TtnCodec, Result<String, (CodecError, Instant)>>,
}

impl CodecRunner {
    pub fn new(config: CodecsConfig) -> CodecRunner {
        CodecRunner {
            config,
            jobs: None,
            resolved: HashMap::new(),
        }
    }

    /// The JavaScript file a device type runs, if it runs one.
    fn script(&mut self, device_type: &DeviceType) -> Result<Option<String>, CodecError> {
        let codec = match device_type {
            DeviceType::Js(js) => return Ok(Some(js.path().display().to_string())),
            DeviceType::Ttn(codec) => codec,
            _ => return Ok(None),
        };
        match self.resolved.get(codec) {
            Some(Ok(path)) => return Ok(Some(path.clone())),
            Some(Err((e, at))) if at.elapsed() < RESOLVE_RETRY => return Err(e.clone()),
            _ => {}
        }
        let resolved =
            ttn::resolve(&self.config, codec).map(|definition| definition.js.display().to_string());
        let cached = match &resolved {
            Ok(path) => Ok(path.clone()),
            Err(e) => Err((e.clone(), Instant::now())),
        };
        self.resolved.insert(codec.clone(), cached);
        resolved.map(Some)
    }

    /// Starts decoding `payload`, received on `f_port` at `time_ms`, of a device of type
    /// `device_type`.
    pub fn submit(
        &mut self,
        device_type: &DeviceType,
        f_port: Option<u8>,
        payload: &[u8],
        time_ms: i64,
    ) -> Submitted {
        let path = match self.script(device_type) {
            Ok(Some(path)) => path,
            Ok(None) => {
                let decoded = super::decode_builtin(device_type, f_port, payload);
                return Submitted::Ready(decoded.map(Output::Vocabulary).map_err(RunError::from));
            }
            Err(e) => return Submitted::Ready(Err(e.into())),
        };
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = Job {
            path: path.clone(),
            f_port,
            payload: payload.to_vec(),
            recv_time: sensorhub_store::time::format_rfc3339(time_ms),
            reply,
        };
        let jobs = self.jobs.get_or_insert_with(|| {
            let (tx, rx) = mpsc::channel();
            std::thread::Builder::new()
                .name("codecs".into())
                .spawn(move || codec_thread(rx))
                .expect("a thread for the codecs");
            tx
        });
        if jobs.send(job).is_err() {
            // The thread is gone (it catches panics, so this should not happen): start anew.
            self.jobs = None;
            return Submitted::Ready(Err(RunError::Codec(CodecError::Js {
                path,
                detail: "the codec thread stopped; retried with the next uplink".into(),
            })));
        }
        Submitted::Pending(PendingDecode { path, answer })
    }

    /// Decodes one payload (see [`CodecRunner::submit`]) and waits for the result.
    pub async fn decode(
        &mut self,
        device_type: &DeviceType,
        f_port: Option<u8>,
        payload: &[u8],
        time_ms: i64,
    ) -> Result<Output, RunError> {
        match self.submit(device_type, f_port, payload, time_ms) {
            Submitted::Ready(result) => result,
            Submitted::Pending(pending) => pending.wait().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    #[tokio::test]
    async fn a_looping_codec_is_paused_after_five_timeouts_and_resumes_when_changed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("loop.js");
        std::fs::write(&path, "function decodeUplink(i) { for (;;) {} }").unwrap();
        let device_type: DeviceType = format!("js:{}", path.display()).parse().unwrap();
        let mut runner = CodecRunner::new(CodecsConfig::default());
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
        let Output::Json { data, .. } = ok else {
            panic!("{ok:?}")
        };
        assert_eq!(data["temperature"], 21.5);
    }
}

#[cfg(test)]
mod warm {
    use super::*;

    /// The codec keeps its state between uplinks (one compiled runtime), and a changed file is
    /// picked up at the next uplink.
    #[tokio::test]
    async fn a_codec_stays_warm_until_its_file_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("count.js");
        std::fs::write(
            &path,
            "var n = 0; function decodeUplink(i) { n++; return {data: {n: n}}; }",
        )
        .unwrap();
        let device_type: DeviceType = format!("js:{}", path.display()).parse().unwrap();
        let mut runner = CodecRunner::new(CodecsConfig::default());
        let n = |o: Output| match o {
            Output::Json { data, .. } => data["n"].as_i64().unwrap(),
            other => panic!("{other:?}"),
        };
        for expected in 1..=3 {
            let out = runner.decode(&device_type, Some(1), &[1], 0).await.unwrap();
            assert_eq!(n(out), expected);
        }
        std::fs::write(
            &path,
            "var n = 100; function decodeUplink(i) { n++; return {data: {n: n}}; }",
        )
        .unwrap();
        let out = runner.decode(&device_type, Some(1), &[1], 0).await.unwrap();
        assert_eq!(n(out), 101);
    }
}
