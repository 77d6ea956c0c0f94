//! XEP-0215: External Service Discovery, for learning STUN/TURN servers (with
//! time-limited TURN credentials) from the XMPP server, as lib-jitsi-meet does
//! for its P2P ICE configuration.
//!
//! Ask with [`services_query`] (`urn:xmpp:extdisco:2` first; on an error result,
//! lib-jitsi-meet retries with `urn:xmpp:extdisco:1`), read the answer with
//! [`parse_services_result`], and hand each [`IceServer`] to the engine, or turn it
//! into RTCIceServer URLs with [`ice_server_urls`].

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::{NsReader, XmlVersion};

use crate::address::is_server_host;
use crate::message::{NS_CLIENT, NS_STANZAS};
use crate::{IceServer, IceServerKind, Limits};

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
        match ns {
            "urn:xmpp:extdisco:2" => Some(ExtdiscoVersion::V2),
            "urn:xmpp:extdisco:1" => Some(ExtdiscoVersion::V1),
            _ => None,
        }
    }
}

/// Why an extdisco answer could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ExtdiscoError {
    /// The input is larger than [`Limits::max_bytes`].
    #[error("extdisco answer is {len} bytes, more than the limit of {limit}")]
    TooLarge {
        /// Length of the input.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// The input is not well-formed XML (or is truncated).
    #[error("malformed XML at byte {at}: {reason}")]
    Malformed {
        /// Byte offset of the problem.
        at: u64,
        /// What is wrong.
        reason: String,
    },
    /// The input uses markup that is never accepted from the network.
    #[error("forbidden XML markup: {0} (DOCTYPE and processing instructions are rejected)")]
    ForbiddenMarkup(&'static str),
    /// Elements nest deeper than [`Limits::max_depth`].
    #[error("elements nest deeper than the limit of {limit}")]
    TooDeep {
        /// The limit.
        limit: usize,
    },
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
        condition: String,
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
        quick_xml::escape::escape(id),
        quick_xml::escape::escape(to),
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
    if server.kind != IceServerKind::Stun {
        if let Some(t) = server.transport.as_deref() {
            if t.eq_ignore_ascii_case("udp") || t.eq_ignore_ascii_case("tcp") {
                url.push_str("?transport=");
                url.push_str(&t.to_ascii_lowercase());
            }
        }
    }
    vec![url]
}

/// What the parser is inside of, one level below the `<iq>`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Inside {
    Nothing,
    Services(ExtdiscoVersion),
    Error,
}

/// Parses the answer to [`services_query`] (or to a `<credentials>` request) into
/// ICE servers, in document order. Services of unknown types are skipped.
pub fn parse_services_result(xml: &str, limits: &Limits) -> Result<Vec<IceServer>, ExtdiscoError> {
    if xml.len() > limits.max_bytes {
        return Err(ExtdiscoError::TooLarge {
            len: xml.len(),
            limit: limits.max_bytes,
        });
    }
    let mut reader = NsReader::from_str(xml);
    let mut depth = 0usize;
    let mut is_error: Option<bool> = None; // Some once the <iq> is read
    let mut root_closed = false;
    let mut seen_services = false;
    let mut inside = Inside::Nothing;
    let mut count = 0usize;
    let mut condition: Option<String> = None;
    let mut servers = Vec::new();
    loop {
        let event = match reader.read_event() {
            Ok(event) => event,
            Err(e) => return Err(malformed(reader.error_position(), e.to_string())),
        };
        let (start, is_empty) = match event {
            Event::Start(e) => (e, false),
            Event::Empty(e) => (e, true),
            Event::End(_) => {
                depth = depth.saturating_sub(1);
                if depth <= 1 {
                    inside = Inside::Nothing;
                }
                root_closed |= depth == 0;
                continue;
            }
            Event::DocType(_) => return Err(ExtdiscoError::ForbiddenMarkup("DOCTYPE")),
            Event::PI(_) => return Err(ExtdiscoError::ForbiddenMarkup("processing instruction")),
            Event::Text(t) if depth == 0 && !t.bytes().all(|b| b.is_ascii_whitespace()) => {
                return Err(malformed(reader.buffer_position(), "text outside <iq>"))
            }
            Event::Eof if root_closed => break,
            Event::Eof => {
                return Err(malformed(
                    reader.buffer_position(),
                    "truncated before </iq>",
                ))
            }
            _ => continue,
        };
        let (ns, local) = reader.resolver().resolve_element(start.name());
        let ns: Option<&str> = match ns {
            ResolveResult::Bound(n) => Some(n.into_inner()),
            ResolveResult::Unbound => None,
            ResolveResult::Unknown(p) => {
                return Err(malformed(
                    reader.buffer_position(),
                    format!("unknown prefix {p}"),
                ))
            }
        };
        let local = local.into_inner();
        match depth {
            0 if root_closed => {
                return Err(malformed(reader.buffer_position(), "content after </iq>"))
            }
            0 => {
                if local != "iq" || !matches!(ns, None | Some(NS_CLIENT)) {
                    return Err(ExtdiscoError::NotAnIq {
                        found: local.to_owned(),
                    });
                }
                let [kind] = attrs(&start, reader.buffer_position(), ["type"])?;
                let kind = kind.unwrap_or_default();
                is_error = match kind.as_str() {
                    "result" => Some(false),
                    "error" => Some(true),
                    _ => return Err(ExtdiscoError::UnexpectedIqType { found: kind }),
                };
            }
            1 if is_error == Some(true) => {
                let is_error_element = local == "error" && matches!(ns, None | Some(NS_CLIENT));
                inside = if is_error_element {
                    Inside::Error
                } else {
                    Inside::Nothing
                };
            }
            1 if local == "services" || local == "credentials" => {
                let version = ns
                    .and_then(ExtdiscoVersion::from_namespace)
                    .ok_or_else(|| ExtdiscoError::WrongNamespace {
                        element: local.to_owned(),
                        found: ns.unwrap_or_default().to_owned(),
                    })?;
                seen_services = true;
                inside = Inside::Services(version);
            }
            1 => inside = Inside::Nothing,
            2 => match inside {
                Inside::Services(version)
                    if local == "service" && ns == Some(version.namespace()) =>
                {
                    count += 1;
                    if count > limits.max_children {
                        return Err(ExtdiscoError::TooManyServices {
                            limit: limits.max_children,
                        });
                    }
                    servers.extend(parse_service(&start, reader.buffer_position())?);
                }
                Inside::Error if ns == Some(NS_STANZAS) && local != "text" => {
                    condition = Some(local.to_owned());
                }
                _ => {}
            },
            _ => {}
        }
        if is_empty && depth == 1 {
            inside = Inside::Nothing;
        }
        if !is_empty {
            depth += 1;
            if depth > limits.max_depth {
                return Err(ExtdiscoError::TooDeep {
                    limit: limits.max_depth,
                });
            }
        }
        root_closed |= depth == 0;
    }
    match is_error {
        Some(true) => Err(ExtdiscoError::ErrorResult {
            condition: condition.unwrap_or_else(|| "undefined-condition".into()),
        }),
        _ if !seen_services => Err(ExtdiscoError::MissingServices),
        _ => Ok(servers),
    }
}

