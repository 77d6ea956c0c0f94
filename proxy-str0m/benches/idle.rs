//! Memory of one idle service: `size_of` plus the heap its constructor
//! allocates (divan's counting allocator), for the core
//! `proxy_core::ProxyConnectionService` and for `proxy_str0m::ProxyConnection`
//! (core + str0m engine, no `Rtc` until a session starts).
//!
//! `cargo bench -p proxy-str0m --bench idle`

use std::time::Instant;

use proxy_core::{Config, ProxyConnectionService};
use proxy_str0m::{ProxyConfig, ProxyConnection};

#[global_allocator]
static ALLOC: divan::AllocProfiler = divan::AllocProfiler::system();

fn main() {
    eprintln!(
        "size_of: proxy_core::ProxyConnectionService = {} B, proxy_str0m::ProxyConnection = {} B, str0m::Rtc = {} B",
        std::mem::size_of::<ProxyConnectionService>(),
        std::mem::size_of::<ProxyConnection>(),
        std::mem::size_of::<str0m::Rtc>(),
    );
    divan::main();
}

/// The core service, default config.
#[divan::bench]
fn core_service(bencher: divan::Bencher) {
    bencher
        .with_inputs(Config::default)
        .bench_local_values(ProxyConnectionService::new);
}

/// proxy-str0m's connection with one host candidate, before any session.
#[divan::bench]
fn proxy_str0m_connection(bencher: divan::Bencher) {
    let now = Instant::now();
    bencher
        .with_inputs(|| ProxyConfig {
            core: Config::default(),
            local_addrs: vec!["127.0.0.1:5000".parse().expect("address")],
            ..ProxyConfig::default()
        })
        .bench_local_values(|config| ProxyConnection::new(now, config));
}

/// For scale: one bare str0m `Rtc` as proxy-str0m builds it per session.
#[divan::bench]
fn str0m_rtc() -> str0m::Rtc {
    let mut config = str0m::Rtc::builder()
        .clear_codecs()
        .enable_opus(true, false)
        .enable_vp8(true);
    config.set_max_stun_rto(std::time::Duration::from_secs(1));
    config.build(Instant::now())
}
