//! Scale: N connected pairs in one tokio process (2 worker threads), each
//! sender writing 1 KB VP8 frames at 30 fps for a few seconds; CPU time and
//! resident memory per connection, proxy-tokio against bare str0m on tokio
//! sockets. Each row runs in a fresh child process so memory starts clean.
//!
//! `cargo bench -p proxy-tokio --bench scale` (N = 10 and 100; set
//! `SCALE_N=10,100,1000` for more, `SCALE_SECS` for the streaming time).

mod support;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use support::{bare_link, process_cpu, proxy_link, rss_kib, vp8_frame};

const CHILD: &str = "PROXY_SCALE_CHILD";
/// Pairs set up at the same time.
const BATCH: usize = 25;

fn main() {
    if let Ok(spec) = std::env::var(CHILD) {
        child(&spec);
        return;
    }
    // `cargo bench` passes `--bench`; a filter argument is not supported.
    let ns: Vec<usize> = std::env::var("SCALE_N")
        .unwrap_or_else(|_| "10,100".into())
        .split(',')
        .filter_map(|n| n.trim().parse().ok())
        .collect();
    println!(
        "| stack | N | setup wall | frames recv/sent | CPU per conn (% of a core) | CPU ratio | RSS per conn (KiB) | RSS ratio |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let exe = std::env::current_exe().expect("current exe");
    for &n in &ns {
        let mut rows = Vec::new();
        for kind in ["proxy-tokio", "bare-str0m"] {
            let out = std::process::Command::new(&exe)
                .env(CHILD, format!("{kind}:{n}"))
                .output()
                .expect("child");
            let text = String::from_utf8_lossy(&out.stdout).to_string();
            if !out.status.success() {
                eprintln!(
                    "{kind} N={n} failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            let f: Vec<f64> = text
                .split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect();
            rows.push((kind, f));
        }
        let base = rows
            .iter()
            .find(|r| r.0 == "bare-str0m")
            .map(|r| r.1.clone());
        for (kind, f) in &rows {
            let [setup, recv, sent, cpu, rss] = f[..] else {
                println!("| {kind} | {n} | failed | | | | | |");
                continue;
            };
            let (cr, rr) = match base.as_deref() {
                Some([_, _, _, bc, br]) => (cpu / bc, rss / br),
                _ => (f64::NAN, f64::NAN),
            };
            println!(
                "| {kind} | {n} | {setup:.2} s | {recv:.0}/{sent:.0} | {cpu:.3} | {cr:.2} | {rss:.0} | {rr:.2} |"
            );
        }
    }
}

/// One row: `kind:n`. Prints `setup_secs received sent cpu_percent_per_conn rss_kib_per_conn`.
fn child(spec: &str) {
    let (kind, n) = spec.split_once(':').expect("kind:n");
    let n: usize = n.parse().expect("n");
    let proxy = kind == "proxy-tokio";
    let secs: u64 = std::env::var("SCALE_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let rss0 = rss_kib();
        let started = Instant::now();
        let mut links = Vec::new();
        while links.len() < n {
            let batch = BATCH.min(n - links.len());
            let mut set = tokio::task::JoinSet::new();
            for _ in 0..batch {
                set.spawn(async move {
                    let frame = vp8_frame(0, true, 1000);
                    let mut link = if proxy {
                        proxy_link(frame).await
                    } else {
                        bare_link(frame).await
                    };
                    let ok = link.first_frame(Duration::from_secs(30)).await;
                    (link, ok)
                });
            }
            while let Some(r) = set.join_next().await {
                let (link, ok) = r.expect("join");
                assert!(ok, "{kind}: a pair did not connect");
                links.push(link);
            }
        }
        let setup = started.elapsed();
        // Settle, then stream.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let before: u64 = links
            .iter()
            .map(|l| l.received.load(Ordering::Relaxed))
            .sum();
        let cpu0 = process_cpu();
        let t0 = Instant::now();
        let frames = secs * 30;
        let mut set = tokio::task::JoinSet::new();
        for (i, link) in links.iter().enumerate() {
            let writer = match &link.writer {
                support::Writer::Proxy(w) => support::Writer::Proxy(w.clone()),
                support::Writer::Bare(tx) => support::Writer::Bare(tx.clone()),
            };
            set.spawn(async move {
                // Spread the senders over the frame interval.
                let interval = Duration::from_nanos(1_000_000_000 / 30);
                let offset = interval * (i as u32 % 33) / 33;
                let start = tokio::time::Instant::now() + offset;
                let mut sent = 0u64;
                for k in 1..=frames {
                    tokio::time::sleep_until(start + interval * k as u32).await;
                    let data = vp8_frame(k as u32, k % 30 == 0, 1000);
                    if writer.write(interval * k as u32, data).await {
                        sent += 1;
                    }
                }
                sent
            });
        }
        let mut sent = 0u64;
        while let Some(r) = set.join_next().await {
            sent += r.expect("join");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let wall = t0.elapsed();
        let cpu = process_cpu() - cpu0;
        let rss = rss_kib();
        let received: u64 = links
            .iter()
            .map(|l| l.received.load(Ordering::Relaxed))
            .sum::<u64>()
            - before;
        let cpu_percent = 100.0 * cpu.as_secs_f64() / wall.as_secs_f64() / n as f64;
        let rss_per = rss.saturating_sub(rss0) as f64 / n as f64;
        println!(
            "{} {received} {sent} {cpu_percent} {rss_per}",
            setup.as_secs_f64()
        );
        drop(links);
    });
}
