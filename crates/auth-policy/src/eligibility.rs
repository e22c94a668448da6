//! Who may change their own password here.
//!
//! Never root, builtin or immutable accounts, the service account, members of
//! `builtin_administrators` or anyone holding FULL_ADMIN: a self-service portal must not be a
//! second way into an admin account. Directory-service users (Active Directory, LDAP, IPA) are
//! told to use their directory's own tool, since the middleware cannot change them.

use std::ops::RangeInclusive;

use serde::Serialize;

/// The facts about a user the core reads from `user.query`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserFacts {
    /// The exact user name.
    pub username: String,
    /// The numeric uid.
    pub uid: u32,
    /// `local`: false for directory-service users.
    pub local: bool,
    /// `builtin`.
    pub builtin: bool,
    /// `immutable`.
    pub immutable: bool,
    /// Names of the user's groups (primary and auxiliary).
    pub groups: Vec<String>,
    /// The user's roles (`roles` from `user.query`).
    pub roles: Vec<String>,
}

/// Who, beyond the fixed refusals, may self-serve.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EligibilityConfig {
    /// The account the service API key belongs to: never changed through the portal.
    pub service_account: Option<String>,
    /// When non-empty, only members of one of these groups may self-serve…
    pub allow_groups: Vec<String>,
    /// …or users whose uid is in this range (either list admits).
    pub allow_uids: Option<RangeInclusive<u32>>,
}

/// Why a user may not self-serve. Said only after the password is proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// uid 0 or the name `root`.
    Root,
    /// A builtin account.
    Builtin,
    /// An immutable account.
    Immutable,
    /// The service API key's own account.
    ServiceAccount,
    /// A member of `builtin_administrators`.
    Administrator,
    /// Holds the FULL_ADMIN role.
    FullAdmin,
    /// Outside the configured allow-list.
    NotAllowListed,
}

/// The answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eligibility {
    /// May change their own password here.
    Allowed,
    /// May not, for this reason.
    Refused(Refusal),
    /// A directory-service user: change it with the directory's own tool.
    DirectoryUser,
}

/// The admin group whose members are never served.
pub const ADMIN_GROUP: &str = "builtin_administrators";
/// The role that is never served.
pub const FULL_ADMIN_ROLE: &str = "FULL_ADMIN";

/// Decides whether `user` may self-serve.
pub fn eligibility(user: &UserFacts, config: &EligibilityConfig) -> Eligibility {
    if let Some(refusal) = protected(user, config) {
        return Eligibility::Refused(refusal);
    }
    // After the protections: a directory admin is refused as an admin, not hinted at.
    if !user.local {
        return Eligibility::DirectoryUser;
    }
    let restricted = !config.allow_groups.is_empty() || config.allow_uids.is_some();
    if restricted {
        let by_group = user
            .groups
            .iter()
            .any(|g| config.allow_groups.iter().any(|a| a == g));
        let by_uid = config
            .allow_uids
            .as_ref()
            .is_some_and(|r| r.contains(&user.uid));
        if !by_group && !by_uid {
            return Eligibility::Refused(Refusal::NotAllowListed);
        }
    }
    Eligibility::Allowed
}

fn protected(user: &UserFacts, config: &EligibilityConfig) -> Option<Refusal> {
    if user.uid == 0 || user.username == "root" {
        Some(Refusal::Root)
    } else if user.builtin {
        Some(Refusal::Builtin)
    } else if user.immutable {
        Some(Refusal::Immutable)
    } else if config.service_account.as_deref() == Some(user.username.as_str()) {
        Some(Refusal::ServiceAccount)
    } else if user.groups.iter().any(|g| g == ADMIN_GROUP) {
        Some(Refusal::Administrator)
    } else if user.roles.iter().any(|r| r == FULL_ADMIN_ROLE) {
        Some(Refusal::FullAdmin)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> UserFacts {
        UserFacts {
            username: "alice".into(),
            uid: 3000,
            local: true,
            groups: vec!["alice".into(), "staff".into()],
            ..Default::default()
        }
    }

    #[test]
    fn ordinary_users_are_allowed() {
        assert_eq!(
            eligibility(&alice(), &EligibilityConfig::default()),
            Eligibility::Allowed
        );
    }

    #[test]
    fn protected_accounts_are_refused() {
        let config = EligibilityConfig {
            service_account: Some("svc".into()),
            ..Default::default()
        };
        let cases = [
            (UserFacts { uid: 0, ..alice() }, Refusal::Root),
            (
                UserFacts {
                    username: "root".into(),
                    ..alice()
                },
                Refusal::Root,
            ),
            (
                UserFacts {
                    builtin: true,
                    ..alice()
                },
                Refusal::Builtin,
            ),
            (
                UserFacts {
                    immutable: true,
                    ..alice()
                },
                Refusal::Immutable,
            ),
            (
                UserFacts {
                    username: "svc".into(),
                    ..alice()
                },
                Refusal::ServiceAccount,
            ),
            (
                UserFacts {
                    groups: vec![ADMIN_GROUP.into()],
                    ..alice()
                },
                Refusal::Administrator,
            ),
            (
                UserFacts {
                    roles: vec!["READONLY_ADMIN".into(), FULL_ADMIN_ROLE.into()],
                    ..alice()
                },
                Refusal::FullAdmin,
            ),
            // Protection wins over the directory answer.
            (
                UserFacts {
                    local: false,
                    groups: vec![ADMIN_GROUP.into()],
                    ..alice()
                },
                Refusal::Administrator,
            ),
        ];
        for (user, refusal) in cases {
            assert_eq!(
                eligibility(&user, &config),
                Eligibility::Refused(refusal),
                "{user:?}"
            );
        }
    }

    #[test]
    fn directory_users_get_their_own_answer() {
        let user = UserFacts {
            local: false,
            ..alice()
        };
        assert_eq!(
            eligibility(&user, &EligibilityConfig::default()),
            Eligibility::DirectoryUser
        );
    }

    #[test]
    fn allow_lists() {
        let by_group = EligibilityConfig {
            allow_groups: vec!["staff".into()],
            ..Default::default()
        };
        assert_eq!(eligibility(&alice(), &by_group), Eligibility::Allowed);
        let other = EligibilityConfig {
            allow_groups: vec!["students".into()],
            ..Default::default()
        };
        assert_eq!(
            eligibility(&alice(), &other),
            Eligibility::Refused(Refusal::NotAllowListed)
        );
        let by_uid = EligibilityConfig {
            allow_uids: Some(3000..=3999),
            ..other.clone()
        };
        assert_eq!(eligibility(&alice(), &by_uid), Eligibility::Allowed);
        let out_of_range = EligibilityConfig {
            allow_uids: Some(4000..=4999),
            ..Default::default()
        };
        assert_eq!(
            eligibility(&alice(), &out_of_range),
            Eligibility::Refused(Refusal::NotAllowListed)
        );
    }
}
