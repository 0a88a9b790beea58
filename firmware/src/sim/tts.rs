//! Uplinks as The Things Stack v3 publishes them: `v3/{application}@{tenant}/devices/{device}/up`.

use base64::Engine;
use serde_json::json;

use super::environment::Rng;
use super::SimDevice;
use crate::link::Uplink;

const APPLICATION_ID: &str = "sensorhub-sim";
const TENANT: &str = "ttn";
const GATEWAY_ID: &str = "sensorhub-sim-gw1";

pub fn up_event(
    device: &SimDevice,
    uplink: &Uplink,
    payload: &[u8],
    now_ms: i64,
    rng: &mut Rng,
) -> (String, Vec<u8>) {
    let time = super::rfc3339(now_ms);
    let device_id = device.station.clone();
    let rssi = (-115.0 + 60.0 * rng.unit()).round();
    let snr = ((-7.0 + 17.0 * rng.unit()) * 4.0).round() / 4.0;
    let body = json!({
        "end_device_ids": {
            "device_id": device_id,
            "application_ids": {"application_id": APPLICATION_ID},
            "dev_eui": device.dev_eui.to_uppercase(),
            "dev_addr": device.dev_addr.to_uppercase(),
        },
        "received_at": time,
        "uplink_message": {
            "f_port": 1,
            "f_cnt": uplink.f_cnt,
            "frm_payload": base64::engine::general_purpose::STANDARD.encode(payload),
            "rx_metadata": [{
                "gateway_ids": {"gateway_id": GATEWAY_ID},
                "time": time,
                "rssi": rssi,
                "channel_rssi": rssi,
                "snr": snr,
            }],
            "settings": {
                "data_rate": {"lora": {"bandwidth": 125000,
                                       "spreading_factor": uplink.spreading_factor}},
                "coding_rate": "4/5",
                "frequency": uplink.frequency_hz.to_string(),
            },
            "consumed_airtime": format!("{:.6}s", uplink.airtime_us as f64 / 1e6),
            "received_at": time,
        },
    });
    let topic = format!("v3/{APPLICATION_ID}@{TENANT}/devices/{device_id}/up");
    (topic, serde_json::to_vec(&body).unwrap_or_default())
}
