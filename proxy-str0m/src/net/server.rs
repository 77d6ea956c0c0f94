//! ICE servers as [`Network`](super::Network) takes them: [`IceServerSpec`], a
//! parser for `stun:`/`turn:`/`turns:` URLs (RFC 7064, RFC 7065) and TURN REST
//! credentials (draft-uberti-behave-turn-rest).

use std::fmt;
use std::time::Instant;

use base64::Engine as _;
use hmac::{Hmac, Mac};
use proxy_core::extdisco::IceTransport;
use proxy_core::{IceServer, IceServerKind};

/// The default port of `stun:` and `turn:` (RFC 7064 §3.2, RFC 7065 §3.2).
pub const DEFAULT_PORT: u16 = 3478;
/// The default port of `stuns:` and `turns:`.
pub const DEFAULT_TLS_PORT: u16 = 5349;

/// What an ICE server offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerKind {
    /// `stun:`: server-reflexive addresses only.
    Stun,
    /// `turn:`: relays over UDP or TCP (also answers STUN Binding).
    Turn,
    /// `turns:`: relays over TLS over TCP.
    Turns,
}

/// The transport between us and a TURN server. The order is the preference
/// (UDP best): it decides relayed candidates' priorities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RelayProto {
    /// TURN over UDP.
    Udp,
    /// TURN over a TCP stream.
    Tcp,
    /// TURN over TLS over a TCP stream.
    Tls,
}

impl RelayProto {
    /// The type preference of a relayed candidate through this transport
    /// (libwebrtc's: UDP 2, TCP 1, TLS 0).
    pub fn type_preference(self) -> u32 {
        match self {
            RelayProto::Udp => 2,
            RelayProto::Tcp => 1,
            RelayProto::Tls => 0,
        }
    }
}

impl fmt::Display for RelayProto {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RelayProto::Udp => "udp",
            RelayProto::Tcp => "tcp",
            RelayProto::Tls => "tls",
        })
    }
}

/// One ICE server, before DNS. Built by hand or with [`IceServerSpec::parse`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct IceServerSpec {
    /// STUN, TURN or TURNS.
    pub kind: ServerKind,
    /// A DNS name or an IP literal (no brackets). For `turns:` also the TLS server name.
    pub host: String,
    /// The port.
    pub port: u16,
    /// `turn:` only: `Some(Udp|Tcp)` from `?transport=`; `None` means both
    /// UDP and TCP. Ignored for `stun:` (UDP) and `turns:` (TLS).
    pub transport: Option<RelayProto>,
    /// TURN username (long-term credentials); `None` for STUN.
    pub username: Option<String>,
    /// TURN password.
    pub password: Option<String>,
    /// When the credentials expire: the server is skipped after this instant.
    pub expires: Option<Instant>,
}

/// Why an ICE server URL was refused.
#[non_exhaustive]
#[derive(thiserror::Error, Debug, Clone, PartialEq, Eq)]
pub enum UrlError {
    /// The scheme is not `stun`, `turn` or `turns`.
    #[error("unknown scheme in {0:?} (expected stun:, turn: or turns:)")]
    Scheme(String),
    /// No host after the scheme.
    #[error("no host in {0:?}")]
    NoHost(String),
    /// The port is not a number in 1..=65535.
    #[error("bad port in {0:?}")]
    Port(String),
    /// An IPv6 literal without its closing `]`.
    #[error("unclosed [ in {0:?}")]
    Bracket(String),
    /// A query other than `transport=udp|tcp` on `turn:` or `transport=tcp`
    /// on `turns:`, or any on `stun:`.
    #[error(
        "bad query in {0:?} (turn: takes ?transport=udp|tcp, turns: ?transport=tcp, stun: none)"
    )]
    Query(String),
}

