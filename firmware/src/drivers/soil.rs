//! A capacitive soil-moisture probe (such as DFRobot's SEN0193) on an ADC channel. Its output
//! falls as the soil gets wetter; two calibration readings, the probe in dry air and in water,
//! turn a reading into percent between them (a relative moisture, 0 % dry, 100 % saturated).

use super::battery::AdcChannel;

/// Raw ADC readings of the probe in dry air and in water.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Calibration {
    pub dry_raw: u16,
    pub wet_raw: u16,
}

pub struct SoilProbe<A> {
    adc: A,
    calibration: Calibration,
}

impl<A: AdcChannel> SoilProbe<A> {
    pub fn new(adc: A, calibration: Calibration) -> Self {
        SoilProbe { adc, calibration }
    }

    /// The moisture in percent, 0 to 100.
    pub fn moisture_percent(&mut self) -> Result<f32, A::Error> {
        let raw = self.adc.read_raw()?;
        Ok(percent(self.calibration, raw))
    }
}

/// Where `raw` lies between the calibration points, in percent, clamped to 0..100.
pub fn percent(c: Calibration, raw: u16) -> f32 {
    let span = f32::from(c.dry_raw) - f32::from(c.wet_raw);
    if span <= 0.0 {
        return 0.0;
    }
    ((f32::from(c.dry_raw) - f32::from(raw)) / span * 100.0).clamp(0.0, 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// DFRobot's wiki for the SEN0193 gives about 520 in air and 260 in water on a 10-bit ADC.
    const SEN0193: Calibration = Calibration {
        dry_raw: 520,
        wet_raw: 260,
    };

    #[test]
    fn readings_between_air_and_water_are_percent() {
        assert_eq!(percent(SEN0193, 520), 0.0);
        assert_eq!(percent(SEN0193, 260), 100.0);
        assert_eq!(percent(SEN0193, 390), 50.0);
        // Outside the calibration (drier than air, wetter than water) it stays in range.
        assert_eq!(percent(SEN0193, 600), 0.0);
        assert_eq!(percent(SEN0193, 100), 100.0);
    }
}
