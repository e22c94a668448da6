//! [`Core`]: the operations. Sign-in and change follow design.md ("Names, throttling and
//! enumeration", "Verifier chain"): canonicalise → throttle → verifier chain → eligibility → audit,
//! and every failed sign-in is held to a time floor so the path taken does not show.

use crate::config::{Config, Mode, TlsTrust, VerifierChoice};
use crate::generations::Generations;
use crate::outcome::{
    Changed, CheckReport, ClientInfo, Failure, Kind, NewPassword, PendingSecondFactor, Reset,
    ResetOptions, RuleText, Session, SignIn, Strength, UserRow, Violation,
};
use crate::verifiers::{HashVerifier, LoginVerifier, SmbVerifier, UserLogin};
use auth_policy::audit::{
    AuditEvent, AuditKey, AuditRecord, ChangePath, FailureClass, Subject, UnbanSubject,
};
use auth_policy::eligibility::{self, Eligibility, EligibilityConfig, UserFacts};
use auth_policy::names::{NameConfig, ResolvedName, canonicalize, fold_case, resolve, same_name};
use auth_policy::rules::{
    self, AdminList, PasswordContext, Purpose, RuleViolation, RulesConfig, ServerPolicy,
};
use auth_policy::throttle::{
    LoginReservation, MemoryStore, SystemClock, Throttle, ThrottleConfig, ThrottleStore,
    UnbanTarget,
};
use auth_policy::verifier::{
    Candidate, Chain, ChainConfig, ChainRun, Outcome, PasswordVerifier, VerifierKind,
};
use rand::Rng;
use secrecy::{ExposeSecret, SecretString};
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::Semaphore;
use truenas_client::{Client, Endpoint, Op, Options, Query, Tls, User};

/// The core both binaries call. Cheap to clone.
#[derive(Clone)]
pub struct Core {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Core")
            .field("host", &self.inner.config.truenas.host)
            .finish_non_exhaustive()
    }
}

pub(crate) struct Inner {
    pub(crate) config: Config,
    /// Where user logins go; a REDIRECT from an HA standby replaces the host.
    pub(crate) endpoint: Endpoint,
    pub(crate) user_options: Options,
    service: Client,
    service_user: Option<String>,
    server_major: u32,
    throttle: Throttle,
    names: NameConfig,
    rules: RulesConfig,
    eligibility: EligibilityConfig,
    audit_key: AuditKey,
    login_budget: Mutex<Vec<Instant>>,
    pending: Mutex<HashMap<String, PendingLogin>>,
    generations: Generations,
    pub(crate) hash_slots: Semaphore,
    /// Checked for unknown and protected names, so they cost what a real check costs.
    pub(crate) dummy_hash: String,
}

/// A two-factor sign-in waiting for its code: the middleware connection it must continue on.
struct PendingLogin {
    username: String,
    login: UserLogin,
    expires: Instant,
    attempts: u8,
}

/// Codes tried on one pending sign-in before it is dropped (TrueNAS allows 3 per login).
const MAX_CODE_ATTEMPTS: u8 = 3;

pub(crate) fn endpoint_for(config: &Config) -> Endpoint {
    let t = &config.truenas;
    let endpoint = if t.use_ssl {
        Endpoint::wss(t.host.clone())
    } else {
        Endpoint::ws(t.host.clone())
    };
    endpoint.with_port(t.port)
}

pub(crate) fn options_for(config: &Config) -> Result<Options, Failure> {
    let tls = match &config.truenas.tls {
        TlsTrust::System => Tls::System,
        TlsTrust::Fingerprint(f) => Tls::Pinned(f.parse().map_err(|_| {
            Failure::new(Kind::Internal).with_detail("TRUENAS_TLS_FINGERPRINT is not a fingerprint")
        })?),
        TlsTrust::CaFile(path) => Tls::CaFile(path.clone()),
        TlsTrust::Insecure => Tls::Insecure,
    };
    Ok(Options::default()
        .tls(tls)
        .connect_timeout(config.truenas.timeout)
        .call_timeout(config.truenas.timeout))
}

