//! Latchkey behind a real nginx (Debian's package) terminating TLS with a certificate made
//! here, configured as README's "Operating it" says: a sign-in end to end, the admin lockout
//! per real client, and dashboard changes through the documented and through nginx's default
//! proxy headers. Without nginx the tests print "skipped", and fail under `CI=true`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failed assumption fails it

mod common;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Browser, Page, Server, ServerRef};
use reqwest::{Method, StatusCode};

const PASSWORD: &str = "the-right-password-42";

/// nginx as a child process, its configuration, certificate, logs and temp files in a temp dir.
struct Nginx {
    port: u16,
    dir: tempfile::TempDir,
    child: Child,
}

impl Nginx {
    /// The public URL people use: nginx's TLS port on `localhost`.
    fn public_url(&self) -> String {
        format!("https://localhost:{}", self.port)
    }

    fn proxy(&self) -> ServerRef {
        Server::probe(&self.public_url(), self.port)
    }

    fn error_log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default()
    }

    /// Starts nginx on `port` (TLS) in front of Latchkey at `upstream_port`.
    async fn start(nginx: &Path, port: u16, upstream_port: u16) -> Nginx {
        let dir = tempfile::tempdir().expect("temp dir");
        let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
        let openssl = Command::new("openssl")
            .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-days", "1"])
            .arg("-keyout")
            .arg(&key)
            .arg("-out")
            .arg(&cert)
            .output()
            .expect("openssl runs (apt-get install openssl)");
        assert!(openssl.status.success(), "openssl: {}", String::from_utf8_lossy(&openssl.stderr));

        let conf = dir.path().join("nginx.conf");
        std::fs::write(&conf, nginx_conf(dir.path(), port, upstream_port, &cert, &key)).expect("write nginx.conf");
        let child = Command::new(nginx)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf)
            .arg("-e")
            .arg(dir.path().join("error.log"))
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx starts");
        let mut nginx = Nginx { port, dir, child };
        let deadline = Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            if let Ok(Some(status)) = nginx.child.try_wait() {
                panic!("nginx exited during start ({status}): {}", nginx.error_log());
            }
            assert!(Instant::now() < deadline, "nginx did not listen: {}", nginx.error_log());
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        nginx
    }
}

impl Drop for Nginx {
    /// SIGTERM, so the master stops its workers too (killed outright, it would leave them
    /// running, still listening); SIGKILL only if it has not ended within 5 s.
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// README's configuration on `/`; on `/default-headers/` the same upstream with nginx's own
/// defaults (`Host` = the upstream's address, no forwarding headers), as a bare `proxy_pass`.
fn nginx_conf(dir: &Path, port: u16, upstream: u16, cert: &Path, key: &Path) -> String {
    let dir = dir.display();
    // Run as root (the sandbox, CI containers), nginx's workers would be `nobody` and could not
    // enter the test's private temp dir.
    let user = if is_root() { "user root;" } else { "" };
    format!(
        r#"{user}
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 128; }}
http {{
    access_log off;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name localhost;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
        location /default-headers/ {{
            proxy_pass http://127.0.0.1:{upstream}/;
        }}
    }}
}}
"#,
        cert = cert.display(),
        key = key.display(),
    )
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

/// nginx on the PATH or where Debian puts it (`/usr/sbin`, often not on a user's PATH).
fn find_nginx() -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join("nginx"))
        .find(|candidate| candidate.is_file())
}

/// Latchkey behind nginx, or `None` (the test is skipped) where nginx is not installed. Under
/// `CI=true` a missing nginx fails the test instead: CI must run it.
async fn latchkey_behind_nginx(test: &str) -> Option<(Server, Nginx)> {
    latchkey_behind_nginx_with(test, &[]).await
}

async fn latchkey_behind_nginx_with(test: &str, more_env: &[(&str, &str)]) -> Option<(Server, Nginx)> {
    let Some(nginx) = find_nginx() else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{test}: nginx is not installed, and CI=true needs this test to run: `apt-get install nginx` (scripts/setup.sh --test does)");
        }
        // Straight to the terminal: the test harness would swallow `eprintln!` of a passing test.
        use std::io::Write;
        let line = format!(
            "{test}: skipped: nginx is not installed (`apt-get install nginx`; scripts/setup.sh --test does)\n"
        );
        let _ = std::io::stderr().write_all(line.as_bytes());
        return None;
    };
    let port = common::free_port();
    let public_url = format!("https://localhost:{port}");
    let mut env = vec![
        ("LATCHKEY_ENVIRONMENT", "development"),
        ("LATCHKEY_PUBLIC_URL", public_url.as_str()),
        ("LATCHKEY_TRUSTED_PROXIES", "127.0.0.1"),
        ("LATCHKEY_ADMIN_PASSWORD", PASSWORD),
    ];
    env.extend_from_slice(more_env);
    let server = Server::start(&env).await;
    let nginx = Nginx::start(&nginx, port, server.port).await;
    Some((server, nginx))
}

