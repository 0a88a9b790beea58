//! Sensirion SHT4x (SHT40/41/45) temperature and relative humidity over I2C.
//!
//! Datasheet sequence: write one command byte, wait the measurement duration, read six bytes:
//! temperature word, its CRC, humidity word, its CRC. Conversion:
//! `T = -45 + 175 S_T / (2^16 - 1)` °C and `RH = -6 + 125 S_RH / (2^16 - 1)` %, the latter
//! cropped to 0..100 %. CRC-8: polynomial 0x31, initial value 0xFF, no reflection, no final XOR.

use embedded_hal::delay::DelayNs;
use embedded_hal::i2c::I2c;

/// The default address (SHT40-AD1B); the -BD1B variant answers at 0x45, -CD1B at 0x46.
pub const DEFAULT_ADDRESS: u8 = 0x44;

/// Measurement precision, with the datasheet's command and maximum duration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Precision {
    High,
    Medium,
    Low,
}

impl Precision {
    fn command(self) -> u8 {
        match self {
            Precision::High => 0xFD,
            Precision::Medium => 0xF6,
            Precision::Low => 0xE0,
        }
    }

    /// Maximum measurement duration in microseconds (8.2, 4.5 and 1.7 ms).
    fn duration_us(self) -> u32 {
        match self {
            Precision::High => 8_200,
            Precision::Medium => 4_500,
            Precision::Low => 1_700,
        }
    }
}

const READ_SERIAL: u8 = 0x89;
const SOFT_RESET: u8 = 0x94;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error<E> {
    /// The bus failed (no acknowledge, arbitration loss, ...).
    Bus(E),
    /// A word arrived with a CRC that does not match: a disturbed bus or a failing sensor.
    Crc {
        word: u16,
        received: u8,
        computed: u8,
    },
}

/// A temperature and humidity measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measurement {
    /// °C.
    pub temperature: f32,
    /// %, cropped to 0..100.
    pub relative_humidity: f32,
}

/// Sensirion's CRC-8 over the bytes of one word.
pub fn crc8(data: &[u8]) -> u8 {
    let mut crc: u8 = 0xFF;
    for byte in data {
        crc ^= byte;
        for _ in 0..8 {
            crc = if crc & 0x80 != 0 {
                (crc << 1) ^ 0x31
            } else {
                crc << 1
            };
        }
    }
    crc
}

pub struct Sht4x<I2C> {
    i2c: I2C,
    address: u8,
}

impl<I2C: I2c> Sht4x<I2C> {
    pub fn new(i2c: I2C, address: u8) -> Self {
        Sht4x { i2c, address }
    }

    pub fn release(self) -> I2C {
        self.i2c
    }

    /// Measures temperature and humidity.
    pub fn measure(
        &mut self,
        precision: Precision,
        delay: &mut impl DelayNs,
    ) -> Result<Measurement, Error<I2C::Error>> {
        let [t, rh] = self.command_and_read(precision.command(), precision.duration_us(), delay)?;
        Ok(Measurement {
            temperature: -45.0 + 175.0 * f32::from(t) / 65535.0,
            relative_humidity: (-6.0 + 125.0 * f32::from(rh) / 65535.0).clamp(0.0, 100.0),
        })
    }

    /// The sensor's 32-bit serial number.
    pub fn serial_number(&mut self, delay: &mut impl DelayNs) -> Result<u32, Error<I2C::Error>> {
        let [high, low] = self.command_and_read(READ_SERIAL, 1_000, delay)?;
        Ok(u32::from(high) << 16 | u32::from(low))
    }

    /// Soft reset; the sensor is ready again after at most 1 ms.
    pub fn soft_reset(&mut self, delay: &mut impl DelayNs) -> Result<(), Error<I2C::Error>> {
        self.i2c
            .write(self.address, &[SOFT_RESET])
            .map_err(Error::Bus)?;
        delay.delay_us(1_000);
        Ok(())
    }

