//! What the browser tests share: one headless browser (`node browser/harness.mjs`:
//! playwright-core driving Debian's `/usr/bin/chromium`, or with `--firefox`
//! puppeteer-core driving Debian's `/usr/bin/firefox-esr` over WebDriver BiDi; page
//! served on 127.0.0.1) and
//! one real `proxy-connection send`/`receive`, bridged by [`proxy_tests::bridge`]: the
//! page's SDP and candidates become Jingle in lib-jitsi-meet's dialect and the
//! program's Jingle becomes SDP and candidates for the page. See browser/README.md.
#![allow(dead_code)] // each test file uses a part

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use proxy_tests::bridge::{Bridge, ToBrowser};
use proxy_tokio::SignalLine;
use serde_json::{json, Value};

/// The browser's JID.
pub const BROWSER_JID: &str = "browser@example.com/b1";
/// The Rust program's JID.
pub const RUST_JID: &str = "rust@example.com/r1";

/// Browser tests run one at a time (two cores, one Chromium each).
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The repository's root directory.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent") // the manifest dir is <repo>/tests
        .to_path_buf()
}

/// Whether this is CI (`CI=true`), where a missing component is a failure.
pub fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// Node, the harness with its node_modules and Firefox (puppeteer-core,
/// `$FIREFOX` or `/usr/bin/firefox-esr`), or why not.
fn requirements_firefox() -> Result<(), String> {
    let root = repo_root();
    if !root.join("browser/node_modules/puppeteer-core").is_dir() {
        return Err("browser/node_modules/puppeteer-core missing (run browser/run.sh)".into());
    }
    let firefox = std::env::var("FIREFOX").unwrap_or_else(|_| "/usr/bin/firefox-esr".into());
    if !Path::new(&firefox).exists() {
        return Err(format!("{firefox} missing (run browser/run.sh)"));
    }
    match Command::new("node").arg("--version").output() {
        Ok(o) if o.status.success() => Ok(()),
        _ => Err("node not found".into()),
    }
}

/// Node, the harness with its node_modules and chromium, or why not.
fn requirements() -> Result<(), String> {
    let root = repo_root();
    if !root.join("browser/node_modules/playwright-core").is_dir() {
        return Err("browser/node_modules/playwright-core missing (run browser/run.sh)".into());
    }
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    if !Path::new(&chromium).exists() {
        return Err(format!("{chromium} missing (run browser/run.sh)"));
    }
    match Command::new("node").arg("--version").output() {
        Ok(o) if o.status.success() => Ok(()),
        _ => Err("node not found".into()),
    }
}

/// `Some(guard)` when the tests can run; `None` to skip (never under CI=true).
pub fn setup() -> Option<std::sync::MutexGuard<'static, ()>> {
    setup_with(requirements())
}

/// [`setup`] for the Firefox tests (`Options::firefox`): puppeteer-core and Firefox
/// instead of playwright-core and Chromium.
pub fn setup_firefox() -> Option<std::sync::MutexGuard<'static, ()>> {
    setup_with(requirements_firefox())
}

/// [`setup`] for the XMPP tests: strophe.js must be in `browser/node_modules` too.
pub fn setup_xmpp() -> Option<std::sync::MutexGuard<'static, ()>> {
    let strophe = repo_root().join("browser/node_modules/strophe.js/dist/strophe.umd.min.js");
    setup_with(requirements().and_then(|()| {
        if strophe.is_file() {
            Ok(())
        } else {
            Err(format!(
                "{} missing (run browser/run.sh)",
                strophe.display()
            ))
        }
    }))
}

fn setup_with(ready: Result<(), String>) -> Option<std::sync::MutexGuard<'static, ()>> {
    if let Err(why) = ready {
        assert!(!ci(), "browser tests cannot run under CI=true: {why}");
        eprintln!("SKIPPED: {why}");
        return None;
    }
    Some(ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner()))
}

