//! A small simulated world: diurnal temperatures, humidity that falls as it warms, slowly
//! wandering pressure, semi-diurnal tides, draining batteries, and now and then a noisy reading.

use std::f64::consts::TAU;

const HOUR_MS: f64 = 3_600_000.0;
/// Principal lunar semi-diurnal tide (M2), 12.42 hours.
const TIDE_PERIOD_MS: f64 = 12.42 * HOUR_MS;

/// xorshift64*: small, fast and good enough for sensor noise; seeded for repeatable runs.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in [-amplitude, amplitude).
    pub fn noise(&mut self, amplitude: f64) -> f64 {
        (self.unit() * 2.0 - 1.0) * amplitude
    }
}

pub struct Environment {
    rng: Rng,
}

impl Environment {
    pub fn new(seed: u64) -> Self {
        Environment {
            rng: Rng::new(seed),
        }
    }

    /// Hours since midnight UTC as a fraction of the day.
    fn day_phase(now_ms: i64) -> f64 {
        (now_ms as f64 / (24.0 * HOUR_MS)).fract()
    }

    /// Coldest before dawn, warmest mid-afternoon (about 14:00 local, 13:00 UTC).
    pub fn air_temperature(&mut self, node: usize, now_ms: i64) -> f64 {
        let phase = Self::day_phase(now_ms);
        let diurnal = 4.0 * (TAU * (phase - 13.0 / 24.0)).cos();
        10.0 + diurnal + 0.3 * node as f64 % 1.5 + self.rng.noise(0.2)
    }

    pub fn relative_humidity(&mut self, node: usize, now_ms: i64) -> f64 {
        let warmth = self.air_temperature(node, now_ms) - 10.0;
        (80.0 - 3.0 * warmth + self.rng.noise(1.0)).clamp(30.0, 100.0)
    }

    pub fn air_pressure(&mut self, now_ms: i64) -> f64 {
        1013.0 + 6.0 * (TAU * now_ms as f64 / (96.0 * HOUR_MS)).sin() + self.rng.noise(0.1)
    }

    /// A gauge mounted 3 m above mean water (so that low tide stays within the A02YYUW's
    /// 4.5 m); tides of ±1.4 m; one reading in 2,000 is a spike (a gull on the sensor), as real
    /// ultrasonic gauges show.
    pub fn distance_to_water(&mut self, node: usize, now_ms: i64) -> f64 {
        let phase = now_ms as f64 / TIDE_PERIOD_MS + node as f64 * 0.01;
        let distance = 3.0 - 1.4 * (TAU * phase).sin() + self.rng.noise(0.01);
        if self.rng.unit() < 0.0005 {
            0.25
        } else {
            distance
        }
    }

    /// CO2 in a public office (the Bürgerbüro): outdoor air (about 430 ppm) at night, rising
    /// while people come in on weekdays from 08:00 to 16:00 local time, aired now and then.
    pub fn co2(&mut self, now_ms: i64) -> f64 {
        let hour = Self::local_hour(now_ms);
        let weekday = Self::weekday(now_ms) < 5;
        let open = weekday && (8.0..16.0).contains(&hour);
        let people = if open {
            650.0 * (std::f64::consts::PI * (hour - 8.0) / 8.0).sin()
        } else {
            0.0
        };
        // Airing at the full hour for ten minutes.
        let aired = open && hour.fract() < 1.0 / 6.0;
        let level = 430.0 + if aired { people * 0.4 } else { people * 1.3 };
        level + self.rng.noise(15.0)
    }

    /// Soil moisture in percent: drying slowly in the sun, wetted by a shower every few days.
    pub fn soil_moisture(&mut self, now_ms: i64) -> f64 {
        let days = now_ms as f64 / (24.0 * HOUR_MS);
        // Showers every 3.7 days; the soil dries over the next days.
        let since_rain = (days / 3.7).fract() * 3.7;
        (22.0 + 16.0 * (-since_rain / 1.5).exp() + self.rng.noise(0.3)).clamp(0.0, 100.0)
    }

    /// How full a car park of `capacity` spaces is: empty at night, full around midday, with
    /// cars coming and going; returns the target occupancy.
    pub fn parking_target(&mut self, capacity: u16, now_ms: i64) -> f64 {
        let hour = Self::local_hour(now_ms);
        let day = if (7.0..21.0).contains(&hour) {
            (std::f64::consts::PI * (hour - 7.0) / 14.0).sin().powf(0.7)
        } else {
            0.0
        };
        (f64::from(capacity) * (0.05 + 0.85 * day) + self.rng.noise(3.0)).max(0.0)
    }

    /// People through a beach entrance in `minutes`: none at night, most in the afternoon.
    pub fn visitors(&mut self, minutes: f64, now_ms: i64) -> u32 {
        let hour = Self::local_hour(now_ms);
        let rate_per_hour = if (8.0..20.0).contains(&hour) {
            60.0 * (std::f64::consts::PI * (hour - 8.0) / 12.0).sin()
        } else {
            0.0
        };
        let expected = rate_per_hour * minutes / 60.0;
        (expected * (0.7 + 0.6 * self.rng.unit())).round() as u32
    }

    /// Hours since local midnight (Central European Time; summer time left aside).
    fn local_hour(now_ms: i64) -> f64 {
        (Self::day_phase(now_ms + 3_600_000)) * 24.0
    }

    /// 0 Monday .. 6 Sunday, in local time (1970-01-01 was a Thursday).
    fn weekday(now_ms: i64) -> i64 {
        ((now_ms + 3_600_000).div_euclid(86_400_000) + 3).rem_euclid(7)
    }

    /// A lithium cell sagging slowly from 3.65 V, different per node.
    pub fn battery(&mut self, node: usize, now_ms: i64) -> f64 {
        let days = now_ms as f64 / (24.0 * HOUR_MS);
        3.65 - 0.02 * (node % 7) as f64 - 0.0005 * (days % 200.0) + self.rng.noise(0.005)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn afternoon_is_warmer_than_dawn_and_values_stay_plausible() {
        let mut env = Environment::new(7);
        let day = 20_000 * 24 * 3_600_000i64;
        let dawn = env.air_temperature(0, day + 4 * 3_600_000);
        let afternoon = env.air_temperature(0, day + 13 * 3_600_000);
        assert!(afternoon - dawn > 6.0, "{dawn} vs {afternoon}");
        for hour in 0..48 {
            let t = day + hour * 3_600_000;
            assert!((30.0..=100.0).contains(&env.relative_humidity(1, t)));
            assert!((0.0..=5.5).contains(&env.distance_to_water(2, t)));
            assert!((3.4..=3.7).contains(&env.battery(3, t)));
        }
    }
}
