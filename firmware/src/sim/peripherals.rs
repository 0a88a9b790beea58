//! Simulated sensor hardware: the firmware's drivers run unchanged against buses that answer
//! the way the real parts do, from values of the simulated world. A fault switch makes a part
//! misbehave the way real ones do (a corrupted CRC, a bad checksum, a flat battery reading).

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use embedded_hal::delay::DelayNs;
use embedded_hal::i2c::{self, Operation};
use embedded_hal_nb::nb;
use embedded_hal_nb::serial;

use crate::drivers::battery::AdcChannel;
use crate::drivers::bme280::Calibration;
use crate::drivers::sht4x::crc8;

/// Simulated time does not pass while a driver waits.
pub struct NoDelay;

impl DelayNs for NoDelay {
    fn delay_ns(&mut self, _ns: u32) {}
}

/// A value the world sets and the part reads, shared between them.
#[derive(Debug, Default)]
pub struct Wire<T>(Arc<Mutex<T>>);

impl<T> Clone for Wire<T> {
    fn clone(&self) -> Self {
        Wire(Arc::clone(&self.0))
    }
}

impl<T: Copy> Wire<T> {
    pub fn new(value: T) -> Self {
        Wire(Arc::new(Mutex::new(value)))
    }

    pub fn get(&self) -> T {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn set(&self, value: T) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = value;
    }
}

/// Faults a part should show on its next reading.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fault(pub bool);

/// An SHT4x: temperature (°C) and humidity (%) on the wire; with a fault, the humidity
/// word's CRC is wrong.
pub struct Sht4xPart {
    pub values: Wire<(f32, f32)>,
    pub fault: Wire<Fault>,
    command: u8,
}

impl Sht4xPart {
    pub fn new(values: Wire<(f32, f32)>, fault: Wire<Fault>) -> Self {
        Sht4xPart {
            values,
            fault,
            command: 0,
        }
    }

    fn response(&self) -> [u8; 6] {
        let (t, rh) = self.values.get();
        let ticks_t = (((t + 45.0) / 175.0) * 65535.0).round().clamp(0.0, 65535.0) as u16;
        let ticks_rh = (((rh + 6.0) / 125.0) * 65535.0).round().clamp(0.0, 65535.0) as u16;
        let [a, b] = ticks_t.to_be_bytes();
        let [c, d] = ticks_rh.to_be_bytes();
        let mut crc_rh = crc8(&[c, d]);
        if self.fault.get().0 {
            crc_rh ^= 0x5a;
        }
        [a, b, crc8(&[a, b]), c, d, crc_rh]
    }
}

impl i2c::ErrorType for Sht4xPart {
    type Error = i2c::ErrorKind;
}

impl i2c::I2c for Sht4xPart {
    fn transaction(
        &mut self,
        address: u8,
        operations: &mut [Operation<'_>],
    ) -> Result<(), Self::Error> {
        if address != crate::drivers::sht4x::DEFAULT_ADDRESS {
            return Err(i2c::ErrorKind::NoAcknowledge(
                i2c::NoAcknowledgeSource::Address,
            ));
        }
        for op in operations {
            match op {
                Operation::Write(bytes) => self.command = bytes.first().copied().unwrap_or(0),
                Operation::Read(buffer) => {
                    let response = self.response();
                    let n = buffer.len().min(6);
                    buffer[..n].copy_from_slice(&response[..n]);
                }
            }
        }
        Ok(())
    }
}

/// The calibration the simulated BME280 parts carry (the datasheet's example words).
pub const BME280_CALIBRATION: ([u8; 26], [u8; 7]) = (
    [
        0x70, 0x6B, 0x43, 0x67, 0x18, 0xFC, 0x7D, 0x8E, 0x43, 0xD6, 0xD0, 0x0B, 0x27, 0x0B, 0x8C,
        0x00, 0xF9, 0xFF, 0x8C, 0x3C, 0xF8, 0xC6, 0x70, 0x17, 0x00, 0x4B,
    ],
    [0x6A, 0x01, 0x00, 0x13, 0x29, 0x03, 0x1E],
);

/// A BME280: temperature (°C), humidity (%) and pressure (hPa) on the wire. The part turns
/// them into the raw ADC words its calibration maps back to those values (found by bisection,
/// since every compensation formula is monotonic in its ADC word).
pub struct Bme280Part {
    pub values: Wire<(f32, f32, f32)>,
    register: u8,
    calibration: Calibration,
}

impl Bme280Part {
    pub fn new(values: Wire<(f32, f32, f32)>) -> Self {
        Bme280Part {
            values,
            register: 0,
            calibration: Calibration::from_registers(&BME280_CALIBRATION.0, &BME280_CALIBRATION.1),
        }
    }

