//! Who a request came from behind proxies: `TRUSTED_PROXIES` (CIDRs), and the client
//! address taken from `Forwarded` / `X-Forwarded-For` only when the peer is one of them,
//! as the rightmost hop that is not a trusted proxy (anything left of it the client wrote).

use crate::config::{ConfigError, Env};
use std::net::IpAddr;

/// One network, `10.0.0.0/8` or `2001:db8::/32` (a bare address is a /32 or /128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let (addr, prefix) = match raw.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (raw, None),
        };
        let network: IpAddr = addr
            .trim()
            .parse()
            .map_err(|e| format!("'{raw}' is not an IP address or CIDR ({e})"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("'{raw}' has a prefix length out of 0..={max}"))?,
        };
        Ok(Self { network, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.network, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            (IpAddr::V4(_), IpAddr::V6(_)) | (IpAddr::V6(_), IpAddr::V4(_)) => false,
        }
    }
}

/// An IPv4 address the socket reports in IPv6 form (`::ffff:10.0.0.1`) as IPv4.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        IpAddr::V4(_) => ip,
    }
}

/// The proxies whose forwarding headers are believed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<Cidr>);

impl TrustedProxies {
    /// `TRUSTED_PROXIES`: CIDRs, as a JSON list or comma-separated; none by default.
    pub fn from_env(env: &Env) -> Result<Self, ConfigError> {
        env.list("TRUSTED_PROXIES")?
            .iter()
            .map(|raw| Cidr::parse(raw))
            .collect::<Result<Vec<_>, _>>()
            .map(Self)
            .map_err(|why| ConfigError::invalid("TRUSTED_PROXIES", why))
    }

    pub fn new(cidrs: Vec<Cidr>) -> Self {
        Self(cidrs)
    }

    fn trusts(&self, ip: IpAddr) -> bool {
        self.0.iter().any(|c| c.contains(ip))
    }

    /// The client's address: the peer's, unless the peer is a trusted proxy; then the
    /// rightmost address of `Forwarded` (or else `X-Forwarded-For`) that is not a trusted
    /// proxy. A header that cannot be read gives the peer's address, never a guess.
    pub fn client_ip(&self, req: &actix_web::HttpRequest) -> Option<IpAddr> {
        let peer = canonical(req.peer_addr()?.ip());
        if !self.trusts(peer) {
            return Some(peer);
        }
        let headers = req.headers();
        let hops: Option<Vec<IpAddr>> = if let Some(forwarded) = all_values(headers, "forwarded") {
            forwarded
                .split(',')
                .filter_map(|element| {
                    element.split(';').find_map(|pair| {
                        let (k, v) = pair.split_once('=')?;
                        k.trim().eq_ignore_ascii_case("for").then(|| v.trim())
                    })
                })
                .map(forwarded_node)
                .collect()
        } else {
            all_values(headers, "x-forwarded-for").map(|xff| {
                xff.split(',')
                    .filter_map(|h| h.trim().parse::<IpAddr>().ok())
                    .collect()
            })
        };
        let Some(hops) = hops else {
            return Some(peer);
        };
        Some(
            hops.into_iter()
                .rev()
                .map(canonical)
                .find(|ip| !self.trusts(*ip))
                .unwrap_or(peer),
        )
    }
}

/// Every value of a header, joined by commas (a header may be sent several times).
fn all_values(headers: &actix_web::http::header::HeaderMap, name: &str) -> Option<String> {
    let values: Vec<&str> = headers
        .get_all(name)
        .filter_map(|v| v.to_str().ok())
        .collect();
    (!values.is_empty()).then(|| values.join(","))
}

/// An RFC 7239 node: `192.0.2.1`, `"[2001:db8::1]:4711"`, `"192.0.2.1:80"`; anything else
/// (`unknown`, an obfuscated name) is no address.
fn forwarded_node(raw: &str) -> Option<IpAddr> {
    let node = raw.trim_matches('"');
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    let host = match node.rsplit_once(':') {
        Some((h, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !h.contains(':') => h,
        _ => node,
    };
    host.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn proxies(list: &[&str]) -> TrustedProxies {
        TrustedProxies::new(list.iter().map(|c| Cidr::parse(c).unwrap()).collect())
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn cidrs_parse_and_contain() {
        let c = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(c.contains(ip("10.255.0.1")));
        assert!(!c.contains(ip("11.0.0.1")));
        assert!(c.contains(ip("::ffff:10.1.2.3")));
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("8.8.8.8")));
        assert!(
            Cidr::parse("2001:db8::/32")
                .unwrap()
                .contains(ip("2001:db8::7"))
        );
        assert!(Cidr::parse("127.0.0.1").unwrap().contains(ip("127.0.0.1")));
        for bad in ["10.0.0.0/33", "nope", "::/129", "10.0.0.0/x", ""] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn forwarding_headers_count_only_from_a_trusted_peer() {
        let peer = "10.0.0.5:4000".parse().unwrap();
        let req = TestRequest::default()
            .peer_addr(peer)
            .insert_header(("x-forwarded-for", "6.6.6.6, 203.0.113.7, 10.0.0.9"))
            .to_http_request();
        // Untrusted peer: its own address, whatever the header says.
        assert_eq!(proxies(&[]).client_ip(&req), Some(ip("10.0.0.5")));
        // Trusted: the rightmost hop that is not a proxy; the client's own 6.6.6.6 is ignored.
        assert_eq!(
            proxies(&["10.0.0.0/8"]).client_ip(&req),
            Some(ip("203.0.113.7"))
        );

        let req = TestRequest::default()
            .peer_addr(peer)
            .insert_header((
                "forwarded",
                r#"for=6.6.6.6, for="[2001:db8::1]:4711";proto=https"#,
            ))
            .insert_header(("x-forwarded-for", "9.9.9.9"))
            .to_http_request();
        assert_eq!(
            proxies(&["10.0.0.0/8"]).client_ip(&req),
            Some(ip("2001:db8::1"))
        );

        // Every hop a proxy: the peer. A garbled Forwarded: the peer, not a guess.
        let req = TestRequest::default()
            .peer_addr(peer)
            .insert_header(("x-forwarded-for", "10.0.0.7"))
            .to_http_request();
        assert_eq!(
            proxies(&["10.0.0.0/8"]).client_ip(&req),
            Some(ip("10.0.0.5"))
        );
        let req = TestRequest::default()
            .peer_addr(peer)
            .insert_header(("forwarded", "for=unknown"))
            .to_http_request();
        assert_eq!(
            proxies(&["10.0.0.0/8"]).client_ip(&req),
            Some(ip("10.0.0.5"))
        );
    }
}
