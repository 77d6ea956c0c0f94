//! XEP-0215: External Service Discovery, for learning STUN/TURN servers (with
//! time-limited TURN credentials) from the XMPP server, as lib-jitsi-meet does
//! for its P2P ICE configuration.
//!
//! Ask with [`services_query`] (`urn:xmpp:extdisco:2` first; on an error result,
//! lib-jitsi-meet retries with `urn:xmpp:extdisco:1`), read the answer with
//! [`parse_services_result`] (on the same bounded reader as Jingle), and hand
//! each [`IceServer`] to the engine, or turn it into RTCIceServer URLs with
//! [`ice_server_urls`].

use crate::address::is_server_host;
use crate::error::ParseError;
use crate::message::{DefinedCondition, NS_CLIENT, NS_STANZAS};
use crate::xml::{escape, wire_enum, Elem, Limits, Reader};

/// An ICE server, configured or learned through XEP-0215.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceServer {
    /// `stun` or `turn`/`turns`.
    pub kind: IceServerKind,
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Transport, if given.
    pub transport: Option<IceTransport>,
    /// TURN user name.
    pub username: Option<String>,
    /// TURN password.
    pub password: Option<String>,
    /// When the credentials expire, as the server wrote it (ISO 8601), if given.
    pub expires: Option<String>,
}

impl IceServer {
    /// When the credentials expire, as wall-clock time: [`expires`](Self::expires)
    /// read as an XEP-0082 date-time (RFC 3339, or ISO 8601). `None` without
    /// one or when it does not read (then nothing is known to expire).
    pub fn expires_at(&self) -> Option<std::time::SystemTime> {
        use time::format_description::well_known::{Iso8601, Rfc3339};
        let text = self.expires.as_deref()?.trim();
        let t = time::OffsetDateTime::parse(text, &Rfc3339)
            .or_else(|_| time::OffsetDateTime::parse(text, &Iso8601::DEFAULT))
            .ok()?;
        // Checked: a date the platform's clock cannot hold is no date.
        let since = t - time::OffsetDateTime::UNIX_EPOCH;
        let span = std::time::Duration::try_from(since.abs()).ok()?;
        if since.is_negative() {
            std::time::UNIX_EPOCH.checked_sub(span)
        } else {
            std::time::UNIX_EPOCH.checked_add(span)
        }
    }
}

/// The kind of an [`IceServer`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IceServerKind {
    /// STUN.
    Stun,
    /// TURN over UDP/TCP.
    Turn,
    /// TURN over TLS.
    Turns,
}

wire_enum! {
    /// `service@transport`, read case-insensitively and kept in lower case.
    pub enum IceTransport {
        Udp = "udp",
        Tcp = "tcp",
    } else {
        /// Any other value (XEP-0215 names only `udp` and `tcp`).
        Other(String)
    }
}

/// Which version of the extdisco namespace to ask with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExtdiscoVersion {
    /// `urn:xmpp:extdisco:2` (current; Prosody's mod_external_services).
    V2,
    /// `urn:xmpp:extdisco:1` (the fallback; older mod_turncredentials).
    V1,
}

impl ExtdiscoVersion {
    /// The namespace of this version.
    pub fn namespace(self) -> &'static str {
        match self {
            ExtdiscoVersion::V2 => "urn:xmpp:extdisco:2",
            ExtdiscoVersion::V1 => "urn:xmpp:extdisco:1",
        }
    }

    fn from_namespace(ns: &str) -> Option<ExtdiscoVersion> {
        [ExtdiscoVersion::V2, ExtdiscoVersion::V1]
            .into_iter()
            .find(|v| v.namespace() == ns)
    }
}

