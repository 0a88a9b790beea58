//! Uplinks as raw LoRaWAN frames, heard by virtual gateways and published as ChirpStack
//! Gateway Bridge `up` events (JSON): the path a network server would see. The gateways also
//! say they are connected (`state/conn`) and send their `stats` as the Gateway Bridge does.
//!
//! Each virtual node has an ABP session (DevAddr and session keys derived from its number).
//! These are demo keys, published in this source: never give them to a real device.

use base64::Engine;
use serde_json::json;

use super::environment::Rng;
use crate::link::Uplink;

/// The virtual gateways, by id.
const GATEWAYS: [&str; 3] = ["7276ff0039030a01", "7276ff0039030a02", "7276ff0039030a03"];

/// The ABP session of virtual node `number` (1-based): DevAddr, NwkSKey, AppSKey.
pub fn session(number: usize) -> ([u8; 4], [u8; 16], [u8; 16]) {
    let n = number as u32;
    let dev_addr = (0x260b_0000u32 | (n & 0xffff)).to_be_bytes();
    let mut nwk = [0u8; 16];
    let mut app = [0u8; 16];
    for i in 0..16 {
        nwk[i] = 0x2b ^ (i as u8).wrapping_mul(17) ^ n as u8;
        app[i] = 0x7e ^ (i as u8).wrapping_mul(29) ^ n as u8;
    }
    (dev_addr, nwk, app)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The Gateway Bridge events of one uplink: one to three gateways hear it, each with its own
/// RSSI and SNR, the nearer ones louder.
pub fn up_events(phy: &[u8], uplink: &Uplink, rng: &mut Rng) -> Vec<(String, Vec<u8>)> {
    up_events_at(phy, uplink, rng, None)
}

/// The same, the gateways stamping the reception with their GPS time `time_ms` where given.
pub fn up_events_at(
    phy: &[u8],
    uplink: &Uplink,
    rng: &mut Rng,
    time_ms: Option<i64>,
) -> Vec<(String, Vec<u8>)> {
    let heard_by = 1 + (rng.next_u64() % 3) as usize;
    GATEWAYS
        .iter()
        .take(heard_by)
        .enumerate()
        .map(|(i, gateway)| {
            let rssi = -70.0 - 15.0 * i as f64 - 20.0 * rng.unit();
            let snr = 9.0 - 4.0 * i as f64 + rng.noise(1.5);
            let mut body = json!({
                "phyPayload": base64::engine::general_purpose::STANDARD.encode(phy),
                "txInfo": {"frequency": uplink.frequency_hz, "modulation": {"lora": {
                    "bandwidth": 125000, "spreadingFactor": uplink.spreading_factor,
                    "codeRate": "CR_4_5"}}},
                "rxInfo": {"gatewayId": gateway, "uplinkId": rng.next_u64() as u32,
                           "rssi": rssi.round(), "snr": (snr * 4.0).round() / 4.0},
            });
            if let Some(t) = time_ms {
                body["rxInfo"]["gwTime"] = super::rfc3339(t).into();
            }
            (
                format!("eu868/gateway/{gateway}/event/up"),
                serde_json::to_vec(&body).unwrap_or_default(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::{Credentials, Link, RamPersist, VirtualRadio};

    fn unhex<const N: usize>(text: &str) -> [u8; N] {
        let mut out = [0u8; N];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&text[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    /// A node's frame, published as the bridge would, verifies and decrypts with the session
    /// the device registry gets for it (`devices`), using the lorawan parser the gateway uses.
    #[test]
    fn frames_verify_with_the_registered_session() {
        let registered = &super::super::devices(3)[2];
        let (dev_addr, nwk_s_key, app_s_key) = session(3);
        let mut link = Link::new(VirtualRadio::default(), RamPersist::default(), 9, 7);
        link.activate(&Credentials::Abp {
            dev_addr,
            nwk_s_key,
            app_s_key,
        })
        .unwrap();
        let payload = [0x01, 0x67, 0x00, 0xd7];
        let uplink = link.send(1, &payload).unwrap();
        let events = up_events(link.radio().last_frame(), &uplink, &mut Rng::new(5));
        assert!((1..=3).contains(&events.len()));
        for (topic, body) in &events {
            assert!(topic.starts_with("eu868/gateway/") && topic.ends_with("/event/up"));
            let body: serde_json::Value = serde_json::from_slice(body).unwrap();
            assert_eq!(body["txInfo"]["frequency"], uplink.frequency_hz);
            assert_eq!(body["txInfo"]["modulation"]["lora"]["spreadingFactor"], 7);
            let mut phy = base64::engine::general_purpose::STANDARD
                .decode(body["phyPayload"].as_str().unwrap())
                .unwrap();
            assert_eq!(registered.dev_addr, "260b0003");
            assert_eq!(
                &phy[1..5],
                &[0x03, 0x00, 0x0b, 0x26],
                "DevAddr little-endian"
            );
            let nwk = lorawan::keys::AES128(unhex(&registered.nwk_s_key));
            let app = lorawan::keys::AES128(unhex(&registered.app_s_key));
            let Ok(lorawan::parser::PhyPayload::Data(lorawan::parser::DataPayload::Encrypted(enc))) =
                lorawan::parser::parse(&mut phy[..])
            else {
                panic!("not a data frame");
            };
            assert!(enc.validate_mic(&nwk, uplink.f_cnt));
            let dec = enc.decrypt(Some(&nwk), Some(&app), uplink.f_cnt).unwrap();
            assert_eq!(
                dec.frm_payload(),
                lorawan::parser::FRMPayload::Data(&payload)
            );
        }
    }
}

/// The gateways' `state/conn` events: each connected.
pub fn conn_events() -> Vec<(String, Vec<u8>)> {
    GATEWAYS
        .iter()
        .map(|g| {
            let body = json!({"gatewayId": g, "state": "ONLINE"});
            (
                format!("eu868/gateway/{g}/state/conn"),
                serde_json::to_vec(&body).unwrap_or_default(),
            )
        })
        .collect()
}

/// Counts the frames each virtual gateway forwarded, for its next `stats`.
#[derive(Debug, Default)]
pub struct Counters([u32; GATEWAYS.len()]);

impl Counters {
    /// Counts the `up` events among `events`.
    pub fn count(&mut self, events: &[(String, Vec<u8>)]) {
        for (topic, _) in events {
            if let Some(i) = GATEWAYS
                .iter()
                .position(|g| topic == &format!("eu868/gateway/{g}/event/up"))
            {
                self.0[i] = self.0[i].saturating_add(1);
            }
        }
    }

    /// Each gateway's `stats` event (`gw.GatewayStats` as JSON) over the frames counted
    /// since the last, which starts the count again.
    pub fn stats_events(&mut self, time_ms: i64) -> Vec<(String, Vec<u8>)> {
        let counts = std::mem::take(&mut self.0);
        GATEWAYS
            .iter()
            .zip(counts)
            .map(|(g, n)| {
                let body = json!({
                    "gatewayId": g,
                    "time": super::rfc3339(time_ms),
                    "rxPacketsReceived": n,
                    "rxPacketsReceivedOk": n,
                    "txPacketsReceived": 0,
                    "txPacketsEmitted": 0,
                });
                (
                    format!("eu868/gateway/{g}/event/stats"),
                    serde_json::to_vec(&body).unwrap_or_default(),
                )
            })
            .collect()
    }
}
