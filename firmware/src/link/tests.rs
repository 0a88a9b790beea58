//! Unit tests of `link`.

use super::*;
use lorawan::default_crypto::DefaultFactory as Crypto;
use lorawan::keys::AES128;
use lorawan::parser::{parse, DataHeader, DataPayload, FRMPayload, JoinAcceptPayload, PhyPayload};

const NWK: [u8; 16] = [0x2b; 16];
const APP: [u8; 16] = [0x7e; 16];
const ABP: Credentials = Credentials::Abp {
    dev_addr: [0x26, 0x0b, 0x00, 0x07],
    nwk_s_key: NWK,
    app_s_key: APP,
};

/// Checks a data frame the way a network server does and returns (FCnt, FRMPayload).
fn open(frame: &[u8], nwk: [u8; 16], app: [u8; 16], f_cnt: u32) -> (Vec<u8>, Vec<u8>) {
    let mut copy = frame.to_vec();
    let Ok(PhyPayload::Data(DataPayload::Encrypted(enc))) = parse(&mut copy[..]) else {
        panic!("not a data uplink");
    };
    assert!(
        enc.validate_mic(&AES128(nwk), f_cnt),
        "MIC with FCnt {f_cnt}"
    );
    let dev_addr = enc.fhdr().dev_addr().as_ref().to_vec();
    let dec = enc
        .decrypt(Some(&AES128(nwk)), Some(&AES128(app)), f_cnt)
        .unwrap();
    let FRMPayload::Data(data) = dec.frm_payload() else {
        panic!("no application payload");
    };
    (dev_addr, data.to_vec())
}

#[test]
fn abp_uplinks_verify_and_decrypt_as_a_network_server_sees_them() {
    let mut link = Link::new(VirtualRadio::default(), RamPersist::default(), 1, 7);
    assert_eq!(link.send(1, &[1]), Err(LinkError::NotJoined));
    link.activate(&ABP).unwrap();
    for expected in 0..3u32 {
        let payload = [0x01, 0x67, 0x00, expected as u8];
        let uplink = link.send(1, &payload).unwrap();
        assert_eq!(uplink.f_cnt, expected);
        assert_eq!(uplink.spreading_factor, 7);
        assert!([868_100_000, 868_300_000, 868_500_000].contains(&uplink.frequency_hz));
        // 13 + 4 bytes at SF7.
        assert_eq!(
            uplink.airtime_us,
            LoraSettings::eu868_uplink(7).time_on_air_us(17)
        );
        let (dev_addr, data) = open(link.radio().last_frame(), NWK, APP, expected);
        assert_eq!(dev_addr, [0x07, 0x00, 0x0b, 0x26], "DevAddr little-endian");
        assert_eq!(data, payload);
    }
    assert_eq!(link.persist().writes, 1, "one write reserves 32 counters");
}

#[test]
fn the_frame_counter_survives_resets_and_is_never_reused() {
    let mut nvm = RamPersist::default();
    let mut used = Vec::new();
    for _boot in 0..3 {
        let mut link = Link::new(VirtualRadio::default(), nvm.clone(), 2, 9);
        link.activate(&ABP).unwrap();
        for _ in 0..40 {
            let uplink = link.send(2, &[0xAA]).unwrap();
            assert_eq!(uplink.spreading_factor, 9);
            open(link.radio().last_frame(), NWK, APP, uplink.f_cnt);
            used.push(uplink.f_cnt);
        }
        nvm = link.persist().clone(); // power loss: RAM gone, NVM kept
    }
    assert!(used.windows(2).all(|w| w[1] > w[0]), "{used:?}");
    // 40 uplinks per boot need two reservations; the third boot resumes at the mark.
    assert_eq!(nvm.writes, 6);
    assert_eq!(&used[38..42], &[38, 39, 64, 65]);
    // Another ABP address starts its own counter at 0.
    let mut link = Link::new(VirtualRadio::default(), nvm, 3, 7);
    link.activate(&Credentials::Abp {
        dev_addr: [0x26, 0x0b, 0x00, 0x08],
        nwk_s_key: NWK,
        app_s_key: APP,
    })
    .unwrap();
    assert_eq!(link.f_cnt_up(), Some(0));
}

#[test]
fn otaa_joins_and_keeps_its_session_across_a_reset() {
    let dev_eui = [0x70, 0xb3, 0xd5, 0x7e, 0xd0, 0x00, 0x00, 0x42];
    let join_eui = [0; 8];
    let app_key = [0x11; 16];
    let credentials = Credentials::Otaa {
        dev_eui,
        join_eui,
        app_key,
    };
    // The network's join accept: AppNonce, NetID, DevAddr 26 0b 00 99.
    let mut buffer = [0u8; 17];
    let mut creator =
        lorawan::creator::JoinAcceptCreator::with_options(&mut buffer, Crypto).unwrap();
    creator
        .set_app_nonce(&[0x01, 0x02, 0x03])
        .set_net_id(&[0x13, 0x00, 0x00])
        .set_dev_addr(&[0x99, 0x00, 0x0b, 0x26]);
    let accept = creator.build(&AES128(app_key)).unwrap().to_vec();

    let mut radio = VirtualRadio::default();
    radio.queue_downlink(&accept);
    let mut link = Link::new(radio, RamPersist::default(), 4, 7);
    // Without an answer the join fails.
    let mut silent = Link::new(VirtualRadio::default(), RamPersist::default(), 4, 7);
    assert_eq!(silent.activate(&credentials), Err(LinkError::NoJoinAccept));

    link.activate(&credentials).unwrap();
    // The join request as the join server checks it.
    let mut request = link.radio().last_frame().to_vec();
    let Ok(PhyPayload::JoinRequest(jr)) = parse(&mut request[..]) else {
        panic!("not a join request");
    };
    assert!(jr.validate_mic(&AES128(app_key)));
    let mut on_air_eui = dev_eui;
    on_air_eui.reverse();
    assert_eq!(jr.dev_eui().as_ref(), &on_air_eui);
    let dev_nonce = jr.dev_nonce().to_owned();
    // Session keys as the join server derives them.
    let mut copy = accept.clone();
    let Ok(PhyPayload::JoinAccept(JoinAcceptPayload::Encrypted(enc))) = parse(&mut copy[..]) else {
        panic!("not a join accept");
    };
    let key = lorawan::keys::AppKey::from(app_key);
    let decrypted = enc.decrypt(&key);
    let nwk = decrypted.derive_newskey(&dev_nonce, &key).inner().0;
    let app = decrypted.derive_appskey(&dev_nonce, &key).inner().0;

    let uplink = link.send(1, &[0x05, 0x74, 0x01, 0x69]).unwrap();
    assert_eq!(uplink.f_cnt, 0);
    let (dev_addr, data) = open(link.radio().last_frame(), nwk, app, 0);
    assert_eq!(dev_addr, [0x99, 0x00, 0x0b, 0x26]);
    assert_eq!(data, [0x05, 0x74, 0x01, 0x69]);

    // Reset: the stored session is resumed without a join (no join accept is queued).
    let nvm = link.persist().clone();
    let mut link = Link::new(VirtualRadio::default(), nvm, 5, 7);
    link.activate(&credentials).unwrap();
    let uplink = link.send(1, &[0x05, 0x74, 0x01, 0x6a]).unwrap();
    assert_eq!(uplink.f_cnt, COUNTER_RESERVE);
    open(link.radio().last_frame(), nwk, app, COUNTER_RESERVE);
}
