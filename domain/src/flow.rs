//! The sign-in with Notion, start to finish. Read top to bottom:
//!
//! 1. [`Latchkey::start_sign_in`]: check where the person wants to end up, pick the connection's
//!    credentials, mint a random state, bind it to this browser (a stored hash of the state and of
//!    a random flow cookie: works across replicas, holds nothing in memory), send them to Notion.
//! 2. [`Latchkey::finish_sign_in`]: Notion's `error` first, then the state (single use, ten
//!    minutes, this browser), then the code exchange, then the person, then one transaction that
//!    finds or creates the user and starts a session with a fresh token.

use tracing::{info, warn};
use url::Url;

use crate::crypto::{is_token_shaped, random_id, random_token, SealPurpose};
use crate::failure::Failure;
use crate::ids::{Provider, SessionId, SessionToken, TokenHash, UserId};
use crate::notion::{ClientCredentials, NotionClient};
use crate::redirect::check_redirect_url;
use crate::secret::Secret;
use crate::service::{Latchkey, NotionEndpoints};
use crate::session::{ABSOLUTE_LIFETIME, FLOW_LIFETIME};
use crate::store::{ConnectionRow, FlowRow, GrantRecord, NewSession, SignInRecord, SignInRefused, StoreError};

/// Whether the person came to sign in or to sign up. Both end the same way: an unknown Notion
/// person becomes a new user (while sign-ups are open); the intent only words the pages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    SignIn,
    SignUp,
}

impl Intent {
    pub fn parse(text: Option<&str>) -> Option<Intent> {
        match text {
            None | Some("sign_in") => Some(Intent::SignIn),
            Some("sign_up") => Some(Intent::SignUp),
            Some(_) => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Intent::SignIn => "sign_in",
            Intent::SignUp => "sign_up",
        }
    }
}

/// A started sign-in: where to send the browser, and the flow cookie value to set.
#[derive(Debug)]
pub struct Started {
    pub authorize_url: Url,
    pub browser_nonce: Secret<String>,
}

/// The query Notion calls back with.
#[derive(Debug, Default, Clone)]
pub struct Callback {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
}

/// A finished sign-in.
#[derive(Debug)]
pub struct SignedIn {
    pub session_token: SessionToken,
    pub redirect_url: String,
    pub user_id: UserId,
    pub created_user: bool,
}

/// A sign-in that did not finish, and where "try again" goes: the same page (sign-in or sign-up)
/// with the same `redirect_url` the flow had, so a retry still ends in the app it came from.
#[derive(Debug)]
pub struct SignInFailed {
    pub failure: Failure,
    /// `/sign-in?redirect_url=…` (or `/sign-up…`) when the flow was known; else `None`.
    pub retry_href: Option<String>,
    /// Where the flow would have ended: the way back to the app without signing in.
    pub redirect_url: Option<String>,
}

/// The portal page a flow started from, keeping where it was to end.
fn retry_href(flow: &FlowRow) -> String {
    let page = if flow.intent == Intent::SignUp.as_str() { "/sign-up" } else { "/sign-in" };
    format!(
        "{page}?redirect_url={}",
        url::form_urlencoded::byte_serialize(flow.redirect_url.as_bytes()).collect::<String>()
    )
}

/// The longest query string the callback reads; Notion's are far shorter.
pub const MAX_CALLBACK_QUERY_LEN: usize = 4096;

impl Callback {
    /// Parses the callback's raw query string (see [`unique_query_params`]).
    pub fn parse(raw_query: &str) -> Result<Callback, Failure> {
        let [code, state, error] = unique_query_params(raw_query, ["code", "state", "error"])?;
        Ok(Callback { code, state, error })
    }
}