/// Maps a middleware failure to what a person may be told.
pub(crate) fn client_failure(error: &truenas_client::Error) -> Failure {
    if error.is_rate_limited() {
        return Failure::new(Kind::ServerBusy)
            .with_retry_after(Duration::from_secs(10))
            .with_detail(error.hint());
    }
    let kind = if error.is_retryable() || error.is_timeout() || error.is_auth() {
        Kind::ServerUnreachable
    } else {
        Kind::Internal
    };
    tracing::warn!(error = %error, "TrueNAS call failed");
    Failure::new(kind).with_detail(format!("{error}. {}", error.hint()))
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn audit(event: AuditEvent) {
    AuditRecord::new(SystemTime::now(), event).emit();
}

fn random_token() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the chain needs about one user, read once per attempt.
struct Facts {
    user: User,
    resolved: ResolvedName,
}

impl Core {
    /// Connects to TrueNAS with the service key and prepares everything sign-ins need.
    ///
    /// # Errors
    /// `server-unreachable` (with the client's explanation and hint as detail) when TrueNAS
    /// cannot be reached or the key is refused; `internal` for an unusable setting.
    pub async fn connect(config: Config) -> Result<Core, Failure> {
        let endpoint = endpoint_for(&config);
        let options = options_for(&config)?;
        let service = Client::connect(endpoint.clone(), options.clone())
            .await
            .map_err(|e| client_failure(&e))?;
        service
            .login_api_key(
                config.truenas.api_key.clone(),
                config.truenas.api_key_user.as_deref(),
            )
            .await
            .map_err(|e| client_failure(&e))?;
        let version = service.system_version().await.unwrap_or_default();
        let server_major = parse_major(&version);
        let service_user = match &config.truenas.api_key_user {
            Some(user) => Some(user.clone()),
            None => service.me().await.ok().map(|me| me.pw_name),
        };
        tracing::info!(%version, service_user = service_user.as_deref().unwrap_or("?"), "connected to TrueNAS");

        let (throttle_store, generations): (Arc<dyn ThrottleStore>, Generations) =
            if config.throttle_store == "memory" {
                (Arc::new(MemoryStore::new()), Generations::memory())
            } else {
                redis_stores(&config.throttle_store).await?
            };
        let throttle = Throttle::new(
            throttle_store,
            Arc::new(SystemClock),
            ThrottleConfig::default(),
        )
        .map_err(|e| Failure::new(Kind::Internal).with_detail(e.to_string()))?;

        let mut rules = RulesConfig::default()
            .with_min_length(config.policy.min_length)
            .and_then(|r| r.with_min_score(config.policy.min_score))
            .map_err(|e| Failure::new(Kind::Internal).with_detail(e.to_string()))?;
        if let Some(path) = &config.policy.deny_list_file {
            let list = AdminList::load(path)
                .map_err(|e| Failure::new(Kind::Internal).with_detail(e.to_string()))?;
            rules = rules.with_admin_list(list);
        }
        let eligibility = EligibilityConfig {
            service_account: service_user.clone(),
            allow_groups: config.policy.allowed_groups.clone(),
            allow_uids: config.policy.allowed_uids.map(|(lo, hi)| lo..=hi),
        };
        let audit_key = AuditKey::new(&audit_key_material(&config))
            .map_err(|e| Failure::new(Kind::Internal).with_detail(e.to_string()))?;
        let dummy_hash =
            unix_crypt::hash(random_token().as_bytes(), unix_crypt::Scheme::Sha512Crypt)
                .map_err(|e| Failure::new(Kind::Internal).with_detail(e.to_string()))?;
        let names = NameConfig::new(config.auth.server_names.iter().cloned());
        let user_options = options.reconnect(false).keepalive(None);
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Core {
            inner: Arc::new(Inner {
                endpoint,
                user_options,
                service,
                service_user,
                server_major,
                throttle,
                names,
                rules,
                eligibility,
                audit_key,
                login_budget: Mutex::new(Vec::new()),
                pending: Mutex::new(HashMap::new()),
                generations,
                hash_slots: Semaphore::new(cores),
                dummy_hash,
                config,
            }),
        })
    }

    /// The configuration in use.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// TrueNAS is reachable and the service key is accepted (the portal's `/readyz`).
    ///
    /// # Errors
    /// `server-unreachable` or `server-busy`.
    pub async fn ready(&self) -> Result<(), Failure> {
        self.inner
            .service
            .ping()
            .await
            .map(|_| ())
            .map_err(|e| client_failure(&e))
    }

    // ----- sign-in -------------------------------------------------------------------------

    /// Proves `password` for the typed name. Unknown, wrong, protected and name-banned answer with
    /// the same failure, no sooner than the configured floor.
    ///
    /// # Errors
    /// A [`Failure`] of the kinds in docs/error-kinds.md.
    pub async fn sign_in(
        &self,
        typed_name: &str,
        password: SecretString,
        client: ClientInfo,
    ) -> Result<SignIn, Failure> {
        let started = Instant::now();
        let result = self.sign_in_inner(typed_name, &password, client).await;
        if result.is_err() {
            tokio::time::sleep_until((started + self.inner.config.auth.signin_floor).into()).await;
        }
        result
    }

    async fn sign_in_inner(
        &self,
        typed_name: &str,
        password: &SecretString,
        client: ClientInfo,
    ) -> Result<SignIn, Failure> {
        let inner = &self.inner;
        let facts = self.resolve(typed_name).await?;
        let key = facts.as_ref().map_or_else(
            || fallback_key(typed_name, &inner.names),
            |f| f.resolved.key().to_owned(),
        );
        let subject = facts.as_ref().map_or_else(
            || Subject::Unknown(inner.audit_key.hash(&key)),
            |f| Subject::User(f.user.username.clone()),
        );
        if let Some(ban) = self.throttle_check(&key, client.ip).await {
            audit(AuditEvent::Throttled {
                subject,
                client: Some(client.ip),
                ban: (&ban).into(),
                remaining_secs: ban.remaining().as_secs(),
            });
            return Err(ban_failure(&ban));
        }
        let fail = |reason: FailureClass, verifier: Option<VerifierKind>| {
            audit(AuditEvent::SignInFailed {
                subject: subject.clone(),
                client: Some(client.ip),
                reason,
                verifier,
            });
        };

        let Some(facts) = facts.filter(|f| !self.is_protected(&f.user)) else {
            // Unknown or protected: same work, same answer as a wrong password.
            self.burn_dummy_check(password).await;
            self.record_failure(&key, client.ip).await;
            fail(FailureClass::WrongCredentials, None);
            return Err(Failure::new(Kind::WrongCredentials));
        };
        let user = &facts.user;
        let login = Arc::new(LoginVerifier::new(self.inner.clone(), self.clone()));
        let run = self.run_chain(user, password, &login, &key).await;
        let decided = run.decided_by();
        match run.outcome {
            Outcome::Accepted { by } => {
                if let Some(failure) = self.after_proof(user) {
                    self.record_failure(&key, client.ip).await;
                    fail(after_proof_class(failure.kind()), Some(by));
                    return Err(failure);
                }
                if let Err(e) = inner.throttle.record_success(&key, client.ip).await {
                    tracing::warn!(error = %e, "throttle store: cannot record a success");
                }
                let captured = login.take();
                if user.twofactor_auth_configured {
                    // design: only a login as the user followed by the code proves a 2FA user.
                    let Some(captured) = captured.filter(|c| c.otp_required) else {
                        fail(FailureClass::SecondFactor, Some(by));
                        return Err(Failure::new(Kind::SecondFactorRequired).with_detail(
                            "This account uses two-factor authentication, which this portal can only \
                             check by signing in to TrueNAS as you; ask your administrator.",
                        ));
                    };
                    let token = random_token();
                    self.store_pending(&token, user, captured);
                    return Ok(SignIn::SecondFactor(PendingSecondFactor {
                        token,
                        username: user.username.clone(),
                    }));
                }
                if let Some(mut captured) = captured {
                    captured.close().await;
                }
                audit(AuditEvent::SignInOk {
                    subject,
                    client: Some(client.ip),
                    verifier: by,
                });
                Ok(SignIn::Done(self.session_for(user).await))
            }
            Outcome::Rejected { .. } => {
                self.record_failure(&key, client.ip).await;
                fail(FailureClass::WrongCredentials, decided);
                Err(Failure::new(Kind::WrongCredentials))
            }
            Outcome::Unavailable => {
                fail(FailureClass::Unavailable, None);
                if user.twofactor_auth_configured {
                    return Err(Failure::new(Kind::SecondFactorRequired).with_detail(
                        "Two-factor sign-in needs TrueNAS to be reachable; try again shortly or ask your administrator.",
                    ));
                }
                Err(Failure::new(Kind::ServerBusy).with_retry_after(Duration::from_secs(30)))
            }
        }
    }

    /// Completes a two-factor sign-in with the code, on the connection held since the password.
    ///
    /// # Errors
    /// `second-factor-wrong` (the pending sign-in ends after 3 wrong codes or 2 minutes).
    pub async fn second_factor(
        &self,
        pending: &PendingSecondFactor,
        code: &str,
        client: ClientInfo,
    ) -> Result<Session, Failure> {
        let taken = {
            let mut map = self.pending_map();
            map.retain(|_, p| p.expires > Instant::now());
            map.remove(&pending.token)
        };
        let Some(mut held) = taken.filter(|p| p.username == pending.username) else {
            return Err(Failure::new(Kind::SecondFactorWrong)
                .with_detail("The sign-in has expired; sign in again."));
        };
        let code = code.trim();
        if code.len() > 16 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return self.code_failed(pending, held).await;
        }
        match held.login.continue_with_code(code).await {
            Ok(true) => {
                held.login.close().await;
                let user = self
                    .find_exact(&held.username)
                    .await?
                    .ok_or_else(|| Failure::new(Kind::WrongCredentials))?;
                audit(AuditEvent::SignInOk {
                    subject: Subject::User(user.username.clone()),
                    client: Some(client.ip),
                    verifier: VerifierKind::UserLogin,
                });
                Ok(self.session_for(&user).await)
            }
            Ok(false) => {
                held.attempts += 1;
                self.code_failed(pending, held).await
            }
            Err(failure) => Err(failure),
        }
    }

    async fn code_failed(
        &self,
        pending: &PendingSecondFactor,
        mut held: PendingLogin,
    ) -> Result<Session, Failure> {
        audit(AuditEvent::SignInFailed {
            subject: Subject::User(held.username.clone()),
            client: None,
            reason: FailureClass::SecondFactor,
            verifier: Some(VerifierKind::UserLogin),
        });
        if held.attempts < MAX_CODE_ATTEMPTS {
            self.pending_map().insert(pending.token.clone(), held);
            Err(Failure::new(Kind::SecondFactorWrong))
        } else {
            held.login.close().await;
            Err(Failure::new(Kind::SecondFactorWrong)
                .with_detail("Too many wrong codes; sign in again."))
        }
    }

    /// False once the user's password changed after this session began (ends other sessions).
    pub async fn session_is_current(&self, session: &Session) -> bool {
        self.generation(&session.username).await == Some(session.generation)
    }

    // ----- rules and strength -------------------------------------------------------------

    /// The rules a new password must meet, to show before typing.
    pub async fn rules(&self, session: &Session) -> Vec<RuleText> {
        let server = self.server_policy(None).await;
        let policy = self.inner.rules.effective(server.as_ref());
        let mut out = vec![RuleText {
            key: "length".into(),
            text: format!(
                "At least {} characters (up to {}); a few unusual words make a good one.",
                policy.min_length, policy.max_length
            ),
        }];
        out.push(RuleText {
            key: "personal".into(),
            text: format!(
                "Not your current password, and not containing your user name ({}) or full name.",
                session.username
            ),
        });
        out.push(RuleText {
            key: "common".into(),
            text: "Not a common or easily guessed password.".into(),
        });
        if !policy.complexity.is_empty() {
            let classes: Vec<String> = policy
                .complexity
                .iter()
                .map(|c| format!("{c:?}").to_lowercase())
                .collect();
            out.push(RuleText {
                key: "classes".into(),
                text: format!(
                    "TrueNAS also requires these character types: {}.",
                    classes.join(", ")
                ),
            });
        }
        if let Some(n) = policy.history_length {
            out.push(RuleText {
                key: "history".into(),
                text: format!("Not one of your last {n} passwords."),
            });
        }
        out
    }

    /// Strength of a candidate password for the meter (no rule is enforced here).
    pub async fn strength(&self, session: &Session, candidate: &SecretString) -> Strength {
        let required = self.inner.config.policy.min_score;
        let context = PasswordContext::new(&session.username);
        let violations = rules::check(&self.inner.rules, candidate, &context);
        let mut score = 4;
        let mut feedback = Vec::new();
        for v in &violations {
            if let RuleViolation::Weak { score: s, .. } = v {
                score = *s;
            }
            feedback.push(v.to_string());
        }
        if violations.iter().any(|v| {
            matches!(
                v,
                RuleViolation::TooShort { .. } | RuleViolation::Common { .. }
            )
        }) {
            score = score.min(1);
        }
        Strength {
            score,
            required,
            feedback,
        }
    }

    // ----- the change ---------------------------------------------------------------------

    /// Changes the signed-in user's own password. Re-proves `current` (the session alone proves
    /// nothing), checks the rules (ours merged with the server's, minimum age included), changes
    /// it on the server and ends the user's other portal sessions.
    ///
    /// # Errors
    /// `wrong-credentials` for a wrong current password, `password-rules` with every unmet rule,
    /// `server-unreachable` when the outcome of an interrupted change is unknown (it says so).
    pub async fn change_own_password(
        &self,
        session: &Session,
        current: SecretString,
        new: SecretString,
        otp: Option<String>,
        client: ClientInfo,
    ) -> Result<Changed, Failure> {
        let started = Instant::now();
        let result = self
            .change_inner(session, &current, &new, otp, client)
            .await;
        if matches!(&result, Err(f) if f.kind() == Kind::WrongCredentials || f.kind() == Kind::TooManyAttempts)
        {
            tokio::time::sleep_until((started + self.inner.config.auth.signin_floor).into()).await;
        }
        result
    }

    async fn change_inner(
        &self,
        session: &Session,
        current: &SecretString,
        new: &SecretString,
        otp: Option<String>,
        client: ClientInfo,
    ) -> Result<Changed, Failure> {
        if !self.session_is_current(session).await {
            return Err(Failure::new(Kind::WrongCredentials)
                .with_detail("Your session has ended; sign in again."));
        }
        let user = self
            .find_exact(&session.username)
            .await?
            .ok_or_else(|| Failure::new(Kind::WrongCredentials))?;
        let key = user.username.clone();
        if let Some(ban) = self.throttle_check(&key, client.ip).await {
            return Err(ban_failure(&ban));
        }
        if self.is_protected(&user) {
            return Err(Failure::new(Kind::NotAllowed));
        }
        if let Some(failure) = self.after_proof_for_change(&user) {
            return Err(failure);
        }

        // Rules first: a refused password should not cost a login attempt.
        let server = self.server_policy(Some(&user)).await;
        let host_names = self.inner.config.auth.server_names.clone();
        let mut context = PasswordContext::new(&user.username);
        context.full_name = Some(&user.full_name);
        context.host_names = &host_names;
        context.current = Some(current);
        context.server = server.as_ref();
        let violations = rules::check(&self.inner.rules, new, &context);
        if !violations.is_empty() {
            return Err(rules_failure(&violations));
        }

        // Re-prove the current password.
        let login = Arc::new(LoginVerifier::new(self.inner.clone(), self.clone()));
        let run = self.run_chain(&user, current, &login, &key).await;
        let by = match run.outcome {
            Outcome::Accepted { by } => by,
            Outcome::Rejected { by } => {
                self.record_failure(&key, client.ip).await;
                audit(AuditEvent::SignInFailed {
                    subject: Subject::User(key.clone()),
                    client: Some(client.ip),
                    reason: FailureClass::WrongCredentials,
                    verifier: Some(by),
                });
                return Err(Failure::new(Kind::WrongCredentials)
                    .with_detail("The current password is not right."));
            }
            Outcome::Unavailable => {
                return Err(
                    Failure::new(Kind::ServerBusy).with_retry_after(Duration::from_secs(30))
                );
            }
        };
        let captured = login.take();
        let path;
        if user.twofactor_auth_configured {
            let Some(mut captured) = captured.filter(|c| c.otp_required) else {
                return Err(Failure::new(Kind::SecondFactorRequired));
            };
            let Some(code) = otp.filter(|c| !c.trim().is_empty()) else {
                captured.close().await;
                return Err(Failure::new(Kind::SecondFactorRequired));
            };
            if !captured.continue_with_code(code.trim()).await? {
                captured.close().await;
                return Err(Failure::new(Kind::SecondFactorWrong));
            }
            path = ChangePath::UserSession;
            self.change_in_user_session(&user, &mut captured, current, new)
                .await?;
        } else if let Some(mut captured) = captured.filter(|c| c.session_open) {
            path = ChangePath::UserSession;
            self.change_in_user_session(&user, &mut captured, current, new)
                .await?;
        } else {
            path = ChangePath::ServiceKey;
            self.change_with_service_key(&user, new).await?;
        }
        self.bump_generation(&user.username).await;
        audit(AuditEvent::PasswordChanged {
            subject: Subject::User(user.username.clone()),
            client: Some(client.ip),
            verifier: by,
            path,
        });
        Ok(Changed {
            username: user.username,
        })
    }

    async fn change_in_user_session(
        &self,
        user: &User,
        login: &mut UserLogin,
        current: &SecretString,
        new: &SecretString,
    ) -> Result<(), Failure> {
        let result = login.set_own_password(&user.username, current, new).await;
        login.close().await;
        self.settle_change(user, new, result).await
    }

    async fn change_with_service_key(
        &self,
        user: &User,
        new: &SecretString,
    ) -> Result<(), Failure> {
        let result = self
            .inner
            .service
            .user_set_password_admin(user.id, new)
            .await;
        self.settle_change(user, new, result).await
    }

    /// What a change call's result means for the user, on either path. An error that leaves it
    /// unknown whether the change took effect (connection lost or timed out, no validation
    /// errors) is settled by looking, never by retrying.
    async fn settle_change(
        &self,
        user: &User,
        new: &SecretString,
        result: Result<(), truenas_client::Error>,
    ) -> Result<(), Failure> {
        match result {
            Ok(()) => Ok(()),
            Err(e) if e.validation_errors().is_empty() && (e.is_retryable() || e.is_timeout()) => {
                let before = user.last_password_change.map(|d| d.0);
                self.settle_unknown(user, new, before).await
            }
            Err(e) => Err(server_refusal(&e)),
        }
    }

    /// The connection dropped mid-change: find out whether it took effect. Never retries.
    async fn settle_unknown(
        &self,
        user: &User,
        new: &SecretString,
        before: Option<i64>,
    ) -> Result<(), Failure> {
        let after = match self.find_exact(&user.username).await {
            Ok(Some(after)) => after,
            _ => {
                return Err(Failure::new(Kind::ServerUnreachable).with_detail(
                    "The connection to TrueNAS broke during the change and it cannot be told whether \
                     the new password took effect: try signing in with the new password, then the old one.",
                ));
            }
        };
        let hash_matches = match after.unixhash.as_deref() {
            Some(hash) if hash.starts_with('$') => {
                self.check_hash(new, hash.to_owned()).await == Some(true)
            }
            _ => false,
        };
        let moved = after.last_password_change.map(|d| d.0) != before;
        if hash_matches || moved {
            tracing::info!(user = %user.username, "the change took effect although the connection broke");
            Ok(())
        } else {
            Err(Failure::new(Kind::ServerUnreachable).with_detail(
                "The connection to TrueNAS broke during the change; the password was NOT changed. Try again.",
            ))
        }
    }

    // ----- admin operations (CLI) ---------------------------------------------------------

    /// Sets a user's password with the service key (no old password needed).
    ///
    /// # Errors
    /// `user-not-found`, `not-allowed` (protected, unless forced), `password-rules`, or the
    /// server's refusal.
    pub async fn admin_reset(
        &self,
        username: &str,
        new: NewPassword,
        options: ResetOptions,
    ) -> Result<Reset, Failure> {
        let user = self.admin_target(username, options.force_protected).await?;
        let (password, generated) = match new {
            NewPassword::Given(p) => (p, false),
            NewPassword::Generated { length } => (generate_password(length)?, true),
        };
        let mut weak = Vec::new();
        if !generated {
            let server = self.server_policy(Some(&user)).await;
            let host_names = self.inner.config.auth.server_names.clone();
            let mut context = PasswordContext::new(&user.username);
            context.full_name = Some(&user.full_name);
            context.host_names = &host_names;
            context.server = server.as_ref();
            context.purpose = Purpose::AdminReset {
                override_rules: false,
            };
            let violations = rules::check(&self.inner.rules, &password, &context);
            if !violations.is_empty() {
                if !options.allow_weak {
                    return Err(rules_failure(&violations));
                }
                weak = to_violations(&violations);
            }
        }
        if !options.dry_run {
            self.inner
                .service
                .user_set_password_admin(user.id, &password)
                .await
                .map_err(|e| server_refusal(&e))?;
            self.bump_generation(&user.username).await;
            audit(AuditEvent::AdminReset {
                subject: Subject::User(user.username.clone()),
                by: self.admin_name(),
                generated,
                rules_overridden: !weak.is_empty(),
            });
        }
        Ok(Reset {
            username: user.username,
            generated: generated.then_some(password),
            weak,
            dry_run: options.dry_run,
        })
    }

    /// Local users (and directory users the server lists), optionally filtered by a substring of
    /// the name.
    ///
    /// # Errors
    /// `server-unreachable`.
    pub async fn list_users(&self, filter: Option<&str>) -> Result<Vec<UserRow>, Failure> {
        let mut query = Query::new().order_by(["username"]);
        if let Some(f) = filter.filter(|f| !f.is_empty()) {
            query = query.filter("username", Op::Regex, regex_escape(f));
        }
        let users = self
            .inner
            .service
            .users(&query)
            .await
            .map_err(|e| client_failure(&e))?;
        Ok(users
            .into_iter()
            .map(|u| UserRow {
                uid: u.uid,
                full_name: u.full_name.clone(),
                smb: u.smb,
                locked: u.locked,
                password_disabled: u.password_disabled,
                last_password_change: u.last_password_change.map(|d| d.0 / 1000),
                password_age_days: u.password_age,
                two_factor: u.twofactor_auth_configured,
                local: u.local,
                username: u.username,
            })
            .collect())
    }

    /// Locks an account (`user.update {"locked": true}`).
    ///
    /// # Errors
    /// `user-not-found`, `not-allowed` for protected accounts.
    pub async fn lock(&self, username: &str) -> Result<(), Failure> {
        self.set_locked(username, true).await
    }

    /// Unlocks an account.
    ///
    /// # Errors
    /// As [`Core::lock`].
    pub async fn unlock(&self, username: &str) -> Result<(), Failure> {
        self.set_locked(username, false).await
    }

    async fn set_locked(&self, username: &str, locked: bool) -> Result<(), Failure> {
        let user = self.admin_target(username, false).await?;
        self.inner
            .service
            .user_set_locked(user.id, locked)
            .await
            .map_err(|e| server_refusal(&e))?;
        let subject = Subject::User(user.username.clone());
        let by = self.admin_name();
        audit(if locked {
            AuditEvent::Locked { subject, by }
        } else {
            AuditEvent::Unlocked { subject, by }
        });
        if locked {
            self.bump_generation(&user.username).await;
        }
        Ok(())
    }

    /// Lifts a portal throttle ban on a name or a client address (every replica, with Redis).
    ///
    /// # Errors
    /// `internal` when the throttle store fails.
    pub async fn unban(&self, target: &str) -> Result<(), Failure> {
        let target = target.trim();
        let (unban, subject) = match target.parse::<IpAddr>() {
            Ok(ip) => (UnbanTarget::Address(ip), UnbanSubject::Address(ip)),
            Err(_) => {
                let canonical = canonicalize(target, &self.inner.names).map_err(|_| {
                    Failure::new(Kind::UserNotFound).with_detail("not a user name or an IP address")
                })?;
                let key = match self.find_user(&canonical).await? {
                    Some(user) => user.username,
                    None => fallback_key(target, &self.inner.names),
                };
                (
                    UnbanTarget::Name(key.clone()),
                    UnbanSubject::Name(Subject::User(key)),
                )
            }
        };
        self.inner
            .throttle
            .unban(&unban)
            .await
            .map_err(|e| Failure::new(Kind::Internal).with_detail(e.to_string()))?;
        audit(AuditEvent::Unbanned {
            target: subject,
            by: self.admin_name(),
        });
        Ok(())
    }

    /// TrueNAS's one-time password for a user who forgot theirs (valid 24 h, single use).
    ///
    /// # Errors
    /// `user-not-found`, `not-allowed`, or the server's refusal (older servers lack the call).
    pub async fn one_time_password(&self, username: &str) -> Result<SecretString, Failure> {
        let user = self.admin_target(username, false).await?;
        self.inner
            .service
            .generate_onetime_password(&user.username)
            .await
            .map_err(|e| server_refusal(&e))
    }

    /// Runs the portal's verifier chain for `username` and reports which verifier answered.
    /// For admins testing their setup; the throttle is not touched.
    ///
    /// # Errors
    /// `user-not-found`.
    pub async fn check(
        &self,
        username: &str,
        password: SecretString,
    ) -> Result<CheckReport, Failure> {
        let facts = self
            .resolve(username)
            .await?
            .ok_or_else(|| Failure::new(Kind::UserNotFound))?;
        let login = Arc::new(LoginVerifier::new(self.inner.clone(), self.clone()));
        let run = self
            .run_chain(&facts.user, &password, &login, facts.resolved.key())
            .await;
        if let Some(mut captured) = login.take() {
            captured.close().await;
        }
        Ok(CheckReport {
            username: facts.user.username,
            accepted: matches!(run.outcome, Outcome::Accepted { .. }),
            decided_by: run.decided_by().map(|k| k.as_str().to_owned()),
            steps: run
                .steps
                .iter()
                .map(|s| (s.kind.as_str().to_owned(), format!("{:?}", s.verdict)))
                .collect(),
        })
    }

    // ----- helpers ------------------------------------------------------------------------

    async fn resolve(&self, typed: &str) -> Result<Option<Facts>, Failure> {
        let Ok(canonical) = canonicalize(typed, &self.inner.names) else {
            return Ok(None);
        };
        let Some(user) = self.find_user(&canonical).await? else {
            return Ok(None);
        };
        let exact = user.username.clone();
        let resolved = resolve(typed, &self.inner.names, &|_| Some(exact.clone()))
            .map_err(|_| Failure::new(Kind::WrongCredentials))?;
        Ok(Some(Facts { user, resolved }))
    }

    /// The one user whose name matches case-insensitively (SMB names are case-insensitive).
    async fn find_user(&self, canonical: &str) -> Result<Option<User>, Failure> {
        let query = Query::new().filter("username", Op::EqIgnoreCase, canonical);
        let users = self
            .inner
            .service
            .users(&query)
            .await
            .map_err(|e| client_failure(&e))?;
        let exact = users.iter().position(|u| u.username == canonical);
        let mut alike: Vec<User> = users
            .into_iter()
            .filter(|u| same_name(&u.username, canonical))
            .collect();
        Ok(match exact {
            Some(_) => alike.into_iter().find(|u| u.username == canonical),
            None if alike.len() == 1 => alike.pop(),
            None => None, // two names differing only in case: ambiguous, treat as unknown
        })
    }

    async fn find_exact(&self, username: &str) -> Result<Option<User>, Failure> {
        let query = Query::new().filter("username", Op::Eq, username);
        let users = self
            .inner
            .service
            .users(&query)
            .await
            .map_err(|e| client_failure(&e))?;
        Ok(users.into_iter().next())
    }

    async fn admin_target(&self, username: &str, force_protected: bool) -> Result<User, Failure> {
        let canonical = canonicalize(username, &self.inner.names)
            .map_err(|_| Failure::new(Kind::UserNotFound))?;
        let user = self.find_user(&canonical).await?.ok_or_else(|| {
            Failure::new(Kind::UserNotFound).with_detail(format!("no user named {canonical}"))
        })?;
        if !user.local {
            return Err(Failure::new(Kind::DirectoryUser));
        }
        if self.is_protected(&user) && !force_protected {
            return Err(Failure::new(Kind::NotAllowed).with_detail(format!(
                "{} is protected (root, builtin, an administrator or the service account); \
                 pass --force-protected to reset it anyway",
                user.username
            )));
        }
        Ok(user)
    }

    fn facts(user: &User) -> UserFacts {
        let mut groups: Vec<String> = user.groups.iter().map(i64::to_string).collect();
        if let Some(group) = &user.group {
            groups.push(group.bsdgrp_group.clone());
            groups.push(group.bsdgrp_gid.to_string());
        }
        UserFacts {
            username: user.username.clone(),
            uid: u32::try_from(user.uid).unwrap_or(u32::MAX),
            local: user.local,
            builtin: user.builtin,
            immutable: user.immutable,
            groups,
            roles: user.roles.clone(),
        }
    }

    /// Root, builtin, immutable, administrators and the service account: never served, and
    /// answered exactly like a wrong password.
    fn is_protected(&self, user: &User) -> bool {
        let config = EligibilityConfig {
            allow_groups: Vec::new(),
            allow_uids: None,
            ..self.inner.eligibility.clone()
        };
        matches!(
            eligibility::eligibility(&Self::facts(user), &config),
            Eligibility::Refused(_)
        )
    }

    /// What may be said once the password is proven: locked, disabled, directory user, not
    /// allow-listed. `None`: may sign in.
    fn after_proof(&self, user: &User) -> Option<Failure> {
        if let Some(kind) = Kind::for_eligibility(eligibility::eligibility(
            &Self::facts(user),
            &self.inner.eligibility,
        )) {
            return Some(Failure::new(kind));
        }
        if user.locked {
            return Some(Failure::new(Kind::AccountLocked));
        }
        if user.password_disabled {
            return Some(Failure::new(Kind::AccountDisabled));
        }
        None
    }

    fn after_proof_for_change(&self, user: &User) -> Option<Failure> {
        self.after_proof(user)
    }

    async fn run_chain(
        &self,
        user: &User,
        password: &SecretString,
        login: &Arc<LoginVerifier>,
        key: &str,
    ) -> ChainRun {
        let config = &self.inner.config;
        let login_in_chain = match config.auth.mode {
            Mode::UserSession => true,
            Mode::Auto => self.inner.server_major >= 26,
            Mode::Service => false,
        };
        let mut order = Vec::new();
        let mut verifiers: Vec<Arc<dyn PasswordVerifier>> = vec![login.clone()];
        for choice in &config.auth.verifiers {
            match choice {
                VerifierChoice::Login if login_in_chain => order.push(VerifierKind::UserLogin),
                VerifierChoice::Login => {}
                VerifierChoice::Smb if config.smb.enabled && user.smb => {
                    order.push(VerifierKind::SmbProbe);
                    verifiers.push(Arc::new(SmbVerifier::new(&config.smb)));
                }
                VerifierChoice::Smb => {}
                VerifierChoice::Hash => {
                    order.push(VerifierKind::CryptHash);
                    verifiers.push(Arc::new(HashVerifier::new(
                        self.clone(),
                        user.unixhash.clone(),
                    )));
                }
            }
        }
        login.set_key(key);
        let candidate =
            Candidate::new(user.username.clone()).with_two_factor(user.twofactor_auth_configured);
        let Ok(config) = ChainConfig::new(order.iter().copied()) else {
            // Nothing applies to this user (e.g. only `smb` configured and SMB off for them).
            return ChainRun {
                outcome: Outcome::Unavailable,
                steps: Vec::new(),
            };
        };
        match Chain::new(&config, verifiers) {
            Ok(chain) => chain.verify(&candidate, password).await,
            Err(e) => {
                tracing::error!(error = %e, "verifier chain misconfigured");
                ChainRun {
                    outcome: Outcome::Unavailable,
                    steps: Vec::new(),
                }
            }
        }
    }

    /// Checks `password` against `hash` on a blocking thread, behind the hash semaphore.
    /// `None`: the hash could not be checked (malformed, unsupported, or the task failed).
    pub(crate) async fn check_hash(&self, password: &SecretString, hash: String) -> Option<bool> {
        let _slot = self.inner.hash_slots.acquire().await.ok()?;
        let password = password.clone();
        tokio::task::spawn_blocking(move || {
            let target = unix_crypt::strip_lock(&hash).unwrap_or(&hash);
            unix_crypt::verify(password.expose_secret().as_bytes(), target).ok()
        })
        .await
        .ok()
        .flatten()
    }

    async fn burn_dummy_check(&self, password: &SecretString) {
        let _ = self
            .check_hash(password, self.inner.dummy_hash.clone())
            .await;
    }

    async fn throttle_check(&self, key: &str, ip: IpAddr) -> Option<auth_policy::throttle::Ban> {
        match self.inner.throttle.check(key, ip).await {
            Ok(ban) => ban,
            Err(e) => {
                // Fail closed would lock everyone out when Redis hiccups; fail open, loudly.
                tracing::error!(error = %e, "throttle store unavailable: not throttling");
                None
            }
        }
    }

    async fn record_failure(&self, key: &str, ip: IpAddr) {
        if let Err(e) = self.inner.throttle.record_failure(key, ip).await {
            tracing::error!(error = %e, "throttle store: cannot record a failure");
        }
    }

    /// Takes a unit of the login budget (the server's rate limit) and of `key`'s PAM budget
    /// (TrueNAS's faillock), atomically across replicas; `None`: skip the login verifier.
    pub(crate) async fn reserve_login(&self, key: &str) -> Option<LoginReservation> {
        if !self.take_login_budget() {
            return None;
        }
        match self.inner.throttle.reserve_user_login(key).await {
            Ok(reservation) => reservation,
            Err(e) => {
                tracing::error!(error = %e, "throttle store: cannot reserve a login");
                None
            }
        }
    }

    /// Gives back a reservation whose login did not fail at PAM.
    pub(crate) async fn release_login(&self, reservation: LoginReservation) {
        if let Err(e) = self.inner.throttle.release_user_login(reservation).await {
            tracing::error!(error = %e, "throttle store: cannot release a login reservation");
        }
    }

    /// Keeps logins as users under the server's unauthenticated rate limit (one portal = one IP).
    fn take_login_budget(&self) -> bool {
        let (max, window) = self.inner.config.auth.login_budget;
        let Ok(mut times) = self.inner.login_budget.lock() else {
            return false;
        };
        let now = Instant::now();
        times.retain(|t| now.duration_since(*t) < window);
        if times.len() < max as usize {
            times.push(now);
            true
        } else {
            false
        }
    }

    async fn server_policy(&self, user: Option<&User>) -> Option<ServerPolicy> {
        let config = self.inner.service.security_config().await.ok()?;
        let complexity = config
            .password_complexity_ruleset
            .map(|set| {
                set.0
                    .iter()
                    .filter_map(|c| {
                        serde_json::from_value(serde_json::Value::String(c.clone())).ok()
                    })
                    .collect()
            })
            .unwrap_or_default();
        Some(ServerPolicy {
            min_length: config
                .min_password_length
                .and_then(|n| u32::try_from(n).ok()),
            complexity,
            history_length: config
                .password_history_length
                .and_then(|n| u32::try_from(n).ok()),
            min_age_days: config.min_password_age.and_then(|n| u32::try_from(n).ok()),
            last_password_change: user
                .and_then(|u| u.last_password_change)
                .and_then(|d| u64::try_from(d.0).ok())
                .map(|ms| UNIX_EPOCH + Duration::from_millis(ms)),
        })
    }

    async fn session_for(&self, user: &User) -> Session {
        let expired = user.password_change_required
            || (user.last_password_change.is_none() && !user.password_disabled);
        Session {
            username: user.username.clone(),
            full_name: user.full_name.clone(),
            two_factor: user.twofactor_auth_configured,
            must_change: expired,
            generation: self.generation(&user.username).await.unwrap_or(0),
            signed_in_at: now_secs(),
        }
    }

    async fn generation(&self, username: &str) -> Option<u64> {
        self.inner.generations.current(username).await
    }

    async fn bump_generation(&self, username: &str) {
        self.inner.generations.bump(username).await;
    }

    fn pending_map(&self) -> std::sync::MutexGuard<'_, HashMap<String, PendingLogin>> {
        // A poisoned lock only means a panic elsewhere; the map itself stays consistent.
        self.inner
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn store_pending(&self, token: &str, user: &User, login: UserLogin) {
        let expires = Instant::now() + self.inner.config.auth.second_factor_window;
        let mut map = self.pending_map();
        map.retain(|_, p| p.expires > Instant::now());
        map.insert(
            token.to_owned(),
            PendingLogin {
                username: user.username.clone(),
                login,
                expires,
                attempts: 0,
            },
        );
    }

    fn admin_name(&self) -> String {
        self.inner
            .service_user
            .clone()
            .unwrap_or_else(|| "api-key".to_owned())
    }
}

