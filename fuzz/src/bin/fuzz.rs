//! One AFL++ binary for every target: `fuzz TARGET` (the name is read from the environment
//! variable SENSORHUB_FUZZ_TARGET, as AFL++ passes the input on stdin).

fn main() {
    let name = std::env::var("SENSORHUB_FUZZ_TARGET").expect("set SENSORHUB_FUZZ_TARGET");
    let target = sensorhub_fuzz::targets::TARGETS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, f)| *f)
        .unwrap_or_else(|| panic!("no fuzz target `{name}`"));
    afl::fuzz!(|data: &[u8]| target(data));
}
