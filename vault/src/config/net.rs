//! What the server allows a connection: how long it may take to send its
//! request, how many connections one address may hold, and which
//! addresses are the proxies whose `X-Forwarded-For` is believed.

use std::{net::IpAddr, time::Duration};

use crate::error::Error;

/// Limits on connections and request bodies (issue 21: slow and abusive
/// clients).
#[derive(Debug, Clone)]
pub struct Connections {
    /// A request's line and headers must arrive within this (slowloris);
    /// an idle kept-alive connection is closed after it too.
    pub header_timeout: Duration,
    /// A request body (an upload) must arrive within this in all, however
    /// steadily it trickles.
    pub body_deadline: Duration,
    /// Connections open at once, in all; more are answered 503 and closed.
    pub max: usize,
    /// Connections open at once from one address (trusted proxies
    /// excepted); more are answered 429 and closed.
    pub per_client: usize,
    /// The proxies in front, whose connections carry many clients.
    pub trusted_proxies: Proxies,
}

impl Default for Connections {
    fn default() -> Self {
        Self {
            header_timeout: Duration::from_secs(10),
            body_deadline: Duration::from_secs(900),
            max: 2048,
            per_client: 128,
            trusted_proxies: Proxies::loopback(),
        }
    }
}

/// Addresses and networks (CIDR), as `VAULT_TRUSTED_PROXIES` lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proxies(Vec<(IpAddr, u8)>);

impl Proxies {
    /// This machine only: a proxy on the same host.
    pub fn loopback() -> Self {
        Self(vec![(IpAddr::from([127, 0, 0, 1]), 32), (IpAddr::from(std::net::Ipv6Addr::LOCALHOST), 128)])
    }

    /// `10.0.0.5, 172.30.59.0/24, fd00::/8`: commas or spaces between.
    pub fn parse(list: &str) -> Result<Self, Error> {
        let bad = |item: &str, why: &str| {
            Error::Config(format!(
                "VAULT_TRUSTED_PROXIES: {item:?} {why} (expected addresses or networks like 10.0.0.0/8)"
            ))
        };
        let mut out = Vec::new();
        for item in list.split([',', ' ']).map(str::trim).filter(|s| !s.is_empty()) {
            let (addr, len) = item.split_once('/').map_or((item, None), |(a, l)| (a, Some(l)));
            let addr: IpAddr = addr.parse().map_err(|_| bad(item, "is not an IP address"))?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let len = match len {
                None => max,
                Some(l) => {
                    l.parse::<u8>().ok().filter(|l| *l <= max).ok_or_else(|| bad(item, "has a bad prefix length"))?
                }
            };
            out.push((addr, len));
        }
        if out.is_empty() {
            return Err(bad(list, "lists no address"));
        }
        Ok(Self(out))
    }

    /// Whether `ip` is one of them.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = ip.to_canonical();
        self.0.iter().any(|&(net, len)| match (net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => prefix_eq(&n.octets(), &a.octets(), len),
            (IpAddr::V6(n), IpAddr::V6(a)) => prefix_eq(&n.octets(), &a.octets(), len),
            _ => false,
        })
    }
}

/// Whether the first `len` bits of `a` and `b` are equal.
fn prefix_eq(a: &[u8], b: &[u8], len: u8) -> bool {
    let (bytes, bits) = (usize::from(len / 8), len % 8);
    if a[..bytes] != b[..bytes] {
        return false;
    }
    bits == 0 || (a[bytes] ^ b[bytes]) >> (8 - bits) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn networks_and_addresses_match_what_they_cover() {
        let p = Proxies::parse("10.0.0.5, 172.30.59.0/24 fd00::/8").unwrap();
        assert!(p.contains("10.0.0.5".parse().unwrap()));
        assert!(!p.contains("10.0.0.6".parse().unwrap()));
        assert!(p.contains("172.30.59.200".parse().unwrap()));
        assert!(!p.contains("172.30.60.1".parse().unwrap()));
        assert!(p.contains("fd12::1".parse().unwrap()));
        assert!(!p.contains("fe80::1".parse().unwrap()));
        // An IPv4 client seen on an IPv6 socket.
        assert!(p.contains("::ffff:10.0.0.5".parse().unwrap()));
        let odd = Proxies::parse("192.168.0.0/17").unwrap();
        assert!(odd.contains("192.168.127.1".parse().unwrap()));
        assert!(!odd.contains("192.168.128.1".parse().unwrap()));
        assert!(Proxies::loopback().contains("127.0.0.1".parse().unwrap()));
        assert!(!Proxies::loopback().contains("192.0.2.1".parse().unwrap()));
    }

    #[test]
    fn a_bad_list_is_refused_with_what_is_wrong() {
        for bad in ["", "10.0.0/8", "10.0.0.0/33", "::1/129", "proxy.local"] {
            assert!(Proxies::parse(bad).is_err(), "{bad}");
        }
    }
}
