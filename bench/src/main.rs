//! `latchkey-bench`: starts the release `latchkey` and a baseline hello-world server on loopback,
//! loads both, and writes `BENCHMARKS.md`. Every speed is a ratio to the baseline measured in the
//! same run: the machines here are small and shared, so absolute numbers drift.
//!
//! ```text
//! latchkey-bench [run] [--root DIR] [--latchkey BINARY] [--site-root DIR] [--out FILE]
//!                [--seconds N] [--warmup N] [--connections N] [--sign-in-concurrency N]
//!                [--max-sign-ins N] [--starts N] [--rounds N]
//! latchkey-bench baseline-server 127.0.0.1:PORT
//! latchkey-bench load 127.0.0.1:PORT (sign-ins | sign-ins-many | /path)
//!                [--method GET|POST] [--cookie NAME=VALUE] [--connections N] [--seconds N]
//! ```
//!
//! `load` puts one load on a server already running (for profiling it, e.g. under `perf record`)
//! and prints the figures; it writes nothing.
//!
//! `LATCHKEY_BENCH_POSTGRES` (a PostgreSQL server URL) adds the sign-ins on PostgreSQL.
#![forbid(unsafe_code)]

mod baseline;
mod load;
mod machine;
mod oidc;
mod procs;
mod report;
mod signin;
mod tokens;
mod webhooks;
mod weight;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hyper::header::{HeaderName, AUTHORIZATION, COOKIE};
use hyper::Method;

use crate::load::{Client, LoadResult, LoadSpec};
use crate::procs::{free_addr, LatchkeySetup, Served};
use crate::signin::StepTimes;

#[derive(Debug, Clone)]
pub struct Options {
    pub root: PathBuf,
    pub out: PathBuf,
    /// The `latchkey` binary (default: ROOT/target/release/latchkey).
    pub latchkey: Option<PathBuf>,
    /// The site bundle it serves (default: what Leptos.toml says, target/site).
    pub site_root: Option<PathBuf>,
    pub seconds: u64,
    pub warmup: u64,
    pub connections: usize,
    pub sign_in_concurrency: usize,
    pub max_sign_ins: u64,
    pub starts: usize,
    /// Each comparison alternates baseline and Latchkey this many times.
    pub rounds: u32,
    pub postgres: Option<String>,
    /// How the run was started, for the report.
    pub command: String,
}

const USAGE: &str = "usage: latchkey-bench [run] [--root DIR] [--latchkey BINARY] [--site-root DIR] [--out FILE] [--seconds N] [--warmup N] \
[--connections N] [--sign-in-concurrency N] [--max-sign-ins N] [--starts N] [--rounds N]
       latchkey-bench baseline-server 127.0.0.1:PORT
       latchkey-bench load 127.0.0.1:PORT (sign-ins | sign-ins-many | /path) [--method GET|POST] [--cookie NAME=VALUE] [--connections N] [--seconds N]
LATCHKEY_BENCH_POSTGRES=postgres://… adds the sign-ins on PostgreSQL.";

