//! Bosch BME280 temperature, humidity and pressure over I2C.
//!
//! Datasheet sequence: check the chip id (0xD0 = 0x60), read the factory calibration
//! (0x88..0xA1 and 0xE1..0xE7, once), then per measurement write `ctrl_hum` (0xF2) before
//! `ctrl_meas` (0xF4) with forced mode, wait, poll `status` (0xF3) until `measuring` clears, and
//! burst-read the data registers 0xF7..0xFE. Compensation follows the datasheet's integer
//! formulas (32-bit temperature and humidity, 64-bit pressure), so no floats are needed on the
//! node until the final scaling.

use embedded_hal::delay::DelayNs;
use embedded_hal::i2c::I2c;

/// SDO to GND; 0x77 with SDO to VDDIO.
pub const DEFAULT_ADDRESS: u8 = 0x76;
pub const CHIP_ID: u8 = 0x60;

const REG_CHIP_ID: u8 = 0xD0;
const REG_RESET: u8 = 0xE0;
const REG_CALIB_00: u8 = 0x88;
const REG_CALIB_26: u8 = 0xE1;
const REG_CTRL_HUM: u8 = 0xF2;
const REG_STATUS: u8 = 0xF3;
const REG_CTRL_MEAS: u8 = 0xF4;
const REG_DATA: u8 = 0xF7;
const RESET_WORD: u8 = 0xB6;
/// Oversampling x1 for humidity; temperature and pressure x1 in forced mode.
const CTRL_HUM_X1: u8 = 0b001;
const CTRL_MEAS_X1_FORCED: u8 = 0b001 << 5 | 0b001 << 2 | 0b01;
/// Maximum measurement time with x1 oversampling everywhere: 1.25 + 2.3 + 2.875 + 2.875 ms.
const MEASUREMENT_US: u32 = 9_300;
/// Status polls after the maximum time before giving up.
const STATUS_POLLS: u8 = 5;
/// The value a data register holds when its measurement was skipped or never ran.
const SKIPPED_20: i32 = 0x80000;
const SKIPPED_16: i32 = 0x8000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error<E> {
    Bus(E),
    /// Something else answers at the address (a BMP280 says 0x58).
    WrongChip(u8),
    /// The measurement did not finish in time.
    Timeout,
    /// A data register still holds its reset value: the sensor did not measure.
    NoData,
    /// The calibration data cannot be right (`dig_T1` or `dig_P1` zero): a damaged part.
    BadCalibration,
}

/// The factory calibration words, named as in the datasheet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Calibration {
    pub t1: u16,
    pub t2: i16,
    pub t3: i16,
    pub p1: u16,
    pub p2: i16,
    pub p3: i16,
    pub p4: i16,
    pub p5: i16,
    pub p6: i16,
    pub p7: i16,
    pub p8: i16,
    pub p9: i16,
    pub h1: u8,
    pub h2: i16,
    pub h3: u8,
    pub h4: i16,
    pub h5: i16,
    pub h6: i8,
}

impl Calibration {
    /// From the 26 bytes at 0x88..0xA1 and the 7 bytes at 0xE1..0xE7.
    pub fn from_registers(low: &[u8; 26], high: &[u8; 7]) -> Self {
        let u = |i: usize| u16::from_le_bytes([low[i], low[i + 1]]);
        let s = |i: usize| i16::from_le_bytes([low[i], low[i + 1]]);
        Calibration {
            t1: u(0),
            t2: s(2),
            t3: s(4),
            p1: u(6),
            p2: s(8),
            p3: s(10),
            p4: s(12),
            p5: s(14),
            p6: s(16),
            p7: s(18),
            p8: s(20),
            p9: s(22),
            h1: low[25],
            h2: i16::from_le_bytes([high[0], high[1]]),
            h3: high[2],
            // H4 = E4[11:4] E5[3:0], H5 = E6[11:4] E5[7:4], both signed 12-bit.
            h4: i16::from(high[3] as i8) << 4 | i16::from(high[4] & 0x0F),
            h5: i16::from(high[5] as i8) << 4 | i16::from(high[4] >> 4),
            h6: high[6] as i8,
        }
    }

    /// `t_fine` and the temperature in 0.01 °C.
    pub fn temperature(&self, adc_t: i32) -> (i32, i32) {
        let t1 = i32::from(self.t1);
        let var1 = (((adc_t >> 3) - (t1 << 1)) * i32::from(self.t2)) >> 11;
        let d = (adc_t >> 4) - t1;
        let var2 = (((d * d) >> 12) * i32::from(self.t3)) >> 14;
        let t_fine = var1 + var2;
        (t_fine, (t_fine * 5 + 128) >> 8)
    }

