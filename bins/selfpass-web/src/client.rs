//! Who is asking: the client address, scheme and host, believing `X-Forwarded-For/Proto/Host`
//! only from a trusted proxy.

use actix_web::http::header::HeaderMap;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use selfpass_core::config::Cidr;
use std::future::{Ready, ready};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The client as the portal sees it, after trusted-proxy processing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientView {
    /// The client address (feeds the throttle and the audit log).
    pub ip: IpAddr,
    /// The request reached the proxy (or the portal) over HTTPS.
    pub https: bool,
    /// The host the client addressed (for the `Origin` check).
    pub host: String,
}

impl ClientView {
    /// `https://host` or `http://host`: what a same-origin `Origin` header says.
    pub fn origin(&self) -> String {
        format!(
            "{}://{}",
            if self.https { "https" } else { "http" },
            self.host
        )
    }

    /// Works out the client from the socket peer and the headers: forwarding headers count only
    /// when the peer is inside one of `trusted`. `X-Forwarded-For` is read right to left, skipping
    /// trusted hops; the first untrusted address is the client.
    pub fn resolve(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &[Cidr]) -> ClientView {
        let peer = peer.unwrap_or(IpAddr::V4(Ipv4Addr::LOCALHOST));
        let header = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|v| !v.is_empty())
        };
        let host = header("host").unwrap_or("localhost").to_owned();
        let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
        if !is_trusted(peer) {
            return ClientView {
                ip: peer,
                https: false,
                host,
            };
        }
        let mut ip = peer;
        if let Some(xff) = header("x-forwarded-for") {
            for hop in xff.rsplit(',') {
                match parse_hop(hop) {
                    Some(hop_ip) => {
                        ip = hop_ip;
                        if !is_trusted(hop_ip) {
                            break;
                        }
                    }
                    // Garbage in the chain: stop at the last address we could vouch for.
                    None => break,
                }
            }
        }
        let https = header("x-forwarded-proto")
            .and_then(|p| p.split(',').next())
            .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
        let host = header("x-forwarded-host")
            .and_then(|h| h.split(',').next())
            .map(|h| h.trim().to_owned())
            .filter(|h| !h.is_empty())
            .unwrap_or(host);
        ClientView { ip, https, host }
    }
}

fn parse_hop(hop: &str) -> Option<IpAddr> {
    let hop = hop.trim();
    if let Ok(ip) = hop.parse() {
        return Some(ip);
    }
    // "[::1]:1234" or "1.2.3.4:1234"
    hop.parse::<std::net::SocketAddr>().ok().map(|s| s.ip())
}

impl FromRequest for ClientView {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        let view = req
            .extensions()
            .get::<ClientView>()
            .cloned()
            .unwrap_or_else(|| {
                ClientView::resolve(req.peer_addr().map(|a| a.ip()), req.headers(), &[])
            });
        ready(Ok(view))
    }
}

/// Requests seen from the same address before the "no trusted proxy" warning.
pub const PROXY_WARNING_AFTER: u64 = 50;

/// Watches for the misconfiguration where every request comes from one private address (a proxy)
/// and no proxy is trusted: then the throttle sees one client, and one attacker bans everyone.
#[derive(Debug, Default)]
pub struct ProxyWatch {
    first: Mutex<Option<IpAddr>>,
    same: AtomicU64,
    mixed: AtomicBool,
    warned: AtomicBool,
}

impl ProxyWatch {
    /// Notes one request from `peer`; logs the warning once when it applies.
    pub fn observe(&self, peer: IpAddr) {
        if self.mixed.load(Ordering::Relaxed) || self.warned.load(Ordering::Relaxed) {
            return;
        }
        {
            let mut first = match self.first.lock() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            match *first {
                None => *first = Some(peer),
                Some(ip) if ip != peer => {
                    self.mixed.store(true, Ordering::Relaxed);
                    return;
                }
                Some(_) => {}
            }
        }
        let seen = self.same.fetch_add(1, Ordering::Relaxed) + 1;
        if seen >= PROXY_WARNING_AFTER
            && is_private(peer)
            && !self.warned.swap(true, Ordering::Relaxed)
        {
            tracing::warn!(
                address = %peer,
                "every request so far came from {peer} and no --trusted-proxy is set: if that is a \
                 reverse proxy, the throttle sees one client for everyone, so one attacker can get \
                 everyone's address banned. Set --trusted-proxy {peer}/32 (or its network)."
            );
        }
    }

    /// Whether the warning has been logged.
    pub fn warned(&self) -> bool {
        self.warned.load(Ordering::Relaxed)
    }
}

fn is_private(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => v4.is_private() || v4.is_loopback() || v4.is_link_local(),
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::http::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.append(
                HeaderName::from_static(k),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    fn cidrs(list: &[&str]) -> Vec<Cidr> {
        list.iter().map(|c| Cidr::parse(c).unwrap()).collect()
    }

    #[test]
    fn forwarding_headers_ignored_from_untrusted_peer() {
        let h = headers(&[
            ("host", "portal.lan"),
            ("x-forwarded-for", "203.0.113.9"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "evil.example"),
        ]);
        let view = ClientView::resolve(
            Some("192.0.2.1".parse().unwrap()),
            &h,
            &cidrs(&["10.0.0.0/8"]),
        );
        assert_eq!(view.ip, "192.0.2.1".parse::<IpAddr>().unwrap());
        assert!(!view.https);
        assert_eq!(view.host, "portal.lan");
    }

    #[test]
    fn forwarding_headers_believed_from_trusted_peer() {
        let h = headers(&[
            ("host", "127.0.0.1:9000"),
            ("x-forwarded-for", "198.51.100.7, 203.0.113.9, 10.0.0.2"),
            ("x-forwarded-proto", "https"),
            ("x-forwarded-host", "passwd.example.org"),
        ]);
        let view = ClientView::resolve(
            Some("10.0.0.1".parse().unwrap()),
            &h,
            &cidrs(&["10.0.0.0/8"]),
        );
        // 10.0.0.2 is a trusted hop; 203.0.113.9 is the first untrusted one (198.51.100.7 is
        // whatever the client claimed and is not believed).
        assert_eq!(view.ip, "203.0.113.9".parse::<IpAddr>().unwrap());
        assert!(view.https);
        assert_eq!(view.origin(), "https://passwd.example.org");
    }

    #[test]
    fn garbage_forwarded_for_falls_back_to_peer() {
        let h = headers(&[("x-forwarded-for", "not-an-ip")]);
        let view =
            ClientView::resolve(Some("10.0.0.1".parse().unwrap()), &h, &cidrs(&["10.0.0.1"]));
        assert_eq!(view.ip, "10.0.0.1".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn proxy_warning_once_for_one_private_address() {
        let watch = ProxyWatch::default();
        for _ in 0..PROXY_WARNING_AFTER {
            watch.observe("10.1.2.3".parse().unwrap());
        }
        assert!(watch.warned());
        let mixed = ProxyWatch::default();
        mixed.observe("10.1.2.3".parse().unwrap());
        mixed.observe("10.1.2.4".parse().unwrap());
        for _ in 0..PROXY_WARNING_AFTER {
            mixed.observe("10.1.2.3".parse().unwrap());
        }
        assert!(!mixed.warned());
        let public = ProxyWatch::default();
        for _ in 0..PROXY_WARNING_AFTER {
            public.observe("203.0.113.1".parse().unwrap());
        }
        assert!(!public.warned());
    }
}