impl Options {
    fn parse(args: &[String]) -> Result<Options, String> {
        let root = std::env::current_dir().map_err(|e| format!("current directory: {e}"))?;
        let mut options = Options {
            out: root.join("BENCHMARKS.md"),
            root,
            latchkey: None,
            site_root: None,
            seconds: 5,
            warmup: 1,
            connections: 64,
            sign_in_concurrency: 32,
            max_sign_ins: 10_000,
            starts: 5,
            rounds: 5,
            postgres: std::env::var("LATCHKEY_BENCH_POSTGRES").ok().filter(|s| !s.trim().is_empty()),
            command: {
                let own = std::iter::once("latchkey-bench".to_string()).chain(args.iter().cloned()).collect::<Vec<_>>();
                match std::env::var("LATCHKEY_BENCH_COMMAND").ok().filter(|s| !s.trim().is_empty()) {
                    Some(outer) => format!("`{}` (which runs `{}`)", outer.trim(), own.join(" ")),
                    None => format!("`{}`", own.join(" ")),
                }
            },
        };
        let mut out_given = false;
        let mut rest = args.iter().skip_while(|a| *a == "run");
        while let Some(flag) = rest.next() {
            let mut value = || rest.next().cloned().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"));
            let number = |v: String| v.parse::<u64>().map_err(|_| format!("{flag}: not a number: {v}"));
            match flag.as_str() {
                "--root" => options.root = PathBuf::from(value()?),
                "--latchkey" => options.latchkey = Some(PathBuf::from(value()?)),
                "--site-root" => options.site_root = Some(PathBuf::from(value()?)),
                "--out" => {
                    options.out = PathBuf::from(value()?);
                    out_given = true;
                }
                "--seconds" => options.seconds = number(value()?)?.clamp(1, 60),
                "--warmup" => options.warmup = number(value()?)?.min(30),
                "--connections" => options.connections = number(value()?)?.clamp(1, 1024) as usize,
                "--sign-in-concurrency" => options.sign_in_concurrency = number(value()?)?.clamp(1, 1024) as usize,
                "--max-sign-ins" => options.max_sign_ins = number(value()?)?.clamp(1, 1_000_000),
                "--starts" => options.starts = number(value()?)?.clamp(1, 20) as usize,
                "--rounds" => options.rounds = number(value()?)?.clamp(1, 20) as u32,
                "-h" | "--help" => return Err(USAGE.to_string()),
                other => return Err(format!("unknown argument {other}\n{USAGE}")),
            }
        }
        if !out_given {
            options.out = options.root.join("BENCHMARKS.md");
        }
        Ok(options)
    }

    fn spec(&self, connections: usize, max_operations: u64) -> LoadSpec {
        LoadSpec {
            connections,
            warmup: Duration::from_secs(self.warmup),
            duration: Duration::from_secs(self.seconds),
            max_operations,
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("baseline-server") => return baseline::serve(args.get(1)),
        Some("load") => return one_load(&args[1..]),
        _ => {}
    }
    let options = match Options::parse(&args) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("latchkey-bench: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(&options)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("latchkey-bench: {message}");
            ExitCode::from(1)
        }
    }
}

/// A speed of Latchkey beside the baseline's, measured right before it.
#[derive(Debug, Clone)]
pub struct Compared {
    pub measured: LoadResult,
    pub baseline: LoadResult,
    /// Sign-ins only: mean milliseconds of the start, consent and callback requests.
    pub steps: Option<[f64; 3]>,
    /// Sign-ins only: what one cost the machine.
    pub cost: Option<SignInCost>,
}

/// What one sign-in cost, over the measured rounds and their warm-up: Latchkey's CPU and, on
/// PostgreSQL, the database server's CPU and how many transactions it committed (each statement
/// outside a transaction is one). Why a ratio between engines is what it is, on this machine.
#[derive(Debug, Clone, Copy, Default)]
pub struct SignInCost {
    /// The sign-ins counted (the measured rounds' and the warm-up's).
    pub sign_ins: u64,
    pub latchkey_us: f64,
    pub postgres_us: Option<f64>,
    pub transactions: Option<f64>,
}

impl Compared {
    pub fn ratio(&self) -> f64 {
        self.measured.per_second() / self.baseline.per_second()
    }
}

/// Everything one run measured.
pub struct Results {
    pub machine: machine::Machine,
    pub date: String,
    pub load_before: String,
    pub load_after: String,
    pub fixed_spec: LoadSpec,
    pub sign_in_spec: LoadSpec,
    pub baseline_startups: Vec<Duration>,
    pub latchkey_startups: Vec<Duration>,
    pub baseline_idle_rss: Option<u64>,
    pub baseline_loaded_rss: Option<u64>,
    pub idle_rss: Option<u64>,
    pub loaded_rss: Option<u64>,
    pub me: Compared,
    /// `POST /v1/me/token` beside the baseline.
    pub mint: Compared,
    /// What needs a minted token; `Err` when none could be minted or verified.
    pub tokens: Result<TokenFigures, String>,
    pub portal: Compared,
    pub sign_ins: Compared,
    /// Subscribed (measured) vs no endpoint (baseline), on the same server.
    pub sign_ins_webhook: Result<Compared, String>,
    /// OpenID Provider: complete app sign-ins and refreshes, each beside the baseline.
    pub oidc: Result<(Compared, Compared), String>,
    /// `None`: `LATCHKEY_BENCH_POSTGRES` unset.
    pub sign_ins_postgres: Option<Result<Compared, String>>,
    pub pages: Vec<weight::PageWeight>,
    pub widget: weight::PageWeight,
}

