//! The verifier chain: how a current password is proven.
//!
//! Each verifier answers [`Verdict::Accepted`], [`Verdict::Rejected`] or
//! [`Verdict::Unavailable`]. `Accepted` ends the chain. `Unavailable` falls through. `Rejected`
//! from a *definitive* verifier ends it; from a non-definitive one (the SMB probe: SMB access can
//! be off for a user) it falls through, and counts only if nobody after it decides. The order and
//! the set are configuration ([`ChainConfig`]).

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::{BoxFuture, Error, Result};

/// The kinds of verifier the core can build; a chain is an ordered set of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VerifierKind {
    /// Log in to TrueNAS as the user (`auth.login_ex`, PASSWORD_PLAIN): the server's PAM decides.
    UserLogin,
    /// An SMB session as the user.
    SmbProbe,
    /// crypt(3) verification of the hash read with the service key.
    CryptHash,
}

impl VerifierKind {
    /// Every kind, in the default order.
    pub const ALL: [VerifierKind; 3] = [
        VerifierKind::UserLogin,
        VerifierKind::SmbProbe,
        VerifierKind::CryptHash,
    ];

    /// A stable name for logs and audit.
    pub fn as_str(self) -> &'static str {
        match self {
            VerifierKind::UserLogin => "user_login",
            VerifierKind::SmbProbe => "smb_probe",
            VerifierKind::CryptHash => "crypt_hash",
        }
    }
}

impl fmt::Display for VerifierKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One verifier's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The password is right.
    Accepted,
    /// The password is wrong (as far as this verifier can tell).
    Rejected,
    /// This verifier cannot decide now; the string says why (for logs, never for the user).
    Unavailable(String),
}

/// Who is being verified: the facts a verifier needs about the resolved user.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Candidate {
    /// The exact local user name.
    pub username: String,
    /// The user has two-factor authentication configured: only [`VerifierKind::UserLogin`] may
    /// accept, since only it can be followed by the code on the same connection.
    pub two_factor: bool,
}

impl Candidate {
    /// A candidate without two-factor authentication.
    pub fn new(username: impl Into<String>) -> Self {
        Candidate {
            username: username.into(),
            two_factor: false,
        }
    }

    /// Marks the candidate as a two-factor user.
    pub fn with_two_factor(mut self, two_factor: bool) -> Self {
        self.two_factor = two_factor;
        self
    }
}

/// Something that can tell whether a password is a user's current one.
pub trait PasswordVerifier: Send + Sync {
    /// Which kind this is; the chain picks verifiers by kind.
    fn kind(&self) -> VerifierKind;

    /// A name for logs.
    fn name(&self) -> &str {
        self.kind().as_str()
    }

    /// Whether a `Rejected` from this verifier ends the chain. The SMB probe is not definitive:
    /// a user with SMB access off is rejected whatever the password.
    fn definitive(&self) -> bool {
        self.kind() != VerifierKind::SmbProbe
    }

    /// Checks `password` for `candidate`. Must not log or keep the password.
    fn verify<'a>(
        &'a self,
        candidate: &'a Candidate,
        password: &'a SecretString,
    ) -> BoxFuture<'a, Verdict>;
}

/// Which verifiers run, in which order. Deserialises from a list of kinds, checked like
/// [`ChainConfig::new`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<VerifierKind>", into = "Vec<VerifierKind>")]
pub struct ChainConfig {
    order: Vec<VerifierKind>,
}

impl ChainConfig {
    /// A chain of `order`; refuses an empty list and repeated kinds.
    pub fn new(order: impl IntoIterator<Item = VerifierKind>) -> Result<Self> {
        let order: Vec<_> = order.into_iter().collect();
        if order.is_empty() {
            return Err(Error::config(
                "verifier_chain",
                "at least one verifier is needed",
            ));
        }
        let mut seen = HashSet::new();
        if let Some(dup) = order.iter().find(|k| !seen.insert(**k)) {
            return Err(Error::config(
                "verifier_chain",
                format!("`{dup}` is listed twice"),
            ));
        }
        Ok(ChainConfig { order })
    }