/// 32 bytes for the audit HMAC, derived from the portal's SECRET_KEY or (CLI) the API key, so a
/// secret of any length works and the raw secret is never the HMAC key itself.
fn audit_key_material(config: &Config) -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let secret = match &config.portal.secret_key {
        Some(key) => key.expose_secret().as_bytes().to_vec(),
        None => config.truenas.api_key.expose_secret().as_bytes().to_vec(),
    };
    Sha256::new()
        .chain_update(b"selfpass audit key\0")
        .chain_update(&secret)
        .finalize()
        .into()
}

fn parse_major(version: &str) -> u32 {
    // "TrueNAS-25.10.1" or "25.10.1"
    version
        .rsplit('-')
        .next()
        .and_then(|v| v.split('.').next())
        .and_then(|m| m.parse().ok())
        .unwrap_or(25)
}

/// The throttle key of a name that resolves to nobody: its case-folded canonical form, as
/// auth-policy keys unknown names (so they are counted and banned like real ones).
fn fallback_key(typed: &str, names: &NameConfig) -> String {
    resolve(typed, names, &|_| None)
        .map_or_else(|_| fold_case(typed.trim()), |r| r.key().to_owned())
}

fn ban_failure(ban: &auth_policy::throttle::Ban) -> Failure {
    let failure = Failure::new(Kind::for_ban(ban));
    match ban {
        auth_policy::throttle::Ban::Address { remaining } => failure.with_retry_after(*remaining),
        auth_policy::throttle::Ban::Name { .. } => failure,
    }
}

