//! A throw-away PostgreSQL cluster for the benchmarks' baselines: created
//! with `initdb` as the `postgres` user, started on a Unix socket with
//! fsync off, stopped and left to the caller's folder on drop.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Postgres {
    data: PathBuf,
    bin: PathBuf,
    socket: PathBuf,
    port: String,
}

impl Postgres {
    /// Creates and starts a cluster under `root`, listening on a Unix
    /// socket there with `port` as its number; `None` if PostgreSQL is not
    /// installed or does not start.
    pub fn start(root: &Path, port: &str) -> Option<Postgres> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .filter(|p| p.join("initdb").exists())
            .max()?;
        let data = root.join("pg-data");
        let socket = root.join("pg-socket");
        let _ = std::fs::remove_dir_all(&data);
        std::fs::create_dir_all(&socket).ok()?;
        let chown = |p: &Path| Command::new("chown").args(["-R", "postgres:postgres"]).arg(p).status();
        std::fs::create_dir_all(&data).ok()?;
        chown(&data).ok()?;
        chown(&socket).ok()?;
        chown(root).ok()?;
        let as_postgres = |args: &[&str]| {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .args(args)
                .stdout(std::process::Stdio::null())
                .status()
                .map(|s| s.success())
                .unwrap_or(false)
        };
        let initdb = bin.join("initdb");
        if !as_postgres(&[
            initdb.to_str()?,
            "-D",
            data.to_str()?,
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        ]) {
            return None;
        }
        let options = format!(
            "-p {port} -k {} -c listen_addresses='' -c maintenance_work_mem=512MB -c shared_buffers=512MB -c fsync=off -c synchronous_commit=off",
            socket.display()
        );
        let pg_ctl = bin.join("pg_ctl");
        let log = root.join("pg.log");
        if !as_postgres(&[
            pg_ctl.to_str()?,
            "-D",
            data.to_str()?,
            "-l",
            log.to_str()?,
            "-o",
            &options,
            "-w",
            "start",
        ]) {
            return None;
        }
        Some(Postgres {
            data,
            bin,
            socket,
            port: port.to_owned(),
        })
    }

    /// A connection as the `postgres` user.
    pub fn client(&self) -> Option<postgres::Client> {
        postgres::Config::new()
            .host_path(&self.socket)
            .port(self.port.parse().ok()?)
            .user("postgres")
            .dbname("postgres")
            .connect(postgres::NoTls)
            .ok()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let pg_ctl = self.bin.join("pg_ctl");
        let _ = Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(pg_ctl)
            .arg("-D")
            .arg(&self.data)
            .args(["-m", "fast", "stop"])
            .stdout(std::process::Stdio::null())
            .status();
    }
}
