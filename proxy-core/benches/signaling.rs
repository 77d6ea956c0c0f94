//! Signaling benchmarks: parsing, converting and writing lib-jitsi-meet's real
//! Jingle messages, against two baselines measured in the same run:
//!
//! - the floor: a bare quick-xml token scan of the same bytes (every event and
//!   every attribute touched, nothing allocated, nothing resolved or unescaped);
//! - xmpp-parsers, as a Rust user would use it: `minidom::Element` parsed from the
//!   string, then `Iq::try_from` and `Jingle::try_from` of its payload.
//!
//! The conversions (Jingle -> SDP, SDP -> Jingle) are built on sdp-types'
//! `Session` model; reading an SDP with sdp-types' `Session::parse` alone is timed
//! as the floor of a conversion that reads the SDP with it.
//!
//! Before divan's timings, `main` prints how many allocations (and bytes) one run
//! of each operation makes, counted by the global allocator below.
//!
//! Run with `cargo bench -p proxy-core --bench signaling`; results and analysis
//! are in `benches/RESULTS.md`.
//!
//! The vectors are read at run time from `tests/vectors` (see its README).
#![deny(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::LazyLock;

use proxy_core::jingle::{Action, Creator};
use proxy_core::{jingle_to_sdp, parse_iq, sdp_to_jingle, write_iq, Iq, Limits};
use xmpp_parsers::minidom::Element;

// ---------------------------------------------------------------------------
// Allocation counting
// ---------------------------------------------------------------------------

/// The system allocator, counting allocations while [`COUNTING`] is set. When it
/// is not set (during divan's timings) the only cost is one relaxed load.
struct CountingAlloc;

static COUNTING: AtomicBool = AtomicBool::new(false);
static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

impl CountingAlloc {
    fn tally(bytes: usize) {
        if COUNTING.load(Relaxed) {
            ALLOCS.fetch_add(1, Relaxed);
            BYTES.fetch_add(bytes as u64, Relaxed);
        }
    }
}

