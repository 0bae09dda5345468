//! Who the client is behind reverse proxies (`LATCHKEY_TRUSTED_PROXIES`).
//!
//! The peer of the TCP connection is the client, unless the peer is a proxy we were told to
//! trust: then its `X-Forwarded-For` (or, without one, `Forwarded`) names the hops, each proxy
//! appending the address it saw. Reading from the right and skipping our own proxies, the first
//! address that is not one of them is the client. Anything left of it was written by the client
//! itself and is worth nothing, which is why the left-most entry is never taken on its own word.
//!
//! Also here: whether a request's `Host` names this instance ([`host_is_ours`]), and whether a URL
//! is on this machine ([`is_loopback_host`]).

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;
use url::Url;

/// The address a request came from, once proxies are accounted for: what the sign-in rate
/// limit and the admin lockout count by. Put into each request's extensions by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ClientIp(pub IpAddr);

impl ClientIp {
    /// What the rate limit and the lockout count by: the address, or for IPv6 its /64. One
    /// subscriber or machine is given a whole /64 and may pick any address in it, so counting
    /// each address apart would count nothing.
    pub fn limit_key(self) -> IpAddr {
        match self.0 {
            IpAddr::V6(v6) if v6.to_ipv4_mapped().is_none() => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
            other => other,
        }
    }
}

/// The proxies whose forwarding headers are believed. Empty (the default): none are.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    nets: Vec<IpNet>,
}

impl TrustedProxies {
    /// Parses `10.0.0.1, 10.1.0.0/16, ::1`. `Err` names the entry that is neither an address
    /// nor a CIDR.
    pub fn parse(list: &str) -> Result<TrustedProxies, String> {
        let mut nets = Vec::new();
        for entry in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            let net = match entry.parse::<IpNet>() {
                Ok(net) => net,
                Err(_) => match entry.parse::<IpAddr>() {
                    Ok(ip) => IpNet::from(ip),
                    Err(_) => return Err(format!("`{entry}` is not an IP address or CIDR such as 10.0.0.0/8")),
                },
            };
            nets.push(net.trunc());
        }
        Ok(TrustedProxies { nets })
    }

    pub fn is_empty(&self) -> bool {
        self.nets.is_empty()
    }

    pub fn trusts(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.nets.iter().any(|net| net.contains(&ip))
    }

    /// The client of a request from `peer` carrying these `X-Forwarded-For` and `Forwarded`
    /// header values (every line of each, in the order received).
    pub fn client(&self, peer: IpAddr, forwarded_for: &[&str], forwarded: &[&str]) -> ClientIp {
        let peer = canonical(peer);
        if !self.trusts(peer) {
            return ClientIp(peer);
        }
        let hops: Vec<Option<IpAddr>> = if !forwarded_for.is_empty() {
            forwarded_for.iter().flat_map(|line| line.split(',')).map(|hop| parse_hop(hop.trim())).collect()
        } else {
            forwarded.iter().flat_map(|line| line.split(',')).map(forwarded_for_param).collect()
        };
        // Right to left: the nearest hop first. The last address we trusted stands in when the
        // chain ends, or holds something we cannot read (`unknown`, an obfuscated name).
        let mut client = peer;
        for hop in hops.into_iter().rev() {
            match hop {
                Some(ip) if self.trusts(ip) => client = ip,
                Some(ip) => return ClientIp(ip),
                None => break,
            }
        }
        ClientIp(client)
    }
}

/// An IPv4 address reached over IPv6 (`::ffff:1.2.3.4`) is that IPv4 address.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    }
}

/// One hop as proxies write it: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1`, `[2001:db8::1]:443`.
fn parse_hop(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_matches('"');
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Some(rest) = text.strip_prefix('[') {
        return rest.split_once(']').and_then(|(ip, _)| ip.parse().ok()).map(canonical);
    }
    // IPv4 with a port; a bare IPv6 address has parsed above.
    let (ip, port) = text.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    ip.parse().ok().map(canonical)
}

/// The `for=` node of one `Forwarded` element (RFC 7239), e.g. `for="[2001:db8::1]:443";proto=https`.
fn forwarded_for_param(element: &str) -> Option<IpAddr> {
    element.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        name.trim().eq_ignore_ascii_case("for").then(|| parse_hop(value))?
    })
}

/// True when a request's `Host` is this instance: the public URL's host and port, the listen
/// address itself (local probes), or, for a loopback public URL, another loopback name on the
/// same port (`localhost` and `127.0.0.1` are the same laptop). Any other name reaching us is a
/// misrouted request or DNS rebinding (a hostile name resolved to our address to borrow the
/// browser's cookies for us), and the dashboard refuses it.
pub fn host_is_ours(public: &Url, listen: SocketAddr, host: &str) -> bool {
    let Some((name, port)) = split_host(host) else { return false };
    let public_port = public.port_or_known_default();
    let port = port.or(match public.scheme() {
        "https" => Some(443),
        _ => Some(80),
    });
    if public.host_str().is_some_and(|h| h.eq_ignore_ascii_case(&name)) && port == public_port {
        return true;
    }
    if port == Some(listen.port()) {
        if name.parse::<IpAddr>().is_ok_and(|ip| ip == listen.ip()) {
            return true;
        }
        if is_loopback_host(public) && is_loopback_name(&name) {
            return true;
        }
    }
    false
}

