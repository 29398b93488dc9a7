//! A single-node Garage server (the S3-compatible object store) on
//! loopback, for the copies tests and the copies benchmark: installed by
//! `make garage`, named by `GARAGE`; its bucket and key are made at its
//! first start (`--single-node --default-bucket`).

use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as Key;
use object_store::{ObjectStore, ObjectStoreExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const ACCESS_KEY: &str = "GK0123456789abcdef01234567";
const SECRET_KEY: &str = "5f3c1e9a2b7d4c6e8f0a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6";
/// The bucket the server makes at its first start.
pub const BUCKET: &str = "coffre-copies";

/// The Garage binary: `GARAGE`, else `garage` on the path.
fn garage_binary() -> PathBuf {
    let named = std::env::var_os("GARAGE").map(PathBuf::from);
    let found = named.unwrap_or_else(|| PathBuf::from("garage"));
    let runs = Command::new(&found)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        runs,
        "Garage is not installed ({}): `make garage` builds it once per machine",
        found.display()
    );
    found
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A single-node Garage server on loopback, its bucket and key made at
/// its first start; stopped and started again on the same folder and port.
pub struct Garage {
    binary: PathBuf,
    config: PathBuf,
    log: PathBuf,
    port: u16,
    child: Option<Child>,
}

impl Garage {
    pub fn start(dir: &Path) -> Garage {
        let (port, rpc) = (free_port(), free_port());
        std::fs::create_dir_all(dir).expect("garage dir");
        let config = dir.join("garage.toml");
        std::fs::write(
            &config,
            format!(
                "metadata_dir = \"{dir}/meta\"\n\
                 data_dir = \"{dir}/data\"\n\
                 db_engine = \"lmdb\"\n\
                 replication_factor = 1\n\
                 rpc_bind_addr = \"127.0.0.1:{rpc}\"\n\
                 rpc_public_addr = \"127.0.0.1:{rpc}\"\n\
                 rpc_secret = \"{secret}\"\n\
                 [s3_api]\n\
                 s3_region = \"garage\"\n\
                 api_bind_addr = \"127.0.0.1:{port}\"\n",
                dir = dir.display(),
                secret = "a".repeat(64),
            ),
        )
        .expect("garage config");
        let mut garage = Garage {
            binary: garage_binary(),
            config,
            log: dir.join("garage.log"),
            port,
            child: None,
        };
        garage.run();
        garage
    }

    /// Starts the server and waits until its bucket answers.
    pub fn run(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("garage log");
        let child = Command::new(&self.binary)
            .arg("-c")
            .arg(&self.config)
            .args(["server", "--single-node", "--default-bucket"])
            .env("GARAGE_DEFAULT_ACCESS_KEY", ACCESS_KEY)
            .env("GARAGE_DEFAULT_SECRET_KEY", SECRET_KEY)
            .env("GARAGE_DEFAULT_BUCKET", BUCKET)
            .env("RUST_LOG", "garage=warn")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("spawn garage");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        let view = self.view();
        while view.keys("").is_err() {
            assert!(
                Instant::now() < deadline,
                "Garage did not start: {}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// What `garage --version` says.
    pub fn version(&self) -> String {
        Command::new(&self.binary)
            .arg("--version")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
            .unwrap_or_default()
    }

    /// The environment that lets coffre reach the bucket.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT", format!("http://127.0.0.1:{}", self.port)),
            ("AWS_ACCESS_KEY_ID", ACCESS_KEY.to_owned()),
            ("AWS_SECRET_ACCESS_KEY", SECRET_KEY.to_owned()),
            ("AWS_REGION", "garage".to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect()
    }

    pub fn view(&self) -> BucketView {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let store = AmazonS3Builder::new()
            .with_endpoint(format!("http://127.0.0.1:{}", self.port))
            .with_allow_http(true)
            .with_region("garage")
            .with_bucket_name(BUCKET)
            .with_access_key_id(ACCESS_KEY)
            .with_secret_access_key(SECRET_KEY)
            .with_retry(object_store::RetryConfig {
                max_retries: 0,
                ..Default::default()
            })
            .build()
            .expect("an S3 client");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        BucketView { store, runtime }
    }
}

impl Drop for Garage {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The test's own look into the bucket, beside coffre.
pub struct BucketView {
    /// The client.
    pub store: AmazonS3,
    /// Its runtime.
    pub runtime: tokio::runtime::Runtime,
}

impl BucketView {
    pub fn keys(&self, under: &str) -> Result<Vec<String>, object_store::Error> {
        use futures_util::StreamExt;
        let prefix = Key::from(under);
        self.runtime.block_on(async {
            let mut keys = Vec::new();
            let mut listing = self.store.list(Some(&prefix));
            while let Some(meta) = listing.next().await {
                keys.push(meta?.location.to_string());
            }
            Ok(keys)
        })
    }

    /// Where coffre keeps a blob under `prefix`.
    pub fn blob_key(prefix: &str, sha: &str) -> String {
        format!("{prefix}/sha256/{}/{}/{sha}", &sha[0..2], &sha[2..4])
    }

    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.runtime
            .block_on(async { self.store.get(&Key::from(key)).await?.bytes().await })
            .ok()
            .map(|b| b.to_vec())
    }

    pub fn delete(&self, key: &str) {
        self.runtime
            .block_on(self.store.delete(&Key::from(key)))
            .expect("delete an object");
    }
}
