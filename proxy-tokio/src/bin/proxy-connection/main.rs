//! `proxy-connection`: demo, send and receive over a direct WebRTC connection
//! negotiated with Jingle `<iq>`s. See `proxy-connection --help` and each mode's
//! `--help`; the exit codes are in [`cli::EXIT_CODES`](cli) and proxy-tokio/README.md.
#![forbid(unsafe_code)]

/// A line on stderr, tagged with the side (`send`, `receive`).
macro_rules! log {
    ($side:expr, $($arg:tt)*) => { eprintln!("[{}] {}", $side, format_args!($($arg)*)) };
}

mod annexb;
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
use proxy_core::Codec;

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

/// Frame rate of an Annex B H.264 input when `--fps` is not given.
pub(crate) const DEFAULT_FPS: u32 = 30;

/// A clip to send, whatever its container.
#[derive(Debug)]
pub(crate) struct Clip {
    /// The codec of its frames.
    pub codec: Codec,
    /// Its timebase and dimensions: an IVF file's own header; for Annex B H.264 a
    /// `1/fps` timebase and the first SPS's size (0x0 if it cannot be read).
    pub header: IvfHeader,
    /// Its frames (H.264: access units), with pts in `header`'s timebase.
    pub frames: Vec<IvfFrame>,
    /// What it was read as, for the log (e.g. `IVF VP90`, `H.264 Annex B at 30 fps`).
    pub format: String,
}

/// Whether `path` names an Annex B H.264 file by its extension (`.h264`, `.264`).
fn annex_b_by_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("h264") || e.eq_ignore_ascii_case("264"))
}

/// Reads a whole clip (`None`: the built-in VP8 clip): IVF with fourcc VP80, VP90
/// or AV01, or H.264 in Annex B form (by the extension `.h264`/`.264`, or by a start
/// code at its beginning), whose access units get pts `0, 1, 2...` at `fps`
/// (`None`: [`DEFAULT_FPS`]; an IVF file has its own timestamps and ignores it).
pub(crate) fn load_clip(path: Option<&Path>, fps: Option<u32>) -> Result<Clip, Failure> {
    let (name, bytes) = match path {
        None => ("built-in clip".to_owned(), BUILTIN_CLIP.to_vec()),
        Some(p) => (
            p.display().to_string(),
            std::fs::read(p)
                .map_err(|e| Failure::File(format!("cannot read {}: {e}", p.display())))?,
        ),
    };
    let annex_b = path.is_some_and(annex_b_by_name)
        || (!bytes.starts_with(b"DKIF") && annexb::looks_like_annex_b(&bytes));
    if annex_b {
        return load_annex_b(&name, &bytes, fps.unwrap_or(DEFAULT_FPS));
    }
    if !bytes.starts_with(b"DKIF") {
        return Err(Failure::File(format!(
            "{name}: not an IVF file (no DKIF signature), nor H.264 Annex B (no start \
             code at its beginning)"
        )));
    }
    let bad = |e: IvfError| Failure::File(format!("{name}: {e}"));
    let mut reader = IvfReader::new(Cursor::new(bytes)).map_err(bad)?;
    let header = *reader.header();
    let Some(codec) = header.codec() else {
        return Err(Failure::File(format!(
            "{name}: IVF codec '{}' is not supported (VP80, VP90 or AV01; H.264 as an \
             Annex B .h264 file)",
            header.fourcc_str().escape_debug()
        )));
    };
    let frames = reader.read_all().map_err(bad)?;
    if frames.is_empty() {
        return Err(Failure::File(format!("{name}: no frames")));
    }
    Ok(Clip {
        codec,
        header,
        frames,
        format: format!("IVF {}", header.fourcc_str()),
    })
}