/// The SDK's figures, on a token the running Latchkey minted.
pub struct TokenFigures {
    pub verify_cached: tokens::VerifyTime,
    pub verify: tokens::VerifyTime,
    /// The route behind `LatchkeyLayer` (measured) beside the same route without it (baseline).
    pub layer: Compared,
}

fn step(text: &str) {
    eprintln!("==> {text}");
}

async fn run(options: &Options) -> Result<(), String> {
    let root = options.root.canonicalize().map_err(|e| format!("{}: {e}", options.root.display()))?;
    let binary = options.latchkey.clone().unwrap_or_else(|| root.join("target/release/latchkey"));
    if !binary.exists() {
        return Err(format!("{} is missing: run `scripts/build-release.sh` (or `make bench`) first", binary.display()));
    }
    let site_root = options.site_root.clone().unwrap_or_else(|| root.join("target/site"));
    let site_root = site_root.canonicalize().map_err(|e| format!("{}: {e}", site_root.display()))?;
    if !root.join("Leptos.toml").exists() {
        return Err(format!("{} is not the repository root (no Leptos.toml)", root.display()));
    }
    let machine = machine::describe(&root);
    let date = machine::now_utc();
    let load_before = machine::load_average();
    let fixed_spec = options.spec(options.connections, 5_000_000);
    let sign_in_spec = options.spec(options.sign_in_concurrency, options.max_sign_ins);

    // Start-up: the baseline's, then Latchkey's on an existing database.
    step(&format!("start-up: baseline hello server, {} starts", options.starts));
    let mut baseline_startups = Vec::new();
    for _ in 0..options.starts {
        let served = procs::start_baseline(free_addr()?).await?;
        baseline_startups.push(served.startup);
        served.stop().await;
    }
    let baseline = procs::start_baseline(free_addr()?).await?;

    let data_dir = tempfile::Builder::new()
        .prefix("latchkey-bench-")
        .tempdir()
        .map_err(|e| format!("temporary directory: {e}"))?;
    let setup = LatchkeySetup {
        binary: binary.clone(),
        root: root.clone(),
        data_dir: data_dir.path().to_path_buf(),
        addr: free_addr()?,
        database_url: None,
        site_root: options.site_root.as_ref().map(|_| site_root.clone()),
    };
    step("start-up: latchkey creates its SQLite database (not timed)");
    setup.start().await?.stop().await;
    step(&format!("start-up: latchkey on the existing database, {} starts", options.starts));
    let mut latchkey_startups = Vec::new();
    for _ in 1..options.starts {
        let served = setup.start().await?;
        latchkey_startups.push(served.startup);
        served.stop().await;
    }
    // The last start stays up for everything else.
    let latchkey = setup.start().await?;
    latchkey_startups.push(latchkey.startup);

    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_rss = latchkey.peak_rss();
    let baseline_idle_rss = baseline.peak_rss();

    step("signing in once through the sandbox");
    let mut client = Client::new(latchkey.addr);
    let session = signin::sign_in(&mut client, "ada").await.map_err(|e| format!("the first sign-in failed: {e}"))?;
    let session_cookie = vec![(COOKIE, format!("{}={session}", signin::SESSION_COOKIE))];

    step(&format!("session check: GET /v1/me vs baseline, {}", fixed_spec.describe()));
    let me = compare_get(options, &fixed_spec, baseline.addr, latchkey.addr, "/v1/me", session_cookie.clone()).await;
    step(&format!("session tokens: POST {} vs baseline, {}", tokens::MINT_PATH, fixed_spec.describe()));
    let mint = compare_request(
        options,
        &fixed_spec,
        baseline.addr,
        latchkey.addr,
        Method::POST,
        tokens::MINT_PATH,
        session_cookie.clone(),
    )
    .await;
    let tokens = token_figures(options, &fixed_spec, &mut client, latchkey.addr, &session_cookie).await;
    if let Err(e) = &tokens {
        eprintln!("latchkey-bench: the SDK figures were not measured: {e}");
    }
    step(&format!(
        "OpenID Provider: authorize → token → userinfo, then token refreshes, each vs baseline, {}",
        fixed_spec.describe()
    ));
    let oidc = oidc::figures(&fixed_spec, options.rounds, latchkey.addr, baseline.addr, &session).await;
    if let Err(e) = &oidc {
        eprintln!("latchkey-bench: the OpenID Provider figures were not measured: {e}");
    }
    step(&format!("portal page: GET /sign-in vs baseline, {}", fixed_spec.describe()));
    let portal = compare_get(options, &fixed_spec, baseline.addr, latchkey.addr, "/sign-in", vec![]).await;

    step("page weight: /sign-in, /user, /dashboard, /widget.js");
    let site_pkg = site_root.join("pkg");
    let mut pages = Vec::new();
    let user_cookie = format!("{}={session}", signin::SESSION_COOKIE);
    // The dashboard as its admin sees it: signed in, on its first section (signed out it is
    // only a password form).
    let admin_cookie = match admin_sign_in(&mut client).await {
        Ok(cookie) => Some(cookie),
        Err(e) => {
            eprintln!("latchkey-bench: the dashboard is weighed signed out: {e}");
            None
        }
    };
    for (page, cookie) in
        [("/sign-in", None), ("/user", Some(user_cookie.as_str())), ("/dashboard", admin_cookie.as_deref())]
    {
        pages.push(weight::page(&mut client, page, cookie, &site_pkg).await);
    }
    let widget = weight::page(&mut client, "/widget.js", None, &site_pkg).await;

    step(&format!("sign-ins on SQLite vs baseline, {}", sign_in_spec.describe()));
    let sign_ins = compare_sign_ins(options, &sign_in_spec, baseline.addr, &latchkey, false).await;
    step(&format!("sign-ins on SQLite, one webhook endpoint subscribed vs none, {}", sign_in_spec.describe()));
    let sign_ins_webhook =
        webhooks::sign_ins_with_and_without(&sign_in_spec, options.rounds, latchkey.addr, baseline.addr).await;
    if let Err(e) = &sign_ins_webhook {
        eprintln!("latchkey-bench: the webhook figure was not measured: {e}");
    }
    let loaded_rss = latchkey.peak_rss();
    latchkey.stop().await;

    let sign_ins_postgres = match &options.postgres {
        None => None,
        Some(server_url) => {
            step(&format!("sign-ins on PostgreSQL vs baseline, {}", sign_in_spec.describe()));
            Some(postgres_sign_ins(options, server_url, &setup, &sign_in_spec, &baseline).await)
        }
    };
    let baseline_loaded_rss = baseline.peak_rss();
    baseline.stop().await;

    let results = Results {
        machine,
        date,
        load_before,
        load_after: machine::load_average(),
        fixed_spec,
        sign_in_spec,
        baseline_startups,
        latchkey_startups,
        baseline_idle_rss,
        baseline_loaded_rss,
        idle_rss,
        loaded_rss,
        me,
        mint,
        tokens,
        portal,
        sign_ins,
        sign_ins_webhook,
        oidc,
        sign_ins_postgres,
        pages,
        widget,
    };
    let previous = std::fs::read_to_string(&options.out).unwrap_or_default();
    let text = report::render(&results, options, &previous);
    std::fs::write(&options.out, &text).map_err(|e| format!("{}: {e}", options.out.display()))?;
    eprintln!("{}", report::summary(&results));
    step(&format!("wrote {}", options.out.display()));
    Ok(())
}

