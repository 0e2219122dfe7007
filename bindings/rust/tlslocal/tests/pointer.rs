// SPDX-License-Identifier: LGPL-2.1-or-later
// Pointer values with a destroy closure: it runs exactly once, on the last unref, whichever
// event releases it (thread exit, the local's drop, overwrite, remove, thread_clear, a Value).
use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use tlslocal::{sys, thread_clear, Local, Value};

fn counted(count: &Arc<AtomicUsize>) -> Value {
    let count = count.clone();
    Value::pointer_with(42u64, move |data| {
        assert_eq!(data, 42);
        count.fetch_add(1, Ordering::SeqCst);
    })
}

#[test]
fn c_sees_the_address_of_the_data() {
    let value = Value::pointer(Box::new(7u32));
    let raw = value.get::<*mut c_void>().unwrap();
    assert_eq!(unsafe { **(raw as *const Box<u32>) }, 7);
    let local = Local::new();
    local.set("p", &value).unwrap();
    let mut out = std::ptr::null_mut();
    let got = local.get::<Value>("p").unwrap().unwrap();
    assert_eq!(unsafe { sys::tl_value_get_pointer(got.as_raw().unwrap(), &mut out) }, 0);
    assert_eq!(out, raw);
    assert_eq!(local.get::<i64>("p").unwrap_err().status(), sys::TL_ERR_WRONG_TYPE);
}

#[test]
fn destroy_runs_once_on_thread_exit() {
    let count = Arc::new(AtomicUsize::new(0));
    let local = Local::new();
    for round in 1..=100 {
        let (local, count2) = (local.clone(), count.clone());
        thread::spawn(move || local.set("p", counted(&count2)).unwrap()).join().unwrap();
        assert_eq!(count.load(Ordering::SeqCst), round);
    }
}

#[test]
fn destroy_runs_once_when_the_local_is_dropped_with_threads_alive() {
    const THREADS: usize = 8;
    let count = Arc::new(AtomicUsize::new(0));
    let local = Local::new();
    let (stored, dropped) =
        (Arc::new(Barrier::new(THREADS + 1)), Arc::new(Barrier::new(THREADS + 1)));
    let handles: Vec<_> = (0..THREADS)
        .map(|_| {
            let (local, count, stored, dropped) =
                (local.clone(), count.clone(), stored.clone(), dropped.clone());
            thread::spawn(move || {
                local.set("p", counted(&count)).unwrap();
                drop(local);
                stored.wait();
                dropped.wait(); // still running when the last reference went
            })
        })
        .collect();
    stored.wait();
    assert_eq!(count.load(Ordering::SeqCst), 0);
    drop(local); // the last reference: every thread's dictionary is freed here, at once
    assert_eq!(count.load(Ordering::SeqCst), THREADS);
    dropped.wait();
    for handle in handles {
        handle.join().unwrap();
    }
    assert_eq!(count.load(Ordering::SeqCst), THREADS);
}

#[test]
fn destroy_waits_for_the_last_reference() {
    let count = Arc::new(AtomicUsize::new(0));
    let local = Local::new();
    let value = counted(&count);
    local.set("a", &value).unwrap();
    local.set("b", value.clone()).unwrap();
    local.set("a", 1i64).unwrap(); // overwrite
    assert!(local.remove("b").unwrap());
    assert_eq!(count.load(Ordering::SeqCst), 0, "the Value still holds it");
    local.set("c", &value).unwrap();
    drop(value);
    assert_eq!(count.load(Ordering::SeqCst), 0, "the dictionary still holds it");
    thread_clear();
    assert_eq!(count.load(Ordering::SeqCst), 1);
    drop(local);
    assert_eq!(count.load(Ordering::SeqCst), 1);
}

#[test]
fn a_value_released_on_another_thread() {
    let count = Arc::new(AtomicUsize::new(0));
    let value = counted(&count);
    let main = thread::current().id();
    let seen = Arc::new(std::sync::Mutex::new(None));
    let seen2 = seen.clone();
    let value2 = Value::pointer_with((), move |()| {
        *seen2.lock().unwrap() = Some(thread::current().id());
    });
    thread::spawn(move || {
        drop(value);
        drop(value2);
    })
    .join()
    .unwrap();
    assert_eq!(count.load(Ordering::SeqCst), 1);
    let ran_on = seen.lock().unwrap().unwrap();
    assert_ne!(ran_on, main);
}

#[test]
fn plain_pointer_drops_its_data() {
    struct Flag(Arc<AtomicUsize>);
    impl Drop for Flag {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let count = Arc::new(AtomicUsize::new(0));
    let local = Local::new();
    local.set("f", Value::pointer(Flag(count.clone()))).unwrap();
    assert_eq!(count.load(Ordering::SeqCst), 0);
    drop(local);
    assert_eq!(count.load(Ordering::SeqCst), 1);
}