    /// Pressure in Pa as Q24.8 (divide by 256), or `None` when the formula would divide by zero.
    pub fn pressure(&self, t_fine: i32, adc_p: i32) -> Option<u32> {
        let mut var1 = i64::from(t_fine) - 128_000;
        let mut var2 = var1 * var1 * i64::from(self.p6);
        var2 += (var1 * i64::from(self.p5)) << 17;
        var2 += i64::from(self.p4) << 35;
        var1 = ((var1 * var1 * i64::from(self.p3)) >> 8) + ((var1 * i64::from(self.p2)) << 12);
        var1 = (((1i64 << 47) + var1) * i64::from(self.p1)) >> 33;
        if var1 == 0 {
            return None;
        }
        let mut p = 1_048_576 - i64::from(adc_p);
        p = (((p << 31) - var2) * 3125) / var1;
        let var1 = (i64::from(self.p9) * (p >> 13) * (p >> 13)) >> 25;
        let var2 = (i64::from(self.p8) * p) >> 19;
        p = ((p + var1 + var2) >> 8) + (i64::from(self.p7) << 4);
        u32::try_from(p).ok()
    }

    /// Relative humidity in % as Q22.10 (divide by 1024), clamped to 0..100 %.
    pub fn humidity(&self, t_fine: i32, adc_h: i32) -> u32 {
        let mut v = t_fine - 76_800;
        v = ((((adc_h << 14) - (i32::from(self.h4) << 20) - (i32::from(self.h5) * v)) + 16_384)
            >> 15)
            * (((((((v * i32::from(self.h6)) >> 10)
                * (((v * i32::from(self.h3)) >> 11) + 32_768))
                >> 10)
                + 2_097_152)
                * i32::from(self.h2)
                + 8_192)
                >> 14);
        v -= ((((v >> 15) * (v >> 15)) >> 7) * i32::from(self.h1)) >> 4;
        (v.clamp(0, 419_430_400) >> 12) as u32
    }
}

/// One compensated measurement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measurement {
    /// °C.
    pub temperature: f32,
    /// %.
    pub relative_humidity: f32,
    /// hPa.
    pub pressure: f32,
}

pub struct Bme280<I2C> {
    i2c: I2C,
    address: u8,
    calibration: Calibration,
}

impl<I2C: I2c> Bme280<I2C> {
    /// Checks the chip id and reads the calibration.
    pub fn new(mut i2c: I2C, address: u8) -> Result<Self, Error<I2C::Error>> {
        let mut id = [0u8];
        i2c.write_read(address, &[REG_CHIP_ID], &mut id)
            .map_err(Error::Bus)?;
        if id[0] != CHIP_ID {
            return Err(Error::WrongChip(id[0]));
        }
        let mut low = [0u8; 26];
        let mut high = [0u8; 7];
        i2c.write_read(address, &[REG_CALIB_00], &mut low)
            .map_err(Error::Bus)?;
        i2c.write_read(address, &[REG_CALIB_26], &mut high)
            .map_err(Error::Bus)?;
        let calibration = Calibration::from_registers(&low, &high);
        if calibration.t1 == 0 || calibration.p1 == 0 {
            return Err(Error::BadCalibration);
        }
        Ok(Bme280 {
            i2c,
            address,
            calibration,
        })
    }

    pub fn calibration(&self) -> &Calibration {
        &self.calibration
    }

    pub fn release(self) -> I2C {
        self.i2c
    }

    /// Soft reset (power-on state; the calibration stays valid). Ready after 2 ms.
    pub fn reset(&mut self, delay: &mut impl DelayNs) -> Result<(), Error<I2C::Error>> {
        self.i2c
            .write(self.address, &[REG_RESET, RESET_WORD])
            .map_err(Error::Bus)?;
        delay.delay_us(2_000);
        Ok(())
    }

