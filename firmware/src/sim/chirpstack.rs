//! Uplinks as ChirpStack v4 publishes them: `application/{id}/device/{devEui}/event/up`, JSON.

use base64::Engine;
use serde_json::json;

use super::environment::Rng;
use super::SimDevice;
use crate::link::Uplink;

/// The application id the simulator's devices belong to.
const APPLICATION_ID: &str = "5e4d0a1c-9b7a-4c1e-8d1f-000000000001";

/// Builds the topic and body of an `up` event.
pub fn up_event(
    device: &SimDevice,
    uplink: &Uplink,
    payload: &[u8],
    now_ms: i64,
    rng: &mut Rng,
) -> (String, Vec<u8>) {
    let time = super::rfc3339(now_ms);
    let dedup = format!(
        "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
        rng.next_u64() as u32,
        rng.next_u64() as u16,
        rng.next_u64() & 0xfff,
        rng.next_u64() & 0xfff,
        rng.next_u64() & 0xffff_ffff_ffff
    );
    let rssi = -115.0 + 60.0 * rng.unit();
    let snr = -7.0 + 17.0 * rng.unit();
    let mut body = json!({
        "deduplicationId": dedup,
        "time": time,
        "deviceInfo": {
            "tenantName": "sensorhub demo",
            "applicationId": APPLICATION_ID,
            "applicationName": "sensorhub simulator",
            "deviceProfileName": "Cayenne LPP",
            "deviceName": device.name,
            "devEui": device.dev_eui,
        },
        "devAddr": device.dev_addr,
        "dr": 12 - uplink.spreading_factor,
        "fPort": 1,
        "data": base64::engine::general_purpose::STANDARD.encode(payload),
        "rxInfo": [{
            "gatewayId": "0016c001f153a14c",
            "rssi": rssi.round(),
            "snr": (snr * 4.0).round() / 4.0,
        }],
        "txInfo": {"frequency": uplink.frequency_hz, "modulation": {"lora": {
            "bandwidth": 125000, "spreadingFactor": uplink.spreading_factor,
            "codeRate": "CR_4_5"}}},
    });
    // proto3 JSON leaves out a zero counter, as ChirpStack does.
    if uplink.f_cnt != 0 {
        body["fCnt"] = json!(uplink.f_cnt);
    }
    let topic = format!(
        "application/{APPLICATION_ID}/device/{}/event/up",
        device.dev_eui
    );
    (topic, serde_json::to_vec(&body).unwrap_or_default())
}
