//! Token verification: the key cache and every claim check.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use url::Url;

use crate::HANDSHAKE_TYP;

/// The claims of a Latchkey session token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SessionClaims {
    /// Latchkey's public URL.
    pub iss: String,
    /// The user's id (`user_…`).
    pub sub: String,
    /// The session's id (`sess_…`).
    pub sid: String,
    /// The origin of the page the token was minted for, when a browser asked.
    #[serde(default)]
    pub azp: Option<String>,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Not before (Unix seconds).
    pub nbf: i64,
    /// Expires (Unix seconds).
    pub exp: i64,
    /// The token's unique id.
    pub jti: String,
}

#[derive(Debug, Deserialize)]
struct HandshakeClaims {
    iss: String,
    aud: String,
    nbf: i64,
    exp: i64,
    #[serde(default)]
    session_token: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
}

/// Why a token was refused. Every refusal is one of these; none panics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// No token in `Authorization: Bearer` nor in the `latchkey_token` cookie.
    #[error("no session token")]
    Missing,
    /// Not a JWT at all.
    #[error("the token is not a well-formed JWT")]
    Malformed,
    /// `alg` is not the one Latchkey signs with (`none`, HS256, RS256, …).
    #[error("the token's algorithm `{0}` is not accepted")]
    UnsupportedAlgorithm(String),
    /// A JWT of another kind (a handshake answer used as a session token, or back).
    #[error("the token is not of the expected type")]
    WrongType,
    /// The `kid` is not among Latchkey's published keys, even after fetching them again.
    #[error("the token was signed by an unknown key")]
    UnknownKey,
    /// The signature does not verify.
    #[error("the token's signature is not valid")]
    BadSignature,
    /// Past `exp` (beyond the leeway).
    #[error("the token has expired")]
    Expired,
    /// Before `nbf` (beyond the leeway).
    #[error("the token is not valid yet")]
    NotYetValid,
    /// `iss` is not this Latchkey.
    #[error("the token was issued by someone else")]
    WrongIssuer,
    /// `azp` is not one of the authorized parties.
    #[error("the token was minted for another site")]
    UnauthorizedParty,
    /// A handshake answer meant for another app origin.
    #[error("the handshake answer is for another site")]
    WrongAudience,
    /// A handshake answer another browser asked for (its nonce is not this browser's).
    #[error("the handshake answer was asked for by another browser")]
    WrongBrowser,
    /// Latchkey's JWKS could not be fetched or read.
    #[error("Latchkey's keys could not be fetched: {0}")]
    KeysUnavailable(String),
}

impl Rejection {
    /// The contract's error code (`{"error": {"code", "message"}}`).
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Missing => "unauthenticated",
            Rejection::KeysUnavailable(_) => "keys_unavailable",
            Rejection::Expired => "token_expired",
            _ => "invalid_token",
        }
    }
}

/// Why a [`Builder`] could not build.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The issuer or app URL is not an http(s) URL.
    #[error("{0} is not an http or https URL")]
    BadUrl(String),
    /// The HTTP client could not be made.
    #[error("HTTP client: {0}")]
    Http(String),
}

type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// At most this many verified tokens are remembered (a few megabytes).
const REMEMBERED_TOKENS: usize = 10_000;

fn system_seconds() -> i64 {
    let since = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
}

/// Configures a [`Latchkey`].
pub struct Builder {
    issuer: String,
    app_url: Option<Url>,
    authorized_parties: Vec<String>,
    leeway: Duration,
    refetch_interval: Duration,
    secret_key: Option<String>,
    jwks: Option<JwkSet>,
    clock: Clock,
}

impl Builder {
    /// Your app's public URL. Turns on the handshake: an HTML page requested without a valid
    /// token is sent through Latchkey once and comes back with one (or with "signed out").
    pub fn app_url(mut self, url: &str) -> Result<Self, BuildError> {
        self.app_url = Some(parse_http_url(url)?);
        Ok(self)
    }

    /// Origins a token's `azp` may name (the pages that asked for it). A token without `azp`
    /// (minted for a server) is accepted.
    pub fn authorized_parties<I: IntoIterator<Item = S>, S: Into<String>>(mut self, origins: I) -> Self {
        self.authorized_parties = origins.into_iter().map(|o| o.into().trim_end_matches('/').to_string()).collect();
        self
    }

    /// Clock difference tolerated on `exp` and `nbf`; 5 s by default.
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Least time between two JWKS fetches caused by unknown key ids; 5 s by default.
    pub fn refetch_interval(mut self, interval: Duration) -> Self {
        self.refetch_interval = interval;
        self
    }

