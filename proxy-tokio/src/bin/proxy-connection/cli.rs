//! Command line (clap), exit codes, and the one time format of the program's output.

use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, CommandFactory, Parser, Subcommand};
use proxy_core::CloseReason;
use proxy_tokio::net::IceServerSpec;
use proxy_tokio::xmpp::XmppServer;

/// The exit code table, shown by every `--help` (and in proxy-tokio/README.md).
macro_rules! exit_codes {
    () => {
        "\
EXIT CODES:
    0    The session ended: either side stopped it (end of the clip, our stop,
         the peer's session-terminate, the peer unavailable, the peer's DTLS close).
    1    Other failure (e.g. cannot bind a socket, XMPP login refused or not done in 30 s).
    2    Usage error (bad arguments).
    3    File error (unreadable, not a clip send can read, cannot create or write --out).
    4    No connection: refused or rejected, timed out (session-accept, ICE), the
         offer/answer unusable, or the signaling input ended with no session.
    5    The connection was lost mid-session (connectivity lost, media engine
         failure, an error reported by the peer after connecting).
    6    demo only: frames were lost or arrived damaged.
    130  Stopped by SIGINT, 143 by SIGTERM (send and receive: session-terminate sent,
         --out finished, summary printed). A second signal exits at once with its code."
    };
}

/// The signaling section of `send`'s and `receive`'s help.
macro_rules! signaling_help {
    () => {
        "\
SIGNALING:
    One JSON object per line, {\"from\": JID, \"to\": JID, \"iq\": \"<iq .../>\"}, read
    from --signal-in (default stdin) and written to --signal-out (default stdout);
    both may be FIFOs or /dev/fd/N. Logs go to stderr. When the signaling input
    ends, a session being negotiated or connected goes on until it closes; with
    none, the program ends with exit 4.
    With --xmpp, signaling goes over an XMPP server instead (lib-jitsi-meet's
    JitsiConnection): proxy IQs to and from full JIDs (a room's occupant JIDs with
    --room), STUN/TURN servers and their credentials from the server (XEP-0215,
    fetched again before they expire; they replace --ice-server's), reconnection
    with backoff. Our JID comes from the server (no --as).

"
    };
}

/// `proxy-connection`: a direct WebRTC connection negotiated with Jingle `<iq>`s.
#[derive(Debug, Parser)]
#[command(
    name = "proxy-connection",
    version,
    about = "A direct WebRTC connection negotiated with Jingle <iq>s (lib-jitsi-meet's \
             ProxyConnectionService), proxying VP8 video.",
    after_help = exit_codes!(),
    propagate_version = true
)]
pub struct Cli {
    /// What to run.
    #[command(subcommand)]
    pub command: Command,
}

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Sender and receiver in one process over UDP on 127.0.0.1, checking every frame.
    #[command(
        long_about = "Sender and receiver in one process over UDP on 127.0.0.1 with \
                      in-process signaling: proxies the clip (default: the built-in \
                      320x180 VP8 clip) at its frame rate, writes what arrived to --out \
                      and checks that every frame arrived intact (exit 6 if not).",
        after_help = exit_codes!()
    )]
    Demo(DemoArgs),
    /// Connect to a peer and send a video file (VP8, VP9, AV1 or H.264) at its frame
    /// rate, then stop.
    #[command(
        long_about = "Connect to --to (session-initiate), send FILE at its frame rate, \
                      keep the connection 1 s after the last frame, then stop \
                      (session-terminate) and exit 0. If the peer ends the session first, \
                      sending stops and the exit code is 0 too. FILE is IVF with VP8, VP9 \
                      or AV1 (fourcc VP80, VP90, AV01), or H.264 in Annex B form \
                      (extension .h264 or .264, or a start code at its beginning; sent \
                      one access unit per frame at --fps). The track is offered with \
                      the file's codec first; if the peer's answer has none of it, send \
                      says so, ends the session and exits 4.",
        after_help = concat!(signaling_help!(), exit_codes!())
    )]
    Send(SendArgs),
    /// Wait for a peer's connection and record the video it sends.
    #[command(
        long_about = "Wait for a session-initiate, accept it, and record the first video \
                      track to --out until the session ends: FILE.webm (WebM: VP8, VP9 or \
                      AV1 with the first audio track, Opus, aligned by the sender's \
                      clock), FILE.mkv (Matroska: also H.264), anything else IVF (video \
                      only, timestamps from 0, flushed every frame). If no frame arrived, the --out file is \
                      removed (\"no frames received; removed FILE\"); it is created at \
                      start so that a bad path fails at once (exit 3).",
        after_help = concat!(signaling_help!(), exit_codes!())
    )]
    Receive(ReceiveArgs),
}