/// An Annex B H.264 stream's access units at `fps`.
fn load_annex_b(name: &str, bytes: &[u8], fps: u32) -> Result<Clip, Failure> {
    let units = annexb::access_units(bytes, annexb::DEFAULT_MAX_ACCESS_UNIT)
        .map_err(|e| Failure::File(format!("{name}: {e}")))?;
    // The size from the first SPS (0x0 if none can be read).
    let (width, height) = units
        .iter()
        .find_map(|u| codec_info::video_dimensions(Codec::H264, &u.data))
        .and_then(|(w, h)| Some((u16::try_from(w).ok()?, u16::try_from(h).ok()?)))
        .unwrap_or((0, 0));
    let header = IvfHeader {
        fourcc: *b"H264",
        width,
        height,
        timebase_den: fps.max(1),
        timebase_num: 1,
        frame_count: u32::try_from(units.len()).unwrap_or(u32::MAX),
    };
    let frames = units
        .into_iter()
        .zip(0u64..)
        .map(|(u, pts)| IvfFrame { pts, data: u.data })
        .collect();
    Ok(Clip {
        codec: Codec::H264,
        header,
        frames,
        format: format!("H.264 Annex B at {} fps", fps.max(1)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assets() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../assets")
    }

    /// A scratch file with `bytes` (removed on drop).
    struct Scratch(std::path::PathBuf);
    impl Scratch {
        fn new(name: &str, bytes: &[u8]) -> Scratch {
            let path = std::env::temp_dir()
                .join(format!("proxy-connection-{}-{name}", std::process::id()));
            std::fs::write(&path, bytes).unwrap();
            Scratch(path)
        }
    }
    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }

    fn error(r: Result<Clip, Failure>) -> String {
        match r {
            Err(Failure::File(e)) => e,
            other => panic!("expected a file error, got {other:?}"),
        }
    }

    #[test]
    fn each_clip_gives_its_codec() {
        for (file, codec, frames) in [
            ("clip.ivf", Codec::Vp8, 150),
            ("clip-vp9.ivf", Codec::Vp9, 60),
            ("clip-av1.ivf", Codec::Av1, 60),
            ("clip-h264.h264", Codec::H264, 60),
        ] {
            let clip = load_clip(Some(&assets().join(file)), None).unwrap();
            assert_eq!((clip.codec, clip.frames.len()), (codec, frames), "{file}");
            assert_eq!(
                (clip.header.timebase_num, clip.header.timebase_den),
                (1, 30),
                "{file}"
            );
            let last = clip.frames.last().unwrap().pts;
            assert_eq!(last, frames as u64 - 1, "{file}");
        }
        let builtin = load_clip(None, None).unwrap();
        assert_eq!((builtin.codec, builtin.frames.len()), (Codec::Vp8, 150));
    }

    #[test]
    fn annex_b_by_sniffing_and_at_the_given_rate() {
        let h264 = std::fs::read(assets().join("clip-h264.h264")).unwrap();
        let f = Scratch::new("noext", &h264);
        let clip = load_clip(Some(&f.0), Some(25)).unwrap();
        assert_eq!(clip.codec, Codec::H264);
        assert_eq!(clip.header.timebase_den, 25);
        assert_eq!(clip.format, "H.264 Annex B at 25 fps");
        assert_eq!((clip.header.width, clip.header.height), (320, 180));
        assert!(clip.frames[0].data.starts_with(&[0, 0, 0, 1, 9]));
        // An IVF file keeps its own timebase whatever --fps says.
        let vp9 = load_clip(Some(&assets().join("clip-vp9.ivf")), Some(5)).unwrap();
        assert_eq!(vp9.header.timebase_den, 30);
    }

    #[test]
    fn refuses_what_it_cannot_send() {
        // An IVF of another codec.
        let mut ivf = std::fs::read(assets().join("clip-vp9.ivf")).unwrap();
        ivf[8..12].copy_from_slice(b"HEVC");
        let f = Scratch::new("hevc.ivf", &ivf);
        let e = error(load_clip(Some(&f.0), None));
        assert!(e.contains("IVF codec 'HEVC' is not supported"), "{e}");
        // Neither IVF nor Annex B.
        let f = Scratch::new("text.ivf", b"hello, world");
        let e = error(load_clip(Some(&f.0), None));
        assert!(
            e.contains("not an IVF file") && e.contains("Annex B"),
            "{e}"
        );
        // Named .h264 but not H.264.
        let f = Scratch::new("x.h264", b"DKIF not h264");
        let e = error(load_clip(Some(&f.0), None));
        assert!(e.contains("no start code"), "{e}");
        // Annex B with parameter sets only.
        let f = Scratch::new("sps.264", &[0, 0, 0, 1, 0x67, 0x42, 0, 0x1f]);
        let e = error(load_clip(Some(&f.0), None));
        assert!(e.contains("no coded picture"), "{e}");
        // An empty IVF.
        ivf[8..12].copy_from_slice(b"VP90");
        let f = Scratch::new("empty.ivf", &ivf[..32]);
        let e = error(load_clip(Some(&f.0), None));
        assert!(e.contains("no frames"), "{e}");
    }
}
