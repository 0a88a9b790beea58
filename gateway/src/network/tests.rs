//! Unit tests of `network`, with the public LoRaWAN vectors of `tests/fixtures/lorawan-vectors.json`.

use super::*;

#[derive(serde::Deserialize)]
struct Vectors {
    data_uplinks: Vec<Vector>,
}
#[derive(serde::Deserialize)]
struct Vector {
    phy_hex: String,
    nwkskey: String,
    appskey: String,
    devaddr: String,
    fcnt: u32,
    fport: u8,
    payload_hex: String,
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

fn vectors() -> Vec<Vector> {
    serde_json::from_str::<Vectors>(include_str!("../../../tests/fixtures/lorawan-vectors.json"))
        .unwrap()
        .data_uplinks
}

fn device(v: &Vector) -> Device {
    Device {
        dev_eui: "0101010101010101".parse().unwrap(),
        name: "n".into(),
        station: "s".into(),
        device_type: "cayenne-lpp".parse().unwrap(),
        lat: None,
        lon: None,
        public: true,
        dev_addr: Some(v.devaddr.parse().unwrap()),
        nwk_s_key: Some(v.nwkskey.parse().unwrap()),
        app_s_key: Some(v.appskey.parse().unwrap()),
    }
}

/// Reads the frame's PHYPayload as ingestion does, then checks the uplink.
fn check(
    sessions: &mut Sessions,
    frame: &Frame,
    devices: &[&Device],
    now_ms: i64,
    window_ms: i64,
) -> Verdict {
    match read_phy(&frame.phy_payload) {
        Ok(Phy::Uplink(uplink)) => sessions.check(frame, uplink, devices, now_ms, window_ms),
        _ => panic!("not an uplink"),
    }
}

fn frame(phy: Vec<u8>, gateway: &str, rssi: f64) -> Frame {
    Frame {
        phy_payload: phy,
        gateway_id: gateway.into(),
        rssi: Some(rssi),
        snr: Some(5.0),
        time_ms: None,
    }
}

#[test]
fn frame_counters_rebuild_across_rollover() {
    assert_eq!(full_fcnt(None, 5), 5);
    assert_eq!(full_fcnt(Some(4), 5), 5);
    assert_eq!(full_fcnt(Some(0xfffe), 0x0005), 0x1_0005);
    assert_eq!(full_fcnt(Some(0x1_0004), 0x0005), 0x1_0005);
    assert_eq!(full_fcnt(Some(0x1_0005), 0x0005), 0x1_0005);
}

/// The public vector: MIC valid at FCnt 2, payload "test" after decryption.
#[test]
fn public_vector_verifies_and_decrypts() {
    for v in vectors() {
        let d = device(&v);
        assert_eq!(dev_addr_of(&hex(&v.phy_hex)).unwrap(), v.devaddr.as_str());
        let mut sessions = Sessions::default();
        let verdict = check(
            &mut sessions,
            &frame(hex(&v.phy_hex), "gw1", -80.0),
            &[&d],
            1_000,
            500,
        );
        let Verdict::Accepted(a) = verdict else {
            panic!("{verdict:?}")
        };
        assert_eq!((a.f_cnt, a.f_port), (v.fcnt, Some(v.fport)));
        assert_eq!(a.payload, hex(&v.payload_hex));
        assert_eq!(
            sessions.state(&d.dev_eui.to_string()).unwrap().f_cnt_up,
            v.fcnt
        );
    }
}

#[test]
fn one_wrong_mic_byte_is_rejected() {
    let v = &vectors()[0];
    let mut phy = hex(&v.phy_hex);
    let last = phy.len() - 1;
    phy[last] ^= 0x01;
    let verdict = check(
        &mut Sessions::default(),
        &frame(phy, "gw1", -80.0),
        &[&device(v)],
        0,
        500,
    );
    assert!(
        matches!(
            verdict,
            Verdict::Rejected {
                reason: DeadLetterReason::BadMic,
                ..
            }
        ),
        "{verdict:?}"
    );
}

#[test]
fn copies_merge_within_the_window_and_replays_are_refused() {
    let v = &vectors()[0];
    let d = device(v);
    let mut sessions = Sessions::default();
    let phy = hex(&v.phy_hex);
    assert!(matches!(
        check(
            &mut sessions,
            &frame(phy.clone(), "gw1", -100.0),
            &[&d],
            1_000,
            500
        ),
        Verdict::Accepted(_)
    ));
    let Verdict::Copy(r) = check(
        &mut sessions,
        &frame(phy.clone(), "gw2", -70.0),
        &[&d],
        1_100,
        500,
    ) else {
        panic!()
    };
    assert_eq!((r.gateway_count, r.rssi), (2, Some(-70.0)));
    let Verdict::Copy(r) = check(
        &mut sessions,
        &frame(phy.clone(), "gw3", -90.0),
        &[&d],
        1_200,
        500,
    ) else {
        panic!()
    };
    assert_eq!((r.gateway_count, r.rssi), (3, Some(-70.0)));
    assert_eq!(
        check(
            &mut sessions,
            &frame(phy.clone(), "gw3", -90.0),
            &[&d],
            1_300,
            500
        ),
        Verdict::Duplicate
    );
    let late = check(
        &mut sessions,
        &frame(phy.clone(), "gw4", -90.0),
        &[&d],
        5_000,
        500,
    );
    assert!(
        matches!(
            late,
            Verdict::Rejected {
                reason: DeadLetterReason::Replay,
                ..
            }
        ),
        "{late:?}"
    );
}

#[test]
fn frames_with_one_gateway_time_or_none_get_increasing_times_of_their_own() {
    let v = &vectors()[0];
    let device = device(v);
    let mut sessions = Sessions::new(Vec::new());
    let phy = hex(&v.phy_hex);
    let mut first = frame(phy, "gw", -80.0);
    first.time_ms = Some(5_000);
    let Verdict::Accepted(a) = check(&mut sessions, &first, &[&device], 1_000, 1_000) else {
        panic!("accepted");
    };
    assert_eq!(
        (a.reception.time_ms, a.reception.time_source),
        (5_000, TimeSource::Gateway)
    );
    // The next counter with the same gateway time, then one without any.
    let state = sessions.state(&device.dev_eui.to_string()).unwrap();
    assert_eq!(state.last_uplink_ms, 5_000);
    sessions.state.insert(
        device.dev_eui.to_string(),
        SessionState {
            f_cnt_up: a.f_cnt - 1,
            ..state
        },
    );
    sessions.recent.clear();
    let again = check(&mut sessions, &first, &[&device], 1_001, 1_000);
    let Verdict::Accepted(b) = again else {
        panic!("accepted: {again:?}");
    };
    assert_eq!(b.reception.time_ms, 5_001, "moved on by a millisecond");
    assert_eq!(b.reception.f_port, Some(v.fport));
}

#[test]
fn an_old_counter_after_a_newer_one_is_a_replay() {
    let v = &vectors()[0];
    let d = device(v);
    let mut sessions = Sessions::new(vec![(
        d.dev_eui.to_string(),
        SessionState {
            f_cnt_up: 10,
            last_uplink_ms: 0,
        },
    )]);
    let verdict = check(
        &mut sessions,
        &frame(hex(&v.phy_hex), "gw1", -80.0),
        &[&d],
        0,
        500,
    );
    assert!(
        matches!(
            verdict,
            Verdict::Rejected {
                reason: DeadLetterReason::Replay,
                ..
            }
        ),
        "{verdict:?}"
    );
}
