//! DFRobot A02YYUW waterproof ultrasonic distance sensor over UART (9600 8N1).
//!
//! The sensor sends four-byte frames: header 0xFF, distance high byte, distance low byte, and a
//! checksum that is the low byte of the sum of the three bytes before it. The distance is in
//! millimetres; the datasheet range is 30 to 4500 mm. In "processed" output mode the sensor
//! sends a frame about every 100 ms, so the driver reads until it has one whole, valid frame.

use embedded_hal::delay::DelayNs;
use embedded_hal_nb::nb;
use embedded_hal_nb::serial::Read;

pub const HEADER: u8 = 0xFF;
pub const MIN_MM: u16 = 30;
pub const MAX_MM: u16 = 4500;

/// Bytes the driver reads before it gives up finding a header (a few frames' worth).
const MAX_BYTES: usize = 16;
/// Frames with a bad checksum the driver skips before it reports the fault.
const MAX_BAD_FRAMES: u8 = 3;
/// Polls of an empty receiver, 1 ms apart: longer than the sensor's 100 ms frame period.
const MAX_IDLE_POLLS: u32 = 300;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error<E> {
    Serial(E),
    /// No byte arrived in time: unpowered, disconnected or wrong baud rate.
    Timeout,
    /// Bytes arrived, but no frame header among them.
    NoFrame,
    /// Frames arrived, each with a wrong checksum.
    Checksum {
        received: u8,
        computed: u8,
    },
    /// A valid frame with a distance outside the sensor's range: no echo (nothing below the
    /// sensor, or something directly in front of it).
    OutOfRange(u16),
}

/// The checksum of a frame's first three bytes.
pub fn checksum(header: u8, high: u8, low: u8) -> u8 {
    header.wrapping_add(high).wrapping_add(low)
}

pub struct A02yyuw<S> {
    serial: S,
}

impl<S: Read<u8>> A02yyuw<S> {
    pub fn new(serial: S) -> Self {
        A02yyuw { serial }
    }

    pub fn release(self) -> S {
        self.serial
    }

    /// Reads the next valid frame and returns the distance in millimetres.
    pub fn distance_mm(&mut self, delay: &mut impl DelayNs) -> Result<u16, Error<S::Error>> {
        let mut bad_frames = 0;
        let mut skipped = 0;
        loop {
            let byte = self.next_byte(delay)?;
            if byte != HEADER {
                skipped += 1;
                if skipped >= MAX_BYTES {
                    return Err(Error::NoFrame);
                }
                continue;
            }
            let high = self.next_byte(delay)?;
            let low = self.next_byte(delay)?;
            let received = self.next_byte(delay)?;
            let computed = checksum(HEADER, high, low);
            if received != computed {
                bad_frames += 1;
                if bad_frames >= MAX_BAD_FRAMES {
                    return Err(Error::Checksum { received, computed });
                }
                continue;
            }
            let mm = u16::from_be_bytes([high, low]);
            return if (MIN_MM..=MAX_MM).contains(&mm) {
                Ok(mm)
            } else {
                Err(Error::OutOfRange(mm))
            };
        }
    }

    fn next_byte(&mut self, delay: &mut impl DelayNs) -> Result<u8, Error<S::Error>> {
        for _ in 0..MAX_IDLE_POLLS {
            match self.serial.read() {
                Ok(byte) => return Ok(byte),
                Err(nb::Error::WouldBlock) => delay.delay_ms(1),
                Err(nb::Error::Other(e)) => return Err(Error::Serial(e)),
            }
        }
        Err(Error::Timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use embedded_hal_mock::eh1::delay::NoopDelay;
    use embedded_hal_mock::eh1::serial::{Mock, Transaction};
    use embedded_hal_nb::serial::ErrorKind;

    #[test]
    fn reads_the_datasheet_frame_after_a_partial_one() {
        // DFRobot's example frame FF 07 A1 A7: 0x07A1 = 1953 mm, 0xFF + 0x07 + 0xA1 = 0x1A7.
        assert_eq!(checksum(0xFF, 0x07, 0xA1), 0xA7);
        let expectations = [
            Transaction::read_many([0xA1, 0xA7]), // tail of a frame the driver joined late
            Transaction::read_error(nb::Error::WouldBlock),
            Transaction::read_many([0xFF, 0x07, 0xA1, 0xA7]),
        ];
        let mut serial = Mock::new(&expectations);
        let mut sensor = A02yyuw::new(serial.clone());
        assert_eq!(sensor.distance_mm(&mut NoopDelay), Ok(1953));
        serial.done();
    }

    #[test]
    fn a_bad_checksum_is_skipped_then_reported() {
        let expectations = [
            Transaction::read_many([0xFF, 0x07, 0xA1, 0xA8]),
            Transaction::read_many([0xFF, 0x0B, 0xB8, 0xC2]), // 3000 mm, valid
        ];
        let mut serial = Mock::new(&expectations);
        let mut sensor = A02yyuw::new(serial.clone());
        assert_eq!(sensor.distance_mm(&mut NoopDelay), Ok(3000));
        serial.done();

        let bad = [0xFF, 0x07, 0xA1, 0x00];
        let expectations = [
            Transaction::read_many(bad),
            Transaction::read_many(bad),
            Transaction::read_many(bad),
        ];
        let mut serial = Mock::new(&expectations);
        let mut sensor = A02yyuw::new(serial.clone());
        assert_eq!(
            sensor.distance_mm(&mut NoopDelay),
            Err(Error::Checksum {
                received: 0x00,
                computed: 0xA7
            })
        );
        serial.done();
    }

    #[test]
    fn out_of_range_garbage_and_silence_are_faults() {
        // 0x0014 = 20 mm, below the 30 mm blind zone.
        let mut serial = Mock::new(&[Transaction::read_many([0xFF, 0x00, 0x14, 0x13])]);
        let mut sensor = A02yyuw::new(serial.clone());
        assert_eq!(
            sensor.distance_mm(&mut NoopDelay),
            Err(Error::OutOfRange(20))
        );
        serial.done();

        let mut serial = Mock::new(&[Transaction::read_many([0x55; 16])]);
        let mut sensor = A02yyuw::new(serial.clone());
        assert_eq!(sensor.distance_mm(&mut NoopDelay), Err(Error::NoFrame));
        serial.done();

        let silence: Vec<_> = (0..MAX_IDLE_POLLS)
            .map(|_| Transaction::read_error(nb::Error::WouldBlock))
            .collect();
        let mut serial = Mock::new(&silence);
        let mut sensor = A02yyuw::new(serial.clone());
        assert_eq!(sensor.distance_mm(&mut NoopDelay), Err(Error::Timeout));
        serial.done();

        let mut serial = Mock::new(&[Transaction::read_error(nb::Error::Other(
            ErrorKind::FrameFormat,
        ))]);
        let mut sensor = A02yyuw::new(serial.clone());
        assert_eq!(
            sensor.distance_mm(&mut NoopDelay),
            Err(Error::Serial(ErrorKind::FrameFormat))
        );
        serial.done();
    }
}
