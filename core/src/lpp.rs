//! Cayenne Low Power Payload (LPP): decoder and encoder.
//!
//! An LPP payload is a run of items, each `[channel][type][data]`, where the type is the IPSO
//! object id minus 3200 and the data is big-endian with a fixed size and resolution per type.
//! The decoder validates the whole item before yielding it, so a truncated payload yields an
//! error instead of a half-read value. Both sides work on borrowed bytes and allocate nothing.

use core::fmt;

/// Largest number of values one item carries (accelerometer and gyrometer: x, y, z).
pub const MAX_VALUES: usize = 3;

/// The data types of Cayenne LPP, with the common extensions (voltage, distance, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LppType {
    DigitalInput,
    DigitalOutput,
    AnalogInput,
    AnalogOutput,
    GenericSensor,
    Illuminance,
    Presence,
    Temperature,
    Humidity,
    Accelerometer,
    Barometer,
    Voltage,
    Current,
    Frequency,
    Percentage,
    Altitude,
    Concentration,
    Power,
    Distance,
    Energy,
    Direction,
    Gyrometer,
    Gps,
}

/// How one type is laid out on the wire.
#[derive(Debug, Clone, Copy)]
struct Layout {
    id: u8,
    /// Bytes per value.
    width: usize,
    /// Number of values.
    count: usize,
    /// Value = raw integer / divisor (every LPP resolution is 1/n; dividing by n keeps
    /// 5302 mm as 5.302 m instead of 5.3020000000000005).
    divisor: f64,
    signed: bool,
    /// Quantity names of the vocabulary, one per value.
    quantities: [&'static str; MAX_VALUES],
}

const fn layout(
    id: u8,
    width: usize,
    divisor: f64,
    signed: bool,
    quantity: &'static str,
) -> Layout {
    Layout {
        id,
        width,
        count: 1,
        divisor,
        signed,
        quantities: [quantity, "", ""],
    }
}

const fn triple(id: u8, divisor: f64, quantity: [&'static str; 3]) -> Layout {
    Layout {
        id,
        width: 2,
        count: 3,
        divisor,
        signed: true,
        quantities: quantity,
    }
}

impl LppType {
    const ALL: [LppType; 23] = [
        LppType::DigitalInput,
        LppType::DigitalOutput,
        LppType::AnalogInput,
        LppType::AnalogOutput,
        LppType::GenericSensor,
        LppType::Illuminance,
        LppType::Presence,
        LppType::Temperature,
        LppType::Humidity,
        LppType::Accelerometer,
        LppType::Barometer,
        LppType::Voltage,
        LppType::Current,
        LppType::Frequency,
        LppType::Percentage,
        LppType::Altitude,
        LppType::Concentration,
        LppType::Power,
        LppType::Distance,
        LppType::Energy,
        LppType::Direction,
        LppType::Gyrometer,
        LppType::Gps,
    ];

    fn layout(self) -> Layout {
        match self {
            LppType::DigitalInput => layout(0, 1, 1.0, false, "digital_input"),
            LppType::DigitalOutput => layout(1, 1, 1.0, false, "digital_output"),
            LppType::AnalogInput => layout(2, 2, 100.0, true, "analog_input"),
            LppType::AnalogOutput => layout(3, 2, 100.0, true, "analog_output"),
            LppType::GenericSensor => layout(100, 4, 1.0, false, "count"),
            LppType::Illuminance => layout(101, 2, 1.0, false, "illuminance"),
            LppType::Presence => layout(102, 1, 1.0, false, "presence"),
            LppType::Temperature => layout(103, 2, 10.0, true, "air_temperature"),
            LppType::Humidity => layout(104, 1, 2.0, false, "relative_humidity"),
            LppType::Accelerometer => triple(
                113,
                1000.0,
                ["acceleration_x", "acceleration_y", "acceleration_z"],
            ),
            LppType::Barometer => layout(115, 2, 10.0, false, "air_pressure"),
            LppType::Voltage => layout(116, 2, 100.0, false, "voltage"),
            LppType::Current => layout(117, 2, 1000.0, false, "current"),
            LppType::Frequency => layout(118, 4, 1.0, false, "frequency"),
            LppType::Percentage => layout(120, 1, 1.0, false, "percentage"),
            LppType::Altitude => layout(121, 2, 1.0, true, "altitude"),
            LppType::Concentration => layout(125, 2, 1.0, false, "concentration"),
            LppType::Power => layout(128, 2, 1.0, false, "power"),
            LppType::Distance => layout(130, 4, 1000.0, false, "distance"),
            LppType::Energy => layout(131, 4, 1000.0, false, "energy"),
            LppType::Direction => layout(132, 2, 1.0, false, "direction"),
            LppType::Gyrometer => triple(
                134,
                100.0,
                ["angular_rate_x", "angular_rate_y", "angular_rate_z"],
            ),
            // GPS: latitude and longitude in 3 bytes at 0.0001°, altitude in 3 bytes at 0.01 m.
            LppType::Gps => Layout {
                id: 136,
                width: 3,
                count: 3,
                divisor: 10_000.0,
                signed: true,
                quantities: ["latitude", "longitude", "altitude"],
            },
        }
    }

    /// The type with this LPP id, if we know it.
    pub fn from_id(id: u8) -> Option<LppType> {
        Self::ALL.into_iter().find(|t| t.layout().id == id)
    }

    pub fn id(self) -> u8 {
        self.layout().id
    }

    /// Bytes of data after the channel and type bytes.
    pub fn data_size(self) -> usize {
        let layout = self.layout();
        layout.width * layout.count
    }

    /// The vocabulary quantity of value `index` of this type.
    pub fn quantity(self, index: usize) -> &'static str {
        self.layout().quantities[index]
    }

    fn divisor(self, index: usize) -> f64 {
        match (self, index) {
            (LppType::Gps, 2) => 100.0,
            _ => self.layout().divisor,
        }
    }
}

/// One decoded LPP item.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LppItem {
    pub channel: u8,
    pub kind: LppType,
    values: [f64; MAX_VALUES],
    len: usize,
}

