// SPDX-License-Identifier: LGPL-2.1-or-later
//! Safe bindings of libtlslocal: per-object thread-local storage whose per-thread dictionaries C
//! code in the same process reads and writes too.
//!
//! ```no_run
//! let ctx = tlslocal::Local::open("request")?; // the local C opens with tl_local_open("request")
//! ctx.set("request_id", "req-42")?;             // C, on this thread, reads 'req-42'
//! let id: Option<String> = ctx.get("request_id")?;
//! # Ok::<(), tlslocal::Error>(())
//! ```
//!
//! A `Local` acts on the calling OS thread's dictionary, as every `tl_local_*` call does: see the
//! README's thread rules. Marshalling only: every behaviour is the C library's.
use std::ffi::{c_void, CStr, CString};
use std::fmt;
use std::num::NonZeroU32;
use std::os::raw::{c_char, c_int};
use std::ptr::{self, NonNull};

pub use tlslocal_sys as sys;

/// A failed call: the `TL_ERR_*` status and the calling thread's `tl_last_error_message()`,
/// read right after the call that failed.
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    status: i32,
    message: String,
}

impl Error {
    /// The status of the last failed call on this thread, with its message.
    fn last(status: c_int) -> Error {
        // SAFETY: the library returns a static or thread-owned string, never NULL.
        let message = unsafe { CStr::from_ptr(sys::tl_last_error_message()) };
        Error { status, message: message.to_string_lossy().into_owned() }
    }

    /// An error the binding detects before calling C (a key holding a NUL byte).
    fn new(status: c_int, message: String) -> Error {
        Error { status, message }
    }

    /// The `TL_ERR_*` status (negative), such as `sys::TL_ERR_WRONG_TYPE`.
    pub fn status(&self) -> i32 {
        self.status
    }

    /// The detailed message (`tl_last_error_message()` of the failed call).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The status's symbolic name, such as `"TL_ERR_WRONG_TYPE"` (`tl_status_name()`).
    pub fn name(&self) -> &'static str {
        // SAFETY: a static string for every status, known or not.
        unsafe { CStr::from_ptr(sys::tl_status_name(self.status)) }.to_str().unwrap_or("TL_UNKNOWN")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.name(), self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("status", &self.status)
            .field("name", &self.name())
            .field("message", &self.message)
            .finish()
    }
}

impl std::error::Error for Error {}

/// Turns a status into a Result, reading the message at once on this thread.
fn check(status: c_int) -> Result<c_int, Error> {
    if status < 0 {
        Err(Error::last(status))
    } else {
        Ok(status)
    }
}

/// `Ok(false)` for `TL_ERR_NOT_FOUND`, `Ok(true)` for success, `Err` for any other status.
fn found(status: c_int) -> Result<bool, Error> {
    match status {
        sys::TL_ERR_NOT_FOUND => Ok(false),
        status => check(status).map(|_| true),
    }
}

/// A key or name as a C string; one holding a NUL byte is refused as C would refuse a bad key.
fn c_key(key: &str) -> Result<CString, Error> {
    CString::new(key).map_err(|_| {
        Error::new(sys::TL_ERR_INVALID_KEY, format!("key {key:?} contains a NUL byte"))
    })
}

/// Free every dictionary of the calling thread, in every local, as its exit would
/// (`tl_thread_clear()`): between the tasks of a pooled thread.
pub fn thread_clear() {
    // SAFETY: no arguments; acts on the calling thread only.
    unsafe { sys::tl_thread_clear() }
}

/// The C library's version, "MAJOR.MINOR.MICRO" (`tl_version()`).
pub fn version() -> &'static str {
    // SAFETY: a static string.
    unsafe { CStr::from_ptr(sys::tl_version()) }.to_str().unwrap_or("")
}

/// Forget a named local (`tl_local_unregister()`): `Local`s already opened stay valid, and a
/// later `Local::open(name)` gets a new local. `Ok(false)` if no such name was registered.
pub fn unregister(name: &str) -> Result<bool, Error> {
    let name = c_key(name)?;
    // SAFETY: a valid C string.
    match unsafe { sys::tl_local_unregister(name.as_ptr()) } {
        sys::TL_ERR_NOT_FOUND => Ok(false),
        status => check(status).map(|_| true),
    }
}

