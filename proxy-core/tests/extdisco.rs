//! XEP-0215 answers as Prosody (mod_external_services, mod_turncredentials) sends them,
//! and hostile ones.

use proptest::prelude::*;
use proxy_core::extdisco::{
    ice_server_urls, parse_services_result, services_query, ExtdiscoError, ExtdiscoVersion,
    IceTransport,
};
use proxy_core::{IceServer, IceServerKind, Limits, ParseError};

/// What Prosody 0.12's mod_external_services answers on a Jitsi Meet deployment
/// (turncredentials secret configured; attribute order as Prosody writes it).
const PROSODY_V2: &str = r#"<iq xmlns="jabber:client" type="result" id="d1a6f9c2-extdisco" from="meet.example.com" to="3f1c2a@meet.example.com/Ab1cD2eF">
  <services xmlns="urn:xmpp:extdisco:2">
    <service type="stun" port="3478" host="meet.example.com" transport="udp"/>
    <service restricted="1" type="turn" port="3478" host="turn.example.com" transport="udp" username="1795575600" password="pP3vJ4xk0lQ9t+ZbR2c1w8Hq5o=" expires="2026-11-25T02:00:00Z"/>
    <service restricted="1" type="turns" port="443" host="turn.example.com" transport="tcp" username="1795575600" password="pP3vJ4xk0lQ9t+ZbR2c1w8Hq5o=" expires="2026-11-25T02:00:00Z"/>
  </services>
</iq>"#;

fn parse(xml: &str) -> Result<Vec<IceServer>, ExtdiscoError> {
    parse_services_result(xml, &Limits::default())
}

fn result_with(services: &str) -> String {
    format!(
        "<iq type='result' id='x' xmlns='jabber:client'>\
         <services xmlns='urn:xmpp:extdisco:2'>{services}</services></iq>"
    )
}

#[test]
fn prosody_mod_external_services_answer() {
    let servers = parse(PROSODY_V2).unwrap();
    assert_eq!(servers.len(), 3);
    assert_eq!(
        servers[0],
        IceServer {
            kind: IceServerKind::Stun,
            host: "meet.example.com".into(),
            port: 3478,
            transport: Some("udp".into()),
            username: None,
            password: None,
            expires: None,
        }
    );
    assert_eq!(servers[1].kind, IceServerKind::Turn);
    assert_eq!(servers[1].username.as_deref(), Some("1795575600"));
    assert_eq!(
        servers[1].password.as_deref(),
        Some("pP3vJ4xk0lQ9t+ZbR2c1w8Hq5o=")
    );
    assert_eq!(servers[1].expires.as_deref(), Some("2026-11-25T02:00:00Z"));
    assert_eq!(servers[2].kind, IceServerKind::Turns);
    assert_eq!(servers[2].port, 443);
    let urls: Vec<String> = servers.iter().flat_map(ice_server_urls).collect();
    assert_eq!(
        urls,
        [
            "stun:meet.example.com:3478",
            "turn:turn.example.com:3478?transport=udp",
            "turns:turn.example.com:443?transport=tcp",
        ]
    );
}

#[test]
fn mod_turncredentials_extdisco_1_answer() {
    let xml = "<iq type='result' id='ext2' from='meet.example.com' xmlns='jabber:client'>\
        <services xmlns='urn:xmpp:extdisco:1'>\
        <service type='stun' host='stun.example.net' port='19302'/>\
        <service type='turn' host='203.0.113.7' port='3478' transport='tcp' \
         username='1795575600:meet' password='a&amp;b&#x3D;'/>\
        </services></iq>";
    let servers = parse(xml).unwrap();
    assert_eq!(servers.len(), 2);
    assert_eq!(servers[0].transport, None);
    assert_eq!(servers[1].password.as_deref(), Some("a&b="));
    assert_eq!(
        ice_server_urls(&servers[1]),
        ["turn:203.0.113.7:3478?transport=tcp"]
    );
}

#[test]
fn credentials_wrapper_and_prefixed_namespace() {
    let xml = "<iq type='result' id='c1' xmlns='jabber:client'>\
        <ed:credentials xmlns:ed='urn:xmpp:extdisco:2'>\
        <ed:service type='turn' host='turn.example.com' port='3478' transport='udp' \
         username='u' password='p' expires='2026-11-25T03:00:00Z'/></ed:credentials></iq>";
    let servers = parse(xml).unwrap();
    assert_eq!(servers.len(), 1);
    assert_eq!(servers[0].username.as_deref(), Some("u"));
}

