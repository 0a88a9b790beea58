//! Battery voltage through a resistor divider on an ADC channel.
//!
//! embedded-hal 1.0 has no ADC trait, so boards implement the one-method [`AdcChannel`] for
//! whatever their HAL offers. The monitor averages a few samples and scales by the reference
//! voltage, the resolution and the divider: `V_bat = raw V_ref / (2^bits - 1) (R_top +
//! R_bottom) / R_bottom`.

/// One ADC channel that returns raw conversion results.
pub trait AdcChannel {
    type Error;
    fn read_raw(&mut self) -> Result<u16, Self::Error>;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Error<E> {
    Adc(E),
    /// Reads zero: the divider is open or the battery disconnected.
    NoVoltage,
    /// Reads full scale: the divider is shorted or too small for this battery.
    Saturated,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Divider {
    /// ADC reference voltage in millivolts.
    pub reference_mv: u32,
    pub resolution_bits: u8,
    pub r_top_ohm: u32,
    pub r_bottom_ohm: u32,
    /// Samples averaged per reading, at least 1.
    pub samples: u8,
}

pub struct BatteryMonitor<A> {
    adc: A,
    divider: Divider,
}

impl<A: AdcChannel> BatteryMonitor<A> {
    pub fn new(adc: A, divider: Divider) -> Self {
        BatteryMonitor { adc, divider }
    }

    /// Battery voltage in millivolts, rounded.
    pub fn millivolts(&mut self) -> Result<u32, Error<A::Error>> {
        let d = self.divider;
        let full_scale = (1u32 << d.resolution_bits) - 1;
        let samples = u32::from(d.samples.max(1));
        let mut sum = 0u32;
        for _ in 0..samples {
            let raw = u32::from(self.adc.read_raw().map_err(Error::Adc)?);
            if raw == 0 {
                return Err(Error::NoVoltage);
            }
            if raw >= full_scale {
                return Err(Error::Saturated);
            }
            sum += raw;
        }
        let numerator = u64::from(sum)
            * u64::from(d.reference_mv)
            * (u64::from(d.r_top_ohm) + u64::from(d.r_bottom_ohm));
        let denominator = u64::from(samples) * u64::from(full_scale) * u64::from(d.r_bottom_ohm);
        Ok(((numerator + denominator / 2) / denominator) as u32)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Samples<'a>(&'a [Result<u16, &'static str>]);

    impl AdcChannel for Samples<'_> {
        type Error = &'static str;
        fn read_raw(&mut self) -> Result<u16, Self::Error> {
            let (first, rest) = self.0.split_first().expect("more samples than expected");
            self.0 = rest;
            *first
        }
    }

    const DIVIDER: Divider = Divider {
        reference_mv: 3_300,
        resolution_bits: 12,
        r_top_ohm: 100_000,
        r_bottom_ohm: 100_000,
        samples: 4,
    };

    #[test]
    fn averages_and_scales_through_the_divider() {
        // Mean raw 2234 -> 2234 * 3300 / 4095 = 1800.29 mV at the pin, x2 = 3600.6 mV.
        let samples = [Ok(2232), Ok(2236), Ok(2233), Ok(2235)];
        let mut monitor = BatteryMonitor::new(Samples(&samples), DIVIDER);
        assert_eq!(monitor.millivolts(), Ok(3601));
        // A 10-bit ADC, 2.5 V reference, 1 M / 330 k divider: raw 350 -> 3447.2 mV.
        let mut monitor = BatteryMonitor::new(
            Samples(&[Ok(350)]),
            Divider {
                reference_mv: 2_500,
                resolution_bits: 10,
                r_top_ohm: 1_000_000,
                r_bottom_ohm: 330_000,
                samples: 1,
            },
        );
        assert_eq!(monitor.millivolts(), Ok(3447));
    }

    #[test]
    fn faults_are_typed() {
        let mut m = BatteryMonitor::new(Samples(&[Ok(2000), Ok(0)]), DIVIDER);
        assert_eq!(m.millivolts(), Err(Error::NoVoltage));
        let mut m = BatteryMonitor::new(Samples(&[Ok(4095)]), DIVIDER);
        assert_eq!(m.millivolts(), Err(Error::Saturated));
        let mut m = BatteryMonitor::new(Samples(&[Err("conversion overrun")]), DIVIDER);
        assert_eq!(m.millivolts(), Err(Error::Adc("conversion overrun")));
    }
}