/// `demo` arguments.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct DemoArgs {
    /// Input clip (VP8 IVF) [default: the built-in 320x180 clip].
    #[arg(long, value_name = "FILE.ivf")]
    pub clip: Option<PathBuf>,
    /// Output IVF file.
    #[arg(long, value_name = "FILE.ivf", default_value = "demo-out.ivf")]
    pub out: PathBuf,
}

/// Where signaling comes from and goes to.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct SignalingArgs {
    /// Read signaling from PATH (a file, FIFO or /dev/fd/N) [default: stdin].
    #[arg(long, value_name = "PATH", conflicts_with = "xmpp")]
    pub signal_in: Option<PathBuf>,
    /// Write signaling to PATH (a file, FIFO or /dev/fd/N) [default: stdout].
    #[arg(long, value_name = "PATH", conflicts_with = "xmpp")]
    pub signal_out: Option<PathBuf>,
    /// XMPP signaling instead of JSON lines.
    #[command(flatten)]
    pub xmpp: XmppArgs,
}

/// Signaling over an XMPP server.
#[derive(Debug, Clone, PartialEq, Eq, Default, Args)]
pub struct XmppArgs {
    /// Carry signaling over this XMPP server.
    #[arg(
        long,
        value_name = "URL",
        value_parser = parse_xmpp_url,
        requires = "domain",
        help = "Carry signaling over this XMPP server: ws://HOST[:PORT]/PATH or wss://... \
                (RFC 7395; Jitsi: /xmpp-websocket), xmpp://HOST[:PORT] (TCP, STARTTLS) or \
                xmpps://HOST[:PORT] (direct TLS)"
    )]
    pub xmpp: Option<XmppServer>,
    /// The XMPP domain to log in to (with --xmpp).
    #[arg(long, value_name = "DOMAIN", requires = "xmpp")]
    pub domain: Option<String>,
    /// XMPP account (the local part); without it, SASL ANONYMOUS.
    #[arg(long, value_name = "USER", requires_all = ["xmpp", "password"])]
    pub user: Option<String>,
    /// Its password.
    #[arg(long, value_name = "PASS", requires = "user")]
    pub password: Option<String>,
    /// A MUC room to join, room@conference.DOMAIN: peers reach us at room@.../NICK.
    #[arg(long, value_name = "ROOM_JID", requires = "xmpp", value_parser = parse_room)]
    pub room: Option<String>,
    /// Our nickname in the room [default: the program's mode, send or receive].
    #[arg(long, value_name = "NICK", requires = "room")]
    pub nick: Option<String>,
    /// The room's password.
    #[arg(long, value_name = "PASS", requires = "room")]
    pub room_password: Option<String>,
    /// The form of the proxy IQs we send (every form is understood on receipt).
    #[arg(long, value_enum, default_value_t = EnvelopeArg::Direct, requires = "xmpp")]
    pub envelope: EnvelopeArg,
    /// TLS with an xmpp:// server: required (STARTTLS), optional, or none.
    #[arg(long, value_enum, default_value_t = XmppTls::Required, requires = "xmpp")]
    pub xmpp_tls: XmppTls,
    /// PEM file of the CA certificates trusted for the XMPP server's TLS
    /// [default: the Mozilla roots].
    #[arg(long, value_name = "FILE", requires = "xmpp")]
    pub xmpp_ca: Option<PathBuf>,
}

