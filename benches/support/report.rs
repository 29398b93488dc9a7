//! Writing benchmark figures into BENCHMARKS.md, shared by the benchmarks.

use std::path::PathBuf;

/// Replaces the section between `<!-- NAME:begin -->` and `<!-- NAME:end -->`
/// of BENCHMARKS.md with `section` (which carries both markers), or appends
/// it under `heading` when the markers are missing.
pub fn write_section(name: &str, heading: &str, section: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("BENCHMARKS.md");
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    let (begin, end) = (format!("<!-- {name}:begin -->"), format!("<!-- {name}:end -->"));
    let updated = match (current.find(&begin), current.find(&end)) {
        (Some(a), Some(b)) if a < b => format!("{}{}{}", &current[..a], section, &current[b + end.len()..]),
        _ => format!("{current}\n## {heading}\n\n{section}\n"),
    };
    std::fs::write(&path, updated).expect("write BENCHMARKS.md");
    println!("{section}");
}

/// The processor and its cores: `AMD EPYC, 2 cores`.
#[allow(dead_code)] // not every benchmark names its machine
pub fn processor() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cpu}, {cores} cores")
}

/// The processor, its cores, the memory and the kernel.
#[allow(dead_code)] // not every benchmark names its machine
pub fn machine() -> String {
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .next()
                .map(|l| l.split_whitespace().nth(1).unwrap_or("0").parse::<u64>().unwrap_or(0))
        })
        .unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{}, {} GiB RAM, Linux {}",
        processor(),
        mem / 1024 / 1024,
        kernel.trim()
    )
}
