// SPDX-License-Identifier: LGPL-2.1-or-later
// Interned keys: a quark and its string name the same key both ways, every built-in type by
// quark, errors as for string keys, many threads interning and writing at once; and the binary
// form of values.
use std::collections::HashSet;
use std::sync::{Arc, Barrier};
use std::thread;
use tlslocal::{sys, Local, Quark, Value};

#[test]
fn a_quark_and_its_string_name_the_same_key() {
    let local = Local::new();
    let key = Quark::new("rust-request-id").unwrap();
    assert_eq!(key, Quark::try_from("rust-request-id").unwrap());
    assert_ne!(key, Quark::new("rust-other").unwrap());
    assert_eq!(key.as_str(), "rust-request-id");
    assert_ne!(key.id(), 0);
    assert_eq!(format!("{key:?}"), "Quark(\"rust-request-id\")");

    local.set_quark(key, "r-1").unwrap();
    assert_eq!(local.get::<String>("rust-request-id").unwrap().as_deref(), Some("r-1"));
    assert_eq!(local.get_quark::<String>(key).unwrap().as_deref(), Some("r-1"));
    local.set("rust-request-id", 42i64).unwrap();
    assert_eq!(local.get_quark::<i64>(key).unwrap(), Some(42));
    assert_eq!(local.len().unwrap(), 1);

    assert!(local.remove_quark(key).unwrap());
    assert!(!local.remove_quark(key).unwrap());
    assert!(!local.contains("rust-request-id").unwrap());
    assert_eq!(local.get_quark::<i64>(key).unwrap(), None);
    assert_eq!(local.get_quark::<Value>(key).unwrap(), None);
    local.set("rust-request-id", true).unwrap();
    assert!(local.remove_quark(key).unwrap());
}

#[test]
fn every_type_by_quark() {
    let local = Local::new();
    let key = Quark::new("rust-typed").unwrap();
    macro_rules! round_trip {
        ($($t:ty = $v:expr),*) => {$(
            local.set_quark(key, $v).unwrap();
            assert_eq!(local.get_quark::<$t>(key).unwrap(), Some($v));
            assert_eq!(local.get::<$t>("rust-typed").unwrap(), Some($v));
        )*};
    }
    round_trip!(i64 = i64::MIN, u64 = u64::MAX, i32 = -7i32, u32 = 7u32, i16 = -3i16,
        u16 = 3u16, u8 = 255u8, f64 = 0.25f64, bool = true, bool = false,
        String = String::from("héllo"), Vec<u8> = vec![0u8, 1, 0]);
    let list = Value::parse("[1, 2]").unwrap();
    local.set_quark(key, &list).unwrap();
    assert_eq!(local.get_quark::<Value>(key).unwrap(), Some(list));
}

#[test]
fn errors_by_quark_are_those_of_string_keys() {
    let local = Local::new();
    let key = Quark::new("rust-errors").unwrap();
    local.set_quark(key, "text").unwrap();
    let error = local.get_quark::<i64>(key).unwrap_err();
    assert_eq!(error.status(), sys::TL_ERR_WRONG_TYPE);
    assert!(!error.message().is_empty());
    assert_eq!(local.get_quark::<i32>(key).unwrap_err().status(), sys::TL_ERR_WRONG_TYPE);
    // A NUL byte cannot be interned: the library would see a shorter name.
    assert_eq!(Quark::new("a\0b").unwrap_err().status(), sys::TL_ERR_INVALID_KEY);
    let error = local.set_quark(key, "a\0b").unwrap_err();
    assert_eq!(error.status(), sys::TL_ERR_INVALID_ARGUMENT);
    assert_eq!(local.get_quark::<String>(key).unwrap().as_deref(), Some("text"));
}

#[test]
fn many_threads_intern_and_write_at_once() {
    const THREADS: usize = 16;
    const ROUNDS: usize = 100;
    let local = Local::new();
    for round in 0..ROUNDS {
        let barrier = Arc::new(Barrier::new(THREADS));
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let (local, barrier) = (local.clone(), barrier.clone());
                thread::spawn(move || {
                    barrier.wait();
                    let common = Quark::new("rust-quark-common").unwrap();
                    let own_name = format!("rust-quark-r{round}-t{t}");
                    let own = Quark::new(&own_name).unwrap();
                    for i in 0..20i64 {
                        local.set_quark(common, (t as i64) * 1000 + i).unwrap();
                        local.set(&own_name, i).unwrap();
                        assert_eq!(
                            local.get::<i64>("rust-quark-common").unwrap(),
                            Some(t as i64 * 1000 + i)
                        );
                        assert_eq!(local.get_quark::<i64>(own).unwrap(), Some(i));
                    }
                    assert!(local.remove_quark(own).unwrap());
                    assert_eq!(local.keys().unwrap(), vec!["rust-quark-common".to_owned()]);
                    common
                })
            })
            .collect();
        let quarks: HashSet<Quark> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        assert_eq!(quarks.len(), 1, "one quark per name, whichever thread interned it first");
    }
    assert_eq!(local.get_quark::<i64>(Quark::new("rust-quark-common").unwrap()).unwrap(), None);
}

#[test]
fn binary_form_round_trips_and_refuses_bad_bytes() {
    let value = Value::parse("{'user': <'linus'>, 'depth': <int64 3>}").unwrap();
    let bytes = value.serialize().unwrap();
    let back = Value::deserialize("a{sv}", &bytes).unwrap();
    assert_eq!(back, value);
    assert_eq!(Value::from(7i64).serialize().unwrap(), 7i64.to_le_bytes());
    assert_eq!(Value::deserialize("x", &7i64.to_le_bytes()).unwrap(), Value::from(7i64));
    let truncated = Value::deserialize("a{sv}", &bytes[..bytes.len() - 1]).unwrap_err();
    assert_eq!(truncated.status(), sys::TL_ERR_PARSE);
    assert_eq!(Value::deserialize("x", &[1, 2, 3]).unwrap_err().status(), sys::TL_ERR_PARSE);
    let bad_type = Value::deserialize("a{", &bytes).unwrap_err();
    assert_eq!(bad_type.status(), sys::TL_ERR_INVALID_ARGUMENT);
    let pointer = Value::pointer(5u32);
    assert_eq!(pointer.serialize().unwrap_err().status(), sys::TL_ERR_WRONG_TYPE);
}
