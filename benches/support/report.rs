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