/// `--envelope`: how outgoing proxy IQs travel.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum EnvelopeArg {
    /// The `<iq>` itself, as lib-jitsi-meet sends it.
    #[default]
    Direct,
    /// Inside `<proxy xmlns='jitsi:proxy'><data>`.
    JitsiProxy,
    /// Jitsi Spot's {"iq": ...} message.
    Spot,
}

/// `--xmpp-tls`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum XmppTls {
    /// STARTTLS; a server without it is an error.
    #[default]
    Required,
    /// STARTTLS when offered.
    Optional,
    /// Plain text (PLAIN passwords only to a loopback server).
    None,
}

fn parse_xmpp_url(v: &str) -> Result<XmppServer, String> {
    XmppServer::parse(v).map_err(|e| e.to_string())
}

fn parse_room(v: &str) -> Result<String, String> {
    match v.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && !domain.is_empty()
                && !v.contains('/')
                && !v.chars().any(|c| c.is_whitespace() || c.is_control()) =>
        {
            Ok(v.to_owned())
        }
        _ => Err("a room is a bare JID, room@conference.example.com".into()),
    }
}

/// ICE servers and the transport policy.
#[derive(Debug, Clone, PartialEq, Eq, Default, Args)]
pub struct IceArgs {
    /// A STUN or TURN server (repeatable).
    #[arg(
        long = "ice-server",
        value_name = "URL",
        value_parser = parse_ice_server,
        help = "A STUN or TURN server (repeatable): stun:HOST[:PORT], \
                turn:HOST[:PORT][?transport=udp|tcp] (no transport: both), turns:HOST[:PORT][?transport=tcp]"
    )]
    pub servers: Vec<IceServerSpec>,
    /// TURN username (with --ice-password).
    #[arg(long, value_name = "USER", requires = "ice_password")]
    pub ice_username: Option<String>,
    /// TURN password.
    #[arg(long, value_name = "PASS", requires = "ice_username")]
    pub ice_password: Option<String>,
    /// TURN REST secret (coturn's --static-auth-secret): credentials are computed
    /// here, valid for a day.
    #[arg(long, value_name = "SECRET", conflicts_with = "ice_username")]
    pub turn_secret: Option<String>,
    /// Offer relayed candidates only (iceTransportPolicy 'relay').
    #[arg(long)]
    pub relay_only: bool,
    /// PEM file of the CA certificates trusted for turns: [default: the Mozilla roots].
    #[arg(long, value_name = "FILE")]
    pub ice_ca: Option<PathBuf>,
}

fn parse_ice_server(v: &str) -> Result<IceServerSpec, String> {
    IceServerSpec::parse(v).map_err(|e| e.to_string())
}

/// `send` arguments.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct SendArgs {
    /// Our own full JID (the 'from' of what we write); not with --xmpp.
    #[arg(long = "as", value_name = "JID", value_parser = parse_jid,
          required_unless_present = "xmpp", conflicts_with = "xmpp")]
    pub jid: Option<String>,
    /// The peer's full JID.
    #[arg(long, value_name = "JID", value_parser = parse_jid)]
    pub to: String,
    /// UDP address to bind; 0.0.0.0:0 makes host candidates of the default-route
    /// address and 127.0.0.1.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:0")]
    pub bind: SocketAddr,
    /// Signaling channel.
    #[command(flatten)]
    pub signaling: SignalingArgs,
    /// ICE servers.
    #[command(flatten)]
    pub ice: IceArgs,
    /// The file to send: IVF (VP8, VP9, AV1) or Annex B H.264 (.h264, .264).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// Frame rate of an Annex B H.264 file (it has no timestamps) [default: 30];
    /// IVF files have their own.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub fps: Option<u32>,
    /// Print each track's statistics once a second on stderr (bitrate,
    /// frames per second, packets lost, jitter, round-trip time).
    #[arg(long)]
    pub stats: bool,
}