/// An interned key (`TlQuark`): a key's string interned once for the process
/// (`tl_quark_from_string`), then named by a number. A quark and its string name the same key:
/// a value set by quark is read by string and the other way round. Reads and writes by quark
/// skip the string key's conversion, length, UTF-8 check and hash on every call: make one per
/// well-known key, once, and keep it. Interned strings live as long as the process: intern a
/// bounded set of names, never untrusted input. `Copy`, `Send` and `Sync`: a number.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Quark(NonZeroU32);

impl Quark {
    /// Intern `name`: the same name always gives the same quark, in every thread.
    /// `TL_ERR_INVALID_KEY` for a name holding a NUL byte.
    pub fn new(name: &str) -> Result<Quark, Error> {
        let name = c_key(name)?;
        // SAFETY: a valid C string, copied by the library if new.
        let id = unsafe { sys::tl_quark_from_string(name.as_ptr()) };
        NonZeroU32::new(id).map(Quark).ok_or_else(|| Error::last(unsafe { sys::tl_last_error() }))
    }

    /// The library's number for this key (never 0), for the `sys::tl_*_quark` calls.
    pub fn id(self) -> u32 {
        self.0.get()
    }

    /// The interned name (`tl_quark_to_string`).
    pub fn as_str(self) -> &'static str {
        // SAFETY: a quark made by Quark::new names an immortal UTF-8 string.
        unsafe { CStr::from_ptr(sys::tl_quark_to_string(self.id())) }.to_str().unwrap_or("")
    }
}

impl TryFrom<&str> for Quark {
    type Error = Error;
    fn try_from(name: &str) -> Result<Quark, Error> {
        Quark::new(name)
    }
}

impl fmt::Debug for Quark {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Quark").field(&self.as_str()).finish()
    }
}

/// A local object: one dictionary per OS thread (`TlLocal *`). Cloning takes a reference
/// (`tl_local_ref`), dropping releases it (`tl_local_unref`); the last drop frees the local's
/// dictionaries in every thread at once.
pub struct Local {
    raw: NonNull<sys::TlLocal>,
}

// SAFETY: TlLocal handles may be shared between threads freely (tlslocal.h), and every call acts
// on the calling thread's own dictionary.
unsafe impl Send for Local {}
unsafe impl Sync for Local {}

impl Local {
    /// A new local with no dictionary in any thread yet (`tl_local_new`).
    /// Panics only when memory is exhausted, as Rust's own allocations do.
    #[allow(clippy::new_without_default)]
    pub fn new() -> Local {
        // SAFETY: no arguments.
        let raw = unsafe { sys::tl_local_new() };
        Local {
            raw: NonNull::new(raw)
                .unwrap_or_else(|| panic!("{}", Error::last(sys::TL_ERR_NO_MEMORY))),
        }
    }

    /// The process-wide local registered under `name` (`tl_local_open`), created on first use:
    /// the very local C code gets from `tl_local_open(name)`.
    pub fn open(name: &str) -> Result<Local, Error> {
        let name = c_key(name)?;
        // SAFETY: a valid C string; the result is a new reference or NULL.
        let raw = unsafe { sys::tl_local_open(name.as_ptr()) };
        NonNull::new(raw)
            .map(|raw| Local { raw })
            .ok_or_else(|| Error::last(unsafe { sys::tl_last_error() }))
    }

    /// A `Local` over a `TlLocal *` that C handed over; takes its own reference.
    ///
    /// # Safety
    /// `raw` must be NULL or a valid `TlLocal *` the caller holds a reference to for this call.
    pub unsafe fn from_ptr(raw: *mut sys::TlLocal) -> Option<Local> {
        NonNull::new(sys::tl_local_ref(raw)).map(|raw| Local { raw })
    }

    /// The `TlLocal *` underneath, to pass to C; valid while `self` lives.
    pub fn as_ptr(&self) -> *mut sys::TlLocal {
        self.raw.as_ptr()
    }