    /// The instance's secret key (`sk_…`), for [`Latchkey::backend`].
    pub fn secret_key(mut self, key: impl Into<String>) -> Self {
        self.secret_key = Some(key.into());
        self
    }

    /// Known keys instead of fetching them (tests, air-gapped setups); never refetched.
    pub fn jwks(mut self, jwks: JwkSet) -> Self {
        self.jwks = Some(jwks);
        self
    }

    /// Where "now" (Unix seconds) comes from; the system clock by default.
    pub fn clock(mut self, clock: impl Fn() -> i64 + Send + Sync + 'static) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Builds the verifier.
    pub fn build(self) -> Result<Latchkey, BuildError> {
        let issuer_url = parse_http_url(&self.issuer)?;
        let issuer = issuer_url.as_str().trim_end_matches('/').to_string();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| BuildError::Http(e.to_string()))?;
        let fixed = self.jwks.is_some();
        let keys = self.jwks.map(|set| keys_of(&set)).unwrap_or_default();
        Ok(Latchkey {
            inner: Arc::new(Inner {
                jwks_url: format!("{issuer}/.well-known/jwks.json"),
                issuer,
                app_url: self.app_url,
                authorized_parties: self.authorized_parties,
                leeway: i64::try_from(self.leeway.as_secs()).unwrap_or(i64::MAX),
                refetch_interval: self.refetch_interval,
                secret_key: self.secret_key,
                http,
                keys: RwLock::new(Arc::new(keys)),
                fixed_keys: fixed,
                verified: Default::default(),
                last_fetch: tokio::sync::Mutex::new(None),
                clock: self.clock,
            }),
        })
    }
}

fn parse_http_url(text: &str) -> Result<Url, BuildError> {
    match Url::parse(text) {
        Ok(url) if matches!(url.scheme(), "http" | "https") && url.host().is_some() => Ok(url),
        _ => Err(BuildError::BadUrl(text.to_string())),
    }
}

/// Ed25519 keys of a JWKS by key id. Keys of any other type are not Latchkey's and are skipped.
fn keys_of(set: &JwkSet) -> HashMap<String, DecodingKey> {
    set.keys
        .iter()
        .filter(|jwk| matches!(jwk.algorithm, jsonwebtoken::jwk::AlgorithmParameters::OctetKeyPair(_)))
        .filter_map(|jwk| Some((jwk.common.key_id.clone()?, DecodingKey::from_jwk(jwk).ok()?)))
        .collect()
}

/// A Latchkey instance as your server sees it: verifies its tokens, knows its URLs. Cheap to
/// clone (one shared cache of keys).
#[derive(Clone)]
pub struct Latchkey {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) issuer: String,
    pub(crate) app_url: Option<Url>,
    authorized_parties: Vec<String>,
    leeway: i64,
    refetch_interval: Duration,
    pub(crate) secret_key: Option<String>,
    pub(crate) http: reqwest::Client,
    jwks_url: String,
    keys: RwLock<Arc<HashMap<String, DecodingKey>>>,
    fixed_keys: bool,
    /// Tokens already verified, until they expire (see `verify`).
    verified: std::sync::Mutex<HashMap<String, SessionClaims>>,
    /// Held while fetching, so concurrent requests with a new `kid` fetch once.
    last_fetch: tokio::sync::Mutex<Option<Instant>>,
    clock: Clock,
}

struct Header {
    kid: String,
    typ: Option<String>,
}

/// The header, read leniently enough to say *why* a token is refused (`alg: none` is not an
/// algorithm jsonwebtoken knows, so its own parser would only say "malformed").
fn read_header(token: &str) -> Result<Header, Rejection> {
    let encoded = token.split('.').next().ok_or(Rejection::Malformed)?;
    if token.split('.').count() != 3 {
        return Err(Rejection::Malformed);
    }
    let bytes = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| Rejection::Malformed)?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|_| Rejection::Malformed)?;
    let alg = value.get("alg").and_then(|a| a.as_str()).ok_or(Rejection::Malformed)?;
    if alg != "EdDSA" {
        return Err(Rejection::UnsupportedAlgorithm(alg.chars().take(20).collect()));
    }
    let kid = value.get("kid").and_then(|k| k.as_str()).ok_or(Rejection::UnknownKey)?;
    let typ = value.get("typ").and_then(|t| t.as_str()).map(str::to_string);
    Ok(Header { kid: kid.to_string(), typ })
}