/// The `proxy-connection` binary, built if needed.
pub fn program() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Ok(p) = std::env::var("PROXY_CONNECTION_BIN") {
            return PathBuf::from(p);
        }
        // <target>/<profile>/deps/browser-<hash> -> <target>/<profile>/proxy-connection
        let exe = std::env::current_exe().expect("current exe");
        let dir = exe.parent().and_then(Path::parent).expect("target dir");
        let bin = dir.join("proxy-connection");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .current_dir(repo_root())
            .args(["build", "-p", "proxy-tokio", "--bin", "proxy-connection"])
            .status()
            .expect("run cargo build");
        assert!(status.success(), "cargo build proxy-connection failed");
        assert!(bin.exists(), "{} not built", bin.display());
        bin
    })
    .clone()
}

/// Everything that happens, stamped with when it was seen.
#[derive(Debug)]
pub enum Ev {
    /// A JSON line from the harness (the page).
    Page(Value),
    /// A signaling line from the Rust program.
    Rust(SignalLine),
    /// A log line (stderr) of the Rust program.
    RustLog(String),
    /// The Rust program's stdout closed.
    RustEof,
    /// The harness's stdout closed.
    PageEof,
}

/// Which Rust program runs.
pub enum RustSide {
    /// None: the page alone (e.g. its XMPP connections against Prosody).
    Nothing,
    /// `receive --convert-video-to-desktop --out OUT`.
    Receive {
        /// The recording.
        out: PathBuf,
    },
    /// `send CLIP`, offering to the browser.
    Send {
        /// The IVF clip to send.
        clip: PathBuf,
    },
    /// `proxy-connection ARGS` exactly as given (e.g. `receive --xmpp URL ...`), for a
    /// program that signals over XMPP rather than stdin/stdout.
    Args(Vec<String>),
}

/// How a session is set up beyond the defaults.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Firefox (`harness.mjs --firefox`: puppeteer-core, WebDriver BiDi) instead of
    /// Chromium.
    pub firefox: bool,
    /// Keep Chromium's default mDNS (`.local`) host-candidate hiding
    /// (`harness.mjs --mdns`).
    pub mdns: bool,
    /// The page's `RTCConfiguration` (lib-jitsi-meet's `pcConfig` option: ICE servers,
    /// `iceTransportPolicy`), applied before the page makes its peer connection.
    pub pc_config: Option<Value>,
    /// More arguments for the Rust program (e.g. `--ice-server URL --relay-only`).
    pub rust_args: Vec<String>,
    /// Signaling over XMPP: the bridge's Jingle goes to this JID through the page's
    /// strophe.js connection (`xmpp-send`) instead of the program's stdin, and the IQ
    /// sets the page receives (`xmpp-iq`) are bridged back as the program's.
    pub xmpp_to: Option<String>,
    /// Messages for the page before anything from the Rust program (e.g. how to
    /// answer its offer): written to the harness before the program starts.
    pub page_first: Vec<Value>,
}

/// One browser + one Rust program + the bridge between them.
pub struct Session {
    rx: Receiver<(Instant, Ev)>,
    harness: Child,
    harness_in: Option<ChildStdin>,
    rust: Option<Child>,
    rust_in: Option<ChildStdin>,
    /// The SDP <-> Jingle bridge.
    pub bridge: Bridge,
    start: Instant,
    /// Every Jingle IQ the bridge sent to the Rust program, in order.
    pub to_rust: Vec<String>,
    /// Every IQ the Rust program sent.
    pub from_rust: Vec<String>,
    /// Every Rust log line with its time.
    pub rust_log: Vec<(Instant, String)>,
    /// Every page event.
    pub page_log: Vec<(Instant, Value)>,
    /// Browser candidates forwarded to the Rust program.
    pub forwarded: Vec<String>,
    /// How many browser candidates were dropped (not for 127.0.0.1).
    pub dropped: usize,
    rust_exit: Option<std::process::ExitStatus>,
    /// When an offer from the Rust program was handed to the page.
    pub offer_to_page: Option<Instant>,
    /// When a session-terminate from the Rust program was read.
    pub terminate_from_rust: Option<Instant>,
    /// [`Options::xmpp_to`].
    xmpp_to: Option<String>,
}

