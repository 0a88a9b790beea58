//! Replays every fuzz target's seeds and every input a campaign found (`fuzz/corpus/TARGET/`,
//! `fuzz/regressions/TARGET/`) through the same target functions AFL++ runs, so CI checks the
//! crashes and hangs once found stay fixed without running a campaign.

#[path = "fuzz/targets.rs"]
mod targets;

use std::path::Path;
use std::time::{Duration, Instant};

#[test]
fn every_corpus_input_runs_through_its_target_without_panic_or_hang() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut inputs = 0;
    for (name, target) in targets::TARGETS {
        let mut seeds = 0;
        for folder in ["corpus", "regressions"] {
            let Ok(entries) = std::fs::read_dir(root.join(folder).join(name)) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                let data = std::fs::read(&path).unwrap();
                let started = Instant::now();
                target(&data);
                let took = started.elapsed();
                // A hang shows as seconds; debug builds are slow, but not that slow.
                assert!(
                    took < Duration::from_secs(5),
                    "{}: {took:?}",
                    path.display()
                );
                seeds += usize::from(folder == "corpus");
                inputs += 1;
            }
        }
        assert!(
            seeds > 0,
            "fuzz target {name} has no seed in fuzz/corpus/{name}"
        );
    }
    assert!(inputs >= targets::TARGETS.len());
}
