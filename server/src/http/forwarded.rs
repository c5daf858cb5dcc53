//! The client's address behind the load balancer (DESIGN.md §11): the TCP peer, unless the peer
//! is one of the configured trusted proxies, in which case the address the proxies recorded in
//! `X-Forwarded-For`. Without configuration the header is ignored, as a client could write it.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::geo::canonical_ip;

/// The reverse proxies whose `X-Forwarded-For` entries are believed (`MCERT_TRUSTED_PROXIES`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies {
    networks: Vec<IpNet>,
}

/// A trusted-proxy entry that is neither an address nor a network.
#[derive(Debug, thiserror::Error)]
#[error("trusted proxy {entry:?} is neither an IP address nor a network such as 10.0.0.0/8")]
pub struct InvalidProxy {
    /// The entry as configured.
    pub entry: String,
}

impl TrustedProxies {
    /// Parses addresses (`10.0.0.5`, `::1`) and networks (`10.0.0.0/8`, `fd00::/8`).
    pub fn parse<S: AsRef<str>>(entries: &[S]) -> Result<Self, InvalidProxy> {
        let networks = entries
            .iter()
            .map(|entry| {
                let entry = entry.as_ref().trim();
                entry
                    .parse::<IpNet>()
                    .or_else(|_| entry.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| InvalidProxy {
                        entry: entry.to_string(),
                    })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { networks })
    }

    /// Whether no proxy is trusted.
    pub fn is_empty(&self) -> bool {
        self.networks.is_empty()
    }

    fn trusts(&self, address: IpAddr) -> bool {
        self.networks.iter().any(|net| net.contains(&address))
    }

    /// The client's address: `peer` if it is not a trusted proxy; otherwise the right-most
    /// `X-Forwarded-For` entry that is not a trusted proxy (each proxy appends the address it
    /// received the request from, so entries left of that one are the client's own words). An
    /// entry that does not parse ends the walk at the last proxy: the proxy is then the best
    /// that is known.
    pub fn client_ip<'a>(
        &self,
        peer: Option<IpAddr>,
        forwarded_for: impl DoubleEndedIterator<Item = &'a str>,
    ) -> Option<IpAddr> {
        let peer = peer.map(canonical_ip)?;
        if !self.trusts(peer) {
            return Some(peer);
        }
        let mut last_proxy = peer;
        let entries: Vec<&str> = forwarded_for
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .filter(|entry| !entry.is_empty())
            .collect();
        for entry in entries.into_iter().rev() {
            let Some(address) = parse_entry(entry) else {
                return Some(last_proxy);
            };
            if !self.trusts(address) {
                return Some(address);
            }
            last_proxy = address;
        }
        Some(last_proxy)
    }
}

/// An `X-Forwarded-For` entry: `1.2.3.4`, `1.2.3.4:5678`, `2001:db8::1` or `[2001:db8::1]:5678`.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    if let Ok(address) = entry.parse::<IpAddr>() {
        return Some(canonical_ip(address));
    }
    if let Ok(socket) = entry.parse::<std::net::SocketAddr>() {
        return Some(canonical_ip(socket.ip()));
    }
    None
}

/// What a rate limit counts an address under: the address itself for IPv4, its /64 network for
/// IPv6 (one subscriber is routinely given a whole /64).
pub fn limit_key(address: Option<IpAddr>) -> String {
    match address {
        Some(IpAddr::V4(v4)) => v4.to_string(),
        Some(IpAddr::V6(v6)) => {
            let s = v6.segments();
            format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
        }
        None => "unknown".to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn proxies(entries: &[&str]) -> TrustedProxies {
        TrustedProxies::parse(entries).unwrap()
    }

    #[test]
    fn without_trusted_proxies_the_header_is_ignored() {
        let none = TrustedProxies::default();
        assert_eq!(
            none.client_ip(Some(ip("10.0.0.5")), ["6.6.6.6"].into_iter()),
            Some(ip("10.0.0.5"))
        );
    }

    #[test]
    fn an_untrusted_peer_cannot_choose_its_address() {
        let lb = proxies(&["10.0.0.0/8"]);
        assert_eq!(
            lb.client_ip(Some(ip("203.0.113.9")), ["6.6.6.6"].into_iter()),
            Some(ip("203.0.113.9"))
        );
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_entry_is_the_client() {
        let lb = proxies(&["10.0.0.0/8", "192.168.1.7"]);
        // The client wrote 6.6.6.6 itself; the edge proxy appended the real address.
        assert_eq!(
            lb.client_ip(
                Some(ip("10.0.0.5")),
                ["6.6.6.6, 203.0.113.9", "192.168.1.7"].into_iter()
            ),
            Some(ip("203.0.113.9"))
        );
        assert_eq!(
            lb.client_ip(Some(ip("10.0.0.5")), ["[2001:db8::1]:443"].into_iter()),
            Some(ip("2001:db8::1"))
        );
        assert_eq!(
            lb.client_ip(Some(ip("10.0.0.5")), ["198.51.100.4:5123"].into_iter()),
            Some(ip("198.51.100.4"))
        );
    }

    #[test]
    fn garbage_or_no_header_leaves_the_last_proxy() {
        let lb = proxies(&["10.0.0.0/8"]);
        assert_eq!(
            lb.client_ip(Some(ip("10.0.0.5")), ["<script>, 10.1.1.1"].into_iter()),
            Some(ip("10.1.1.1"))
        );
        assert_eq!(
            lb.client_ip(Some(ip("10.0.0.5")), std::iter::empty()),
            Some(ip("10.0.0.5"))
        );
    }

    #[test]
    fn mapped_addresses_and_ipv6_networks() {
        let lb = proxies(&["127.0.0.1"]);
        assert_eq!(
            lb.client_ip(Some(ip("::ffff:127.0.0.1")), ["1.2.3.4"].into_iter()),
            Some(ip("1.2.3.4"))
        );
        assert_eq!(limit_key(Some(ip("1.2.3.4"))), "1.2.3.4");
        assert_eq!(
            limit_key(Some(ip("2001:db8:1:2:aaaa::1"))),
            "2001:db8:1:2::/64"
        );
        assert_eq!(
            limit_key(Some(ip("2001:db8:1:2:bbbb::9"))),
            "2001:db8:1:2::/64"
        );
    }

    #[test]
    fn bad_entries_are_refused_with_the_entry() {
        let error = TrustedProxies::parse(&["10.0.0.0/8", "lb.internal"]).unwrap_err();
        assert_eq!(error.entry, "lb.internal");
    }
}
