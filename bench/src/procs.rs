//! The processes under test: `latchkey` and the baseline, started, timed to their first 200,
//! measured (peak RSS) and stopped. Only processes started here are ever signalled.

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::load::Client;

/// The longest a process may take to answer its first 200.
const START_TIMEOUT: Duration = Duration::from_secs(30);

/// The dashboard's password on the instances the bench starts (the dashboard's weight is
/// measured signed in).
pub const ADMIN_PASSWORD: &str = "bench-admin-password-1";

/// The CPU time (user and system) a process has used so far, in microseconds.
pub fn cpu_micros(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name, in parentheses, may hold spaces: count the fields after it. The first
    // is the state (field 3); utime and stime are fields 14 and 15, in USER_HZ (100 on Linux).
    let fields: Vec<&str> = stat.get(stat.rfind(')')? + 1..)?.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    Some(ticks * 10_000)
}

/// The CPU time of every process named `postgres` on this machine (the server the bench uses,
/// and any other running here), in microseconds.
pub fn postgres_cpu_micros() -> u64 {
    let Ok(entries) = std::fs::read_dir("/proc") else { return 0 };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|comm| comm.trim_end() == "postgres")
        })
        .filter_map(cpu_micros)
        .sum()
}

pub fn free_addr() -> Result<SocketAddr, String> {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map_err(|e| format!("no free port: {e}"))
}

/// A running child process serving HTTP on `addr`.
pub struct Served {
    pub name: &'static str,
    pub addr: SocketAddr,
    /// From spawning the process to its first 200 on the ready path.
    pub startup: Duration,
    child: Option<Child>,
    log: Option<PathBuf>,
}

impl Served {
    /// Spawns `command` (already told to listen on `addr`) and waits for `GET ready_path` to
    /// answer 200. Its output goes to `log` when given.
    pub async fn start(
        name: &'static str,
        mut command: Command,
        addr: SocketAddr,
        ready_path: &str,
        log: Option<&Path>,
    ) -> Result<Served, String> {
        let output = |log: Option<&Path>| match log {
            Some(path) => std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map(Stdio::from)
                .unwrap_or_else(|_| Stdio::null()),
            None => Stdio::null(),
        };
        command.stdin(Stdio::null()).stdout(output(log)).stderr(output(log));
        let spawned = Instant::now();
        let child = command.spawn().map_err(|e| format!("{name} does not start: {e}"))?;
        let mut served =
            Served { name, addr, startup: Duration::ZERO, child: Some(child), log: log.map(Path::to_path_buf) };
        let mut client = Client::new(addr);
        loop {
            // Connection refused is answered at once, so a short pause keeps the resolution
            // near a millisecond without stealing the starting process's CPU.
            if let Ok(answer) = client.get(ready_path, &[]).await {
                if answer.status == 200 {
                    served.startup = spawned.elapsed();
                    return Ok(served);
                }
            }
            if let Some(status) = served.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                return Err(format!("{name} exited during start ({status}){}", served.log_tail()));
            }
            if spawned.elapsed() > START_TIMEOUT {
                return Err(format!(
                    "{name} did not answer GET {ready_path} with 200 within {} s{}",
                    START_TIMEOUT.as_secs(),
                    served.log_tail()
                ));
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Peak resident set size so far (VmHWM), in bytes.
    pub fn peak_rss(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
        let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
        Some(kb * 1024)
    }

    fn log_tail(&self) -> String {
        let Some(text) = self.log.as_ref().and_then(|p| std::fs::read_to_string(p).ok()) else {
            return String::new();
        };
        let lines: Vec<&str> = text.lines().collect();
        let tail = lines[lines.len().saturating_sub(15)..].join("\n");
        if tail.is_empty() {
            String::new()
        } else {
            format!("; its last output:\n{tail}")
        }
    }

    /// SIGTERM (a graceful stop), then SIGKILL after 10 s.
    pub async fn stop(mut self) {
        self.stop_now().await;
    }

    async fn stop_now(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        eprintln!("latchkey-bench: {} did not stop on SIGTERM within 10 s; killing it", self.name);
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// How to start `latchkey` for the benchmark.
pub struct LatchkeySetup {
    pub binary: PathBuf,
    pub root: PathBuf,
    pub data_dir: PathBuf,
    pub addr: SocketAddr,
    pub database_url: Option<String>,
    /// `LEPTOS_SITE_ROOT`, when not Leptos.toml's `target/site`.
    pub site_root: Option<PathBuf>,
}

impl LatchkeySetup {
    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.binary);
        command
            .current_dir(&self.root)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("LEPTOS_SITE_ADDR", self.addr.to_string())
            .env("LATCHKEY_DATA_DIR", &self.data_dir)
            .env("LATCHKEY_RATE_LIMIT", "0")
            // The backend API, for registering the webhook endpoint of the webhook figure.
            .env("LATCHKEY_SECRET_KEY", crate::webhooks::SECRET_KEY)
            // The longest a session token may live: the one minted for the SDK figures must stay
            // valid for as long as they are measured.
            .env("LATCHKEY_TOKEN_LIFETIME", "3600")
            .env("LATCHKEY_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("RUST_LOG", "warn");
        if let Some(url) = &self.database_url {
            command.env("DATABASE_URL", url);
        }
        if let Some(site_root) = &self.site_root {
            command.env("LEPTOS_SITE_ROOT", site_root);
        }
        command
    }

    pub async fn start(&self) -> Result<Served, String> {
        let log = self.data_dir.join("latchkey.log");
        Served::start("latchkey", self.command(), self.addr, "/readyz", Some(&log)).await
    }
}

/// The baseline: this binary again, as `latchkey-bench baseline-server ADDR`.
pub async fn start_baseline(addr: SocketAddr) -> Result<Served, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find latchkey-bench itself: {e}"))?;
    let mut command = Command::new(exe);
    command.arg("baseline-server").arg(addr.to_string());
    Served::start("baseline", command, addr, "/", None).await
}