/// Signs in to the dashboard as its admin (the password `procs` starts Latchkey with), as the
/// dashboard's form does; the admin's cookie as `name=value`.
async fn admin_sign_in(client: &mut Client) -> Result<String, String> {
    let origin = vec![(hyper::header::ORIGIN, client.origin())];
    let form = format!("username=admin&password={}", procs::ADMIN_PASSWORD);
    let answer = client
        .send(Method::POST, "/api/dashboard/sign-in", &origin, Some(("application/x-www-form-urlencoded", form)))
        .await?;
    let cookie = answer.set_cookie(ADMIN_COOKIE).ok_or_else(|| format!("admin sign-in answered {}", answer.status))?;
    Ok(format!("{ADMIN_COOKIE}={cookie}"))
}

/// The dashboard's cookie on plain http (loopback).
const ADMIN_COOKIE: &str = "latchkey_admin";

/// `GET path` on Latchkey beside `GET /` on the baseline, in alternating rounds.
async fn compare_get(
    options: &Options,
    spec: &LoadSpec,
    baseline: SocketAddr,
    latchkey: SocketAddr,
    path: &str,
    headers: Vec<(HeaderName, String)>,
) -> Compared {
    compare_request(options, spec, baseline, latchkey, Method::GET, path, headers).await
}

