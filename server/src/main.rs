//! `latchkey`: reads the configuration, opens storage, serves the portal, the API and (in
//! development) the Notion sandbox. Its other commands (check, backup, …) are in `cli.rs`.
#![forbid(unsafe_code)]
// The dashboard's nested routes are deeply nested view types (see app/src/lib.rs).
#![recursion_limit = "256"]
// Handlers return `Result<_, Response>` to answer early; a Response is large and that is fine.
#![allow(clippy::result_large_err)]

mod assets;
mod audit;
mod cli;
mod edge;
mod error;
mod html;
mod observe;
mod routes;
mod security;
mod serve;
mod state;

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use domain::config::Config;
use domain::Latchkey;
use leptos::config::{get_configuration, LeptosOptions};
use tracing::{error, info};
use tracing_subscriber::EnvFilter;

/// See Cargo.toml: mimalloc instead of the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = <cli::Cli as clap::Parser>::parse();
    let json = match domain::config::json_logs(std::env::var("LATCHKEY_LOG_FORMAT").ok().as_deref()) {
        Ok(json) => json,
        Err(e) => {
            eprintln!("latchkey: {e}");
            return ExitCode::from(1);
        }
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    if json {
        tracing_subscriber::fmt().json().flatten_event(true).with_current_span(false).with_env_filter(filter).init();
    } else {
        tracing_subscriber::fmt().with_env_filter(filter).init();
    }
    match cli.command.unwrap_or(cli::Command::Serve) {
        cli::Command::Serve => serve_until_stopped().await,
        command => cli::run(command).await,
    }
}

/// The run-time Leptos settings and Latchkey's configuration, or the one line to print and the
/// exit code (2: configuration).
pub fn load_configuration() -> Result<(LeptosOptions, Config), String> {
    // The run-time Leptos settings come from Leptos.toml when started from the repository root,
    // and from LEPTOS_* variables (which override it) anywhere.
    let leptos_toml = std::path::Path::new("Leptos.toml").exists().then_some("Leptos.toml");
    let leptos_options = get_configuration(leptos_toml)
        .map(|conf| conf.leptos_options)
        .map_err(|e| format!("Leptos configuration: {e}"))?;
    let config = Config::from_env(leptos_options.site_addr).map_err(|e| e.to_string())?;
    Ok((leptos_options, config))
}

async fn serve_until_stopped() -> ExitCode {
    let (leptos_options, config) = match load_configuration() {
        Ok(loaded) => loaded,
        Err(line) => {
            eprintln!("latchkey: {line}");
            return ExitCode::from(2);
        }
    };
    let (latchkey, generated) = match Latchkey::start(config).await {
        Ok(started) => started,
        Err(e) => {
            eprintln!("latchkey: {e}");
            return ExitCode::from(1);
        }
    };
    for line in generated.lines {
        // Printed once, at the start that generated it; afterwards it is only in the data dir.
        // With JSON logs, as a log line too, so every line of the output parses.
        if latchkey.config().json_logs {
            info!(target: "latchkey::generated", "{line}");
        } else {
            println!("latchkey: {line}");
        }
    }
    let latchkey = Arc::new(latchkey);
    let addr = latchkey.config().site_addr;
    let app = routes::router(latchkey.clone(), leptos_options);

    let listener = match tokio::net::TcpListener::bind(addr).await {
        Ok(listener) => listener,
        Err(e) => {
            eprintln!("latchkey: LEPTOS_SITE_ADDR: cannot listen on {addr}: {e}");
            return ExitCode::from(1);
        }
    };
    // Its own target, so a supervisor (or the test harness) can ask for this one line alone:
    // it proves which process holds the port.
    info!(
        target: "latchkey::listening",
        environment = latchkey.config().environment.as_str(),
        public_url = %latchkey.config().public_url,
        sandbox = latchkey.sandbox().is_some(),
        "Latchkey is listening on {addr}; sign in at {}",
        latchkey.config().public_url_join("/sign-in")
    );
    if let Some(metrics_addr) = latchkey.config().metrics_addr {
        match observe::serve_metrics(metrics_addr, latchkey.clone()).await {
            Ok(_) => info!("metrics at http://{metrics_addr}/metrics"),
            Err(e) => {
                eprintln!("latchkey: {e}");
                return ExitCode::from(1);
            }
        }
    }
    tokio::spawn(prune_forever(latchkey.clone()));
    // Sends the webhook outbox; a slow or dead endpoint delays only its own deliveries.
    let webhooks = tokio::spawn(domain::webhooks::run_worker(latchkey.clone()));

    let served = serve::serve(listener, app, shutdown_signal()).await;
    // Deliveries under way are abandoned; their leases run out and they are sent again.
    webhooks.abort();
    latchkey.close().await;
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("server stopped: {e}");
            ExitCode::from(1)
        }
    }
}

/// Sign-ins never finished and long-dead sessions are deleted once a minute.
async fn prune_forever(latchkey: Arc<Latchkey>) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        if let Err(e) = latchkey.prune_expired().await {
            error!("pruning expired rows failed: {e}");
        }
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
