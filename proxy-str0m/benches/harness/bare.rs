//! The bare str0m floor of the setup, forwarding and scale benchmarks: two
//! `Rtc`s configured as proxy-str0m configures its own, negotiated by SDP text.
//! Shared by this crate's harness and proxy-tokio's (which includes this file
//! by path), so that every benchmark compares against the same floor.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpOffer};
use str0m::media::{Direction, MediaKind, Mid};
use str0m::{Candidate, Rtc};

/// An `Rtc` configured as proxy-str0m configures its own: Opus, VP8, VP9,
/// H.264 and AV1,
/// audio RTCP every second, STUN retransmissions capped at 1 s, one host
/// candidate at `addr`.
pub fn bare_rtc(now: Instant, addr: SocketAddr) -> Rtc {
    let mut config = Rtc::builder()
        .clear_codecs()
        .enable_opus(true, false)
        .enable_vp8(true)
        .enable_vp9(true)
        .enable_h264(true)
        .enable_av1(true)
        .set_rtcp_report_interval_audio(Duration::from_secs(1));
    config.set_max_stun_rto(Duration::from_secs(1));
    let mut rtc = config.build(now);
    rtc.add_local_candidate(Candidate::host(addr, "udp").expect("candidate"));
    rtc
}

/// `a` offers a sendonly video m-line, `b` answers; offer and answer cross as
/// SDP text (serialized and parsed, as signaling would). The mid `a` sends on.
pub fn negotiate(a: &mut Rtc, b: &mut Rtc) -> Mid {
    let mut api = a.sdp_api();
    let mid = api.add_media(MediaKind::Video, Direction::SendOnly, None, None, None);
    let (offer, pending) = api.apply().expect("offer");
    let offer = SdpOffer::from_sdp_string(&offer.to_sdp_string()).expect("parse offer");
    let answer = b.sdp_api().accept_offer(offer).expect("accept offer");
    let answer = SdpAnswer::from_sdp_string(&answer.to_sdp_string()).expect("parse answer");
    a.sdp_api()
        .accept_answer(pending, answer)
        .expect("accept answer");
    mid
}