/// Why an extdisco answer could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExtdiscoError {
    /// The input could not be read: too large or too deep for the [`Limits`],
    /// not well-formed XML, or with forbidden markup (DOCTYPE, processing
    /// instructions); the same reader and errors as for `<iq>`s.
    #[error("unreadable extdisco answer: {0}")]
    Xml(#[from] ParseError),
    /// The root element is not an `<iq>` of `jabber:client`.
    #[error("expected an <iq xmlns='jabber:client'>, found <{found}>")]
    NotAnIq {
        /// Local name of the root element found.
        found: String,
    },
    /// The `<iq>` is neither `result` nor `error`.
    #[error("expected an iq of type 'result' or 'error', found type '{found}'")]
    UnexpectedIqType {
        /// The `type` attribute (empty if missing).
        found: String,
    },
    /// `<services>`/`<credentials>` is in a namespace other than extdisco:2/1.
    #[error("<{element}> is in namespace '{found}', not urn:xmpp:extdisco:2 or :1")]
    WrongNamespace {
        /// The element's local name.
        element: String,
        /// The namespace found (empty if none).
        found: String,
    },
    /// The result carries no `<services>` or `<credentials>` element.
    #[error("the result has no <services> or <credentials> element")]
    MissingServices,
    /// The server answered with an error: it does not support (this version of)
    /// extdisco or refused. Retry with `urn:xmpp:extdisco:1`, or use configured ICE
    /// servers.
    #[error(
        "the server answered with error '{condition}'; fall back to urn:xmpp:extdisco:1 \
         or to configured ICE servers"
    )]
    ErrorResult {
        /// The defined condition, e.g. `service-unavailable`
        /// (`undefined-condition` when none was given).
        condition: DefinedCondition,
    },
    /// More `<service>`s than [`Limits::max_children`].
    #[error("more than {limit} <service> elements")]
    TooManyServices {
        /// The limit.
        limit: usize,
    },
    /// A `<service>` lacks a required attribute.
    #[error("<service> has no '{0}' attribute")]
    MissingAttribute(&'static str),
    /// A `port` that is not a number in 1..=65535.
    #[error("invalid port '{0}'")]
    InvalidPort(String),
    /// A `host` that is empty or has characters no host name or address has.
    #[error("invalid host '{0}'")]
    InvalidHost(String),
}

/// The `<iq type='get'>` asking `to` (usually the XMPP domain) for its services.
pub fn services_query(id: &str, to: &str, version: ExtdiscoVersion) -> String {
    format!(
        "<iq type='get' id='{}' to='{}' xmlns='jabber:client'><services xmlns='{}'/></iq>",
        escape(id),
        escape(to),
        version.namespace()
    )
}

/// The RTCIceServer URLs of a server: `stun:host:port`, `turn:host:port?transport=udp`,
/// `turns:host:port?transport=tcp`. IPv6 hosts are bracketed; a transport other than
/// `udp`/`tcp` is left out, as is any transport on STUN (RFC 7064 has none).
pub fn ice_server_urls(server: &IceServer) -> Vec<String> {
    let scheme = match server.kind {
        IceServerKind::Stun => "stun",
        IceServerKind::Turn => "turn",
        IceServerKind::Turns => "turns",
    };
    let host = if server.host.contains(':') && !server.host.starts_with('[') {
        format!("[{}]", server.host)
    } else {
        server.host.clone()
    };
    let mut url = format!("{scheme}:{host}:{}", server.port);
    match &server.transport {
        Some(t) if t.is_known() && server.kind != IceServerKind::Stun => {
            url.push_str("?transport=");
            url.push_str(t.as_str());
        }
        _ => {}
    }
    vec![url]
}

/// The namespaces the reader keeps without copying.
const NAMESPACES: [&str; 4] = [
    NS_CLIENT,
    NS_STANZAS,
    "urn:xmpp:extdisco:2",
    "urn:xmpp:extdisco:1",
];

