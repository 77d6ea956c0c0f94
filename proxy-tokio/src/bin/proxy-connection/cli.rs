//! Command-line parsing (hand-written) and exit codes.

use std::ffi::OsString;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The help text.
pub const USAGE: &str = "\
proxy-connection: a direct WebRTC connection negotiated with Jingle <iq>s
(lib-jitsi-meet's ProxyConnectionService), proxying a VP8 clip.

USAGE:
    proxy-connection demo [--clip FILE.ivf] [--out FILE.ivf]
    proxy-connection send --as JID --to JID [--bind ADDR] FILE.ivf
    proxy-connection receive --as JID --out FILE.ivf [--bind ADDR] [--convert-video-to-desktop]
    proxy-connection help

COMMANDS:
    demo      Sender and receiver in one process over UDP on 127.0.0.1 with
              in-process signaling; proxies the clip (default: the built-in
              320x180 VP8 clip) at its frame rate and writes what arrived to
              --out (default demo-out.ivf). Exit 0 only if every frame arrived intact.
    send      Connect to --to and send FILE.ivf (VP8) at its frame rate, then stop.
    receive   Wait for a connection, write the received video to --out, exit when
              the connection closes.

    send and receive read signaling from stdin and write it to stdout, one JSON
    object per line: {\"from\": JID, \"to\": JID, \"iq\": \"<iq .../>\"}. Logs go to stderr.

OPTIONS:
    --as JID                    Our own full JID (the 'from' of what we write).
    --to JID                    The peer's full JID.
    --out FILE                  Output IVF file.
    --clip FILE                 Input IVF file for demo.
    --bind ADDR                 UDP address to bind (default 0.0.0.0:0: host
                                candidates are the default-route address and 127.0.0.1).
    --convert-video-to-desktop  Report received video as desktop (screen share).
    -h, --help                  This text.

EXIT CODES:
    0  success
    1  other failure (e.g. cannot bind a socket)
    2  usage error (bad arguments)
    3  input/output file error (unreadable, not VP8 IVF, cannot create --out)
    4  connection failed, was refused, or timed out; or frames were lost (demo)
";

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Print the help text.
    Help,
    /// Both sides in one process.
    Demo(DemoArgs),
    /// The sending side.
    Send(SendArgs),
    /// The receiving side.
    Receive(ReceiveArgs),
}

/// `demo` arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoArgs {
    /// Input clip; `None` for the built-in one.
    pub clip: Option<PathBuf>,
    /// Output IVF.
    pub out: PathBuf,
}

/// `send` arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendArgs {
    /// Our JID.
    pub jid: String,
    /// The peer's JID.
    pub to: String,
    /// The IVF file to send.
    pub file: PathBuf,
    /// Where to bind.
    pub bind: SocketAddr,
}

/// `receive` arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiveArgs {
    /// Our JID.
    pub jid: String,
    /// Output IVF.
    pub out: PathBuf,
    /// Where to bind.
    pub bind: SocketAddr,
    /// Report video as desktop.
    pub convert_video_to_desktop: bool,
}

/// A usage error: what was wrong with the arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn usage(msg: impl Into<String>) -> UsageError {
    UsageError(msg.into())
}

const DEFAULT_BIND: ([u8; 4], u16) = ([0, 0, 0, 0], 0);

/// Parses the arguments after the program name.
pub fn parse<I: IntoIterator<Item = OsString>>(args: I) -> Result<Command, UsageError> {
    let mut args = Args::new(args)?;
    let Some(command) = args.next_word() else {
        return Err(usage("missing command (demo, send, receive or help)"));
    };
    match command.as_str() {
        "help" | "-h" | "--help" => Ok(Command::Help),
        "demo" => parse_demo(args),
        "send" => parse_send(args),
        "receive" => parse_receive(args),
        other => Err(usage(format!(
            "unknown command {other:?} (expected demo, send, receive or help)"
        ))),
    }
}

fn parse_demo(mut args: Args) -> Result<Command, UsageError> {
    let mut clip = None;
    let mut out = None;
    while let Some(arg) = args.next_arg() {
        match arg {
            Arg::Flag(f) if is_help(&f) => return Ok(Command::Help),
            Arg::Flag(f) if f == "--clip" => set_once(&mut clip, "--clip", args.value(&f)?)?,
            Arg::Flag(f) if f == "--out" => set_once(&mut out, "--out", args.value(&f)?)?,
            other => return Err(other.unexpected("demo")),
        }
    }
    Ok(Command::Demo(DemoArgs {
        clip: clip.map(PathBuf::from),
        out: PathBuf::from(out.unwrap_or_else(|| "demo-out.ivf".to_owned())),
    }))
}