impl Latchkey {
    /// Starts configuring the Latchkey at `issuer` (its `LATCHKEY_PUBLIC_URL`).
    pub fn builder(issuer: &str) -> Builder {
        Builder {
            issuer: issuer.to_string(),
            app_url: None,
            authorized_parties: Vec::new(),
            leeway: Duration::from_secs(5),
            refetch_interval: Duration::from_secs(5),
            secret_key: None,
            jwks: None,
            clock: Arc::new(system_seconds),
        }
    }

    /// Latchkey's public URL, as tokens name it in `iss`.
    pub fn issuer(&self) -> &str {
        &self.inner.issuer
    }

    pub(crate) fn now(&self) -> i64 {
        (self.inner.clock)()
    }

    /// Verifies a session token: signature, issuer, times, authorized party.
    ///
    /// A token verified once is remembered (the whole token, so no other can match it) until
    /// it expires: a browser sends the same token on every request of its minute, and only
    /// its times need checking again.
    pub async fn verify(&self, token: &str) -> Result<SessionClaims, Rejection> {
        if let Some(claims) = self.remembered(token) {
            self.check_times(claims.nbf, claims.exp)?;
            return Ok(claims);
        }
        let header = read_header(token)?;
        if header.typ.as_deref() != Some("JWT") {
            return Err(Rejection::WrongType);
        }
        let key = self.key(&header.kid).await?;
        let claims = self.check_session(token, &key)?;
        self.remember(token, &claims);
        Ok(claims)
    }

    fn remembered(&self, token: &str) -> Option<SessionClaims> {
        self.inner.verified.lock().ok()?.get(token).cloned()
    }

    fn remember(&self, token: &str, claims: &SessionClaims) {
        let Ok(mut verified) = self.inner.verified.lock() else { return };
        if verified.len() >= REMEMBERED_TOKENS {
            let now = self.now();
            verified.retain(|_, c| c.exp + self.inner.leeway >= now);
            if verified.len() >= REMEMBERED_TOKENS {
                verified.clear();
            }
        }
        verified.insert(token.to_string(), claims.clone());
    }

    /// Like [`Latchkey::verify`] with the keys already cached, without waiting for a fetch:
    /// `UnknownKey` when the key is not cached.
    pub fn verify_cached(&self, token: &str) -> Result<SessionClaims, Rejection> {
        let header = read_header(token)?;
        if header.typ.as_deref() != Some("JWT") {
            return Err(Rejection::WrongType);
        }
        let key = self.cached_key(&header.kid).ok_or(Rejection::UnknownKey)?;
        self.check_session(token, &key)
    }

    fn check_session(&self, token: &str, key: &DecodingKey) -> Result<SessionClaims, Rejection> {
        let claims: SessionClaims = self.decode(token, key)?;
        if claims.iss != self.inner.issuer {
            return Err(Rejection::WrongIssuer);
        }
        self.check_times(claims.nbf, claims.exp)?;
        if let Some(azp) = &claims.azp {
            if !self.inner.authorized_parties.is_empty() && !self.inner.authorized_parties.contains(azp) {
                return Err(Rejection::UnauthorizedParty);
            }
        }
        Ok(claims)
    }

    /// Reads a handshake answer meant for `app_origin` and asked for with `nonce` (the one this
    /// browser keeps): `Some(session token)` signed in, `None` signed out. An answer carried to
    /// another browser (a link someone sent) is refused, or it would sign that browser in as
    /// whoever asked.
    pub async fn verify_handshake(
        &self,
        answer: &str,
        app_origin: &str,
        nonce: &str,
    ) -> Result<Option<String>, Rejection> {
        let header = read_header(answer)?;
        if header.typ.as_deref() != Some(HANDSHAKE_TYP) {
            return Err(Rejection::WrongType);
        }
        let key = self.key(&header.kid).await?;
        let claims: HandshakeClaims = self.decode(answer, &key)?;
        if claims.iss != self.inner.issuer {
            return Err(Rejection::WrongIssuer);
        }
        if claims.aud != app_origin {
            return Err(Rejection::WrongAudience);
        }
        self.check_times(claims.nbf, claims.exp)?;
        if claims.nonce.as_deref() != Some(nonce) {
            return Err(Rejection::WrongBrowser);
        }
        Ok(claims.session_token)
    }