/// Sends each line of `r` (mapped by `f`) to `tx` with its time, then `eof()`.
fn spawn_lines<R: std::io::Read + Send + 'static>(
    r: R,
    tx: Sender<(Instant, Ev)>,
    f: fn(String) -> Ev,
    eof: fn() -> Ev,
) {
    std::thread::spawn(move || {
        for line in BufReader::new(r).lines() {
            let Ok(line) = line else { break };
            if tx.send((Instant::now(), f(line))).is_err() {
                return;
            }
        }
        let _ = tx.send((Instant::now(), eof()));
    });
}

impl Session {
    /// Starts the harness (waiting for the page to be ready) and the Rust program.
    pub fn start(options: &Options, rust: RustSide) -> Session {
        let (tx, rx) = channel();
        let root = repo_root();
        let mut cmd = Command::new("node");
        cmd.arg(root.join("browser/harness.mjs"));
        if options.firefox {
            cmd.arg("--firefox");
        }
        if options.mdns {
            cmd.arg("--mdns");
        }
        let mut harness = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn node harness");
        let mut harness_in = harness.stdin.take();
        if let Some(stdin) = harness_in.as_mut() {
            for msg in &options.page_first {
                let _ = writeln!(stdin, "{msg}");
            }
            let _ = stdin.flush();
        }
        spawn_lines(
            harness.stdout.take().expect("piped"),
            tx.clone(),
            |l| {
                Ev::Page(
                    serde_json::from_str(&l).unwrap_or_else(|_| json!({"ev": "raw", "line": l})),
                )
            },
            || Ev::PageEof,
        );

        let mut cmd = Command::new(program());
        match &rust {
            RustSide::Nothing => {}
            RustSide::Receive { out } => {
                cmd.args([
                    "receive",
                    "--as",
                    RUST_JID,
                    "--bind",
                    "127.0.0.1:0",
                    "--convert-video-to-desktop",
                    "--out",
                ])
                .arg(out);
            }
            RustSide::Send { clip } => {
                cmd.args([
                    "send",
                    "--as",
                    RUST_JID,
                    "--to",
                    BROWSER_JID,
                    "--bind",
                    "127.0.0.1:0",
                ])
                .arg(clip);
            }
            RustSide::Args(args) => {
                cmd.args(args);
            }
        }
        cmd.args(&options.rust_args);
        let (child, rust_in) = if matches!(rust, RustSide::Nothing) {
            (None, None)
        } else {
            let mut child = cmd
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn proxy-connection");
            let rust_in = child.stdin.take();
            spawn_lines(
                child.stdout.take().expect("piped"),
                tx.clone(),
                |l| match SignalLine::from_line(l.as_bytes()) {
                    Ok(s) => Ev::Rust(s),
                    Err(e) => Ev::RustLog(format!("BAD STDOUT LINE ({e}): {l}")),
                },
                || Ev::RustEof,
            );
            spawn_lines(child.stderr.take().expect("piped"), tx, Ev::RustLog, || {
                Ev::RustLog(String::new())
            });
            (Some(child), rust_in)
        };

        let mut s = Session {
            rx,
            harness,
            harness_in,
            rust: child,
            rust_in,
            bridge: Bridge::new(BROWSER_JID, RUST_JID),
            start: Instant::now(),
            to_rust: Vec::new(),
            from_rust: Vec::new(),
            rust_log: Vec::new(),
            page_log: Vec::new(),
            forwarded: Vec::new(),
            dropped: 0,
            rust_exit: None,
            offer_to_page: None,
            terminate_from_rust: None,
            xmpp_to: options.xmpp_to.clone(),
        };
        s.wait_page("ready", Duration::from_secs(30));
        if let Some(pc_config) = &options.pc_config {
            s.send_page(json!({"type": "configure", "pcConfig": pc_config}));
            s.wait_page("configured", Duration::from_secs(10));
        }
        s
    }