#[test]
fn unknown_types_are_skipped_and_empty_list_is_fine() {
    let servers = parse(&result_with(
        "<service type='xyz' host='h' port='1'/><service type='stun' host='s.example'/>\
         <other xmlns='urn:example'/>",
    ))
    .unwrap();
    assert_eq!(servers.len(), 1);
    assert_eq!(servers[0].host, "s.example");
    assert_eq!(parse(&result_with("")).unwrap(), vec![]);
    let empty =
        "<iq type='result' xmlns='jabber:client'><services xmlns='urn:xmpp:extdisco:1'/></iq>";
    assert_eq!(parse(empty).unwrap(), vec![]);
    // Only direct children of <services> count.
    let stray = "<iq type='result' xmlns='jabber:client'><services xmlns='urn:xmpp:extdisco:2'/>\
        <x xmlns='urn:xmpp:extdisco:2'><service type='stun' host='h'/></x></iq>";
    assert_eq!(parse(stray).unwrap(), vec![]);
}

#[test]
fn ipv6_hosts_are_bracketed() {
    let servers = parse(&result_with(
        "<service type='turns' host='2001:db8::7' port='5349' transport='tcp'/>\
         <service type='stun' host='[2001:db8::8]' port='3478' transport='udp'/>",
    ))
    .unwrap();
    assert_eq!(
        ice_server_urls(&servers[0]),
        ["turns:[2001:db8::7]:5349?transport=tcp"]
    );
    assert_eq!(ice_server_urls(&servers[1]), ["stun:[2001:db8::8]:3478"]);
}

#[test]
fn error_result_tells_to_fall_back() {
    let xml = "<iq type='error' id='e1' from='meet.example.com' xmlns='jabber:client'>\
        <services xmlns='urn:xmpp:extdisco:2'/>\
        <error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>\
        <text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>no</text></error></iq>";
    let err = parse(xml).unwrap_err();
    assert_eq!(
        err,
        ExtdiscoError::ErrorResult {
            condition: "service-unavailable".into()
        }
    );
    assert!(err.to_string().contains("urn:xmpp:extdisco:1"));
    let bare = "<iq type='error' xmlns='jabber:client'><error type='cancel'/></iq>";
    assert!(
        matches!(parse(bare), Err(ExtdiscoError::ErrorResult { condition }) if condition == "undefined-condition")
    );
}

#[test]
fn wrong_namespace_and_wrong_envelope() {
    let xml = "<iq type='result' xmlns='jabber:client'><services xmlns='urn:xmpp:extdisco:3'>\
               <service type='stun' host='h'/></services></iq>";
    assert!(matches!(
        parse(xml),
        Err(ExtdiscoError::WrongNamespace { element, found })
            if element == "services" && found == "urn:xmpp:extdisco:3"
    ));
    let no_ns = "<iq type='result'><services><service type='stun' host='h'/></services></iq>";
    assert!(matches!(
        parse(no_ns),
        Err(ExtdiscoError::WrongNamespace { .. })
    ));
    assert!(matches!(
        parse("<message xmlns='jabber:client'/>"),
        Err(ExtdiscoError::NotAnIq { found }) if found == "message"
    ));
    assert!(matches!(
        parse("<iq type='result' xmlns='jabber:server'/>"),
        Err(ExtdiscoError::NotAnIq { .. })
    ));
    assert!(matches!(
        parse("<iq type='get' xmlns='jabber:client'/>"),
        Err(ExtdiscoError::UnexpectedIqType { found }) if found == "get"
    ));
    assert_eq!(
        parse("<iq type='result' xmlns='jabber:client'/>"),
        Err(ExtdiscoError::MissingServices)
    );
}

#[test]
fn ten_thousand_services() {
    let many = "<service type='stun' host='s.example' port='3478'/>".repeat(10_000);
    let xml = result_with(&many);
    assert!(matches!(
        parse(&xml),
        Err(ExtdiscoError::Xml(ParseError::TooLarge { .. }))
    ));
    let roomy = Limits {
        max_bytes: usize::MAX,
        ..Limits::default()
    };
    assert_eq!(
        parse_services_result(&xml, &roomy),
        Err(ExtdiscoError::TooManyServices {
            limit: roomy.max_children
        })
    );
}

#[test]
fn bad_ports_and_hosts() {
    for port in [
        "0",
        "65536",
        "-1",
        "+80",
        "abc",
        "",
        " 3478",
        "99999999999999999999",
    ] {
        let xml = result_with(&format!("<service type='turn' host='h' port='{port}'/>"));
        assert_eq!(
            parse(&xml),
            Err(ExtdiscoError::InvalidPort(port.into())),
            "port {port:?}"
        );
    }
    for host in ["", "a b", "h/x", "h?transport=tcp", "u@h"] {
        let xml = result_with(&format!("<service type='stun' host='{host}'/>"));
        assert_eq!(parse(&xml), Err(ExtdiscoError::InvalidHost(host.into())));
    }
    assert_eq!(
        parse(&result_with("<service type='turn' port='3478'/>")),
        Err(ExtdiscoError::MissingAttribute("host"))
    );
}