/// `receive` arguments.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct ReceiveArgs {
    /// Our own full JID (the 'from' of what we write); not with --xmpp.
    #[arg(long = "as", value_name = "JID", value_parser = parse_jid,
          required_unless_present = "xmpp", conflicts_with = "xmpp")]
    pub jid: Option<String>,
    /// Output file: .webm or .mkv (audio and video), else IVF (video only); `-`
    /// streams IVF to stdout (then --signal-out is required).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// UDP address to bind; 0.0.0.0:0 makes host candidates of the default-route
    /// address and 127.0.0.1.
    #[arg(long, value_name = "ADDR", default_value = "0.0.0.0:0")]
    pub bind: SocketAddr,
    /// Report received video as desktop (screen share), as a room device does.
    #[arg(long)]
    pub convert_video_to_desktop: bool,
    /// Print each track's statistics once a second on stderr (bitrate,
    /// frames per second, packets lost, jitter, round-trip time).
    #[arg(long)]
    pub stats: bool,
    /// Signaling channel.
    #[command(flatten)]
    pub signaling: SignalingArgs,
    /// ICE servers.
    #[command(flatten)]
    pub ice: IceArgs,
}

impl ReceiveArgs {
    /// Whether the recording goes to stdout.
    pub fn out_is_stdout(&self) -> bool {
        is_stdout(&self.out)
    }
}

/// `-` as a path: standard output.
pub fn is_stdout(path: &Path) -> bool {
    path.as_os_str() == "-"
}

fn parse_jid(v: &str) -> Result<String, String> {
    if v.trim().is_empty() || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("a JID cannot be empty or contain spaces".into());
    }
    Ok(v.to_owned())
}

/// Parses the command line; `Err` holds clap's error (help and version included), to
/// print and exit with its code (0 for `--help`/`--version`, 2 for usage errors).
pub fn parse<I, T>(args: I) -> Result<Command, clap::Error>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = Cli::try_parse_from(args)?;
    if let Command::Receive(r) = &cli.command {
        if r.out_is_stdout() && r.signaling.signal_out.is_none() && r.signaling.xmpp.xmpp.is_none()
        {
            let mut cmd = Cli::command();
            cmd.build();
            let message =
                "--out - writes the video to stdout: signaling then needs --signal-out PATH";
            let kind = clap::error::ErrorKind::MissingRequiredArgument;
            return Err(match cmd.find_subcommand_mut("receive") {
                Some(receive) => receive.error(kind, message),
                None => cmd.error(kind, message),
            });
        }
    }
    Ok(cli.command)
}

/// How the program ends, each with its documented exit code.
#[derive(Debug)]
pub enum Failure {
    /// An input or output file could not be used (exit 3).
    File(String),
    /// No connection was made: refused, timed out, unusable (exit 4).
    NotConnected(String),
    /// The connection was lost mid-session (exit 5).
    Lost(String),
    /// demo: frames lost or damaged (exit 6).
    FramesLost(String),
    /// Stopped by a signal after a clean shutdown (exit 128 + signal number).
    Interrupted(Signal),
    /// Anything else (exit 1).
    Other(String),
}

/// The signals `send` and `receive` stop on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT (Ctrl-C), exit 130.
    Int,
    /// SIGTERM, exit 143.
    Term,
}

impl Signal {
    /// The exit code: 128 + the signal number, as shells report it.
    pub fn exit_code(self) -> i32 {
        match self {
            Signal::Int => 130,
            Signal::Term => 143,
        }
    }

