use std::io;

/// Why a test server could not be started or managed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// An I/O failure (spawning, temporary files, sockets).
    #[error("i/o: {0}")]
    Io(#[from] io::Error),
    /// A server did not become ready in time; `log` holds the tail of what it printed.
    #[error("{server} did not become ready within {seconds} s: {log}")]
    NotReady {
        /// Which server.
        server: &'static str,
        /// How long we waited.
        seconds: u64,
        /// The last lines it wrote.
        log: String,
    },
    /// A setup command (useradd, smbpasswd, …) failed.
    #[error("`{command}` failed: {output}")]
    Command {
        /// The command line, without secrets.
        command: String,
        /// What it printed.
        output: String,
    },
}

/// Result with this crate's error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
