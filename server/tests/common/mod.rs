//! The harness for integration tests: the real `latchkey` binary on loopback with a real SQLite
//! file, browsers with cookie jars we can inspect, and a stand-in for Notion.
//!
//! Every test runs on both engines in one `cargo test`: each test binary runs its tests on
//! SQLite, and its test [`again_on_postgresql`] runs the same binary again with
//! `LATCHKEY_TEST_ENGINE=postgres`, where every [`Server`] gets a fresh database on a PostgreSQL
//! server: `LATCHKEY_TEST_POSTGRES` (a server URL) when set, else a scratch cluster of this
//! checkout's own (`target/test-pg`, started once from the machine's PostgreSQL binaries and
//! left running for the next runs; `scripts/postgres.sh stop target/test-pg` removes it).
//! `LATCHKEY_TEST_ENGINE=sqlite` or `=postgres` runs one engine only.
#![allow(dead_code)]

pub mod fake_notion;

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, LOCATION, SET_COOKIE};
use reqwest::{Method, StatusCode};
use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// A running `latchkey` process with its own data directory.
pub struct Server {
    pub base: String,
    pub port: u16,
    pub data_dir: tempfile::TempDir,
    /// The server's database: a SQLite file in `data_dir`, or (with `LATCHKEY_TEST_POSTGRES`
    /// set to a server URL) a fresh PostgreSQL database of its own.
    pub database_url: String,
    env: Vec<(String, String)>,
    child: Option<Child>,
}

impl Server {
    pub async fn start(env: &[(&str, &str)]) -> Server {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let database_url = if on_postgres() {
            let server_url = postgres_server().unwrap_or_else(|why| panic!("LATCHKEY_TEST_ENGINE=postgres: {why}"));
            fresh_postgres_database(&server_url).await
        } else {
            format!("sqlite://{}", data_dir.path().join("latchkey.db").display())
        };
        let mut env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        if !env.iter().any(|(k, _)| k == "DATABASE_URL") {
            env.push(("DATABASE_URL".into(), database_url.clone()));
        }
        let mut server =
            Server { base: format!("http://127.0.0.1:{port}"), port, data_dir, database_url, env, child: None };
        server.spawn().await;
        server
    }

