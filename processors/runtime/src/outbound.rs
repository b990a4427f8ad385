//! Where the system may send requests on a tenant's behalf (webhooks): never to loopback, link-local (cloud
//! metadata at 169.254.169.254), private, shared, multicast or unspecified addresses, unless an explicit
//! allow-list names them (`WEBHOOK_ALLOW_PRIVATE`, e.g. `127.0.0.0/8` for tests). Checked when a webhook is
//! created (its URL's host resolved) and again at every delivery, after DNS resolution (the deliverer's resolver
//! applies [`Policy::permits`], so a name re-pointed at an internal address is refused too).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// One allowed network: an address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Net {
    addr: IpAddr,
    prefix: u8,
}

impl Net {
    fn parse(s: &str) -> Option<Self> {
        let (a, p) = s.split_once('/').unwrap_or((s, ""));
        let addr: IpAddr = a.trim().parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = if p.is_empty() {
            max
        } else {
            p.trim().parse().ok()?
        };
        (prefix <= max).then_some(Self { addr, prefix })
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(i) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(i)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(i) & mask
            }
            _ => false,
        }
    }
}

/// The outbound policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    allow: Vec<Net>,
    /// Only `https://` URLs (production).
    pub https_only: bool,
}

/// Addresses no webhook may reach unless allowed.
pub fn internal(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v) => internal_v4(v),
        IpAddr::V6(v) => match v.to_ipv4_mapped() {
            Some(v4) => internal_v4(v4),
            None => internal_v6(v),
        },
    }
}

fn internal_v4(v: Ipv4Addr) -> bool {
    let [a, b, ..] = v.octets();
    v.is_loopback()
        || v.is_private()
        || v.is_link_local()
        || v.is_unspecified()
        || v.is_broadcast()
        || v.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (carrier-grade NAT)
        || (a == 192 && b == 0 && v.octets()[2] == 0) // IETF protocol assignments
        || a >= 240
}

fn internal_v6(v: Ipv6Addr) -> bool {
    let first = v.segments()[0];
    v.is_loopback()
        || v.is_unspecified()
        || v.is_multicast()
        || (first & 0xfe00) == 0xfc00 // unique local
        || (first & 0xffc0) == 0xfe80 // link-local
}

impl Policy {
    /// From `allow` (comma-separated addresses or CIDRs); `None` names the entry it cannot read.
    pub fn new(allow: &str, https_only: bool) -> Result<Self, String> {
        let allow = allow
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| Net::parse(s).ok_or_else(|| format!("`{s}` is not an address or CIDR")))
            .collect::<Result<_, _>>()?;
        Ok(Self { allow, https_only })
    }

    /// Whether a request may go to `ip`.
    pub fn permits(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v) => v.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        !internal(ip) || self.allow.iter().any(|n| n.contains(ip))
    }

    /// The URL's scheme, host and port, if this policy takes such a URL at all (before resolving it).
    pub fn target(&self, url: &str) -> Result<(String, u16), String> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or("must be an absolute http(s) URL")?;
        let port = match scheme.to_ascii_lowercase().as_str() {
            "https" => 443,
            "http" if !self.https_only => 80,
            "http" => return Err("must be https".into()),
            _ => return Err("must be an http(s) URL".into()),
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
        if authority.contains('@') {
            return Err("must not carry credentials".into());
        }
        let bad_port = |_| "has an invalid port".to_string();
        let (host, port) = if let Some(rest) = authority.strip_prefix('[') {
            let (h, after) = rest.split_once(']').ok_or("has an invalid host")?;
            match after.strip_prefix(':') {
                Some(p) => (h, p.parse::<u16>().map_err(bad_port)?),
                None if after.is_empty() => (h, port),
                None => return Err("has an invalid host".into()),
            }
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, p.parse::<u16>().map_err(bad_port)?),
                None => (authority, port),
            }
        };
        if host.is_empty() {
            return Err("has no host".into());
        }
        Ok((host.to_ascii_lowercase(), port))
    }

    /// Resolves the URL's host and checks every address; the addresses to connect to.
    pub async fn resolve(&self, url: &str) -> Result<Vec<SocketAddr>, String> {
        let (host, port) = self.target(url)?;
        let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| format!("host does not resolve: {e}"))?
            .collect();
        if addrs.is_empty() {
            return Err("host does not resolve".into());
        }
        match addrs.iter().find(|a| !self.permits(a.ip())) {
            Some(a) => Err(format!("resolves to {}, an internal address", a.ip())),
            None => Ok(addrs),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn internal_addresses_are_refused_unless_allowed() {
        let strict = Policy::new("", false).unwrap();
        for s in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "100.64.0.1",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "224.0.0.1",
        ] {
            assert!(!strict.permits(ip(s)), "{s}");
        }
        for s in ["93.184.216.34", "2606:4700::1111", "172.32.0.1"] {
            assert!(strict.permits(ip(s)), "{s}");
        }
        let tests = Policy::new("127.0.0.0/8, ::1", false).unwrap();
        assert!(
            tests.permits(ip("127.0.0.1"))
                && tests.permits(ip("127.9.9.9"))
                && tests.permits(ip("::1"))
        );
        assert!(
            !tests.permits(ip("169.254.169.254")),
            "the allow-list is exact"
        );
        assert!(Policy::new("not-an-ip", false).is_err());
    }

    #[test]
    fn urls_are_read_strictly() {
        let p = Policy::new("", true).unwrap();
        assert_eq!(
            p.target("https://Hooks.Example.com/x?y"),
            Ok(("hooks.example.com".into(), 443))
        );
        assert_eq!(
            p.target("https://h.example:8443/"),
            Ok(("h.example".into(), 8443))
        );
        assert_eq!(p.target("https://[::1]:9000/"), Ok(("::1".into(), 9000)));
        assert!(p.target("http://h.example/").is_err(), "https only");
        assert!(p.target("https://user:pw@h.example/").is_err());
        assert!(p.target("ftp://h.example/").is_err());
        assert!(p.target("https:///x").is_err());
        let dev = Policy::new("", false).unwrap();
        assert_eq!(
            dev.target("http://127.0.0.1:8080/hook"),
            Ok(("127.0.0.1".into(), 8080))
        );
    }

    #[tokio::test]
    async fn resolving_checks_every_address() {
        let strict = Policy::new("", false).unwrap();
        assert!(strict
            .resolve("http://127.0.0.1:1/")
            .await
            .unwrap_err()
            .contains("internal"));
        assert!(strict.resolve("http://localhost:1/").await.is_err());
        let tests = Policy::new("127.0.0.0/8", false).unwrap();
        assert_eq!(
            tests.resolve("http://127.0.0.1:9/").await.unwrap()[0].port(),
            9
        );
    }
}
