//! Configuration: read once at start from the environment, validated, typed.
//!
//! A wrong value stops the start with one line that names the variable (see [`ConfigError`]).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use url::Url;

use crate::crypto::MasterKey;
use crate::proxy::TrustedProxies;
use crate::secret::Secret;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

impl Environment {
    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Development => "development",
            Environment::Production => "production",
        }
    }
}

/// Where Notion's API is, as the flow uses it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotionApi {
    /// The built-in sandbox of a development instance (no shared credentials configured).
    Sandbox,
    /// A real (or stand-in) Notion at this base URL.
    At(Url),
}

#[derive(Debug, Clone)]
pub struct SharedCredentials {
    pub client_id: String,
    pub client_secret: Secret<String>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub environment: Environment,
    pub site_addr: SocketAddr,
    pub public_url: Url,
    pub data_dir: PathBuf,
    pub database_url: String,
    /// Required in production; in development `None` means "load or generate in the data dir".
    pub master_key: Option<MasterKey>,
    /// Earlier master keys, still accepted to open sealed values (`LATCHKEY_PREVIOUS_MASTER_KEYS`).
    pub previous_master_keys: Vec<MasterKey>,
    pub secret_key: Option<Secret<String>>,
    pub admin_password: Option<Secret<String>>,
    /// Origins (`scheme://host[:port]`, no trailing slash) that `redirect_url` may point to.
    pub allowed_origins: Vec<String>,
    pub notion_api: NotionApi,
    pub shared_credentials: Option<SharedCredentials>,
    /// Sign-in requests per minute per client address; 0 = no limit.
    pub rate_limit_per_minute: u32,
    /// How long a session token (JWT) lives, in seconds (`LATCHKEY_TOKEN_LIFETIME`, 10–3600).
    pub token_lifetime_secs: i64,
    /// Reverse proxies whose `X-Forwarded-For` / `Forwarded` name the client.
    pub trusted_proxies: TrustedProxies,
    /// Hosts a production instance may send webhooks to although they are private, loopback or
    /// plain http (`LATCHKEY_WEBHOOK_ALLOWED_HOSTS`, lower-case names).
    pub webhook_allowed_hosts: Vec<String>,
    /// Where `GET /metrics` listens (`LATCHKEY_METRICS_ADDR`); off when unset.
    pub metrics_addr: Option<SocketAddr>,
    /// Logs as JSON lines (`LATCHKEY_LOG_FORMAT=json`) rather than text.
    pub json_logs: bool,
}

/// `LATCHKEY_LOG_FORMAT`: `text` (the default) or `json`; true for JSON. Read before the rest
/// of the configuration, since logging starts first.
pub fn json_logs(value: Option<&str>) -> Result<bool, ConfigError> {
    match value.map(str::trim) {
        None | Some("") | Some("text") => Ok(false),
        Some("json") => Ok(true),
        Some(other) => Err(ConfigError {
            variable: "LATCHKEY_LOG_FORMAT",
            message: format!("must be `text` or `json`, not `{other}`"),
        }),
    }
}

/// One line naming the setting and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {message}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub message: String,
}

fn invalid(variable: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError { variable, message: message.into() }
}

pub const DEFAULT_NOTION_API: &str = "https://api.notion.com";
pub const DEFAULT_TOKEN_LIFETIME_SECS: i64 = 60;
/// The longest a session token may live; signing keys stay published this long after they retire.
pub const MAX_TOKEN_LIFETIME_SECS: i64 = 3600;

impl Config {
    /// Reads the configuration from the process environment.
    pub fn from_env(site_addr: SocketAddr) -> Result<Config, ConfigError> {
        let vars: HashMap<String, String> = std::env::vars().collect();
        Config::from_vars(&vars, site_addr)
    }

    /// Reads the configuration from `vars`; `site_addr` is the listen address Leptos resolved
    /// (`LEPTOS_SITE_ADDR` or `Leptos.toml`).
    pub fn from_vars(vars: &HashMap<String, String>, site_addr: SocketAddr) -> Result<Config, ConfigError> {
        let vars = &with_secret_files(vars)?;
        let get = |name: &str| vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());

