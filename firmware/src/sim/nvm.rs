//! The virtual nodes' non-volatile memory, kept in one JSON file so that a restarted
//! simulation goes on with the frame counters where the nodes left them, as real nodes do
//! after a reset. Without it the gateway would refuse every frame as a replay until the
//! counters caught up.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use crate::link::{Persist, Stored};

/// The memory of all nodes; `path` None keeps it in RAM only.
#[derive(Clone, Default)]
pub struct SimNvm {
    path: Option<PathBuf>,
    entries: Arc<Mutex<BTreeMap<String, Stored>>>,
}

/// One node's view of it.
pub struct NodeNvm {
    nvm: SimNvm,
    node: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex<const N: usize>(text: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    if text.len() != 2 * N {
        return None;
    }
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

impl SimNvm {
    /// Reads `path` if it exists; an unreadable file starts empty (and says so).
    pub fn open(path: Option<PathBuf>) -> SimNvm {
        let mut entries = BTreeMap::new();
        if let Some(p) = &path {
            if let Ok(text) = std::fs::read_to_string(p) {
                match serde_json::from_str::<BTreeMap<String, Value>>(&text) {
                    Ok(map) => {
                        for (node, v) in map {
                            let stored = (|| {
                                Some(Stored {
                                    dev_addr: unhex(v["dev_addr"].as_str()?)?,
                                    nwk_s_key: unhex(v["nwk_s_key"].as_str()?)?,
                                    app_s_key: unhex(v["app_s_key"].as_str()?)?,
                                    fcnt_up_mark: u32::try_from(v["fcnt_up_mark"].as_u64()?)
                                        .ok()?,
                                })
                            })();
                            if let Some(s) = stored {
                                entries.insert(node, s);
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(file = %p.display(), error = %e, "simulator state unreadable; nodes start afresh")
                    }
                }
            }
        }
        SimNvm {
            path,
            entries: Arc::new(Mutex::new(entries)),
        }
    }

    pub fn node(&self, node: &str) -> NodeNvm {
        NodeNvm {
            nvm: self.clone(),
            node: node.to_owned(),
        }
    }

    fn write(&self, entries: &BTreeMap<String, Stored>) {
        let Some(path) = &self.path else {
            return;
        };
        let map: serde_json::Map<String, Value> = entries
            .iter()
            .map(|(node, s)| {
                (
                    node.clone(),
                    json!({"dev_addr": hex(&s.dev_addr), "nwk_s_key": hex(&s.nwk_s_key),
                           "app_s_key": hex(&s.app_s_key), "fcnt_up_mark": s.fcnt_up_mark}),
                )
            })
            .collect();
        let tmp = path.with_extension("tmp");
        let text = serde_json::to_vec_pretty(&Value::Object(map)).unwrap_or_default();
        if let Err(e) = std::fs::write(&tmp, text).and_then(|_| std::fs::rename(&tmp, path)) {
            tracing::warn!(file = %path.display(), error = %e, "cannot save the simulator state");
        }
    }
}

impl Persist for NodeNvm {
    fn load(&mut self) -> Option<Stored> {
        let entries = self.nvm.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.get(&self.node).copied()
    }

    fn save(&mut self, stored: &Stored) {
        let mut entries = self.nvm.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries.insert(self.node.clone(), *stored);
        self.nvm.write(&entries);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::{Credentials, Link, VirtualRadio};

    #[test]
    fn counters_go_on_after_a_restart_of_the_simulation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nodes.json");
        let credentials = Credentials::Abp {
            dev_addr: [0x26, 0x0b, 0x00, 0x01],
            nwk_s_key: [1; 16],
            app_s_key: [2; 16],
        };
        let mut last = 0;
        for run in 0..2 {
            let nvm = SimNvm::open(Some(path.clone()));
            let mut link = Link::new(VirtualRadio::default(), nvm.node("node-1"), 1, 7);
            link.activate(&credentials).unwrap();
            let first = link.send(1, &[1]).unwrap().f_cnt;
            if run == 1 {
                assert!(first > last, "{first} after {last}: a replay");
            }
            for _ in 0..40 {
                last = link.send(1, &[1]).unwrap().f_cnt;
            }
        }
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("\"node-1\"") && text.contains("fcnt_up_mark"));
    }
}