/// Reads the named parameters of a query string, each at most once. A query longer than
/// [`MAX_CALLBACK_QUERY_LEN`] or naming one of them twice is a [`Failure::BadRequest`]: there is no
/// right way to pick one of two states. Other parameters are ignored.
pub fn unique_query_params<const N: usize>(raw_query: &str, names: [&str; N]) -> Result<[Option<String>; N], Failure> {
    if raw_query.len() > MAX_CALLBACK_QUERY_LEN {
        return Err(Failure::BadRequest);
    }
    let mut values: [Option<String>; N] = std::array::from_fn(|_| None);
    for (key, value) in url::form_urlencoded::parse(raw_query.as_bytes()) {
        if let Some(index) = names.iter().position(|name| *name == key) {
            if values[index].is_some() {
                return Err(Failure::BadRequest);
            }
            values[index] = Some(value.into_owned());
        }
    }
    Ok(values)
}

impl Latchkey {
    /// Where a browser goes after signing in when it did not say: the profile page.
    pub fn default_redirect_url(&self) -> String {
        self.config.public_url_join("/user")
    }

    /// Step 1: everything checked *before* the browser leaves for Notion.
    pub async fn start_sign_in(&self, redirect_url: Option<&str>, intent: Intent) -> Result<Started, Failure> {
        // Both reads at once (on PostgreSQL, two round trips in the time of one); the checks
        // keep their order: where to go back to first, then the connection.
        let (portal, connection) = tokio::join!(self.portal_settings(), self.enabled_connection());
        let portal = portal.map_err(storage_failure)?;
        let redirect_url = match redirect_url {
            Some(candidate) => {
                let allowed = self.allowed_origins_with(&portal);
                check_redirect_url(candidate, &self.config.public_url, &allowed)
                    .ok_or(Failure::RedirectNotAllowed)?
                    .to_string()
            }
            // Where the admin said people go after signing in (or up), else the profile.
            None => match intent {
                Intent::SignIn => portal.after_sign_in_url,
                Intent::SignUp => portal.after_sign_up_url,
            }
            .unwrap_or_else(|| self.default_redirect_url()),
        };
        let connection = connection?;
        let (credentials, endpoints) = self.credentials_for(&connection)?;

        let now = self.now();
        let state = random_token(32);
        // A fresh flow cookie for every flow, never the one the browser brought: a nonce that
        // outlived its flow (or was planted by someone else) would let a leaked callback URL of
        // a later flow finish in that other browser. Of two tabs signing in at once, the one
        // started last finishes; the other starts again.
        let nonce = random_token(32);
        let flow = FlowRow {
            state_hash: TokenHash::of(&state),
            browser_hash: TokenHash::of(&nonce),
            connection_id: connection.id.clone(),
            intent: intent.as_str().into(),
            redirect_url,
            created_at: now,
            expires_at: now + FLOW_LIFETIME,
            sign_ups_open: portal.sign_ups_open,
        };
        self.store.insert_flow(&flow).await.map_err(storage_failure)?;

        let authorize_url = NotionClient::authorize_url(
            &endpoints.browser,
            &credentials.client_id,
            &self.config.redirect_uri(),
            &state,
        );
        Ok(Started { authorize_url, browser_nonce: Secret::new(nonce) })
    }

    /// Step 2: Notion sent the browser back.
    ///
    /// `browser_nonce` is the flow cookie; `previous_session` a session token this browser
    /// already held (it ends, and a fresh token is issued: no fixation).
    pub async fn finish_sign_in(
        &self,
        callback: &Callback,
        browser_nonce: Option<&str>,
        previous_session: Option<&SessionToken>,
        user_agent: Option<&str>,
    ) -> Result<SignedIn, SignInFailed> {
        // The state is consumed whatever happens next: a callback URL works once.
        let flow = match &callback.state {
            Some(state) if is_token_shaped(state) => self
                .store
                .take_flow(&TokenHash::of(state))
                .await
                .map_err(|e| SignInFailed { failure: storage_failure(e), retry_href: None, redirect_url: None })?,
            Some(_) => None,
            None => None,
        };
        // Only a flow this browser started may send it back to an app: a stranger's state must
        // not choose where a failure page links.
        let ours = flow.as_ref().filter(|f| f.started_in(browser_nonce));
        let retry = ours.map(retry_href);
        let redirect_url = ours.map(|f| f.redirect_url.clone());
        self.finish_taken_flow(callback, flow, browser_nonce, previous_session, user_agent)
            .await
            .map_err(|failure| SignInFailed { failure, retry_href: retry, redirect_url })
    }