fn after_proof_class(kind: Kind) -> FailureClass {
    match kind {
        Kind::AccountLocked => FailureClass::Locked,
        Kind::AccountDisabled => FailureClass::Disabled,
        Kind::DirectoryUser => FailureClass::DirectoryUser,
        _ => FailureClass::NotAllowed,
    }
}

fn to_violations(violations: &[RuleViolation]) -> Vec<Violation> {
    violations
        .iter()
        .map(|v| Violation {
            key: v.key().to_owned(),
            message: v.to_string(),
        })
        .collect()
}

fn rules_failure(violations: &[RuleViolation]) -> Failure {
    Failure::new(Kind::PasswordRules).with_violations(to_violations(violations))
}

/// The server refused the change: its validation messages, in words a user understands.
fn server_refusal(error: &truenas_client::Error) -> Failure {
    let validations = error.validation_errors();
    if validations.is_empty() {
        return client_failure(error);
    }
    let violations = validations
        .iter()
        .map(|v| Violation {
            key: "server-policy".into(),
            message: server_message_in_words(&v.message),
        })
        .collect();
    Failure::new(Kind::PasswordRules).with_violations(violations)
}

fn server_message_in_words(message: &str) -> String {
    let lower = message.to_lowercase();
    if lower.contains("failed to validate password") {
        "TrueNAS did not accept the current password.".into()
    } else if lower.contains("changed too recently") {
        "TrueNAS does not allow another change yet (minimum password age).".into()
    } else if lower.contains("does not match any of the last") {
        "TrueNAS remembers this password from before; choose one you have not used.".into()
    } else if lower.contains("too short") {
        "TrueNAS requires a longer password.".into()
    } else if lower.contains("complexity") {
        "TrueNAS requires more kinds of characters (upper case, lower case, digits, symbols)."
            .into()
    } else if lower.contains("locked") {
        "The account is locked.".into()
    } else {
        format!("TrueNAS refused the change: {message}")
    }
}

