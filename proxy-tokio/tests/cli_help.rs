//! `--help` per mode (each its own, with the exit codes), `--version`, usage errors.

use std::process::Output;

const BIN: &str = env!("CARGO_BIN_EXE_proxy-connection");

fn run(args: &[&str]) -> Output {
    std::process::Command::new(BIN).args(args).output().unwrap()
}

fn help(args: &[&str]) -> String {
    let out = run(args);
    assert_eq!(out.status.code(), Some(0), "{args:?}");
    assert!(out.stderr.is_empty(), "{args:?}");
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn each_mode_has_its_own_help_with_the_exit_codes() {
    let top = help(&["--help"]);
    let demo = help(&["demo", "--help"]);
    let send = help(&["send", "--help"]);
    let receive = help(&["receive", "--help"]);
    assert_eq!(help(&["help", "send"]), send);
    for (a, b) in [
        (&top, &demo),
        (&demo, &send),
        (&send, &receive),
        (&top, &receive),
    ] {
        assert_ne!(a, b);
    }
    for text in [&top, &demo, &send, &receive] {
        assert!(text.contains("EXIT CODES"), "{text}");
        assert!(text.contains("143"), "{text}");
    }
    for mode in ["demo", "send", "receive"] {
        assert!(top.contains(mode), "{top}");
    }
    assert!(
        send.contains("--to <JID>") && !receive.contains("--to"),
        "{send}"
    );
    assert!(receive.contains("--convert-video-to-desktop"), "{receive}");
    assert!(receive.contains("removed"), "the 0-frames rule: {receive}");
    assert!(demo.contains("--clip") && !demo.contains("--as"), "{demo}");
    for text in [&send, &receive] {
        assert!(text.contains("--signal-in") && text.contains("--signal-out"));
    }
}

#[test]
fn version_prints_the_package_version() {
    for (args, name) in [
        (&["--version"][..], "proxy-connection"),
        (&["-V"], "proxy-connection"),
        (&["receive", "--version"], "proxy-connection-receive"),
    ] {
        let out = help(args);
        assert_eq!(
            out.trim(),
            format!("{name} {}", env!("CARGO_PKG_VERSION")),
            "{args:?}"
        );
    }
}

#[test]
fn usage_errors_exit_2_on_stderr() {
    for args in [
        &[][..],
        &["fly"],
        &["send", "--as", "a@x/1", "f.ivf"],
        &["receive", "--as", "b@x/2", "--out", "-"],
        &["demo", "--fast"],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
        assert!(!out.stderr.is_empty(), "{args:?}");
    }
    let err = String::from_utf8(run(&["receive", "--as", "b@x/2", "--out", "-"]).stderr).unwrap();
    assert!(err.contains("--signal-out"), "{err}");
}