    pub fn command(&self) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_latchkey"));
        command
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("LEPTOS_SITE_ADDR", format!("127.0.0.1:{}", self.port))
            .env("LATCHKEY_DATA_DIR", self.data_dir.path())
            // Warnings, and the line saying where it listens (see `spawn`).
            .env("RUST_LOG", "warn,latchkey::listening=info")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(self.log_file())
            .stderr(self.log_file());
        command
    }

    /// Starts the child and waits until it answers. Ready means *this* child answers: its own
    /// log says it listens on the port, and `/readyz` is 200. (A `/readyz` alone could be another
    /// test's server that took the same free port while ours failed to bind.)
    async fn spawn(&mut self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut attempts = 0;
        let mut log_start = self.log().len();
        self.child = Some(self.command().spawn().expect("latchkey starts"));
        loop {
            let listening = format!("listening on 127.0.0.1:{}", self.port);
            let ours = self.log().get(log_start..).is_some_and(|new| new.contains(&listening));
            if ours {
                if let Ok(response) = client.get(format!("{}/readyz", self.base)).send().await {
                    if response.status() == StatusCode::OK {
                        return;
                    }
                }
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                // Another test took the free port between our look and the server's bind: move.
                if self.log().get(log_start..).is_some_and(|new| new.contains("cannot listen")) && attempts < 3 {
                    attempts += 1;
                    self.port = free_port();
                    self.base = format!("http://127.0.0.1:{}", self.port);
                    log_start = self.log().len();
                    self.child = Some(self.command().spawn().expect("latchkey starts"));
                    continue;
                }
                panic!("latchkey exited during start: {status}\n{}", self.log());
            }
            assert!(Instant::now() < deadline, "latchkey did not become ready:\n{}", self.log());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The running child's memory in bytes: (resident now, peak resident so far), from
    /// `/proc/<pid>/status` (Linux).
    pub fn memory(&self) -> (u64, u64) {
        let pid = self.child.as_ref().expect("a running server").id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("/proc/<pid>/status");
        let field = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name))
                .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                .map(|kib| kib * 1024)
                .unwrap_or_else(|| panic!("{name} in /proc/{pid}/status"))
        };
        (field("VmRSS:"), field("VmHWM:"))
    }

    /// Everything the server printed, appended across restarts.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.path().join("server.log")).unwrap_or_default()
    }

    fn log_file(&self) -> Stdio {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.data_dir.path().join("server.log"))
            .map(Stdio::from)
            .unwrap_or_else(|_| Stdio::null())
    }

    /// `kill -9`: no chance to finish anything.
    pub fn kill_hard(&mut self) {
        if let Some(child) = &self.child {
            let _ = Command::new("kill").args(["-9", &child.id().to_string()]).status();
        }
        self.stop();
    }

    /// A handle on an already running server, for helpers that need its URL only.
    pub fn probe(base: &str, port: u16) -> ServerRef {
        ServerRef { base: base.to_string(), port }
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sets (or replaces) a variable for the next start.
    pub fn set_env(&mut self, name: &str, value: &str) {
        self.env.retain(|(k, _)| k != name);
        self.env.push((name.to_string(), value.to_string()));
    }

    pub async fn restart(&mut self) {
        self.stop();
        self.spawn().await;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir.path().join("latchkey.db")
    }

    pub fn is_postgres(&self) -> bool {
        self.database_url.starts_with("postgres")
    }

    /// The server's own database, opened beside it.
    pub async fn db(&self) -> AnyPool {
        sqlx::any::install_default_drivers();
        AnyPoolOptions::new().max_connections(1).connect(&self.database_url).await.expect("open the server's database")
    }

    /// Everything the database holds, as text: the SQLite files' bytes, or every PostgreSQL
    /// row rendered as text. For "is this secret stored in plaintext anywhere" checks.
    pub async fn stored_text(&self) -> String {
        if !self.is_postgres() {
            let mut text = String::new();
            for suffix in ["db", "db-wal"] {
                let bytes = std::fs::read(self.db_path().with_extension(suffix)).unwrap_or_default();
                text.push_str(&String::from_utf8_lossy(&bytes));
            }
            return text;
        }
        let db = self.db().await;
        let tables: Vec<String> =
            sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'")
                .fetch_all(&db)
                .await
                .expect("tables");
        let mut text = String::new();
        for table in tables {
            let rows: Vec<String> =
                sqlx::query_scalar(&format!("SELECT t::text FROM {table} t")).fetch_all(&db).await.expect("rows");
            text.push_str(&rows.join("\n"));
        }
        db.close().await;
        text
    }

    pub async fn count(&self, table: &str) -> i64 {
        let db = self.db().await;
        let n =
            sqlx::query_scalar::<_, i64>(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(&db).await.expect("count");
        db.close().await;
        n
    }

    pub async fn execute(&self, sql: &str) {
        let db = self.db().await;
        sqlx::query(sql).execute(&db).await.expect("sql runs");
        db.close().await;
    }

    /// Rows a sign-in writes: users, Notion accounts, workspace grants, live sessions.
    pub async fn sign_in_rows(&self) -> [i64; 4] {
        [
            self.count("users").await,
            self.count("external_accounts").await,
            self.count("workspace_grants").await,
            self.count("sessions WHERE revoked_at IS NULL").await,
        ]
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Whether this test process runs on PostgreSQL (`LATCHKEY_TEST_ENGINE=postgres`, as
/// [`again_on_postgresql`] sets), rather than on SQLite.
pub fn on_postgres() -> bool {
    std::env::var("LATCHKEY_TEST_ENGINE").is_ok_and(|engine| engine == "postgres")
}

/// The name of the test each binary has for [`again_on_postgresql`].
pub const AGAIN_ON_POSTGRESQL: &str = "all_tests_again_on_postgresql";

/// Runs every other test of this test binary again, on PostgreSQL, in a child process; fails
/// with the child's output when one of them fails. Each test file that starts a [`Server`] has
///
/// ```ignore
/// #[test]
/// fn all_tests_again_on_postgresql() {
///     common::again_on_postgresql();
/// }
/// ```
///
/// Without PostgreSQL it says so loudly and passes, except under `CI=true` (CI installs it).
pub fn again_on_postgresql() {
    match std::env::var("LATCHKEY_TEST_ENGINE").as_deref() {
        Ok("postgres") => return,
        Ok("sqlite") => {
            to_terminal("LATCHKEY_TEST_ENGINE=sqlite: the run on PostgreSQL is left out\n");
            return;
        }
        _ => {}
    }
    let server_url = match postgres_server() {
        Ok(url) => url,
        Err(why) if std::env::var("CI").is_ok_and(|v| v == "true") => {
            panic!("the integration tests must run on PostgreSQL too, and CI=true: {why}")
        }
        Err(why) => {
            to_terminal(&format!(
                "\n!!! {}: NOT RUN ON POSTGRESQL: {why}\n!!! only SQLite was tested; install PostgreSQL (scripts/setup.sh --test) or set LATCHKEY_TEST_POSTGRES\n\n",
                binary_name()
            ));
            return;
        }
    };
    let exe = std::env::current_exe().expect("the test binary's path");
    let output = Command::new(&exe)
        .env("LATCHKEY_TEST_ENGINE", "postgres")
        .env("LATCHKEY_TEST_POSTGRES", &server_url)
        .args(["--skip", AGAIN_ON_POSTGRESQL])
        .stdin(Stdio::null())
        .output()
        .expect("the test binary runs again");
    let stdout = String::from_utf8_lossy(&output.stdout);
    // What each test did, beside the SQLite run's lines.
    let mut report = String::new();
    for line in stdout.lines().filter(|line| line.starts_with("test ")) {
        report.push_str(&format!("{} on PostgreSQL: {line}\n", binary_name()));
    }
    to_terminal(&report);
    assert!(
        output.status.success(),
        "{} on PostgreSQL ({server_url}) failed:\n{stdout}\n{}",
        binary_name(),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Straight to the terminal: the test harness keeps a passing test's `eprintln!` to itself.
fn to_terminal(text: &str) {
    use std::io::Write;
    let _ = std::io::stderr().write_all(text.as_bytes());
}

fn binary_name() -> String {
    let exe = std::env::current_exe().unwrap_or_default();
    let stem = exe.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    // Cargo names test binaries `<name>-<hash>`.
    stem.rsplit_once('-').map(|(name, _)| name.to_string()).unwrap_or(stem)
}

/// The PostgreSQL server tests create their databases on: `LATCHKEY_TEST_POSTGRES`, else this
/// checkout's scratch cluster (started if it is not running; one process at a time decides, under
/// a lock file, so parallel `cargo test`s share one). `Err` says why there is none.
pub fn postgres_server() -> Result<String, String> {
    if let Ok(url) = std::env::var("LATCHKEY_TEST_POSTGRES") {
        if !url.trim().is_empty() {
            return Ok(url);
        }
    }
    let has_binaries = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dirs| dirs.filter_map(Result::ok).any(|dir| dir.path().join("bin/pg_ctl").is_file()))
        .unwrap_or(false);
    if !has_binaries {
        return Err("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin: `apt-get install postgresql`)".into());
    }
    let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let target = root.join("target");
    std::fs::create_dir_all(&target).map_err(|e| format!("{}: {e}", target.display()))?;
    let lock = std::fs::File::create(target.join("test-pg.lock")).map_err(|e| format!("test-pg.lock: {e}"))?;
    lock.lock().map_err(|e| format!("locking test-pg.lock: {e}"))?;
    let port_file = target.join("test-pg.port");
    let known_port = std::fs::read_to_string(&port_file).ok().and_then(|p| p.trim().parse::<u16>().ok());
    let mut last_error = String::new();
    // The port it ran on last (it may still run there), else a free one; once more on another
    // free port if that one was taken meanwhile.
    for port in known_port.into_iter().chain([free_port(), free_port()]).take(2) {
        let started = Command::new(root.join("scripts/postgres.sh"))
            .args(["start", &target.join("test-pg").display().to_string()])
            .env("LATCHKEY_TEST_PG_PORT", port.to_string())
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("scripts/postgres.sh: {e}"))?;
        if started.status.success() {
            let _ = std::fs::write(&port_file, port.to_string());
            return Ok(String::from_utf8_lossy(&started.stdout).trim().to_string());
        }
        last_error = format!(
            "scripts/postgres.sh start target/test-pg (port {port}) failed: {}",
            String::from_utf8_lossy(&started.stderr).trim()
        );
    }
    Err(last_error)
}

/// Creates an empty database on the PostgreSQL server at `server_url` and returns its URL.
async fn fresh_postgres_database(server_url: &str) -> String {
    sqlx::any::install_default_drivers();
    let name = format!("lk_{}", rand_suffix());
    let admin = AnyPoolOptions::new().max_connections(1).connect(server_url).await.expect("PostgreSQL is running");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&admin).await.expect("create database");
    admin.close().await;
    let base = server_url.rsplit_once('/').map(|(base, _)| base).unwrap_or(server_url);
    format!("{base}/{name}")
}

fn rand_suffix() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    format!("{:x}{:x}", nanos, std::process::id())
}

/// An HTTP answer, read whole.
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> Option<String> {
        self.headers.get(LOCATION).and_then(|v| v.to_str().ok()).map(str::to_string)
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers.get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).map(str::to_string).collect()
    }

    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_string)
    }

    /// The failure code an error page shows.
    pub fn error_code(&self) -> Option<String> {
        let start = self.body.find("data-error=\"")? + "data-error=\"".len();
        let end = self.body[start..].find('"')? + start;
        Some(self.body[start..end].to_string())
    }
}