impl LppItem {
    /// The item's values in wire order (one for scalars, three for vectors and GPS).
    pub fn values(&self) -> &[f64] {
        &self.values[..self.len]
    }

    /// Pairs of (vocabulary quantity, value).
    pub fn quantities(&self) -> impl Iterator<Item = (&'static str, f64)> + '_ {
        self.values()
            .iter()
            .enumerate()
            .map(|(i, v)| (self.kind.quantity(i), *v))
    }
}

/// Why an LPP payload could not be decoded or encoded. Offsets are byte positions in the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LppError {
    /// The type byte at `offset` is not an LPP type we know.
    UnknownType { offset: usize, type_id: u8 },
    /// The item starting at `offset` needs `needed` bytes but only `available` remain.
    Truncated {
        offset: usize,
        needed: usize,
        available: usize,
    },
    /// An encoded value does not fit its type's range.
    OutOfRange,
    /// The output buffer is too small.
    BufferFull,
}

impl fmt::Display for LppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LppError::UnknownType { offset, type_id } => {
                write!(f, "unknown LPP type {type_id} at byte {offset}")
            }
            LppError::Truncated {
                offset,
                needed,
                available,
            } => write!(
                f,
                "LPP item at byte {offset} needs {needed} bytes, only {available} left"
            ),
            LppError::OutOfRange => f.write_str("value out of range for its LPP type"),
            LppError::BufferFull => f.write_str("LPP buffer full"),
        }
    }
}

#[cfg(any(test, feature = "std"))]
impl std::error::Error for LppError {}

/// Iterates over the items of a payload. After the first error it yields nothing more.
pub fn decode(payload: &[u8]) -> LppItems<'_> {
    LppItems {
        payload,
        offset: 0,
        failed: false,
    }
}

pub struct LppItems<'a> {
    payload: &'a [u8],
    offset: usize,
    failed: bool,
}

