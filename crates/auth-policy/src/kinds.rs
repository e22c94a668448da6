//! The user-facing error kinds, published once for the portal and the CLI.
//!
//! A person sees a kind's [`sentence`](UserFacing::sentence) and [`hint`](UserFacing::hint),
//! never an internal error. Before a password is proven, a wrong password, an unknown name, a
//! protected account and a banned name all map to [`UserFacing::WrongCredentials`], so the
//! answers cannot tell them apart. `docs/error-kinds.md` holds the same table; a unit test fails
//! when the two disagree (run it with `UPDATE_DOCS=1` to rewrite the table).

use serde::Serialize;

use crate::eligibility::{Eligibility, Refusal};
use crate::throttle::Ban;

/// What a person is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(into = "&'static str")]
#[non_exhaustive]
pub enum UserFacing {
    /// Wrong name or password (also: unknown name, protected account, banned name).
    WrongCredentials,
    /// Too many attempts from this address.
    TooManyAttempts,
    /// The account is locked.
    AccountLocked,
    /// The account cannot sign in with a password.
    AccountDisabled,
    /// The password has expired and must be changed (said after it is proven).
    PasswordExpired,
    /// This account may not change its password here.
    NotAllowed,
    /// A directory-service account.
    DirectoryUser,
    /// TrueNAS cannot be reached.
    ServerUnreachable,
    /// TrueNAS is rate-limiting or busy.
    ServerBusy,
    /// The new password breaks rules (the reasons come with it).
    PasswordRules,
    /// A two-factor code is needed.
    SecondFactorRequired,
    /// The two-factor code is wrong or expired.
    SecondFactorWrong,
    /// No such user (admin commands only; sign-in never says this).
    UserNotFound,
    /// Something failed on our side.
    Internal,
}

impl From<UserFacing> for &'static str {
    fn from(kind: UserFacing) -> Self {
        kind.key()
    }
}

impl UserFacing {
    /// Every kind, in the documented order.
    pub const ALL: [UserFacing; 14] = [
        UserFacing::WrongCredentials,
        UserFacing::TooManyAttempts,
        UserFacing::AccountLocked,
        UserFacing::AccountDisabled,
        UserFacing::PasswordExpired,
        UserFacing::NotAllowed,
        UserFacing::DirectoryUser,
        UserFacing::ServerUnreachable,
        UserFacing::ServerBusy,
        UserFacing::PasswordRules,
        UserFacing::SecondFactorRequired,
        UserFacing::SecondFactorWrong,
        UserFacing::UserNotFound,
        UserFacing::Internal,
    ];

    /// The stable key (used in URLs, JSON and logs; never changes once published).
    pub fn key(self) -> &'static str {
        self.row().0
    }

    /// The sentence a person reads.
    pub fn sentence(self) -> &'static str {
        self.row().1
    }

    /// What they can do about it.
    pub fn hint(self) -> &'static str {
        self.row().2
    }

    /// The HTTP status the portal answers with.
    pub fn http_status(self) -> u16 {
        self.row().3
    }

    /// The CLI's exit code: 0 ok, 1 partial or internal, 2 usage, 3 cannot connect or
    /// authenticate, 4 user not found or not allowed.
    pub fn exit_code(self) -> u8 {
        self.row().4
    }

    fn row(self) -> (&'static str, &'static str, &'static str, u16, u8) {
        match self {
            UserFacing::WrongCredentials => (
                "wrong-credentials",
                "Wrong name or password.",
                "Check the name and the password, including Caps Lock, and try again.",
                401,
                3,
            ),
            UserFacing::TooManyAttempts => (
                "too-many-attempts",
                "Too many attempts from your address.",
                "Wait a few minutes before trying again.",
                429,
                3,
            ),
            UserFacing::AccountLocked => (
                "account-locked",
                "Your account is locked.",
                "Ask your administrator to unlock it.",
                403,
                4,
            ),
            UserFacing::AccountDisabled => (
                "account-disabled",
                "Your account cannot sign in with a password.",
                "Ask your administrator to enable password sign-in.",
                403,
                4,
            ),
            UserFacing::PasswordExpired => (
                "password-expired",
                "Your password has expired.",
                "Choose a new password now.",
                403,
                3,
            ),
            UserFacing::NotAllowed => (
                "not-allowed",
                "This account cannot change its password here.",
                "Ask your administrator to change it.",
                403,
                4,
            ),
            UserFacing::DirectoryUser => (
                "directory-user",
                "This account belongs to your organisation's directory.",
                "Change the password with the directory's own tool (for example Ctrl+Alt+Del on a domain PC).",
                409,
                4,
            ),
            UserFacing::ServerUnreachable => (
                "server-unreachable",
                "The storage server cannot be reached.",
                "Try again later; if it persists, tell your administrator.",
                502,
                3,
            ),
            UserFacing::ServerBusy => (
                "server-busy",
                "The storage server is busy.",
                "Wait a minute and try again.",
                503,
                3,
            ),
            UserFacing::PasswordRules => (
                "password-rules",
                "The new password does not meet the rules.",
                "Fix every point listed and try again.",
                422,
                2,
            ),
            UserFacing::SecondFactorRequired => (
                "second-factor-required",
                "Enter the code from your authenticator app.",
                "Open your authenticator app and type the current six-digit code.",
                401,
                3,
            ),
            UserFacing::SecondFactorWrong => (
                "second-factor-wrong",
                "That code is wrong or has expired.",
                "Type the code currently shown in your authenticator app.",
                401,
                3,
            ),
            UserFacing::UserNotFound => (
                "user-not-found",
                "No such user.",
                "Check the user name with `selfpass users`.",
                404,
                4,
            ),
            UserFacing::Internal => (
                "internal",
                "Something went wrong on our side.",
                "Try again later; if it persists, tell your administrator.",
                500,
                1,
            ),
        }
    }

    /// The kind for a ban met before the password is proven: an address ban may be said; a name
    /// ban must read exactly like a wrong password.
    pub fn for_ban(ban: &Ban) -> UserFacing {
        match ban {
            Ban::Address { .. } => UserFacing::TooManyAttempts,
            Ban::Name { .. } => UserFacing::WrongCredentials,
        }
    }

    /// The kind for a sign-in refused before the password is proven.
    pub fn for_unproven(refusal: UnprovenRefusal) -> UserFacing {
        match refusal {
            UnprovenRefusal::WrongPassword
            | UnprovenRefusal::UnknownUser
            | UnprovenRefusal::ProtectedUser
            | UnprovenRefusal::NameBanned => UserFacing::WrongCredentials,
            UnprovenRefusal::AddressBanned => UserFacing::TooManyAttempts,
        }
    }

    /// The kind for an eligibility answer after the password is proven (`None`: allowed).
    pub fn for_eligibility(answer: Eligibility) -> Option<UserFacing> {
        match answer {
            Eligibility::Allowed => None,
            Eligibility::DirectoryUser => Some(UserFacing::DirectoryUser),
            Eligibility::Refused(
                Refusal::Root
                | Refusal::Builtin
                | Refusal::Immutable
                | Refusal::ServiceAccount
                | Refusal::Administrator
                | Refusal::FullAdmin
                | Refusal::NotAllowListed,
            ) => Some(UserFacing::NotAllowed),
        }
    }

    /// The Markdown table of every kind, as `docs/error-kinds.md` holds it.
    pub fn markdown_table() -> String {
        let mut out =
            String::from("| key | sentence | hint | HTTP | exit |\n|---|---|---|---|---|\n");
        for kind in Self::ALL {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} | {} |\n",
                kind.key(),
                kind.sentence(),
                kind.hint().replace('|', "\\|"),
                kind.http_status(),
                kind.exit_code()
            ));
        }
        out
    }
}

