//! Starting a session through the API: what `start` checks and what it asks the
//! engine for.

mod common;

use std::time::Instant;

use common::*;
use proxy_core::{
    ApiError, Codec, EngineCommand, Error, LocalTrack, MediaKind, ProxyConnectionService, VideoType,
};

#[test]
fn start_with_empty_peer_is_an_error_and_changes_nothing() {
    let mut s = ProxyConnectionService::new(config(1));
    let err = s
        .start(Instant::now(), "", &[LocalTrack::desktop()])
        .unwrap_err();
    assert_eq!(err, Error::Api(ApiError::EmptyPeerJid));
    assert!(!s.is_active());
    assert!(drain(&mut s).is_empty());
}

#[test]
fn a_track_in_a_codec_of_the_other_kind_is_an_error_and_changes_nothing() {
    let mut s = ProxyConnectionService::new(config(1));
    let tracks = [
        LocalTrack::desktop().with_codec(Codec::Av1),
        LocalTrack::audio().with_codec(Codec::Vp9),
    ];
    let err = s.start(Instant::now(), RECEIVER, &tracks).unwrap_err();
    assert_eq!(
        err,
        Error::Api(ApiError::CodecKind {
            index: 1,
            kind: MediaKind::Audio,
            codec: Codec::Vp9
        })
    );
    assert!(!s.is_active());
    assert!(drain(&mut s).is_empty());
    // Such a track configured for the responder is sent in its kind's default.
    assert_eq!(tracks[1].codec(), Codec::Opus);
    assert_eq!(tracks[0].codec(), Codec::Av1);
}

#[test]
fn start_twice_is_an_error() {
    let t0 = Instant::now();
    let mut s = started(t0, config(1));
    let err = s.start(t0, INTRUDER, &[]).unwrap_err();
    assert_eq!(err, Error::Api(ApiError::AlreadyActive(RECEIVER.into())));
    assert_eq!(s.peer(), Some(RECEIVER));
    assert!(drain(&mut s).is_empty());
}

#[test]
fn local_tracks_get_source_names_by_index() {
    let mut s = ProxyConnectionService::new(config(1));
    s.start(
        Instant::now(),
        RECEIVER,
        &[
            LocalTrack::audio(),
            LocalTrack::desktop(),
            LocalTrack::camera(),
        ],
    )
    .unwrap();
    let d = drain(&mut s);
    let EngineCommand::CreateOffer {
        tracks, direction, ..
    } = &d.commands[0]
    else {
        panic!()
    };
    let names: Vec<_> = tracks.iter().map(|t| t.source_name.as_str()).collect();
    assert_eq!(names, ["peer-a0", "peer-v1", "peer-v2"]);
    assert_eq!(tracks[1].video_type, Some(VideoType::Desktop));
    assert_eq!(tracks[2].video_type, Some(VideoType::Camera));
    assert_eq!(*direction, proxy_core::Direction::SendOnly);
}