    /// The design's default chain: the login verifier first when its answers can be trusted
    /// (TrueNAS 26.x, or 25.x where users hold a privilege: `user_session` mode; on 25.x without
    /// one a right password gets AUTH_ERR too), then the SMB probe, then the crypt hash.
    pub fn recommended(login_is_reliable: bool) -> Self {
        let order = if login_is_reliable {
            VerifierKind::ALL.to_vec()
        } else {
            VerifierKind::ALL[1..].to_vec()
        };
        ChainConfig { order }
    }

    /// The configured order.
    pub fn order(&self) -> &[VerifierKind] {
        &self.order
    }
}

impl TryFrom<Vec<VerifierKind>> for ChainConfig {
    type Error = Error;

    fn try_from(order: Vec<VerifierKind>) -> Result<Self> {
        ChainConfig::new(order)
    }
}

impl From<ChainConfig> for Vec<VerifierKind> {
    fn from(config: ChainConfig) -> Self {
        config.order
    }
}

/// One verifier's step in a run, for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// The verifier that ran.
    pub kind: VerifierKind,
    /// What it said.
    pub verdict: Verdict,
}

/// How a chain run ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The password is right; `by` proved it.
    Accepted {
        /// The verifier that accepted.
        by: VerifierKind,
    },
    /// The password is wrong; `by` said so.
    Rejected {
        /// The verifier whose rejection stands.
        by: VerifierKind,
    },
    /// No verifier could decide.
    Unavailable,
}

/// The result of a chain run: the outcome and every step taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainRun {
    /// How it ended.
    pub outcome: Outcome,
    /// The verifiers that ran, in order, with their verdicts.
    pub steps: Vec<Step>,
}

impl ChainRun {
    /// The verifier that decided, if any.
    pub fn decided_by(&self) -> Option<VerifierKind> {
        match self.outcome {
            Outcome::Accepted { by } | Outcome::Rejected { by } => Some(by),
            Outcome::Unavailable => None,
        }
    }
}

/// The configured chain with its verifiers.
pub struct Chain {
    order: Vec<Arc<dyn PasswordVerifier>>,
    user_login: Option<Arc<dyn PasswordVerifier>>,
}

impl fmt::Debug for Chain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Chain")
            .field(
                "order",
                &self.order.iter().map(|v| v.kind()).collect::<Vec<_>>(),
            )
            .field("user_login", &self.user_login.is_some())
            .finish()
    }
}

