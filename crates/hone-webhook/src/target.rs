//! Which webhook targets are allowed. Unless the operator allows private targets, a URL whose
//! host is, or resolves to, a loopback, private, link-local, multicast or otherwise reserved
//! address is refused. The check lives in the HTTP client's resolver, so the connection goes
//! to exactly the addresses that were checked (no second lookup an attacker could rebind);
//! URLs with a literal IP never reach a resolver and are checked before the request.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, LazyLock};

use ipnet::{IpNet, Ipv6Net};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// A refused target, with the reason a receiver's operator can act on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "webhook target {host} refused: {addr} is a {kind} address (set HONE_WEBHOOK_ALLOW_PRIVATE=true to allow)"
)]
pub struct Refused {
    /// The URL's host.
    pub host: String,
    /// The address it is or resolved to.
    pub addr: IpAddr,
    /// `loopback`, `private`, `link-local`, `multicast` or `reserved`.
    pub kind: &'static str,
}

fn nets(list: &[(&str, &'static str)]) -> Vec<(IpNet, &'static str)> {
    list.iter()
        .filter_map(|(net, kind)| net.parse().ok().map(|n| (n, *kind)))
        .collect()
}

/// The refused ranges (IANA special-purpose registries).
static REFUSED: LazyLock<Vec<(IpNet, &'static str)>> = LazyLock::new(|| {
    nets(&[
        ("0.0.0.0/8", "reserved"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "private"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "reserved"),
        ("192.0.2.0/24", "reserved"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "reserved"),
        ("198.51.100.0/24", "reserved"),
        ("203.0.113.0/24", "reserved"),
        ("224.0.0.0/4", "multicast"),
        ("240.0.0.0/4", "reserved"),
        ("::/128", "reserved"),
        ("::1/128", "loopback"),
        ("100::/64", "reserved"),
        ("2001:db8::/32", "reserved"),
        ("fc00::/7", "private"),
        ("fe80::/10", "link-local"),
        ("ff00::/8", "multicast"),
    ])
});

/// Why `addr` may not be a webhook target, if it may not.
pub fn refused_kind(addr: IpAddr) -> Option<&'static str> {
    // IPv4 inside IPv6 (mapped ::ffff:a.b.c.d, and NAT64 64:ff9b::a.b.c.d) counts as IPv4.
    let addr = match addr {
        IpAddr::V6(v6) => embedded_v4(v6).map_or(addr, IpAddr::V4),
        v4 => v4,
    };
    REFUSED
        .iter()
        .find(|(net, _)| net.contains(&addr))
        .map(|(_, kind)| *kind)
}

fn embedded_v4(v6: Ipv6Addr) -> Option<Ipv4Addr> {
    if let Some(v4) = v6.to_ipv4_mapped() {
        return Some(v4);
    }
    let nat64 = Ipv6Net::new(Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, 0, 0), 96).ok()?;
    nat64.contains(&v6).then(|| {
        let o = v6.octets();
        Ipv4Addr::new(o[12], o[13], o[14], o[15])
    })
}

/// The operator's choice.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TargetPolicy {
    /// Allow loopback, private, link-local and reserved targets (a receiver on the same
    /// network, or tests).
    pub allow_private: bool,
}

impl TargetPolicy {
    /// Checks one address of `host`.
    pub fn check(self, host: &str, addr: IpAddr) -> Result<(), Refused> {
        if self.allow_private {
            return Ok(());
        }
        match refused_kind(addr) {
            Some(kind) => Err(Refused {
                host: host.to_owned(),
                addr,
                kind,
            }),
            None => Ok(()),
        }
    }

    /// Checks a URL's host if it is a literal address (names are checked when resolved).
    pub fn check_url(self, url: &url::Url) -> Result<(), Refused> {
        match url.host() {
            Some(url::Host::Ipv4(v4)) => self.check(&v4.to_string(), IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => self.check(&v6.to_string(), IpAddr::V6(v6)),
            _ => Ok(()),
        }
    }
}

/// Turns names into addresses. The system resolver in production; tests give a table.
pub trait Lookup: Send + Sync + 'static {
    /// Every address of `host`.
    fn lookup(
        &self,
        host: String,
    ) -> std::pin::Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>>;
}

/// The system resolver (`getaddrinfo`, through tokio).
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemLookup;

impl Lookup for SystemLookup {
    fn lookup(
        &self,
        host: String,
    ) -> std::pin::Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>> {
        Box::pin(async move {
            let found = tokio::net::lookup_host((host.as_str(), 0)).await?;
            Ok(found.map(|a| a.ip()).collect())
        })
    }
}

/// A resolver for the webhook client that refuses a name if any of its addresses is refused
/// (a name with one public and one private address could be steered to the private one).
pub struct GuardedResolver {
    policy: TargetPolicy,
    lookup: Arc<dyn Lookup>,
}

impl GuardedResolver {
    /// A resolver that checks every answer of `lookup` against `policy`.
    pub fn new(policy: TargetPolicy, lookup: Arc<dyn Lookup>) -> Self {
        Self { policy, lookup }
    }
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.policy;
        let lookup = self.lookup.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs = lookup.lookup(host.clone()).await?;
            if addrs.is_empty() {
                return Err(format!("{host} has no address").into());
            }
            for addr in &addrs {
                policy.check(&host, *addr)?;
            }
            let out: Addrs = Box::new(addrs.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(out)
        })
    }
}

/// The refusal inside a client error, if the error is one.
pub fn refusal(err: &(dyn std::error::Error + 'static)) -> Option<Refused> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(r) = e.downcast_ref::<Refused>() {
            return Some(r.clone());
        }
        cur = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(s: &str) -> Option<&'static str> {
        s.parse().ok().and_then(refused_kind)
    }

    #[test]
    fn refuses_the_special_ranges() {
        assert_eq!(kind("127.0.0.1"), Some("loopback"));
        assert_eq!(kind("10.0.0.1"), Some("private"));
        assert_eq!(kind("172.31.255.255"), Some("private"));
        assert_eq!(kind("192.168.1.1"), Some("private"));
        assert_eq!(kind("169.254.169.254"), Some("link-local"));
        assert_eq!(kind("224.0.0.1"), Some("multicast"));
        assert_eq!(kind("0.0.0.0"), Some("reserved"));
        assert_eq!(kind("255.255.255.255"), Some("reserved"));
        assert_eq!(kind("::1"), Some("loopback"));
        assert_eq!(kind("::ffff:127.0.0.1"), Some("loopback"));
        assert_eq!(kind("64:ff9b::a00:1"), Some("private"));
        assert_eq!(kind("fd00::1"), Some("private"));
        assert_eq!(kind("fe80::1"), Some("link-local"));
        assert_eq!(kind("ff02::1"), Some("multicast"));
        assert_eq!(kind("93.184.215.14"), None);
        assert_eq!(kind("172.32.0.1"), None);
        assert_eq!(kind("2606:4700::1111"), None);
    }

    #[test]
    fn the_operator_may_allow_private_targets() {
        let ip: IpAddr = Ipv4Addr::LOCALHOST.into();
        assert!(TargetPolicy::default().check("h", ip).is_err());
        let open = TargetPolicy {
            allow_private: true,
        };
        assert!(open.check("h", ip).is_ok());
        let url = url::Url::parse("http://169.254.169.254/latest").ok();
        assert!(url.is_some_and(|u| TargetPolicy::default().check_url(&u).is_err()));
    }
}