    /// One forced-mode measurement; the sensor sleeps again afterwards.
    pub fn measure(&mut self, delay: &mut impl DelayNs) -> Result<Measurement, Error<I2C::Error>> {
        self.i2c
            .write(self.address, &[REG_CTRL_HUM, CTRL_HUM_X1])
            .map_err(Error::Bus)?;
        self.i2c
            .write(self.address, &[REG_CTRL_MEAS, CTRL_MEAS_X1_FORCED])
            .map_err(Error::Bus)?;
        delay.delay_us(MEASUREMENT_US);
        let mut polls = 0;
        loop {
            let mut status = [0u8];
            self.i2c
                .write_read(self.address, &[REG_STATUS], &mut status)
                .map_err(Error::Bus)?;
            if status[0] & 0b1000 == 0 {
                break;
            }
            polls += 1;
            if polls == STATUS_POLLS {
                return Err(Error::Timeout);
            }
            delay.delay_us(1_000);
        }
        let mut data = [0u8; 8];
        self.i2c
            .write_read(self.address, &[REG_DATA], &mut data)
            .map_err(Error::Bus)?;
        let adc_p = i32::from(data[0]) << 12 | i32::from(data[1]) << 4 | i32::from(data[2]) >> 4;
        let adc_t = i32::from(data[3]) << 12 | i32::from(data[4]) << 4 | i32::from(data[5]) >> 4;
        let adc_h = i32::from(data[6]) << 8 | i32::from(data[7]);
        if adc_t == SKIPPED_20 || adc_p == SKIPPED_20 || adc_h == SKIPPED_16 {
            return Err(Error::NoData);
        }
        let (t_fine, centi_celsius) = self.calibration.temperature(adc_t);
        let pressure = self
            .calibration
            .pressure(t_fine, adc_p)
            .ok_or(Error::BadCalibration)?;
        let humidity = self.calibration.humidity(t_fine, adc_h);
        Ok(Measurement {
            temperature: centi_celsius as f32 / 100.0,
            relative_humidity: humidity as f32 / 1024.0,
            pressure: pressure as f32 / 25_600.0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_hal_mock::eh1::delay::{CheckedDelay, Transaction as Wait};
    use embedded_hal_mock::eh1::i2c::{Mock, Transaction};

    /// Calibration registers holding the datasheet's worked example (BMP280 datasheet 3.12,
    /// the same temperature and pressure compensation as the BME280) and, for humidity, the
    /// words of a real BME280: H1 75, H2 362, H3 0, H4 313, H5 50, H6 30.
    const LOW: [u8; 26] = [
        0x70, 0x6B, // T1 27504
        0x43, 0x67, // T2 26435
        0x18, 0xFC, // T3 -1000
        0x7D, 0x8E, // P1 36477
        0x43, 0xD6, // P2 -10685
        0xD0, 0x0B, // P3 3024
        0x27, 0x0B, // P4 2855
        0x8C, 0x00, // P5 140
        0xF9, 0xFF, // P6 -7
        0x8C, 0x3C, // P7 15500
        0xF8, 0xC6, // P8 -14600
        0x70, 0x17, // P9 6000
        0x00, // 0xA0, unused
        0x4B, // H1 75
    ];
    const HIGH: [u8; 7] = [0x6A, 0x01, 0x00, 0x13, 0x29, 0x03, 0x1E];
    /// adc_P 415148 (0x655AC), adc_T 519888 (0x7EED0), adc_H 28000 (0x6D60).
    const DATA: [u8; 8] = [0x65, 0x5A, 0xC0, 0x7E, 0xED, 0x00, 0x6D, 0x60];

    fn setup() -> Vec<Transaction> {
        vec![
            Transaction::write_read(0x76, vec![0xD0], vec![0x60]),
            Transaction::write_read(0x76, vec![0x88], LOW.to_vec()),
            Transaction::write_read(0x76, vec![0xE1], HIGH.to_vec()),
        ]
    }

    #[test]
    fn calibration_words_are_unpacked_as_the_datasheet_lays_them_out() {
        let c = Calibration::from_registers(&LOW, &HIGH);
        assert_eq!((c.t1, c.t2, c.t3), (27504, 26435, -1000));
        assert_eq!(
            [c.p2, c.p3, c.p4, c.p5, c.p6, c.p7, c.p8, c.p9],
            [-10685, 3024, 2855, 140, -7, 15500, -14600, 6000]
        );
        assert_eq!(c.p1, 36477);
        assert_eq!(
            (c.h1, c.h2, c.h3, c.h4, c.h5, c.h6),
            (75, 362, 0, 313, 50, 30)
        );
        // Negative 12-bit H4/H5 keep their sign.
        let c = Calibration::from_registers(&LOW, &[0, 0, 0, 0xFF, 0xFE, 0xFF, 0]);
        assert_eq!((c.h4, c.h5), (-2, -1));
    }

    #[test]
    fn the_datasheet_example_compensates_to_its_published_values() {
        let c = Calibration::from_registers(&LOW, &HIGH);
        let (t_fine, t) = c.temperature(519_888);
        // Datasheet: t_fine 128422, T = 25.08 °C; p = 100653.27 Pa (64-bit formula).
        assert_eq!(t_fine, 128_422);
        assert_eq!(t, 2508);
        let p = c.pressure(t_fine, 415_148).unwrap() as f64 / 256.0;
        assert!((p - 100_653.27).abs() < 0.5, "{p}");
    }

    #[test]
    fn integer_humidity_agrees_with_the_datasheet_floating_point_formula() {
        let c = Calibration::from_registers(&LOW, &HIGH);
        for (adc_t, adc_h) in [(519_888, 28_000), (480_000, 20_000), (560_000, 34_000)] {
            let (t_fine, _) = c.temperature(adc_t);
            let integer = c.humidity(t_fine, adc_h) as f64 / 1024.0;
            // Datasheet section 8.1, double precision.
            let mut h = f64::from(t_fine) - 76_800.0;
            h = (f64::from(adc_h) - (f64::from(c.h4) * 64.0 + f64::from(c.h5) / 16_384.0 * h))
                * (f64::from(c.h2) / 65_536.0
                    * (1.0
                        + f64::from(c.h6) / 67_108_864.0
                            * h
                            * (1.0 + f64::from(c.h3) / 67_108_864.0 * h)));
            h = (h * (1.0 - f64::from(c.h1) * h / 524_288.0)).clamp(0.0, 100.0);
            assert!((integer - h).abs() < 0.1, "{integer} vs {h}");
        }
        let (t_fine, _) = c.temperature(519_888);
        assert!((c.humidity(t_fine, 28_000) as f64 / 1024.0 - 43.86).abs() < 0.05);
    }

    #[test]
    fn forced_measurement_is_byte_exact() {
        let mut expectations = setup();
        expectations.extend([
            Transaction::write(0x76, vec![0xF2, 0x01]),
            Transaction::write(0x76, vec![0xF4, 0x25]),
            Transaction::write_read(0x76, vec![0xF3], vec![0x08]), // still measuring
            Transaction::write_read(0x76, vec![0xF3], vec![0x00]),
            Transaction::write_read(0x76, vec![0xF7], DATA.to_vec()),
        ]);
        let mut i2c = Mock::new(&expectations);
        let mut delay = CheckedDelay::new(&[Wait::delay_us(9_300), Wait::delay_us(1_000)]);
        let mut sensor = Bme280::new(i2c.clone(), DEFAULT_ADDRESS).unwrap();
        let m = sensor.measure(&mut delay).unwrap();
        assert_eq!(m.temperature, 25.08);
        assert!((m.pressure - 1006.5327).abs() < 0.01, "{}", m.pressure);
        assert!((m.relative_humidity - 43.86).abs() < 0.05);
        i2c.done();
        delay.done();
    }

    #[test]
    fn faults_are_typed() {
        // A BMP280 (no humidity) at the address.
        let mut i2c = Mock::new(&[Transaction::write_read(0x76, vec![0xD0], vec![0x58])]);
        assert!(matches!(
            Bme280::new(i2c.clone(), 0x76),
            Err(Error::WrongChip(0x58))
        ));
        i2c.done();

        // Data registers at their reset value: nothing was measured.
        let mut expectations = setup();
        expectations.extend([
            Transaction::write(0x76, vec![0xF2, 0x01]),
            Transaction::write(0x76, vec![0xF4, 0x25]),
            Transaction::write_read(0x76, vec![0xF3], vec![0x00]),
            Transaction::write_read(
                0x76,
                vec![0xF7],
                vec![0x80, 0x00, 0x00, 0x80, 0x00, 0x00, 0x80, 0x00],
            ),
        ]);
        let mut i2c = Mock::new(&expectations);
        let mut delay = CheckedDelay::new(&[Wait::delay_us(9_300)]);
        let mut sensor = Bme280::new(i2c.clone(), DEFAULT_ADDRESS).unwrap();
        assert_eq!(sensor.measure(&mut delay), Err(Error::NoData));
        i2c.done();
        delay.done();

        // Stuck in `measuring`.
        let mut expectations = setup();
        expectations.extend([
            Transaction::write(0x76, vec![0xF2, 0x01]),
            Transaction::write(0x76, vec![0xF4, 0x25]),
        ]);
        expectations.extend((0..5).map(|_| Transaction::write_read(0x76, vec![0xF3], vec![0x09])));
        let mut i2c = Mock::new(&expectations);
        let mut waits = vec![Wait::delay_us(9_300)];
        waits.extend((0..4).map(|_| Wait::delay_us(1_000)));
        let mut delay = CheckedDelay::new(&waits);
        let mut sensor = Bme280::new(i2c.clone(), DEFAULT_ADDRESS).unwrap();
        assert_eq!(sensor.measure(&mut delay), Err(Error::Timeout));
        i2c.done();
        delay.done();
    }
}
