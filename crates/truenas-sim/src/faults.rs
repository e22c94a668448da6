//! What each active [`Fault`] does, decided in one place; the server and the socket loop ask here.

use std::time::Duration;

use crate::config::Fault;

/// An HTTP answer a fault imposes instead of serving the request.
pub(crate) struct HttpFault {
    pub status: &'static str,
    pub location: Option<String>,
    pub body: &'static str,
}

/// Redirect / https-redirect / unauthorized / legacy-only, for a request to `path` with `host`.
pub(crate) fn http(
    faults: &[Fault],
    raw_path: &str,
    path: &str,
    host: Option<&str>,
) -> Option<HttpFault> {
    for f in faults {
        match f {
            // An auth proxy (TinyAuth and the like) sends every request to its login page.
            Fault::Redirect(url) => {
                return Some(HttpFault {
                    status: "302 Found",
                    location: Some(url.clone()),
                    body: "",
                });
            }
            // nginx's "HTTPS redirect": `return 307 https://$host$request_uri`.
            Fault::HttpsRedirect => {
                let host = host.unwrap_or("localhost");
                return Some(HttpFault {
                    status: "307 Temporary Redirect",
                    location: Some(format!("https://{host}{raw_path}")),
                    body: "",
                });
            }
            Fault::Unauthorized => {
                return Some(HttpFault {
                    status: "401 Unauthorized",
                    location: None,
                    body: "401: Unauthorized",
                });
            }
            // A pre-25.04 server has no /api routes at all.
            Fault::LegacyOnly if path.starts_with("/api") => {
                return Some(HttpFault {
                    status: "404 Not Found",
                    location: None,
                    body: "404: Not Found",
                });
            }
            _ => {}
        }
    }
    None
}

/// Close right after the upgrade (peer not in the UI allow-list).
pub(crate) fn close_on_connect(faults: &[Fault]) -> Option<(u16, String)> {
    faults.contains(&Fault::AllowList).then(|| {
        (
            1008,
            "You are not allowed to access this resource".to_owned(),
        )
    })
}

/// Close instead of executing the first frame.
pub(crate) fn close_on_frame(faults: &[Fault]) -> Option<(u16, String)> {
    faults.iter().find_map(|f| match f {
        Fault::Close { code, reason } => Some((*code, reason.clone())),
        _ => None,
    })
}

/// True when frame number `n` (1-based) is the one after which the connection vanishes.
pub(crate) fn drop_at(faults: &[Fault], n: u32) -> bool {
    faults
        .iter()
        .any(|f| matches!(f, Fault::DropAfter(limit) if n >= *limit))
}

/// Delay added to every reply.
pub(crate) fn latency(faults: &[Fault]) -> Option<Duration> {
    faults.iter().find_map(|f| match f {
        Fault::Latency(d) => Some(*d),
        _ => None,
    })
}
