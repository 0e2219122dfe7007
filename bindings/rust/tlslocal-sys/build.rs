// SPDX-License-Identifier: LGPL-2.1-or-later
//! Finds libtlslocal with the `pkg-config` program (no crate registry: no pkg-config crate).
//! `PKG_CONFIG` names another program, `PKG_CONFIG_PATH` another .pc directory. The library
//! directories found are passed on to dependent build scripts as `DEP_TLSLOCAL_LIBDIRS`.
use std::env;
use std::process::Command;

fn pkg_config(program: &str, args: &[&str]) -> Vec<String> {
    let output = Command::new(program).args(args).arg("tlslocal").output().unwrap_or_else(|e| {
        panic!("cannot run `{program}` ({e}): install pkg-config (Debian: apt install pkg-config)")
    });
    if !output.status.success() {
        panic!(
            "`{program} {} tlslocal` failed: {}\ninstall libtlslocal (`meson install`, or Debian's \
             libtlslocal-dev), or point PKG_CONFIG_PATH at the directory of its tlslocal.pc",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    String::from_utf8_lossy(&output.stdout).split_whitespace().map(str::to_owned).collect()
}

fn main() {
    for var in ["PKG_CONFIG", "PKG_CONFIG_PATH", "PKG_CONFIG_LIBDIR", "PKG_CONFIG_SYSROOT_DIR"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    let program = env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".to_owned());
    let mut dirs = Vec::new();
    for flag in pkg_config(&program, &["--libs-only-L"]) {
        if let Some(dir) = flag.strip_prefix("-L") {
            println!("cargo:rustc-link-search=native={dir}");
            dirs.push(dir.to_owned());
        }
    }
    for flag in pkg_config(&program, &["--libs-only-l"]) {
        if let Some(lib) = flag.strip_prefix("-l") {
            println!("cargo:rustc-link-lib=dylib={lib}");
        }
    }
    println!("cargo:libdirs={}", env::join_paths(&dirs).unwrap().to_string_lossy());
}
