//! Latchkey's requests to other people's servers (webhook deliveries): the one client they go
//! through, and on a production instance the rule that they reach public addresses only. Also
//! what every outgoing client (Notion's too) keeps to: how long an idle connection is kept.
//! Apart from `webhooks.rs`, so that the service builds the client without depending on the
//! worker that uses it.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;

/// How long one attempt may take, connection to last byte of the answer's head.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How long an idle connection is kept for the next request, by every client Latchkey sends
/// from. Below the idle limit of the server at the other end: a connection the server closes at
/// the moment a request goes out fails that request (a sign-in sees "Notion is unavailable", a
/// delivery is retried later). Node's servers close idle connections after 5 s, Latchkey's own
/// after 10 s (`HEADER_READ_TIMEOUT`; on a development instance it is the Notion at the other end).
pub const IDLE_CONNECTION_KEPT: Duration = Duration::from_secs(4);

/// An address anyone on the internet could reach: not loopback, private, link-local, shared
/// (CGNAT), unspecified, broadcast, multicast, documentation, benchmarking or reserved space;
/// an IPv6 address that carries an IPv4 one (mapped, compatible, NAT64, 6to4) is judged by it.
pub(crate) fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b))
                || (a == 192 && b == 0 && c == 0)
                || (a == 198 && (b & 0xfe) == 18)
                || a >= 240)
        }
        IpAddr::V6(v6) => {
            // Mapped (::ffff:a.b.c.d) and compatible (::a.b.c.d); `::` and `::1` are judged below.
            if let Some(v4) = v6.to_ipv4().filter(|_| !v6.is_unspecified() && !v6.is_loopback()) {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            let embedded =
                |hi: u16, lo: u16| IpAddr::V4(std::net::Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo)));
            // NAT64 (64:ff9b::/96) and 6to4 (2002::/16) reach the IPv4 address they carry.
            if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
                return is_public(embedded(s[6], s[7]));
            }
            if s[0] == 0x2002 {
                return is_public(embedded(s[1], s[2]));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x64 && s[1] == 0xff9b)
                || (s[0] == 0x2001 && s[1] == 0)
                || (s[0] == 0x2001 && s[1] == 0xdb8)
                || s[..4] == [0x100, 0, 0, 0])
        }
    }
}

/// Resolves names for deliveries of a production instance: a name whose addresses are all
/// private is refused, so a public name pointed at an internal service (or rebound to one
/// after it was checked) reaches nothing.
struct PublicAddressesOnly {
    allowed_hosts: Arc<Vec<String>>,
}

impl reqwest::dns::Resolve for PublicAddressesOnly {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allowed = self.allowed_hosts.contains(&name.as_str().to_ascii_lowercase());
        Box::pin(async move {
            let found: Vec<SocketAddr> = tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let usable: Vec<SocketAddr> = found.into_iter().filter(|a| allowed || is_public(a.ip())).collect();
            if usable.is_empty() {
                return Err(format!("{} resolves only to private addresses", name.as_str()).into());
            }
            Ok(Box::new(usable.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// The HTTP client deliveries go through: no redirects followed (a 3xx is a failed attempt),
/// a bounded time per attempt, and on production the address check above.
pub(crate) fn http_client(config: &Config) -> Result<reqwest::Client, reqwest::Error> {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(REQUEST_TIMEOUT)
        .connect_timeout(Duration::from_secs(5))
        .pool_idle_timeout(IDLE_CONNECTION_KEPT)
        .user_agent(concat!("Latchkey-Webhooks/", env!("CARGO_PKG_VERSION")));
    if config.is_production() {
        builder = builder.dns_resolver(Arc::new(PublicAddressesOnly {
            allowed_hosts: Arc::new(config.webhook_allowed_hosts.clone()),
        }));
    }
    builder.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_are_not_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            // Reserved, benchmarking and protocol-assignment space.
            "240.0.0.1",
            "198.18.0.1",
            "192.0.0.8",
            // IPv6 addresses that carry a private IPv4 one, or reach one.
            "::10.0.0.1",
            "64:ff9b::a00:1",
            "64:ff9b:1::1",
            "2002:a00:1::1",
            "2002:7f00:1::",
            "2001:0:4136:e378::1",
            "2001:db8::1",
            "100::1",
        ] {
            assert!(!is_public(private.parse().unwrap()), "{private}");
        }
        for public in ["93.184.216.34", "2606:4700::1111", "64:ff9b::5db8:d822", "2002:5db8:d822::1"] {
            assert!(is_public(public.parse().unwrap()), "{public}");
        }
    }
}
