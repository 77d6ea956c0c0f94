//! Finds `shared/vectors/lib-jitsi-meet` (next to the repository, as on CI) so
//! the targets can embed the vectors with `include_str!`.
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=PROXY_VECTORS_DIR");
    let dir = match std::env::var_os("PROXY_VECTORS_DIR") {
        Some(d) => PathBuf::from(d),
        None => {
            let manifest =
                PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
            manifest
                .ancestors()
                .map(|a| a.join("shared/vectors/lib-jitsi-meet"))
                .find(|d| d.is_dir())
                .unwrap_or_else(|| {
                    panic!(
                        "no shared/vectors/lib-jitsi-meet above {}; set PROXY_VECTORS_DIR",
                        manifest.display()
                    )
                })
        }
    };
    println!("cargo:rerun-if-changed={}", dir.display());
    println!("cargo:rustc-env=PROXY_VECTORS_DIR={}", dir.display());
}