    /// The signal's name.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Int => "SIGINT",
            Signal::Term => "SIGTERM",
        }
    }
}

impl Failure {
    /// The process exit code.
    pub fn exit_code(&self) -> i32 {
        match self {
            Failure::Other(_) => 1,
            Failure::File(_) => 3,
            Failure::NotConnected(_) => 4,
            Failure::Lost(_) => 5,
            Failure::FramesLost(_) => 6,
            Failure::Interrupted(s) => s.exit_code(),
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Interrupted(s) => write!(f, "stopped by {}", s.name()),
            Failure::File(m)
            | Failure::NotConnected(m)
            | Failure::Lost(m)
            | Failure::FramesLost(m)
            | Failure::Other(m) => f.write_str(m),
        }
    }
}

/// How a session ended, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Either side ended it (exit 0).
    Ended,
    /// It never connected: refused, timed out, unusable (exit 4).
    NeverConnected,
    /// It was lost after connecting (exit 5).
    Lost,
}

/// THE classification of a session's end: its close reason (`None`: no close event,
/// e.g. the signaling input ended or the driver stopped) and whether it had connected.
pub fn classify(reason: Option<&CloseReason>, connected: bool) -> Ending {
    use CloseReason::*;
    match reason {
        // We stopped (end of the clip, or a signal): always a chosen end.
        Some(LocalStop) => Ending::Ended,
        // The peer ended it: an end once connected, a refusal before.
        Some(Terminated { .. } | Unavailable | PeerClosed) if connected => Ending::Ended,
        Some(Terminated { .. } | Unavailable | PeerClosed) => Ending::NeverConnected,
        Some(AcceptTimeout | IceTimeout | NegotiationFailed) => Ending::NeverConnected,
        // PeerError, ConnectivityLost, EngineFailed, PeerRestarted, no close event (and
        // reasons added later): lost if it had connected.
        _ if connected => Ending::Lost,
        _ => Ending::NeverConnected,
    }
}

/// The result for a session's end: `Ok` for [`Ending::Ended`], else the failure.
pub fn outcome(reason: Option<&CloseReason>, connected: bool) -> Result<(), Failure> {
    let what = match reason {
        Some(r) => r.to_string(),
        None if connected => "the connection ended with no close event".to_owned(),
        None => "the signaling input ended with no session".to_owned(),
    };
    match classify(reason, connected) {
        Ending::Ended => Ok(()),
        Ending::NeverConnected => Err(Failure::NotConnected(format!("no connection: {what}"))),
        Ending::Lost => Err(Failure::Lost(format!("connection lost: {what}"))),
    }
}