impl Chain {
    /// Builds the chain `config` names from `verifiers` (one per kind). A kind in the config with
    /// no verifier is a configuration error; extra verifiers are kept only for two-factor users
    /// (the login verifier runs for them whatever the configured order).
    pub fn new(config: &ChainConfig, verifiers: Vec<Arc<dyn PasswordVerifier>>) -> Result<Self> {
        let find = |kind| verifiers.iter().find(|v| v.kind() == kind).cloned();
        let order = config
            .order()
            .iter()
            .map(|&kind| {
                find(kind).ok_or_else(|| {
                    Error::config(
                        "verifier_chain",
                        format!("no `{kind}` verifier is available"),
                    )
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Chain {
            order,
            user_login: find(VerifierKind::UserLogin),
        })
    }

    /// Runs the chain for `candidate`. For a two-factor user only the login verifier runs; with
    /// none available the outcome is `Unavailable`, and the core refuses with a hint.
    pub async fn verify(&self, candidate: &Candidate, password: &SecretString) -> ChainRun {
        let two_factor_only;
        let verifiers: &[Arc<dyn PasswordVerifier>] = if candidate.two_factor {
            two_factor_only = self.user_login.iter().cloned().collect::<Vec<_>>();
            &two_factor_only
        } else {
            &self.order
        };
        let mut steps = Vec::with_capacity(verifiers.len());
        // A non-definitive rejection stands only if nobody after it decides.
        let mut soft_reject = None;
        for verifier in verifiers {
            let kind = verifier.kind();
            let verdict = verifier.verify(candidate, password).await;
            tracing::debug!(verifier = verifier.name(), ?verdict, "verifier answered");
            steps.push(Step {
                kind,
                verdict: verdict.clone(),
            });
            match verdict {
                Verdict::Accepted => {
                    return ChainRun {
                        outcome: Outcome::Accepted { by: kind },
                        steps,
                    };
                }
                Verdict::Rejected if verifier.definitive() => {
                    return ChainRun {
                        outcome: Outcome::Rejected { by: kind },
                        steps,
                    };
                }
                Verdict::Rejected => soft_reject = soft_reject.or(Some(kind)),
                Verdict::Unavailable(_) => {}
            }
        }
        let outcome = match soft_reject {
            Some(by) => Outcome::Rejected { by },
            None => Outcome::Unavailable,
        };
        ChainRun { outcome, steps }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Fixed {
        kind: VerifierKind,
        verdict: Verdict,
        calls: AtomicUsize,
    }

    impl PasswordVerifier for Fixed {
        fn kind(&self) -> VerifierKind {
            self.kind
        }
        fn verify<'a>(&'a self, _: &'a Candidate, _: &'a SecretString) -> BoxFuture<'a, Verdict> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            Box::pin(async move { self.verdict.clone() })
        }
    }

    fn v(verdict: char) -> Verdict {
        match verdict {
            'A' => Verdict::Accepted,
            'R' => Verdict::Rejected,
            _ => Verdict::Unavailable("down".into()),
        }
    }

    /// The semantics written as a specification, independent of the runner's loop: the first
    /// verifier that accepts, or rejects definitively, decides; otherwise the first soft
    /// rejection stands; otherwise nobody could decide.
    fn oracle(plan: &[(VerifierKind, char)]) -> (Outcome, usize) {
        let decisive = plan
            .iter()
            .position(|&(k, c)| c == 'A' || (c == 'R' && k != VerifierKind::SmbProbe));
        if let Some(i) = decisive {
            let (by, c) = plan[i];
            let outcome = if c == 'A' {
                Outcome::Accepted { by }
            } else {
                Outcome::Rejected { by }
            };
            return (outcome, i + 1);
        }
        match plan.iter().find(|&&(_, c)| c == 'R') {
            Some(&(by, _)) => (Outcome::Rejected { by }, plan.len()),
            None => (Outcome::Unavailable, plan.len()),
        }
    }

    fn orders() -> Vec<Vec<VerifierKind>> {
        use VerifierKind::*;
        let mut out = Vec::new();
        for &a in &[UserLogin, SmbProbe, CryptHash] {
            out.push(vec![a]);
            for &b in &[UserLogin, SmbProbe, CryptHash] {
                if b == a {
                    continue;
                }
                out.push(vec![a, b]);
                for &c in &[UserLogin, SmbProbe, CryptHash] {
                    if c != a && c != b {
                        out.push(vec![a, b, c]);
                    }
                }
            }
        }
        out
    }

    fn run(order: &[VerifierKind], verdicts: &[char]) -> (ChainRun, Vec<Arc<Fixed>>) {
        let fixed: Vec<Arc<Fixed>> = order
            .iter()
            .zip(verdicts)
            .map(|(&kind, &c)| {
                Arc::new(Fixed {
                    kind,
                    verdict: v(c),
                    calls: AtomicUsize::new(0),
                })
            })
            .collect();
        let dyns = fixed
            .iter()
            .map(|f| f.clone() as Arc<dyn PasswordVerifier>)
            .collect();
        let chain = Chain::new(&ChainConfig::new(order.iter().copied()).unwrap(), dyns).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let password = SecretString::from("pw");
        let result = rt.block_on(chain.verify(&Candidate::new("alice"), &password));
        (result, fixed)
    }

    #[test]
    fn every_order_and_every_verdict_combination() {
        let mut cases = 0;
        for order in orders() {
            let n = order.len();
            for code in 0..3usize.pow(n as u32) {
                let verdicts: Vec<char> = (0..n)
                    .map(|i| ['A', 'R', 'U'][code / 3usize.pow(i as u32) % 3])
                    .collect();
                let plan: Vec<_> = order
                    .iter()
                    .copied()
                    .zip(verdicts.iter().copied())
                    .collect();
                let (expected, ran) = oracle(&plan);
                let (result, fixed) = run(&order, &verdicts);
                assert_eq!(result.outcome, expected, "{plan:?}");
                assert_eq!(result.steps.len(), ran, "{plan:?}");
                for (i, f) in fixed.iter().enumerate() {
                    // Verifiers after the deciding one never run (a login costs PAM budget).
                    assert_eq!(
                        f.calls.load(Ordering::SeqCst),
                        usize::from(i < ran),
                        "{plan:?}"
                    );
                }
                cases += 1;
            }
        }
        // 3 single, 6 pairs, 6 triples: 3·3 + 6·9 + 6·27.
        assert_eq!(cases, 9 + 54 + 162);
    }

    #[test]
    fn the_design_rows() {
        use Outcome::*;
        use VerifierKind::*;
        let default = [UserLogin, SmbProbe, CryptHash];
        let table: &[(&[char], Outcome)] = &[
            (&['A', 'R', 'R'], Accepted { by: UserLogin }),
            (&['R', 'A', 'A'], Rejected { by: UserLogin }),
            (&['U', 'A', 'R'], Accepted { by: SmbProbe }),
            // SMB rejection falls through to the hash check.
            (&['U', 'R', 'A'], Accepted { by: CryptHash }),
            (&['U', 'R', 'R'], Rejected { by: CryptHash }),
            // Nobody after SMB could decide: its rejection stands.
            (&['U', 'R', 'U'], Rejected { by: SmbProbe }),
            (&['U', 'U', 'U'], Unavailable),
        ];
        for (verdicts, expected) in table {
            assert_eq!(&run(&default, verdicts).0.outcome, expected, "{verdicts:?}");
        }
    }

    #[test]
    fn two_factor_users_only_meet_the_login_verifier() {
        use VerifierKind::*;
        let make = |kind, c| {
            Arc::new(Fixed {
                kind,
                verdict: v(c),
                calls: AtomicUsize::new(0),
            })
        };
        let login = make(UserLogin, 'A');
        let hash = make(CryptHash, 'A');
        // Even when the configured chain leaves the login verifier out (25.x, hash mode).
        let config = ChainConfig::new([CryptHash]).unwrap();
        let chain = Chain::new(&config, vec![login.clone(), hash.clone()]).unwrap();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let password = SecretString::from("pw");
        let run =
            rt.block_on(chain.verify(&Candidate::new("frank").with_two_factor(true), &password));
        assert_eq!(run.outcome, Outcome::Accepted { by: UserLogin });
        assert_eq!(hash.calls.load(Ordering::SeqCst), 0);

        let chain = Chain::new(&config, vec![hash.clone()]).unwrap();
        let run =
            rt.block_on(chain.verify(&Candidate::new("frank").with_two_factor(true), &password));
        assert_eq!(run.outcome, Outcome::Unavailable);
        assert_eq!(hash.calls.load(Ordering::SeqCst), 0);
    }

    /// A verifier over a fixed user table, to run the conformance suite itself.
    #[cfg(feature = "testing")]
    struct Table;

    #[cfg(feature = "testing")]
    impl PasswordVerifier for Table {
        fn kind(&self) -> VerifierKind {
            VerifierKind::CryptHash
        }
        fn verify<'a>(&'a self, c: &'a Candidate, p: &'a SecretString) -> BoxFuture<'a, Verdict> {
            use secrecy::ExposeSecret;
            let ok = c.username == "alice" && p.expose_secret() == "right";
            Box::pin(async move {
                if ok {
                    Verdict::Accepted
                } else {
                    Verdict::Rejected
                }
            })
        }
    }

