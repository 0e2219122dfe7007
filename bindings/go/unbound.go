// SPDX-License-Identifier: LGPL-2.1-or-later

package tlslocal

// The functions of tlslocal.h this package does not call, one per line as
// "not bound: NAME: reason" (dump-prototypes.py reads them for the prototypes meta test).
//
// not bound: tl_version_check: cgo links against the header it compiles with; Version() reports the run-time version
// not bound: tl_local_new_full: initializers and flags are C callbacks; a Go callback would run on any thread the library calls it from
// not bound: tl_local_new_with_args: a libffi-called C function as initializer: C code's business
// not bound: tl_local_ref: a *Local is shared by pointer among goroutines; one reference per Local
// not bound: tl_local_set: values are set from Go types through the typed setters and tl_local_set_take
// not bound: tl_local_peek: Get takes a reference (tl_local_get) and copies the value into Go memory
// not bound: tl_local_foreach: Keys and Get cover it without a C-to-Go callback
// not bound: tl_local_set_exit_hook: a hook runs on the exiting thread, which may be a thread Go never locked; C code's business
// not bound: tl_local_visit: a visitor callback from C into Go, of other threads' values; not in this thin binding
// not bound: tl_local_snapshot: snapshots are containers, which this binding does not map to Go values
// not bound: tl_local_apply: takes a snapshot value, which this binding does not map
// not bound: tl_value_new_uint64: tl_local_set_uint64 sets a uint64 in one call
// not bound: tl_value_new_int64: tl_local_set_int64 sets an int64 in one call
// not bound: tl_value_new_double: tl_local_set_double sets a float in one call
// not bound: tl_value_new_bool: tl_local_set_bool sets a bool in one call
// not bound: tl_value_new_string: tl_local_set_string sets a string in one call
// not bound: tl_value_new_handle: Get reads "h" values as Handle; Set has no Go type meaning a handle
// not bound: tl_value_new_pointer: a Go pointer may not be kept by C (cgo's pointer rules)
// not bound: tl_value_new_tuple: containers are not mapped to Go values
// not bound: tl_value_new_array: containers are not mapped to Go values
// not bound: tl_value_new_maybe: containers are not mapped to Go values
// not bound: tl_value_new_vardict: containers are not mapped to Go values
// not bound: tl_value_parse: containers are not mapped to Go values (no Value type in Go)
// not bound: tl_value_print: containers are not mapped to Go values (no Value type in Go)
// not bound: tl_value_ref: values never outlive one call; Go copies them
// not bound: tl_value_equal: values are compared as Go values
// not bound: tl_value_get_pointer: pointer values are C's; Get reports them as ErrWrongType
// not bound: tl_value_n_children: containers are not mapped to Go values
// not bound: tl_value_get_child: containers are not mapped to Go values
// not bound: tl_value_lookup: containers are not mapped to Go values
// not bound: tl_thread_change_counter: a read cache for bindings that cache values; Go copies on every read
// not bound: tl_free: frees tl_value_print()'s strings, which this binding does not call