fn parse_send(mut args: Args) -> Result<Command, UsageError> {
    let (mut jid, mut to, mut bind, mut file) = (None, None, None, None);
    while let Some(arg) = args.next_arg() {
        match arg {
            Arg::Flag(f) if is_help(&f) => return Ok(Command::Help),
            Arg::Flag(f) if f == "--as" => set_once(&mut jid, "--as", jid_value(&mut args, &f)?)?,
            Arg::Flag(f) if f == "--to" => set_once(&mut to, "--to", jid_value(&mut args, &f)?)?,
            Arg::Flag(f) if f == "--bind" => set_once(&mut bind, "--bind", args.value(&f)?)?,
            Arg::Positional(p) => set_once(&mut file, "FILE.ivf", p)?,
            other => return Err(other.unexpected("send")),
        }
    }
    Ok(Command::Send(SendArgs {
        jid: jid.ok_or_else(|| usage("send needs --as JID"))?,
        to: to.ok_or_else(|| usage("send needs --to JID"))?,
        file: PathBuf::from(file.ok_or_else(|| usage("send needs the FILE.ivf to send"))?),
        bind: parse_bind(bind)?,
    }))
}

fn parse_receive(mut args: Args) -> Result<Command, UsageError> {
    let (mut jid, mut out, mut bind) = (None, None, None);
    let mut convert = false;
    while let Some(arg) = args.next_arg() {
        match arg {
            Arg::Flag(f) if is_help(&f) => return Ok(Command::Help),
            Arg::Flag(f) if f == "--as" => set_once(&mut jid, "--as", jid_value(&mut args, &f)?)?,
            Arg::Flag(f) if f == "--out" => set_once(&mut out, "--out", args.value(&f)?)?,
            Arg::Flag(f) if f == "--bind" => set_once(&mut bind, "--bind", args.value(&f)?)?,
            Arg::Flag(f) if f == "--convert-video-to-desktop" => {
                args.no_value(&f)?;
                convert = true;
            }
            other => return Err(other.unexpected("receive")),
        }
    }
    Ok(Command::Receive(ReceiveArgs {
        jid: jid.ok_or_else(|| usage("receive needs --as JID"))?,
        out: PathBuf::from(out.ok_or_else(|| usage("receive needs --out FILE.ivf"))?),
        bind: parse_bind(bind)?,
        convert_video_to_desktop: convert,
    }))
}

fn is_help(flag: &str) -> bool {
    flag == "-h" || flag == "--help"
}

fn set_once(slot: &mut Option<String>, name: &str, value: String) -> Result<(), UsageError> {
    if slot.is_some() {
        return Err(usage(format!("{name} given more than once")));
    }
    *slot = Some(value);
    Ok(())
}

fn jid_value(args: &mut Args, flag: &str) -> Result<String, UsageError> {
    let v = args.value(flag)?;
    if v.trim().is_empty() || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(usage(format!(
            "{flag} needs a JID without spaces, got {v:?}"
        )));
    }
    Ok(v)
}

fn parse_bind(bind: Option<String>) -> Result<SocketAddr, UsageError> {
    match bind {
        None => Ok(SocketAddr::from(DEFAULT_BIND)),
        Some(b) => b.parse().map_err(|_| {
            usage(format!(
                "--bind needs an IP address and port like 127.0.0.1:0, got {b:?}"
            ))
        }),
    }
}

/// One argument: a `--flag` (with an inline `=value` held back) or a positional.
#[derive(Debug)]
enum Arg {
    Flag(String),
    Positional(String),
}

impl Arg {
    fn unexpected(self, command: &str) -> UsageError {
        match self {
            Arg::Flag(f) => usage(format!("unknown option {f} for {command}")),
            Arg::Positional(p) => usage(format!("unexpected argument {p:?} for {command}")),
        }
    }
}

struct Args {
    rest: std::vec::IntoIter<String>,
    /// The `value` of a `--flag=value` just returned by `next_arg`.
    inline: Option<String>,
    /// After `--`, everything is positional.
    positional_only: bool,
}

impl Args {
    fn new<I: IntoIterator<Item = OsString>>(args: I) -> Result<Args, UsageError> {
        let args = args
            .into_iter()
            .map(|a| {
                a.into_string()
                    .map_err(|a| usage(format!("argument {a:?} is not valid UTF-8")))
            })
            .collect::<Result<Vec<String>, UsageError>>()?;
        Ok(Args {
            rest: args.into_iter(),
            inline: None,
            positional_only: false,
        })
    }

    fn next_word(&mut self) -> Option<String> {
        self.rest.next()
    }