    /// Store `value` under `key` in the calling thread's dictionary, replacing any previous value.
    pub fn set<V: Into<Value>>(&self, key: &str, value: V) -> Result<(), Error> {
        let key = c_key(key)?;
        let value = value.into().into_raw()?;
        // SAFETY: set_take takes over the value's reference, on failure too.
        check(unsafe { sys::tl_local_set_take(self.as_ptr(), key.as_ptr(), value) }).map(|_| ())
    }

    /// The calling thread's value of `key`: `Ok(None)` if absent, `Err` with
    /// `TL_ERR_WRONG_TYPE` if it has another type than `T`. `bool`, `i64`, `u64`, `f64` and
    /// `String` are read in one C call (`tl_local_get_<type>`).
    pub fn get<T: FromValue>(&self, key: &str) -> Result<Option<T>, Error> {
        let key = c_key(key)?;
        T::from_local(self, &key)
    }

    /// `set` with an interned key (`tl_local_set_quark`).
    pub fn set_quark<V: Into<Value>>(&self, key: Quark, value: V) -> Result<(), Error> {
        let value = value.into();
        // SAFETY: the library takes its own reference; ours is released when value drops.
        check(unsafe { sys::tl_local_set_quark(self.as_ptr(), key.id(), value.as_raw()?) })
            .map(|_| ())
    }

    /// `get` with an interned key: the built-in types read the borrowed value at once
    /// (`tl_local_peek_quark` and one accessor), any other `FromValue` a reference of its own
    /// (`tl_local_get_quark`).
    pub fn get_quark<T: FromValue>(&self, key: Quark) -> Result<Option<T>, Error> {
        T::from_local_quark(self, key)
    }

    /// `remove` with an interned key (`tl_local_delete_quark`): `Ok(false)` if it was absent.
    pub fn remove_quark(&self, key: Quark) -> Result<bool, Error> {
        // SAFETY: valid local; any quark number is checked by the library.
        found(unsafe { sys::tl_local_delete_quark(self.as_ptr(), key.id()) })
    }

    /// The calling thread's value of `key`, borrowed (valid until this thread changes that key):
    /// `Ok(None)` if absent.
    fn peek_quark(&self, key: Quark) -> Result<Option<NonNull<sys::TlValue>>, Error> {
        // SAFETY: valid local; the result is borrowed or NULL with the last error set.
        match NonNull::new(unsafe { sys::tl_local_peek_quark(self.as_ptr(), key.id()) }) {
            Some(raw) => Ok(Some(raw)),
            None => found(unsafe { sys::tl_last_error() }).map(|_| None),
        }
    }

    /// Whether the calling thread's dictionary has `key` (`tl_local_contains`).
    pub fn contains(&self, key: &str) -> Result<bool, Error> {
        let key = c_key(key)?;
        // SAFETY: valid local and key.
        check(unsafe { sys::tl_local_contains(self.as_ptr(), key.as_ptr()) }).map(|n| n == 1)
    }

    /// Remove `key` from the calling thread's dictionary (`tl_local_delete`): `Ok(false)` if it
    /// was absent.
    pub fn remove(&self, key: &str) -> Result<bool, Error> {
        let key = c_key(key)?;
        // SAFETY: valid local and key.
        found(unsafe { sys::tl_local_delete(self.as_ptr(), key.as_ptr()) })
    }

    /// The number of keys in the calling thread's dictionary (`tl_local_size`).
    pub fn len(&self) -> Result<usize, Error> {
        let mut size = 0;
        // SAFETY: valid local and out-pointer.
        check(unsafe { sys::tl_local_size(self.as_ptr(), &mut size) }).map(|_| size)
    }

    /// Whether the calling thread's dictionary is empty (or absent).
    pub fn is_empty(&self) -> Result<bool, Error> {
        self.len().map(|n| n == 0)
    }

    /// Remove every key of the calling thread's dictionary (`tl_local_clear`).
    pub fn clear(&self) -> Result<(), Error> {
        // SAFETY: valid local.
        check(unsafe { sys::tl_local_clear(self.as_ptr()) }).map(|_| ())
    }