        let environment = match get("LATCHKEY_ENVIRONMENT") {
            None | Some("development") => Environment::Development,
            Some("production") => Environment::Production,
            Some(other) => {
                return Err(invalid(
                    "LATCHKEY_ENVIRONMENT",
                    format!("must be `development` or `production`, not `{other}`"),
                ))
            }
        };
        let production = environment == Environment::Production;
        let chosen_explicitly = get("LATCHKEY_ENVIRONMENT").is_some();

        let public_url = match get("LATCHKEY_PUBLIC_URL") {
            Some(text) => parse_public_url(text)?,
            // Listening beyond loopback, production is reached at an address only the operator
            // knows (behind its TLS proxy): guessing `http://localhost` would make every issuer,
            // redirect URI and cookie wrong while serving plain http to the network.
            None if production && !site_addr.ip().is_loopback() => {
                return Err(invalid(
                    "LATCHKEY_PUBLIC_URL",
                    format!("is required in production when listening on {site_addr}: the https address people use"),
                ))
            }
            None => {
                let host =
                    if site_addr.ip().is_unspecified() { "localhost".to_string() } else { site_addr.to_string() };
                let host = if site_addr.ip().is_unspecified() { format!("{host}:{}", site_addr.port()) } else { host };
                Url::parse(&format!("http://{host}")).map_err(|e| invalid("LEPTOS_SITE_ADDR", e.to_string()))?
            }
        };
        if production && public_url.scheme() != "https" && !is_loopback_host(&public_url) {
            return Err(invalid(
                "LATCHKEY_PUBLIC_URL",
                format!(
                    "production needs an https URL, not `{public_url}` (plain http is allowed only on a loopback host)"
                ),
            ));
        }

        // The sandbox lets anyone sign in as anyone: fine on a laptop, not on an address others can
        // reach. Development there must be a decision, not a default.
        if !production && !chosen_explicitly {
            let reachable = if !site_addr.ip().is_loopback() {
                Some(format!("listens on {site_addr}"))
            } else if !is_loopback_host(&public_url) {
                Some(format!("has the public URL {public_url}"))
            } else {
                None
            };
            if let Some(reachable) = reachable {
                return Err(invalid(
                    "LATCHKEY_ENVIRONMENT",
                    format!("is not set and Latchkey {reachable}, beyond loopback: set LATCHKEY_ENVIRONMENT=production, or LATCHKEY_ENVIRONMENT=development to run the development instance (its sandbox signs anyone in) there anyway"),
                ));
            }
        }

        let data_dir = PathBuf::from(get("LATCHKEY_DATA_DIR").unwrap_or("./data"));
        let database_url = match get("DATABASE_URL") {
            Some(url)
                if url.starts_with("sqlite:") || url.starts_with("postgres://") || url.starts_with("postgresql://") =>
            {
                url.to_string()
            }
            Some(_) => return Err(invalid("DATABASE_URL", "must start with `sqlite://` or `postgres://`")),
            None => format!("sqlite://{}", data_dir.join("latchkey.db").display()),
        };

        let master_key = match get("LATCHKEY_MASTER_KEY") {
            Some(text) => Some(MasterKey::from_base64(text).map_err(|m| invalid("LATCHKEY_MASTER_KEY", m))?),
            None if production => {
                return Err(invalid(
                    "LATCHKEY_MASTER_KEY",
                    "is required in production: base64 of 32 random bytes, e.g. `openssl rand -base64 32`",
                ))
            }
            None => None,
        };