impl std::fmt::Display for UserFacing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.sentence())
    }
}

/// Why a sign-in is refused before the password is proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnprovenRefusal {
    /// The password is wrong.
    WrongPassword,
    /// The name resolves to nobody.
    UnknownUser,
    /// root, an admin, a builtin account…: refused without saying so.
    ProtectedUser,
    /// The name is banned (from this address or everywhere).
    NameBanned,
    /// The client address is banned.
    AddressBanned,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::throttle::NameBanScope;
    use std::collections::HashSet;
    use std::time::Duration;

    const BEGIN: &str = "<!-- BEGIN GENERATED TABLE (auth_policy::kinds) -->\n";
    const END: &str = "<!-- END GENERATED TABLE -->";

    #[test]
    fn doc_table_matches_the_enum() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/error-kinds.md");
        let doc = std::fs::read_to_string(&path).unwrap_or_default();
        let table = UserFacing::markdown_table();
        let (Some(start), Some(end)) = (doc.find(BEGIN), doc.find(END)) else {
            panic!("{} lacks the generated-table markers", path.display());
        };
        let current = &doc[start + BEGIN.len()..end];
        if current != table {
            if std::env::var_os("UPDATE_DOCS").is_some() {
                let updated = format!("{}{table}{}", &doc[..start + BEGIN.len()], &doc[end..]);
                std::fs::write(&path, updated).unwrap();
            } else {
                panic!(
                    "docs/error-kinds.md disagrees with UserFacing; rerun with UPDATE_DOCS=1\n{table}"
                );
            }
        }
    }

    #[test]
    fn keys_are_unique_and_exit_codes_in_range() {
        let keys: HashSet<_> = UserFacing::ALL.iter().map(|k| k.key()).collect();
        assert_eq!(keys.len(), UserFacing::ALL.len());
        for kind in UserFacing::ALL {
            assert!((1..=4).contains(&kind.exit_code()), "{kind:?}");
            assert!((400..600).contains(&kind.http_status()), "{kind:?}");
            assert_eq!(serde_json::to_value(kind).unwrap(), kind.key());
        }
    }

    #[test]
    fn unproven_refusals_are_indistinguishable() {
        let kinds: HashSet<_> = [
            UserFacing::for_unproven(UnprovenRefusal::WrongPassword),
            UserFacing::for_unproven(UnprovenRefusal::UnknownUser),
            UserFacing::for_unproven(UnprovenRefusal::ProtectedUser),
            UserFacing::for_unproven(UnprovenRefusal::NameBanned),
            UserFacing::for_ban(&Ban::Name {
                remaining: Duration::from_secs(60),
                scope: NameBanScope::Everywhere,
            }),
            UserFacing::for_ban(&Ban::Name {
                remaining: Duration::from_secs(9),
                scope: NameBanScope::FromThisAddress,
            }),
        ]
        .into();
        assert_eq!(kinds, [UserFacing::WrongCredentials].into());
        assert_eq!(
            UserFacing::for_ban(&Ban::Address {
                remaining: Duration::ZERO
            }),
            UserFacing::TooManyAttempts
        );
    }

    #[test]
    fn eligibility_answers() {
        assert_eq!(UserFacing::for_eligibility(Eligibility::Allowed), None);
        assert_eq!(
            UserFacing::for_eligibility(Eligibility::DirectoryUser),
            Some(UserFacing::DirectoryUser)
        );
        assert_eq!(
            UserFacing::for_eligibility(Eligibility::Refused(Refusal::Root)),
            Some(UserFacing::NotAllowed)
        );
    }
}