/// The program's one time format: `75.8 ms` under a second, `1.52 s` from one up.
pub fn fmt_time(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s < 1.0 {
        format!("{:.1} ms", s * 1000.0)
    } else {
        format!("{s:.2} s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Command, clap::Error> {
        parse(std::iter::once("proxy-connection").chain(args.iter().copied()))
    }

    fn err(args: &[&str]) -> String {
        p(args).unwrap_err().to_string()
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn demo_defaults_and_options() {
        assert_eq!(
            p(&["demo"]).unwrap(),
            Command::Demo(DemoArgs {
                clip: None,
                out: "demo-out.ivf".into()
            })
        );
        assert_eq!(
            p(&["demo", "--clip", "a.ivf", "--out=b.ivf"]).unwrap(),
            Command::Demo(DemoArgs {
                clip: Some("a.ivf".into()),
                out: "b.ivf".into()
            })
        );
    }

    #[test]
    fn send_and_receive() {
        let none = SignalingArgs {
            signal_in: None,
            signal_out: None,
            xmpp: XmppArgs::default(),
        };
        assert_eq!(
            p(&["send", "--as", "a@x/1", "--to", "b@x/2", "clip.ivf"]).unwrap(),
            Command::Send(SendArgs {
                jid: Some("a@x/1".into()),
                to: "b@x/2".into(),
                file: "clip.ivf".into(),
                bind: "0.0.0.0:0".parse().unwrap(),
                signaling: none.clone(),
                ice: IceArgs::default(),
                stats: false,
                fps: None,
            })
        );
        assert_eq!(
            p(&[
                "receive",
                "--out",
                "o.ivf",
                "--as=b@x/2",
                "--convert-video-to-desktop",
                "--bind",
                "127.0.0.1:5000"
            ])
            .unwrap(),
            Command::Receive(ReceiveArgs {
                jid: Some("b@x/2".into()),
                out: "o.ivf".into(),
                bind: "127.0.0.1:5000".parse().unwrap(),
                convert_video_to_desktop: true,
                signaling: none,
                ice: IceArgs::default(),
                stats: false,
            })
        );
        // --fps for Annex B H.264: 1..=1000.
        let Command::Send(s) =
            p(&["send", "--as", "a", "--to", "b", "--fps", "25", "c.h264"]).unwrap()
        else {
            panic!("not send")
        };
        assert_eq!((s.fps, s.file), (Some(25), PathBuf::from("c.h264")));
        for bad in ["0", "1001", "x"] {
            assert!(p(&["send", "--as", "a", "--to", "b", "--fps", bad, "c.h264"]).is_err());
        }
        // `--` makes a dash-leading file name positional.
        let Command::Send(s) = p(&["send", "--as", "a", "--to", "b", "--", "-f.ivf"]).unwrap()
        else {
            panic!("not send")
        };
        assert_eq!(s.file, PathBuf::from("-f.ivf"));
        // --out - with a signaling output elsewhere.
        let Command::Receive(r) = p(&[
            "receive",
            "--as",
            "b",
            "--out",
            "-",
            "--signal-out",
            "/dev/fd/3",
            "--signal-in",
            "in.fifo",
        ])
        .unwrap() else {
            panic!("not receive")
        };
        assert!(r.out_is_stdout());
        assert_eq!(r.signaling.signal_out, Some("/dev/fd/3".into()));
        assert_eq!(r.signaling.signal_in, Some("in.fifo".into()));
    }

    #[test]
    fn ice_servers_and_policy() {
        let Command::Send(s) = p(&[
            "send",
            "--as",
            "a",
            "--to",
            "b",
            "--ice-server",
            "turn:127.0.0.1:3478?transport=tcp",
            "--ice-server=turns:turn.example.com",
            "--turn-secret",
            "s",
            "--relay-only",
            "--ice-ca",
            "ca.pem",
            "f.ivf",
        ])
        .unwrap() else {
            panic!("not send")
        };
        assert_eq!(s.ice.servers.len(), 2);
        assert_eq!(s.ice.servers[1].port, 5349);
        assert!(s.ice.relay_only);
        assert_eq!(s.ice.turn_secret.as_deref(), Some("s"));
        assert_eq!(s.ice.ice_ca, Some(PathBuf::from("ca.pem")));
        let bad = err(&[
            "send",
            "--as",
            "a",
            "--to",
            "b",
            "--ice-server",
            "http://x",
            "f",
        ]);
        assert!(
            bad.contains("--ice-server") && bad.contains("scheme"),
            "{bad}"
        );
        let both = [
            "--turn-secret",
            "s",
            "--ice-username",
            "u",
            "--ice-password",
            "p",
        ];
        let args: Vec<&str> = ["receive", "--as", "a", "--out", "o"]
            .into_iter()
            .chain(both)
            .collect();
        assert_eq!(p(&args).unwrap_err().exit_code(), 2);
    }

    #[test]
    fn errors_say_what_is_wrong_and_exit_2() {
        for args in [
            &[][..],
            &["fly"],
            &["send", "--to", "b", "f.ivf"],
            &["send", "--as", "a", "--to", "b"],
            &["send", "--as", "a b", "--to", "b", "f"],
            &["receive", "--as", "a", "--out", "o", "--bind", "nope"],
            &["receive", "--as", "a", "--out", "-"],
            &["demo", "--fast"],
        ] {
            assert_eq!(p(args).unwrap_err().exit_code(), 2, "{args:?}");
        }
        assert!(err(&["send", "--to", "b", "f.ivf"]).contains("--as"));
        assert!(err(&["send", "--as", "a", "f.ivf"]).contains("--to"));
        assert!(err(&["send", "--as", "a", "--to", "b"]).contains("<FILE>"));
        assert!(err(&["send", "--as", "a b", "--to", "b", "f"]).contains("JID"));
        assert!(err(&["receive", "--as", "a"]).contains("--out"));
        assert!(err(&["receive", "--as", "a", "--out", "o", "--bind", "nope"]).contains("--bind"));
        assert!(err(&["receive", "--as", "a", "--out", "-"]).contains("--signal-out"));
        assert!(err(&["demo", "--fast"]).contains("--fast"));
    }

    #[test]
    fn help_and_version_exit_0() {
        for args in [
            &["--help"][..],
            &["send", "--help"],
            &["--version"],
            &["help"],
        ] {
            assert_eq!(p(args).unwrap_err().exit_code(), 0, "{args:?}");
        }
    }

    #[test]
    fn classification() {
        use CloseReason::*;
        let term = Terminated {
            condition: "success".into(),
        };
        let err = PeerError {
            details: "rejected".into(),
        };
        for (reason, connected, ending) in [
            (Some(LocalStop), false, Ending::Ended),
            (Some(LocalStop), true, Ending::Ended),
            (Some(term.clone()), true, Ending::Ended),
            (Some(term), false, Ending::NeverConnected),
            (Some(Unavailable), true, Ending::Ended),
            (Some(PeerClosed), true, Ending::Ended),
            (Some(AcceptTimeout), false, Ending::NeverConnected),
            (Some(IceTimeout), false, Ending::NeverConnected),
            (Some(NegotiationFailed), false, Ending::NeverConnected),
            (Some(err.clone()), false, Ending::NeverConnected),
            (Some(err), true, Ending::Lost),
            (Some(ConnectivityLost), true, Ending::Lost),
            (Some(EngineFailed("x".into())), true, Ending::Lost),
            (None, false, Ending::NeverConnected),
            (None, true, Ending::Lost),
        ] {
            assert_eq!(
                classify(reason.as_ref(), connected),
                ending,
                "{reason:?} {connected}"
            );
        }
        assert!(outcome(Some(&LocalStop), true).is_ok());
        assert_eq!(
            outcome(Some(&IceTimeout), false).unwrap_err().exit_code(),
            4
        );
        assert_eq!(
            outcome(Some(&ConnectivityLost), true)
                .unwrap_err()
                .exit_code(),
            5
        );
    }

    #[test]
    fn exit_codes() {
        assert_eq!(Failure::Other("x".into()).exit_code(), 1);
        assert_eq!(Failure::File("x".into()).exit_code(), 3);
        assert_eq!(Failure::NotConnected("x".into()).exit_code(), 4);
        assert_eq!(Failure::Lost("x".into()).exit_code(), 5);
        assert_eq!(Failure::FramesLost("x".into()).exit_code(), 6);
        assert_eq!(Failure::Interrupted(Signal::Int).exit_code(), 130);
        assert_eq!(Failure::Interrupted(Signal::Term).exit_code(), 143);
    }

    #[test]
    fn one_time_format() {
        assert_eq!(fmt_time(Duration::from_micros(75_800)), "75.8 ms");
        assert_eq!(fmt_time(Duration::from_nanos(443_886_888)), "443.9 ms");
        assert_eq!(fmt_time(Duration::from_millis(1520)), "1.52 s");
        assert_eq!(fmt_time(Duration::from_secs(30)), "30.00 s");
    }
}
