//! A `ProxyConnection` with TURN servers (in memory) and a session started,
//! fed server traffic as is, edited or lost, forged datagrams to the host
//! and relayed addresses, stream bytes, peer data through the relay, frames,
//! time steps, vanishing servers and new server lists (see `src/net.rs`):
//! nothing panics and every drain and clock step ends.
#![no_main]

use libfuzzer_sys::fuzz_target;
use proxy_core_fuzz::net::{run_net, NetInput};

fuzz_target!(|input: NetInput| {
    run_net(&input);
});
