//! Configured ICE servers (here from an XEP-0215 result) reach the engine in
//! both roles.

mod common;

use std::time::Instant;

use common::*;
use proxy_core::{Config, EngineCommand, LocalTrack, ProxyConnectionService};

#[test]
fn configured_ice_servers_reach_the_engine_in_both_roles() {
    let t0 = Instant::now();
    let xml = "<iq type='result' id='e1' xmlns='jabber:client'><services xmlns='urn:xmpp:extdisco:2'>\
        <service type='stun' host='stun.example.com' port='3478'/>\
        <service type='turn' host='turn.example.com' port='3478' transport='udp' username='u' password='p' expires='2026-12-01T00:00:00Z'/>\
        </services></iq>";
    let servers = proxy_core::extdisco::parse_services_result(xml, &Default::default()).unwrap();
    assert_eq!(servers.len(), 2);
    let cfg = Config {
        ice_servers: servers.clone(),
        ..config(22)
    };
    let mut a = ProxyConnectionService::new(cfg.clone());
    a.start(t0, RECEIVER, &[LocalTrack::desktop()]).unwrap();
    let d = drain(&mut a);
    assert!(
        matches!(&d.commands[0], EngineCommand::CreateOffer { ice_servers, .. } if *ice_servers == servers)
    );
    let mut b = ProxyConnectionService::new(cfg);
    let d = receive(&mut b, t0, SENDER, vector(INITIATE));
    assert!(
        matches!(&d.commands[0], EngineCommand::ApplyOffer { ice_servers, .. } if *ice_servers == servers)
    );
}
