// SPDX-License-Identifier: LGPL-2.1-or-later

// Package ctest plays the C code that shares named locals with Go in the tests (cgo is not allowed
// in _test.go files). Each function is one C call on the calling goroutine's OS thread: call it
// inside tlslocal.WithThread to act on the same OS thread as the *Thread.
package ctest

/*
#cgo pkg-config: tlslocal
#include <stdlib.h>
#include <stdio.h>
#include <tlslocal.h>

// What a C library does: open the named local, read key as a string into out.
static int ctest_read(const char *name, const char *key, char *out, size_t size) {
  TlLocal *local = tl_local_open(name);
  const char *s = NULL;
  int status;
  out[0] = '\0';
  if (local == NULL)
    return tl_last_error();
  TlValue *value = tl_local_peek(local, key);
  status = value == NULL ? tl_last_error() : tl_value_get_string(value, &s);
  if (status == TL_OK)
    snprintf(out, size, "%s", s);
  tl_local_unref(local);
  return status;
}

static int ctest_write(const char *name, const char *key, const char *value) {
  TlLocal *local = tl_local_open(name);
  int status;
  if (local == NULL)
    return tl_last_error();
  status = tl_local_set_string(local, key, value);
  tl_local_unref(local);
  return status;
}

// Store a value of any type, as C code would: GVariant text of type typ.
static int ctest_write_parsed(const char *name, const char *key, const char *typ,
                              const char *text) {
  TlLocal *local = tl_local_open(name);
  TlValue *value = NULL;
  int status;
  if (local == NULL)
    return tl_last_error();
  status = tl_value_parse(typ, text, &value);
  if (status == TL_OK)
    status = tl_local_set_take(local, key, value);
  tl_local_unref(local);
  return status;
}
*/
import "C"

import "unsafe"

// Read returns what C reads as key of the named local on this OS thread, and the status.
func Read(name, key string) (string, int) {
	cname, ckey := C.CString(name), C.CString(key)
	defer C.free(unsafe.Pointer(cname))
	defer C.free(unsafe.Pointer(ckey))
	var buf [256]C.char
	status := C.ctest_read(cname, ckey, &buf[0], C.size_t(len(buf)))
	return C.GoString(&buf[0]), int(status)
}

// Write sets key to value in the named local on this OS thread, from C.
func Write(name, key, value string) int {
	cname, ckey, cvalue := C.CString(name), C.CString(key), C.CString(value)
	defer C.free(unsafe.Pointer(cname))
	defer C.free(unsafe.Pointer(ckey))
	defer C.free(unsafe.Pointer(cvalue))
	return int(C.ctest_write(cname, ckey, cvalue))
}

// ThreadID is tl_thread_id() of this OS thread.
func ThreadID() uint64 { return uint64(C.tl_thread_id()) }

// StatusValues are the TL_ERR_* values as C sees them, to compare with the Go constants.
func StatusValues() map[string]int {
	values := map[string]int{}
	for status := C.int(0); status >= -10; status-- {
		values[C.GoString(C.tl_status_name(status))] = int(status)
	}
	return values
}

// WriteParsed sets key in the named local on this OS thread to the value of type typ that text
// is in GVariant's text format (a container, a handle, an object path), from C.
func WriteParsed(name, key, typ, text string) int {
	cname, ckey, ctyp, ctext := C.CString(name), C.CString(key), C.CString(typ), C.CString(text)
	defer C.free(unsafe.Pointer(cname))
	defer C.free(unsafe.Pointer(ckey))
	defer C.free(unsafe.Pointer(ctyp))
	defer C.free(unsafe.Pointer(ctext))
	return int(C.ctest_write_parsed(cname, ckey, ctyp, ctext))
}
