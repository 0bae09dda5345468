//! Where a browser may be sent after signing in: only to the allowed origins (no open redirect).

use url::Url;

use crate::config::origin_of;

/// Longest `redirect_url` accepted; longer ones are refused rather than cut.
pub const MAX_REDIRECT_URL_LEN: usize = 2048;

/// Checks `candidate` and returns the absolute URL to send the browser to.
///
/// A path (`/user`) is taken relative to the public URL. Anything else must be an absolute
/// http(s) URL whose origin is exactly one of `allowed_origins`, with no user name or password,
/// no backslashes, whitespace or control characters (which browsers "repair" in surprising ways).
pub fn check_redirect_url(candidate: &str, public_url: &Url, allowed_origins: &[String]) -> Option<Url> {
    if candidate.is_empty()
        || candidate.len() > MAX_REDIRECT_URL_LEN
        || candidate.chars().any(|c| c.is_control() || c.is_whitespace() || c == '\\')
    {
        return None;
    }
    let url = if candidate.starts_with('/') {
        // `//host` and `/\host` are protocol-relative to browsers: never a local path.
        if candidate.starts_with("//") {
            return None;
        }
        public_url.join(candidate).ok()?
    } else {
        Url::parse(candidate).ok()?
    };
    if !matches!(url.scheme(), "http" | "https") || !url.username().is_empty() || url.password().is_some() {
        return None;
    }
    let origin = origin_of(&url);
    allowed_origins.contains(&origin).then_some(url)
}

/// A way back to the app a person came from: `url` and the host that names it, when `url` is
/// another site than Latchkey's own (its pages are reached by its own links, not "Back to").
pub fn back_to_app(url: Url, public_url: &Url) -> Option<(String, Url)> {
    if url.origin() == public_url.origin() {
        return None;
    }
    Some((url.host_str()?.to_string(), url))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(candidate: &str) -> Option<String> {
        let public = Url::parse("https://auth.example.com").expect("url");
        let allowed = vec![
            "https://auth.example.com".to_string(),
            "https://app.example.com".to_string(),
            "http://localhost:5173".to_string(),
        ];
        check_redirect_url(candidate, &public, &allowed).map(|u| u.to_string())
    }

    #[test]
    fn allowed_destinations_pass() {
        assert_eq!(check("https://app.example.com/after?x=1").as_deref(), Some("https://app.example.com/after?x=1"));
        assert_eq!(check("/user").as_deref(), Some("https://auth.example.com/user"));
        assert_eq!(check("http://localhost:5173/").as_deref(), Some("http://localhost:5173/"));
        assert_eq!(check("HTTPS://APP.EXAMPLE.COM/x").as_deref(), Some("https://app.example.com/x"));
        assert_eq!(check("https://app.example.com:443/x").as_deref(), Some("https://app.example.com/x"));
    }

    #[test]
    fn open_redirect_tricks_fail() {
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "https://evil.example/",
            "https://app.example.com.evil.example/",
            "https://evil.example/https://app.example.com",
            "https://app.example.com@evil.example/",
            "https://user:pw@app.example.com/",
            "javascript:alert(1)",
            "JavaScript:alert(1)//https://app.example.com",
            "data:text/html,<script>alert(1)</script>",
            "http://app.example.com/",
            "https://app.example.com:8443/",
            "http://localhost:5174/",
            "https://app.example.com/\nSet-Cookie:x",
            " https://app.example.com/",
            "https%3A%2F%2Fevil.example",
            "%2F%2Fevil.example",
            "",
        ] {
            assert_eq!(check(bad), None, "{bad:?} must be refused");
        }
        let long = format!("https://app.example.com/{}", "a".repeat(MAX_REDIRECT_URL_LEN));
        assert_eq!(check(&long), None);
    }

    #[test]
    fn a_way_back_leads_only_to_another_site() {
        let public = Url::parse("https://auth.example.com").expect("url");
        let app = Url::parse("https://app.example.com/after?x=1").expect("url");
        assert_eq!(back_to_app(app.clone(), &public), Some(("app.example.com".to_string(), app)));
        assert_eq!(back_to_app(Url::parse("https://auth.example.com/user").expect("url"), &public), None);
        // Another port is another origin: another site.
        let other_port = Url::parse("https://auth.example.com:8443/").expect("url");
        assert!(back_to_app(other_port, &public).is_some());
    }
}
