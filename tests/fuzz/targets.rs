//! The fuzz targets: every parser a sender reaches, as a function of raw bytes that must never
//! panic, hang or use unbounded memory. `fuzz/` runs them under AFL++ (`scripts/fuzz TARGET`);
//! `tests/fuzz_corpus.rs` replays their seeds and every input a campaign found (in
//! `fuzz/corpus/TARGET/` and `fuzz/regressions/TARGET/`) as ordinary tests.

#![allow(dead_code)]

use sensorhub_gateway::formats::{chirpstack, gateway_frame, tts};
use sensorhub_gateway::network::{full_fcnt, Sessions};
use sensorhub_store::{Device, SessionState};

/// A fuzz target: raw bytes in, nothing out; it must only never panic or hang.
pub type Target = fn(&[u8]);

/// Every target by name, as `scripts/fuzz` and the corpus test know them.
pub const TARGETS: &[(&str, Target)] = &[
    ("chirpstack_json", chirpstack_json),
    ("tts_json", tts_json),
    ("gateway_frame", gateway_frame),
    ("lorawan_frame", lorawan_frame),
    ("cayenne_lpp", cayenne_lpp),
    ("dragino_lht65", dragino_lht65),
    ("dragino_ldds75", dragino_ldds75),
    ("milesight", milesight),
    ("elsys", elsys),
    ("decentlab_dl_pm", decentlab_dl_pm),
    ("browan_tbhh100", browan_tbhh100),
    ("normalised_payload", normalised_payload),
    ("config_file", config_file),
];

/// The first byte picks one of `choices`; the rest is the input.
fn pick<'a, T>(data: &'a [u8], choices: &'a [T]) -> Option<(&'a T, &'a [u8])> {
    let (first, rest) = data.split_first()?;
    Some((&choices[usize::from(*first) % choices.len()], rest))
}

/// ChirpStack v4 JSON events: `up`, `status` and the others, by topic.
pub fn chirpstack_json(data: &[u8]) {
    let topics = [
        "application/a/device/0101010101010101/event/up",
        "application/a/device/0101010101010101/event/status",
        "application/a/device/0101010101010101/event/join",
    ];
    if let Some((topic, payload)) = pick(data, &topics) {
        let _ = chirpstack::parse(topic, payload, 1_700_000_000_000);
    }
}

/// The Things Stack v3 JSON uplinks.
pub fn tts_json(data: &[u8]) {
    let topics = ["v3/app@ttn/devices/dev/up", "v3/app/devices/dev/join"];
    if let Some((topic, payload)) = pick(data, &topics) {
        let _ = tts::parse(topic, payload, 1_700_000_000_000);
    }
}

/// Gateway Bridge / MQTT Forwarder frames, JSON or protobuf.
pub fn gateway_frame(data: &[u8]) {
    let _ = gateway_frame::parse("eu868/gateway/0016c001f153a14c/event/up", data);
}

/// The key pair of the public lora-packet test vector (tests/fixtures/lorawan-vectors.json).
const NWK_S_KEY: &str = "44024241ed4ce9a68c6a8bc055233fd3";
const APP_S_KEY: &str = "ec925802ae430ca77fd3dd73cb2cc588";

fn key(hex: &str) -> [u8; 16] {
    sensorhub_core::ids::parse_hex::<16>(hex).expect("the vector's keys are 32 hex digits")
}

/// A frame with a valid MIC, built from fuzzed fields (counter, port, confirmed flag, payload),
/// so that the fuzzer gets past the MIC to counter rebuild, replay checks and decryption.
fn signed_frame(last: Option<u32>, fields: &[u8]) -> Option<Vec<u8>> {
    let (head, payload) = fields.split_first_chunk::<4>()?;
    // LoRaWAN's largest FRMPayload (EU868, DR7) is 222 bytes; lorawan 0.9's creator panics
    // on more than its 256-byte buffer holds (found by this target; inputs kept in
    // fuzz/regressions/lorawan_frame/).
    let payload = &payload[..payload.len().min(222)];
    let mut creator = lorawan::creator::DataPayloadCreator::new();
    creator
        .set_uplink(true)
        .set_confirmed(head[3] & 1 == 1)
        .set_f_port(head[2])
        .set_dev_addr(&[0xf1, 0x7d, 0xbe, 0x49])
        // Signed with the full counter the gateway will rebuild, so rollovers pass the MIC.
        .set_fcnt(full_fcnt(last, u16::from_le_bytes([head[0], head[1]])));
    creator
        .build(
            payload,
            &[],
            &lorawan::keys::NewSKey::from(key(NWK_S_KEY)),
            &lorawan::keys::AppSKey::from(key(APP_S_KEY)),
        )
        .ok()
        .map(|p| p.to_vec())
}