    /// The calling thread's keys, in insertion order (`tl_local_keys`).
    pub fn keys(&self) -> Result<Vec<String>, Error> {
        let mut keys: *mut *mut c_char = ptr::null_mut();
        let mut n = 0;
        // SAFETY: on success keys is a NULL-terminated array of n strings, freed below.
        check(unsafe { sys::tl_local_keys(self.as_ptr(), &mut keys, &mut n) })?;
        let result = (0..n)
            .map(|i| unsafe { CStr::from_ptr(*keys.add(i)) }.to_string_lossy().into_owned())
            .collect();
        unsafe { sys::tl_strv_free(keys) };
        Ok(result)
    }

    /// The calling thread's dictionary as an `a{sv}` value (`tl_local_snapshot`), to hand to
    /// another thread's `apply`.
    pub fn snapshot(&self) -> Result<Value, Error> {
        let mut out = ptr::null_mut();
        // SAFETY: out receives a new reference on success.
        check(unsafe { sys::tl_local_snapshot(self.as_ptr(), &mut out) })?;
        Ok(unsafe { Value::from_raw(out) }.expect("tl_local_snapshot gave NULL"))
    }

    /// Apply a snapshot to the calling thread's dictionary (`tl_local_apply`): with `replace`,
    /// keys the snapshot lacks are deleted (`TL_APPLY_REPLACE`), else kept.
    pub fn apply(&self, snapshot: &Value, replace: bool) -> Result<(), Error> {
        let mode = if replace { sys::TL_APPLY_REPLACE } else { sys::TL_APPLY_UPDATE };
        let raw = snapshot.as_raw()?;
        // SAFETY: valid local and value.
        check(unsafe { sys::tl_local_apply(self.as_ptr(), raw, mode) }).map(|_| ())
    }
}

impl Clone for Local {
    fn clone(&self) -> Local {
        // SAFETY: self holds a reference; tl_local_ref returns the same pointer.
        unsafe { sys::tl_local_ref(self.as_ptr()) };
        Local { raw: self.raw }
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        // SAFETY: releases the reference this Local owns.
        unsafe { sys::tl_local_unref(self.as_ptr()) }
    }
}

impl fmt::Debug for Local {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Local").field(&self.raw).finish()
    }
}

/// An immutable typed value (`TlValue *`): a GVariant, or a native pointer with a destroy
/// function. Cloning takes a reference (`tl_value_ref`), dropping releases it.
///
/// A conversion that C would refuse (a `&str` holding a NUL byte) gives a value that carries
/// its error: `Local::set` and every method return that error, as `std::process::Command`
/// reports a NUL in an argument when it runs.
pub struct Value {
    inner: Result<NonNull<sys::TlValue>, Error>,
}

// SAFETY: TlValues are immutable and atomically refcounted; pointer values are made only from
// Send data (see `Value::pointer`), whose destroy may run on any thread.
unsafe impl Send for Value {}
unsafe impl Sync for Value {}

impl Value {
    /// Takes over a new reference (NULL gives `None`).
    ///
    /// # Safety
    /// `raw` must be NULL or a `TlValue *` whose reference the caller gives up.
    pub unsafe fn from_raw(raw: *mut sys::TlValue) -> Option<Value> {
        NonNull::new(raw).map(|raw| Value { inner: Ok(raw) })
    }

    /// Gives up ownership: the caller must release the reference (`tl_value_unref` or a `_take`
    /// call).
    pub fn into_raw(self) -> Result<*mut sys::TlValue, Error> {
        let raw = self.as_raw()?;
        std::mem::forget(self);
        Ok(raw)
    }

    /// The `TlValue *` underneath (borrowed, valid while `self` lives).
    pub fn as_raw(&self) -> Result<*mut sys::TlValue, Error> {
        self.inner.as_ref().map(|raw| raw.as_ptr()).map_err(Clone::clone)
    }

    /// A constructor's result: a new reference, or NULL and the last error.
    fn made(raw: *mut sys::TlValue) -> Value {
        Value {
            inner: NonNull::new(raw).ok_or_else(|| Error::last(unsafe { sys::tl_last_error() })),
        }
    }

