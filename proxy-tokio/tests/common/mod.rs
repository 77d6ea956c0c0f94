//! Helpers for the tests of the `proxy-connection` program: real processes, real UDP
//! on 127.0.0.1, signaling relayed by the test.
#![allow(dead_code)] // each test file uses a part

pub mod coturn;
pub mod ivf;
pub mod prosody;
pub mod xmpp_script;

#[allow(unused_imports)] // not every test file kills a child
pub use coturn::kill;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use proxy_tokio::SignalLine;
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStderr, Command};
use tokio::sync::mpsc;
use tokio::time::timeout;

pub use ivf::{read_ivf, IvfFrame, IvfHeader};

pub const BIN: &str = env!("CARGO_BIN_EXE_proxy-connection");
pub const CLIP: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/clip.ivf");
pub const SENDER: &str = "alice@example.com/s";
pub const RECEIVER: &str = "bob@example.com/r";

/// A fresh path in the target's temporary directory.
pub fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{}-{name}", std::process::id()));
    let _ = std::fs::remove_file(&path);
    path
}

/// Reads a finished recording; its header's frame count must be the frames in it.
pub fn recording(path: &Path) -> (IvfHeader, Vec<IvfFrame>) {
    let (header, frames) = read_ivf(&std::fs::read(path).unwrap());
    assert_eq!(
        header.frame_count as usize,
        frames.len(),
        "header frame count of {}",
        path.display()
    );
    (header, frames)
}

/// The clip's frames.
pub fn clip() -> (IvfHeader, Vec<IvfFrame>) {
    recording(Path::new(CLIP))
}

/// A process's stderr, line by line: echoed to the test's stderr, kept, waited on.
pub struct Log {
    rx: mpsc::UnboundedReceiver<String>,
    pub lines: Vec<String>,
}

impl Log {
    pub fn follow(stderr: ChildStderr) -> Log {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                eprintln!("{line}");
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Log {
            rx,
            lines: Vec::new(),
        }
    }

    /// The first line (kept or coming) containing `needle`.
    pub async fn wait_for(&mut self, needle: &str, within: Duration) -> String {
        if let Some(l) = self.lines.iter().find(|l| l.contains(needle)) {
            return l.clone();
        }
        let found = timeout(within, async {
            while let Some(line) = self.rx.recv().await {
                self.lines.push(line.clone());
                if line.contains(needle) {
                    return Some(line);
                }
            }
            None
        })
        .await;
        match found {
            Ok(Some(line)) => line,
            _ => panic!(
                "no log line with {needle:?} within {within:?}; log:\n{}",
                self.lines.join("\n")
            ),
        }
    }

    /// The whole log once the process closed its stderr.
    pub async fn all(&mut self) -> String {
        let _ = timeout(Duration::from_secs(10), async {
            while let Some(line) = self.rx.recv().await {
                self.lines.push(line);
            }
        })
        .await;
        self.lines.join("\n")
    }

    /// N of receive's "wrote N frames" summary line.
    pub async fn frames_written(&mut self) -> usize {
        let text = self.all().await;
        text.lines()
            .find_map(|l| l.split("wrote ").nth(1))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no 'wrote N frames' line in\n{text}"))
    }
}

/// Copies JSON lines from one process to the other, checking each is a signaling line
/// from `from`; returns how many were copied. At the end of `out`, `into` is closed.
pub async fn relay(
    from: &'static str,
    out: impl AsyncRead + Unpin,
    mut into: impl AsyncWrite + Unpin,
) -> Vec<String> {
    let mut lines = BufReader::new(out).lines();
    let mut iqs = Vec::new();
    while let Ok(Some(line)) = lines.next_line().await {
        let parsed = SignalLine::from_line(line.as_bytes())
            .unwrap_or_else(|e| panic!("{from} wrote a non-signaling line {line:?}: {e}"));
        assert_eq!(parsed.from, from);
        iqs.push(parsed.iq);
        if into
            .write_all(format!("{line}\n").as_bytes())
            .await
            .is_err()
        {
            break;
        }
        let _ = into.flush().await;
    }
    drop(into);
    iqs
}

/// `receive --out out` and `send CLIP`, on 127.0.0.1, cross-connected by relays.
pub struct Pair {
    pub receiver: Child,
    pub sender: Child,
    pub receiver_log: Log,
    pub sender_log: Log,
    /// The IQs each side wrote, relayed to the other; they end when its stdout closes.
    pub sent_by_receiver: tokio::task::JoinHandle<Vec<String>>,
    pub sent_by_sender: tokio::task::JoinHandle<Vec<String>>,
}

/// `proxy-connection receive --as RECEIVER --bind 127.0.0.1:0 --out OUT`, with stdin,
/// stdout and stderr piped and killed on drop; callers may add arguments and change
/// any of that.
pub fn receive_command(out: impl AsRef<std::ffi::OsStr>) -> Command {
    let mut command = Command::new(BIN);
    command
        .args([
            "receive",
            "--as",
            RECEIVER,
            "--bind",
            "127.0.0.1:0",
            "--out",
        ])
        .arg(out);
    piped(&mut command);
    command
}

