//! Unit tests of `lpp`.

use super::*;

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

/// The example of the myDevices LPP documentation, also in `shared/fixtures/cayenne-lpp.json`:
/// `03 67 0110` channel 3 temperature 27.2 °C, `05 67 00FF` channel 5 temperature 25.5 °C.
#[test]
fn decodes_documented_two_temperature_example() {
    let payload = [0x03, 0x67, 0x01, 0x10, 0x05, 0x67, 0x00, 0xff];
    let items: Vec<_> = decode(&payload).collect::<Result<_, _>>().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!((items[0].channel, items[0].kind), (3, LppType::Temperature));
    assert!(close(items[0].values()[0], 27.2));
    assert_eq!((items[1].channel, items[1].kind), (5, LppType::Temperature));
    assert!(close(items[1].values()[0], 25.5));
}

/// Negative temperature: 0xFF9C is -100 raw, -10.0 °C; humidity 0x61 is 97 raw, 48.5 %.
#[test]
fn decodes_signed_values_and_half_percent_humidity() {
    let payload = [0x01, 0x67, 0xff, 0x9c, 0x02, 0x68, 0x61];
    let items: Vec<_> = decode(&payload).collect::<Result<_, _>>().unwrap();
    assert!(close(items[0].values()[0], -10.0));
    assert!(close(items[1].values()[0], 48.5));
    assert_eq!(items[1].kind.quantity(0), "relative_humidity");
}

/// GPS from the LPP documentation: 42.3519 N, -87.9094 E, 10 m.
#[test]
fn decodes_gps() {
    let payload = [
        0x01, 0x88, 0x06, 0x76, 0x5f, 0xf2, 0x96, 0x0a, 0x00, 0x03, 0xe8,
    ];
    let item = decode(&payload).next().unwrap().unwrap();
    let v = item.values();
    assert!(close(v[0], 42.3519) && close(v[1], -87.9094) && close(v[2], 10.0));
}

/// 0x000014B6 = 5302 mm must read as the decimal 5.302, not 5.3020000000000005.
#[test]
fn scaled_values_are_the_nearest_decimal() {
    let item = decode(&[0x04, 0x82, 0x00, 0x00, 0x14, 0xb6])
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(item.values()[0], 5.302);
    let item = decode(&[0x01, 0x67, 0x00, 0x0d]).next().unwrap().unwrap();
    assert_eq!(item.values()[0], 1.3);
}

#[test]
fn truncated_item_is_an_error_with_offset() {
    let payload = [0x03, 0x67, 0x01, 0x10, 0x05, 0x67, 0x00];
    let mut items = decode(&payload);
    assert!(items.next().unwrap().is_ok());
    assert_eq!(
        items.next().unwrap(),
        Err(LppError::Truncated {
            offset: 4,
            needed: 4,
            available: 3
        })
    );
    assert!(items.next().is_none());
}

#[test]
fn unknown_type_is_an_error() {
    assert_eq!(
        decode(&[0x01, 0xfe, 0x00]).next().unwrap(),
        Err(LppError::UnknownType {
            offset: 1,
            type_id: 0xfe
        })
    );
}

#[test]
fn encoder_writes_documented_bytes_and_round_trips() {
    let mut buffer = [0u8; 32];
    let mut writer = LppWriter::new(&mut buffer);
    writer.push(3, LppType::Temperature, &[27.2]).unwrap();
    writer.push(5, LppType::Temperature, &[25.5]).unwrap();
    writer.push(7, LppType::Distance, &[1.234]).unwrap();
    writer.push(8, LppType::Temperature, &[-4.56]).unwrap();
    assert_eq!(
        &writer.payload()[..8],
        &[0x03, 0x67, 0x01, 0x10, 0x05, 0x67, 0x00, 0xff]
    );
    let decoded: Vec<_> = decode(writer.payload()).map(|i| i.unwrap()).collect();
    assert!(close(decoded[2].values()[0], 1.234));
    assert!(close(decoded[3].values()[0], -4.6));
}

#[test]
fn encoder_refuses_out_of_range_and_full_buffer() {
    let mut buffer = [0u8; 4];
    let mut writer = LppWriter::new(&mut buffer);
    assert_eq!(
        writer.push(1, LppType::Humidity, &[200.0]),
        Err(LppError::OutOfRange)
    );
    writer.push(1, LppType::Temperature, &[1.0]).unwrap();
    assert_eq!(
        writer.push(2, LppType::Presence, &[1.0]),
        Err(LppError::BufferFull)
    );
}
