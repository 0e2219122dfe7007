// SPDX-License-Identifier: LGPL-2.1-or-later
//! With TLSLOCAL_RPATH=1, this crate's own tests and examples get an rpath to the library
//! directories tlslocal-sys found, so they run against an uninstalled build without
//! LD_LIBRARY_PATH (meson's tests and the demo use it). Users' programs are not affected.
use std::env;

fn main() {
    println!("cargo:rerun-if-env-changed=TLSLOCAL_RPATH");
    if env::var("TLSLOCAL_RPATH").map_or(true, |v| v.is_empty() || v == "0") {
        return;
    }
    if let Some(dirs) = env::var_os("DEP_TLSLOCAL_LIBDIRS") {
        for dir in env::split_paths(&dirs) {
            println!("cargo:rustc-link-arg=-Wl,-rpath,{}", dir.display());
        }
    }
}
