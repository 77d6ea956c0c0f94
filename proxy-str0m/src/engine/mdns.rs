//! Remote mDNS candidates: a browser hiding its host address behind a
//! `<uuid>.local` name (Chrome does so by default when the page has no camera
//! permission, as with a screen share).
//!
//! They are never an error. Without resolution (the default, see
//! [`Engine::set_resolve_mdns`]) they are set aside quietly: the peer's checks
//! reach us anyway and ICE learns its address as peer-reflexive. With it, the
//! engine asks the driver once per distinct name ([`EngineOutput::Resolve`],
//! answered by [`Engine::handle_resolved`]: the one path DNS names of ICE
//! servers take too), keeps the candidates until the answer, then adds each
//! with the address in place of the name (foundation, component, protocol,
//! priority, port, type and extensions kept). A failed answer, no answer
//! within [`MDNS_WAIT`], or an unusable address sets them aside quietly.
//!
//! Bounded, since the names come from the peer: at most [`MAX_MDNS_NAMES`] names
//! per connection (asked, answered or failed; candidates with further names
//! are set aside, so a peer cannot make us flood the LAN with queries), at
//! most [`MAX_WAITING`] candidates waiting per name, at most [`MAX_ADDRS`]
//! addresses used per name. State is per connection: an answer for a
//! connection that is gone finds nothing to do.
//!
//! [`Engine::set_resolve_mdns`]: super::Engine::set_resolve_mdns
//! [`Engine::handle_resolved`]: super::Engine::handle_resolved
//! [`EngineOutput::Resolve`]: super::EngineOutput::Resolve

use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Most mDNS names one connection asks for (Chrome uses one per hidden host
/// address).
pub const MAX_MDNS_NAMES: usize = 16;
/// Most candidates kept waiting for one name (one per component and
/// m-line, when not bundled).
pub(super) const MAX_WAITING: usize = 8;
/// Most addresses of one name turned into candidates.
pub(super) const MAX_ADDRS: usize = 2;
/// How long candidates wait for their name's answer; a later answer is
/// ignored. Longer than the driver's own query timeout, so it only matters
/// for a driver that never answers.
pub const MDNS_WAIT: Duration = Duration::from_secs(5);

/// The mDNS names of one connection's remote candidates.
#[derive(Debug, Default)]
pub(super) struct MdnsNames {
    names: Vec<Name>,
}

#[derive(Debug)]
struct Name {
    /// As the candidate wrote it (compared without regard to case).
    name: String,
    state: NameState,
}

#[derive(Debug)]
enum NameState {
    /// Asked for; these candidates (SDP text) wait for the answer until `until`.
    Asked {
        until: Instant,
        waiting: Vec<String>,
    },
    /// Answered with these addresses.
    Found(Vec<IpAddr>),
    /// Failed, unusable or too late: its candidates are set aside.
    Gone,
}

/// What to do with a remote mDNS candidate.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// Ask the driver to resolve this (new) name; the candidate waits.
    Ask,
    /// The name is known: add these candidates (addresses in place).
    Add(Vec<String>),
    /// Nothing now: it waits for an answer already asked for, or is set aside.
    Wait,
}

impl MdnsNames {
    /// A remote candidate (SDP text `text`) whose address is the mDNS name `name`.
    pub(super) fn candidate(&mut self, now: Instant, name: &str, text: &str) -> Step {
        self.expire(now);
        if let Some(n) = self.find(name) {
            return match &mut n.state {
                NameState::Asked { waiting, .. } => {
                    if waiting.len() < MAX_WAITING && !waiting.iter().any(|w| w == text) {
                        waiting.push(text.to_owned());
                    }
                    Step::Wait
                }
                NameState::Found(ips) => Step::Add(
                    ips.iter()
                        .filter_map(|ip| with_address(text, *ip))
                        .collect(),
                ),
                NameState::Gone => Step::Wait,
            };
        }
        if self.names.len() >= MAX_MDNS_NAMES {
            return Step::Wait;
        }
        self.names.push(Name {
            name: name.to_owned(),
            state: NameState::Asked {
                until: now + MDNS_WAIT,
                waiting: vec![text.to_owned()],
            },
        });
        Step::Ask
    }

    /// The driver's answer for `name`: `None` if no candidate waits for it
    /// (not an mDNS name of ours, answered already, or too late), else the
    /// candidates to add (none if it failed).
    pub(super) fn answer(
        &mut self,
        now: Instant,
        name: &str,
        result: &Result<Vec<IpAddr>, String>,
    ) -> Option<Vec<String>> {
        self.expire(now);
        let n = self.find(name)?;
        if !matches!(n.state, NameState::Asked { .. }) {
            return None;
        }
        let ips = match result {
            Ok(ips) => usable(ips),
            Err(_) => Vec::new(),
        };
        let next = if ips.is_empty() {
            NameState::Gone
        } else {
            NameState::Found(ips.clone())
        };
        let NameState::Asked { waiting, .. } = std::mem::replace(&mut n.state, next) else {
            return None;
        };
        Some(
            waiting
                .iter()
                .flat_map(|text| ips.iter().filter_map(|ip| with_address(text, *ip)))
                .collect(),
        )
    }

    fn find(&mut self, name: &str) -> Option<&mut Name> {
        self.names
            .iter_mut()
            .find(|n| n.name.eq_ignore_ascii_case(name))
    }