    /// Parse GVariant text (`tl_value_parse`), such as `"int64 5"`, `"'hi'"`, `"[1, 2]"`.
    pub fn parse(text: &str) -> Result<Value, Error> {
        Value::parse_typed(None, text)
    }

    /// Parse GVariant text as the given type (`"x"`, `"as"`, ...), or as the text says.
    pub fn parse_typed(type_string: Option<&str>, text: &str) -> Result<Value, Error> {
        let type_string = type_string.map(c_key).transpose()?;
        let text = CString::new(text).map_err(|_| {
            Error::new(sys::TL_ERR_PARSE, format!("text {text:?} contains a NUL byte"))
        })?;
        let mut out = ptr::null_mut();
        let type_ptr = type_string.as_ref().map_or(ptr::null(), |t| t.as_ptr());
        // SAFETY: valid strings; out receives a new reference on success.
        check(unsafe { sys::tl_value_parse(type_ptr, text.as_ptr(), &mut out) })?;
        Ok(Value::made(out))
    }

    /// GVariant text (`tl_value_print`); `type_annotate` adds types where ambiguous.
    /// A pointer value has none: `TL_ERR_WRONG_TYPE`.
    pub fn print(&self, type_annotate: bool) -> Result<String, Error> {
        // SAFETY: valid value; the result is freed with tl_free.
        let text = unsafe { sys::tl_value_print(self.as_raw()?, type_annotate as c_int) };
        if text.is_null() {
            return Err(Error::last(unsafe { sys::tl_last_error() }));
        }
        let result = unsafe { CStr::from_ptr(text) }.to_string_lossy().into_owned();
        unsafe { sys::tl_free(text.cast()) };
        Ok(result)
    }

    /// The binary form (`tl_value_serialize`): the little-endian GVariant normal form, for
    /// another process; read back with `Value::deserialize` and the same type string. A pointer
    /// value (or a snapshot holding one) has none: `TL_ERR_WRONG_TYPE`.
    pub fn serialize(&self) -> Result<Vec<u8>, Error> {
        let mut data = ptr::null_mut();
        let mut size = 0usize;
        // SAFETY: on success data is a new buffer of size bytes, freed below.
        check(unsafe { sys::tl_value_serialize(self.as_raw()?, &mut data, &mut size) })?;
        let bytes = unsafe { std::slice::from_raw_parts(data.cast::<u8>(), size) }.to_vec();
        unsafe { sys::tl_free(data) };
        Ok(bytes)
    }

    /// A value of `type_string` from its binary form (`tl_value_deserialize`), the bytes checked
    /// as untrusted input: `TL_ERR_PARSE` unless they are exactly a normal-form value of that type.
    pub fn deserialize(type_string: &str, data: &[u8]) -> Result<Value, Error> {
        let type_string = c_key(type_string)?;
        let mut out = ptr::null_mut();
        // SAFETY: data is valid for data.len() bytes, copied; out receives a new reference.
        check(unsafe {
            sys::tl_value_deserialize(
                type_string.as_ptr(),
                data.as_ptr().cast(),
                data.len(),
                &mut out,
            )
        })?;
        Ok(Value::made(out))
    }

    /// The GVariant type string, such as `"x"`; `"p"` for a pointer value (`tl_value_type`).
    pub fn type_string(&self) -> Result<&str, Error> {
        // SAFETY: borrowed, valid while the value lives; type strings are ASCII.
        let raw = unsafe { CStr::from_ptr(sys::tl_value_type(self.as_raw()?)) };
        Ok(raw.to_str().unwrap_or(""))
    }

    /// Read this value as `T` (`tl_value_get_*`): `TL_ERR_WRONG_TYPE` if it has another type.
    pub fn get<T: FromValue>(&self) -> Result<T, Error> {
        T::from_value(self)
    }

    /// A `"s"` value (`tl_value_new_string`); `Err` for a NUL byte.
    pub fn string(text: &str) -> Result<Value, Error> {
        match CString::new(text) {
            // SAFETY: a valid C string, copied.
            Ok(text) => Ok(Value::made(unsafe { sys::tl_value_new_string(text.as_ptr()) })),
            Err(_) => Err(Error::new(
                sys::TL_ERR_INVALID_ARGUMENT,
                format!("string {text:?} contains a NUL byte, which a C string cannot hold"),
            )),
        }
    }

