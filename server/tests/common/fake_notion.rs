//! A stand-in for Notion's token endpoint that answers however a test tells it to, including
//! the ways real servers fail: HTML pages, broken JSON, slowness, cut connections. Raw TCP, so
//! it can misbehave below HTTP too.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub const CLIENT_ID: &str = "fake-client-id";
pub const CLIENT_SECRET: &str = "fake-client-secret";

#[derive(Debug, Clone)]
pub enum Answer {
    /// 200 with this JSON body.
    Json(u16, String),
    /// This status with an HTML body.
    Html(u16),
    /// 200 and then silence for this long.
    Slow(Duration),
    /// Headers promise a body; the connection closes halfway through it.
    Cut,
    /// 429 with `Retry-After: 30`.
    RateLimited,
}

/// A valid token response for a person.
pub fn person_token(user_id: &str, email: Option<&str>, name: &str, bot_id: &str) -> String {
    let person = match email {
        Some(email) => serde_json::json!({"email": email}),
        None => serde_json::json!({}),
    };
    serde_json::json!({
        "access_token": format!("ntn_fake_{bot_id}"), "token_type": "bearer", "refresh_token": null,
        "bot_id": bot_id, "workspace_id": "ws-1", "workspace_name": "Fake Workspace", "workspace_icon": null,
        "owner": {"type": "user", "user": {"object": "user", "id": user_id, "name": name, "avatar_url": null, "type": "person", "person": person}},
        "duplicated_template_id": null, "request_id": "r"
    })
    .to_string()
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Received {
    pub head: String,
    pub body: String,
}

#[derive(Clone)]
pub struct FakeNotion {
    pub base: String,
    /// Access tokens `POST /v1/oauth/introspect` reports inactive; all others are active.
    pub inactive_tokens: Arc<Mutex<std::collections::HashSet<String>>>,
    answer: Arc<Mutex<Answer>>,
    pub received: Arc<Mutex<Vec<Received>>>,
}

impl FakeNotion {
    pub async fn start() -> FakeNotion {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let fake = FakeNotion {
            base,
            inactive_tokens: Arc::default(),
            answer: Arc::new(Mutex::new(Answer::Json(
                200,
                person_token("notion-user-1", Some("ada@example.org"), "Ada", "bot-1"),
            ))),
            received: Arc::new(Mutex::new(Vec::new())),
        };
        let served = fake.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(served.clone().serve(stream));
            }
        });
        fake
    }

    /// How many requests went to `path`.
    pub fn count(&self, path: &str) -> usize {
        self.received.lock().expect("lock").iter().filter(|r| r.head.split_whitespace().nth(1) == Some(path)).count()
    }

    pub fn answer(&self, answer: Answer) {
        *self.answer.lock().expect("lock") = answer;
    }

    /// The environment that points a development instance at this fake.
    pub fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("NOTION_API_BASE", self.base.clone()),
            ("LATCHKEY_SHARED_NOTION_CLIENT_ID", CLIENT_ID.to_string()),
            ("LATCHKEY_SHARED_NOTION_CLIENT_SECRET", CLIENT_SECRET.to_string()),
        ]
    }

    async fn serve(self, mut stream: tokio::net::TcpStream) {
        let mut buffer = Vec::new();
        let mut chunk = [0u8; 4096];
        // Read the head, then as much body as Content-Length says.
        let (head, body) = loop {
            let Ok(n) = stream.read(&mut chunk).await else {
                return;
            };
            if n == 0 {
                return;
            }
            buffer.extend_from_slice(&chunk[..n]);
            if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buffer[..end]).to_string();
                let length = head
                    .lines()
                    .find_map(|l| {
                        l.to_ascii_lowercase()
                            .strip_prefix("content-length:")
                            .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                    })
                    .unwrap_or(0);
                while buffer.len() < end + 4 + length {
                    let Ok(n) = stream.read(&mut chunk).await else {
                        return;
                    };
                    if n == 0 {
                        break;
                    }
                    buffer.extend_from_slice(&chunk[..n]);
                }
                break (head, String::from_utf8_lossy(&buffer[end + 4..]).to_string());
            }
        };
        let path = head.split_whitespace().nth(1).unwrap_or_default().to_string();
        self.received.lock().expect("lock").push(Received { head, body });
        let answer = match path.as_str() {
            "/v1/oauth/introspect" => {
                let token = serde_json::from_str::<serde_json::Value>(
                    &self.received.lock().expect("lock").last().map(|r| r.body.clone()).unwrap_or_default(),
                )
                .ok()
                .and_then(|v| v["token"].as_str().map(str::to_string))
                .unwrap_or_default();
                let active = !self.inactive_tokens.lock().expect("lock").contains(&token);
                Answer::Json(200, format!(r#"{{"active": {active}}}"#))
            }
            "/v1/oauth/revoke" => Answer::Json(200, "{}".into()),
            _ => self.answer.lock().expect("lock").clone(),
        };
        let reply = |status: u16, content_type: &str, body: &str, extra: &str| {
            format!("HTTP/1.1 {status} X\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n{extra}\r\n{body}", body.len())
        };
        let bytes = match answer {
            Answer::Json(status, body) => reply(status, "application/json", &body, ""),
            Answer::Html(status) => {
                reply(status, "text/html", "<!DOCTYPE html><html><body><h1>Bad Gateway</h1></body></html>", "")
            }
            Answer::RateLimited => reply(
                429,
                "application/json",
                r#"{"object":"error","status":429,"code":"rate_limited","message":"Slow down"}"#,
                "retry-after: 30\r\n",
            ),
            Answer::Slow(delay) => {
                tokio::time::sleep(delay).await;
                reply(200, "application/json", &person_token("slow", Some("s@example.org"), "Slow", "bot-slow"), "")
            }
            Answer::Cut => {
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n{\"access_token\": \"ntn_").await;
                let _ = stream.flush().await;
                return;
            }
        };
        let _ = stream.write_all(bytes.as_bytes()).await;
        let _ = stream.shutdown().await;
    }
}