/// Alphabet of generated passwords: no look-alikes (0/O, 1/l/I), still ~5.9 bits a character.
const GENERATED_ALPHABET: &[u8] =
    b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789-_.+=!";

fn generate_password(length: usize) -> Result<SecretString, Failure> {
    if !(16..=128).contains(&length) {
        return Err(Failure::new(Kind::PasswordRules)
            .with_detail("generated passwords are 16 to 128 characters"));
    }
    // rand's thread RNG is a CSPRNG seeded from the OS.
    let mut rng = rand::rng();
    let password: String = (0..length)
        .map(|_| char::from(GENERATED_ALPHABET[rng.random_range(0..GENERATED_ALPHABET.len())]))
        .collect();
    Ok(SecretString::from(password))
}

fn regex_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(feature = "redis")]
async fn redis_stores(url: &str) -> Result<(Arc<dyn ThrottleStore>, Generations), Failure> {
    let unavailable = |e: &dyn std::fmt::Display| {
        Failure::new(Kind::Internal)
            .with_detail(format!("throttle store {}: {e}", redacted_url(url)))
    };
    let store = auth_policy::throttle::RedisStore::connect(url)
        .await
        .map_err(|e| unavailable(&e))?;
    let generations = Generations::redis(url).await.map_err(|e| unavailable(&e))?;
    Ok((Arc::new(store), generations))
}