    /// Names asked for longer than [`MDNS_WAIT`] ago are given up.
    fn expire(&mut self, now: Instant) {
        for n in &mut self.names {
            if matches!(n.state, NameState::Asked { until, .. } if now >= until) {
                n.state = NameState::Gone;
            }
        }
    }
}

/// The addresses of an answer a candidate can use: no unspecified, multicast
/// or (scope-less, so unusable) IPv6 link-local ones; duplicates once; at most
/// [`MAX_ADDRS`].
fn usable(ips: &[IpAddr]) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = Vec::new();
    for ip in ips {
        let bad = ip.is_unspecified()
            || ip.is_multicast()
            || matches!(ip, IpAddr::V6(v6) if v6.is_unicast_link_local());
        if !bad && !out.contains(ip) && out.len() < MAX_ADDRS {
            out.push(*ip);
        }
    }
    out
}

/// The mDNS name a candidate (SDP text, `candidate:` prefix, no `a=`) has as
/// its address, if it has one: letters, digits, `-` and `.`, at most 255 of
/// them, a non-empty label before `.local` (a trailing dot allowed).
pub(super) fn mdns_name(text: &str) -> Option<&str> {
    // candidate:<foundation> <component> <transport> <priority> <address> ...
    let address = text.split_whitespace().nth(4)?;
    let name = address.strip_suffix('.').unwrap_or(address);
    let label = name.len().checked_sub(".local".len())?;
    let (first, local) = (name.get(..label)?, name.get(label..)?);
    let ok = local.eq_ignore_ascii_case(".local")
        && name.len() <= 255
        && !first.is_empty()
        && !first.starts_with('.')
        && !first.ends_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    ok.then_some(name)
}

/// The candidate with `ip` as its address (the fifth field), the rest as it
/// was; `None` if it has no fifth field.
fn with_address(text: &str, ip: IpAddr) -> Option<String> {
    let mut fields: Vec<&str> = text.split_whitespace().collect();
    let ip = ip.to_string();
    *fields.get_mut(4)? = &ip;
    Some(fields.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: &str = "candidate:1 1 udp 2122260223 8f2c1a3e-1b2c.local 54321 typ host generation 0";

    #[test]
    fn names_are_recognised_and_others_not() {
        assert_eq!(mdns_name(C), Some("8f2c1a3e-1b2c.local"));
        let t = C.replace(".local", ".LOCAL.");
        assert_eq!(mdns_name(&t), Some("8f2c1a3e-1b2c.LOCAL"));
        for bad in [
            "10.0.0.1",
            ".local",
            "x..local",
            "a b.local",
            "x.localhost",
            "xlocal",
        ] {
            let t = C.replace("8f2c1a3e-1b2c.local", bad);
            assert_eq!(mdns_name(&t), None, "{bad}");
        }
        assert_eq!(mdns_name("candidate:1 1 udp"), None);
        let long = format!("{}.local", "a".repeat(250));
        assert_eq!(mdns_name(&C.replace("8f2c1a3e-1b2c.local", &long)), None);
    }

    #[test]
    fn the_address_replaces_the_name_and_nothing_else() {
        let ip: IpAddr = "192.0.2.7".parse().unwrap();
        assert_eq!(
            with_address(C, ip).unwrap(),
            "candidate:1 1 udp 2122260223 192.0.2.7 54321 typ host generation 0"
        );
    }

    #[test]
    fn one_ask_per_name_then_the_waiting_candidates_are_added() {
        let now = Instant::now();
        let mut m = MdnsNames::default();
        let rtcp = C.replace(" 1 udp", " 2 udp");
        assert_eq!(m.candidate(now, "8f2c1a3e-1b2c.local", C), Step::Ask);
        assert_eq!(m.candidate(now, "8F2C1A3E-1b2c.local", &rtcp), Step::Wait);
        let ips = vec!["fe80::1".parse().unwrap(), "192.0.2.7".parse().unwrap()];
        let added = m.answer(now, "8f2c1a3e-1b2c.local", &Ok(ips)).unwrap();
        assert_eq!(added.len(), 2, "{added:?}");
        assert!(added.iter().all(|c| c.contains(" 192.0.2.7 54321 ")));
        // Known now: at once, no new question.
        assert!(matches!(m.candidate(now, "8f2c1a3e-1b2c.local", C), Step::Add(v) if v.len() == 1));
        assert_eq!(m.answer(now, "8f2c1a3e-1b2c.local", &Ok(vec![])), None);
    }

    #[test]
    fn failures_late_answers_and_too_many_names_add_nothing() {
        let now = Instant::now();
        let mut m = MdnsNames::default();
        assert_eq!(m.candidate(now, "a.local", C), Step::Ask);
        assert_eq!(
            m.answer(now, "a.local", &Err("timeout".into())),
            Some(vec![])
        );
        assert_eq!(m.candidate(now, "a.local", C), Step::Wait);
        assert_eq!(m.candidate(now, "b.local", C), Step::Ask);
        let late = now + MDNS_WAIT;
        let ip = vec!["192.0.2.7".parse().unwrap()];
        assert_eq!(m.answer(late, "b.local", &Ok(ip)), None);
        for i in 2..MAX_MDNS_NAMES {
            assert_eq!(m.candidate(now, &format!("n{i}.local"), C), Step::Ask);
        }
        assert_eq!(m.candidate(now, "one-too-many.local", C), Step::Wait);
        assert_eq!(m.names.len(), MAX_MDNS_NAMES);
    }
}