/// `method path` on Latchkey (200 expected) beside `GET /` on the baseline, in alternating rounds.
async fn compare_request(
    options: &Options,
    spec: &LoadSpec,
    baseline: SocketAddr,
    latchkey: SocketAddr,
    method: Method,
    path: &str,
    headers: Vec<(HeaderName, String)>,
) -> Compared {
    let (baseline, measured) = load::alternate(
        spec,
        options.rounds,
        |round| async move { load::hammer_get(&round, baseline, "/", vec![], 200).await },
        |round| {
            let headers = headers.clone();
            let method = method.clone();
            async move { load::hammer(&round, latchkey, method, path, headers, 200).await }
        },
    )
    .await;
    Compared { baseline, measured, steps: None, cost: None }
}

/// One token minted with the session cookie; the SDK's verifier with its JWKS fetched; the
/// verification times; then the route behind `LatchkeyLayer` beside the same route without it,
/// both with that token as `Authorization: Bearer`, in alternating rounds.
async fn token_figures(
    options: &Options,
    spec: &LoadSpec,
    client: &mut Client,
    latchkey: SocketAddr,
    session_cookie: &[(HeaderName, String)],
) -> Result<TokenFigures, String> {
    let token = tokens::mint(client, session_cookie).await?;
    let verifier = tokens::verifier(latchkey).await?;
    step(&format!(
        "SDK: verify_cached of one minted token, warm JWKS, {} calls",
        load::group(tokens::VERIFY_CALLS.into())
    ));
    let verify_cached = tokens::time_verify_cached(&verifier, &token).await?;
    step(&format!("SDK: verify(…).await of the same token, {} calls", load::group(tokens::VERIFY_CALLS.into())));
    let verify = tokens::time_verify(&verifier, &token).await?;

    let routes = tokens::SdkRoutes::serve(verifier).await?;
    step(&format!("SDK: GET / behind LatchkeyLayer vs the same route without it, {}", spec.describe()));
    let bearer = vec![(AUTHORIZATION, format!("Bearer {token}"))];
    let (plain, layered) = (routes.plain, routes.layered);
    let (baseline, measured) = load::alternate(
        spec,
        options.rounds,
        |round| {
            let bearer = bearer.clone();
            async move { load::hammer_get(&round, plain, "/", bearer, 200).await }
        },
        |round| {
            let bearer = bearer.clone();
            async move { load::hammer_get(&round, layered, "/", bearer, 200).await }
        },
    )
    .await;
    drop(routes);
    Ok(TokenFigures { verify_cached, verify, layer: Compared { baseline, measured, steps: None, cost: None } })
}

/// Sign-ins on Latchkey beside `GET /` on the baseline at the same concurrency, in alternating
/// rounds; with the mean time of the start, consent and callback requests.
/// `latchkey`'s CPU is counted by its process id, and with `postgres` the database server's too.
async fn compare_sign_ins(
    options: &Options,
    spec: &LoadSpec,
    baseline: SocketAddr,
    latchkey: &Served,
    postgres: bool,
) -> Compared {
    let (pid, latchkey) = (latchkey.pid(), latchkey.addr);
    let recorded = Arc::new(StepTimes::from(Instant::now()));
    let calls = AtomicU32::new(0);
    let signed_in = AtomicU64::new(0);
    let cpu_before = (pid.and_then(procs::cpu_micros), postgres.then(procs::postgres_cpu_micros));
    let (baseline, measured) = load::alternate(
        spec,
        options.rounds,
        // The baseline is bounded by time only: the sign-ins' count bound would cut it short.
        |round| async move {
            let round = LoadSpec { max_operations: 5_000_000, ..round };
            load::hammer_get(&round, baseline, "/", vec![], 200).await
        },
        |round| {
            // The first call is the warm-up: its times are not kept.
            let warmup = calls.fetch_add(1, Ordering::Relaxed) == 0 && !spec.warmup.is_zero();
            let times = if warmup { Arc::new(StepTimes::from(Instant::now())) } else { recorded.clone() };
            let signed_in = &signed_in;
            async move {
                let result = sign_in_load(&round, latchkey, 0, times).await;
                signed_in.fetch_add(result.ok, Ordering::Relaxed);
                result
            }
        },
    )
    .await;
    let sign_ins = signed_in.load(Ordering::Relaxed);
    let per_sign_in = |used: u64| used as f64 / sign_ins.max(1) as f64;
    let cost = match (cpu_before.0, pid.and_then(procs::cpu_micros)) {
        (Some(before), Some(after)) => Some(SignInCost {
            sign_ins,
            latchkey_us: per_sign_in(after.saturating_sub(before)),
            postgres_us: cpu_before.1.map(|before| per_sign_in(procs::postgres_cpu_micros().saturating_sub(before))),
            transactions: None,
        }),
        _ => None,
    };
    Compared { baseline, measured, steps: recorded.means_ms(), cost }
}