#[test]
fn billion_laughs_and_processing_instructions_are_rejected() {
    let laughs = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<iq type='result' xmlns='jabber:client'><services xmlns='urn:xmpp:extdisco:2'>
<service type='turn' host='h' password='&lol3;'/></services></iq>"#;
    assert!(matches!(
        parse(laughs),
        Err(ExtdiscoError::Xml(ParseError::Forbidden {
            what: "DOCTYPE",
            ..
        }))
    ));
    let pi = "<iq type='result' xmlns='jabber:client'><?evil x?></iq>";
    assert!(matches!(
        parse(pi),
        Err(ExtdiscoError::Xml(ParseError::Forbidden { .. }))
    ));
    // Without a DTD, an undefined entity is malformed, not expanded.
    let undefined = result_with("<service type='turn' host='h' password='&lol3;'/>");
    assert!(matches!(parse(&undefined), Err(ExtdiscoError::Xml(_))));
}

#[test]
fn every_truncation_is_an_error() {
    for (cut, _) in PROSODY_V2.char_indices().skip(1) {
        let r = parse(&PROSODY_V2[..cut]);
        assert!(r.is_err(), "prefix of {cut} bytes parsed: {r:?}");
    }
    let after = format!("{PROSODY_V2}<iq type='result'/>");
    assert!(matches!(parse(&after), Err(ExtdiscoError::Xml(_))));
    let after = format!("{PROSODY_V2} junk");
    assert!(matches!(parse(&after), Err(ExtdiscoError::Xml(_))));
    let mismatched =
        "<iq type='result' xmlns='jabber:client'><services xmlns='urn:xmpp:extdisco:2'></iq>";
    assert!(matches!(parse(mismatched), Err(ExtdiscoError::Xml(_))));
}

#[test]
fn deep_nesting_is_bounded() {
    let deep = format!(
        "<iq type='result' xmlns='jabber:client'>{}",
        "<x>".repeat(100)
    );
    let limit = Limits::default().max_depth;
    assert!(matches!(
        parse(&deep),
        Err(ExtdiscoError::Xml(ParseError::TooDeep { limit: l, .. })) if l == limit
    ));
}

#[test]
fn queries_for_both_versions() {
    let v2 = services_query("ext1", "meet.example.com", ExtdiscoVersion::V2);
    assert_eq!(
        v2,
        "<iq type='get' id='ext1' to='meet.example.com' xmlns='jabber:client'>\
         <services xmlns='urn:xmpp:extdisco:2'/></iq>"
    );
    let v1 = services_query("ext2", "meet.example.com", ExtdiscoVersion::V1);
    assert!(v1.ends_with("<services xmlns='urn:xmpp:extdisco:1'/></iq>"));
    let escaped = services_query("ext'1", "meet.example.com", ExtdiscoVersion::V2);
    assert!(
        escaped.starts_with("<iq type='get' id='ext&apos;1' to="),
        "{escaped}"
    );
}

#[test]
fn default_ports_and_unknown_transport() {
    let xml = result_with(
        "<service type='turns' host='t.example'/>\
         <service type='turn' host='t.example' transport='sctp'/>",
    );
    let s = parse(&xml).unwrap();
    assert_eq!((s[0].port, s[1].port), (5349, 3478));
    assert_eq!(s[1].transport, Some(IceTransport::Other("sctp".into())));
    assert_eq!(ice_server_urls(&s[1]), vec!["turn:t.example:3478"]);
}

#[test]
fn duplicate_attributes_are_unreadable() {
    let xml = "<iq type='result' type='error'/>";
    assert!(matches!(parse(xml), Err(ExtdiscoError::Xml(_))));
}

proptest! {
    #[test]
    fn never_panics_on_arbitrary_input(s in "(<[a-z:]{0,8}( [a-z:]{1,6}='[^']{0,6}')*/?>|</[a-z]{0,4}>|[^<]{0,5}){0,30}") {
        let _ = parse(&s);
    }

    #[test]
    fn never_panics_on_mutated_answer(i in 0usize..2000, b in any::<u8>()) {
        let mut bytes = PROSODY_V2.as_bytes().to_vec();
        let len = bytes.len();
        bytes[i % len] = b;
        if let Ok(s) = std::str::from_utf8(&bytes) {
            let _ = parse(s);
        }
    }
}

#[test]
fn expires_reads_as_wall_clock_time_and_garbage_as_none() {
    use std::time::{Duration, SystemTime};
    let mut s = proxy_core::IceServer {
        kind: proxy_core::IceServerKind::Turn,
        host: "turn.example.com".into(),
        port: 3478,
        transport: None,
        username: Some("u".into()),
        password: Some("p".into()),
        // 1_700_000_000 is 2023-11-14T22:13:20Z.
        expires: Some("2023-11-14T22:13:20Z".into()),
    };
    let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    assert_eq!(s.expires_at(), Some(at));
    s.expires = Some("2023-11-14T23:13:20.5+01:00".into());
    assert_eq!(s.expires_at(), Some(at + Duration::from_millis(500)));
    s.expires = Some("tomorrow".into());
    assert_eq!(s.expires_at(), None);
    s.expires = None;
    assert_eq!(s.expires_at(), None);
}
