//! Exporting a transfer package (`coffre export`), side by side with the
//! least any tool must do with the same bytes: read them, hash them with
//! SHA-256 and SHA-512 (`sha256sum`, `sha512sum`) and write a copy (`cp`,
//! `sync`). The export's peak memory (VmHWM) is measured for two sizes, to
//! show it does not grow with the package.
//!
//! Run with `make bench`; the figures replace the export section of
//! BENCHMARKS.md. `COFFRE_BENCH_EXPORT_GIB` sets the large size (10 by
//! default); the small one is a tenth of it.

#[path = "support/cli.rs"]
mod cli;
#[path = "support/report.rs"]
mod report;

use cli::{coffre, run};

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Files of this size make up the dataset.
const FILE: usize = 256 << 20;

/// An archive holding `files` distinct files of `FILE` bytes under ADM-DEL.
fn archive(root: &Path, name: &str, files: usize, seed: u64) -> PathBuf {
    let data = root.join(name);
    let _ = std::fs::remove_dir_all(&data);
    run(Command::new(coffre()).arg("--data").arg(&data).arg("init"));
    let source = root.join(format!("{name}-source"));
    let mut state = seed | 1;
    for i in 0..files {
        let _ = std::fs::remove_dir_all(&source);
        std::fs::create_dir_all(&source).expect("source folder");
        let mut buf = Vec::with_capacity(FILE);
        while buf.len() < FILE {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            buf.extend_from_slice(&state.to_le_bytes());
        }
        std::fs::write(source.join(format!("deliberation-{i:04}.bin")), &buf).expect("source file");
        run(Command::new(coffre())
            .arg("--data")
            .arg(&data)
            .args(["ingest", "--node", "ADM-DEL", "--date", "2020-01-15"])
            .arg(&source));
    }
    let _ = std::fs::remove_dir_all(&source);
    data
}

/// Runs a command, returning its time and its peak resident memory (kB).
fn measured(cmd: &mut Command) -> (Duration, u64) {
    let start = Instant::now();
    let mut child = cmd
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn");
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0u64;
    loop {
        if let Ok(text) = std::fs::read_to_string(&status_file)
            && let Some(kb) = text
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse::<u64>().ok())
        {
            peak = peak.max(kb);
        }
        match child.try_wait().expect("wait") {
            Some(status) => {
                assert!(status.success(), "{cmd:?} failed");
                return (start.elapsed(), peak);
            }
            None => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

fn export(data: &Path, out: &Path) -> (Duration, u64) {
    let _ = std::fs::remove_file(out);
    let result = measured(
        Command::new(coffre())
            .arg("--data")
            .arg(data)
            .args(["export", "--node", "ADM", "-o"])
            .arg(out),
    );
    run(&mut Command::new("sync"));
    result
}

/// Read, hash twice, copy, sync: the same bytes, no format.
fn baseline(data: &Path, root: &Path) -> Duration {
    let target = root.join("baseline-copy");
    let _ = std::fs::remove_dir_all(&target);
    std::fs::create_dir_all(&target).expect("baseline folder");
    let script = format!(
        "cd '{}' && find . -type f -print0 | xargs -0 sha256sum > /dev/null && find . -type f -print0 | xargs -0 sha512sum > /dev/null && cp -r . '{}' && sync",
        data.join("blobs/sha256").display(),
        target.display()
    );
    let start = Instant::now();
    run(Command::new("sh").arg("-c").arg(&script));
    let spent = start.elapsed();
    let _ = std::fs::remove_dir_all(&target);
    spent
}

fn main() {
    let gib: usize = std::env::var("COFFRE_BENCH_EXPORT_GIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10)
        .max(1);
    let root = std::env::temp_dir().join(format!("coffre-bench-export-{}", std::process::id()));
    std::fs::create_dir_all(&root).expect("bench root");
    let large_files = gib * 4;
    let small_files = (large_files / 10).max(1);
    eprintln!("building archives: {small_files} and {large_files} files of 256 MiB");
    let small = archive(&root, "small", small_files, 11);
    let (small_time, small_peak) = export(&small, &root.join("small.zip"));
    let _ = std::fs::remove_file(root.join("small.zip"));
    let _ = std::fs::remove_dir_all(&small);

    let large = archive(&root, "large", large_files, 23);
    let bytes = (large_files * FILE) as f64;
    let base = baseline(&large, &root);
    let (large_time, large_peak) = export(&large, &root.join("large.zip"));
    let zip_size = std::fs::metadata(root.join("large.zip")).map(|m| m.len()).unwrap_or(0);
    let (verify_time, verify_peak) = measured(Command::new(coffre()).arg("verify-package").arg(root.join("large.zip")));
    let _ = std::fs::remove_dir_all(&root);

    let mib_s = |d: Duration| bytes / (1 << 20) as f64 / d.as_secs_f64();
    let machine = report::processor();
    let section = format!(
        "<!-- export:begin -->\n\
         Command: `make bench` (`cargo bench --bench export`). Date: {date}. {machine}; the archive, the package and the copy on the same disk.\n\
         A package of {large_files} files of 256 MiB ({gib} GiB; zip of {zip:.1} GiB, entries stored), next to reading,\n\
         hashing (SHA-256 and SHA-512) and copying the same blobs with coreutils:\n\n\
         | | time | MiB/s | speed relative to the baseline |\n|---|---|---|---|\n\
         | `sha256sum` + `sha512sum` + `cp` + `sync` | {bt:.1} s | {bm:.0} | 1.00 |\n\
         | `coffre export` | {et:.1} s | {em:.0} | {er:.2} |\n\
         | `coffre verify-package` (reads the zip, both digests, proofs) | {vt:.1} s | {vm:.0} | {vr:.2} |\n\n\
         Peak resident memory of `coffre export`: {sp} MiB for a package of {sg:.2} GiB (exported in {st:.1} s), {lp} MiB for {gib} GiB;\n\
         `coffre verify-package`: {vp} MiB. Memory follows the number of records, not their size.\n\
         <!-- export:end -->",
        zip = zip_size as f64 / (1u64 << 30) as f64,
        date = run(Command::new("date").arg("+%F")).trim().to_owned(),
        bt = base.as_secs_f64(),
        bm = mib_s(base),
        et = large_time.as_secs_f64(),
        em = mib_s(large_time),
        er = base.as_secs_f64() / large_time.as_secs_f64(),
        vt = verify_time.as_secs_f64(),
        vm = mib_s(verify_time),
        vr = base.as_secs_f64() / verify_time.as_secs_f64(),
        sp = small_peak / 1024,
        st = small_time.as_secs_f64(),
        sg = (small_files * FILE) as f64 / (1u64 << 30) as f64,
        lp = large_peak / 1024,
        vp = verify_peak / 1024,
    );
    report::write_section("export", "Export (transfer packages)", &section);
}