#[cfg(not(feature = "redis"))]
async fn redis_stores(_url: &str) -> Result<(Arc<dyn ThrottleStore>, Generations), Failure> {
    Err(Failure::new(Kind::Internal)
        .with_detail("this build has no Redis support (feature `redis`)"))
}

/// A redis:// URL without its password, for messages.
fn redacted_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://…@{}", &url[..scheme], &url[at + 1..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majors() {
        assert_eq!(parse_major("TrueNAS-25.10.1"), 25);
        assert_eq!(parse_major("TrueNAS-26.0.0"), 26);
        assert_eq!(parse_major("26.0.0"), 26);
        assert_eq!(parse_major(""), 25);
    }

    #[test]
    fn generated_passwords() {
        let a = generate_password(20).unwrap();
        let b = generate_password(20).unwrap();
        assert_eq!(a.expose_secret().chars().count(), 20);
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert!(generate_password(8).is_err());
    }

    #[test]
    fn redis_urls_lose_their_password() {
        assert_eq!(
            redacted_url("redis://:s3cret@host:6379/0"),
            "redis://…@host:6379/0"
        );
        assert_eq!(redacted_url("redis://host"), "redis://host");
    }

    #[test]
    fn regex_is_escaped() {
        assert_eq!(regex_escape("a.b"), "a\\.b");
    }
}

