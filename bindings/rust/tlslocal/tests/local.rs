// SPDX-License-Identifier: LGPL-2.1-or-later
// The safe API on one thread: every set/get type, errors, remove/contains, values, NUL bytes.
use tlslocal::{sys, Error, Local, Value};

#[test]
fn every_type_round_trips() {
    let local = Local::new();
    local.set("i64", -5i64).unwrap();
    local.set("i64min", i64::MIN).unwrap();
    local.set("u64", u64::MAX).unwrap();
    local.set("i32", -7i32).unwrap();
    local.set("f64", 2.5f64).unwrap();
    local.set("true", true).unwrap();
    local.set("false", false).unwrap();
    local.set("str", "héllo").unwrap();
    local.set("string", String::from("owned")).unwrap();
    local.set("bytes", vec![0u8, 1, 0, 255]).unwrap();
    local.set("empty", Vec::<u8>::new()).unwrap();
    local.set("value", Value::parse("[1, 2, 3]").unwrap()).unwrap();
    assert_eq!(local.get::<i64>("i64").unwrap(), Some(-5));
    assert_eq!(local.get::<i64>("i64min").unwrap(), Some(i64::MIN));
    assert_eq!(local.get::<u64>("u64").unwrap(), Some(u64::MAX));
    assert_eq!(local.get::<i32>("i32").unwrap(), Some(-7));
    assert_eq!(local.get::<f64>("f64").unwrap(), Some(2.5));
    assert_eq!(local.get::<bool>("true").unwrap(), Some(true));
    assert_eq!(local.get::<bool>("false").unwrap(), Some(false));
    assert_eq!(local.get::<String>("str").unwrap().as_deref(), Some("héllo"));
    assert_eq!(local.get::<String>("string").unwrap().as_deref(), Some("owned"));
    assert_eq!(local.get::<Vec<u8>>("bytes").unwrap(), Some(vec![0, 1, 0, 255]));
    assert_eq!(local.get::<Vec<u8>>("empty").unwrap(), Some(vec![]));
    let value = local.get::<Value>("value").unwrap().unwrap();
    assert_eq!(value.type_string().unwrap(), "ai");
    assert_eq!(value.print(false).unwrap(), "[1, 2, 3]");
    assert_eq!(value, Value::parse_typed(Some("ai"), "[1, 2, 3]").unwrap());
    assert_ne!(value, Value::parse("[int64 1, 2, 3]").unwrap());
    // The C types each Rust type is stored as.
    let types: Vec<String> = ["i64", "u64", "i32", "f64", "true", "str", "bytes"]
        .iter()
        .map(|k| local.get::<Value>(k).unwrap().unwrap().type_string().unwrap().to_owned())
        .collect();
    assert_eq!(types, ["x", "t", "i", "d", "b", "s", "ay"]);
    assert_eq!(local.len().unwrap(), 12);
    assert_eq!(local.keys().unwrap()[..3], ["i64", "i64min", "u64"]);
}

#[test]
fn absent_is_none_and_wrong_type_is_an_error() {
    let local = Local::new();
    assert_eq!(local.get::<i64>("missing").unwrap(), None);
    local.set("n", 5i64).unwrap();
    for error in [
        local.get::<String>("n").unwrap_err(),
        local.get::<i32>("n").unwrap_err(),
        local.get::<u64>("n").unwrap_err(),
        local.get::<Vec<u8>>("n").unwrap_err(),
    ] {
        assert_eq!(error.status(), sys::TL_ERR_WRONG_TYPE);
        assert_eq!(error.name(), "TL_ERR_WRONG_TYPE");
        assert!(!error.message().is_empty());
        assert!(error.to_string().starts_with("TL_ERR_WRONG_TYPE: "), "{error}");
    }
    // The error is a std error, usable with `?` into Box<dyn Error>.
    let boxed: Box<dyn std::error::Error> = local.get::<bool>("n").unwrap_err().into();
    assert!(boxed.to_string().contains("TL_ERR_WRONG_TYPE"));
}

#[test]
fn remove_and_contains() {
    let local = Local::new();
    assert!(!local.contains("k").unwrap());
    assert!(!local.remove("k").unwrap());
    local.set("k", "v").unwrap();
    assert!(local.contains("k").unwrap());
    assert!(local.remove("k").unwrap());
    assert!(!local.contains("k").unwrap());
    assert!(!local.remove("k").unwrap());
    local.set("a", 1i64).unwrap();
    local.set("b", 2i64).unwrap();
    local.clear().unwrap();
    assert!(local.is_empty().unwrap());
}

#[test]
fn nul_bytes_are_errors_not_panics() {
    let local = Local::new();
    let error = local.set("a\0b", 1i64).unwrap_err();
    assert_eq!(error.status(), sys::TL_ERR_INVALID_KEY);
    assert!(error.message().contains("NUL"), "{error}");
    assert_eq!(local.get::<i64>("a\0b").unwrap_err().status(), sys::TL_ERR_INVALID_KEY);
    assert_eq!(local.contains("a\0b").unwrap_err().status(), sys::TL_ERR_INVALID_KEY);
    assert_eq!(local.remove("a\0b").unwrap_err().status(), sys::TL_ERR_INVALID_KEY);
    assert_eq!(Local::open("x\0y").unwrap_err().status(), sys::TL_ERR_INVALID_KEY);
    // A string value with a NUL: the error comes with the set, and nothing is stored.
    let error = local.set("s", "a\0b").unwrap_err();
    assert_eq!(error.status(), sys::TL_ERR_INVALID_ARGUMENT);
    assert!(!local.contains("s").unwrap());
    // Bytes keep their NULs.
    local.set("b", b"a\0b".to_vec()).unwrap();
    assert_eq!(local.get::<Vec<u8>>("b").unwrap().unwrap(), b"a\0b");
}

#[test]
fn parse_and_print() {
    let value = Value::parse_typed(Some("i"), "int64 5").unwrap();
    assert_eq!(value.type_string().unwrap(), "i");
    assert_eq!(value.get::<i32>().unwrap(), 5);
    assert_eq!(Value::from("it's").print(false).unwrap(), "\"it's\"");
    let error = Value::parse("[1,").unwrap_err();
    assert_eq!(error.status(), sys::TL_ERR_PARSE);
    assert!(!error.message().is_empty());
    assert_eq!(
        Value::parse_typed(Some("??"), "1").unwrap_err().status(),
        sys::TL_ERR_INVALID_ARGUMENT
    );
    let pointer = Value::pointer(5u32);
    assert_eq!(pointer.type_string().unwrap(), "p");
    assert_eq!(pointer.print(false).unwrap_err().status(), sys::TL_ERR_WRONG_TYPE);
    assert_eq!(pointer.clone(), pointer);
}

#[test]
fn errors_carry_the_message_of_their_own_call() {
    let local = Local::new();
    local.set("n", 1i64).unwrap();
    let first = local.get::<String>("n").unwrap_err();
    let second = Value::parse("{").unwrap_err();
    assert_ne!(first.message(), second.message());
    assert_eq!(first.status(), sys::TL_ERR_WRONG_TYPE);
}

#[test]
fn types_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Local>();
    send_sync::<Value>();
    send_sync::<Error>();
}

#[test]
fn version_matches_the_library() {
    assert_eq!(tlslocal::version().split('.').count(), 3);
}
