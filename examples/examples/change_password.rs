//! Sign in as a user and change the password, as the portal does, through `selfpass-core`
//! against an in-process simulated TrueNAS: `cargo run -p examples --example change_password`.

use selfpass_core::{ClientInfo, Core, SecretString, SignIn};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let demo = selfpass_core::demo::start().await?;
    let core = Core::connect(demo.config.clone()).await?;
    let client = ClientInfo::local();

    // A wrong password and an unknown name get the same answer.
    for (name, password) in [("alice", "not-her-password"), ("nobody", "whatever")] {
        let answer = core
            .sign_in(name, SecretString::from(password), client)
            .await;
        println!(
            "{name:>7} / wrong password: {}",
            answer.err().map_or("?".into(), |f| f.to_string())
        );
    }

    let SignIn::Done(session) = core
        .sign_in("alice", SecretString::from("alice-demo-pass"), client)
        .await?
    else {
        anyhow::bail!("alice has no second factor in the demo");
    };
    println!("signed in as {}; the rules:", session.username);
    for rule in core.rules(&session).await {
        println!("  - {}", rule.text);
    }

    // A weak password is refused with every reason at once.
    if let Err(refused) = core
        .change_own_password(
            &session,
            SecretString::from("alice-demo-pass"),
            SecretString::from("alice123"),
            None,
            client,
        )
        .await
    {
        println!("'alice123' refused: {refused}");
        for violation in refused.violations() {
            println!("  - {}", violation.message);
        }
    }

    let new = "tundra-velvet-cactus-ribbon";
    core.change_own_password(
        &session,
        SecretString::from("alice-demo-pass"),
        SecretString::from(new),
        None,
        client,
    )
    .await?;
    println!(
        "changed; signing in with the new password: {}",
        core.sign_in("alice", SecretString::from(new), client)
            .await
            .is_ok()
    );
    demo.shutdown().await;
    Ok(())
}
