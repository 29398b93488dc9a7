//! What the benchmarks that open an archive in process share: its options
//! and the median of timed runs.

use coffre::archive::ArchiveOptions;
use std::time::Duration;

/// Uploads up to 1 GiB, no time-stamping authority, no directory, no copy.
pub fn options() -> ArchiveOptions {
    ArchiveOptions {
        max_upload: 1 << 30,
        extract: coffre::extract::ExtractOptions::default(),
        tsa_url: None,
        tsa_ca: None,
        directory: None,
        copies: Vec::new(),
        follow: None,
        primary: None,
        part_lines: coffre::domain::disposition::PART_LINES,
        flows: coffre::archive::flows::FlowOptions::default(),
    }
}

/// The median of `times` (not empty).
pub fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}
