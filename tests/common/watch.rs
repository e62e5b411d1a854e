//! The real Lambda handler under `cargo lambda watch`, and the `events/` notification files.

use super::root;
use serde_json::Value;
use std::process::{Child, Command};

/// `cargo lambda watch` running the real handler, stopped when dropped.
pub struct Watch {
    child: Child,
    port: u16,
}

/// Build the handler binary exactly as `cargo lambda watch` does (`cargo run --bin`, no
/// dev-dependency features), once per test binary. Without this the first invocation compiles
/// a second feature set of the whole dependency tree while other tests run, starving the local
/// servers of CPU on a fresh clone (SDK calls then time out).
fn build_handler() {
    static BUILT: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    BUILT.get_or_init(|| {
        let out = Command::new("cargo")
            .args(["build", "--bin", "trail-insights-lambda"])
            .current_dir(root())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "building the handler failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    });
}

impl Watch {
    pub fn start(env: &[(&str, String)]) -> Watch {
        build_handler();
        // A port the OS has just handed out, so not one of the local servers' (SeaweedFS alone
        // listens on 9333 and 9340; a port picked from the process id once landed on 9340: the
        // runtime could not bind it and shut down, and the invocations reached SeaweedFS).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let cl = root().join(".tools/cl/bin");
        if !cl.join("cargo-lambda").exists() {
            let ok = Command::new(root().join("scripts/install-tools.sh"))
                .arg("lambda")
                .status()
                .unwrap();
            assert!(ok.success(), "installing cargo-lambda failed");
        }
        let path = format!(
            "{}:{}",
            cl.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut c = Command::new("cargo");
        c.args([
            "lambda",
            "watch",
            "-A",
            "127.0.0.1",
            "-P",
            &port.to_string(),
            "--ignore-changes",
            "--concurrency",
            "4",
        ])
        .current_dir(root())
        .env("PATH", &path)
        .stdout(
            std::fs::File::create(std::env::temp_dir().join(format!("watch-{port}.log"))).unwrap(),
        )
        .stderr(
            std::fs::File::create(std::env::temp_dir().join(format!("watch-{port}.err"))).unwrap(),
        );
        for (k, v) in env {
            c.env(k, v);
        }
        std::os::unix::process::CommandExt::process_group(&mut c, 0);
        let child = c.spawn().unwrap();
        let w = Watch { child, port };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "cargo lambda watch did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        w
    }

    /// `cargo lambda invoke` with `event`; returns the function's response.
    pub fn invoke(&self, event: &Value) -> Value {
        let file = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(file.path(), event.to_string()).unwrap();
        let path = format!(
            "{}:{}",
            root().join(".tools/cl/bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = Command::new("cargo")
            .args(["lambda", "invoke", "trail-insights-lambda", "--data-file"])
            .arg(file.path())
            .args(["-A", "127.0.0.1", "-P", &self.port.to_string()])
            .env("PATH", path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "invoke failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
    }
}

impl Drop for Watch {
    /// `cargo lambda watch` ignores SIGTERM: interrupt it, then kill its whole process group
    /// (the function processes included).
    fn drop(&mut self) {
        let group = format!("-{}", self.child.id());
        let _ = Command::new("kill")
            .args(["-s", "INT", "--", &group])
            .status();
        for _ in 0..50 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &group])
            .status();
        let _ = self.child.wait();
    }
}

/// An `events/` file with its bucket and key(s) replaced.
pub fn event_file(name: &str, bucket: &str, keys: &[&str]) -> Value {
    let text = std::fs::read_to_string(root().join("events").join(name)).unwrap();
    let template_keys = [
        "AWSLogs/123456789012/CloudTrail/us-east-1/2026/01/05/123456789012_CloudTrail_us-east-1_20260105T0010Z_AbCdEfGhIjKlMnOp.json.gz",
        "AWSLogs/123456789012/CloudTrail/us-east-1/2026/01/05/123456789012_CloudTrail_us-east-1_20260105T0015Z_QrStUvWxYz012345.json.gz",
    ];
    let mut text = text.replace("trail-bucket", bucket);
    for (i, k) in keys.iter().enumerate() {
        text = text.replace(template_keys[i], k);
    }
    serde_json::from_str(&text).unwrap()
}

/// The AWS variables a function or command started by a test needs (set by `local_aws`).
pub fn aws_env() -> Vec<(&'static str, String)> {
    [
        "AWS_ENDPOINT_URL_S3",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_REGION",
        "AWS_EC2_METADATA_DISABLED",
    ]
    .iter()
    .map(|k| (*k, std::env::var(k).unwrap()))
    .collect()
}
