use selfpass_core::demo::{Demo, start_with};
use selfpass_core::{ClientInfo, Core, Failure, SecretString, Session, SignIn};
use truenas_sim::SimConfig;

pub struct Setup {
    pub demo: Demo,
    pub core: Core,
}

/// A simulator with the demo data set and a core pointed at it. The sign-in floor is short
/// here (timing has its own test with the real default).
pub async fn setup(sim: SimConfig, settings: &[(&str, &str)]) -> Setup {
    let mut all: Vec<(&str, &str)> = vec![("SELFPASS_SIGNIN_FLOOR_MS", "20")];
    all.extend_from_slice(settings);
    let demo = start_with(sim, &all).await.unwrap();
    let core = Core::connect(demo.config.clone()).await.unwrap();
    Setup { demo, core }
}

pub async fn demo() -> Setup {
    setup(SimConfig::demo(), &[]).await
}

pub fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

pub fn client() -> ClientInfo {
    ClientInfo::new("192.0.2.10".parse().unwrap())
}

pub async fn sign_in(core: &Core, name: &str, password: &str) -> Result<SignIn, Failure> {
    core.sign_in(name, secret(password), client()).await
}

pub async fn session(core: &Core, name: &str, password: &str) -> Session {
    match sign_in(core, name, password).await {
        Ok(SignIn::Done(session)) => session,
        other => panic!("{name} should sign in, got {other:?}"),
    }
}

pub fn key_of(result: &Result<SignIn, Failure>) -> &'static str {
    match result {
        Ok(SignIn::Done(_)) => "done",
        Ok(SignIn::SecondFactor(_)) => "second-factor",
        Err(f) => f.key(),
    }
}

/// The current TOTP code for the demo's frank (secret JBSWY3DPEHPK3PXP = "Hello!" + DEADBEEF).
pub fn frank_code() -> String {
    let totp = totp_rs::TOTP::new_unchecked(
        totp_rs::Algorithm::SHA1,
        6,
        1,
        30,
        b"Hello!\xde\xad\xbe\xef".to_vec(),
    );
    totp.generate_current().unwrap()
}

/// The stored crypt hash of `user` in the simulator verifies `password`.
pub fn sim_password_is(demo: &Demo, user: &str, password: &str) -> bool {
    let entry = demo.simulator().user(user).unwrap();
    let hash = entry["unixhash"].as_str().unwrap().trim_start_matches('!');
    unix_crypt::verify(password.as_bytes(), hash).unwrap_or(false)
}