    fn command_and_read(
        &mut self,
        command: u8,
        wait_us: u32,
        delay: &mut impl DelayNs,
    ) -> Result<[u16; 2], Error<I2C::Error>> {
        self.i2c
            .write(self.address, &[command])
            .map_err(Error::Bus)?;
        delay.delay_us(wait_us);
        let mut buffer = [0u8; 6];
        self.i2c
            .read(self.address, &mut buffer)
            .map_err(Error::Bus)?;
        let mut words = [0u16; 2];
        for (word, chunk) in words.iter_mut().zip(buffer.chunks_exact(3)) {
            let computed = crc8(&chunk[..2]);
            *word = u16::from_be_bytes([chunk[0], chunk[1]]);
            if computed != chunk[2] {
                return Err(Error::Crc {
                    word: *word,
                    received: chunk[2],
                    computed,
                });
            }
        }
        Ok(words)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_hal::i2c::ErrorKind;
    use embedded_hal_mock::eh1::delay::{CheckedDelay, Transaction as Wait};
    use embedded_hal_mock::eh1::i2c::{Mock, Transaction};

    #[test]
    fn crc_matches_the_datasheet_example() {
        // SHT4x datasheet, CRC section: CRC(0xBEEF) = 0x92.
        assert_eq!(crc8(&[0xBE, 0xEF]), 0x92);
    }

    #[test]
    fn high_precision_measurement_is_byte_exact() {
        // S_T = 0x6666: -45 + 175 * 26214 / 65535 = 25.0 °C.
        // S_RH = 0x7AE1: -6 + 125 * 31457 / 65535 = 54.0 %.
        // CRCs 0x93 and 0xA4 computed with the datasheet's algorithm by hand.
        let expectations = [
            Transaction::write(0x44, vec![0xFD]),
            Transaction::read(0x44, vec![0x66, 0x66, 0x93, 0x7A, 0xE1, 0xA4]),
        ];
        let mut i2c = Mock::new(&expectations);
        let mut delay = CheckedDelay::new(&[Wait::delay_us(8_200)]);
        let mut sensor = Sht4x::new(i2c.clone(), DEFAULT_ADDRESS);
        let m = sensor.measure(Precision::High, &mut delay).unwrap();
        assert!((m.temperature - 25.0).abs() < 0.01, "{}", m.temperature);
        assert!(
            (m.relative_humidity - 54.0).abs() < 0.01,
            "{}",
            m.relative_humidity
        );
        i2c.done();
        delay.done();
    }

    #[test]
    fn a_corrupted_word_is_a_crc_error() {
        let expectations = [
            Transaction::write(0x44, vec![0xF6]),
            Transaction::read(0x44, vec![0x66, 0x66, 0x93, 0x7A, 0xE0, 0xA4]),
        ];
        let mut i2c = Mock::new(&expectations);
        let mut delay = CheckedDelay::new(&[Wait::delay_us(4_500)]);
        let mut sensor = Sht4x::new(i2c.clone(), DEFAULT_ADDRESS);
        assert_eq!(
            sensor.measure(Precision::Medium, &mut delay),
            Err(Error::Crc {
                word: 0x7AE0,
                received: 0xA4,
                computed: crc8(&[0x7A, 0xE0])
            })
        );
        i2c.done();
        delay.done();
    }

    #[test]
    fn humidity_is_cropped_and_bus_errors_are_typed() {
        // S_RH = 0xFFFF gives 119 % by formula: cropped to 100 %. S_T = 0: -45 °C.
        let expectations = [
            Transaction::write(0x44, vec![0xE0]),
            Transaction::read(0x44, vec![0x00, 0x00, 0x81, 0xFF, 0xFF, 0xAC]),
            Transaction::write(0x44, vec![0xE0]).with_error(ErrorKind::Other),
        ];
        let mut i2c = Mock::new(&expectations);
        let mut delay = CheckedDelay::new(&[Wait::delay_us(1_700)]);
        let mut sensor = Sht4x::new(i2c.clone(), DEFAULT_ADDRESS);
        let m = sensor.measure(Precision::Low, &mut delay).unwrap();
        assert_eq!(m.relative_humidity, 100.0);
        assert!((m.temperature + 45.0).abs() < 0.001);
        assert_eq!(
            sensor.measure(Precision::Low, &mut delay),
            Err(Error::Bus(ErrorKind::Other))
        );
        i2c.done();
        delay.done();
    }

    #[test]
    fn serial_number_and_reset() {
        let expectations = [
            Transaction::write(0x44, vec![0x89]),
            Transaction::read(
                0x44,
                vec![0x0F, 0x3C, crc8(&[0x0F, 0x3C]), 0x12, 0x34, 0x37],
            ),
            Transaction::write(0x44, vec![0x94]),
        ];
        let mut i2c = Mock::new(&expectations);
        let mut delay = CheckedDelay::new(&[Wait::delay_us(1_000), Wait::delay_us(1_000)]);
        let mut sensor = Sht4x::new(i2c.clone(), DEFAULT_ADDRESS);
        assert_eq!(sensor.serial_number(&mut delay), Ok(0x0F3C_1234));
        sensor.soft_reset(&mut delay).unwrap();
        i2c.done();
        delay.done();
    }
}