/// Parses the answer to [`services_query`] (or to a `<credentials>` request) into
/// ICE servers, in document order. Services of unknown types are skipped.
pub fn parse_services_result(xml: &str, limits: &Limits) -> Result<Vec<IceServer>, ExtdiscoError> {
    let mut rd = Reader::new(xml, limits, &NAMESPACES)?;
    let iq = rd.root()?;
    if iq.local() != "iq" || !matches!(&*iq.ns, "" | NS_CLIENT) {
        let found = iq.local().to_owned();
        return Err(ExtdiscoError::NotAnIq { found });
    }
    let kind = iq.attr("type")?.unwrap_or_default();
    let is_error = match kind.as_str() {
        "result" => false,
        "error" => true,
        _ => return Err(ExtdiscoError::UnexpectedIqType { found: kind }),
    };
    let (mut servers, mut seen_services, mut condition) = (Vec::new(), false, None);
    while let Some(c) = rd.child(&iq)? {
        let local = c.local();
        if is_error && local == "error" && matches!(&*c.ns, "" | NS_CLIENT) {
            c.attrs(|_, _| Ok(()))?;
            while let Some(cond) = rd.child(&c)? {
                if cond.ns == NS_STANZAS && cond.local() != "text" {
                    condition.get_or_insert_with(|| DefinedCondition::from_wire(cond.local()));
                }
                rd.skip(cond)?;
            }
        } else if !is_error && (local == "services" || local == "credentials") {
            let version = ExtdiscoVersion::from_namespace(&c.ns).ok_or_else(|| {
                let (element, found) = (local.to_owned(), c.ns.to_string());
                ExtdiscoError::WrongNamespace { element, found }
            })?;
            seen_services = true;
            services(&mut rd, c, version, limits, &mut servers)?;
        } else {
            rd.skip(c)?;
        }
    }
    rd.end()?;
    if is_error {
        let condition = condition.unwrap_or(DefinedCondition::UndefinedCondition);
        return Err(ExtdiscoError::ErrorResult { condition });
    }
    if !seen_services {
        return Err(ExtdiscoError::MissingServices);
    }
    Ok(servers)
}

/// The `<service>`s of `<services>` (or `<credentials>`).
fn services(
    rd: &mut Reader<'_>,
    e: Elem<'_>,
    version: ExtdiscoVersion,
    limits: &Limits,
    servers: &mut Vec<IceServer>,
) -> Result<(), ExtdiscoError> {
    e.attrs(|_, _| Ok(()))?;
    let mut count = 0;
    while let Some(c) = rd.child(&e)? {
        if c.local() == "service" && c.ns == version.namespace() {
            count += 1;
            if count > limits.max_children {
                let limit = limits.max_children;
                return Err(ExtdiscoError::TooManyServices { limit });
            }
            servers.extend(service(&c)?);
        }
        rd.skip(c)?;
    }
    Ok(())
}

/// One `<service>`; `None` for a type that is not STUN or TURN.
fn service(e: &Elem<'_>) -> Result<Option<IceServer>, ExtdiscoError> {
    let names = [
        "type",
        "host",
        "port",
        "transport",
        "username",
        "password",
        "expires",
    ];
    let mut values: [Option<String>; 7] = Default::default();
    e.attrs(|k, v| {
        if let Some(i) = names.iter().position(|n| *n == k) {
            values[i] = Some(v.into_owned());
        }
        Ok(())
    })?;
    let [kind, host, port, transport, username, password, expires] = values;
    let kind = match kind.as_deref() {
        Some("stun") => IceServerKind::Stun,
        Some("turn") => IceServerKind::Turn,
        Some("turns") => IceServerKind::Turns,
        Some(_) => return Ok(None),
        None => return Err(ExtdiscoError::MissingAttribute("type")),
    };
    let host = host.ok_or(ExtdiscoError::MissingAttribute("host"))?;
    if !is_server_host(&host) {
        return Err(ExtdiscoError::InvalidHost(host));
    }
    let port = match port {
        // The defaults of RFC 7064/7065: 3478, and 5349 over TLS.
        None if kind == IceServerKind::Turns => 5349,
        None => 3478,
        Some(p) => match p.parse::<u16>() {
            Ok(n) if n != 0 && p.bytes().all(|b| b.is_ascii_digit()) => n,
            _ => return Err(ExtdiscoError::InvalidPort(p)),
        },
    };
    let non_empty = |v: Option<String>| v.filter(|s| !s.is_empty());
    let transport = non_empty(transport).map(|t| IceTransport::from_wire(&t.to_ascii_lowercase()));
    Ok(Some(IceServer {
        kind,
        host,
        port,
        transport,
        username: non_empty(username),
        password: non_empty(password),
        expires: non_empty(expires),
    }))
}