impl IceServerSpec {
    /// Parses `stun:host[:port]`, `turn:host[:port][?transport=udp|tcp]` or
    /// `turns:host[:port]`. IPv6 literals go in brackets. Credentials are
    /// not part of these URLs: set [`username`](Self::username) and
    /// [`password`](Self::password) after parsing.
    ///
    /// ```
    /// use proxy_str0m::net::{IceServerSpec, RelayProto, ServerKind};
    /// let s = IceServerSpec::parse("turn:[2001:db8::1]?transport=tcp").unwrap();
    /// assert_eq!((s.kind, s.host.as_str(), s.port), (ServerKind::Turn, "2001:db8::1", 3478));
    /// assert_eq!(s.transport, Some(RelayProto::Tcp));
    /// assert_eq!(IceServerSpec::parse("turns:turn.example.com").unwrap().port, 5349);
    /// ```
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        let err = |f: fn(String) -> UrlError| f(url.to_owned());
        let (scheme, rest) = url.split_once(':').ok_or_else(|| err(UrlError::Scheme))?;
        let kind = match scheme.to_ascii_lowercase().as_str() {
            "stun" => ServerKind::Stun,
            "turn" => ServerKind::Turn,
            "turns" => ServerKind::Turns,
            _ => return Err(err(UrlError::Scheme)),
        };
        let (hostport, query) = match rest.split_once('?') {
            Some((h, q)) => (h, Some(q)),
            None => (rest, None),
        };
        let transport = match (kind, query) {
            (_, None) => None,
            (ServerKind::Turn, Some(q)) => match q.to_ascii_lowercase().as_str() {
                "transport=udp" => Some(RelayProto::Udp),
                "transport=tcp" => Some(RelayProto::Tcp),
                _ => return Err(err(UrlError::Query)),
            },
            // RFC 7065: TLS over TCP, as deployments often write it (TURN
            // over DTLS, `transport=udp`, is not supported).
            (ServerKind::Turns, Some(q)) if q.eq_ignore_ascii_case("transport=tcp") => {
                Some(RelayProto::Tcp)
            }
            _ => return Err(err(UrlError::Query)),
        };
        let (host, port) = if let Some(v6) = hostport.strip_prefix('[') {
            let (host, after) = v6.split_once(']').ok_or_else(|| err(UrlError::Bracket))?;
            match after {
                "" => (host, None),
                p => (
                    host,
                    Some(p.strip_prefix(':').ok_or_else(|| err(UrlError::Port))?),
                ),
            }
        } else {
            match hostport.split_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (hostport, None),
            }
        };
        if host.is_empty() {
            return Err(err(UrlError::NoHost));
        }
        let port = match port {
            None if kind == ServerKind::Turns => DEFAULT_TLS_PORT,
            None => DEFAULT_PORT,
            Some(p) => match p.parse::<u16>() {
                Ok(p) if p != 0 => p,
                _ => return Err(err(UrlError::Port)),
            },
        };
        Ok(IceServerSpec {
            kind,
            host: host.to_owned(),
            port,
            transport,
            username: None,
            password: None,
            expires: None,
        })
    }

    /// The transports to relay over: none for STUN, TLS for `turns:`, and
    /// for `turn:` the `transport` or, without one, UDP and TCP.
    pub fn relay_protos(&self) -> &'static [RelayProto] {
        match (self.kind, self.transport) {
            (ServerKind::Stun, _) => &[],
            (ServerKind::Turns, _) => &[RelayProto::Tls],
            (ServerKind::Turn, Some(RelayProto::Udp)) => &[RelayProto::Udp],
            (ServerKind::Turn, Some(RelayProto::Tcp | RelayProto::Tls)) => &[RelayProto::Tcp],
            (ServerKind::Turn, None) => &[RelayProto::Udp, RelayProto::Tcp],
        }
    }

    /// Whether a STUN Binding over UDP is sent to this server for a
    /// server-reflexive address: `stun:`, and `turn:` that relays over UDP.
    pub fn wants_binding(&self) -> bool {
        self.kind == ServerKind::Stun || self.relay_protos().contains(&RelayProto::Udp)
    }
}

/// A server as XEP-0215 (or the application) describes it: the scheme's
/// default port for port 0, IP literals without brackets, credentials that
/// never expire (the engine maps `expires` to its clock itself).
impl From<&IceServer> for IceServerSpec {
    fn from(s: &IceServer) -> IceServerSpec {
        let kind = match s.kind {
            IceServerKind::Stun => ServerKind::Stun,
            IceServerKind::Turn => ServerKind::Turn,
            IceServerKind::Turns => ServerKind::Turns,
        };
        let transport = match &s.transport {
            Some(IceTransport::Udp) => Some(RelayProto::Udp),
            Some(IceTransport::Tcp) => Some(RelayProto::Tcp),
            _ => None,
        };
        let port = match (s.port, kind) {
            (0, ServerKind::Turns) => DEFAULT_TLS_PORT,
            (0, _) => DEFAULT_PORT,
            (p, _) => p,
        };
        // IP literals in brackets (XEP-0215 allows them as hosts).
        let host = s
            .host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        IceServerSpec {
            kind,
            host,
            port,
            transport,
            username: s.username.clone(),
            password: s.password.clone(),
            expires: None,
        }
    }
}