    /// The rest of [`Latchkey::finish_sign_in`], once the flow row is taken.
    async fn finish_taken_flow(
        &self,
        callback: &Callback,
        flow: Option<FlowRow>,
        browser_nonce: Option<&str>,
        previous_session: Option<&SessionToken>,
        user_agent: Option<&str>,
    ) -> Result<SignedIn, Failure> {
        // Notion's error first: the person cancelled, or Notion refused.
        if let Some(error) = &callback.error {
            // Escaped: the value is the caller's, and CR/LF or terminal escapes must not forge
            // log lines.
            info!(error = %truncate(error, 64).escape_debug(), "Notion returned an error to the callback");
            return Err(if error == "access_denied" { Failure::Cancelled } else { Failure::NotionRejected });
        }

        // Then the state: present, known, fresh, and this browser's. A code that arrives with a
        // state we do not accept is spent all the same (see `spend_code`).
        let flow = match self.check_flow(callback, flow, browser_nonce) {
            Ok(flow) => flow,
            Err(failure) => {
                self.spend_code(callback.code.as_deref()).await;
                return Err(failure);
            }
        };
        let now = self.now();
        let code = callback.code.as_deref().filter(|c| !c.is_empty() && c.len() <= 512).ok_or(Failure::BadRequest)?;

        // Then the exchange, with the connection as it is now (it may have been switched off).
        let connection = self.enabled_connection().await?;
        if connection.id != flow.connection_id {
            return Err(Failure::ConnectionDisabled);
        }
        let (credentials, endpoints) = self.credentials_for(&connection)?;
        let token = self
            .notion
            .exchange_code(&endpoints.server, &credentials, code, &self.config.redirect_uri())
            .await
            .map_err(|e| {
                warn!(error = %e, "Notion code exchange failed");
                e.failure()
            })?;

        // From here, a failure leaves a live Notion token nothing records: it is revoked.
        let unused = |failure: Failure| {
            self.revoke_unused_token(&credentials, &endpoints, token.access_token.expose());
            failure
        };

        // Then the person.
        let identity = token.identity().map_err(|_| unused(Failure::NoPerson))?;
        if identity.email.is_none() {
            return Err(unused(Failure::EmailMissing));
        }

        // Then one transaction: user, Notion account, workspace grant, session.
        let session_token = SessionToken::generate();
        let record = SignInRecord {
            now,
            identity,
            new_user_id: UserId::generate(),
            new_account_id: random_id("eacc"),
            // As the portal's setting was when this sign-in started (a flow lives 10 minutes).
            allow_sign_up: flow.sign_ups_open,
            grant: GrantRecord {
                bot_id: token.bot_id.clone(),
                connection_id: connection.id.clone(),
                workspace_id: token.workspace_id.clone(),
                workspace_name: token.workspace_name.clone(),
                workspace_icon: token.workspace_icon.clone(),
                access_token_sealed: self.sealer.seal(SealPurpose::NotionAccessToken, token.access_token.expose()),
                refresh_token_sealed: token
                    .refresh_token
                    .as_ref()
                    .map(|t| self.sealer.seal(SealPurpose::NotionRefreshToken, t.expose())),
            },
            session: NewSession {
                id: SessionId::generate(),
                token_hash: session_token.hash(),
                user_agent: user_agent.map(|ua| truncate(ua, 256).to_string()),
                expires_at: now + ABSOLUTE_LIFETIME,
            },
            replaces_session_hash: previous_session.filter(|t| t.is_well_formed()).map(SessionToken::hash),
        };
        let written = match self.store.complete_sign_in(&record).await {
            Ok(Ok(written)) => written,
            Ok(Err(SignInRefused::SignUpsClosed)) => return Err(unused(Failure::SignUpsClosed)),
            Err(error) => return Err(unused(storage_failure(error))),
        };
        info!(user_id = %written.user_id, session_id = %written.session_id, created = written.created_user, "signed in with Notion");
        Ok(SignedIn {
            session_token,
            redirect_url: flow.redirect_url,
            user_id: written.user_id,
            created_user: written.created_user,
        })
    }