fn from(ip: [u8; 4]) -> Browser {
    Browser::accepting_any_certificate(IpAddr::from(ip))
}

#[tokio::test]
async fn a_sign_in_through_nginx_ends_with_a_secure_session() {
    let Some((server, nginx)) = latchkey_behind_nginx("a_sign_in_through_nginx_ends_with_a_secure_session").await
    else {
        return;
    };
    let public = nginx.public_url();
    let proxy = nginx.proxy();
    let mut browser = from([127, 0, 0, 1]);

    // The sandbox plays Notion at the public URL for the browser (its consent page, through
    // nginx) and at the listen address for the server (the code exchange, straight).
    let start = browser.get(&format!("{public}/v1/oauth/notion/start")).await;
    assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.body);
    let authorize = start.location().expect("authorize URL");
    assert!(authorize.starts_with(&format!("{public}/sandbox/notion/")), "{authorize}");
    assert!(start.set_cookies().iter().any(|c| c.starts_with("__Host-latchkey_flow=") && c.contains("Secure")));
    let callback = common::consent_in_sandbox(&proxy, &mut browser, "ada", "allow").await;
    assert!(
        callback.starts_with(&format!("{public}/v1/oauth_callback?")),
        "Notion returns to the public URL: {callback}"
    );

    let signed_in = browser.get(&callback).await;
    assert_eq!(signed_in.status, StatusCode::SEE_OTHER, "{}", signed_in.body);
    let session = signed_in
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("__Host-latchkey_session="))
        .unwrap_or_else(|| panic!("a session cookie: {:?}", signed_in.set_cookies()));
    assert!(session.contains("Secure") && session.contains("HttpOnly"), "{session}");
    assert!(signed_in.header("strict-transport-security").is_some_and(|h| h.contains("max-age=")));

    let me = browser.get(&format!("{public}/v1/me")).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    assert!(me.body.contains("\"user\""), "{}", me.body);
    assert!(me.header("strict-transport-security").is_some());
    assert_eq!(server.count("sessions WHERE revoked_at IS NULL").await, 1);
    // nginx answered all of it: Latchkey itself speaks no TLS.
    assert!(nginx.error_log().lines().all(|l| !l.contains("[error]")), "{}", nginx.error_log());
}

async fn admin_sign_in(public: &str, browser: &mut Browser, password: &str, headers: &[(&str, &str)]) -> Page {
    let mut all = vec![("content-type", "application/x-www-form-urlencoded")];
    all.extend_from_slice(headers);
    browser
        .request(
            Method::POST,
            &format!("{public}/api/dashboard/sign-in"),
            Some(format!("username=admin&password={password}")),
            &all,
        )
        .await
}

fn has_admin_cookie(page: &Page) -> bool {
    page.set_cookies().iter().any(|c| c.starts_with("__Host-latchkey_admin=") && !c.contains("Max-Age=0"))
}

