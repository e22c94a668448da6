//! `selfpass-web`: the self-service password portal. See the library crate for the pieces.

fn main() -> std::process::ExitCode {
    selfpass_web::server::run(std::env::args_os())
}
