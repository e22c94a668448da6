/// Why a hash could not be checked or made. None of these carries the password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The account is locked: the shadow entry starts with `!` (`usermod -L`, `!`, `!!`).
    #[error("the account is locked (its hash starts with '!')")]
    Locked,
    /// Password login is disabled for the account: the shadow entry is `*` (or starts with it).
    #[error("password login is disabled for the account (its hash is '*')")]
    Disabled,
    /// A `$id$` hash of a scheme this crate does not handle (the id, e.g. `"7"`, or `"des"`).
    #[error("unsupported hash scheme '{0}': supported are $6$, $5$, $1$, $y$ and $2b$/$2a$/$2y$")]
    Unsupported(String),
    /// The hash is not exactly well formed; the text says what is wrong with it.
    #[error("malformed hash: {0}")]
    Malformed(&'static str),
    /// The hash asks for more work than this crate will spend on one check (a denial-of-service
    /// guard: real hashes are far below the ceilings, listed in the crate documentation).
    #[error("the hash's cost is above what one check may spend ({0})")]
    CostTooHigh(&'static str),
    /// The password is longer than the scheme can take without truncating it (bcrypt: 72 bytes).
    #[error("the password is longer than {max} bytes, which this scheme would silently truncate")]
    PasswordTooLong {
        /// The scheme's limit in bytes.
        max: usize,
    },
    /// crypt(3) passwords are C strings: a NUL byte would silently cut the password short.
    #[error("the password contains a NUL byte, which crypt(3) cannot represent")]
    PasswordContainsNul,
    /// The operating system's random source failed while making a salt.
    #[error("the OS random source failed: {0}")]
    Random(String),
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
