//! `proxy-connection`: demo, send and receive over a direct WebRTC connection
//! negotiated with Jingle `<iq>`s. See `proxy-connection --help` and each mode's
//! `--help`; the exit codes are in [`cli::EXIT_CODES`](cli) and proxy-tokio/README.md.
#![forbid(unsafe_code)]

/// A line on stderr, tagged with the side (`send`, `receive`).
macro_rules! log {
    ($side:expr, $($arg:tt)*) => { eprintln!("[{}] {}", $side, format_args!($($arg)*)) };
}

mod cli;
mod codec_info;
mod demo;
mod ivf;
mod matroska;
mod peer;
mod receive;
mod record;
mod send;
mod xmpp;

use std::io::{Cursor, Write};
use std::path::Path;

use ivf::{IvfError, IvfFrame, IvfHeader, IvfReader};

use cli::{Command, Failure};

/// The clip shipped with the repository (see assets/README.md).
pub(crate) const BUILTIN_CLIP: &[u8] = include_bytes!("../../../../assets/clip.ivf");

/// When the program started (for the times it reports).
static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// When the program started.
pub(crate) fn started() -> std::time::Instant {
    *STARTED.get_or_init(std::time::Instant::now)
}

fn main() {
    started();
    let code = match cli::parse(std::env::args_os()) {
        Ok(command) => match run(command) {
            Ok(()) => 0,
            Err(Failure::Interrupted(signal)) => {
                eprintln!("proxy-connection: stopped by {}", signal.name());
                signal.exit_code()
            }
            Err(failure) => {
                eprintln!("proxy-connection: error: {failure}");
                failure.exit_code()
            }
        },
        // Help and version (exit 0) go to stdout, usage errors (exit 2) to stderr.
        Err(e) => {
            let _ = e.print();
            e.exit_code()
        }
    };
    let _ = std::io::stdout().flush();
    let _ = std::io::stderr().flush();
    // Exit without waiting for tokio's stdin thread, which cannot be cancelled.
    std::process::exit(code);
}

fn run(command: Command) -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::Other(format!("cannot start the async runtime: {e}")))?;
    let result = runtime.block_on(async move {
        match command {
            Command::Demo(args) => demo::run(args).await,
            Command::Send(args) => send::send(args).await,
            Command::Receive(args) => receive::receive(args).await,
        }
    });
    runtime.shutdown_background();
    result
}

/// Reads a whole VP8 IVF file (`None`: the built-in clip).
pub(crate) fn load_clip(path: Option<&Path>) -> Result<(IvfHeader, Vec<IvfFrame>), Failure> {
    let (name, bytes) = match path {
        None => ("built-in clip".to_owned(), BUILTIN_CLIP.to_vec()),
        Some(p) => (
            p.display().to_string(),
            std::fs::read(p)
                .map_err(|e| Failure::File(format!("cannot read {}: {e}", p.display())))?,
        ),
    };
    let bad = |e: IvfError| Failure::File(format!("{name}: {e}"));
    let mut reader = IvfReader::new(Cursor::new(bytes)).map_err(bad)?;
    let header = *reader.header();
    if !header.is_vp8() {
        return Err(Failure::File(format!(
            "{name}: codec '{}' is not VP8 (fourcc VP80)",
            header.fourcc_str()
        )));
    }
    let frames = reader.read_all().map_err(bad)?;
    if frames.is_empty() {
        return Err(Failure::File(format!("{name}: no frames")));
    }
    Ok((header, frames))
}
