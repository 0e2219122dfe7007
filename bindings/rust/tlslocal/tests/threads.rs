// SPDX-License-Identifier: LGPL-2.1-or-later
// Real OS threads (std::thread), many times over: per-thread separation, one Local shared by
// Clone and by Arc, drop order across threads, thread_clear, and the C API on the same thread.
use std::ffi::{CStr, CString};
use std::ptr;
use std::sync::{Arc, Barrier};
use std::thread;
use tlslocal::{sys, thread_clear, Local};

const THREADS: usize = 16;
const ROUNDS: usize = 200;

#[test]
fn each_thread_sees_its_own_dictionary() {
    let local = Local::new();
    local.set("who", "main").unwrap();
    let shared = Arc::new(local.clone());
    let barrier = Arc::new(Barrier::new(THREADS));
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (local, shared, barrier) = (local.clone(), shared.clone(), barrier.clone());
            thread::spawn(move || {
                assert_eq!(local.get::<String>("who").unwrap(), None, "a new thread starts empty");
                barrier.wait(); // all threads alive at once, writing the same keys
                for round in 0..ROUNDS {
                    let mine = (t * ROUNDS + round) as i64;
                    local.set("n", mine).unwrap();
                    thread::yield_now();
                    assert_eq!(shared.get::<i64>("n").unwrap(), Some(mine));
                    shared.set("who", format!("thread {t}")).unwrap();
                    assert_eq!(local.get::<String>("who").unwrap().unwrap(), format!("thread {t}"));
                }
                local.get::<i64>("n").unwrap().unwrap()
            })
        })
        .collect();
    for (t, handle) in handles.into_iter().enumerate() {
        assert_eq!(handle.join().unwrap(), (t * ROUNDS + ROUNDS - 1) as i64);
    }
    assert_eq!(local.get::<String>("who").unwrap().as_deref(), Some("main"));
    assert_eq!(local.get::<i64>("n").unwrap(), None);
}

#[test]
fn many_short_threads() {
    let local = Local::new();
    for round in 0..ROUNDS {
        let local = local.clone();
        thread::spawn(move || {
            assert!(!local.contains("k").unwrap());
            local.set("k", round as u64).unwrap();
            assert_eq!(local.get::<u64>("k").unwrap(), Some(round as u64));
        })
        .join()
        .unwrap();
    }
    assert!(!local.contains("k").unwrap());
}

#[test]
fn a_local_dropped_while_another_thread_holds_a_clone() {
    for _ in 0..50 {
        let local = Local::new();
        let clone = local.clone();
        let (set, dropped) = (Arc::new(Barrier::new(2)), Arc::new(Barrier::new(2)));
        let (set2, dropped2) = (set.clone(), dropped.clone());
        let worker = thread::spawn(move || {
            clone.set("x", "worker").unwrap();
            set2.wait();
            dropped2.wait(); // the main thread's Local is gone; this clone keeps the local alive
            assert_eq!(clone.get::<String>("x").unwrap().as_deref(), Some("worker"));
            clone.set("y", 2i64).unwrap();
            clone.len().unwrap()
        });
        local.set("x", "main").unwrap();
        set.wait();
        drop(local);
        dropped.wait();
        assert_eq!(worker.join().unwrap(), 2);
    }
}

#[test]
fn values_outlive_their_local() {
    let local = Local::new();
    local.set("v", "kept").unwrap();
    let value = local.get::<tlslocal::Value>("v").unwrap().unwrap();
    drop(local);
    assert_eq!(value.get::<String>().unwrap(), "kept");
    let moved = thread::spawn(move || value.get::<String>().unwrap()).join().unwrap();
    assert_eq!(moved, "kept");
}

#[test]
fn thread_clear_empties_every_local_of_this_thread_only() {
    let (a, b) = (Local::new(), Local::new());
    let worker = {
        let a2 = a.clone();
        let barrier = Arc::new(Barrier::new(2));
        let b2 = barrier.clone();
        let handle = thread::spawn(move || {
            a2.set("k", 1i64).unwrap();
            b2.wait();
            b2.wait();
            a2.get::<i64>("k").unwrap()
        });
        barrier.wait();
        a.set("k", 2i64).unwrap();
        b.set("k", 3i64).unwrap();
        thread_clear();
        assert_eq!(a.get::<i64>("k").unwrap(), None);
        assert_eq!(b.get::<i64>("k").unwrap(), None);
        a.set("k", 4i64).unwrap(); // usable again afterwards
        assert_eq!(a.get::<i64>("k").unwrap(), Some(4));
        barrier.wait();
        handle
    };
    assert_eq!(worker.join().unwrap(), Some(1), "another thread's dictionary is untouched");
}

fn cstr(text: &str) -> CString {
    CString::new(text).unwrap()
}

#[test]
fn named_locals_are_shared_with_c_on_the_same_thread() {
    let handles: Vec<_> = (0..8)
        .map(|t| {
            thread::spawn(move || {
                let name = cstr("rust-tests-shared");
                for round in 0..ROUNDS {
                    let ctx = Local::open("rust-tests-shared").unwrap();
                    let id = format!("req-{t}-{round}");
                    ctx.set("request_id", id.as_str()).unwrap();
                    unsafe {
                        // C's side: its own handle from tl_local_open, the same thread.
                        let c_local = sys::tl_local_open(name.as_ptr());
                        assert!(!c_local.is_null());
                        assert_eq!(c_local, ctx.as_ptr(), "one registry, one local");
                        let mut value = ptr::null_mut();
                        let key = cstr("request_id");
                        assert_eq!(
                            sys::tl_local_get(c_local, key.as_ptr(), &mut value),
                            sys::TL_OK
                        );
                        let mut text = ptr::null();
                        assert_eq!(sys::tl_value_get_string(value, &mut text), sys::TL_OK);
                        assert_eq!(CStr::from_ptr(text).to_str().unwrap(), id);
                        sys::tl_value_unref(value);
                        // C writes; Rust reads.
                        let reply = cstr(&format!("ack {id}"));
                        let key = cstr("reply");
                        assert_eq!(
                            sys::tl_local_set_string(c_local, key.as_ptr(), reply.as_ptr()),
                            sys::TL_OK
                        );
                        assert_eq!(sys::tl_local_set_int64(c_local, cstr("n").as_ptr(), -1), 0);
                        sys::tl_local_unref(c_local);
                    }
                    assert_eq!(ctx.get::<String>("reply").unwrap().unwrap(), format!("ack {id}"));
                    assert_eq!(ctx.get::<i64>("n").unwrap(), Some(-1));
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
}
