//! What a network server does for an uplink, for ABP devices whose session keys are in the
//! registry and whose raw frames arrive from gateways: rebuild the 32-bit frame counter, verify
//! the MIC, reject replays, decrypt, and merge copies of one frame heard by several gateways.
//!
//! Copies are merged without waiting: the first copy is accepted and stored at once; a copy
//! with the same counter that arrives within the merge window only raises the uplink's gateway
//! count and best RSSI/SNR. The same counter after the window, or an older one, is a replay.

use sensorhub_store::DeadLetterReason;
use std::collections::HashMap;

use lorawan::default_crypto::DefaultFactory;
use lorawan::keys::AES128;
use lorawan::parser::{DataHeader, DataPayload, EncryptedDataPayload, FRMPayload, PhyPayload};
use sensorhub_core::DevAddr;
use sensorhub_store::{Device, SessionState, TimeSource};

use crate::formats::gateway_frame::Frame;

/// LoRaWAN 1.0.x: frames further ahead than this are dropped.
const MAX_FCNT_GAP: u32 = 16_384;

/// What became of one received frame.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// A new uplink: MIC valid, counter fresh, payload decrypted.
    Accepted(Accepted),
    /// Another gateway's copy of the last accepted uplink, within the merge window.
    Copy(Reception),
    /// The same gateway's copy again (an MQTT redelivery): nothing to do.
    Duplicate,
    /// Refused; the message is dead-lettered with this reason.
    Rejected {
        reason: DeadLetterReason,
        detail: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Accepted {
    pub dev_eui: String,
    pub f_cnt: u32,
    pub f_port: Option<u8>,
    pub payload: Vec<u8>,
    pub reception: Reception,
}

/// The merged radio metadata of one uplink.
#[derive(Debug, Clone, PartialEq)]
pub struct Reception {
    pub dev_eui: String,
    pub f_cnt: u32,
    /// The uplink's time: the first copy's gateway time, or when it was received.
    pub time_ms: i64,
    pub time_source: TimeSource,
    pub f_port: Option<u8>,
    pub gateway_count: u32,
    pub rssi: Option<f64>,
    pub snr: Option<f64>,
}

/// The last accepted uplink of a device, while copies of it may still arrive.
struct Recent {
    first_seen_ms: i64,
    gateways: Vec<String>,
    reception: Reception,
}

/// Session state of every ABP device, kept in memory and saved with each batch.
#[derive(Default)]
pub struct Sessions {
    state: HashMap<String, SessionState>,
    recent: HashMap<String, Recent>,
}

/// The 32-bit counter a 16-bit on-air counter stands for, given the last accepted one.
pub fn full_fcnt(last: Option<u32>, fcnt16: u16) -> u32 {
    match last {
        None => u32::from(fcnt16),
        Some(last) => {
            let candidate = (last & 0xffff_0000) | u32::from(fcnt16);
            if candidate < last {
                candidate.wrapping_add(0x1_0000)
            } else {
                candidate
            }
        }
    }
}

struct Keys {
    nwk_s_key: AES128,
    app_s_key: AES128,
}

fn keys(device: &Device) -> Option<Keys> {
    Some(Keys {
        nwk_s_key: AES128(device.nwk_s_key?.bytes()),
        app_s_key: AES128(device.app_s_key?.bytes()),
    })
}

/// A raw frame's PHYPayload, read once where it arrives; everything after reads this.
pub enum Phy {
    /// A data uplink, still encrypted and its MIC not yet checked.
    Uplink(DataUplink),
    /// A data frame sent to a device: nothing to store.
    Downlink { dev_addr: DevAddr },
    /// A join request or accept: nothing to store.
    Join(&'static str),
}

/// A data uplink as it came from a gateway.
pub struct DataUplink {
    pub dev_addr: DevAddr,
    payload: EncryptedDataPayload<Vec<u8>, DefaultFactory>,
}

/// Reads a PHYPayload; what is not a LoRaWAN frame is said in words.
pub fn read_phy(bytes: &[u8]) -> Result<Phy, String> {
    let dev_addr =
        |wire: &[u8]| DevAddr::from_wire(wire.try_into().expect("a DevAddr is four bytes"));
    match lorawan::parser::parse(bytes.to_vec()) {
        Ok(PhyPayload::Data(DataPayload::Encrypted(e))) if e.is_uplink() => {
            Ok(Phy::Uplink(DataUplink {
                dev_addr: dev_addr(e.fhdr().dev_addr().as_ref()),
                payload: e,
            }))
        }
        Ok(PhyPayload::Data(d)) => {
            let wire = match &d {
                DataPayload::Encrypted(e) => dev_addr(e.fhdr().dev_addr().as_ref()),
                DataPayload::Decrypted(p) => dev_addr(p.fhdr().dev_addr().as_ref()),
            };
            Ok(Phy::Downlink { dev_addr: wire })
        }
        Ok(PhyPayload::JoinRequest(_)) => Ok(Phy::Join("join request")),
        Ok(PhyPayload::JoinAccept(_)) => Ok(Phy::Join("join accept")),
        Err(e) => Err(format!("not a LoRaWAN frame: {e:?}")),
    }
}

/// The DevAddr of a data frame.
pub fn dev_addr_of(phy: &[u8]) -> Option<DevAddr> {
    match read_phy(phy).ok()? {
        Phy::Uplink(u) => Some(u.dev_addr),
        Phy::Downlink { dev_addr } => Some(dev_addr),
        Phy::Join(_) => None,
    }
}

impl Sessions {
    pub fn new(saved: Vec<(String, SessionState)>) -> Self {
        Sessions {
            state: saved.into_iter().collect(),
            recent: HashMap::new(),
        }
    }

    pub fn state(&self, dev_eui: &str) -> Option<SessionState> {
        self.state.get(dev_eui).copied()
    }

    /// Checks one uplink (`frame`'s PHYPayload, read) against the devices registered with
    /// its DevAddr.
    pub fn check(
        &mut self,
        frame: &Frame,
        uplink: DataUplink,
        candidates: &[&Device],
        now_ms: i64,
        window_ms: i64,
    ) -> Verdict {
        let DataUplink {
            dev_addr,
            payload: encrypted,
        } = uplink;
        let fcnt16 = encrypted.fhdr().fcnt();
        let f_port = encrypted.f_port();
        let mut replay = None;
        for device in candidates {
            let Some(keys) = keys(device) else { continue };
            let last = self
                .state
                .get(&device.dev_eui.to_string())
                .map(|s| s.f_cnt_up);
            let f_cnt = full_fcnt(last, fcnt16);
            let fresh = last.is_none_or(|last| f_cnt > last);
            if !encrypted.validate_mic(&keys.nwk_s_key, f_cnt) {
                // An old frame sent again validates with its old counter, not a rolled-over one.
                let unrolled = last.map(|l| (l & 0xffff_0000) | u32::from(fcnt16));
                if unrolled.is_some_and(|c| encrypted.validate_mic(&keys.nwk_s_key, c)) {
                    replay = Some((
                        device.dev_eui.to_string(),
                        unrolled.unwrap_or_default(),
                        last,
                    ));
                }
                continue;
            }
            if !fresh {
                return self.same_counter(device, frame, f_cnt, now_ms, window_ms);
            }
            if let Some(last) = last {
                if f_cnt - last > MAX_FCNT_GAP {
                    return Verdict::Rejected {
                        reason: DeadLetterReason::FcntGap,
                        detail: format!("device {}: frame counter {f_cnt} is more than {MAX_FCNT_GAP} ahead of {last}", device.dev_eui),
                    };
                }
            }
            let decrypted =
                match encrypted.decrypt(Some(&keys.nwk_s_key), Some(&keys.app_s_key), f_cnt) {
                    Ok(d) => d,
                    Err(e) => {
                        return Verdict::Rejected {
                            reason: DeadLetterReason::BadFrame,
                            detail: format!("device {}: cannot decrypt: {e:?}", device.dev_eui),
                        }
                    }
                };
            let payload = match decrypted.frm_payload() {
                FRMPayload::Data(data) if f_port != Some(0) => data.to_vec(),
                _ => Vec::new(), // MAC commands only
            };
            // Each accepted frame gets a time of its own, strictly increasing per device in
            // frame-counter order: frames queued at the broker arrive within one millisecond
            // without a gateway time, and each must stay an uplink and a reading of its own.
            let (candidate, time_source) = match frame.time_ms {
                Some(t) => (t, TimeSource::Gateway),
                None => (now_ms, TimeSource::Receipt),
            };
            let previous = self
                .state
                .get(&device.dev_eui.to_string())
                .map(|s| s.last_uplink_ms);
            let time_ms = previous.map_or(candidate, |p| candidate.max(p.saturating_add(1)));
            let reception = Reception {
                dev_eui: device.dev_eui.to_string(),
                f_cnt,
                time_ms,
                time_source,
                f_port,
                gateway_count: 1,
                rssi: frame.rssi,
                snr: frame.snr,
            };
            self.state.insert(
                device.dev_eui.to_string(),
                SessionState {
                    f_cnt_up: f_cnt,
                    last_uplink_ms: time_ms,
                },
            );
            self.recent.insert(
                device.dev_eui.to_string(),
                Recent {
                    first_seen_ms: now_ms,
                    gateways: vec![frame.gateway_id.clone()],
                    reception: reception.clone(),
                },
            );
            return Verdict::Accepted(Accepted {
                dev_eui: device.dev_eui.to_string(),
                f_cnt,
                f_port,
                payload,
                reception,
            });
        }
        match replay {
            Some((dev_eui, f_cnt, last)) => Verdict::Rejected {
                reason: DeadLetterReason::Replay,
                detail: format!("device {dev_eui}: frame counter {f_cnt} was already used (last accepted {last:?})"),
            },
            None => Verdict::Rejected {
                reason: DeadLetterReason::BadMic,
                detail: format!(
                    "DevAddr {}: the MIC matches no session key of the {} device(s) with this address",
                    dev_addr,
                    candidates.len()
                ),
            },
        }
    }

    /// A frame with the counter of the last accepted uplink: a copy, a redelivery or a replay.
    fn same_counter(
        &mut self,
        device: &Device,
        frame: &Frame,
        f_cnt: u32,
        now_ms: i64,
        window_ms: i64,
    ) -> Verdict {
        let Some(recent) = self
            .recent
            .get_mut(&device.dev_eui.to_string())
            .filter(|r| r.reception.f_cnt == f_cnt && now_ms - r.first_seen_ms <= window_ms)
        else {
            return Verdict::Rejected {
                reason: DeadLetterReason::Replay,
                detail: format!(
                    "device {}: frame counter {f_cnt} was already accepted",
                    device.dev_eui
                ),
            };
        };
        if recent.gateways.contains(&frame.gateway_id) {
            return Verdict::Duplicate;
        }
        recent.gateways.push(frame.gateway_id.clone());
        let r = &mut recent.reception;
        r.gateway_count += 1;
        if frame.rssi.is_some() && (r.rssi.is_none() || frame.rssi > r.rssi) {
            r.rssi = frame.rssi;
            r.snr = frame.snr;
        }
        Verdict::Copy(r.clone())
    }
}

#[cfg(test)]
mod tests;
