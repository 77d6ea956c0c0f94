//! Small, line-based edits of SDP text that str0m offers no API for: finding the
//! m-sections of an offer and adjusting our own answer (direction and msid of a
//! section) before it goes to the peer.

/// One m-section: its media type, its `a=mid` and its line range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Section {
    /// `audio`, `video`, `application`, … from the `m=` line.
    pub media: String,
    /// The `a=mid` value, if any.
    pub mid: Option<String>,
    /// Index of the `m=` line.
    start: usize,
    /// Index one past the section's last line.
    end: usize,
}

fn lines(sdp: &str) -> Vec<&str> {
    sdp.lines().collect()
}

/// The m-sections of `sdp`, in order.
pub(crate) fn sections(sdp: &str) -> Vec<Section> {
    let lines = lines(sdp);
    let mut out: Vec<Section> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if let Some(rest) = line.strip_prefix("m=") {
            if let Some(last) = out.last_mut() {
                last.end = i;
            }
            out.push(Section {
                media: rest.split_whitespace().next().unwrap_or("").to_owned(),
                mid: None,
                start: i,
                end: lines.len(),
            });
        } else if let Some(mid) = line.strip_prefix("a=mid:") {
            if let Some(last) = out.last_mut() {
                if last.mid.is_none() {
                    last.mid = Some(mid.trim().to_owned());
                }
            }
        }
    }
    out
}

/// Rewrites the lines of the m-section whose mid is `mid` with `edit`, which
/// returns the replacement line or `None` to drop it. Other lines are kept.
/// Lines are joined with CRLF, as SDP wants.
pub(crate) fn edit_section(
    sdp: &str,
    mid: &str,
    mut edit: impl FnMut(&str) -> Option<String>,
) -> String {
    let all = lines(sdp);
    let target = sections(sdp)
        .into_iter()
        .find(|s| s.mid.as_deref() == Some(mid));
    let mut out = String::with_capacity(sdp.len());
    for (i, line) in all.iter().enumerate() {
        let inside = target.as_ref().is_some_and(|s| i > s.start && i < s.end);
        let new = if inside {
            edit(line)
        } else {
            Some((*line).to_owned())
        };
        if let Some(new) = new {
            out.push_str(&new);
            out.push_str("\r\n");
        }
    }
    out
}

/// Stops us sending on `mid`: `sendrecv` becomes `recvonly`, `sendonly` becomes
/// `inactive`, and the section's msid and sender ssrc lines go.
pub(crate) fn stop_sending(sdp: &str, mid: &str) -> String {
    edit_section(sdp, mid, |line| match line {
        "a=sendrecv" => Some("a=recvonly".to_owned()),
        "a=sendonly" => Some("a=inactive".to_owned()),
        l if l.starts_with("a=msid:")
            || l.starts_with("a=ssrc:")
            || l.starts_with("a=ssrc-group:") =>
        {
            None
        }
        l => Some(l.to_owned()),
    })
}

/// Sets the msid (`a=msid` and `a=ssrc:… msid:`) of the section `mid`.
pub(crate) fn set_msid(sdp: &str, mid: &str, stream_id: &str, track_id: &str) -> String {
    let msid = format!("{stream_id} {track_id}");
    edit_section(sdp, mid, |line| {
        if line.starts_with("a=msid:") {
            return Some(format!("a=msid:{msid}"));
        }
        if let Some(rest) = line.strip_prefix("a=ssrc:") {
            if let Some((ssrc, attr)) = rest.split_once(' ') {
                if attr.starts_with("msid:") {
                    return Some(format!("a=ssrc:{ssrc} msid:{msid}"));
                }
            }
        }
        Some(line.to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDP: &str = "v=0\r\no=- 1 2 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\na=sendrecv\r\na=msid:s t\r\n\
        a=ssrc:1 cname:x\r\na=ssrc:1 msid:s t\r\n\
        m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\na=sendrecv\r\na=msid:s u\r\n\
        a=ssrc:2 msid:s u\r\n";

    #[test]
    fn finds_sections() {
        let s = sections(SDP);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].media, "audio");
        assert_eq!(s[0].mid.as_deref(), Some("0"));
        assert_eq!(s[1].media, "video");
        assert_eq!(s[1].mid.as_deref(), Some("1"));
    }

    #[test]
    fn stop_sending_touches_one_section() {
        let out = stop_sending(SDP, "1");
        assert!(out.contains("a=mid:0\r\na=sendrecv\r\na=msid:s t\r\n"));
        assert!(out.contains("a=mid:1\r\na=recvonly\r\n"));
        assert!(!out.contains("msid:s u"));
        assert!(out.contains("a=ssrc:1 msid:s t"));
    }

    #[test]
    fn set_msid_rewrites_both_forms() {
        let out = set_msid(SDP, "0", "stream", "track");
        assert!(out.contains("a=msid:stream track\r\n"));
        assert!(out.contains("a=ssrc:1 msid:stream track\r\n"));
        assert!(out.contains("a=ssrc:1 cname:x\r\n"));
        assert!(out.contains("a=msid:s u\r\n"));
    }
}