    fn check_flow(
        &self,
        callback: &Callback,
        flow: Option<FlowRow>,
        browser_nonce: Option<&str>,
    ) -> Result<FlowRow, Failure> {
        if callback.state.is_none() {
            return Err(Failure::StateMissing);
        }
        let flow = flow.ok_or(Failure::StateInvalid)?;
        if self.now() >= flow.expires_at {
            return Err(Failure::StateExpired);
        }
        if !flow.started_in(browser_nonce) {
            return Err(Failure::StateOtherBrowser);
        }
        Ok(flow)
    }

    /// A code that reached a callback we refused before exchanging it (over the rate limit, a
    /// state that is not this browser's, expired…) is exchanged anyway, in the background, and
    /// the tokens it buys are revoked at Notion. Notion has no PKCE, so a live code is a sign-in
    /// for whoever presents it: left alone, a leaked one could be replayed in an attacker's own
    /// flow and sign them in as the victim. Spent, it is worth nothing.
    ///
    /// At most a few at once, so refused callbacks cannot make us flood Notion; beyond that a
    /// code is left to expire (Notion's live minutes).
    pub async fn spend_code(&self, code: Option<&str>) {
        static SPENDING: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);
        let Some(code) = code.filter(|c| !c.is_empty() && c.len() <= 512) else { return };
        let Ok(permit) = SPENDING.try_acquire() else {
            warn!("too many refused callbacks at once: a code was left unspent");
            return;
        };
        let Ok(connection) = self.enabled_connection().await else { return };
        let Ok((credentials, endpoints)) = self.credentials_for(&connection) else { return };
        let notion = self.notion.clone();
        let redirect_uri = self.config.redirect_uri();
        let code = code.to_string();
        tokio::spawn(async move {
            let _permit = permit;
            match notion.exchange_code(&endpoints.server, &credentials, &code, &redirect_uri).await {
                Ok(token) => {
                    if let Err(e) = notion.revoke(&endpoints.server, &credentials, token.access_token.expose()).await {
                        warn!(error = %e, "revoking the tokens of a refused callback's code failed");
                    } else {
                        info!("a refused callback's code was spent and its token revoked");
                    }
                }
                // Already used, expired or never real: nothing left to spend.
                Err(e) => info!(error = %e, "a refused callback's code could not be exchanged"),
            }
        });
    }

    /// A token Notion gave for a sign-in that then failed (no person, no email, sign-ups closed,
    /// the database down) is revoked at Notion, in the background: the person was told it did
    /// not work, so the integration must not stay installed with nothing here that records it.
    fn revoke_unused_token(&self, credentials: &ClientCredentials, endpoints: &NotionEndpoints, access_token: &str) {
        let (notion, credentials, server) = (self.notion.clone(), credentials.clone(), endpoints.server.clone());
        let access_token = access_token.to_string();
        tokio::spawn(async move {
            match notion.revoke(&server, &credentials, &access_token).await {
                Ok(()) => info!("the token of a failed sign-in was revoked at Notion"),
                Err(e) => warn!(error = %e, "revoking the token of a failed sign-in failed"),
            }
        });
    }

    /// Whether someone new may sign up (the Account Portal's switch); open if it cannot be read,
    /// since a sign-in started then checks again.
    pub async fn sign_ups_open(&self) -> bool {
        self.portal_settings().await.map_or(true, |portal| portal.sign_ups_open)
    }

    /// Why a sign-in started now would fail before it leaves for Notion (no enabled connection,
    /// no credentials, no database), or `None` when it can start: the portal's pages then offer
    /// no button that only leads to an error page.
    pub async fn sign_in_unavailable(&self) -> Option<Failure> {
        let connection = match self.enabled_connection().await {
            Ok(connection) => connection,
            Err(failure) => return Some(failure),
        };
        self.credentials_for(&connection).err()
    }

    pub(crate) async fn enabled_connection(&self) -> Result<ConnectionRow, Failure> {
        match self.store.connection_by_provider(Provider::Notion).await.map_err(storage_failure)? {
            Some(connection) if connection.is_enabled() => Ok(connection),
            _ => Err(Failure::ConnectionDisabled),
        }
    }

    /// The client credentials a connection signs in with, and where Notion is for them.
    pub fn credentials_for(&self, connection: &ConnectionRow) -> Result<(ClientCredentials, NotionEndpoints), Failure> {
        if !connection.uses_custom_credentials() {
            return self.shared_credentials().ok_or(Failure::ConnectionUnconfigured);
        }
        let (Some(client_id), Some(sealed)) = (&connection.client_id, &connection.client_secret_sealed) else {
            return Err(Failure::ConnectionUnconfigured);
        };
        let client_secret = self.sealer.open(SealPurpose::ConnectionClientSecret, sealed).map_err(|e| {
            warn!(error = %e, connection = %connection.id, "cannot open the connection's client secret");
            Failure::ConnectionUnconfigured
        })?;
        Ok((ClientCredentials { client_id: client_id.clone(), client_secret }, self.notion_endpoints()))
    }
}

