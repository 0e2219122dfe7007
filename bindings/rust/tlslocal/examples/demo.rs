// SPDX-License-Identifier: LGPL-2.1-or-later
//! tlslocal-demo, step 4, the Rust side: run by the demo as
//!     demo HELPER LOCAL_NAME REQUEST_ID
//! On its one thread it sets request_id in the named local, lets the C helper (loaded at run time
//! with dlopen: the demo's helper is built after the bindings) read it and answer in `reply`, and
//! reads that reply back. Prints one tab-separated line: RESULT wrote c_read c_reply read_back, or
//! ERROR why (exit 1).
use std::ffi::{c_void, CStr, CString};
use std::os::raw::{c_char, c_int};
use std::process::ExitCode;

extern "C" {
    fn dlopen(filename: *const c_char, flags: c_int) -> *mut c_void;
    fn dlsym(handle: *mut c_void, symbol: *const c_char) -> *mut c_void;
    fn dlerror() -> *const c_char;
}
const RTLD_NOW: c_int = 2;

type Acknowledge = unsafe extern "C" fn(
    local_name: *const c_char,
    read_out: *mut c_char,
    read_size: usize,
    reply_out: *mut c_char,
    reply_size: usize,
) -> c_int;

fn dl_error() -> String {
    // SAFETY: dlerror returns NULL or a thread-local message.
    let message = unsafe { dlerror() };
    if message.is_null() {
        return "unknown dlopen error".to_owned();
    }
    unsafe { CStr::from_ptr(message) }.to_string_lossy().into_owned()
}

fn run(helper: &str, local_name: &str, request_id: &str) -> Result<String, String> {
    let path = CString::new(helper).map_err(|e| e.to_string())?;
    // SAFETY: a valid path; the helper links the same libtlslocal.so.1 this program does.
    let handle = unsafe { dlopen(path.as_ptr(), RTLD_NOW) };
    if handle.is_null() {
        return Err(format!("cannot load the C helper: {}", dl_error()));
    }
    let symbol = unsafe { dlsym(handle, b"tldemo_acknowledge\0".as_ptr().cast()) };
    if symbol.is_null() {
        return Err(format!("no tldemo_acknowledge: {}", dl_error()));
    }
    // SAFETY: the prototype of examples/demo/tlslocal-demo-helper.h.
    let acknowledge: Acknowledge = unsafe { std::mem::transmute(symbol) };

    let ctx = tlslocal::Local::open(local_name).map_err(|e| e.to_string())?;
    ctx.set("request_id", request_id).map_err(|e| e.to_string())?;
    let name = CString::new(local_name).map_err(|e| e.to_string())?;
    let (mut c_read, mut c_reply) = ([0 as c_char; 128], [0 as c_char; 128]);
    let status = unsafe {
        acknowledge(
            name.as_ptr(),
            c_read.as_mut_ptr(),
            c_read.len(),
            c_reply.as_mut_ptr(),
            c_reply.len(),
        )
    };
    if status != 0 {
        return Err(format!("the C helper failed: status {status}"));
    }
    let text = |buffer: &[c_char]| unsafe { CStr::from_ptr(buffer.as_ptr()) }.to_string_lossy();
    let read_back = ctx.get::<String>("reply").map_err(|e| e.to_string())?;
    Ok(format!(
        "RESULT\t{request_id}\t{}\t{}\t{}",
        text(&c_read),
        text(&c_reply),
        read_back.as_deref().unwrap_or("(nothing)")
    ))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let result = match args.as_slice() {
        [_, helper, local_name, request_id, ..] => run(helper, local_name, request_id),
        _ => Err("usage: demo HELPER LOCAL_NAME REQUEST_ID".to_owned()),
    };
    match result {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(why) => {
            println!("ERROR\t{}", why.split_whitespace().collect::<Vec<_>>().join(" "));
            ExitCode::FAILURE
        }
    }
}