        let previous_master_keys = get("LATCHKEY_PREVIOUS_MASTER_KEYS")
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|key| !key.is_empty())
            .enumerate()
            .map(|(n, key)| {
                MasterKey::from_base64(key)
                    .map_err(|m| invalid("LATCHKEY_PREVIOUS_MASTER_KEYS", format!("key {} of the list {m}", n + 1)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if !previous_master_keys.is_empty() && master_key.is_none() {
            return Err(invalid(
                "LATCHKEY_PREVIOUS_MASTER_KEYS",
                "needs LATCHKEY_MASTER_KEY: the new key that re-seals what the previous ones sealed",
            ));
        }

        let secret_key = match get("LATCHKEY_SECRET_KEY") {
            Some(key) => {
                let prefix = if production { "sk_live_" } else { "sk_test_" };
                if !key.starts_with(prefix) || key.len() < prefix.len() + 24 {
                    return Err(invalid(
                        "LATCHKEY_SECRET_KEY",
                        format!(
                            "a {} key starts with `{prefix}` followed by at least 24 characters",
                            environment.as_str()
                        ),
                    ));
                }
                Some(Secret::new(key.to_string()))
            }
            None => None,
        };

        let admin_password = match get("LATCHKEY_ADMIN_PASSWORD") {
            Some(password) if password.chars().count() < 12 => {
                return Err(invalid("LATCHKEY_ADMIN_PASSWORD", "must be at least 12 characters"))
            }
            Some(password) => Some(Secret::new(password.to_string())),
            None => None,
        };

        // Latchkey's own origin is always allowed; the list adds the apps' origins.
        let mut allowed_origins = vec![origin_of(&public_url)];
        if let Some(list) = get("LATCHKEY_ALLOWED_ORIGINS") {
            for origin in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                let origin = parse_origin(origin).map_err(|m| invalid("LATCHKEY_ALLOWED_ORIGINS", m))?;
                if production && plain_http_beyond_loopback(&origin) {
                    return Err(invalid(
                        "LATCHKEY_ALLOWED_ORIGINS",
                        format!("production needs https origins, not `{origin}` (plain http only on a loopback host)"),
                    ));
                }
                if !allowed_origins.contains(&origin) {
                    allowed_origins.push(origin);
                }
            }
        }

        let shared_credentials =
            match (get("LATCHKEY_SHARED_NOTION_CLIENT_ID"), get("LATCHKEY_SHARED_NOTION_CLIENT_SECRET")) {
                (Some(id), Some(secret)) => Some(SharedCredentials {
                    client_id: id.to_string(),
                    client_secret: Secret::new(secret.to_string()),
                }),
                (None, None) => None,
                (Some(_), None) => {
                    return Err(invalid(
                        "LATCHKEY_SHARED_NOTION_CLIENT_SECRET",
                        "is required when LATCHKEY_SHARED_NOTION_CLIENT_ID is set",
                    ))
                }
                (None, Some(_)) => {
                    return Err(invalid(
                        "LATCHKEY_SHARED_NOTION_CLIENT_ID",
                        "is required when LATCHKEY_SHARED_NOTION_CLIENT_SECRET is set",
                    ))
                }
            };
        if production && shared_credentials.is_some() {
            return Err(invalid(
                "LATCHKEY_SHARED_NOTION_CLIENT_ID",
                "shared credentials are for development instances; production connections use their own credentials",
            ));
        }

        let notion_api = match get("NOTION_API_BASE") {
            Some(text) => {
                let base = parse_base_url(text).map_err(|m| invalid("NOTION_API_BASE", m))?;
                if production && plain_http_beyond_loopback(base.as_str()) {
                    return Err(invalid(
                        "NOTION_API_BASE",
                        format!("production sends client secrets there and needs https, not `{text}` (plain http only on a loopback host)"),
                    ));
                }
                NotionApi::At(base)
            }
            None if !production && shared_credentials.is_none() => NotionApi::Sandbox,
            None => {
                NotionApi::At(Url::parse(DEFAULT_NOTION_API).map_err(|e| invalid("NOTION_API_BASE", e.to_string()))?)
            }
        };

        let rate_limit_per_minute = match get("LATCHKEY_RATE_LIMIT") {
            Some(text) => text.parse::<u32>().map_err(|_| {
                invalid("LATCHKEY_RATE_LIMIT", format!("must be a whole number of requests per minute, not `{text}`"))
            })?,
            None => 120,
        };

        let token_lifetime_secs = match get("LATCHKEY_TOKEN_LIFETIME") {
            None => DEFAULT_TOKEN_LIFETIME_SECS,
            Some(text) => match text.parse::<i64>() {
                Ok(secs) if (10..=MAX_TOKEN_LIFETIME_SECS).contains(&secs) => secs,
                _ => {
                    return Err(invalid(
                        "LATCHKEY_TOKEN_LIFETIME",
                        format!("must be a whole number of seconds from 10 to {MAX_TOKEN_LIFETIME_SECS}, not `{text}`"),
                    ))
                }
            },
        };
        let trusted_proxies = TrustedProxies::parse(get("LATCHKEY_TRUSTED_PROXIES").unwrap_or(""))
            .map_err(|m| invalid("LATCHKEY_TRUSTED_PROXIES", m))?;
        let webhook_allowed_hosts = get("LATCHKEY_WEBHOOK_ALLOWED_HOSTS")
            .unwrap_or("")
            .split(',')
            .map(|host| host.trim().trim_end_matches('.').to_ascii_lowercase())
            .filter(|host| !host.is_empty())
            .collect();

        let metrics_addr = match get("LATCHKEY_METRICS_ADDR") {
            None => None,
            Some(text) => Some(text.trim().parse::<SocketAddr>().map_err(|_| {
                invalid(
                    "LATCHKEY_METRICS_ADDR",
                    format!("must be an address and port such as 127.0.0.1:9100, not `{text}`"),
                )
            })?),
        };
        let json_logs = json_logs(get("LATCHKEY_LOG_FORMAT"))?;

        Ok(Config {
            environment,
            site_addr,
            public_url,
            data_dir,
            database_url,
            master_key,
            previous_master_keys,
            secret_key,
            admin_password,
            allowed_origins,
            notion_api,
            shared_credentials,
            rate_limit_per_minute,
            token_lifetime_secs,
            trusted_proxies,
            webhook_allowed_hosts,
            metrics_addr,
            json_logs,
        })
    }

    pub fn is_production(&self) -> bool {
        self.environment == Environment::Production
    }

    /// Whether a request's `Host` names this instance (see [`crate::proxy::host_is_ours`]).
    pub fn host_is_ours(&self, host: &str) -> bool {
        crate::proxy::host_is_ours(&self.public_url, self.site_addr, host)
    }

    /// The redirect URI Notion calls back: `{public_url}/v1/oauth_callback`.
    pub fn redirect_uri(&self) -> String {
        self.public_url_join("/v1/oauth_callback")
    }

    /// `path` (starting with `/`) under the public URL, respecting a public URL with a path prefix.
    /// The `iss` of every token Latchkey signs: the public URL without a trailing slash.
    pub fn issuer(&self) -> String {
        self.public_url.as_str().trim_end_matches('/').to_string()
    }

    /// `scheme://host[:port]` of the public URL: the origin of Latchkey's own pages, which a
    /// browser sends as `Origin` (without the public URL's path, if it has one).
    pub fn own_origin(&self) -> String {
        origin_of(&self.public_url)
    }

    pub fn public_url_join(&self, path: &str) -> String {
        format!("{}{}", self.public_url.as_str().trim_end_matches('/'), path)
    }

    /// The same, as a `Url` to add a query to: `path` is a path (no `?`), under the public URL's.
    pub fn public_url_at(&self, path: &str) -> Url {
        let mut url = self.public_url.clone();
        let base = url.path().trim_end_matches('/').to_string();
        url.set_path(&format!("{base}{path}"));
        url
    }

    /// Cookies are `Secure` on https and always in production.
    pub fn secure_cookies(&self) -> bool {
        self.is_production() || self.public_url.scheme() == "https"
    }
}

/// The settings that are secrets, or hold one (a database URL with its password): each may be
/// given as `<NAME>_FILE`, the path of a file holding it (Docker and systemd credentials), so it
/// need not sit in the environment.
pub const SECRET_FILE_VARIABLES: [(&str, &str); 6] = [
    ("LATCHKEY_MASTER_KEY", "LATCHKEY_MASTER_KEY_FILE"),
    ("LATCHKEY_PREVIOUS_MASTER_KEYS", "LATCHKEY_PREVIOUS_MASTER_KEYS_FILE"),
    ("LATCHKEY_SECRET_KEY", "LATCHKEY_SECRET_KEY_FILE"),
    ("LATCHKEY_ADMIN_PASSWORD", "LATCHKEY_ADMIN_PASSWORD_FILE"),
    ("LATCHKEY_SHARED_NOTION_CLIENT_SECRET", "LATCHKEY_SHARED_NOTION_CLIENT_SECRET_FILE"),
    ("DATABASE_URL", "DATABASE_URL_FILE"),
];

/// `vars` with every `<NAME>_FILE` read into `<NAME>` (trimmed: files end with a newline).
fn with_secret_files(vars: &HashMap<String, String>) -> Result<HashMap<String, String>, ConfigError> {
    let set = |name: &str| vars.get(name).is_some_and(|v| !v.trim().is_empty());
    let mut resolved = vars.clone();
    for (name, file_variable) in SECRET_FILE_VARIABLES {
        if !set(file_variable) {
            continue;
        }
        if set(name) {
            return Err(invalid(file_variable, format!("and {name} are both set: give the value one way")));
        }
        let path = vars.get(file_variable).map(|p| p.trim()).unwrap_or_default();
        let value =
            std::fs::read_to_string(path).map_err(|e| invalid(file_variable, format!("cannot read `{path}`: {e}")))?;
        let value = value.trim();
        if value.is_empty() {
            return Err(invalid(file_variable, format!("`{path}` is empty")));
        }
        resolved.insert(name.to_string(), value.to_string());
    }
    Ok(resolved)
}

/// True for an `http://` URL or origin whose host is not loopback.
fn plain_http_beyond_loopback(text: &str) -> bool {
    Url::parse(text).is_ok_and(|url| url.scheme() == "http" && !is_loopback_host(&url))
}

fn parse_public_url(text: &str) -> Result<Url, ConfigError> {
    let url = Url::parse(text).map_err(|e| invalid("LATCHKEY_PUBLIC_URL", format!("`{text}` is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(invalid("LATCHKEY_PUBLIC_URL", format!("`{text}` must be an http or https URL with a host")));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(invalid("LATCHKEY_PUBLIC_URL", format!("`{text}` must not carry a query, fragment or user name")));
    }
    Ok(url)
}

fn parse_base_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text).map_err(|e| format!("`{text}` is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(format!("`{text}` must be an http or https URL"));
    }
    Ok(url)
}

/// `scheme://host[:port]` of a URL, the form origins are compared in.
pub fn origin_of(url: &Url) -> String {
    url.origin().ascii_serialization()
}

fn parse_origin(text: &str) -> Result<String, String> {
    let url = Url::parse(text).map_err(|_| format!("`{text}` is not an origin such as https://app.example.com"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(format!("`{text}` must be an http or https origin"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
        return Err(format!("`{text}` must be an origin only (scheme, host and port), without a path"));
    }
    Ok(origin_of(&url))
}

pub use crate::proxy::is_loopback_host;

#[cfg(test)]
mod tests {
    use super::*;

    fn addr() -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 3000))
    }

    fn parse(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let vars = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_vars(&vars, addr())
    }

    fn error_variable(pairs: &[(&str, &str)]) -> &'static str {
        match parse(pairs) {
            Err(e) => e.variable,
            Ok(_) => "accepted",
        }
    }

    const KEY: &str = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    #[test]
    fn development_runs_on_embedded_defaults() {
        let config = parse(&[]).expect("defaults are valid");
        assert_eq!(config.environment, Environment::Development);
        assert_eq!(config.public_url.as_str(), "http://127.0.0.1:3000/");
        assert_eq!(config.redirect_uri(), "http://127.0.0.1:3000/v1/oauth_callback");
        assert_eq!(config.allowed_origins, vec!["http://127.0.0.1:3000".to_string()]);
        assert_eq!(config.database_url, "sqlite://./data/latchkey.db");
        assert_eq!(config.notion_api, NotionApi::Sandbox);
        assert_eq!(config.rate_limit_per_minute, 120);
        assert_eq!(config.token_lifetime_secs, 60);
        assert!(config.trusted_proxies.is_empty());
        assert!(!config.secure_cookies());
    }

    #[test]
    fn shared_credentials_point_development_at_notion() {
        let config =
            parse(&[("LATCHKEY_SHARED_NOTION_CLIENT_ID", "id"), ("LATCHKEY_SHARED_NOTION_CLIENT_SECRET", "s")])
                .expect("valid");
        assert_eq!(config.notion_api, NotionApi::At(Url::parse("https://api.notion.com").expect("url")));
        assert_eq!(
            error_variable(&[("LATCHKEY_SHARED_NOTION_CLIENT_ID", "id")]),
            "LATCHKEY_SHARED_NOTION_CLIENT_SECRET"
        );
    }

    #[test]
    fn production_needs_a_master_key_and_https() {
        assert_eq!(error_variable(&[("LATCHKEY_ENVIRONMENT", "production")]), "LATCHKEY_MASTER_KEY");
        assert_eq!(
            error_variable(&[
                ("LATCHKEY_ENVIRONMENT", "production"),
                ("LATCHKEY_MASTER_KEY", KEY),
                ("LATCHKEY_PUBLIC_URL", "http://auth.example.com")
            ]),
            "LATCHKEY_PUBLIC_URL"
        );
        let config = parse(&[
            ("LATCHKEY_ENVIRONMENT", "production"),
            ("LATCHKEY_MASTER_KEY", KEY),
            ("LATCHKEY_PUBLIC_URL", "https://auth.example.com"),
        ])
        .expect("valid");
        assert!(config.secure_cookies());
        assert_eq!(config.notion_api, NotionApi::At(Url::parse(DEFAULT_NOTION_API).expect("url")));
        // Plain http is fine on loopback, for trying production locally.
        assert!(parse(&[
            ("LATCHKEY_ENVIRONMENT", "production"),
            ("LATCHKEY_MASTER_KEY", KEY),
            ("LATCHKEY_PUBLIC_URL", "http://localhost:3000")
        ])
        .is_ok());
        // Listening on every interface, production does not guess its public URL.
        let vars = [("LATCHKEY_ENVIRONMENT", "production"), ("LATCHKEY_MASTER_KEY", KEY)]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let everywhere = SocketAddr::from(([0, 0, 0, 0], 3000));
        assert_eq!(
            Config::from_vars(&vars, everywhere).map(|_| ()).map_err(|e| e.variable),
            Err("LATCHKEY_PUBLIC_URL")
        );
    }

    #[test]
    fn each_wrong_value_names_its_variable() {
        assert_eq!(error_variable(&[("LATCHKEY_ENVIRONMENT", "staging")]), "LATCHKEY_ENVIRONMENT");
        assert_eq!(error_variable(&[("LATCHKEY_PUBLIC_URL", "not a url")]), "LATCHKEY_PUBLIC_URL");
        assert_eq!(error_variable(&[("LATCHKEY_PUBLIC_URL", "ftp://x.example")]), "LATCHKEY_PUBLIC_URL");
        assert_eq!(error_variable(&[("LATCHKEY_MASTER_KEY", "c2hvcnQ=")]), "LATCHKEY_MASTER_KEY");
        assert_eq!(error_variable(&[("DATABASE_URL", "mysql://x")]), "DATABASE_URL");
        assert_eq!(
            error_variable(&[("LATCHKEY_ALLOWED_ORIGINS", "https://app.example.com/path")]),
            "LATCHKEY_ALLOWED_ORIGINS"
        );
        assert_eq!(error_variable(&[("LATCHKEY_RATE_LIMIT", "lots")]), "LATCHKEY_RATE_LIMIT");
        for lifetime in ["9", "3601", "a minute", "-60"] {
            assert_eq!(error_variable(&[("LATCHKEY_TOKEN_LIFETIME", lifetime)]), "LATCHKEY_TOKEN_LIFETIME");
        }
        assert_eq!(parse(&[("LATCHKEY_TOKEN_LIFETIME", "10")]).map(|c| c.token_lifetime_secs), Ok(10));
        assert_eq!(error_variable(&[("LATCHKEY_TRUSTED_PROXIES", "10.0.0.1, nginx")]), "LATCHKEY_TRUSTED_PROXIES");
        assert_eq!(
            error_variable(&[("LATCHKEY_SECRET_KEY", "sk_live_aaaaaaaaaaaaaaaaaaaaaaaaaaaa")]),
            "LATCHKEY_SECRET_KEY"
        );
        assert_eq!(error_variable(&[("LATCHKEY_ADMIN_PASSWORD", "short")]), "LATCHKEY_ADMIN_PASSWORD");
        assert_eq!(error_variable(&[("NOTION_API_BASE", "notion")]), "NOTION_API_BASE");
        let message = parse(&[("LATCHKEY_ENVIRONMENT", "staging")]).err().map(|e| e.to_string()).unwrap_or_default();
        assert_eq!(message.lines().count(), 1);
        assert!(message.starts_with("LATCHKEY_ENVIRONMENT: "));
    }

    #[test]
    fn development_beyond_loopback_must_be_chosen() {
        let public = [("LATCHKEY_PUBLIC_URL", "https://auth.example.com")];
        assert_eq!(error_variable(&public), "LATCHKEY_ENVIRONMENT");
        let message = parse(&public).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("LATCHKEY_ENVIRONMENT=development"), "{message}");
        assert!(parse(&[public[0], ("LATCHKEY_ENVIRONMENT", "development")]).is_ok());
        let anywhere = SocketAddr::from(([0, 0, 0, 0], 3000));
        let error = Config::from_vars(&HashMap::new(), anywhere).err().map(|e| e.variable);
        assert_eq!(error, Some("LATCHKEY_ENVIRONMENT"));
        let explicit = [("LATCHKEY_ENVIRONMENT".to_string(), "development".to_string())].into();
        assert!(Config::from_vars(&explicit, anywhere).is_ok());
        // Loopback stays the default's home.
        assert!(parse(&[("LATCHKEY_PUBLIC_URL", "http://localhost:3000")]).is_ok());
    }

    #[test]
    fn production_refuses_plain_http_origins_and_notion_base_beyond_loopback() {
        let production = [
            ("LATCHKEY_ENVIRONMENT", "production"),
            ("LATCHKEY_MASTER_KEY", KEY),
            ("LATCHKEY_PUBLIC_URL", "https://auth.example.com"),
        ];
        let with = |extra: (&'static str, &'static str)| {
            let mut pairs = production.to_vec();
            pairs.push(extra);
            pairs
        };
        assert_eq!(
            error_variable(&with(("LATCHKEY_ALLOWED_ORIGINS", "https://app.example.com, http://app.example.com"))),
            "LATCHKEY_ALLOWED_ORIGINS"
        );
        assert_eq!(error_variable(&with(("NOTION_API_BASE", "http://notion.example.com"))), "NOTION_API_BASE");
        assert!(parse(&with(("LATCHKEY_ALLOWED_ORIGINS", "http://localhost:5173"))).is_ok());
        assert!(parse(&with(("NOTION_API_BASE", "http://127.0.0.1:9000"))).is_ok());
        // Development may use anything.
        assert!(parse(&[("LATCHKEY_ALLOWED_ORIGINS", "http://app.example.com")]).is_ok());
    }

    #[test]
    fn secrets_can_come_from_files() {
        let dir = std::env::temp_dir().join(format!("latchkey-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let key_file = dir.join("master_key");
        std::fs::write(&key_file, format!("{KEY}\n")).expect("write");
        let password_file = dir.join("password");
        std::fs::write(&password_file, "  a-long-enough-password\n").expect("write");
        let key_path = key_file.display().to_string();
        let password_path = password_file.display().to_string();
        let config = parse(&[
            ("LATCHKEY_MASTER_KEY_FILE", key_path.as_str()),
            ("LATCHKEY_ADMIN_PASSWORD_FILE", password_path.as_str()),
        ])
        .expect("valid");
        assert!(config.master_key.is_some());
        assert_eq!(config.admin_password.as_ref().map(|p| p.expose().as_str()), Some("a-long-enough-password"));
        // Both ways at once is a mistake, and a missing file names the variable.
        assert_eq!(
            error_variable(&[("LATCHKEY_MASTER_KEY_FILE", key_path.as_str()), ("LATCHKEY_MASTER_KEY", KEY)]),
            "LATCHKEY_MASTER_KEY_FILE"
        );
        assert_eq!(error_variable(&[("DATABASE_URL_FILE", "/nonexistent/latchkey")]), "DATABASE_URL_FILE");
        let message = parse(&[("LATCHKEY_SECRET_KEY_FILE", "/nonexistent/sk")]).err().map(|e| e.to_string());
        assert!(
            message.is_some_and(|m| m.starts_with("LATCHKEY_SECRET_KEY_FILE: cannot read") && m.lines().count() == 1)
        );
        // The value read is checked like the variable itself.
        std::fs::write(&key_file, "c2hvcnQ=").expect("write");
        assert_eq!(error_variable(&[("LATCHKEY_MASTER_KEY_FILE", key_path.as_str())]), "LATCHKEY_MASTER_KEY");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn allowed_origins_are_normalised() {
        let config =
            parse(&[("LATCHKEY_ALLOWED_ORIGINS", "https://App.Example.com, http://localhost:5173/")]).expect("valid");
        assert_eq!(
            config.allowed_origins,
            vec![
                "http://127.0.0.1:3000".to_string(),
                "https://app.example.com".to_string(),
                "http://localhost:5173".to_string()
            ]
        );
    }
}