#[tokio::test]
async fn through_nginx_the_admin_lockout_is_per_real_client() {
    let Some((_server, nginx)) = latchkey_behind_nginx("through_nginx_the_admin_lockout_is_per_real_client").await
    else {
        return;
    };
    let public = nginx.public_url();
    // Two real clients: every 127.x.y.z is this machine's, so connecting from 127.0.0.2 and
    // from 127.0.0.3 makes two peers as nginx sees them, and nginx appends each one's own
    // address to X-Forwarded-For (`$proxy_add_x_forwarded_for`). Latchkey's peer is always
    // nginx (127.0.0.1, trusted); reading the header from the right it skips trusted hops and
    // takes the first untrusted one: the address nginx appended, 127.0.0.2 or 127.0.0.3.
    // (Clients connecting from 127.0.0.1 could only pose as clients by sending an
    // X-Forwarded-For themselves, accepted because 127.0.0.1 is trusted: a weaker test.)
    let mut attacker = from([127, 0, 0, 2]);
    for _ in 0..5 {
        let page = admin_sign_in(&public, &mut attacker, "wrong-password", &[]).await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{}", page.body);
    }
    let locked = admin_sign_in(&public, &mut attacker, PASSWORD, &[]).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS, "the attacker is locked out: {}", locked.body);
    // A forged X-Forwarded-For from the attacker stays on the left of what nginx appends: the
    // right-most untrusted hop is still the attacker's own address.
    for forged in ["203.0.113.10", "127.0.0.3", "198.51.100.1, 127.0.0.1"] {
        let page = admin_sign_in(&public, &mut attacker, PASSWORD, &[("x-forwarded-for", forged)]).await;
        assert_eq!(page.status, StatusCode::TOO_MANY_REQUESTS, "a forged {forged} does not get the attacker out");
        assert!(!has_admin_cookie(&page));
    }

    let mut admin = from([127, 0, 0, 3]);
    let page = admin_sign_in(&public, &mut admin, PASSWORD, &[]).await;
    assert!(page.status.is_success(), "the admin, another client, is not locked out: {}", page.body);
    assert!(has_admin_cookie(&page), "{:?}", page.set_cookies());
    let dashboard = admin.get(&format!("{public}/dashboard")).await;
    assert_eq!(dashboard.status, StatusCode::OK);
}

#[tokio::test]
async fn dashboard_changes_through_nginx_are_checked_against_the_public_origin() {
    let Some((server, nginx)) =
        latchkey_behind_nginx("dashboard_changes_through_nginx_are_checked_against_the_public_origin").await
    else {
        return;
    };
    let public = nginx.public_url();
    let mut admin = from([127, 0, 0, 1]);
    let page = admin_sign_in(&public, &mut admin, PASSWORD, &[]).await;
    assert!(has_admin_cookie(&page), "{}", page.body);

    // README's headers (Host as the browser sent it) and nginx's defaults (Host = the upstream,
    // 127.0.0.1:<listen port>): a change from the public URL's origin is accepted either way.
    for prefix in ["", "/default-headers"] {
        let reveal = format!("{public}{prefix}/api/dashboard/reveal-secret-key");
        let ok = admin
            .request(
                Method::POST,
                &reveal,
                Some(String::new()),
                &[("content-type", "application/x-www-form-urlencoded"), ("origin", &public)],
            )
            .await;
        assert_eq!(ok.status, StatusCode::OK, "{prefix:?}: a change from {public}: {}", ok.body);
        assert!(ok.body.contains("sk_test_"), "{}", ok.body);
        for origin in ["https://evil.example", &format!("http://127.0.0.1:{}", server.port)] {
            let refused = admin
                .request(
                    Method::POST,
                    &reveal,
                    Some(String::new()),
                    &[("content-type", "application/x-www-form-urlencoded"), ("origin", origin)],
                )
                .await;
            assert_eq!(refused.status, StatusCode::FORBIDDEN, "{prefix:?}: a change from {origin}: {}", refused.body);
            assert!(!refused.body.contains("sk_test_"));
        }
    }
}

#[tokio::test]
async fn through_nginx_the_sign_in_rate_limit_is_per_real_client() {
    let test = "through_nginx_the_sign_in_rate_limit_is_per_real_client";
    let Some((_server, nginx)) = latchkey_behind_nginx_with(test, &[("LATCHKEY_RATE_LIMIT", "3")]).await else {
        return;
    };
    let start = format!("{}/v1/oauth/notion/start", nginx.public_url());
    // Two real clients, as in the lockout test: nginx appends each one's own address.
    let mut busy = from([127, 0, 0, 2]);
    for _ in 0..3 {
        assert_eq!(busy.get(&start).await.status, StatusCode::SEE_OTHER);
    }
    assert_eq!(busy.get(&start).await.status, StatusCode::TOO_MANY_REQUESTS, "the busy client is limited");
    let forged = busy.request(Method::GET, &start, None, &[("x-forwarded-for", "203.0.113.10")]).await;
    assert_eq!(forged.status, StatusCode::TOO_MANY_REQUESTS, "a forged X-Forwarded-For is not a fresh client");
    let mut other = from([127, 0, 0, 3]);
    assert_eq!(other.get(&start).await.status, StatusCode::SEE_OTHER, "another client is not limited");
}

/// Every test above, once more on PostgreSQL (see `common::again_on_postgresql`).
#[test]
fn all_tests_again_on_postgresql() {
    common::again_on_postgresql();
}
