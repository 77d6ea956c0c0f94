//! What [`Network`](super::Network) is configured with.

use std::net::SocketAddr;
use std::sync::Arc;

/// Which candidates to gather (RTCIceTransportPolicy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IceTransportPolicy {
    /// Host (the engine's), server-reflexive and relayed.
    #[default]
    All,
    /// Relayed only: no Binding is sent.
    Relay,
}

/// What [`Network`](super::Network) works with.
#[derive(Debug, Clone, Default)]
pub struct NetConfig {
    /// The UDP host sockets; the first of each address family talks to TURN
    /// servers over UDP, all of them send Bindings.
    pub host_addrs: Vec<SocketAddr>,
    /// Which candidates to gather.
    pub policy: IceTransportPolicy,
    /// TLS for `turns:` servers (see [`tls_config`]); `None` fails them.
    pub tls: Option<Arc<rustls::ClientConfig>>,
}

/// A TLS client configuration for `turns:`: rustls on aws-lc-rs, these
/// roots, no client certificate, no ALPN.
pub fn tls_config(
    roots: rustls::RootCertStore,
) -> Result<Arc<rustls::ClientConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    Ok(Arc::new(
        rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth(),
    ))
}