/// A browser: follows no redirects by itself, keeps its cookies where tests can see them.
#[derive(Clone)]
pub struct Browser {
    client: reqwest::Client,
    pub cookies: HashMap<String, String>,
    pub user_agent: String,
}

impl Browser {
    pub fn new() -> Browser {
        Browser::with_user_agent("Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0 Safari/537.36")
    }

    pub fn with_user_agent(user_agent: &str) -> Browser {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client");
        Browser { client, cookies: HashMap::new(), user_agent: user_agent.to_string() }
    }

    /// A browser that accepts any TLS certificate (a test's self-signed one, at a proxy),
    /// reaches `localhost` at 127.0.0.1 and connects from `local_address`: any loopback address
    /// (`127.0.0.2`, …) makes it another client as far as the proxy can tell.
    pub fn accepting_any_certificate(local_address: std::net::IpAddr) -> Browser {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .danger_accept_invalid_certs(true)
            .resolve("localhost", std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
            .local_address(local_address)
            .build()
            .expect("client");
        Browser { client, ..Browser::new() }
    }

    pub async fn get(&mut self, url: &str) -> Page {
        self.request(Method::GET, url, None, &[]).await
    }

    /// A GET that may fail at the connection (the server may be dying).
    pub async fn try_get(&mut self, url: &str) -> Option<Page> {
        let mut request = self.client.get(url).header("user-agent", &self.user_agent);
        if !self.cookies.is_empty() {
            let header = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
            request = request.header("cookie", header);
        }
        let response = request.send().await.ok()?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.ok()?;
        let page = Page { status, headers, body };
        self.remember_cookies(&page);
        Some(page)
    }

    fn remember_cookies(&mut self, page: &Page) {
        for cookie in page.set_cookies() {
            let pair = cookie.split(';').next().unwrap_or_default();
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            if value.is_empty() || cookie.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
    }

    pub async fn post_form(&mut self, url: &str, form: &str) -> Page {
        self.request(
            Method::POST,
            url,
            Some(form.to_string()),
            &[("content-type", "application/x-www-form-urlencoded")],
        )
        .await
    }

    pub async fn request(&mut self, method: Method, url: &str, body: Option<String>, headers: &[(&str, &str)]) -> Page {
        let mut request = self.client.request(method, url).header("user-agent", &self.user_agent);
        if !self.cookies.is_empty() {
            let header = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
            request = request.header("cookie", header);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some(body) = body {
            request = request.body(body);
        }
        let response = request.send().await.expect("request");
        let status = response.status();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap_or_default();
        let page = Page { status, headers, body };
        self.remember_cookies(&page);
        page
    }

    /// Follows a chain of redirects to the final page; returns every hop.
    pub async fn follow(&mut self, url: &str) -> Vec<(String, Page)> {
        self.follow_with(url, &[]).await
    }

    /// Follows redirects sending `headers` on every hop (e.g. `accept: text/html`, as a page load).
    pub async fn follow_with(&mut self, url: &str, headers: &[(&str, &str)]) -> Vec<(String, Page)> {
        let mut hops = Vec::new();
        let mut next = Some(url.to_string());
        while let Some(url) = next.take() {
            let page = self.request(Method::GET, &url, None, headers).await;
            next = page.location().map(|l| absolute(&url, &l));
            hops.push((url, page));
            assert!(hops.len() < 10, "redirect loop");
        }
        hops
    }
}

fn absolute(base: &str, location: &str) -> String {
    if location.starts_with("http") {
        return location.to_string();
    }
    let origin_end =
        base.find("://").map(|i| i + 3).and_then(|i| base[i..].find('/').map(|j| i + j)).unwrap_or(base.len());
    format!("{}{}", &base[..origin_end], location)
}

/// A query parameter of a URL.
pub fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    url::form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

/// Anything that knows the server's URL.
pub trait Base {
    fn url(&self, path: &str) -> String;
}

impl Base for Server {
    fn url(&self, path: &str) -> String {
        Server::url(self, path)
    }
}

/// A running server known by its URL only.
pub struct ServerRef {
    pub base: String,
    pub port: u16,
}

impl Base for ServerRef {
    fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }
}

/// What the sandbox consent form posts.
pub fn consent_form(authorize_url: &str, person: &str, decision: &str) -> String {
    let mut form = url::form_urlencoded::Serializer::new(String::new());
    for name in ["client_id", "redirect_uri", "response_type", "owner", "state"] {
        form.append_pair(name, &query_param(authorize_url, name).unwrap_or_default());
    }
    form.append_pair("person", person)
        .append_pair("workspace", "0")
        .append_pair("quirk", "none")
        .append_pair("decision", decision);
    form.finish()
}

/// Starts a sign-in and answers the sandbox's consent page; returns the callback URL Notion
/// would send the browser to.
pub async fn consent_in_sandbox(server: &impl Base, browser: &mut Browser, person: &str, decision: &str) -> String {
    consent_in_sandbox_from(server, browser, "/v1/oauth/notion/start", person, decision).await
}

/// The same, from a start URL of the caller's (an intent, a `redirect_url`).
pub async fn consent_in_sandbox_from(
    server: &impl Base,
    browser: &mut Browser,
    start_path: &str,
    person: &str,
    decision: &str,
) -> String {
    let start = browser.get(&server.url(start_path)).await;
    assert_eq!(start.status, StatusCode::SEE_OTHER, "start redirects to Notion: {}", start.body);
    let authorize = start.location().expect("authorize URL");
    let consent = browser.get(&authorize).await;
    assert_eq!(consent.status, StatusCode::OK);
    assert!(consent.body.contains("Notion sandbox"));
    let decided = browser
        .post_form(&server.url("/sandbox/notion/v1/oauth/authorize"), &consent_form(&authorize, person, decision))
        .await;
    assert_eq!(decided.status, StatusCode::SEE_OTHER);
    decided.location().expect("callback URL")
}

/// A whole sign-in through the sandbox; returns the callback's answer.
pub async fn sign_in(server: &impl Base, browser: &mut Browser, person: &str) -> Page {
    let callback = consent_in_sandbox(server, browser, person, "allow").await;
    browser.get(&callback).await
}

/// A backend API call with `secret_key`; the status and the JSON answer (`Null` if none).
pub async fn backend_call(
    server: &Server,
    secret_key: &str,
    method: Method,
    path: &str,
    body: Option<serde_json::Value>,
) -> (StatusCode, serde_json::Value) {
    let mut request = reqwest::Client::new().request(method, server.url(path)).bearer_auth(secret_key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("backend API");
    let status = response.status();
    (status, response.json().await.unwrap_or(serde_json::Value::Null))
}