    /// Milliseconds from the start of the session to `t`.
    pub fn ms(&self, t: Instant) -> u128 {
        t.duration_since(self.start).as_millis()
    }

    /// Sends one JSON message to the page.
    pub fn send_page(&mut self, msg: Value) {
        if let Some(stdin) = self.harness_in.as_mut() {
            let _ = writeln!(stdin, "{msg}");
            let _ = stdin.flush();
        }
    }

    /// Sends one IQ to the Rust program: as a signaling line from the browser on its
    /// stdin, or with [`Options::xmpp_to`] through the page's XMPP connection.
    pub fn send_rust(&mut self, iq: String) {
        if let Some(to) = self.xmpp_to.clone() {
            self.send_page(json!({"type": "xmpp-send", "to": to, "iq": iq}));
            self.to_rust.push(iq);
            return;
        }
        let line = SignalLine {
            from: BROWSER_JID.into(),
            to: Some(RUST_JID.into()),
            iq: iq.clone(),
        }
        .to_line();
        self.to_rust.push(iq);
        if let Some(stdin) = self.rust_in.as_mut() {
            let _ = stdin.write_all(line.as_bytes());
            let _ = stdin.flush();
        }
    }

    /// Handles one event: bridges signaling, records logs.
    pub fn handle(&mut self, t: Instant, ev: &Ev) {
        match ev {
            Ev::Page(v) => {
                self.page_log.push((t, v.clone()));
                let kind = v["ev"].as_str().unwrap_or("");
                match kind {
                    "offer" => {
                        let iq = self
                            .bridge
                            .offer_to_iq(v["sdp"].as_str().unwrap_or(""))
                            .expect("offer to Jingle");
                        self.send_rust(iq);
                    }
                    "answer" => {
                        let iq = self
                            .bridge
                            .answer_to_iq(v["sdp"].as_str().unwrap_or(""))
                            .expect("answer to Jingle");
                        self.send_rust(iq);
                    }
                    "candidate" => {
                        let c = v["candidate"].as_str().unwrap_or("");
                        let mid = v["mid"].as_str().unwrap_or("0");
                        match self.bridge.candidate_to_iq(c, mid) {
                            Ok(Some(iq)) => {
                                self.forwarded.push(c.to_owned());
                                self.send_rust(iq);
                            }
                            Ok(None) => self.dropped += 1,
                            Err(e) => panic!("browser candidate {c:?}: {e}"),
                        }
                    }
                    "error" => eprintln!("[page {}ms] ERROR {}", self.ms(t), v["msg"]),
                    // An IQ set the page received over XMPP: the program's Jingle.
                    "xmpp-iq" if self.xmpp_to.is_some() => {
                        eprintln!("[page {}ms] xmpp-iq from {}", self.ms(t), v["from"]);
                        self.bridge_rust_iq(t, v["iq"].as_str().unwrap_or(""));
                    }
                    "stats" | "candidate-pair" => {}
                    _ => {
                        // XMPP events carry whole stanzas: the start is enough here.
                        let text = v.to_string();
                        let cut: String = text.chars().take(400).collect();
                        let more = if cut.len() < text.len() { " ..." } else { "" };
                        eprintln!("[page {}ms] {cut}{more}", self.ms(t));
                    }
                }
            }
            Ev::Rust(line) => self.bridge_rust_iq(t, &line.iq),
            Ev::RustLog(l) => {
                if !l.is_empty() {
                    eprintln!("[rust {}ms] {l}", self.ms(t));
                    self.rust_log.push((t, l.clone()));
                }
            }
            Ev::RustEof => {
                self.rust_in = None;
            }
            Ev::PageEof => {}
        }
    }

