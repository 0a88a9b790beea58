//! Pulse counters: a light barrier at a beach entrance, induction loops at a car park's gates.
//! The hardware counts pulses between reads (a timer in counter mode, or an interrupt);
//! reading takes the count and starts again from zero, so no pulse is counted twice.

/// A pulse input: `take` returns the pulses since the last `take`.
pub trait PulseInput {
    type Error;
    fn take(&mut self) -> Result<u32, Self::Error>;
}

/// A car park's occupancy from its entry and exit loops, kept between 0 and the capacity (a
/// missed pulse cannot make it negative or overfull; `set` recalibrates, for example from a
/// count at night).
pub struct Occupancy<I, O> {
    entries: I,
    exits: O,
    capacity: u16,
    occupied: u16,
}

impl<I: PulseInput, O: PulseInput<Error = I::Error>> Occupancy<I, O> {
    pub fn new(entries: I, exits: O, capacity: u16) -> Self {
        Occupancy {
            entries,
            exits,
            capacity,
            occupied: 0,
        }
    }

    pub fn set(&mut self, occupied: u16) {
        self.occupied = occupied.min(self.capacity);
    }

    /// The occupancy after the pulses since the last update.
    pub fn update(&mut self) -> Result<u16, I::Error> {
        let (entered, left) = (self.entries.take()?, self.exits.take()?);
        let occupied = i64::from(self.occupied) + i64::from(entered) - i64::from(left);
        self.occupied = occupied.clamp(0, i64::from(self.capacity)) as u16;
        Ok(self.occupied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Pulses(u32);

    impl PulseInput for Pulses {
        type Error = ();
        fn take(&mut self) -> Result<u32, ()> {
            Ok(core::mem::take(&mut self.0))
        }
    }

    #[test]
    fn occupancy_follows_the_gates_within_the_capacity() {
        let mut park = Occupancy::new(Pulses(30), Pulses(4), 120);
        assert_eq!(park.update(), Ok(26));
        // Nothing new: the pulses were taken.
        assert_eq!(park.update(), Ok(26));
        park.entries.0 = 200;
        assert_eq!(park.update(), Ok(120));
        park.exits.0 = 500;
        assert_eq!(park.update(), Ok(0));
    }
}