fn storage_failure(error: StoreError) -> Failure {
    warn!(%error, "storage failed during sign-in");
    Failure::StorageUnavailable
}

fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((index, _)) => &text[..index],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn callback_query_parsing_refuses_repeats_and_floods() {
        let ok = Callback::parse("code=abc&state=xyz&extra=1").expect("valid");
        assert_eq!((ok.code.as_deref(), ok.state.as_deref(), ok.error), (Some("abc"), Some("xyz"), None));
        let denied = Callback::parse("error=access_denied&state=s").expect("valid");
        assert_eq!(denied.error.as_deref(), Some("access_denied"));
        assert_eq!(Callback::parse("code=a&state=s&state=t").err(), Some(Failure::BadRequest));
        assert_eq!(Callback::parse("code=a&code=b").err(), Some(Failure::BadRequest));
        assert_eq!(
            Callback::parse(&format!("code={}", "a".repeat(MAX_CALLBACK_QUERY_LEN))).err(),
            Some(Failure::BadRequest)
        );
        assert_eq!(Callback::parse("state=%E2%9C%93").expect("utf-8").state.as_deref(), Some("✓"));
        assert!(Callback::parse("").expect("empty is parseable").state.is_none());
    }

    #[test]
    fn intent_parses_the_contracts_values_only() {
        assert_eq!(Intent::parse(None), Some(Intent::SignIn));
        assert_eq!(Intent::parse(Some("sign_in")), Some(Intent::SignIn));
        assert_eq!(Intent::parse(Some("sign_up")), Some(Intent::SignUp));
        assert_eq!(Intent::parse(Some("admin")), None);
    }

    #[test]
    fn only_our_token_shape_is_looked_up() {
        assert!(is_token_shaped(&random_token(32)));
        assert!(!is_token_shaped("short"));
        assert!(!is_token_shaped(&"a".repeat(44)));
        assert!(!is_token_shaped(&format!("{}'", "a".repeat(42))));
        assert_eq!(truncate("héllo", 2), "hé");
    }
}