/// The LoRaWAN frame path of an ABP device: parse, counter rebuild, MIC, replay, decryption.
/// Input: the last accepted 32-bit counter (4 bytes, little-endian; all ones for none), a mode
/// byte (even: the rest is the PHYPayload as sent; odd: the rest are fields of a frame signed
/// with the device's key), then the rest.
pub fn lorawan_frame(data: &[u8]) {
    let Some((last, rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    let Some((mode, rest)) = rest.split_first() else {
        return;
    };
    let last = u32::from_le_bytes(*last);
    let known = (last != u32::MAX).then_some(last);
    let signed;
    let phy = if mode % 2 == 1 {
        match signed_frame(known, rest) {
            Some(frame) => {
                signed = frame;
                &signed[..]
            }
            None => return,
        }
    } else {
        rest
    };
    let dev_eui = "70b3d57ed0001234".to_owned();
    let saved = (last != u32::MAX)
        .then(|| {
            (
                dev_eui.clone(),
                SessionState {
                    f_cnt_up: last,
                    last_uplink_ms: 0,
                },
            )
        })
        .into_iter()
        .collect();
    let mut sessions = Sessions::new(saved);
    let device = Device {
        dev_eui: dev_eui.parse().expect("a DevEUI"),
        name: "fuzz".into(),
        station: "fuzz".into(),
        device_type: sensorhub_store::DeviceType::CayenneLpp,
        lat: None,
        lon: None,
        public: false,
        dev_addr: sensorhub_gateway::network::dev_addr_of(phy),
        nwk_s_key: Some(NWK_S_KEY.parse().expect("a key")),
        app_s_key: Some(APP_S_KEY.parse().expect("a key")),
    };
    let frame = gateway_frame::Frame {
        phy_payload: phy.to_vec(),
        gateway_id: "gw".into(),
        rssi: Some(-80.0),
        snr: Some(7.5),
        time_ms: None,
    };
    // The same frame twice, from two gateways and later again: copy, then replay.
    for (now, gateway) in [(0, "gw"), (10, "gw-2"), (5_000, "gw")] {
        let frame = gateway_frame::Frame {
            gateway_id: gateway.into(),
            ..frame.clone()
        };
        if let Ok(sensorhub_gateway::network::Phy::Uplink(uplink)) =
            sensorhub_gateway::network::read_phy(&frame.phy_payload)
        {
            let _ = sessions.check(&frame, uplink, &[&device], now, 1_000);
        }
    }
    if let Some(f) = phy.get(6..8) {
        let _ = full_fcnt(Some(last), u16::from_le_bytes([f[0], f[1]]));
    }
}

fn decode(device_type: &str, data: &[u8]) {
    let device_type = device_type.parse().expect("a built-in device type");
    if let Some((f_port, payload)) = data.split_first() {
        let _ = sensorhub_gateway::codec::decode_builtin(&device_type, Some(*f_port), payload);
    }
}

/// Cayenne LPP (through `core` and the gateway's channel naming). Input: fPort, payload.
pub fn cayenne_lpp(data: &[u8]) {
    decode("cayenne-lpp", data);
}

pub fn dragino_lht65(data: &[u8]) {
    decode("dragino-lht65", data);
}

pub fn dragino_ldds75(data: &[u8]) {
    decode("dragino-ldds75", data);
}

/// The Milesight decoder (EM300-TH, AM103, AM107 share it).
pub fn milesight(data: &[u8]) {
    if let Some((t, rest)) = pick(
        data,
        &["milesight-em300-th", "milesight-am103", "milesight-am107"],
    ) {
        decode(t, rest);
    }
}

/// The Elsys decoder (ERS, ERS CO2 share it).
pub fn elsys(data: &[u8]) {
    if let Some((t, rest)) = pick(data, &["elsys-ers", "elsys-ers-co2"]) {
        decode(t, rest);
    }
}

pub fn decentlab_dl_pm(data: &[u8]) {
    decode("decentlab-dl-pm", data);
}

pub fn browan_tbhh100(data: &[u8]) {
    decode("browan-tbhh100", data);
}

/// A network server's decoded payload (ChirpStack `object`, TTS `decoded_payload`), mapped
/// onto the vocabulary and normalised.
pub fn normalised_payload(data: &[u8]) {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let rules = vec![sensorhub_gateway::NormalisationRule {
        device_type: sensorhub_gateway::normalise::ForDevices::All,
        field: "level_mm".into(),
        quantity: "water_level".into(),
        scale: 0.001,
        offset: 0.0,
        unit: None,
    }];
    // The same JSON as decoded data and as a normalized payload.
    let output = sensorhub_gateway::codec::from_decoded(&value, Some(&value));
    let _ = sensorhub_gateway::codec::output::map(
        output,
        &rules,
        &sensorhub_store::DeviceType::NetworkServer,
    );
}

/// The config file, as `sensorhub config check` reads it (without the environment).
pub fn config_file(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(config) = sensorhub::config::Config::parse(text, std::iter::empty()) {
        let _ = config.problems();
    }
}
