//! LoRa time on air, from Semtech's formula (AN1200.13, SX1272/76 datasheets).
//!
//! `T_sym = 2^SF / BW`; the preamble lasts `n_preamble + 4.25` symbols; the payload
//! `8 + max(ceil((8 PL - 4 SF + 28 + 16 CRC - 20 IH) / (4 (SF - 2 DE))) (CR + 4), 0)` symbols,
//! where `PL` is the PHY payload length, `IH` 1 for an implicit header, `DE` 1 with low data rate
//! optimisation and `CR` 1 for coding rate 4/5. Integer microseconds throughout (no floats on
//! the node); every LoRaWAN setting gives whole microseconds.

/// Radio settings that decide the time on air.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoraSettings {
    /// Spreading factor, 7 to 12.
    pub spreading_factor: u8,
    /// Bandwidth in Hz.
    pub bandwidth_hz: u32,
    /// Coding rate 4/(4 + n): 1 for 4/5 ... 4 for 4/8.
    pub coding_rate: u8,
    pub preamble_symbols: u16,
    pub explicit_header: bool,
    pub crc: bool,
    /// Low data rate optimisation; LoRaWAN uses it at SF11 and SF12 on 125 kHz.
    pub low_data_rate_optimize: bool,
}

impl LoraSettings {
    /// LoRaWAN uplink settings in EU868 at `spreading_factor` on 125 kHz.
    pub const fn eu868_uplink(spreading_factor: u8) -> Self {
        LoraSettings {
            spreading_factor,
            bandwidth_hz: 125_000,
            coding_rate: 1,
            preamble_symbols: 8,
            explicit_header: true,
            crc: true,
            low_data_rate_optimize: spreading_factor >= 11,
        }
    }

    /// Time on air of a PHY payload of `payload_len` bytes, in microseconds.
    pub fn time_on_air_us(&self, payload_len: usize) -> u64 {
        let sf = i64::from(self.spreading_factor);
        // Symbol time in ns keeps 2^SF / BW exact for every LoRaWAN bandwidth.
        let symbol_ns =
            (1u64 << self.spreading_factor) * 1_000_000_000 / u64::from(self.bandwidth_hz);
        let preamble_ns = (u64::from(self.preamble_symbols) * 4 + 17) * symbol_ns / 4;
        let numerator = 8 * payload_len as i64 - 4 * sf + 28 + 16 * i64::from(self.crc)
            - 20 * i64::from(!self.explicit_header);
        let denominator = 4 * (sf - 2 * i64::from(self.low_data_rate_optimize));
        let blocks = if numerator > 0 {
            (numerator + denominator - 1) / denominator
        } else {
            0
        };
        let payload_symbols = 8 + blocks as u64 * (u64::from(self.coding_rate) + 4);
        (preamble_ns + payload_symbols * symbol_ns) / 1_000
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values (BW 125 kHz, CR 4/5, preamble 8, explicit header, CRC on, LDRO at
    /// SF11/12), to be met within 0.1 ms.
    #[test]
    fn matches_the_reference_values() {
        let cases = [
            (7, 13, 46_336),
            (7, 23, 61_696),
            (9, 23, 205_824),
            (12, 23, 1_482_752),
            (12, 51, 2_465_792),
        ];
        for (sf, len, expected_us) in cases {
            let got = LoraSettings::eu868_uplink(sf).time_on_air_us(len);
            assert!(
                got.abs_diff(expected_us) <= 100,
                "SF{sf} {len} B: {got} µs, expected {expected_us} µs"
            );
        }
    }

    #[test]
    fn longer_payloads_and_higher_spreading_factors_take_longer() {
        let sf7 = LoraSettings::eu868_uplink(7);
        assert!(sf7.time_on_air_us(51) > sf7.time_on_air_us(13));
        assert!(LoraSettings::eu868_uplink(8).time_on_air_us(13) > sf7.time_on_air_us(13));
        // Empty payload: the 16 CRC bits still take one block of 5 symbols: 12.25 + 13 symbols.
        assert_eq!(sf7.time_on_air_us(0), 12_544 + 13 * 1_024);
    }
}
