//! The server's stanza rate: over the burst, the client asks the driver to
//! stop reading until the bucket refills, and drops nothing.

mod client_support;

use std::time::Duration;

use client_support::*;
use proxy_xmpp::rate::Rate;

#[test]
fn a_flood_pauses_reading_and_nothing_is_dropped() {
    let mut config = tcp_config();
    config.stanza_rate = Rate {
        per_second: 10,
        burst: 20,
    };
    let mut h = Harness::new(config);
    h.login();
    assert!(h.client.wants_read(h.now), "the login fits in the burst");
    let ping = |i: usize| {
        format!("<iq type='get' from='{DOMAIN}' id='f{i}'><ping xmlns='urn:xmpp:ping'/></iq>")
    };
    let flood: String = (0..40).map(ping).collect();
    h.feed(&flood);
    // Every ping is answered, none dropped.
    let answers = h.take().sent;
    assert_eq!(answers.len(), 40);
    assert!(!h.client.wants_read(h.now), "over the burst: stop reading");
    // The login took 6 frames (two stream headers, two features, success,
    // the bind result), the flood 40: 26 over the burst of 20 at 10/s, so
    // reading resumes 2.6 s later.
    let resume = h.deadline.expect("a deadline to resume reading");
    assert_eq!(resume - h.now, Duration::from_millis(2600));
    assert!(!h.client.wants_read(resume - Duration::from_millis(1)));
    assert!(h.client.wants_read(resume));
}

/// Once reading may resume, the instant is not given again: a driver
/// that sleeps until each `Timeout` and calls `handle_timeout` would
/// otherwise spin on an instant in the past (the `xmpp_client` fuzz
/// target checks this after every clock step).
#[test]
fn the_resume_instant_is_not_given_again_once_passed() {
    let mut config = tcp_config();
    config.stanza_rate = Rate {
        per_second: 10,
        burst: 20,
    };
    let mut h = Harness::new(config);
    h.login();
    let flood: String = (0..40)
        .map(|i| {
            format!("<iq type='get' from='{DOMAIN}' id='f{i}'><ping xmlns='urn:xmpp:ping'/></iq>")
        })
        .collect();
    h.feed(&flood);
    let resume = h.run_to_deadline();
    assert!(h.client.wants_read(resume));
    let next = h.deadline.expect("the ping timer");
    assert!(next > resume, "the deadline handled is given again");
    // Handled later than asked, the same.
    let mut h2 = h;
    h2.advance(Duration::from_millis(1));
    assert!(h2.deadline.is_some_and(|t| t > h2.now));
}
