//! Every way a sign-in can end without signing the person in, with the words a person reads.
//!
//! One catalog serves the error pages, the `?error=` banner of `/sign-in`, and the JSON errors.

use serde::{Deserialize, Serialize};

/// What every edge says when the database does not answer (APIs, dashboard, OpenID).
pub const STORAGE_UNAVAILABLE: &str = "We could not reach our database. Try again in a moment.";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    /// The person pressed Cancel on Notion's consent page.
    Cancelled,
    /// The callback came without a `state`, or without the browser's flow cookie.
    StateMissing,
    /// The `state` is unknown: forged, or already used.
    StateInvalid,
    /// The `state` was issued more than ten minutes ago.
    StateExpired,
    /// The `state` was issued to another browser.
    StateOtherBrowser,
    /// Notion refused the code: already used, expired or revoked.
    CodeRejected,
    /// Notion refused our client credentials: the admin must fix the connection.
    ClientRejected,
    /// Notion answered with an error the flow cannot recover from.
    NotionRejected,
    /// Notion was down, slow, cut the connection, or answered something that is not its API.
    NotionUnavailable,
    /// Notion asks us to slow down.
    NotionRateLimited,
    /// The authorization belongs to a workspace, not a person (a legacy Notion integration).
    NoPerson,
    /// The integration lacks the "user information including email addresses" capability.
    EmailMissing,
    /// The Notion connection is off (or missing).
    ConnectionDisabled,
    /// The Notion connection has no usable credentials.
    ConnectionUnconfigured,
    /// `redirect_url` points outside the allowed origins.
    RedirectNotAllowed,
    /// The request itself is malformed (a missing code, repeated or oversized parameters).
    BadRequest,
    /// Too many sign-in attempts from this address.
    RateLimited,
    /// Sign-ups are closed and this Notion person has no account.
    SignUpsClosed,
    /// The database could not be reached.
    StorageUnavailable,
}

impl Failure {
    pub const ALL: [Failure; 19] = [
        Failure::Cancelled,
        Failure::StateMissing,
        Failure::StateInvalid,
        Failure::StateExpired,
        Failure::StateOtherBrowser,
        Failure::CodeRejected,
        Failure::ClientRejected,
        Failure::NotionRejected,
        Failure::NotionUnavailable,
        Failure::NotionRateLimited,
        Failure::NoPerson,
        Failure::EmailMissing,
        Failure::ConnectionDisabled,
        Failure::ConnectionUnconfigured,
        Failure::RedirectNotAllowed,
        Failure::BadRequest,
        Failure::RateLimited,
        Failure::SignUpsClosed,
        Failure::StorageUnavailable,
    ];

