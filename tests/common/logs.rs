//! Capturing the function's structured logs: the production JSON subscriber
//! (`lambda::json_subscriber`) installed once per test binary, writing into memory.
#![allow(dead_code)]

use serde_json::Value;
use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

#[derive(Clone)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn buffer(filter: &str) -> &'static Arc<Mutex<Vec<u8>>> {
    static BUF: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    BUF.get_or_init(|| {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = Buffer(buf.clone());
        let subscriber = trail_insights::app::lambda::json_subscriber(
            tracing_subscriber::EnvFilter::new(filter),
            move || writer.clone(),
        );
        tracing::subscriber::set_global_default(subscriber)
            .expect("no other global subscriber in this test binary");
        buf
    })
}

/// Start capturing with `filter` (the first call of the binary decides the filter).
pub fn capture(filter: &str) {
    buffer(filter);
}

/// Everything logged so far, as text.
pub fn text() -> String {
    let buf = buffer("info").lock().unwrap_or_else(|p| p.into_inner());
    String::from_utf8_lossy(&buf).to_string()
}

/// Every log line so far, parsed (each must be one JSON object).
pub fn lines() -> Vec<Value> {
    text()
        .lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("log line is not JSON ({e}): {l}"))
        })
        .collect()
}

/// The `fields` of every line whose fields match all of `want` (string equality).
pub fn matching(want: &[(&str, &str)]) -> Vec<Value> {
    lines()
        .into_iter()
        .filter(|l| {
            want.iter()
                .all(|(k, v)| l["fields"][*k].as_str() == Some(*v))
        })
        .map(|mut l| {
            let level = l["level"].clone();
            l["fields"]["level"] = level;
            l["fields"].take()
        })
        .collect()
}
