//! Sensirion SCD4x (SCD40/SCD41) CO2, temperature and relative humidity over I2C.
//!
//! Datasheet sequence (single shot, as a battery node uses it): `measure_single_shot` (0x219D),
//! wait 5 s, `read_measurement` (0xEC05), wait 1 ms, read nine bytes: three words, each followed
//! by its CRC-8 (polynomial 0x31, initial value 0xFF, as the SHT4x). Conversion: CO2 = word 0
//! in ppm, `T = -45 + 175 word_1 / (2^16 - 1)` °C, `RH = 100 word_2 / (2^16 - 1)` %.

use embedded_hal::delay::DelayNs;
use embedded_hal::i2c::I2c;

use super::sht4x::crc8;

/// The SCD4x's only address.
pub const DEFAULT_ADDRESS: u8 = 0x62;

const MEASURE_SINGLE_SHOT: [u8; 2] = [0x21, 0x9D];
const READ_MEASUREMENT: [u8; 2] = [0xEC, 0x05];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error<E> {
    /// The bus failed.
    Bus(E),
    /// A word arrived with a CRC that does not match.
    Crc { word: u16, received: u8 },
}

/// A CO2, temperature and humidity measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measurement {
    pub co2_ppm: u16,
    /// °C.
    pub temperature: f32,
    /// %.
    pub relative_humidity: f32,
}

pub struct Scd4x<I2C> {
    i2c: I2C,
    address: u8,
}

impl<I2C: I2c> Scd4x<I2C> {
    pub fn new(i2c: I2C, address: u8) -> Self {
        Scd4x { i2c, address }
    }

    /// One single-shot measurement (5 s).
    pub fn measure(&mut self, delay: &mut impl DelayNs) -> Result<Measurement, Error<I2C::Error>> {
        self.i2c
            .write(self.address, &MEASURE_SINGLE_SHOT)
            .map_err(Error::Bus)?;
        delay.delay_ms(5_000);
        self.i2c
            .write(self.address, &READ_MEASUREMENT)
            .map_err(Error::Bus)?;
        delay.delay_ms(1);
        let mut bytes = [0u8; 9];
        self.i2c
            .read(self.address, &mut bytes)
            .map_err(Error::Bus)?;
        decode(&bytes)
    }
}

/// The nine bytes of `read_measurement`, checked and converted.
pub fn decode<E>(bytes: &[u8; 9]) -> Result<Measurement, Error<E>> {
    let word = |i: usize| {
        let pair = [bytes[i], bytes[i + 1]];
        let w = u16::from_be_bytes(pair);
        if crc8(&pair) == bytes[i + 2] {
            Ok(w)
        } else {
            Err(Error::Crc {
                word: w,
                received: bytes[i + 2],
            })
        }
    };
    let (co2, t, rh) = (word(0)?, word(3)?, word(6)?);
    Ok(Measurement {
        co2_ppm: co2,
        temperature: -45.0 + 175.0 * f32::from(t) / 65_535.0,
        relative_humidity: 100.0 * f32::from(rh) / 65_535.0,
    })
}

/// The nine bytes an SCD4x answers with for these values (for simulated parts and tests).
pub fn encode(co2_ppm: u16, temperature: f32, relative_humidity: f32) -> [u8; 9] {
    let t = (((temperature + 45.0) / 175.0) * 65_535.0)
        .round()
        .clamp(0.0, 65_535.0) as u16;
    let rh = ((relative_humidity / 100.0) * 65_535.0)
        .round()
        .clamp(0.0, 65_535.0) as u16;
    let mut out = [0u8; 9];
    for (i, w) in [co2_ppm, t, rh].into_iter().enumerate() {
        let pair = w.to_be_bytes();
        out[3 * i..3 * i + 2].copy_from_slice(&pair);
        out[3 * i + 2] = crc8(&pair);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The datasheet's example answer of `read_measurement` (SCD4x datasheet, section 3.6.2):
    /// 500 ppm, 25 °C, 37 %.
    #[test]
    fn the_datasheet_example_decodes() {
        let bytes = [0x01, 0xF4, 0x33, 0x66, 0x67, 0xA2, 0x5E, 0xB9, 0x3C];
        let m = decode::<()>(&bytes).unwrap();
        assert_eq!(m.co2_ppm, 500);
        assert!((m.temperature - 25.0).abs() < 0.01, "{m:?}");
        assert!((m.relative_humidity - 37.0).abs() < 0.01, "{m:?}");
        // What the simulated part sends reads back as what it was given.
        let back = decode::<()>(&encode(812, 21.4, 48.5)).unwrap();
        assert_eq!(back.co2_ppm, 812);
        assert!(
            (back.temperature - 21.4).abs() < 0.01 && (back.relative_humidity - 48.5).abs() < 0.01
        );
    }

    #[test]
    fn a_corrupted_word_is_refused() {
        let mut bytes = encode(800, 21.0, 45.0);
        bytes[4] ^= 0x01;
        assert!(matches!(decode::<()>(&bytes), Err(Error::Crc { .. })));
    }
}