    /// The contract's snake_case error code.
    pub fn code(self) -> &'static str {
        match self {
            Failure::Cancelled => "access_denied",
            Failure::StateMissing => "state_missing",
            Failure::StateInvalid => "state_invalid",
            Failure::StateExpired => "state_expired",
            Failure::StateOtherBrowser => "state_other_browser",
            Failure::CodeRejected => "code_rejected",
            Failure::ClientRejected => "notion_client_rejected",
            Failure::NotionRejected => "notion_rejected",
            Failure::NotionUnavailable => "notion_unavailable",
            Failure::NotionRateLimited => "notion_rate_limited",
            Failure::NoPerson => "notion_no_person",
            Failure::EmailMissing => "notion_email_missing",
            Failure::ConnectionDisabled => "connection_disabled",
            Failure::ConnectionUnconfigured => "connection_unconfigured",
            Failure::RedirectNotAllowed => "redirect_url_not_allowed",
            Failure::BadRequest => "bad_request",
            Failure::RateLimited => "rate_limited",
            Failure::SignUpsClosed => "sign_ups_closed",
            Failure::StorageUnavailable => "storage_unavailable",
        }
    }

    pub fn from_code(code: &str) -> Option<Failure> {
        Failure::ALL.into_iter().find(|f| f.code() == code)
    }

    /// The HTTP status of the page or JSON error.
    pub fn status(self) -> u16 {
        match self {
            Failure::Cancelled
            | Failure::StateMissing
            | Failure::StateInvalid
            | Failure::StateExpired
            | Failure::StateOtherBrowser
            | Failure::CodeRejected
            | Failure::RedirectNotAllowed
            | Failure::BadRequest => 400,
            Failure::ConnectionDisabled | Failure::SignUpsClosed => 403,
            Failure::NoPerson | Failure::EmailMissing => 422,
            Failure::RateLimited => 429,
            Failure::ClientRejected
            | Failure::NotionRejected
            | Failure::NotionUnavailable
            | Failure::NotionRateLimited => 502,
            Failure::ConnectionUnconfigured | Failure::StorageUnavailable => 503,
        }
    }

    /// A short headline: what happened.
    pub fn title(self) -> &'static str {
        match self {
            Failure::Cancelled => "You cancelled the sign-in",
            Failure::StateMissing => "This sign-in link is incomplete",
            Failure::StateInvalid => "This sign-in link is no longer valid",
            Failure::StateExpired => "This sign-in link has expired",
            Failure::StateOtherBrowser => "This sign-in was started in another browser",
            Failure::CodeRejected => "Notion did not accept this sign-in",
            Failure::ClientRejected => "Sign-in with Notion is misconfigured",
            Failure::NotionRejected => "Notion refused the sign-in",
            Failure::NotionUnavailable => "Notion is not answering",
            Failure::NotionRateLimited => "Notion is busy",
            Failure::NoPerson => "This Notion authorization has no person",
            Failure::EmailMissing => "Notion did not share your email address",
            Failure::ConnectionDisabled => "Sign-in with Notion is turned off",
            Failure::ConnectionUnconfigured => "Sign-in with Notion is not set up",
            Failure::RedirectNotAllowed => "That return address is not allowed",
            Failure::BadRequest => "This sign-in request is malformed",
            Failure::RateLimited => "Too many sign-in attempts",
            Failure::SignUpsClosed => "Sign-ups are closed",
            Failure::StorageUnavailable => "We could not reach our database",
        }
    }

    /// What it means and what to do next, in a sentence or two.
    pub fn message(self) -> &'static str {
        match self {
            Failure::Cancelled => "You pressed Cancel on Notion, so nothing was shared and you are not signed in. Start again whenever you are ready.",
            Failure::StateMissing => "The link that brought you back from Notion is missing part of the sign-in, or your browser did not send our cookie. Start the sign-in again from this browser, with cookies allowed.",
            Failure::StateInvalid => "This sign-in link was already used or was not issued by us. Start the sign-in again; do not reuse links from an earlier sign-in.",
            Failure::StateExpired => "Sign-in links last ten minutes and this one is older. Start the sign-in again.",
            Failure::StateOtherBrowser => "For your safety, a sign-in must finish in the browser that started it. Start the sign-in again in this browser.",
            Failure::CodeRejected => "Notion says this sign-in code was already used or has expired. Start the sign-in again.",
            Failure::ClientRejected => "Notion did not accept this site's client ID or secret. If you run this site, check the Notion connection's credentials in the dashboard.",
            Failure::NotionRejected => "Notion answered with an error we cannot work around. Try again; if it keeps happening, contact the site's owner.",
            Failure::NotionUnavailable => "Notion did not answer in time or answered with an error. Nothing was saved. Wait a moment and try again.",
            Failure::NotionRateLimited => "Notion asked us to slow down. Wait a minute and try again.",
            Failure::NoPerson => "This authorization belongs to a whole Notion workspace, not to a person, so it cannot sign anyone in. Sign in with a Notion account of your own; if you run this site, use a public Notion integration.",
            Failure::EmailMissing => "Notion did not share an email address for you. If you run this site, turn on the integration capability \"Read user information including email addresses\" in Notion, then try again.",
            Failure::ConnectionDisabled => "The owner of this site has turned off signing in with Notion. Try again later or contact them.",
            Failure::ConnectionUnconfigured => "The Notion connection has no client ID and secret yet. If you run this site, add them in the dashboard under SSO connections.",
            Failure::RedirectNotAllowed => "The page that sent you here asked to return you to an address this site does not trust, so we stopped. Go back and start again from the site itself.",
            Failure::BadRequest => "The address is missing something or has something extra. Start the sign-in again from the sign-in page.",
            Failure::RateLimited => "There were too many sign-in attempts from your network. Wait a minute and try again.",
            Failure::SignUpsClosed => "This site is not accepting new accounts right now.",
            Failure::StorageUnavailable => "Nothing was saved and you are not signed in. Try again in a moment.",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_round_trip() {
        for failure in Failure::ALL {
            assert_eq!(Failure::from_code(failure.code()), Some(failure));
            assert!(failure.code().chars().all(|c| c.is_ascii_lowercase() || c == '_'));
            assert!(failure.status() >= 400);
        }
        let mut codes: Vec<_> = Failure::ALL.iter().map(|f| f.code()).collect();
        codes.sort();
        codes.dedup();
        assert_eq!(codes.len(), Failure::ALL.len());
        assert_eq!(Failure::from_code("no_such_code"), None);
    }
}