#[cfg(test)]
mod settle_tests {
    //! A change whose reply never came: the core must tell whether it took effect, and never retry.
    use super::*;
    use crate::demo::start_with;
    use truenas_sim::SimConfig;

    async fn alice(core: &Core) -> User {
        core.find_exact("alice").await.unwrap().unwrap()
    }

    #[tokio::test]
    async fn a_change_that_took_effect_is_reported_done() {
        let demo = start_with(SimConfig::demo(), &[]).await.unwrap();
        let core = Core::connect(demo.config.clone()).await.unwrap();
        let before = alice(&core).await;
        let new = SecretString::from("saffron-teapot-glacier-hum");
        // The change happened on the server; only its reply was lost.
        let hash = unix_crypt::hash(
            new.expose_secret().as_bytes(),
            unix_crypt::Scheme::Sha512Crypt,
        )
        .unwrap();
        assert!(demo.simulator().set_user_field(
            "alice",
            "unixhash",
            serde_json::Value::String(hash)
        ));
        let stamp = before.last_password_change.map(|d| d.0);
        assert!(core.settle_unknown(&before, &new, stamp).await.is_ok());
    }

    #[tokio::test]
    async fn a_change_that_did_not_happen_says_so() {
        let demo = start_with(SimConfig::demo(), &[]).await.unwrap();
        let core = Core::connect(demo.config.clone()).await.unwrap();
        let before = alice(&core).await;
        let new = SecretString::from("saffron-teapot-glacier-hum");
        let stamp = before.last_password_change.map(|d| d.0);
        let failure = core.settle_unknown(&before, &new, stamp).await.unwrap_err();
        assert_eq!(failure.kind(), Kind::ServerUnreachable);
        assert!(
            failure.detail().unwrap().contains("NOT changed"),
            "{failure:?}"
        );
        // And nothing was retried behind our back.
        let after = alice(&core).await;
        assert_eq!(after.unixhash, before.unixhash);
    }
}