/// One `<service>`; `None` for a type that is not STUN or TURN.
fn parse_service(e: &BytesStart<'_>, at: u64) -> Result<Option<IceServer>, ExtdiscoError> {
    let names = [
        "type",
        "host",
        "port",
        "transport",
        "username",
        "password",
        "expires",
    ];
    let [kind, host, port, transport, username, password, expires] = attrs(e, at, names)?;
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
    Ok(Some(IceServer {
        kind,
        host,
        port,
        transport: non_empty(transport),
        username: non_empty(username),
        password: non_empty(password),
        expires: non_empty(expires),
    }))
}

/// A [`ExtdiscoError::Malformed`] at byte `at`.
fn malformed(at: u64, reason: impl Into<String>) -> ExtdiscoError {
    let reason = reason.into();
    ExtdiscoError::Malformed { at, reason }
}

/// The unescaped values of the unprefixed attributes `names` of the element
/// ending at `at`, in one pass that also checks every attribute (duplicates,
/// quoting, entities).
fn attrs<const N: usize>(
    e: &BytesStart<'_>,
    at: u64,
    names: [&str; N],
) -> Result<[Option<String>; N], ExtdiscoError> {
    let mut values: [Option<String>; N] = std::array::from_fn(|_| None);
    for a in e.attributes() {
        let a = a.map_err(|err| malformed(at, err.to_string()))?;
        let value = a
            .normalized_value(XmlVersion::Implicit1_0)
            .map_err(|err| malformed(at, err.to_string()))?;
        let key = a.key.as_ref();
        if let Some(slot) = names
            .iter()
            .zip(values.iter_mut())
            .find(|(n, _)| **n == key)
        {
            *slot.1 = Some(value.into_owned());
        }
    }
    Ok(values)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_v2_and_escaping() {
        let q = services_query("ext'1", "meet.example.com", ExtdiscoVersion::V2);
        assert_eq!(
            q,
            "<iq type='get' id='ext&apos;1' to='meet.example.com' xmlns='jabber:client'>\
             <services xmlns='urn:xmpp:extdisco:2'/></iq>"
        );
        assert!(services_query("a", "b", ExtdiscoVersion::V1).contains("urn:xmpp:extdisco:1"));
    }

    #[test]
    fn default_ports_and_unknown_transport() {
        let xml = "<iq type='result' xmlns='jabber:client'><services xmlns='urn:xmpp:extdisco:2'>\
                   <service type='turns' host='t.example'/>\
                   <service type='turn' host='t.example' transport='sctp'/></services></iq>";
        let s = parse_services_result(xml, &Limits::default()).unwrap();
        assert_eq!((s[0].port, s[1].port), (5349, 3478));
        assert_eq!(s[1].transport.as_deref(), Some("sctp"));
        assert_eq!(ice_server_urls(&s[1]), vec!["turn:t.example:3478"]);
    }

    #[test]
    fn attribute_errors_are_malformed() {
        let xml = "<iq type='result' type='error'/>";
        assert!(matches!(
            parse_services_result(xml, &Limits::default()),
            Err(ExtdiscoError::Malformed { .. })
        ));
        assert!(is_server_host("2001:db8::1") && !is_server_host("a b") && !is_server_host(""));
    }
}