    /// Signature (and the claims' shape) only; the claims are checked by the caller.
    fn decode<T: serde::de::DeserializeOwned>(&self, token: &str, key: &DecodingKey) -> Result<T, Rejection> {
        let mut validation = Validation::new(Algorithm::EdDSA);
        // Times are checked against our own clock (see check_times); no audience on session tokens.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        jsonwebtoken::decode::<T>(token, key, &validation).map(|data| data.claims).map_err(|e| {
            use jsonwebtoken::errors::ErrorKind;
            match e.kind() {
                ErrorKind::InvalidSignature => Rejection::BadSignature,
                ErrorKind::InvalidAlgorithm | ErrorKind::InvalidAlgorithmName => {
                    Rejection::UnsupportedAlgorithm("not EdDSA".into())
                }
                _ => Rejection::Malformed,
            }
        })
    }

    fn check_times(&self, nbf: i64, exp: i64) -> Result<(), Rejection> {
        let now = self.now();
        if now > exp.saturating_add(self.inner.leeway) {
            return Err(Rejection::Expired);
        }
        if now < nbf.saturating_sub(self.inner.leeway) {
            return Err(Rejection::NotYetValid);
        }
        Ok(())
    }

    fn cached_key(&self, kid: &str) -> Option<DecodingKey> {
        self.inner.keys.read().ok()?.get(kid).cloned()
    }

    /// The key named `kid`, fetching the JWKS again when it is not known (at most once per
    /// refetch interval, one fetch for all who wait).
    async fn key(&self, kid: &str) -> Result<DecodingKey, Rejection> {
        if let Some(key) = self.cached_key(kid) {
            return Ok(key);
        }
        if self.inner.fixed_keys {
            return Err(Rejection::UnknownKey);
        }
        let mut last_fetch = self.inner.last_fetch.lock().await;
        if let Some(key) = self.cached_key(kid) {
            return Ok(key);
        }
        if last_fetch.is_some_and(|at| at.elapsed() < self.inner.refetch_interval) {
            return Err(Rejection::UnknownKey);
        }
        *last_fetch = Some(Instant::now());
        let set = self.fetch_jwks().await?;
        let keys = keys_of(&set);
        let found = keys.get(kid).cloned();
        if let Ok(mut cached) = self.inner.keys.write() {
            *cached = Arc::new(keys);
        }
        found.ok_or(Rejection::UnknownKey)
    }

    async fn fetch_jwks(&self) -> Result<JwkSet, Rejection> {
        let unavailable = |e: reqwest::Error| Rejection::KeysUnavailable(e.to_string());
        let response = self.inner.http.get(&self.inner.jwks_url).send().await.map_err(unavailable)?;
        let response = response.error_for_status().map_err(unavailable)?;
        response.json::<JwkSet>().await.map_err(unavailable)
    }

    /// Fetches Latchkey's keys now (at start, so the first request does not wait).
    pub async fn prefetch_keys(&self) -> Result<(), Rejection> {
        let set = self.fetch_jwks().await?;
        if let Ok(mut cached) = self.inner.keys.write() {
            *cached = Arc::new(keys_of(&set));
        }
        Ok(())
    }

    /// Latchkey's sign-in page, coming back to `return_to` through the handshake, so your
    /// server has the token at once.
    pub fn sign_in_url(&self, return_to: &str) -> String {
        let handshake = self.handshake_url(return_to);
        let mut url = format!("{}/sign-in", self.inner.issuer);
        url.push_str("?redirect_url=");
        url.push_str(&encode(&handshake));
        url
    }

    /// The handshake that sends the browser back to `return_to` with its session token. Its
    /// answer is for no browser in particular: [`LatchkeyLayer`](crate::LatchkeyLayer) takes it
    /// as the sign that the person is back, and asks again for one bound to their browser.
    pub fn handshake_url(&self, return_to: &str) -> String {
        format!("{}/v1/client/handshake?redirect_url={}", self.inner.issuer, encode(return_to))
    }

    /// The handshake for the browser that keeps `nonce` (random, URL-safe, at most 64
    /// characters, kept where only your server reads it): its answer carries the nonce, and
    /// [`Latchkey::verify_handshake`] takes it only with that nonce.
    pub fn bound_handshake_url(&self, return_to: &str, nonce: &str) -> String {
        format!("{}&nonce={}", self.handshake_url(return_to), encode(nonce))
    }

    /// The backend API client (needs [`Builder::secret_key`]).
    pub fn backend(&self) -> crate::BackendApi {
        crate::BackendApi::new(self.clone())
    }
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