/// The sign-in load. `people`: 0 for the sample person `ada` every time, else that many people
/// of our own in turn. Each request's time goes into `times`.
pub(crate) async fn sign_in_load(spec: &LoadSpec, addr: SocketAddr, people: u64, times: Arc<StepTimes>) -> LoadResult {
    let turn = Arc::new(AtomicU64::new(0));
    load::run(spec, addr, move |mut client: Client| {
        let times = times.clone();
        let n = turn.fetch_add(1, Ordering::Relaxed);
        async move {
            let person = if people == 0 { "ada".to_string() } else { format!("bench-{}", n % people) };
            let outcome = signin::sign_in_timed(&mut client, &person, Some(&times)).await.map(|_| ());
            (client, outcome)
        }
    })
    .await
}

/// A fresh database `bench_<random>` on the PostgreSQL server, Latchkey on it, the sign-in load,
/// and the database dropped again.
async fn postgres_sign_ins(
    options: &Options,
    server_url: &str,
    sqlite_setup: &LatchkeySetup,
    spec: &LoadSpec,
    baseline: &Served,
) -> Result<Compared, String> {
    let name = format!("bench_{}", random_suffix());
    psql(server_url, &format!("CREATE DATABASE {name}"))?;
    let base = server_url.split('?').next().unwrap_or(server_url);
    let base = base.rsplit_once('/').map(|(b, _)| b).unwrap_or(base);
    let data_dir = tempfile::Builder::new()
        .prefix("latchkey-bench-pg-")
        .tempdir()
        .map_err(|e| format!("temporary directory: {e}"))?;
    let setup = LatchkeySetup {
        binary: sqlite_setup.binary.clone(),
        root: sqlite_setup.root.clone(),
        data_dir: data_dir.path().to_path_buf(),
        addr: free_addr()?,
        database_url: Some(format!("{base}/{name}")),
        site_root: sqlite_setup.site_root.clone(),
    };
    let outcome = async {
        let latchkey = setup.start().await?;
        let mut client = Client::new(latchkey.addr);
        signin::sign_in(&mut client, "ada")
            .await
            .map_err(|e| format!("the first sign-in on PostgreSQL failed: {e}"))?;
        let committed =
            || psql_number(server_url, &format!("SELECT xact_commit FROM pg_stat_database WHERE datname = '{name}'"));
        let before = committed();
        let mut compared = compare_sign_ins(options, spec, baseline.addr, &latchkey, true).await;
        // A server process reports its counts when its connection ends (or after a pause):
        // read them once Latchkey's connections are closed.
        latchkey.stop().await;
        if let (Some(cost), Ok(before), Ok(after)) = (&mut compared.cost, before, committed()) {
            cost.transactions = Some(after.saturating_sub(before) as f64 / cost.sign_ins.max(1) as f64);
        }
        Ok(compared)
    }
    .await;
    if let Err(e) = psql(server_url, &format!("DROP DATABASE IF EXISTS {name}")) {
        eprintln!("latchkey-bench: {e}");
    }
    outcome
}

fn random_suffix() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0);
    format!("{:x}{:x}", std::process::id(), nanos)
}

