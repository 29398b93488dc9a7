//! Copies: deposits kept on one store and on two (the data directory and a
//! copy folder, or a Garage bucket on this machine, `--copy`), and an
//! archive rebuilt from its copy folder alone (`coffre restore --from`),
//! each next to the raw tools doing the same work on the same bytes in the
//! same run.
//!
//! Deposits go through `POST /api/v1/records` (4 clients); the baseline
//! hashes the files (`sha256sum`), copies them once or twice (`cp`) and
//! syncs; for the bucket, it then PUTs every file to it with the same S3
//! client alone (4 at a time). Garage is started on loopback (`make
//! garage` builds it; `GARAGE` names it). The restore takes an archive of `COFFRE_BENCH_RESTORE_RECORDS`
//! records (100000 by default) of the synthetic French corpus, filled
//! through a server run under `eatmydata` with a copy folder; its baseline
//! hashes every file of the copy folder and copies the folder (`cp -r`,
//! `sync`). The figures replace the sections `copies` and `restore` of
//! BENCHMARKS.md (`COFFRE_BENCH_RESTORE_RECORDS=0` skips the restore).

#[path = "support/cli.rs"]
mod cli;
#[path = "support/corpus.rs"]
#[allow(dead_code)]
mod corpus;
#[path = "support/dataset.rs"]
mod dataset;
#[path = "../tests/support/garage.rs"]
#[allow(dead_code)]
mod garage;
#[path = "support/load.rs"]
#[allow(dead_code)]
mod load;
#[path = "support/report.rs"]
mod report;
#[path = "support/server.rs"]
mod server;

use cli::{coffre, run};
use dataset::{Dataset, make_dataset};
use server::{Served, deposit_files, fresh_archive};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const CLIENTS: usize = 4;

/// `sha256sum` over the files, `cp` to `copies` folders, `sync`.
fn baseline(ds: &Dataset, root: &Path, copies: usize) -> Duration {
    let targets: Vec<PathBuf> = (0..copies)
        .map(|i| root.join(format!("baseline-{}-{i}", ds.name)))
        .collect();
    let mut script = format!(
        "cd '{}' && find . -type f -print0 | xargs -0 sha256sum > /dev/null",
        ds.dir.display()
    );
    for t in &targets {
        let _ = std::fs::remove_dir_all(t);
        std::fs::create_dir_all(t).expect("baseline folder");
        let _ = write!(script, " && cp -r . '{}'", t.display());
    }
    script.push_str(" && sync");
    let start = Instant::now();
    run(Command::new("sh").arg("-c").arg(script));
    let elapsed = start.elapsed();
    for t in &targets {
        let _ = std::fs::remove_dir_all(t);
    }
    elapsed
}

/// PUTs every file to the bucket, `CLIENTS` at a time, with the S3 client
/// alone: the part of the bucket's baseline that is not `sha256sum` + `cp`.
fn put_all(view: &garage::BucketView, ds: &Dataset) -> Duration {
    use object_store::ObjectStoreExt;
    let files = std::sync::Arc::new(ds.files.clone());
    let start = Instant::now();
    view.runtime.block_on(async {
        let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(CLIENTS));
        let mut tasks = Vec::new();
        for (i, file) in files.iter().enumerate() {
            let permit = std::sync::Arc::clone(&semaphore).acquire_owned().await.expect("permit");
            let store = view.store.clone();
            let file = file.clone();
            tasks.push(tokio::spawn(async move {
                let bytes = tokio::fs::read(&file).await.expect("read a file");
                let key = object_store::path::Path::from(format!("baseline/{i}"));
                store.put(&key, bytes.into()).await.expect("put");
                drop(permit);
            }));
        }
        for task in tasks {
            task.await.expect("a put");
        }
    });
    start.elapsed()
}

/// Where deposits keep their second copy.
#[derive(Clone, Copy)]
enum Second<'a> {
    None,
    Folder,
    Bucket(&'a garage::Garage),
}

