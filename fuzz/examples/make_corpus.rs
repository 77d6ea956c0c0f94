//! Writes the seed corpus under `fuzz/corpus/<target>/` from the lib-jitsi-meet
//! vectors (and the `net_router` scenarios of `src/net.rs`, the
//! `xmpp_client` ones of `src/xmpp.rs`): `cargo run
//! --example make_corpus` (in `fuzz/`). Re-run it when the
//! vectors or the `service` input format change; libFuzzer adds its own finds
//! next to these (named by their SHA-1, ignored by git).
use std::fs;
use std::path::Path;

use proxy_core::{jingle_to_sdp, parse_iq, Limits};
use proxy_core_fuzz::net::{encode_net, net_seeds};
use proxy_core_fuzz::xmpp::{encode_xmpp, xmpp_seeds};
use proxy_core_fuzz::{encode_ops, jsonl_iqs, service_seeds, vectors, SESSIONS, VECTORS};

fn write(dir: &Path, name: &str, bytes: &[u8]) {
    fs::create_dir_all(dir).expect("corpus directory");
    fs::write(dir.join(name), bytes).expect("corpus file");
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    // Every message: the xml files, the iq fields of the jsonl sessions, and the
    // harness's synthesized messages.
    let mut messages: Vec<(String, String)> = VECTORS
        .iter()
        .map(|(n, t)| (n.trim_end_matches(".xml").to_owned(), (*t).to_owned()))
        .collect();
    for (s, session) in ["happy", "audio-video"].iter().zip(SESSIONS) {
        for (i, iq) in jsonl_iqs(session).into_iter().enumerate() {
            messages.push((format!("{s}-{i}"), iq));
        }
    }
    for (i, m) in vectors().messages.iter().enumerate().skip(VECTORS.len()) {
        messages.push((format!("synthesized-{i}"), m.clone()));
    }
    // One file per distinct message, none so large that libFuzzer's max_len
    // (taken from the corpus) slows every run down.
    let mut seen = std::collections::HashSet::new();
    messages.retain(|(_, text)| text.len() <= 16 * 1024 && seen.insert(text.clone()));
    for (name, text) in &messages {
        write(
            &root.join("parse_iq"),
            &format!("{name}.xml"),
            text.as_bytes(),
        );
        write(
            &root.join("jingle_to_sdp"),
            &format!("{name}.xml"),
            text.as_bytes(),
        );
    }
    // SDP made from every message with a description, plus the str0m fixtures;
    // the first byte picks action/role for the target.
    let mut sdps = 0;
    for (name, text) in &messages {
        let Some(jingle) = parse_iq(text, &Limits::default())
            .ok()
            .and_then(|iq| iq.jingle)
        else {
            continue;
        };
        if !jingle.contents.iter().any(|c| c.description.is_some()) {
            continue;
        }
        if let Ok(sdp) = jingle_to_sdp(&jingle, 1) {
            let mode: u8 = if name.contains("accept") { 3 } else { 0 };
            let mut bytes = vec![mode];
            bytes.extend(sdp.as_bytes());
            write(&root.join("sdp_to_jingle"), &format!("{name}.sdp"), &bytes);
            sdps += 1;
        }
    }
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../proxy-core/tests/fixtures");
    if let Ok(entries) = fs::read_dir(&fixtures) {
        for e in entries.flatten() {
            let path = e.path();
            if path.extension().is_some_and(|x| x == "sdp") {
                let name = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("fixture");
                let mode: u8 = if name.contains("answer") { 3 } else { 0 };
                let mut bytes = vec![mode];
                bytes.extend(fs::read(&path).expect("fixture"));
                write(&root.join("sdp_to_jingle"), name, &bytes);
                sdps += 1;
            }
        }
    }
    for (name, ops) in service_seeds() {
        write(
            &root.join("service"),
            &format!("{name}.bin"),
            &encode_ops(&ops),
        );
    }
    for (name, input) in net_seeds() {
        write(
            &root.join("net_router"),
            &format!("{name}.bin"),
            &encode_net(&input),
        );
    }
    for (name, input) in xmpp_seeds() {
        write(
            &root.join("xmpp_client"),
            &format!("{name}.bin"),
            &encode_xmpp(&input),
        );
    }
    println!(
        "{} messages, {sdps} SDPs, {} service scenarios, {} net_router scenarios, \
         {} xmpp_client scenarios",
        messages.len(),
        service_seeds().len(),
        net_seeds().len(),
        xmpp_seeds().len()
    );
    assert!(
        vectors().converted,
        "the converter made no SDP from the vectors"
    );
}
