//! The outermost middleware: works out the client (trusted proxies), maps the session cookie's
//! name (`__Host-` over HTTPS), and sets the security headers on every response.

use crate::{AppState, COOKIE_NAME, ClientView};
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};

/// Content-Security-Policy of every response: no inline script or style, no framing, forms only
/// to this origin.
pub const CSP: &str =
    "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

fn host_cookie_name() -> String {
    format!("__Host-{COOKIE_NAME}")
}

/// Rewrites the request's `Cookie` header so the session middleware sees only the cookie that
/// belongs to this scheme, under its plain name.
fn map_request_cookies(value: &str, https: bool) -> String {
    let host_name = host_cookie_name();
    value
        .split(';')
        .map(str::trim)
        .filter(|pair| !pair.is_empty())
        .filter_map(|pair| {
            let name = pair.split('=').next().unwrap_or("");
            if name == host_name {
                https.then(|| format!("{COOKIE_NAME}{}", &pair[host_name.len()..]))
            } else if name == COOKIE_NAME {
                (!https).then(|| pair.to_owned())
            } else {
                Some(pair.to_owned())
            }
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// Over HTTPS the session cookie becomes `__Host-selfpass` with `Secure`.
fn map_set_cookie(value: &str) -> Option<String> {
    let rest = value.strip_prefix(COOKIE_NAME)?.strip_prefix('=')?;
    let mut out = format!("{}={rest}", host_cookie_name());
    if !value.to_ascii_lowercase().contains("; secure") {
        out.push_str("; Secure");
    }
    Some(out)
}

/// The edge middleware (see the module docs).
pub async fn edge(
    mut req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let trusted = state
        .as_ref()
        .map(|s| s.settings().trusted_proxies.clone())
        .unwrap_or_default();
    let peer = req.peer_addr().map(|a| a.ip());
    let view = ClientView::resolve(peer, req.headers(), &trusted);
    if let (Some(state), Some(peer), true) = (&state, peer, trusted.is_empty()) {
        state.proxy_watch().observe(peer);
    }
    let https = view.https;
    if let Some(cookies) = req
        .headers()
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
    {
        let mapped = map_request_cookies(cookies, https);
        match HeaderValue::from_str(&mapped) {
            Ok(value) if !mapped.is_empty() => {
                req.headers_mut().insert(header::COOKIE, value);
            }
            _ => {
                req.headers_mut().remove(header::COOKIE);
            }
        }
    }
    let is_static = req.path().contains("/static/");
    req.extensions_mut().insert(view);

    let mut res = next.call(req).await?;

    let headers = res.headers_mut();
    if https {
        let cookies: Vec<HeaderValue> = headers.get_all(header::SET_COOKIE).cloned().collect();
        if !cookies.is_empty() {
            headers.remove(header::SET_COOKIE);
            for cookie in cookies {
                let mapped = cookie
                    .to_str()
                    .ok()
                    .and_then(map_set_cookie)
                    .and_then(|v| HeaderValue::from_str(&v).ok())
                    .unwrap_or(cookie);
                headers.append(header::SET_COOKIE, mapped);
            }
        }
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        );
    }
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(
        header::HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    let cache = if is_static {
        "public, max-age=3600"
    } else {
        "no-store"
    };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    Ok(res)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_cookies_follow_the_scheme() {
        let both = "a=1; selfpass=plain; __Host-selfpass=host";
        assert_eq!(map_request_cookies(both, true), "a=1; selfpass=host");
        assert_eq!(map_request_cookies(both, false), "a=1; selfpass=plain");
    }

    #[test]
    fn set_cookie_gets_prefix_and_secure() {
        assert_eq!(
            map_set_cookie("selfpass=abc; HttpOnly; SameSite=Strict; Path=/").as_deref(),
            Some("__Host-selfpass=abc; HttpOnly; SameSite=Strict; Path=/; Secure")
        );
        assert_eq!(map_set_cookie("other=1"), None);
    }
}
