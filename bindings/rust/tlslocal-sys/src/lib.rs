// SPDX-License-Identifier: LGPL-2.1-or-later
//! Raw declarations of libtlslocal's C API: one `extern "C"` block mirroring `tlslocal.h`, in its
//! order, with its status codes and enums. No logic: the safe API is the `tlslocal` crate.
//! `tlslocal.h` is the contract (ownership and errors of every function are documented there);
//! `bindings/rust/dump-prototypes.py` reads the block below for the prototypes meta test.
#![no_std]
#![allow(non_camel_case_types)]

use core::ffi::{c_char, c_int, c_uint, c_void};
use core::marker::{PhantomData, PhantomPinned};

/// An opaque local object (`TlLocal`): refcounted, shareable between threads.
#[repr(C)]
pub struct TlLocal {
    _data: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

/// An opaque immutable value (`TlValue`): atomically refcounted, shareable between threads.
#[repr(C)]
pub struct TlValue {
    _data: [u8; 0],
    _marker: PhantomData<(*mut u8, PhantomPinned)>,
}

// Status codes (TlStatus): pinned values, never changed once released.
pub const TL_OK: c_int = 0;
pub const TL_ERR_INVALID_ARGUMENT: c_int = -1;
pub const TL_ERR_INVALID_KEY: c_int = -2;
pub const TL_ERR_NOT_FOUND: c_int = -3;
pub const TL_ERR_WRONG_TYPE: c_int = -4;
pub const TL_ERR_PARSE: c_int = -5;
pub const TL_ERR_NO_MEMORY: c_int = -6;
pub const TL_ERR_INVALID_UTF8: c_int = -7;
pub const TL_ERR_OUT_OF_RANGE: c_int = -8;
pub const TL_ERR_INIT_FAILED: c_int = -9;
pub const TL_ERR_UNSUPPORTED: c_int = -10;

// TlLocalFlags
pub const TL_LOCAL_DEFAULT: c_uint = 0;
pub const TL_LOCAL_VISITABLE: c_uint = 1 << 0;

// TlFreeReason
pub const TL_FREED_THREAD_EXIT: c_int = 1;
pub const TL_FREED_THREAD_CLEAR: c_int = 2;
pub const TL_FREED_LOCAL_DESTROYED: c_int = 3;

// TlApplyMode
pub const TL_APPLY_UPDATE: c_int = 0;
pub const TL_APPLY_REPLACE: c_int = 1;

/// An interned key (`TlQuark`); 0 is never a valid quark.
pub type TlQuark = u32;

// Callback types; nullable ones are passed as Option<...> (the same ABI as a C function pointer).
pub type TlDestroyFunc = unsafe extern "C" fn(ptr: *mut c_void);
pub type TlForeachFunc =
    unsafe extern "C" fn(key: *const c_char, value: *mut TlValue, payload: *mut c_void) -> c_int;
pub type TlInitFunc = unsafe extern "C" fn(local: *mut TlLocal, user_data: *mut c_void) -> c_int;
pub type TlCallback = unsafe extern "C" fn();
pub type TlExitHook = unsafe extern "C" fn(
    reason: c_int,
    thread_id: u64,
    contents: *mut TlValue,
    user_data: *mut c_void,
);
pub type TlVisitFunc = unsafe extern "C" fn(
    thread_id: u64,
    key: *const c_char,
    value: *mut TlValue,
    payload: *mut c_void,
) -> c_int;

extern "C" {
    // Version
    pub fn tl_version() -> *const c_char;
    pub fn tl_version_check(major: c_uint, minor: c_uint, micro: c_uint) -> c_int;

    // Status codes
    pub fn tl_strerror(status: c_int) -> *const c_char;
    pub fn tl_status_name(status: c_int) -> *const c_char;
    pub fn tl_last_error_message() -> *const c_char;
    pub fn tl_last_error() -> c_int;

    // Locals
    pub fn tl_local_new() -> *mut TlLocal;
    pub fn tl_local_new_full(
        flags: c_uint,
        init: Option<TlInitFunc>,
        user_data: *mut c_void,
        user_data_destroy: Option<TlDestroyFunc>,
    ) -> *mut TlLocal;
    pub fn tl_local_new_with_args(
        flags: c_uint,
        func: Option<TlCallback>,
        fn_returns_int: c_int,
        args: *mut TlValue,
    ) -> *mut TlLocal;
    pub fn tl_local_open(name: *const c_char) -> *mut TlLocal;
    pub fn tl_local_unregister(name: *const c_char) -> c_int;
    pub fn tl_local_ref(local: *mut TlLocal) -> *mut TlLocal;
    pub fn tl_local_unref(local: *mut TlLocal);
    pub fn tl_local_set(local: *mut TlLocal, key: *const c_char, value: *mut TlValue) -> c_int;
    pub fn tl_local_set_take(local: *mut TlLocal, key: *const c_char, value: *mut TlValue)
        -> c_int;
    pub fn tl_local_set_bool(local: *mut TlLocal, key: *const c_char, value: c_int) -> c_int;
    pub fn tl_local_set_int64(local: *mut TlLocal, key: *const c_char, value: i64) -> c_int;
    pub fn tl_local_set_uint64(local: *mut TlLocal, key: *const c_char, value: u64) -> c_int;
    pub fn tl_local_set_double(local: *mut TlLocal, key: *const c_char, value: f64) -> c_int;
    pub fn tl_local_set_string(
        local: *mut TlLocal,
        key: *const c_char,
        value: *const c_char,
    ) -> c_int;
    pub fn tl_local_get(local: *mut TlLocal, key: *const c_char, out: *mut *mut TlValue) -> c_int;
    pub fn tl_local_peek(local: *mut TlLocal, key: *const c_char) -> *mut TlValue;
    pub fn tl_local_get_bool(local: *mut TlLocal, key: *const c_char, out: *mut c_int) -> c_int;
    pub fn tl_local_get_int64(local: *mut TlLocal, key: *const c_char, out: *mut i64) -> c_int;
    pub fn tl_local_get_uint64(local: *mut TlLocal, key: *const c_char, out: *mut u64) -> c_int;
    pub fn tl_local_get_double(local: *mut TlLocal, key: *const c_char, out: *mut f64) -> c_int;
    pub fn tl_local_get_string(
        local: *mut TlLocal,
        key: *const c_char,
        out: *mut *const c_char,
    ) -> c_int;
    pub fn tl_local_get_scalar(
        local: *mut TlLocal,
        key: *const c_char,
        out_type: *mut c_int,
        out_bits: *mut u64,
        out_string: *mut *const c_char,
    ) -> c_int;
    pub fn tl_local_delete(local: *mut TlLocal, key: *const c_char) -> c_int;
    pub fn tl_local_contains(local: *mut TlLocal, key: *const c_char) -> c_int;
    pub fn tl_local_size(local: *mut TlLocal, out_size: *mut usize) -> c_int;
    pub fn tl_local_clear(local: *mut TlLocal) -> c_int;
    pub fn tl_local_keys(
        local: *mut TlLocal,
        out_keys: *mut *mut *mut c_char,
        out_n_keys: *mut usize,
    ) -> c_int;
    pub fn tl_local_foreach(
        local: *mut TlLocal,
        func: Option<TlForeachFunc>,
        payload: *mut c_void,
    ) -> c_int;

    // Interned keys (quarks)
    pub fn tl_quark_from_string(string: *const c_char) -> TlQuark;
    pub fn tl_quark_to_string(quark: TlQuark) -> *const c_char;
    pub fn tl_local_peek_quark(local: *mut TlLocal, key: TlQuark) -> *mut TlValue;
    pub fn tl_local_get_quark(local: *mut TlLocal, key: TlQuark, out: *mut *mut TlValue) -> c_int;
    pub fn tl_local_set_quark(local: *mut TlLocal, key: TlQuark, value: *mut TlValue) -> c_int;
    pub fn tl_local_delete_quark(local: *mut TlLocal, key: TlQuark) -> c_int;

    // Exit hooks, visits across threads, and context hand-off
    pub fn tl_local_set_exit_hook(
        local: *mut TlLocal,
        hook: Option<TlExitHook>,
        user_data: *mut c_void,
        user_data_destroy: Option<TlDestroyFunc>,
    ) -> c_int;
    pub fn tl_local_visit(
        local: *mut TlLocal,
        key: *const c_char,
        func: Option<TlVisitFunc>,
        payload: *mut c_void,
    ) -> c_int;
    pub fn tl_local_snapshot(local: *mut TlLocal, out: *mut *mut TlValue) -> c_int;
    pub fn tl_local_apply(local: *mut TlLocal, snapshot: *const TlValue, mode: c_int) -> c_int;

    // Values
    pub fn tl_value_new_bool(value: c_int) -> *mut TlValue;
    pub fn tl_value_new_byte(value: u8) -> *mut TlValue;
    pub fn tl_value_new_int16(value: i16) -> *mut TlValue;
    pub fn tl_value_new_uint16(value: u16) -> *mut TlValue;
    pub fn tl_value_new_int32(value: i32) -> *mut TlValue;
    pub fn tl_value_new_uint32(value: u32) -> *mut TlValue;
    pub fn tl_value_new_int64(value: i64) -> *mut TlValue;
    pub fn tl_value_new_uint64(value: u64) -> *mut TlValue;
    pub fn tl_value_new_double(value: f64) -> *mut TlValue;
    pub fn tl_value_new_handle(value: i32) -> *mut TlValue;
    pub fn tl_value_new_string(string: *const c_char) -> *mut TlValue;
    pub fn tl_value_new_bytes(data: *const c_void, size: usize) -> *mut TlValue;
    pub fn tl_value_new_pointer(ptr: *mut c_void, destroy: Option<TlDestroyFunc>) -> *mut TlValue;
    pub fn tl_value_new_tuple(items: *const *mut TlValue, n_items: usize) -> *mut TlValue;
    pub fn tl_value_new_array(
        element_type: *const c_char,
        items: *const *mut TlValue,
        n_items: usize,
    ) -> *mut TlValue;
    pub fn tl_value_new_maybe(element_type: *const c_char, child: *mut TlValue) -> *mut TlValue;
    pub fn tl_value_new_vardict(
        keys: *const *const c_char,
        values: *const *mut TlValue,
        n_items: usize,
    ) -> *mut TlValue;
    pub fn tl_value_parse(
        type_: *const c_char,
        text: *const c_char,
        out: *mut *mut TlValue,
    ) -> c_int;
    pub fn tl_value_print(value: *const TlValue, type_annotate: c_int) -> *mut c_char;
    pub fn tl_value_serialize(
        value: *const TlValue,
        out_data: *mut *mut c_void,
        out_size: *mut usize,
    ) -> c_int;
    pub fn tl_value_deserialize(
        type_: *const c_char,
        data: *const c_void,
        size: usize,
        out: *mut *mut TlValue,
    ) -> c_int;
    pub fn tl_value_ref(value: *mut TlValue) -> *mut TlValue;
    pub fn tl_value_unref(value: *mut TlValue);
    pub fn tl_value_type(value: *const TlValue) -> *const c_char;
    pub fn tl_value_equal(a: *const TlValue, b: *const TlValue) -> c_int;
    pub fn tl_value_get_bool(value: *const TlValue, out: *mut c_int) -> c_int;
    pub fn tl_value_get_byte(value: *const TlValue, out: *mut u8) -> c_int;
    pub fn tl_value_get_int16(value: *const TlValue, out: *mut i16) -> c_int;
    pub fn tl_value_get_uint16(value: *const TlValue, out: *mut u16) -> c_int;
    pub fn tl_value_get_int32(value: *const TlValue, out: *mut i32) -> c_int;
    pub fn tl_value_get_uint32(value: *const TlValue, out: *mut u32) -> c_int;
    pub fn tl_value_get_int64(value: *const TlValue, out: *mut i64) -> c_int;
    pub fn tl_value_get_uint64(value: *const TlValue, out: *mut u64) -> c_int;
    pub fn tl_value_get_double(value: *const TlValue, out: *mut f64) -> c_int;
    pub fn tl_value_get_string(value: *const TlValue, out: *mut *const c_char) -> c_int;
    pub fn tl_value_get_bytes(
        value: *const TlValue,
        out_data: *mut *const c_void,
        out_size: *mut usize,
    ) -> c_int;
    pub fn tl_value_get_handle(value: *const TlValue, out: *mut i32) -> c_int;
    pub fn tl_value_get_pointer(value: *const TlValue, out: *mut *mut c_void) -> c_int;
    pub fn tl_value_n_children(value: *const TlValue, out: *mut usize) -> c_int;
    pub fn tl_value_get_child(value: *const TlValue, index: usize, out: *mut *mut TlValue)
        -> c_int;
    pub fn tl_value_lookup(
        value: *const TlValue,
        key: *const c_char,
        out: *mut *mut TlValue,
    ) -> c_int;

    // Introspection
    pub fn tl_stats_live_locals() -> usize;
    pub fn tl_stats_live_dicts() -> usize;
    pub fn tl_stats_live_threads() -> usize;
    pub fn tl_stats_live_values() -> usize;
    pub fn tl_thread_change_counter() -> *const u64;
    pub fn tl_thread_id() -> u64;

    // Threads and memory
    pub fn tl_thread_clear();
    pub fn tl_free(memory: *mut c_void);
    pub fn tl_strv_free(strings: *mut *mut c_char);
}
