//! NTSTATUS codes a session setup can end with, and what each means for a probe.

use crate::{ProbeOutcome, RejectReason};

/// STATUS_SUCCESS.
pub(crate) const SUCCESS: u32 = 0x0000_0000;
/// STATUS_MORE_PROCESSING_REQUIRED (an intermediate NTLM step).
pub(crate) const MORE_PROCESSING_REQUIRED: u32 = 0xC000_0016;
/// STATUS_ACCESS_DENIED (also what an encryption-requiring Samba answers a guest mapping with).
pub(crate) const ACCESS_DENIED: u32 = 0xC000_0022;
/// STATUS_NO_SUCH_USER.
pub(crate) const NO_SUCH_USER: u32 = 0xC000_0064;
/// STATUS_WRONG_PASSWORD.
pub(crate) const WRONG_PASSWORD: u32 = 0xC000_006A;
/// STATUS_LOGON_FAILURE (wrong password and unknown user alike).
pub(crate) const LOGON_FAILURE: u32 = 0xC000_006D;
/// STATUS_ACCOUNT_RESTRICTION.
pub(crate) const ACCOUNT_RESTRICTION: u32 = 0xC000_006E;
/// STATUS_INVALID_LOGON_HOURS.
pub(crate) const INVALID_LOGON_HOURS: u32 = 0xC000_006F;
/// STATUS_INVALID_WORKSTATION.
pub(crate) const INVALID_WORKSTATION: u32 = 0xC000_0070;
/// STATUS_PASSWORD_EXPIRED (checked after the password: proves it).
pub(crate) const PASSWORD_EXPIRED: u32 = 0xC000_0071;
/// STATUS_ACCOUNT_DISABLED.
pub(crate) const ACCOUNT_DISABLED: u32 = 0xC000_0072;
/// STATUS_LOGON_TYPE_NOT_GRANTED.
pub(crate) const LOGON_TYPE_NOT_GRANTED: u32 = 0xC000_015B;
/// STATUS_ACCOUNT_EXPIRED (the account, not the password).
pub(crate) const ACCOUNT_EXPIRED: u32 = 0xC000_0193;
/// STATUS_PASSWORD_MUST_CHANGE (checked after the password: proves it).
pub(crate) const PASSWORD_MUST_CHANGE: u32 = 0xC000_0224;
/// STATUS_ACCOUNT_LOCKED_OUT.
pub(crate) const ACCOUNT_LOCKED_OUT: u32 = 0xC000_0234;

/// The outcome a final session-setup NTSTATUS decides, or `None` when it decides nothing
/// (success is decided by the session flags, and unknown codes are errors).
pub(crate) fn outcome(status: u32) -> Option<ProbeOutcome> {
    use RejectReason as R;
    let reason = match status {
        LOGON_FAILURE | WRONG_PASSWORD | NO_SUCH_USER => R::LogonFailure,
        ACCOUNT_DISABLED => R::AccountDisabled,
        ACCOUNT_LOCKED_OUT => R::LockedOut,
        ACCOUNT_EXPIRED => R::Expired,
        ACCESS_DENIED | LOGON_TYPE_NOT_GRANTED => R::AccessDenied,
        ACCOUNT_RESTRICTION | INVALID_LOGON_HOURS | INVALID_WORKSTATION => R::AccountRestriction,
        PASSWORD_MUST_CHANGE | PASSWORD_EXPIRED => return Some(ProbeOutcome::PasswordMustChange),
        _ => return None,
    };
    Some(ProbeOutcome::Rejected(reason))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Codes from MS-ERREF 2.3.1; meanings as in the trial against Samba 4.17 (issue 6).
    #[test]
    fn table() {
        use ProbeOutcome::*;
        use RejectReason as R;
        let cases: &[(u32, Option<ProbeOutcome>)] = &[
            (0xC000_006D, Some(Rejected(R::LogonFailure))),
            (0xC000_006A, Some(Rejected(R::LogonFailure))),
            (0xC000_0064, Some(Rejected(R::LogonFailure))),
            (0xC000_0072, Some(Rejected(R::AccountDisabled))),
            (0xC000_0234, Some(Rejected(R::LockedOut))),
            (0xC000_0193, Some(Rejected(R::Expired))),
            (0xC000_0022, Some(Rejected(R::AccessDenied))),
            (0xC000_015B, Some(Rejected(R::AccessDenied))),
            (0xC000_006E, Some(Rejected(R::AccountRestriction))),
            (0xC000_006F, Some(Rejected(R::AccountRestriction))),
            (0xC000_0070, Some(Rejected(R::AccountRestriction))),
            (0xC000_0224, Some(PasswordMustChange)),
            (0xC000_0071, Some(PasswordMustChange)),
            (SUCCESS, None),
            (MORE_PROCESSING_REQUIRED, None),
            (0xC000_000D, None),
        ];
        for &(status, expected) in cases {
            assert_eq!(outcome(status), expected, "{status:#010x}");
        }
    }
}
