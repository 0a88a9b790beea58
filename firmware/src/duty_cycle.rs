//! The EU868 duty-cycle budget: after sending for `T` on a sub-band with duty cycle `d`, the
//! node stays silent on that sub-band for `T (1/d - 1)`, so that it never exceeds `d` of any
//! window (ETSI EN 300 220's off-time rule). LoRaWAN's default channels sit in sub-bands with
//! 1 %; 869.4-869.65 MHz allows 10 %.

/// The EU868 sub-bands a LoRaWAN node uses, with their duty cycle in per mille.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubBand {
    /// 863.0-865.0 MHz, 0.1 %.
    G,
    /// 865.0-868.0 MHz, 1 % (867.1-867.9 MHz channels).
    G1,
    /// 868.0-868.6 MHz, 1 % (the three default channels).
    G2,
    /// 868.7-869.2 MHz, 0.1 %.
    G3,
    /// 869.4-869.65 MHz, 10 % (RX2).
    G4,
    /// 869.7-870.0 MHz, 1 %.
    G5,
}

impl SubBand {
    const ALL: [SubBand; 6] = [
        SubBand::G,
        SubBand::G1,
        SubBand::G2,
        SubBand::G3,
        SubBand::G4,
        SubBand::G5,
    ];

    /// The sub-band of a frequency in Hz, if it is inside EU868.
    pub fn of(frequency_hz: u32) -> Option<SubBand> {
        Some(match frequency_hz {
            863_000_000..=864_999_999 => SubBand::G,
            865_000_000..=867_999_999 => SubBand::G1,
            868_000_000..=868_599_999 => SubBand::G2,
            868_700_000..=869_199_999 => SubBand::G3,
            869_400_000..=869_649_999 => SubBand::G4,
            869_700_000..=869_999_999 => SubBand::G5,
            _ => return None,
        })
    }

    pub fn per_mille(self) -> u64 {
        match self {
            SubBand::G | SubBand::G3 => 1,
            SubBand::G1 | SubBand::G2 | SubBand::G5 => 10,
            SubBand::G4 => 100,
        }
    }

    fn index(self) -> usize {
        SubBand::ALL.iter().position(|b| *b == self).unwrap_or(0)
    }
}

/// When each sub-band may be used again, in milliseconds of the node's clock.
#[derive(Debug, Clone, Default)]
pub struct DutyCycle {
    free_at_ms: [u64; 6],
}

impl DutyCycle {
    /// Whether a transmission on `frequency_hz` is allowed at `now_ms`.
    pub fn can_send(&self, frequency_hz: u32, now_ms: u64) -> bool {
        SubBand::of(frequency_hz).is_some_and(|b| now_ms >= self.free_at_ms[b.index()])
    }

    /// When the sub-band of `frequency_hz` is free again (`None` outside EU868).
    pub fn free_at_ms(&self, frequency_hz: u32) -> Option<u64> {
        SubBand::of(frequency_hz).map(|b| self.free_at_ms[b.index()])
    }

    /// Books a transmission of `airtime_us` that started at `now_ms`.
    pub fn record(&mut self, frequency_hz: u32, now_ms: u64, airtime_us: u64) {
        if let Some(band) = SubBand::of(frequency_hz) {
            let airtime_ms = airtime_us.div_ceil(1_000);
            // Off time T (1/d - 1), with d in per mille: T (1000 - d) / d.
            let off_ms = (airtime_ms * (1_000 - band.per_mille())).div_ceil(band.per_mille());
            self.free_at_ms[band.index()] = now_ms + airtime_ms + off_ms;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::airtime::LoraSettings;

    #[test]
    fn one_percent_means_ninety_nine_times_the_airtime_off() {
        let airtime = LoraSettings::eu868_uplink(12).time_on_air_us(23); // 1482.752 ms
        let mut dc = DutyCycle::default();
        assert!(dc.can_send(868_100_000, 0));
        dc.record(868_100_000, 0, airtime);
        // 1483 ms on air, then 99 x 1483 ms off: free again after 148.3 s.
        assert_eq!(dc.free_at_ms(868_100_000), Some(148_300));
        assert!(!dc.can_send(868_500_000, 148_299), "same sub-band");
        assert!(dc.can_send(868_500_000, 148_300));
        assert!(dc.can_send(867_100_000, 1), "another sub-band is free");
        assert!(!dc.can_send(915_000_000, 0), "outside EU868");
    }

    #[test]
    fn rx2_sub_band_allows_ten_percent() {
        let mut dc = DutyCycle::default();
        dc.record(869_525_000, 1_000, 100_000); // 100 ms at 10 %: 900 ms off
        assert_eq!(dc.free_at_ms(869_525_000), Some(2_000));
    }
}