/// Runs one statement with `psql` (Debian's PostgreSQL client, next to the server
/// `scripts/postgres.sh` starts); what it printed, unaligned and without headers.
fn psql(server_url: &str, sql: &str) -> Result<String, String> {
    let mut candidates = vec![PathBuf::from("psql")];
    if let Ok(dirs) = std::fs::read_dir("/usr/lib/postgresql") {
        let mut found: Vec<PathBuf> = dirs.filter_map(|d| d.ok()).map(|d| d.path().join("bin/psql")).collect();
        found.sort();
        candidates.extend(found.into_iter().rev());
    }
    let mut last_error = String::from("psql not found");
    for psql in candidates {
        match Command::new(&psql)
            .args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", server_url, "-c", sql])
            .output()
        {
            Ok(output) if output.status.success() => {
                return Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
            }
            Ok(output) => {
                return Err(format!("psql `{sql}`: {}", String::from_utf8_lossy(&output.stderr).trim()));
            }
            Err(e) => last_error = format!("{}: {e}", psql.display()),
        }
    }
    Err(last_error)
}

/// A query answering one whole number.
fn psql_number(server_url: &str, sql: &str) -> Result<u64, String> {
    let answer = psql(server_url, sql)?;
    answer.parse().map_err(|_| format!("psql `{sql}` answered `{answer}`, not a number"))
}

/// `latchkey-bench load ADDR (sign-ins | /path) …`: one load on a running server, for profiling.
fn one_load(args: &[String]) -> ExitCode {
    let parsed = (|| -> Result<(std::net::SocketAddr, String, Method, Option<String>, LoadSpec), String> {
        let addr = args.first().ok_or(USAGE)?.parse().map_err(|e| format!("address: {e}\n{USAGE}"))?;
        let what = args.get(1).ok_or(USAGE)?.clone();
        let mut cookie = None;
        let mut method = Method::GET;
        let mut spec = LoadSpec {
            connections: 64,
            warmup: Duration::from_secs(1),
            duration: Duration::from_secs(10),
            max_operations: 5_000_000,
        };
        let mut rest = args[2..].iter();
        while let Some(flag) = rest.next() {
            let value = rest.next().ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?;
            let number = || value.parse::<u64>().map_err(|_| format!("{flag}: not a number: {value}"));
            match flag.as_str() {
                "--cookie" => cookie = Some(value.clone()),
                "--method" => {
                    method = Method::from_bytes(value.to_ascii_uppercase().as_bytes())
                        .map_err(|_| format!("--method: not a method: {value}"))?
                }
                "--connections" => spec.connections = number()?.clamp(1, 1024) as usize,
                "--seconds" => spec.duration = Duration::from_secs(number()?.clamp(1, 600)),
                other => return Err(format!("unknown argument {other}\n{USAGE}")),
            }
        }
        Ok((addr, what, method, cookie, spec))
    })();
    let (addr, what, method, cookie, spec) = match parsed {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let Ok(runtime) = tokio::runtime::Builder::new_multi_thread().enable_all().build() else {
        return ExitCode::from(1);
    };
    let (result, steps) = runtime.block_on(async {
        if what == "sign-ins" || what == "sign-ins-many" {
            // `sign-ins-many`: 1,000 people of our own in turn instead of the same sample person.
            let times = Arc::new(StepTimes::from(Instant::now() + spec.warmup));
            let people = if what == "sign-ins" { 0 } else { 1000 };
            (sign_in_load(&spec, addr, people, times.clone()).await, times.means_ms())
        } else {
            let headers = cookie.map(|c| vec![(COOKIE, c)]).unwrap_or_default();
            (load::hammer(&spec, addr, method, &what, headers, 200).await, None)
        }
    });
    println!(
        "{what}: {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, {} ok, {} errors{}{}",
        result.per_second(),
        result.percentile_ms(0.5),
        result.percentile_ms(0.99),
        result.ok,
        result.errors,
        steps
            .map(|[s, c, b]| format!("; mean start {s:.2} ms, consent {c:.2} ms, callback {b:.2} ms"))
            .unwrap_or_default(),
        result.first_error.map(|e| format!(" (first: {e})")).unwrap_or_default()
    );
    ExitCode::SUCCESS
}