/// Deposits every file over HTTP, with or without a second copy.
fn deposits(ds: &Dataset, root: &Path, second: Second) -> Duration {
    let tag = match second {
        Second::None => "1",
        Second::Folder => "2",
        Second::Bucket(_) => "s3",
    };
    let name = format!("copies-http-{}-{tag}", ds.name);
    let (data, token) = fresh_archive(root, &name);
    let copy = root.join(format!("{name}-copie"));
    let _ = std::fs::remove_dir_all(&copy);
    let copy_arg = match second {
        Second::Bucket(_) => format!("s3://{}/{name}", garage::BUCKET),
        _ => copy.display().to_string(),
    };
    let extra: Vec<&str> = if matches!(second, Second::None) {
        vec![]
    } else {
        vec!["--copy", &copy_arg]
    };
    let env = match second {
        Second::Bucket(g) => g.env(),
        _ => Vec::new(),
    };
    let served = Served::start_with_env(&data, None, &extra, &env);
    let elapsed = deposit_files(&served.base, &token, &ds.files, CLIENTS);
    drop(served);
    let _ = std::fs::remove_dir_all(&data);
    let _ = std::fs::remove_dir_all(&copy);
    elapsed
}

/// Waits until the copy folder holds the whole journal.
fn copies_caught_up(base: &str, token: &str) {
    let agent = load::agent();
    loop {
        let stats = load::stats(&agent, base, token);
        let copy = &stats["copies"][0];
        if copy["lag_events"] == 0 && copy["contents_owed"] == 0 && copy["contents_complete"] == true {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Bytes and files under a folder.
fn size_of(dir: &Path) -> (u64, u64) {
    let out = run(Command::new("sh").arg("-c").arg(format!(
        "find '{}' -type f -printf '%s\\n' | awk '{{n++; s+=$1}} END {{print n, s}}'",
        dir.display()
    )));
    let mut parts = out.split_whitespace().map(|v| v.parse::<u64>().unwrap_or(0));
    (parts.next().unwrap_or(0), parts.next().unwrap_or(0))
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/bench-work");
    std::fs::create_dir_all(&root).expect("bench folder");
    let small = make_dataset(&root, "copies-4KiBx3000", "4KiBx3000", 3000, 4096);
    let big = make_dataset(&root, "copies-1MiBx300", "1MiBx300", 300, 1 << 20);
    let garage_dir = root.join("copies-garage");
    let _ = std::fs::remove_dir_all(&garage_dir);
    let garage = garage::Garage::start(&garage_dir);
    let view = garage.view();
    run(&mut Command::new("sync"));
    let mut deposit_rows = String::new();
    for ds in [&small, &big] {
        let mb = ds.bytes as f64 / 1e6;
        let count = ds.files.len() as f64;
        let base1 = baseline(ds, &root, 1);
        let base2 = baseline(ds, &root, 2);
        let base_s3 = base1 + put_all(&view, ds);
        let one = deposits(ds, &root, Second::None);
        let two = deposits(ds, &root, Second::Folder);
        let s3 = deposits(ds, &root, Second::Bucket(&garage));
        eprintln!(
            "{}: baseline {base1:?} / {base2:?} / {base_s3:?}, coffre {one:?} / {two:?} / {s3:?}",
            ds.name
        );
        for (what, t, base) in [
            ("baseline: sha256sum + cp + sync", base1, base1),
            ("baseline: sha256sum + cp twice + sync", base2, base1),
            (
                "baseline: sha256sum + cp + sync, then each file PUT to Garage (4 at a time)",
                base_s3,
                base1,
            ),
            ("coffre, 1 store (HTTP, 4 clients)", one, base1),
            ("coffre, 2 stores: + a copy folder (HTTP, 4 clients)", two, base1),
            ("coffre, 2 stores: + a Garage bucket (HTTP, 4 clients)", s3, base1),
        ] {
            let s = t.as_secs_f64();
            let _ = writeln!(
                deposit_rows,
                "| {} | {what} | {s:.2} s | {:.1} MB/s | {:.0} files/s | {:.2} |",
                ds.name,
                mb / s,
                count / s,
                base.as_secs_f64() / s
            );
        }
        let _ = writeln!(
            deposit_rows,
            "| {} | cost of the second copy: coffre 2 stores / 1 store; baseline cp twice / once | | | | {:.2}× / {:.2}× |",
            ds.name,
            two.as_secs_f64() / one.as_secs_f64(),
            base2.as_secs_f64() / base1.as_secs_f64()
        );
        let _ = writeln!(
            deposit_rows,
            "| {} | cost of the bucket: coffre with a Garage bucket / 1 store; baseline with PUTs / without | | | | {:.2}× / {:.2}× |",
            ds.name,
            s3.as_secs_f64() / one.as_secs_f64(),
            base_s3.as_secs_f64() / base1.as_secs_f64()
        );
        let _ = std::fs::remove_dir_all(&ds.dir);
    }

    let section = format!(
        "<!-- copies:begin -->\n\
         Command: `make bench` (`cargo bench --bench copies`). Date: {date}. Same machine as above; the copy \
         folder is on the same disk as the data directory (another disk or a network mount would add its own \
         speed, not coffre's), and the Garage bucket is a single-node Garage {garage_version} on loopback, its \
         data on the same disk.\n\n\
         Every deposit is durable on every store before it is acknowledged: on the copy folder, its bytes are \
         written, hashed again on the way and synced; in the bucket, they are PUT, then read back and hashed. \
         Ratio = the one-copy baseline's time / the row's time.\n\n\
         | dataset | path | time | throughput | files/s | ratio to baseline |\n|---|---|---|---|---|---|\n\
         {deposit_rows}\
         <!-- copies:end -->",
        date = chrono::Utc::now().format("%Y-%m-%d"),
        garage_version = garage.version(),
    );
    drop(view);
    drop(garage);
    let _ = std::fs::remove_dir_all(&garage_dir);
    report::write_section("copies", "Deposits on one store and on two", &section);

    // Restore.
    let records: u64 = std::env::var("COFFRE_BENCH_RESTORE_RECORDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    if records == 0 {
        return;
    }
    let wrapper = Command::new("eatmydata")
        .arg("true")
        .status()
        .is_ok_and(|s| s.success())
        .then_some("eatmydata");
    let (data, token) = fresh_archive(&root, "copies-restore");
    let copy = root.join("copies-restore-copie");
    let _ = std::fs::remove_dir_all(&copy);
    let copy_arg = copy.display().to_string();
    let served = Served::start_with(&data, wrapper, &["--copy", &copy_arg]);
    let filled = load::fill(&served.base, &token, 0, records);
    copies_caught_up(&served.base, &token);
    eprintln!("restore: {records} records filled in {filled:?}");
    drop(served);
    let (files, bytes) = size_of(&copy);
    run(&mut Command::new("sync"));
    let target = root.join("copies-restored");
    let _ = std::fs::remove_dir_all(&target);
    let start = Instant::now();
    run(Command::new(coffre())
        .arg("--data")
        .arg(&target)
        .args(["restore", "--from", &copy_arg]));
    let restored = start.elapsed();
    let baseline_target = root.join("copies-baseline");
    let _ = std::fs::remove_dir_all(&baseline_target);
    let start = Instant::now();
    run(Command::new("sh").arg("-c").arg(format!(
        "cd '{}' && find . -type f -print0 | xargs -0 sha256sum > /dev/null && cp -r . '{}' && sync",
        copy.display(),
        baseline_target.display()
    )));
    let base = start.elapsed();
    eprintln!("restore: coffre {restored:?}, baseline {base:?}");
    for dir in [&data, &copy, &target, &baseline_target] {
        let _ = std::fs::remove_dir_all(dir);
    }

    let section = format!(
        "<!-- restore:begin -->\n\
         Command: `make bench` (`cargo bench --bench copies`; `COFFRE_BENCH_RESTORE_RECORDS=0` leaves this \
         section as it is). Date: {date}. Same machine as above.\n\n\
         An archive of {records} records (the synthetic French corpus of the search benchmark, filled over HTTP by \
         a server run under `eatmydata` with a copy folder), then `coffre restore --from` the copy folder alone \
         into a new data directory: the journal, the keys, every content hashed as it is written, the catalog and \
         the index rebuilt, and a whole integrity check (every content hashed again). The baseline hashes every \
         file of the copy folder and copies it (`sha256sum`, `cp -r`, `sync`).\n\n\
         | path | records | files, bytes | time | records/s | ratio |\n|---|---|---|---|---|---|\n\
         | baseline: sha256sum + cp -r + sync | {records} | {files}, {bytes} | {base:.1} s | {base_rate:.0} | 1.00 |\n\
         | coffre restore --from | {records} | {files}, {bytes} | {restored:.1} s | {rate:.0} | {ratio:.2} |\n\
         <!-- restore:end -->",
        date = chrono::Utc::now().format("%Y-%m-%d"),
        base = base.as_secs_f64(),
        base_rate = records as f64 / base.as_secs_f64(),
        restored = restored.as_secs_f64(),
        rate = records as f64 / restored.as_secs_f64(),
        ratio = base.as_secs_f64() / restored.as_secs_f64(),
    );
    report::write_section("restore", "Restore from one copy folder", &section);
}