    /// A `"ay"` value holding these bytes, NULs included (`tl_value_new_bytes`).
    pub fn bytes(data: &[u8]) -> Value {
        // SAFETY: data is valid for data.len() bytes, copied.
        Value::made(unsafe { sys::tl_value_new_bytes(data.as_ptr().cast(), data.len()) })
    }

    /// A native pointer value (`"p"`) owning `data`: C reads the address of `data`
    /// (`tl_value_get_pointer`), and `data` is dropped when the value's last reference goes,
    /// on whichever thread releases it (a thread exit, the local's drop, an overwrite).
    pub fn pointer<T: Send + 'static>(data: T) -> Value {
        Value::pointer_with(data, drop)
    }

    /// As `pointer`, with `destroy` run on `data` instead of its plain drop (exactly once, on the
    /// last unref, on the releasing thread). A panic in `destroy` aborts the process: it runs
    /// from C.
    pub fn pointer_with<T, F>(data: T, destroy: F) -> Value
    where
        T: Send + 'static,
        F: FnOnce(T) + Send + 'static,
    {
        // data first: the address C sees is data's own.
        #[repr(C)]
        struct Holder<T, F> {
            data: T,
            destroy: F,
        }
        unsafe extern "C" fn trampoline<T, F: FnOnce(T)>(ptr: *mut c_void) {
            // SAFETY: ptr is the Box<Holder> made below, released exactly once by the library.
            let holder = Box::from_raw(ptr.cast::<Holder<T, F>>());
            (holder.destroy)(holder.data);
        }
        let holder = Box::into_raw(Box::new(Holder { data, destroy }));
        // SAFETY: the library calls trampoline once, with this pointer, on the last unref.
        let raw = unsafe { sys::tl_value_new_pointer(holder.cast(), Some(trampoline::<T, F>)) };
        if raw.is_null() {
            // SAFETY: not taken over: ours to drop.
            let error = Error::last(unsafe { sys::tl_last_error() });
            unsafe { trampoline::<T, F>(holder.cast()) };
            return Value { inner: Err(error) };
        }
        Value { inner: Ok(unsafe { NonNull::new_unchecked(raw) }) }
    }
}

impl Clone for Value {
    fn clone(&self) -> Value {
        if let Ok(raw) = &self.inner {
            // SAFETY: self holds a reference.
            unsafe { sys::tl_value_ref(raw.as_ptr()) };
        }
        Value { inner: self.inner.clone() }
    }
}

impl Drop for Value {
    fn drop(&mut self) {
        if let Ok(raw) = &self.inner {
            // SAFETY: releases the reference this Value owns.
            unsafe { sys::tl_value_unref(raw.as_ptr()) }
        }
    }
}

/// `tl_value_equal`: same type and contents (pointer values: same pointer and destroy).
impl PartialEq for Value {
    fn eq(&self, other: &Value) -> bool {
        match (&self.inner, &other.inner) {
            (Ok(a), Ok(b)) => unsafe { sys::tl_value_equal(a.as_ptr(), b.as_ptr()) == 1 },
            (Err(a), Err(b)) => a == b,
            _ => false,
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.inner, self.print(true)) {
            (Err(error), _) => write!(f, "Value(invalid: {error})"),
            (Ok(_), Ok(text)) => write!(f, "Value({text})"),
            (Ok(raw), Err(_)) => write!(f, "Value(<pointer value {raw:p}>)"),
        }
    }
}

macro_rules! value_from {
    ($($t:ty => $new:ident),* $(,)?) => {$(
        impl From<$t> for Value {
            fn from(value: $t) -> Value {
                // SAFETY: a scalar constructor.
                Value::made(unsafe { sys::$new(value.into()) })
            }
        }
    )*};
}
value_from!(i64 => tl_value_new_int64, u64 => tl_value_new_uint64, i32 => tl_value_new_int32,
    u32 => tl_value_new_uint32, i16 => tl_value_new_int16, u16 => tl_value_new_uint16,
    u8 => tl_value_new_byte, f64 => tl_value_new_double);