/// `proxy-connection send --as SENDER --to RECEIVER --bind 127.0.0.1:0 CLIP`, set up like
/// [`receive_command`].
pub fn send_command() -> Command {
    let mut command = Command::new(BIN);
    command
        .args(["send", "--as", SENDER, "--to", RECEIVER])
        .args(["--bind", "127.0.0.1:0", CLIP]);
    piped(&mut command);
    command
}

/// Pipes stdin, stdout and stderr, and kills the child on drop.
pub fn piped(command: &mut Command) {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
}

pub fn spawn_pair(out: &Path) -> Pair {
    connect_pair(receive_command(out), send_command())
}

/// Spawns `receive` and `send` (both [`piped`]) and relays signaling between them.
pub fn connect_pair(mut receive: Command, mut send: Command) -> Pair {
    let mut receiver = receive.spawn().unwrap();
    let mut sender = send.spawn().unwrap();
    let sent_by_sender = tokio::spawn(relay(
        SENDER,
        sender.stdout.take().unwrap(),
        receiver.stdin.take().unwrap(),
    ));
    let sent_by_receiver = tokio::spawn(relay(
        RECEIVER,
        receiver.stdout.take().unwrap(),
        sender.stdin.take().unwrap(),
    ));
    Pair {
        sent_by_receiver,
        sent_by_sender,
        receiver_log: Log::follow(receiver.stderr.take().unwrap()),
        sender_log: Log::follow(sender.stderr.take().unwrap()),
        receiver,
        sender,
    }
}

impl Pair {
    /// `send` exits 0 within 60 s (its clip sent, the session ended), then
    /// `receive` within 10 s.
    pub async fn both_exit_0(&mut self) {
        assert_eq!(
            exit_code(&mut self.sender, Duration::from_secs(60)).await,
            Some(0),
            "send's exit code"
        );
        assert_eq!(
            exit_code(&mut self.receiver, Duration::from_secs(10)).await,
            Some(0),
            "receive's exit code"
        );
    }
}

/// Whether one of `iqs` is a Jingle session-terminate.
pub fn has_session_terminate(iqs: &[String]) -> bool {
    iqs.iter().any(|iq| {
        iq.contains("action='session-terminate'") || iq.contains("action=\"session-terminate\"")
    })
}

/// The child's exit code, waiting at most `within`.
pub async fn exit_code(child: &mut Child, within: Duration) -> Option<i32> {
    timeout(within, child.wait())
        .await
        .unwrap_or_else(|_| panic!("no exit within {within:?}"))
        .unwrap()
        .code()
}

/// ffprobe's view of a file (or of `-` with `stdin` bytes): `key=value` entries of
/// the format and the first video stream, frames counted. `None` if ffprobe is
/// missing (a failure under CI=true).
pub async fn ffprobe(path: &str, stdin: Option<&[u8]>) -> Option<BTreeMap<String, String>> {
    let mut cmd = Command::new("ffprobe");
    cmd.args([
        "-v",
        "error",
        "-count_frames",
        "-select_streams",
        "v:0",
        "-show_entries",
        "format=duration,start_time:stream=codec_name,width,height,nb_read_frames",
        "-of",
        "default=nw=1",
        "-i",
        path,
    ])
    .stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) if std::env::var("CI").as_deref() != Ok("true") => {
            eprintln!("ffprobe not available ({e}); skipping the ffprobe checks");
            return None;
        }
        Err(e) => panic!("ffprobe is required under CI: {e}"),
    };
    if let (Some(bytes), Some(mut input)) = (stdin, child.stdin.take()) {
        input.write_all(bytes).await.unwrap();
        drop(input);
    }
    let out = child.wait_with_output().await.unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "ffprobe {path}: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("ffprobe {path}:\n{text}");
    Some(
        text.lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect(),
    )
}

/// A number from ffprobe's entries.
pub fn num(probe: &BTreeMap<String, String>, key: &str) -> f64 {
    probe
        .get(key)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no number {key} in {probe:?}"))
}

/// The recording at `out` holds every frame of the clip, byte for byte.
pub fn assert_whole_clip(out: &Path) {
    let (_, sent) = read_ivf(&std::fs::read(CLIP).unwrap());
    let (_, got) = read_ivf(&std::fs::read(out).unwrap());
    assert_eq!(got.len(), sent.len(), "frame count");
    for (i, (g, s)) in got.iter().zip(&sent).enumerate() {
        assert!(g.data == s.data, "frame {i} differs");
    }
}

/// Starts a `proxy-connection` command with stdin and stdout closed, its stderr
/// followed as a [`Log`]; killed on drop.
pub fn spawn_logged(mut command: tokio::process::Command) -> (tokio::process::Child, Log) {
    let mut child = command
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn proxy-connection");
    let log = Log::follow(child.stderr.take().expect("stderr"));
    (child, log)
}
