//! The baseline: the least an axum server can do (`GET /` → `hello`), on the same multi-thread
//! tokio runtime Latchkey uses, in its own process, so both compete for the cores alike. It is
//! also the webhook endpoint of the webhook figure (`POST /webhooks` → 204).

use std::process::ExitCode;

use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;

pub fn serve(addr: Option<&String>) -> ExitCode {
    let Some(addr) = addr else {
        eprintln!("usage: latchkey-bench baseline-server 127.0.0.1:PORT");
        return ExitCode::from(2);
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("latchkey-bench baseline-server: {e}");
            return ExitCode::from(1);
        }
    };
    let served: std::io::Result<()> = runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(addr.as_str()).await?;
        let app = Router::new()
            .route("/", get(|| async { "hello" }))
            .route("/webhooks", post(|| async { StatusCode::NO_CONTENT }));
        axum::serve(listener, app).await
    });
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("latchkey-bench baseline-server: {e}");
            ExitCode::from(1)
        }
    }
}
