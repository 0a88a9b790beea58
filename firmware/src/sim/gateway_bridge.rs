//! Uplinks as raw LoRaWAN frames, heard by virtual gateways and published as ChirpStack
//! Gateway Bridge `up` events (JSON): the path a network server would see.
//!
//! Each virtual node has an ABP session (DevAddr and session keys derived from its number).
//! These are demo keys, published in this source: never give them to a real device.

use base64::Engine;
use serde_json::json;

use super::environment::Rng;

/// The virtual gateways, by id.
const GATEWAYS: [&str; 3] = ["7276ff0039030a01", "7276ff0039030a02", "7276ff0039030a03"];

/// The EU868 default channels a node hops over.
const CHANNELS: [u32; 3] = [868_100_000, 868_300_000, 868_500_000];

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

/// The PHYPayload of an unconfirmed uplink on fPort 1 with `f_cnt` and `payload`.
pub fn frame(number: usize, f_cnt: u32, payload: &[u8]) -> Vec<u8> {
    let (dev_addr, nwk, app) = session(number);
    let mut creator = lorawan::creator::DataPayloadCreator::new();
    let on_air = [dev_addr[3], dev_addr[2], dev_addr[1], dev_addr[0]];
    creator
        .set_uplink(true)
        .set_confirmed(false)
        .set_f_port(1)
        .set_dev_addr(&on_air)
        .set_fcnt(f_cnt);
    creator
        .build(
            payload,
            &[],
            &lorawan::keys::NewSKey::from(nwk),
            &lorawan::keys::AppSKey::from(app),
        )
        .map(<[u8]>::to_vec)
        .unwrap_or_default()
}

/// The Gateway Bridge events of one uplink: one to three gateways hear it, each with its own
/// RSSI and SNR, the nearer ones louder.
pub fn up_events(
    number: usize,
    f_cnt: u32,
    payload: &[u8],
    rng: &mut Rng,
) -> Vec<(String, Vec<u8>)> {
    let phy = frame(number, f_cnt, payload);
    let heard_by = 1 + (rng.next_u64() % 3) as usize;
    let frequency = CHANNELS[(f_cnt as usize) % CHANNELS.len()];
    GATEWAYS
        .iter()
        .take(heard_by)
        .enumerate()
        .map(|(i, gateway)| {
            let rssi = -70.0 - 15.0 * i as f64 - 20.0 * rng.unit();
            let snr = 9.0 - 4.0 * i as f64 + rng.noise(1.5);
            let body = json!({
                "phyPayload": base64::engine::general_purpose::STANDARD.encode(&phy),
                "txInfo": {"frequency": frequency, "modulation": {"lora": {
                    "bandwidth": 125000, "spreadingFactor": 7, "codeRate": "CR_4_5"}}},
                "rxInfo": {"gatewayId": gateway, "uplinkId": rng.next_u64() as u32,
                           "rssi": rssi.round(), "snr": (snr * 4.0).round() / 4.0},
            });
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

    /// The frame verifies and decrypts with the session the registry gets, using the lorawan
    /// crate's parser (the same the gateway uses).
    #[test]
    fn frames_verify_with_the_published_session() {
        let payload = [0x01, 0x67, 0x00, 0xd7];
        let mut phy = frame(3, 70_000, &payload);
        let (dev_addr, nwk, app) = session(3);
        assert_eq!(hex(&dev_addr), "260b0003");
        assert_eq!(
            &phy[1..5],
            &[0x03, 0x00, 0x0b, 0x26],
            "DevAddr little-endian on air"
        );
        let Ok(lorawan::parser::PhyPayload::Data(lorawan::parser::DataPayload::Encrypted(enc))) =
            lorawan::parser::parse(&mut phy[..])
        else {
            panic!("not a data frame");
        };
        assert!(enc.validate_mic(&lorawan::keys::AES128(nwk), 70_000));
        let dec = enc
            .decrypt(
                Some(&lorawan::keys::AES128(nwk)),
                Some(&lorawan::keys::AES128(app)),
                70_000,
            )
            .unwrap();
        assert_eq!(
            dec.frm_payload(),
            lorawan::parser::FRMPayload::Data(&payload)
        );
    }
}