impl Iterator for LppItems<'_> {
    type Item = Result<LppItem, LppError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.offset >= self.payload.len() {
            return None;
        }
        let result = self.read_item();
        self.failed = result.is_err();
        Some(result)
    }
}

impl LppItems<'_> {
    fn read_item(&mut self) -> Result<LppItem, LppError> {
        let offset = self.offset;
        let rest = &self.payload[offset..];
        if rest.len() < 2 {
            return Err(LppError::Truncated {
                offset,
                needed: 2,
                available: rest.len(),
            });
        }
        let kind = LppType::from_id(rest[1]).ok_or(LppError::UnknownType {
            offset: offset + 1,
            type_id: rest[1],
        })?;
        let layout = kind.layout();
        let needed = 2 + kind.data_size();
        if rest.len() < needed {
            return Err(LppError::Truncated {
                offset,
                needed,
                available: rest.len(),
            });
        }
        let mut values = [0.0; MAX_VALUES];
        for (i, chunk) in rest[2..needed].chunks_exact(layout.width).enumerate() {
            values[i] = read_int(chunk, layout.signed) as f64 / kind.divisor(i);
        }
        self.offset += needed;
        Ok(LppItem {
            channel: rest[0],
            kind,
            values,
            len: layout.count,
        })
    }
}

/// Reads a big-endian integer of 1 to 4 bytes, sign-extending when `signed`.
fn read_int(bytes: &[u8], signed: bool) -> i64 {
    let raw = bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
    let bits = 8 * bytes.len() as u32;
    if signed && raw >> (bits - 1) == 1 {
        raw as i64 - (1i64 << bits)
    } else {
        raw as i64
    }
}

/// Writes LPP items into a caller's buffer, as a node does before sending.
pub struct LppWriter<'a> {
    buffer: &'a mut [u8],
    len: usize,
}

impl<'a> LppWriter<'a> {
    pub fn new(buffer: &'a mut [u8]) -> Self {
        LppWriter { buffer, len: 0 }
    }

    /// Appends one item. `values` must hold as many values as the type carries.
    /// Values are rounded to the type's resolution.
    pub fn push(&mut self, channel: u8, kind: LppType, values: &[f64]) -> Result<(), LppError> {
        let layout = kind.layout();
        if values.len() != layout.count {
            return Err(LppError::OutOfRange);
        }
        let needed = 2 + kind.data_size();
        if self.buffer.len() - self.len < needed {
            return Err(LppError::BufferFull);
        }
        let bits = 8 * layout.width as u32;
        let (min, max) = if layout.signed {
            (-(1i64 << (bits - 1)), (1i64 << (bits - 1)) - 1)
        } else {
            (0, (1i64 << bits) - 1)
        };
        let mut raws = [0i64; MAX_VALUES];
        for (i, value) in values.iter().enumerate() {
            let scaled = value * kind.divisor(i);
            if !scaled.is_finite() {
                return Err(LppError::OutOfRange);
            }
            let raw = round_half_away(scaled);
            if raw < min || raw > max {
                return Err(LppError::OutOfRange);
            }
            raws[i] = raw;
        }
        let out = &mut self.buffer[self.len..self.len + needed];
        out[0] = channel;
        out[1] = layout.id;
        for (i, raw) in raws[..layout.count].iter().enumerate() {
            let field = &mut out[2 + i * layout.width..2 + (i + 1) * layout.width];
            let bytes = (*raw as u64).to_be_bytes();
            field.copy_from_slice(&bytes[8 - layout.width..]);
        }
        self.len += needed;
        Ok(())
    }

    /// The bytes written so far.
    pub fn payload(&self) -> &[u8] {
        &self.buffer[..self.len]
    }
}

/// Rounds to the nearest integer, halves away from zero, without `std` float functions.
fn round_half_away(x: f64) -> i64 {
    if x >= 0.0 {
        (x + 0.5) as i64
    } else {
        (x - 0.5) as i64
    }
}

#[cfg(test)]
mod tests;