// SAFETY: every method forwards its arguments unchanged to `System`, which
// upholds `GlobalAlloc`'s contract; the counters only read the layout sizes.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Self::tally(layout.size());
        // SAFETY: the caller's contract for `alloc` is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Self::tally(layout.size());
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` via this allocator with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // A realloc counts as one allocation of the bytes it adds.
        Self::tally(new_size.saturating_sub(layout.size()));
        // SAFETY: `ptr` came from `System` via this allocator with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Allocations and bytes requested by one call of `f` (after one warm-up call,
/// so lazily built statics are not counted).
fn count_allocs<R>(mut f: impl FnMut() -> R) -> (u64, u64) {
    count_allocs_with(|| (), |()| f())
}

/// As [`count_allocs`], for `f(setup())`, counting only `f`.
fn count_allocs_with<I, R>(mut setup: impl FnMut() -> I, mut f: impl FnMut(I) -> R) -> (u64, u64) {
    drop(black_box(f(setup())));
    let input = setup();
    ALLOCS.store(0, Relaxed);
    BYTES.store(0, Relaxed);
    COUNTING.store(true, Relaxed);
    let r = f(input);
    COUNTING.store(false, Relaxed);
    drop(black_box(r));
    (ALLOCS.load(Relaxed), BYTES.load(Relaxed))
}

// ---------------------------------------------------------------------------
// Inputs
// ---------------------------------------------------------------------------

/// The captured lib-jitsi-meet messages, `tests/vectors`.
fn vectors_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn vector(name: &str) -> String {
    let path = vectors_dir().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// The audio+video session-initiate lib-jitsi-meet sent (11 KiB).
static INITIATE_AV: LazyLock<String> =
    LazyLock::new(|| vector("11-session-initiate.audio+video.sender-to-receiver.xml"));
/// A transport-info with two candidates (840 bytes).
static TRANSPORT_INFO: LazyLock<String> =
    LazyLock::new(|| vector("04-transport-info.sender-to-receiver.xml"));
/// str0m's answer to the audio+video offer.
const ANSWER_AV_SDP: &str = include_str!("../tests/fixtures/str0m-answer-av.sdp");

/// lib-jitsi-meet's messages with what xmpp-parsers requires added: `iq@id`
/// (RFC 6120 makes it mandatory; lib-jitsi-meet's proxy messages have none),
/// `jingle@sid` (XEP-0166 requires it; lib-jitsi-meet's proxy messages have none)
/// and `fingerprint@setup` where it is missing (XEP-0320 makes it mandatory;
/// lib-jitsi-meet leaves it out of transport-info).
fn with_id_and_sid(iq: &str) -> String {
    let s = iq.replacen("<iq ", "<iq id=\"bench-1\" ", 1).replacen(
        "<jingle ",
        "<jingle sid=\"bench-sid\" ",
        1,
    );
    let mut out = String::with_capacity(s.len() + 32);
    let mut rest = s.as_str();
    while let Some(at) = rest.find("<fingerprint ") {
        let (before, tag) = rest.split_at(at);
        out.push_str(before);
        let end = tag.find('>').unwrap_or(tag.len());
        if tag[..end].contains(" setup=") {
            out.push_str("<fingerprint ");
        } else {
            out.push_str("<fingerprint setup=\"actpass\" ");
        }
        rest = &tag["<fingerprint ".len()..];
    }
    out.push_str(rest);
    out
}
static INITIATE_AV_XMPP: LazyLock<String> = LazyLock::new(|| with_id_and_sid(&INITIATE_AV));
static TRANSPORT_INFO_XMPP: LazyLock<String> = LazyLock::new(|| with_id_and_sid(&TRANSPORT_INFO));

static PARSED_INITIATE_AV: LazyLock<Iq> =
    LazyLock::new(|| parse_iq(&INITIATE_AV, &Limits::default()).expect("vector 11 parses"));
static LIMITS: Limits = Limits {
    max_bytes: 256 * 1024,
    max_depth: 16,
    max_contents: 16,
    max_payload_types: 64,
    max_candidates: 64,
    max_sources: 64,
    max_children: 64,
};

// ---------------------------------------------------------------------------
// The operations
// ---------------------------------------------------------------------------

/// A parse result used and dropped inside the timed call, as a service does
/// with each message (and as the floor frees what it allocates): divan would
/// otherwise keep the results of a whole sample alive and drop them untimed,
/// which times allocation into memory that is never reused.
fn consumed<T>(parsed: T) -> usize {
    black_box(&parsed);
    std::mem::size_of_val(&parsed)
}

/// Our parser: bounded, namespace-checked, into the typed model.
fn ours_parse(s: &str) -> Iq {
    parse_iq(s, &LIMITS).expect("the vector parses")
}

/// Parse, then build the SDP offer, as the responder does on session-initiate.
fn ours_parse_to_sdp(s: &str) -> String {
    let iq = ours_parse(s);
    let jingle = iq.jingle.expect("the vector has a jingle");
    jingle_to_sdp(&jingle, 1).expect("the vector converts")
}

/// The engine's SDP answer to a session-accept IQ on the wire.
fn ours_sdp_to_accept(sdp: &str) -> String {
    let mut jingle =
        sdp_to_jingle(sdp, Action::SessionAccept, Creator::Responder).expect("the SDP converts");
    jingle.sid = Some("bench-sid".into());
    write_iq(&Iq::set("sender@example.com/s1", jingle))
}

/// SDP -> Jingle alone, ours.
fn ours_sdp_to_jingle(sdp: &str) -> usize {
    consumed(sdp_to_jingle(sdp, Action::SessionAccept, Creator::Responder).expect("converts"))
}

/// The floor of SDP -> Jingle: sdp-types reading the SDP, nothing built from it.
fn sdp_types_parse(sdp: &str) -> usize {
    consumed(sdp_types::Session::parse(sdp.as_bytes()).expect("parses"))
}

/// The floor: every quick-xml event and attribute touched, nothing allocated.
fn floor_scan(s: &str) -> usize {
    let mut r = quick_xml::Reader::from_str(s);
    let mut n = 0usize;
    loop {
        match r.read_event().expect("the vector is well formed") {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                n += e.name().into_inner().len();
                for a in e.attributes() {
                    let a = a.expect("the vector's attributes are well formed");
                    n += a.key.into_inner().len() + a.value.len();
                }
            }
            quick_xml::events::Event::Text(t) => n += t.len(),
            quick_xml::events::Event::Eof => return n,
            other => n += black_box(&other).len(),
        }
    }
}

/// The floor without quick-xml's duplicate-attribute check (which allocates one
/// small `Vec` per element with attributes): the least work a tokenizer does.
fn floor_scan_unchecked(s: &str) -> usize {
    let mut r = quick_xml::Reader::from_str(s);
    let mut n = 0usize;
    loop {
        match r.read_event().expect("the vector is well formed") {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e) => {
                n += e.name().into_inner().len();
                for a in e.attributes().with_checks(false) {
                    let a = a.expect("the vector's attributes are well formed");
                    n += a.key.into_inner().len() + a.value.len();
                }
            }
            quick_xml::events::Event::Text(t) => n += t.len(),
            quick_xml::events::Event::Eof => return n,
            other => n += black_box(&other).len(),
        }
    }
}

/// The reader work our parser asks quick-xml for, and nothing else: the
/// namespace-resolving reader, each element's namespace resolved, each attribute
/// value normalized, each text unescaped. The gap between this and the floor is
/// quick-xml's; the gap between this and `parse_iq` is ours.
fn ns_scan(s: &str) -> usize {
    use quick_xml::events::Event;
    use quick_xml::name::ResolveResult;
    let mut r = quick_xml::NsReader::from_str(s);
    let mut n = 0usize;
    loop {
        match r.read_event().expect("the vector is well formed") {
            Event::Start(e) | Event::Empty(e) => {
                if let (ResolveResult::Bound(ns), _) = r.resolver().resolve_element(e.name()) {
                    n += ns.0.len();
                }
                for a in e.attributes() {
                    let a = a.expect("the vector's attributes are well formed");
                    let v = a
                        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                        .expect("the vector's values are well formed");
                    n += a.key.into_inner().len() + v.len();
                }
            }
            Event::Text(t) => n += t.xml10_content().len(),
            Event::Eof => return n,
            other => n += black_box(&other).len(),
        }
    }
}

/// What a Rust XMPP user would do: minidom, then xmpp-parsers' typed IQ and Jingle.
fn xmpp_parse(s: &str) -> Result<xmpp_parsers::jingle::Jingle, String> {
    let elem: Element = s.parse().map_err(|e| format!("minidom: {e}"))?;
    let iq = xmpp_parsers::iq::Iq::try_from(elem).map_err(|e| format!("Iq: {e}"))?;
    let xmpp_parsers::iq::Iq::Set { payload, .. } = iq else {
        return Err("not a set".into());
    };
    xmpp_parsers::jingle::Jingle::try_from(payload).map_err(|e| format!("Jingle: {e}"))
}

/// xmpp-parsers' writer, for comparison with `write_iq`: typed Jingle back to a
/// string inside an `<iq>` (the conversion consumes the value, so the benchmark
/// clones it outside the timed part).
fn xmpp_write(jingle: xmpp_parsers::jingle::Jingle) -> String {
    let iq = xmpp_parsers::iq::Iq::from_set("bench-1", jingle);
    let elem = Element::from(iq);
    String::from(&elem)
}

static XMPP_INITIATE_AV: LazyLock<xmpp_parsers::jingle::Jingle> = LazyLock::new(|| {
    xmpp_parse(&INITIATE_AV_XMPP).expect("xmpp-parsers reads vector 11 with id and sid")
});

// ---------------------------------------------------------------------------
// Benchmarks
// ---------------------------------------------------------------------------

/// Parsing, on each input: ours, the two floors, the reader work we ask of
/// quick-xml, and xmpp-parsers (as sent, and the variant it can read).
mod parse {
    use super::*;

    /// 11-session-initiate.audio+video (11.5 KB) and 04-transport-info (840 B).
    pub(super) const VECTORS: [&str; 2] = ["11 session-initiate a+v", "04 transport-info"];

    /// The message as lib-jitsi-meet sent it.
    pub(super) fn sent(vector: &str) -> &'static str {
        if vector.starts_with("11") {
            &INITIATE_AV
        } else {
            &TRANSPORT_INFO
        }
    }

    /// The copy xmpp-parsers can read (see `with_id_and_sid`).
    pub(super) fn readable(vector: &str) -> &'static str {
        if vector.starts_with("11") {
            &INITIATE_AV_XMPP
        } else {
            &TRANSPORT_INFO_XMPP
        }
    }

    #[divan::bench(args = VECTORS)]
    fn ours_parse_iq(vector: &str) -> usize {
        consumed(ours_parse(black_box(sent(vector))))
    }

    #[divan::bench(args = VECTORS)]
    fn floor_quick_xml_scan(vector: &str) -> usize {
        floor_scan(black_box(sent(vector)))
    }

    #[divan::bench(args = VECTORS)]
    fn floor_quick_xml_scan_unchecked(vector: &str) -> usize {
        floor_scan_unchecked(black_box(sent(vector)))
    }

    #[divan::bench(args = VECTORS)]
    fn quick_xml_ns_normalized_scan(vector: &str) -> usize {
        ns_scan(black_box(sent(vector)))
    }

    /// lib-jitsi-meet's message as sent: fails (no iq@id).
    #[divan::bench(args = VECTORS)]
    fn xmpp_parsers_as_sent_fails(vector: &str) -> bool {
        xmpp_parse(black_box(sent(vector))).is_err()
    }

    /// With iq@id and jingle@sid (and, for 04, fingerprint@setup) added.
    #[divan::bench(args = VECTORS)]
    fn xmpp_parsers_with_id_sid(vector: &str) -> usize {
        consumed(xmpp_parse(black_box(readable(vector))).expect("parses"))
    }
}

/// Jingle <-> SDP and writing.
mod convert_and_write {
    use super::*;

    /// parse_iq(11) then jingle_to_sdp: the responder's work on session-initiate.
    #[divan::bench]
    fn ours_parse_then_jingle_to_sdp() -> String {
        ours_parse_to_sdp(black_box(&INITIATE_AV))
    }

    /// jingle_to_sdp alone, on the already parsed 11.
    #[divan::bench]
    fn ours_jingle_to_sdp_only() -> String {
        let j = PARSED_INITIATE_AV.jingle.as_ref().expect("has jingle");
        jingle_to_sdp(black_box(j), 1).expect("converts")
    }

    /// sdp_to_jingle alone (str0m's a+v answer).
    #[divan::bench]
    fn ours_sdp_to_jingle_only() -> usize {
        ours_sdp_to_jingle(black_box(ANSWER_AV_SDP))
    }

    /// The floor: sdp-types' `Session::parse` of the same answer, and the drop.
    #[divan::bench]
    fn floor_sdp_types_parse_only() -> usize {
        sdp_types_parse(black_box(ANSWER_AV_SDP))
    }

    /// sdp_to_jingle(str0m's answer) then write_iq of the session-accept.
    #[divan::bench]
    fn ours_sdp_to_jingle_then_write_iq() -> String {
        ours_sdp_to_accept(black_box(ANSWER_AV_SDP))
    }

    /// write_iq of the parsed 11.
    #[divan::bench]
    fn ours_write_iq_session_initiate_av() -> String {
        write_iq(black_box(&PARSED_INITIATE_AV))
    }

    /// xmpp-parsers writing its parse of 11 (with id and sid).
    #[divan::bench]
    fn xmpp_parsers_write_session_initiate_av(bencher: divan::Bencher) {
        bencher
            .with_inputs(|| XMPP_INITIATE_AV.clone())
            .bench_local_values(xmpp_write);
    }
}

// ---------------------------------------------------------------------------
// Allocation table
// ---------------------------------------------------------------------------

fn print_alloc_table() {
    // Build every input before counting.
    LazyLock::force(&INITIATE_AV);
    LazyLock::force(&TRANSPORT_INFO);
    LazyLock::force(&INITIATE_AV_XMPP);
    LazyLock::force(&TRANSPORT_INFO_XMPP);
    LazyLock::force(&PARSED_INITIATE_AV);
    LazyLock::force(&XMPP_INITIATE_AV);

    // What xmpp-parsers says about the messages as lib-jitsi-meet sends them.
    for (name, s) in [
        ("11-session-initiate.audio+video", &*INITIATE_AV),
        ("04-transport-info", &*TRANSPORT_INFO),
    ] {
        match xmpp_parse(s) {
            Ok(_) => println!("xmpp-parsers reads {name} as sent"),
            Err(e) => println!("xmpp-parsers fails on {name} as sent: {e}"),
        }
    }
    println!();

    let jingle11 = PARSED_INITIATE_AV.jingle.as_ref().expect("has jingle");
    // The parse group's six operations on each vector, then the rest.
    let mut rows: Vec<(String, (u64, u64))> = Vec::new();
    for vector in parse::VECTORS {
        let (sent, readable) = (parse::sent(vector), parse::readable(vector));
        rows.extend([
            (
                format!("parse {vector}: ours parse_iq"),
                count_allocs(|| ours_parse(sent)),
            ),
            (
                format!("parse {vector}: floor quick-xml scan"),
                count_allocs(|| floor_scan(sent)),
            ),
            (
                format!("parse {vector}: floor, no duplicate-attribute check"),
                count_allocs(|| floor_scan_unchecked(sent)),
            ),
            (
                format!("parse {vector}: quick-xml NsReader + normalized values"),
                count_allocs(|| ns_scan(sent)),
            ),
            (
                format!("parse {vector}: xmpp-parsers as sent (fails)"),
                count_allocs(|| xmpp_parse(sent).is_err()),
            ),
            (
                format!("parse {vector}: xmpp-parsers, the copy it can read"),
                count_allocs(|| xmpp_parse(readable)),
            ),
        ]);
    }
    let rest: [(&str, (u64, u64)); 7] = [
        (
            "parse 11 + jingle_to_sdp: ours",
            count_allocs(|| ours_parse_to_sdp(&INITIATE_AV)),
        ),
        (
            "jingle_to_sdp only (11): ours",
            count_allocs(|| jingle_to_sdp(jingle11, 1)),
        ),
        (
            "sdp_to_jingle only (answer a+v): ours",
            count_allocs(|| ours_sdp_to_jingle(ANSWER_AV_SDP)),
        ),
        (
            "sdp-types Session::parse only (answer a+v): floor",
            count_allocs(|| sdp_types_parse(ANSWER_AV_SDP)),
        ),
        (
            "sdp_to_jingle + write_iq (accept a+v): ours",
            count_allocs(|| ours_sdp_to_accept(ANSWER_AV_SDP)),
        ),
        (
            "write_iq 11: ours",
            count_allocs(|| write_iq(&PARSED_INITIATE_AV)),
        ),
        (
            "write 11: xmpp-parsers",
            count_allocs_with(|| XMPP_INITIATE_AV.clone(), xmpp_write),
        ),
    ];
    rows.extend(rest.map(|(name, counts)| (name.to_owned(), counts)));
    println!(
        "Allocations per operation (one call; reallocs count as one, with the bytes they add):"
    );
    println!("| operation | allocations | bytes |");
    println!("|---|---:|---:|");
    for (name, (allocs, bytes)) in rows {
        println!("| {name} | {allocs} | {bytes} |");
    }
    println!();
}

// ---------------------------------------------------------------------------
// Interleaved ratios
// ---------------------------------------------------------------------------

/// One parse to time (its result used and dropped).
type Op<'a> = &'a dyn Fn() -> usize;

/// Median time per call of each of `ops`, measured in rounds that run every op
/// once (a batch of `batch` calls each), the order rotating from round to
/// round: a change in the machine's load during the run hits every op alike,
/// so the ratios hold even where divan's one-after-the-other timings drift.
/// (Each batch starts with caches another op has just used: batches of about
/// a millisecond keep that cost out of the median.)
fn interleaved(ops: &[Op], rounds: usize, batch: usize) -> Vec<f64> {
    let mut samples = vec![Vec::with_capacity(rounds); ops.len()];
    for round in 0..rounds {
        for k in 0..ops.len() {
            let i = (round + k) % ops.len();
            let op = ops[i];
            let start = std::time::Instant::now();
            for _ in 0..batch {
                black_box(op());
            }
            samples[i].push(start.elapsed().as_secs_f64() / batch as f64);
        }
    }
    samples
        .into_iter()
        .map(|mut s| {
            s.sort_by(f64::total_cmp);
            s[s.len() / 2]
        })
        .collect()
}

/// The goals' ratios (ours against the floor and against xmpp-parsers),
/// measured interleaved; `SIGNALING_ROUNDS` sets the rounds (default 150).
fn print_interleaved_table() {
    let rounds = std::env::var("SIGNALING_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(150);
    // About a millisecond of ours per batch.
    let cases = [(parse::VECTORS[0], 40), (parse::VECTORS[1], 400)];
    println!("Interleaved medians ({rounds} rounds, order rotating; a call = parse + drop):");
    println!();
    println!("| operation | ours | floor | xmpp-parsers | ours / floor | xmpp-parsers / ours |");
    println!("|---|---:|---:|---:|---:|---:|");
    for (vector, batch) in cases {
        let (sent, readable) = (parse::sent(vector), parse::readable(vector));
        let ours = || consumed(ours_parse(black_box(sent)));
        let floor = || floor_scan(black_box(sent));
        let xmpp = || consumed(xmpp_parse(black_box(readable)).expect("parses"));
        let t = interleaved(&[&ours, &floor, &xmpp], rounds, batch);
        println!(
            "| parse {vector} | {:.2} µs | {:.2} µs | {:.1} µs | {:.2}x | {:.1}x |",
            t[0] * 1e6,
            t[1] * 1e6,
            t[2] * 1e6,
            t[0] / t[1],
            t[2] / t[0]
        );
    }
    println!();

    // The conversions, and the floor of reading an SDP.
    let jingle11 = PARSED_INITIATE_AV.jingle.as_ref().expect("has jingle");
    let ours_to = || consumed(jingle_to_sdp(black_box(jingle11), 1).expect("converts"));
    let ours_from = || ours_sdp_to_jingle(black_box(ANSWER_AV_SDP));
    let floor_from = || sdp_types_parse(black_box(ANSWER_AV_SDP));
    let sent11 = parse::sent(parse::VECTORS[0]);
    let ours_both = || ours_parse_to_sdp(black_box(sent11)).len();
    let floor_both = || floor_scan(black_box(sent11));
    let t = interleaved(
        &[&ours_to, &ours_from, &floor_from, &ours_both, &floor_both],
        rounds,
        40,
    );
    println!("Conversions, interleaved the same way ({rounds} rounds):");
    println!();
    println!("| operation | ours | floor | ours / floor |");
    println!("|---|---:|---:|---:|");
    println!("| jingle_to_sdp (11) | {:.2} µs | – | – |", t[0] * 1e6);
    println!(
        "| sdp_to_jingle (str0m answer a+v), floor: sdp-types `Session::parse` | {:.2} µs | {:.2} µs | {:.2}x |",
        t[1] * 1e6,
        t[2] * 1e6,
        t[1] / t[2]
    );
    println!(
        "| parse 11 + jingle_to_sdp, floor: the quick-xml scan of 11 | {:.2} µs | {:.2} µs | {:.2}x |",
        t[3] * 1e6,
        t[4] * 1e6,
        t[3] / t[4]
    );
    println!();
}

fn main() {
    print_alloc_table();
    print_interleaved_table();
    divan::main();
}
