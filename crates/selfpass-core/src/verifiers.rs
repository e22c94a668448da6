//! The leaf crates adapted to `auth-policy`'s `PasswordVerifier`: log in as the user
//! (truenas-client), SMB probe (smb-probe), crypt(3) hash (unix-crypt).

use crate::config::SmbConfig;
use crate::core::{Core, Inner, client_failure};
use crate::outcome::Failure;
use auth_policy::BoxFuture;
use auth_policy::verifier::{Candidate, PasswordVerifier, Verdict, VerifierKind};
use secrecy::SecretString;
use std::sync::{Arc, Mutex};
use truenas_client::{Client, Endpoint, LoginOutcome};

/// A middleware connection logged in (or half logged in) as the user.
pub(crate) struct UserLogin {
    client: Client,
    /// The password was right and the server waits for the two-factor code.
    pub(crate) otp_required: bool,
    /// A session exists: `user.set_password` can run as the user.
    pub(crate) session_open: bool,
}

impl UserLogin {
    /// `auth.login_ex_continue` with the code: `Ok(true)` signed in, `Ok(false)` wrong code.
    pub(crate) async fn continue_with_code(&mut self, code: &str) -> Result<bool, Failure> {
        match self.client.login_otp(code).await {
            Ok(LoginOutcome::Success { .. }) => {
                self.otp_required = false;
                self.session_open = true;
                Ok(true)
            }
            Ok(_) => Ok(false),
            Err(e) => Err(client_failure(&e)),
        }
    }

    /// `user.set_password` as the user: the server re-checks the old password and its policy.
    pub(crate) async fn set_own_password(
        &self,
        username: &str,
        current: &SecretString,
        new: &SecretString,
    ) -> Result<(), truenas_client::Error> {
        self.client.set_password(username, Some(current), new).await
    }

    /// Logs out (when a session exists) and closes the connection.
    pub(crate) async fn close(&mut self) {
        if self.session_open {
            let _ = self.client.logout().await;
            self.session_open = false;
        }
        self.client.close().await;
    }
}

/// Verifier 1: `auth.login_ex` PASSWORD_PLAIN as the user. Made fresh per attempt, it keeps the
/// connection it opened so the core can continue with a code or change the password in it.
pub(crate) struct LoginVerifier {
    inner: Arc<Inner>,
    core: Core,
    /// Throttle key of the attempt (the PAM budget is per name).
    key: Mutex<String>,
    captured: Mutex<Option<UserLogin>>,
}

impl LoginVerifier {
    pub(crate) fn new(inner: Arc<Inner>, core: Core) -> Self {
        Self {
            inner,
            core,
            key: Mutex::new(String::new()),
            captured: Mutex::new(None),
        }
    }

    pub(crate) fn set_key(&self, key: &str) {
        if let Ok(mut k) = self.key.lock() {
            key.clone_into(&mut k);
        }
    }

    /// The connection a successful login left open, if any.
    pub(crate) fn take(&self) -> Option<UserLogin> {
        self.captured.lock().ok().and_then(|mut c| c.take())
    }

    fn keep(&self, login: UserLogin) {
        if let Ok(mut c) = self.captured.lock() {
            *c = Some(login);
        }
    }

    async fn attempt(&self, username: &str, password: &SecretString) -> Verdict {
        let key = self.key.lock().map(|k| k.clone()).unwrap_or_default();
        let Some(reservation) = self.core.reserve_login(&key).await else {
            return Verdict::Unavailable("login budget spent (rate limit or PAM budget)".into());
        };
        let verdict = self.login(username, password).await;
        if verdict != Verdict::Rejected {
            // Only a rejection reached PAM as a failure; anything else gives the unit back.
            self.core.release_login(reservation).await;
        }
        verdict
    }