    fn next_arg(&mut self) -> Option<Arg> {
        self.inline = None;
        let a = self.rest.next()?;
        if self.positional_only {
            return Some(Arg::Positional(a));
        }
        if a == "--" {
            self.positional_only = true;
            return self.next_arg();
        }
        if a.starts_with('-') && a.len() > 1 {
            if let Some((flag, value)) = a.split_once('=') {
                self.inline = Some(value.to_owned());
                return Some(Arg::Flag(flag.to_owned()));
            }
            return Some(Arg::Flag(a));
        }
        Some(Arg::Positional(a))
    }

    /// The value of `flag`: inline (`--flag=v`) or the next argument.
    fn value(&mut self, flag: &str) -> Result<String, UsageError> {
        if let Some(v) = self.inline.take() {
            return Ok(v);
        }
        match self.rest.next() {
            Some(v) if !(v.starts_with("--") && v.len() > 2) => Ok(v),
            _ => Err(usage(format!("{flag} needs a value"))),
        }
    }

    fn no_value(&mut self, flag: &str) -> Result<(), UsageError> {
        match self.inline.take() {
            Some(_) => Err(usage(format!("{flag} takes no value"))),
            None => Ok(()),
        }
    }
}

/// How the program ends; each kind has its documented exit code.
#[derive(Debug)]
pub enum Failure {
    /// Bad arguments (exit 2).
    Usage(UsageError),
    /// An input or output file could not be used (exit 3).
    File(String),
    /// The connection failed, was refused or timed out (exit 4).
    Connection(String),
    /// Anything else (exit 1).
    Other(String),
}

impl Failure {
    /// The process exit code.
    pub fn exit_code(&self) -> i32 {
        match self {
            Failure::Other(_) => 1,
            Failure::Usage(_) => 2,
            Failure::File(_) => 3,
            Failure::Connection(_) => 4,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Usage(e) => write!(f, "{e}\nRun `proxy-connection help` for usage."),
            Failure::File(m) | Failure::Connection(m) | Failure::Other(m) => f.write_str(m),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Command, UsageError> {
        parse(args.iter().map(OsString::from))
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
        assert_eq!(
            p(&["send", "--as", "a@x/1", "--to", "b@x/2", "clip.ivf"]).unwrap(),
            Command::Send(SendArgs {
                jid: "a@x/1".into(),
                to: "b@x/2".into(),
                file: "clip.ivf".into(),
                bind: "0.0.0.0:0".parse().unwrap(),
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
                jid: "b@x/2".into(),
                out: "o.ivf".into(),
                bind: "127.0.0.1:5000".parse().unwrap(),
                convert_video_to_desktop: true,
            })
        );
        // `--` makes a dash-leading file name positional.
        let Command::Send(s) = p(&["send", "--as", "a", "--to", "b", "--", "-f.ivf"]).unwrap()
        else {
            panic!("not send")
        };
        assert_eq!(s.file, PathBuf::from("-f.ivf"));
    }

    #[test]
    fn help() {
        assert_eq!(p(&["help"]).unwrap(), Command::Help);
        assert_eq!(p(&["--help"]).unwrap(), Command::Help);
        assert_eq!(p(&["send", "-h"]).unwrap(), Command::Help);
    }

    #[test]
    fn errors_say_what_is_wrong() {
        let err = |args: &[&str]| p(args).unwrap_err().0;
        assert!(err(&[]).contains("missing command"));
        assert!(err(&["fly"]).contains("unknown command \"fly\""));
        assert!(err(&["send", "--to", "b", "f.ivf"]).contains("--as"));
        assert!(err(&["send", "--as", "a", "f.ivf"]).contains("--to"));
        assert!(err(&["send", "--as", "a", "--to", "b"]).contains("FILE.ivf"));
        assert!(err(&["send", "--as", "a", "--to", "b", "x", "y"]).contains("more than once"));
        assert!(err(&["send", "--as"]).contains("--as needs a value"));
        assert!(err(&["send", "--as", "--to", "b"]).contains("--as needs a value"));
        assert!(err(&["send", "--as", "a b", "--to", "b", "f"]).contains("JID"));
        assert!(err(&["receive", "--as", "a"]).contains("--out"));
        assert!(err(&["receive", "--as", "a", "--out", "o", "--bind", "nope"]).contains("--bind"));
        assert!(err(&[
            "receive",
            "--as",
            "a",
            "--out",
            "o",
            "--convert-video-to-desktop=1"
        ])
        .contains("takes no value"));
        assert!(err(&["demo", "--fast"]).contains("unknown option --fast"));
        assert!(err(&["demo", "x"]).contains("unexpected argument"));
    }

    #[test]
    fn exit_codes() {
        assert_eq!(Failure::Usage(usage("x")).exit_code(), 2);
        assert_eq!(Failure::File("x".into()).exit_code(), 3);
        assert_eq!(Failure::Connection("x".into()).exit_code(), 4);
        assert_eq!(Failure::Other("x".into()).exit_code(), 1);
    }
}