    #[cfg(feature = "testing")]
    #[tokio::test]
    async fn conformance_suite_accepts_a_correct_verifier() {
        let (right, wrong) = (SecretString::from("right"), SecretString::from("wrong"));
        conformance::right_wrong_empty(&Table, &Candidate::new("alice"), &right, &wrong).await;
        conformance::unknown_user(&Table, &Candidate::new("nobody"), &right).await;
        conformance::definitive_matches_kind(&Table);
    }

    #[test]
    fn config_from_settings() {
        use VerifierKind::*;
        let config: ChainConfig = serde_json::from_str(r#"["smb_probe","crypt_hash"]"#).unwrap();
        assert_eq!(config.order(), [SmbProbe, CryptHash]);
        assert_eq!(
            serde_json::to_string(&config).unwrap(),
            r#"["smb_probe","crypt_hash"]"#
        );
        assert!(serde_json::from_str::<ChainConfig>("[]").is_err());
        assert!(serde_json::from_str::<ChainConfig>(r#"["smb_probe","smb_probe"]"#).is_err());
        assert_eq!(
            ChainConfig::recommended(true).order(),
            [UserLogin, SmbProbe, CryptHash]
        );
        assert_eq!(
            ChainConfig::recommended(false).order(),
            [SmbProbe, CryptHash]
        );
    }

    #[test]
    fn bad_configs_are_refused() {
        use VerifierKind::*;
        assert!(ChainConfig::new([]).is_err());
        assert!(ChainConfig::new([CryptHash, CryptHash]).is_err());
        let config = ChainConfig::new([SmbProbe]).unwrap();
        assert!(matches!(
            Chain::new(&config, vec![]),
            Err(Error::Config { .. })
        ));
    }
}

/// One acceptance suite every [`PasswordVerifier`] must pass, for the crates that implement them
/// (feature `testing`). Each function panics with a message naming the verifier on failure.
#[cfg(feature = "testing")]
pub mod conformance {
    use super::*;

    /// The right password is accepted, a wrong one is not, and an empty one is never accepted.
    pub async fn right_wrong_empty(
        verifier: &dyn PasswordVerifier,
        candidate: &Candidate,
        right: &SecretString,
        wrong: &SecretString,
    ) {
        let name = verifier.name();
        assert_eq!(
            verifier.verify(candidate, right).await,
            Verdict::Accepted,
            "{name}: right password"
        );
        let verdict = verifier.verify(candidate, wrong).await;
        assert_ne!(
            verdict,
            Verdict::Accepted,
            "{name}: wrong password accepted"
        );
        let empty = SecretString::from("");
        assert_ne!(
            verifier.verify(candidate, &empty).await,
            Verdict::Accepted,
            "{name}: empty password accepted"
        );
    }

    /// A user that does not exist is never accepted, whatever the password.
    pub async fn unknown_user(
        verifier: &dyn PasswordVerifier,
        nobody: &Candidate,
        password: &SecretString,
    ) {
        let verdict = verifier.verify(nobody, password).await;
        assert_ne!(
            verdict,
            Verdict::Accepted,
            "{}: unknown user accepted",
            verifier.name()
        );
    }

    /// Only the SMB probe may be non-definitive: a rejection from anything else ends the chain.
    pub fn definitive_matches_kind(verifier: &dyn PasswordVerifier) {
        assert_eq!(
            verifier.definitive(),
            verifier.kind() != VerifierKind::SmbProbe,
            "{}: definitive() disagrees with the design",
            verifier.name()
        );
    }
}