impl From<bool> for Value {
    fn from(value: bool) -> Value {
        Value::made(unsafe { sys::tl_value_new_bool(value as c_int) })
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Value {
        Value::string(value).unwrap_or_else(|error| Value { inner: Err(error) })
    }
}

impl From<String> for Value {
    fn from(value: String) -> Value {
        Value::from(value.as_str())
    }
}

impl From<&String> for Value {
    fn from(value: &String) -> Value {
        Value::from(value.as_str())
    }
}

impl From<Vec<u8>> for Value {
    fn from(value: Vec<u8>) -> Value {
        Value::bytes(&value)
    }
}

impl From<&[u8]> for Value {
    fn from(value: &[u8]) -> Value {
        Value::bytes(value)
    }
}

impl From<&Value> for Value {
    fn from(value: &Value) -> Value {
        value.clone()
    }
}

/// A Rust type a `Value` reads as: one checked accessor (`tl_value_get_*`) each, so reading an
/// `"i"` as `i64` is `TL_ERR_WRONG_TYPE`, as in C.
pub trait FromValue: Sized {
    fn from_value(value: &Value) -> Result<Self, Error>;

    /// `Local::get`'s read: a reference of its own, then `from_value`. The built-in types read
    /// in one C call instead.
    #[doc(hidden)]
    fn from_local(local: &Local, key: &CStr) -> Result<Option<Self>, Error> {
        let mut out = ptr::null_mut();
        // SAFETY: out receives a new reference on success.
        if !found(unsafe { sys::tl_local_get(local.as_ptr(), key.as_ptr(), &mut out) })? {
            return Ok(None);
        }
        // SAFETY: a new reference, owned from here on.
        let value = unsafe { Value::from_raw(out) }.expect("tl_local_get gave NULL");
        Self::from_value(&value).map(Some)
    }

    /// `Local::get_quark`'s read: a reference of its own (no user code runs while a borrowed
    /// value could be freed), then `from_value`. The built-in types read the borrowed value.
    #[doc(hidden)]
    fn from_local_quark(local: &Local, key: Quark) -> Result<Option<Self>, Error> {
        let mut out = ptr::null_mut();
        // SAFETY: out receives a new reference on success.
        if !found(unsafe { sys::tl_local_get_quark(local.as_ptr(), key.id(), &mut out) })? {
            return Ok(None);
        }
        // SAFETY: a new reference, owned from here on.
        let value = unsafe { Value::from_raw(out) }.expect("tl_local_get_quark gave NULL");
        Self::from_value(&value).map(Some)
    }
}

/// The built-in types: read from a borrowed `TlValue *` at once, with no reference taken.
trait ReadRaw: Sized {
    /// # Safety
    /// `raw` must be a valid value that nothing frees during the call.
    unsafe fn read_raw(raw: *mut sys::TlValue) -> Result<Self, Error>;
}

/// FromValue for a built-in type: by value, and by quark over the borrowed value; `$local`, where
/// given, is the one-call typed read by string key.
macro_rules! builtin_from_value {
    ($($t:ty $(=> $local:ident)?),* $(,)?) => {$(
        impl FromValue for $t {
            fn from_value(value: &Value) -> Result<$t, Error> {
                // SAFETY: value holds a reference for the call.
                unsafe { <$t as ReadRaw>::read_raw(value.as_raw()?) }
            }

            $(
            fn from_local(local: &Local, key: &CStr) -> Result<Option<$t>, Error> {
                let mut out = Default::default();
                // SAFETY: valid local, key and out-pointer; out is untouched on error.
                let status = unsafe { sys::$local(local.as_ptr(), key.as_ptr(), &mut out) };
                Ok(if found(status)? { Some(<$t as Converted>::convert(out)) } else { None })
            }
            )?

            fn from_local_quark(local: &Local, key: Quark) -> Result<Option<$t>, Error> {
                match local.peek_quark(key)? {
                    // SAFETY: borrowed until this thread changes the key: read (copied) at once.
                    Some(raw) => unsafe { <$t as ReadRaw>::read_raw(raw.as_ptr()) }.map(Some),
                    None => Ok(None),
                }
            }
        }
    )*};
}

/// What a typed C read's out-parameter becomes in Rust.
trait Converted {
    type Out;
    fn convert(out: Self::Out) -> Self;
}

macro_rules! plain_read {
    ($($t:ty => $get:ident),* $(,)?) => {$(
        impl ReadRaw for $t {
            unsafe fn read_raw(raw: *mut sys::TlValue) -> Result<$t, Error> {
                let mut out = Default::default();
                check(sys::$get(raw, &mut out))?;
                Ok(out)
            }
        }
        impl Converted for $t {
            type Out = $t;
            fn convert(out: $t) -> $t {
                out
            }
        }
    )*};
}
plain_read!(i64 => tl_value_get_int64, u64 => tl_value_get_uint64, i32 => tl_value_get_int32,
    u32 => tl_value_get_uint32, i16 => tl_value_get_int16, u16 => tl_value_get_uint16,
    u8 => tl_value_get_byte, f64 => tl_value_get_double);

impl ReadRaw for bool {
    unsafe fn read_raw(raw: *mut sys::TlValue) -> Result<bool, Error> {
        let mut out: c_int = 0;
        check(sys::tl_value_get_bool(raw, &mut out))?;
        Ok(out != 0)
    }
}

impl Converted for bool {
    type Out = c_int;
    fn convert(out: c_int) -> bool {
        out != 0
    }
}

/// A borrowed C string, copied at once.
unsafe fn copy_string(text: *const c_char) -> String {
    CStr::from_ptr(text).to_string_lossy().into_owned()
}

impl ReadRaw for String {
    unsafe fn read_raw(raw: *mut sys::TlValue) -> Result<String, Error> {
        let mut out: *const c_char = ptr::null();
        check(sys::tl_value_get_string(raw, &mut out))?;
        Ok(copy_string(out))
    }
}

impl FromValue for String {
    fn from_value(value: &Value) -> Result<String, Error> {
        // SAFETY: value holds a reference for the call.
        unsafe { String::read_raw(value.as_raw()?) }
    }