    /// Bridges one IQ from the Rust program to the page.
    fn bridge_rust_iq(&mut self, t: Instant, iq: &str) {
        self.from_rust.push(iq.to_owned());
        match self.bridge.from_rust(iq) {
            Ok(msgs) => {
                for m in msgs {
                    match m {
                        ToBrowser::Offer(sdp) => {
                            self.offer_to_page = Some(Instant::now());
                            self.send_page(json!({"type": "offer", "sdp": sdp}))
                        }
                        ToBrowser::Answer(sdp) => {
                            self.send_page(json!({"type": "answer", "sdp": sdp}))
                        }
                        ToBrowser::Candidate { candidate, mid } => self.send_page(
                            json!({"type": "candidate", "candidate": candidate, "mid": mid}),
                        ),
                        ToBrowser::Terminate(reason) => {
                            eprintln!(
                                "[bridge {}ms] session-terminate ({reason}) from Rust",
                                self.ms(t)
                            );
                            self.terminate_from_rust = Some(t);
                            self.send_page(json!({"type": "terminate"}))
                        }
                        ToBrowser::Other(what) => {
                            eprintln!("[bridge {}ms] from Rust: {what}", self.ms(t))
                        }
                    }
                }
            }
            Err(e) => panic!("cannot bridge IQ from Rust: {e}: {}", iq),
        }
    }

    /// Pumps events until `pred` holds for one (returns its time and a copy) or `timeout`.
    pub fn pump_until(
        &mut self,
        timeout: Duration,
        mut pred: impl FnMut(&Ev) -> bool,
    ) -> Option<(Instant, Ev)> {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok((t, ev)) => {
                    self.handle(t, &ev);
                    if pred(&ev) {
                        return Some((t, ev));
                    }
                }
                Err(RecvTimeoutError::Timeout) => return None,
                Err(RecvTimeoutError::Disconnected) => {
                    std::thread::sleep(left);
                    return None;
                }
            }
        }
    }

    /// Pumps events for `d`.
    pub fn pump_for(&mut self, d: Duration) {
        let _ = self.pump_until(d, |_| false);
    }

    /// Pumps until the page reports `kind`; panics after `timeout`.
    pub fn wait_page(&mut self, kind: &str, timeout: Duration) -> (Instant, Value) {
        match self.pump_until(timeout, |e| matches!(e, Ev::Page(v) if v["ev"] == kind)) {
            Some((t, Ev::Page(v))) => (t, v),
            _ => panic!("no page event {kind:?} within {timeout:?}"),
        }
    }

    /// The first Rust log line containing `what` (already seen, or within `timeout`).
    pub fn wait_rust_log(&mut self, what: &str, timeout: Duration) -> Option<(Instant, String)> {
        if let Some((t, l)) = self.rust_log.iter().find(|(_, l)| l.contains(what)) {
            return Some((*t, l.clone()));
        }
        match self.pump_until(timeout, |e| matches!(e, Ev::RustLog(l) if l.contains(what))) {
            Some((t, Ev::RustLog(l))) => Some((t, l)),
            _ => None,
        }
    }

    /// The page's stats (`getStats()` summarized by page.html).
    pub fn stats(&mut self) -> Value {
        self.send_page(json!({"type": "stats"}));
        self.wait_page("stats", Duration::from_secs(10)).1
    }

    /// Sends the bridge's session-terminate to the Rust program (`receive`) and
    /// waits up to 10 s for it to exit 0; how long that took from the send, and
    /// when it exited.
    pub fn terminate_rust(&mut self) -> (Duration, Instant) {
        let iq = self.bridge.terminate_iq();
        let sent = Instant::now();
        self.send_rust(iq);
        let (exited, status) = self
            .wait_rust_exit(Duration::from_secs(10))
            .expect("receive did not exit after session-terminate");
        assert!(status.success(), "receive exit {status:?}");
        (exited.duration_since(sent), exited)
    }

    /// Waits for the Rust program to exit; its exit status.
    pub fn wait_rust_exit(
        &mut self,
        timeout: Duration,
    ) -> Option<(Instant, std::process::ExitStatus)> {
        let deadline = Instant::now() + timeout;
        loop {
            let rust = self.rust.as_mut()?;
            if let Ok(Some(status)) = rust.try_wait() {
                // Drain what is left of its output.
                let t = Instant::now();
                self.pump_for(Duration::from_millis(300));
                self.rust_exit = Some(status);
                return Some((t, status));
            }
            if Instant::now() >= deadline {
                return None;
            }
            self.pump_for(Duration::from_millis(50));
        }
    }

    /// Whether a Rust log line contains `what`.
    pub fn log_has(&self, what: &str) -> bool {
        self.rust_log.iter().any(|(_, l)| l.contains(what))
    }

    /// `wrote N frames` from the receive log.
    pub fn frames_written(&self) -> Option<u64> {
        self.rust_log.iter().find_map(|(_, l)| {
            let rest = l.split("wrote ").nth(1)?;
            rest.split_whitespace().next()?.parse().ok()
        })
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.rust_in = None;
        self.send_page(json!({"type": "exit"}));
        self.harness_in = None;
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if matches!(self.harness.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.harness.kill();
        let _ = self.harness.wait();
        if let Some(rust) = self.rust.as_mut() {
            if self.rust_exit.is_none() {
                let _ = rust.kill();
            }
            let _ = rust.wait();
        }
    }
}