impl fmt::Display for IceServerSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.kind {
            ServerKind::Stun => "stun",
            ServerKind::Turn => "turn",
            ServerKind::Turns => "turns",
        };
        if self.host.contains(':') {
            write!(f, "{scheme}:[{}]:{}", self.host, self.port)?;
        } else {
            write!(f, "{scheme}:{}:{}", self.host, self.port)?;
        }
        match (self.kind, self.transport) {
            (ServerKind::Turn, Some(p)) => write!(f, "?transport={p}"),
            (ServerKind::Turns, Some(_)) => f.write_str("?transport=tcp"),
            _ => Ok(()),
        }
    }
}

/// TURN REST credentials: `username = "<expiry>[:user]"` (Unix seconds) and
/// `password = base64(HMAC-SHA1(secret, username))`, as coturn's
/// `--use-auth-secret` checks them. `unix_now` is passed in (no clock reads).
///
/// ```
/// let (user, pass) = proxy_str0m::net::rest_credentials("s3cret", Some("alice"), 1_700_000_000, 3600);
/// assert_eq!(user, "1700003600:alice");
/// assert_eq!(pass, "YAFdW/YDZewZsR1QSgUk2IrfbRI=");
/// ```
pub fn rest_credentials(
    secret: &str,
    user: Option<&str>,
    unix_now: u64,
    ttl_secs: u64,
) -> (String, String) {
    let expiry = unix_now.saturating_add(ttl_secs);
    let username = match user {
        Some(u) => format!("{expiry}:{u}"),
        None => expiry.to_string(),
    };
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = Hmac::<sha1::Sha1>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(username.as_bytes());
    let password = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    (username, password)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rfc_7064_7065_forms() {
        let s = IceServerSpec::parse("stun:stun.example.org").unwrap();
        assert_eq!(
            (s.kind, s.port, s.transport),
            (ServerKind::Stun, 3478, None)
        );
        assert!(s.wants_binding() && s.relay_protos().is_empty());
        let s = IceServerSpec::parse("turn:10.0.0.1:3479?transport=udp").unwrap();
        assert_eq!((s.host.as_str(), s.port), ("10.0.0.1", 3479));
        assert_eq!(s.relay_protos(), &[RelayProto::Udp]);
        let s = IceServerSpec::parse("TURN:h").unwrap();
        assert_eq!(s.relay_protos(), &[RelayProto::Udp, RelayProto::Tcp]);
        let s = IceServerSpec::parse("turns:h:443").unwrap();
        assert_eq!((s.port, s.relay_protos()), (443, &[RelayProto::Tls][..]));
        assert!(!s.wants_binding());
        let s = IceServerSpec::parse("turn:[::1]:5000?transport=tcp").unwrap();
        assert_eq!((s.host.as_str(), s.port), ("::1", 5000));
        assert_eq!(s.to_string(), "turn:[::1]:5000?transport=tcp");
    }

    #[test]
    fn refuses_bad_urls_with_the_reason() {
        let bad = |u: &str| IceServerSpec::parse(u).unwrap_err();
        assert!(matches!(bad("http://x"), UrlError::Scheme(_)));
        assert!(matches!(bad("nohost"), UrlError::Scheme(_)));
        assert!(matches!(bad("turn:"), UrlError::NoHost(_)));
        assert!(matches!(bad("turn::3478"), UrlError::NoHost(_)));
        assert!(matches!(bad("turn:h:0"), UrlError::Port(_)));
        assert!(matches!(bad("turn:h:70000"), UrlError::Port(_)));
        assert!(matches!(bad("turn:h:x"), UrlError::Port(_)));
        assert!(matches!(bad("turn:[::1"), UrlError::Bracket(_)));
        assert!(matches!(bad("turn:[::1]x"), UrlError::Port(_)));
        assert!(matches!(bad("turn:h?transport=sctp"), UrlError::Query(_)));
        assert!(matches!(bad("stun:h?transport=udp"), UrlError::Query(_)));
        assert!(matches!(bad("turns:h?transport=udp"), UrlError::Query(_)));
        let s = IceServerSpec::parse("turns:h:443?transport=tcp").unwrap();
        assert_eq!(s.relay_protos(), &[RelayProto::Tls]);
        assert_eq!(s.to_string(), "turns:h:443?transport=tcp");
    }

    #[test]
    fn rest_password_matches_a_known_vector() {
        // RFC 2202 test case 2 for HMAC-SHA1: key "Jefe", data
        // "what do ya want for nothing?" gives effcdf6ae5eb2fa2d27416d5f184df9c259a7c79.
        let mut mac = Hmac::<sha1::Sha1>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(hex, "effcdf6ae5eb2fa2d27416d5f184df9c259a7c79");
        // Python's hmac/base64 computed the expected passwords.
        assert_eq!(
            rest_credentials("secret", None, 10, 5),
            ("15".into(), "5oK0sx0hkk5TbIz9R53h8EipnHM=".into())
        );
    }
}