    fn from_local(local: &Local, key: &CStr) -> Result<Option<String>, Error> {
        let mut out: *const c_char = ptr::null();
        // SAFETY: out is borrowed until this thread changes the key: copied at once.
        let status = unsafe { sys::tl_local_get_string(local.as_ptr(), key.as_ptr(), &mut out) };
        Ok(if found(status)? { Some(unsafe { copy_string(out) }) } else { None })
    }

    fn from_local_quark(local: &Local, key: Quark) -> Result<Option<String>, Error> {
        match local.peek_quark(key)? {
            // SAFETY: borrowed until this thread changes the key: copied at once.
            Some(raw) => unsafe { String::read_raw(raw.as_ptr()) }.map(Some),
            None => Ok(None),
        }
    }
}

impl ReadRaw for Vec<u8> {
    unsafe fn read_raw(raw: *mut sys::TlValue) -> Result<Vec<u8>, Error> {
        let mut data: *const c_void = ptr::null();
        let mut size = 0usize;
        // data is borrowed from the value for size bytes, copied at once.
        check(sys::tl_value_get_bytes(raw, &mut data, &mut size))?;
        if size == 0 {
            return Ok(Vec::new());
        }
        Ok(std::slice::from_raw_parts(data.cast::<u8>(), size).to_vec())
    }
}

/// The address a pointer value (`"p"`) holds; dereferencing it is up to the caller.
impl ReadRaw for *mut c_void {
    unsafe fn read_raw(raw: *mut sys::TlValue) -> Result<*mut c_void, Error> {
        let mut out = ptr::null_mut();
        check(sys::tl_value_get_pointer(raw, &mut out))?;
        Ok(out)
    }
}

builtin_from_value!(i64 => tl_local_get_int64, u64 => tl_local_get_uint64,
    f64 => tl_local_get_double, bool => tl_local_get_bool, i32, u32, i16, u16, u8, Vec<u8>,
    *mut c_void);

impl FromValue for Value {
    fn from_value(value: &Value) -> Result<Value, Error> {
        Ok(value.clone())
    }
}