/// A file under `<target>/tmp/browser/` (kept for inspection, overwritten next run).
pub fn tmp_file(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

/// Starts a browser -> Rust `receive` session with the given media and waits for the
/// connection; returns the session and the connect time (offer sent -> Rust connected).
pub fn browser_to_receive(
    options: &Options,
    media: Value,
    out: &Path,
) -> (Session, Option<Duration>) {
    let mut s = Session::start(
        options,
        RustSide::Receive {
            out: out.to_path_buf(),
        },
    );
    let mut start = json!({"type": "start-offer"});
    for (k, v) in media.as_object().expect("media object") {
        start[k] = v.clone();
    }
    s.send_page(start);
    let (t_offer, _) = s.wait_page("offer", Duration::from_secs(20));
    let connected = s
        .wait_rust_log("connected to", Duration::from_secs(25))
        .map(|(t, _)| t.duration_since(t_offer));
    (s, connected)
}

/// The first entry of the page's `inbound`/`outbound` stats of `kind`.
pub fn rtp(stats: &Value, dir: &str, kind: &str) -> Value {
    stats[dir]
        .as_array()
        .and_then(|a| a.iter().find(|o| o["kind"] == kind))
        .cloned()
        .unwrap_or_default()
}

/// A `send CLIP` -> page session that ran to its end.
pub struct ClipSent {
    pub session: Session,
    /// From the page's answer to `send`'s "connected to" (send starts first).
    pub connect: Duration,
    /// The page's last stats with a decoding video receiver.
    pub best: Value,
    /// When the page's peer connection closed.
    pub closed_at: Instant,
}

/// Runs `send clip` to the page until `send`'s session-terminate closes the page
/// (within 30 s), reading the page's stats meanwhile; `send` must exit 0.
pub fn send_clip(options: &Options, clip: PathBuf) -> ClipSent {
    let mut s = Session::start(options, RustSide::Send { clip });
    let (t_conn, _) = s
        .wait_rust_log("connected to", Duration::from_secs(20))
        .expect("send did not connect");
    let t_answer = s
        .page_log
        .iter()
        .find(|(_, v)| v["ev"] == "answer")
        .map(|(t, _)| *t)
        .expect("the page answered");
    let mut best = json!({});
    let mut closed_at = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline && closed_at.is_none() {
        let st = s.stats();
        if rtp(&st, "inbound", "video")["framesDecoded"]
            .as_u64()
            .is_some()
        {
            best = st;
        }
        s.pump_for(Duration::from_millis(300));
        closed_at = s
            .page_log
            .iter()
            .find(|(_, v)| v["ev"] == "closed")
            .map(|(t, _)| *t);
    }
    let closed_at = closed_at.expect("the page was not closed by send's session-terminate");
    let (_, status) = s
        .wait_rust_exit(Duration::from_secs(10))
        .expect("send did not exit");
    assert!(status.success(), "send exit {status:?}");
    ClipSent {
        session: s,
        connect: t_conn.duration_since(t_answer),
        best,
        closed_at,
    }
}

/// Whether ffprobe runs; under `CI=true` its absence is a failure.
pub fn ffprobe_available() -> bool {
    let found = Command::new("ffprobe")
        .arg("-version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(found || !ci(), "ffprobe is required under CI=true");
    found
}

/// The first video stream of a file as ffprobe reads it (frames decoded and
/// counted).
#[derive(Debug, PartialEq, Eq)]
pub struct VideoProbe {
    pub codec: String,
    pub width: u32,
    pub height: u32,
    pub frames: u64,
}

/// ffprobe's view of the first video stream of `path`.
pub fn ffprobe_video(path: &Path) -> VideoProbe {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-count_frames",
            "-select_streams",
            "v:0",
            "-show_entries",
            "stream=codec_name,width,height,nb_read_frames",
            "-of",
            "default=nw=1",
        ])
        .arg(path)
        .output()
        .expect("run ffprobe (ffmpeg; browser/run.sh installs it)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "ffprobe {} failed: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let field = |key: &str| -> String {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .unwrap_or_else(|| panic!("no {key} in ffprobe output {text:?}"))
            .to_owned()
    };
    let number = |key: &str| -> u64 {
        field(key)
            .parse()
            .unwrap_or_else(|_| panic!("{key} in {text:?}"))
    };
    VideoProbe {
        codec: field("codec_name"),
        width: number("width") as u32,
        height: number("height") as u32,
        frames: number("nb_read_frames"),
    }
}

/// `(width, height, frames)` of a recording's video as ffprobe reads it.
pub fn ffprobe(path: &Path) -> (u32, u32, u64) {
    let p = ffprobe_video(path);
    (p.width, p.height, p.frames)
}

/// ffprobe's format duration and start time of `path`, in seconds.
pub fn ffprobe_timing(path: &Path) -> (f64, f64) {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration,start_time",
            "-of",
            "default=nw=1",
        ])
        .arg(path)
        .output()
        .expect("run ffprobe");
    let text = String::from_utf8_lossy(&out.stdout);
    let value = |key: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(key)?.strip_prefix('='))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {key} in ffprobe output {text:?}"))
    };
    (value("duration"), value("start_time"))
}

/// A recording's span from its first to its last frame, in seconds, and its mean
/// frame rate (frames - 1 over the span), read from the file's own timestamps.
pub fn recorded_span(path: &Path) -> (f64, f64) {
    let bytes = std::fs::read(path).expect("read the recording");
    // IVF (the program's format, not a library API): a file header (its size at 6,
    // timebase denominator at 16, numerator at 20), then per frame a 12-byte header
    // (size, pts) and the frame; all little-endian.
    let le = |at: usize, len: usize| {
        let field = bytes.get(at..at + len).expect("IVF");
        field.iter().rev().fold(0u64, |v, b| v << 8 | u64::from(*b))
    };
    assert_eq!(bytes.get(..4), Some(&b"DKIF"[..]), "IVF");
    let mut pts = Vec::new();
    let mut at = le(6, 2) as usize;
    while at < bytes.len() {
        pts.push(le(at + 4, 8));
        at += 12 + le(at, 4) as usize;
    }
    assert_eq!(at, bytes.len(), "IVF frames");
    let (first, last) = (pts[0], pts[pts.len() - 1]);
    let unit = le(20, 4) as f64 / le(16, 4) as f64;
    let span = (last - first) as f64 * unit;
    (span, (pts.len() - 1) as f64 / span)
}