    fn registers(&self, start: u8, buffer: &mut [u8]) {
        let (low, high) = BME280_CALIBRATION;
        for (i, byte) in buffer.iter_mut().enumerate() {
            let register = start.wrapping_add(i as u8);
            *byte = match register {
                0xD0 => crate::drivers::bme280::CHIP_ID,
                0x88..=0xA1 => low[usize::from(register - 0x88)],
                0xE1..=0xE7 => high[usize::from(register - 0xE1)],
                0xF3 => 0, // never busy
                0xF7..=0xFE => self.data()[usize::from(register - 0xF7)],
                _ => 0,
            };
        }
    }

    fn data(&self) -> [u8; 8] {
        let (t, rh, hpa) = self.values.get();
        let c = &self.calibration;
        let adc_t = bisect(0, 1 << 20, |adc| c.temperature(adc).1 as f32 / 100.0 >= t);
        let t_fine = c.temperature(adc_t).0;
        // Pressure falls as its ADC word rises.
        let adc_p = bisect(0, 1 << 20, |adc| {
            c.pressure(t_fine, adc).unwrap_or(0) as f32 / 25_600.0 <= hpa
        });
        let adc_h = bisect(0, 1 << 16, |adc| {
            c.humidity(t_fine, adc) as f32 / 1024.0 >= rh
        });
        [
            (adc_p >> 12) as u8,
            (adc_p >> 4) as u8,
            ((adc_p & 0xF) << 4) as u8,
            (adc_t >> 12) as u8,
            (adc_t >> 4) as u8,
            ((adc_t & 0xF) << 4) as u8,
            (adc_h >> 8) as u8,
            adc_h as u8,
        ]
    }
}

/// The smallest value in `low..high` for which `reached` holds (`high - 1` if none).
fn bisect(mut low: i32, high: i32, reached: impl Fn(i32) -> bool) -> i32 {
    let last = high - 1;
    let mut high = high;
    while low < high {
        let mid = low + (high - low) / 2;
        if reached(mid) {
            high = mid;
        } else {
            low = mid + 1;
        }
    }
    low.min(last)
}

impl i2c::ErrorType for Bme280Part {
    type Error = i2c::ErrorKind;
}

impl i2c::I2c for Bme280Part {
    fn transaction(
        &mut self,
        _address: u8,
        operations: &mut [Operation<'_>],
    ) -> Result<(), Self::Error> {
        for op in operations {
            match op {
                Operation::Write(bytes) => self.register = bytes.first().copied().unwrap_or(0),
                Operation::Read(buffer) => self.registers(self.register, buffer),
            }
        }
        Ok(())
    }
}

/// An A02YYUW: the distance (mm) on the wire; with a fault, every frame's checksum is wrong.
pub struct A02yyuwPart {
    pub distance_mm: Wire<u16>,
    pub fault: Wire<Fault>,
    frame: [u8; 4],
    position: usize,
}

impl A02yyuwPart {
    pub fn new(distance_mm: Wire<u16>, fault: Wire<Fault>) -> Self {
        A02yyuwPart {
            distance_mm,
            fault,
            frame: [0; 4],
            position: 4,
        }
    }
}

impl serial::ErrorType for A02yyuwPart {
    type Error = Infallible;
}

impl serial::Read<u8> for A02yyuwPart {
    fn read(&mut self) -> nb::Result<u8, Infallible> {
        if self.position == 4 {
            let [high, low] = self.distance_mm.get().to_be_bytes();
            let mut sum = crate::drivers::a02yyuw::checksum(0xFF, high, low);
            if self.fault.get().0 {
                sum = sum.wrapping_add(1);
            }
            self.frame = [0xFF, high, low, sum];
            self.position = 0;
        }
        let byte = self.frame[self.position];
        self.position += 1;
        Ok(byte)
    }
}

/// A 12-bit ADC behind a 1:1 divider with a 3.3 V reference: battery volts on the wire.
pub struct BatteryAdc {
    pub volts: Wire<f32>,
}

pub const BATTERY_DIVIDER: crate::drivers::battery::Divider = crate::drivers::battery::Divider {
    reference_mv: 3_300,
    resolution_bits: 12,
    r_top_ohm: 100_000,
    r_bottom_ohm: 100_000,
    samples: 4,
};

impl AdcChannel for BatteryAdc {
    type Error = Infallible;
    fn read_raw(&mut self) -> Result<u16, Infallible> {
        let pin_mv = self.volts.get() * 1000.0 / 2.0;
        Ok((pin_mv / 3300.0 * 4095.0).round().clamp(0.0, 4095.0) as u16)
    }
}

/// An SCD4x: CO2 (ppm), temperature (°C) and humidity (%) on the wire; with a fault, the
/// CO2 word's CRC is wrong.
pub struct Scd4xPart {
    pub values: Wire<(u16, f32, f32)>,
    pub fault: Wire<Fault>,
}

impl i2c::ErrorType for Scd4xPart {
    type Error = i2c::ErrorKind;
}

impl i2c::I2c for Scd4xPart {
    fn transaction(
        &mut self,
        address: u8,
        operations: &mut [Operation<'_>],
    ) -> Result<(), Self::Error> {
        if address != crate::drivers::scd4x::DEFAULT_ADDRESS {
            return Err(i2c::ErrorKind::NoAcknowledge(
                i2c::NoAcknowledgeSource::Address,
            ));
        }
        for op in operations {
            if let Operation::Read(buffer) = op {
                let (co2, t, rh) = self.values.get();
                let mut response = crate::drivers::scd4x::encode(co2, t, rh);
                if self.fault.get().0 {
                    response[2] ^= 0x5a;
                }
                let n = buffer.len().min(9);
                buffer[..n].copy_from_slice(&response[..n]);
            }
        }
        Ok(())
    }
}

/// A soil-moisture probe's ADC input: 10 bits, 520 in dry air, 260 in water (DFRobot SEN0193).
pub struct SoilAdc {
    /// Moisture in percent the world sets.
    pub percent: Wire<f32>,
}

pub const SOIL_CALIBRATION: crate::drivers::soil::Calibration = crate::drivers::soil::Calibration {
    dry_raw: 520,
    wet_raw: 260,
};

impl AdcChannel for SoilAdc {
    type Error = Infallible;
    fn read_raw(&mut self) -> Result<u16, Infallible> {
        let c = SOIL_CALIBRATION;
        let span = f32::from(c.dry_raw) - f32::from(c.wet_raw);
        Ok((f32::from(c.dry_raw) - self.percent.get() / 100.0 * span).round() as u16)
    }
}

/// A pulse input the world adds pulses to and the counter driver takes them from.
pub struct PulseWire(pub Wire<u32>);

impl crate::drivers::counter::PulseInput for PulseWire {
    type Error = Infallible;
    fn take(&mut self) -> Result<u32, Infallible> {
        let n = self.0.get();
        self.0.set(0);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drivers::{a02yyuw::A02yyuw, battery::BatteryMonitor, bme280::Bme280, sht4x};

    #[test]
    fn the_drivers_read_back_what_the_world_set() {
        let values = Wire::new((12.3f32, 67.8f32));
        let fault = Wire::new(Fault(false));
        let mut sht = sht4x::Sht4x::new(
            Sht4xPart::new(values.clone(), fault.clone()),
            sht4x::DEFAULT_ADDRESS,
        );
        let m = sht.measure(sht4x::Precision::High, &mut NoDelay).unwrap();
        assert!((m.temperature - 12.3).abs() < 0.01 && (m.relative_humidity - 67.8).abs() < 0.01);
        fault.set(Fault(true));
        assert!(matches!(
            sht.measure(sht4x::Precision::High, &mut NoDelay),
            Err(sht4x::Error::Crc { .. })
        ));

        let weather = Wire::new((8.7f32, 91.0f32, 1003.4f32));
        let mut bme = Bme280::new(Bme280Part::new(weather.clone()), 0x76).unwrap();
        let m = bme.measure(&mut NoDelay).unwrap();
        assert!((m.temperature - 8.7).abs() < 0.011, "{m:?}");
        assert!((m.pressure - 1003.4).abs() < 0.01, "{m:?}");
        assert!((m.relative_humidity - 91.0).abs() < 0.01, "{m:?}");

        let distance = Wire::new(2_345u16);
        let fault = Wire::new(Fault(false));
        let mut gauge = A02yyuw::new(A02yyuwPart::new(distance.clone(), fault.clone()));
        assert_eq!(gauge.distance_mm(&mut NoDelay), Ok(2_345));
        fault.set(Fault(true));
        assert!(matches!(
            gauge.distance_mm(&mut NoDelay),
            Err(crate::drivers::a02yyuw::Error::Checksum { .. })
        ));

        let volts = Wire::new(3.61f32);
        let mut battery = BatteryMonitor::new(BatteryAdc { volts }, BATTERY_DIVIDER);
        let mv = battery.millivolts().unwrap();
        assert!((3_609..=3_611).contains(&mv), "{mv}");
    }
}
