//! Constants of the demo data set, so tests elsewhere do not repeat literals.
//!
//! See the crate documentation for the full table.

/// Password of `alice` (uid 3000, SMB on, no privilege).
pub const ALICE_PASSWORD: &str = "alice-demo-pass";
/// Password of `bob` (uid 3001, SMB off, no privilege).
pub const BOB_PASSWORD: &str = "bob-demo-pass";
/// Password of `carol` (locked).
pub const CAROL_PASSWORD: &str = "carol-demo-pass";
/// Password of `dave` (password disabled).
pub const DAVE_PASSWORD: &str = "dave-demo-pass";
/// Password of `erin` (password hard-expired).
pub const ERIN_PASSWORD: &str = "erin-demo-pass";
/// Password of `frank` (2FA on).
pub const FRANK_PASSWORD: &str = "frank-demo-pass";
/// Password of `grace` (privilege with an empty role list).
pub const GRACE_PASSWORD: &str = "grace-demo-pass";
/// Password of `truenas_admin` (FULL_ADMIN).
pub const ADMIN_PASSWORD: &str = "admin-demo-pass";
/// Password of every user made by `seed_users` (`user0001`…).
pub const SEED_PASSWORD: &str = "seed-demo-pass";

/// Username of the administrator.
pub const ADMIN_USER: &str = "truenas_admin";
/// Username of the service account that owns [`SERVICE_API_KEY`].
pub const SERVICE_USER: &str = "passwd-service";
/// The service account's API key (`<id>-<key>`), roles ACCOUNT_READ + ACCOUNT_WRITE.
pub const SERVICE_API_KEY: &str = "1-selfpass-demo-service-key";
/// frank's TOTP secret (base32, RFC 6238, 30 s, 6 digits, SHA-1).
pub const FRANK_TOTP_SECRET: &str = "JBSWY3DPEHPK3PXP";

/// uid of alice.
pub const ALICE_UID: i64 = 3000;
/// uid of bob.
pub const BOB_UID: i64 = 3001;

/// Name of the group whose privilege has an empty role list (grace and frank are members).
pub const USER_SESSION_GROUP: &str = "selfpass-users";

/// Every demo user with a password, as `(username, password)`.
pub const USERS: &[(&str, &str)] = &[
    ("alice", ALICE_PASSWORD),
    ("bob", BOB_PASSWORD),
    ("carol", CAROL_PASSWORD),
    ("dave", DAVE_PASSWORD),
    ("erin", ERIN_PASSWORD),
    ("frank", FRANK_PASSWORD),
    ("grace", GRACE_PASSWORD),
    (ADMIN_USER, ADMIN_PASSWORD),
];