/// `example.com:8443` → (`example.com`, 8443); `[::1]:3000` → (`::1`, 3000); no port → None.
fn split_host(host: &str) -> Option<(String, Option<u16>)> {
    let host = host.trim();
    if let Some(rest) = host.strip_prefix('[') {
        let (name, after) = rest.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().ok()?),
            None if after.is_empty() => None,
            None => return None,
        };
        return Some((name.to_string(), port));
    }
    match host.rsplit_once(':') {
        Some((name, port)) => Some((name.to_string(), Some(port.parse().ok()?))),
        None if !host.is_empty() => Some((host.to_string(), None)),
        None => None,
    }
}

/// A URL on this machine: `localhost`, a `.localhost` name, or a loopback address.
pub fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d == "localhost" || d.ends_with(".localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

fn is_loopback_name(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost") || name.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_count_an_ipv6_client_by_its_slash_64() {
        let key = |text: &str| ClientIp(text.parse().unwrap_or(IpAddr::from([0, 0, 0, 0]))).limit_key();
        assert_eq!(key("2001:db8:1:2:aaaa::1"), key("2001:db8:1:2:bbbb::9"));
        assert_ne!(key("2001:db8:1:2::1"), key("2001:db8:1:3::1"));
        assert_eq!(key("203.0.113.7"), "203.0.113.7".parse::<IpAddr>().unwrap_or(IpAddr::from([0, 0, 0, 0])));
        assert_ne!(key("::ffff:203.0.113.7"), key("::ffff:203.0.113.8"));
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("ip")
    }

    #[test]
    fn without_trusted_proxies_the_peer_is_the_client_whatever_the_headers_say() {
        let none = TrustedProxies::default();
        assert_eq!(none.client(ip("127.0.0.1"), &["6.6.6.6"], &["for=6.6.6.6"]), ClientIp(ip("127.0.0.1")));
        let proxies = TrustedProxies::parse("10.0.0.1").expect("list");
        assert_eq!(proxies.client(ip("192.0.2.9"), &["6.6.6.6"], &[]), ClientIp(ip("192.0.2.9")), "untrusted peer");
    }

    #[test]
    fn the_right_most_untrusted_hop_is_the_client() {
        let proxies = TrustedProxies::parse(" 10.0.0.1, 10.1.0.0/16 ,::1").expect("list");
        // The client forged the first entry; our proxies appended the rest.
        let xff = ["6.6.6.6, 203.0.113.7", "10.1.2.3"];
        assert_eq!(proxies.client(ip("10.0.0.1"), &xff, &[]), ClientIp(ip("203.0.113.7")));
        assert_eq!(proxies.client(ip("::1"), &["203.0.113.7:5555"], &[]), ClientIp(ip("203.0.113.7")));
        assert_eq!(proxies.client(ip("::ffff:10.0.0.1"), &["[2001:db8::5]:443"], &[]), ClientIp(ip("2001:db8::5")));
        // Only trusted hops: the furthest of them.
        assert_eq!(proxies.client(ip("10.0.0.1"), &["10.1.0.9"], &[]), ClientIp(ip("10.1.0.9")));
        // Garbage stops the walk at the last proxy we trust.
        assert_eq!(proxies.client(ip("10.0.0.1"), &["203.0.113.7, unknown"], &[]), ClientIp(ip("10.0.0.1")));
        // No header: the proxy itself.
        assert_eq!(proxies.client(ip("10.0.0.1"), &[], &[]), ClientIp(ip("10.0.0.1")));
    }

    #[test]
    fn forwarded_is_read_when_there_is_no_x_forwarded_for() {
        let proxies = TrustedProxies::parse("10.0.0.1").expect("list");
        let forwarded = [r#"for=6.6.6.6, for="[2001:db8::7]:4711";proto=https;by=10.0.0.1"#];
        assert_eq!(proxies.client(ip("10.0.0.1"), &[], &forwarded), ClientIp(ip("2001:db8::7")));
        assert_eq!(proxies.client(ip("10.0.0.1"), &["198.51.100.1"], &forwarded), ClientIp(ip("198.51.100.1")));
    }

    #[test]
    fn a_bad_entry_is_named() {
        assert!(TrustedProxies::parse("").expect("empty").is_empty());
        let error = TrustedProxies::parse("10.0.0.1, proxy.internal").expect_err("refused");
        assert!(error.contains("`proxy.internal`"), "{error}");
        assert!(TrustedProxies::parse("10.0.0.0/33").is_err());
        assert!(TrustedProxies::parse("10.0.0.7/8").expect("host bits are dropped").trusts(ip("10.200.0.1")));
    }

    #[test]
    fn only_our_own_host_names_are_ours() {
        let listen: SocketAddr = "127.0.0.1:3000".parse().expect("addr");
        let ours = |public: &str, host: &str| host_is_ours(&Url::parse(public).expect("url"), listen, host);
        let behind_proxy = "https://auth.example.com";
        for host in ["auth.example.com", "AUTH.example.com:443", "127.0.0.1:3000"] {
            assert!(ours(behind_proxy, host), "{host}");
        }
        for host in ["evil.example", "auth.example.com:8443", "evil.example:3000", "localhost:3000", "", "[::1"] {
            assert!(!ours(behind_proxy, host), "{host}");
        }
        let laptop = "http://127.0.0.1:3000";
        for host in ["127.0.0.1:3000", "localhost:3000", "[::1]:3000"] {
            assert!(ours(laptop, host), "{host}");
        }
        for host in ["127.0.0.1", "localhost:4000", "rebind.evil.example:3000"] {
            assert!(!ours(laptop, host), "{host}");
        }
    }
}
