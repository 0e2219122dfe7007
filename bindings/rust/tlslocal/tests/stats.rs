// SPDX-License-Identifier: LGPL-2.1-or-later
// No leak: the library's live counts return to where they were (one test in this process, so
// no other test changes them meanwhile).
use std::thread;
use tlslocal::{sys, Local, Value};

fn counts() -> [usize; 3] {
    unsafe {
        [sys::tl_stats_live_locals(), sys::tl_stats_live_dicts(), sys::tl_stats_live_values()]
    }
}

#[test]
fn handles_going_out_of_scope_leak_nothing() {
    let before = counts();
    for _ in 0..20 {
        let local = Local::new();
        let named = Local::open("rust-tests-stats").unwrap();
        let kept = Value::parse("{'a': <1>}").unwrap();
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let (local, named, kept) = (local.clone(), named.clone(), kept.clone());
                thread::spawn(move || {
                    local.set("t", t as i64).unwrap();
                    local.set("kept", &kept).unwrap();
                    named.set("s", "x").unwrap();
                    local.set("p", Value::pointer(vec![1u8; 16])).unwrap();
                    let _ = local.get::<Value>("kept").unwrap();
                })
            })
            .collect();
        for handle in handles {
            handle.join().unwrap();
        }
        local.set("v", Value::bytes(b"abc")).unwrap();
        named.set("s", "main").unwrap();
        named.remove("s").unwrap();
    }
    assert!(tlslocal::unregister("rust-tests-stats").unwrap());
    assert_eq!(counts(), before);
}
