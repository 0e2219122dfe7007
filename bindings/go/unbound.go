// SPDX-License-Identifier: LGPL-2.1-or-later

package tlslocal

// The functions of tlslocal.h this package does not call, one per line as
// "not bound: NAME: reason" (dump-prototypes.py reads them for the prototypes meta test).
//
// not bound: tl_version_check: cgo compiles against the header it links with; see Version()
// not bound: tl_local_new_full: an initializer is a C callback run on any thread
// not bound: tl_local_new_with_args: its initializer is a C function, C code's business
// not bound: tl_local_ref: goroutines share a *Local by pointer: one reference each
// not bound: tl_local_set: Set uses the typed setters and tl_local_set_take
// not bound: tl_local_peek: Get reads basic values with tl_local_get_scalar, the rest by reference
// not bound: tl_local_peek_quark: GetQuark reads basic values with tl_local_get_scalar in one call
// not bound: tl_local_foreach: Keys and Get cover it without a C-to-Go callback
// not bound: tl_local_set_exit_hook: a C callback on exiting threads, C code's business
// not bound: tl_local_visit: a C-to-Go callback over other threads' values; left to C
// not bound: tl_local_snapshot: a snapshot is a container, which Go values do not map
// not bound: tl_local_apply: takes a snapshot value, which this binding does not map
// not bound: tl_value_new_handle: Get reads "h" as Handle; no Go type to Set one from
// not bound: tl_value_new_pointer: a Go pointer may not be kept by C (cgo's pointer rules)
// not bound: tl_value_new_tuple: containers are not mapped to Go values
// not bound: tl_value_new_array: containers are not mapped to Go values
// not bound: tl_value_new_maybe: containers are not mapped to Go values
// not bound: tl_value_new_vardict: containers are not mapped to Go values
// not bound: tl_value_parse: containers are not mapped to Go values (no Value type in Go)
// not bound: tl_value_print: containers are not mapped to Go values (no Value type in Go)
// not bound: tl_value_ref: values never outlive one call; Go copies them
// not bound: tl_value_equal: values are compared as Go values
// not bound: tl_value_get_bool: Get reads it with tl_local_get_scalar, GetX with tl_local_get_*
// not bound: tl_value_get_byte: Get reads it with tl_local_get_scalar, GetX with tl_local_get_*
// not bound: tl_value_get_int16: Get reads it with tl_local_get_scalar, GetX with tl_local_get_*
// not bound: tl_value_get_uint16: Get reads it with tl_local_get_scalar, GetX with tl_local_get_*
// not bound: tl_value_get_int32: Get reads it with tl_local_get_scalar, GetX with tl_local_get_*
// not bound: tl_value_get_uint32: Get reads it with tl_local_get_scalar, GetX with tl_local_get_*
// not bound: tl_value_get_int64: Get reads it with tl_local_get_scalar, GetX with tl_local_get_*
// not bound: tl_value_get_uint64: Get reads it with tl_local_get_scalar, GetX with tl_local_get_*
// not bound: tl_value_get_double: Get reads it with tl_local_get_scalar, GetX with tl_local_get_*
// not bound: tl_value_get_string: Get reads it with tl_local_get_scalar, GetX with tl_local_get_*
// not bound: tl_value_get_handle: Get reads "h" (as Handle) with tl_local_get_scalar
// not bound: tl_value_get_pointer: pointer values are C's; Get reports them as ErrWrongType
// not bound: tl_value_n_children: containers are not mapped to Go values
// not bound: tl_value_get_child: containers are not mapped to Go values
// not bound: tl_value_lookup: containers are not mapped to Go values
// not bound: tl_thread_change_counter: for bindings that cache reads; Go copies each read
// not bound: tl_free: frees tl_value_print()'s strings, which this binding does not call
// not bound: tl_value_serialize: the binary form is of containers, which Go values do not map
// not bound: tl_value_deserialize: the binary form is of containers, which Go values do not map
