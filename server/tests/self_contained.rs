//! The built binary on its own: copied to an empty directory and started there, it serves its
//! pages, CSS, WASM and the widget, with no repository, `Leptos.toml` or `target/site` beside it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failed assumption fails it

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::free_port;
use reqwest::StatusCode;

#[tokio::test]
async fn the_binary_alone_in_an_empty_directory_serves_every_page_and_the_widget() {
    let site = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/site");
    if !std::path::Path::new(site).join("pkg").exists() || !std::path::Path::new(site).join("widget").exists() {
        assert!(std::env::var_os("CI").is_none(), "the site bundle is missing: scripts/test.sh builds it first");
        eprintln!("self-contained: no site bundle in target/site (run scripts/test.sh); skipped");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let binary = dir.path().join("latchkey");
    std::fs::copy(env!("CARGO_BIN_EXE_latchkey"), &binary).expect("copy the binary");
    let port = free_port();
    let mut child = Command::new(&binary)
        .current_dir(dir.path())
        .env_clear()
        .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("latchkey starts");
    let base = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    while client.get(format!("{base}/readyz")).send().await.ok().map(|r| r.status()) != Some(StatusCode::OK) {
        assert!(Instant::now() < deadline, "latchkey did not become ready in an empty directory");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    for (path, content_type, needle) in [
        ("/sign-in", "text/html", "Sign in with Notion"),
        ("/pkg/latchkey.css", "text/css", ""),
        ("/pkg/latchkey.js", "javascript", ""),
        ("/pkg/latchkey.wasm", "application/wasm", ""),
        ("/widget.js", "javascript", "data-publishable-key"),
        ("/widget/latchkey_widget.js", "javascript", ""),
        ("/widget/latchkey_widget_bg.wasm", "application/wasm", ""),
    ] {
        let response = client.get(format!("{base}{path}")).send().await.expect(path);
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let header = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        assert!(header.contains(content_type), "{path}: {header}");
        let body = response.bytes().await.expect("body");
        assert!(!body.is_empty(), "{path} is empty");
        assert!(String::from_utf8_lossy(&body).contains(needle), "{path}");
    }
    let missing = client.get(format!("{base}/pkg/../Cargo.toml")).send().await.expect("traversal");
    assert_ne!(missing.status(), StatusCode::OK);
    // The data directory is the documented default, ./data, beside where it was started.
    assert!(dir.path().join("data").join("latchkey.db").exists());
    let _ = child.kill();
    let _ = child.wait();
}