    async fn login(&self, username: &str, password: &SecretString) -> Verdict {
        let mut endpoint = self.inner.endpoint.clone();
        // One REDIRECT (HA standby → active controller) is followed; a second is a loop.
        for _ in 0..2 {
            let client =
                match Client::connect(endpoint.clone(), self.inner.user_options.clone()).await {
                    Ok(client) => client,
                    Err(e) => return Verdict::Unavailable(format!("cannot connect: {e}")),
                };
            let outcome = match client.login_password(username, password.clone()).await {
                Ok(outcome) => outcome,
                Err(e) => {
                    client.close().await;
                    return Verdict::Unavailable(if e.is_rate_limited() {
                        "TrueNAS rate limit".into()
                    } else {
                        format!("login call failed: {e}")
                    });
                }
            };
            let keep = |otp_required, session_open| UserLogin {
                client: client.clone(),
                otp_required,
                session_open,
            };
            return match outcome {
                LoginOutcome::Success { .. } => {
                    self.keep(keep(false, true));
                    Verdict::Accepted
                }
                LoginOutcome::OtpRequired { .. } => {
                    self.keep(keep(true, false));
                    Verdict::Accepted
                }
                // The password is right; the server just will not open a session.
                LoginOutcome::Expired | LoginOutcome::Denied => {
                    client.close().await;
                    Verdict::Accepted
                }
                LoginOutcome::AuthErr => {
                    client.close().await;
                    Verdict::Rejected
                }
                LoginOutcome::Redirect { urls } => {
                    client.close().await;
                    let Some(host) = urls.first().map(|u| redirect_host(u)) else {
                        return Verdict::Unavailable("REDIRECT without an address".into());
                    };
                    tracing::info!(%host, "standby controller: following REDIRECT");
                    endpoint = if endpoint.is_tls() {
                        Endpoint::wss(host)
                    } else {
                        Endpoint::ws(host)
                    }
                    .with_port(endpoint.port());
                    continue;
                }
                _ => {
                    client.close().await;
                    Verdict::Unavailable("unknown login answer".into())
                }
            };
        }
        Verdict::Unavailable("REDIRECT loop between controllers".into())
    }
}

/// `urls` entries are addresses, sometimes full URLs: keep the host.
fn redirect_host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host_port = rest.split('/').next().unwrap_or(rest);
    if host_port.starts_with('[') {
        return host_port
            .split(']')
            .next()
            .map_or(host_port.to_owned(), |h| format!("{h}]"));
    }
    host_port.split(':').next().unwrap_or(host_port).to_owned()
}

impl PasswordVerifier for LoginVerifier {
    fn kind(&self) -> VerifierKind {
        VerifierKind::UserLogin
    }

    fn verify<'a>(
        &'a self,
        candidate: &'a Candidate,
        password: &'a SecretString,
    ) -> BoxFuture<'a, Verdict> {
        Box::pin(self.attempt(&candidate.username, password))
    }
}

/// Verifier 2: an SMB session as the user (only built for users with SMB access).
pub(crate) struct SmbVerifier {
    target: smb_probe::Target,
}

impl SmbVerifier {
    pub(crate) fn new(config: &SmbConfig) -> Self {
        Self {
            target: smb_probe::Target::new(config.host.clone())
                .with_port(config.port)
                .with_workgroup(config.workgroup.clone())
                .with_timeout(config.timeout),
        }
    }
}

impl PasswordVerifier for SmbVerifier {
    fn kind(&self) -> VerifierKind {
        VerifierKind::SmbProbe
    }

    fn verify<'a>(
        &'a self,
        candidate: &'a Candidate,
        password: &'a SecretString,
    ) -> BoxFuture<'a, Verdict> {
        Box::pin(async move {
            match smb_probe::probe(&self.target, &candidate.username, password).await {
                // "Must change" proves the password as well as a plain success does.
                Ok(outcome) if outcome.proves_password() => Verdict::Accepted,
                Ok(_) => Verdict::Rejected,
                Err(e) => Verdict::Unavailable(format!("SMB probe: {e}")),
            }
        })
    }
}

/// Verifier 3: the crypt(3) hash the service key can read. A `!`-locked hash still proves the
/// password behind it; the core then says "locked" to its owner only.
pub(crate) struct HashVerifier {
    core: Core,
    unixhash: Option<String>,
}

impl HashVerifier {
    pub(crate) fn new(core: Core, unixhash: Option<String>) -> Self {
        Self { core, unixhash }
    }
}

impl PasswordVerifier for HashVerifier {
    fn kind(&self) -> VerifierKind {
        VerifierKind::CryptHash
    }

    fn verify<'a>(
        &'a self,
        _candidate: &'a Candidate,
        password: &'a SecretString,
    ) -> BoxFuture<'a, Verdict> {
        Box::pin(async move {
            let Some(hash) = self.unixhash.clone() else {
                return Verdict::Unavailable("no hash stored".into());
            };
            if hash == "********" {
                return Verdict::Unavailable(
                    "the service key cannot read hashes (it needs ACCOUNT_WRITE)".into(),
                );
            }
            if hash.starts_with('*') {
                // Password login disabled: nothing a password could match.
                return Verdict::Rejected;
            }
            match self.core.check_hash(password, hash).await {
                Some(true) => Verdict::Accepted,
                Some(false) => Verdict::Rejected,
                None => Verdict::Unavailable("hash malformed or of an unsupported scheme".into()),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::redirect_host;

    #[test]
    fn redirect_hosts() {
        assert_eq!(redirect_host("10.0.0.2"), "10.0.0.2");
        assert_eq!(redirect_host("wss://10.0.0.2:443/api/current"), "10.0.0.2");
        assert_eq!(redirect_host("nas-b.lan"), "nas-b.lan");
        assert_eq!(redirect_host("[fd00::2]:443"), "[fd00::2]");
    }
}
