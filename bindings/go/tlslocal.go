// SPDX-License-Identifier: LGPL-2.1-or-later

// Package tlslocal is the Go binding of libtlslocal: per-object thread-local storage shared with
// C, Python and Node code in the same process.
//
// A local holds one dictionary per OS thread. Goroutines are not OS threads, so values are read
// and written only through a *Thread, which WithThread hands to a function running on a goroutine
// locked to its OS thread; see README.md for the rules.
//
// Marshalling only: every operation is one libtlslocal call (tlslocal.h), checked by the compiler.
package tlslocal

/*
#cgo pkg-config: tlslocal
#include <stdlib.h>
#include <tlslocal.h>
*/
import "C"

import (
	"fmt"
	"math"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"unsafe"
)

// Status codes (TlStatus of tlslocal.h; the header pins their values).
const (
	OK                 = int(C.TL_OK)
	ErrInvalidArgument = int(C.TL_ERR_INVALID_ARGUMENT)
	ErrInvalidKey      = int(C.TL_ERR_INVALID_KEY)
	ErrNotFound        = int(C.TL_ERR_NOT_FOUND)
	ErrWrongType       = int(C.TL_ERR_WRONG_TYPE)
	ErrParse           = int(C.TL_ERR_PARSE)
	ErrNoMemory        = int(C.TL_ERR_NO_MEMORY)
	ErrInvalidUTF8     = int(C.TL_ERR_INVALID_UTF8)
	ErrOutOfRange      = int(C.TL_ERR_OUT_OF_RANGE)
	ErrInitFailed      = int(C.TL_ERR_INIT_FAILED)
	ErrUnsupported     = int(C.TL_ERR_UNSUPPORTED)
)

// Error is a failed call: Status is a TL_ERR_* code, Message the library's tl_last_error_message()
// for that call (or the binding's own sentence for what it refuses before calling C).
type Error struct {
	Status  int
	Message string
}

func (e *Error) Error() string {
	return "tlslocal: " + StatusName(e.Status) + ": " + e.Message
}

// Is lets errors.Is(err, &tlslocal.Error{Status: tlslocal.ErrWrongType}) match on the status.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Status == e.Status && (t.Message == "" || t.Message == e.Message)
}

// StatusName is tl_status_name: "TL_ERR_NOT_FOUND" for ErrNotFound.
func StatusName(status int) string { return C.GoString(C.tl_status_name(C.int(status))) }

// StatusText is tl_strerror: a static English sentence for status.
func StatusText(status int) string { return C.GoString(C.tl_strerror(C.int(status))) }

// Version is tl_version: the version of the library loaded at run time.
func Version() string { return C.GoString(C.tl_version()) }

// Stats are the library's process-wide live counts (tl_stats_live_*), to see leaks.
type Stats struct{ Locals, Dicts, Threads, Values int }

// LiveStats reads the counts; exact when no other thread changes them meanwhile.
func LiveStats() Stats {
	return Stats{int(C.tl_stats_live_locals()), int(C.tl_stats_live_dicts()),
		int(C.tl_stats_live_threads()), int(C.tl_stats_live_values())}
}

// fail builds the error of the call that just returned status; it must run on the same OS thread
// with no tl_* call in between (the goroutine is locked wherever it is called).
func fail(status C.int) error {
	return &Error{Status: int(status), Message: C.GoString(C.tl_last_error_message())}
}

// locked runs a C call with the goroutine locked, so the message is the same thread's.
func locked(call func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return call()
}

// Local is a libtlslocal local (TlLocal*). It may be shared by any number of goroutines; Close
// drops its reference, and a finalizer drops it if Close was never called.
type Local struct {
	mu  sync.RWMutex // read-held across each call, so Close never frees a local in use
	ptr *C.TlLocal
}

func wrapLocal(ptr *C.TlLocal) *Local {
	l := &Local{ptr: ptr}
	runtime.SetFinalizer(l, (*Local).Close)
	return l
}

// NewLocal is tl_local_new: a local with no dictionary in any thread. It panics only when the
// library is out of memory, as Go itself does.
func NewLocal() *Local {
	var l *Local
	err := locked(func() error {
		ptr := C.tl_local_new()
		if ptr == nil {
			return fail(C.TL_ERR_NO_MEMORY)
		}
		l = wrapLocal(ptr)
		return nil
	})
	if err != nil {
		panic(err)
	}
	return l
}

// Open is tl_local_open: the process-wide local registered under name, the one C code gets from
// tl_local_open(name) and Python from tlslocal.open(name).
func Open(name string) (*Local, error) {
	if strings.IndexByte(name, 0) >= 0 {
		return nil, &Error{ErrInvalidKey, "name contains a NUL byte"}
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var l *Local
	err := locked(func() error {
		ptr := C.tl_local_open(cname)
		if ptr == nil {
			return fail(C.tl_last_error())
		}
		l = wrapLocal(ptr)
		return nil
	})
	return l, err
}

// Unregister is tl_local_unregister: forget name; Locals already opened stay valid.
func Unregister(name string) error {
	if strings.IndexByte(name, 0) >= 0 {
		return &Error{ErrInvalidKey, "name contains a NUL byte"}
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	return locked(func() error {
		if status := C.tl_local_unregister(cname); status != C.TL_OK {
			return fail(status)
		}
		return nil
	})
}

// Close is tl_local_unref. Once the last reference goes, every thread's dictionary of the local
// is freed. It waits for calls in progress on other goroutines; later calls return an Error.
// Closing twice is a no-op. Always nil: the signature is io.Closer's.
func (l *Local) Close() error {
	if l == nil {
		return nil
	}
	l.mu.Lock()
	ptr := l.ptr
	l.ptr = nil
	l.mu.Unlock()
	if ptr != nil {
		runtime.SetFinalizer(l, nil)
		C.tl_local_unref(ptr)
	}
	return nil
}

// Thread is the calling OS thread's view of every local, valid only inside the WithThread call
// that created it and only on that call's goroutine.
type Thread struct {
	id     uint64
	active atomic.Bool
}

// WithThread locks the calling goroutine to its OS thread, runs fn with a *Thread for that OS
// thread, and unlocks it again. The *Thread is valid only during fn and only on this goroutine:
// afterwards, or from another goroutine, its methods return an Error with ErrInvalidArgument.
// WithThread does not clear anything: values set in fn stay in the OS thread's dictionaries, which
// the next goroutine locked to it sees (call t.Clear or t.ClearLocal in fn to drop them). fn must
// not call runtime.UnlockOSThread more often than it calls runtime.LockOSThread.
func WithThread(fn func(t *Thread) error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t := &Thread{id: uint64(C.tl_thread_id())}
	t.active.Store(true)
	defer t.active.Store(false)
	return fn(t)
}

// ID is tl_thread_id of the OS thread: unique in the process, never reused.
func (t *Thread) ID() uint64 { return t.id }

// enter pins the caller and checks that it runs on t's OS thread while t is active. The lock comes
// first: a goroutine that finds itself on t's OS thread then cannot leave it before the call, and
// can only be there once t's goroutine has unlocked, after it marked t inactive.
func (t *Thread) enter() error {
	runtime.LockOSThread()
	if t == nil || !t.active.Load() {
		runtime.UnlockOSThread()
		return &Error{ErrInvalidArgument, "Thread used outside its WithThread"}
	}
	if uint64(C.tl_thread_id()) != t.id {
		runtime.UnlockOSThread()
		return &Error{ErrInvalidArgument, "Thread used from another goroutine than its WithThread's"}
	}
	return nil
}

// callLocal runs op on t's OS thread with the local's pointer held for the call; op returns a
// status, whose message is read at once when negative (unless quiet says the status is an
// answer, not a failure).
func (t *Thread) callLocal(local *Local, op func(*C.TlLocal) C.int,
	quiet func(C.int) bool) (C.int, error) {
	if err := t.enter(); err != nil {
		return 0, err
	}
	defer runtime.UnlockOSThread()
	if local == nil {
		return 0, &Error{ErrInvalidArgument, "nil *Local"}
	}
	local.mu.RLock()
	defer local.mu.RUnlock()
	if local.ptr == nil {
		return 0, &Error{ErrInvalidArgument, "Local used after Close"}
	}
	status := op(local.ptr)
	if status < 0 && (quiet == nil || !quiet(status)) {
		return status, fail(status)
	}
	return status, nil
}

// call is callLocal with the key as a C string held for the call.
func (t *Thread) call(local *Local, key string, op func(*C.TlLocal, *C.char) C.int,
	quiet func(C.int) bool) (C.int, error) {
	if strings.IndexByte(key, 0) >= 0 {
		return 0, &Error{ErrInvalidKey, "key contains a NUL byte"}
	}
	return t.callLocal(local, func(p *C.TlLocal) C.int {
		ckey := C.CString(key)
		defer C.free(unsafe.Pointer(ckey))
		return op(p, ckey)
	}, quiet)
}

func notFound(status C.int) bool { return status == C.TL_ERR_NOT_FOUND }

func cBool(b bool) C.int {
	if b {
		return 1
	}
	return 0
}

// Set stores value under key in this OS thread's dictionary of local. Go types map to value types
// as README.md's table says: bool, int, int64, int32, int16, uint8 (byte), uint16, uint32,
// uint64, uint, float64, float32, string (no NUL byte), []byte.
func (t *Thread) Set(local *Local, key string, value any) error {
	var op func(*C.TlLocal, *C.char) C.int
	switch v := value.(type) { // the types with a typed setter: one call, no TlValue
	case bool:
		op = func(p *C.TlLocal, k *C.char) C.int { return C.tl_local_set_bool(p, k, cBool(v)) }
	case int:
		op = func(p *C.TlLocal, k *C.char) C.int { return C.tl_local_set_int64(p, k, C.int64_t(v)) }
	case int64:
		op = func(p *C.TlLocal, k *C.char) C.int { return C.tl_local_set_int64(p, k, C.int64_t(v)) }
	case uint64:
		op = func(p *C.TlLocal, k *C.char) C.int { return C.tl_local_set_uint64(p, k, C.uint64_t(v)) }
	case uint:
		op = func(p *C.TlLocal, k *C.char) C.int { return C.tl_local_set_uint64(p, k, C.uint64_t(v)) }
	case float64:
		op = func(p *C.TlLocal, k *C.char) C.int { return C.tl_local_set_double(p, k, C.double(v)) }
	case float32:
		op = func(p *C.TlLocal, k *C.char) C.int { return C.tl_local_set_double(p, k, C.double(v)) }
	case string:
		if strings.IndexByte(v, 0) >= 0 {
			return errNulString
		}
		op = func(p *C.TlLocal, k *C.char) C.int {
			cv := C.CString(v)
			defer C.free(unsafe.Pointer(cv))
			return C.tl_local_set_string(p, k, cv)
		}
	default:
		newValue, err := cValue(value)
		if err != nil {
			return err
		}
		op = func(p *C.TlLocal, k *C.char) C.int { return C.tl_local_set_take(p, k, newValue()) }
	}
	_, err := t.call(local, key, op, nil)
	return err
}

var errNulString = &Error{ErrInvalidArgument, "string value contains a NUL byte (store a []byte)"}

// cValue gives the constructor of value's TlValue (a new reference, NULL and the last error on
// failure), to run on the thread of the call that stores it.
func cValue(value any) (func() *C.TlValue, error) {
	switch v := value.(type) {
	case bool:
		return func() *C.TlValue { return C.tl_value_new_bool(cBool(v)) }, nil
	case int:
		return func() *C.TlValue { return C.tl_value_new_int64(C.int64_t(v)) }, nil
	case int64:
		return func() *C.TlValue { return C.tl_value_new_int64(C.int64_t(v)) }, nil
	case int32:
		return func() *C.TlValue { return C.tl_value_new_int32(C.int32_t(v)) }, nil
	case int16:
		return func() *C.TlValue { return C.tl_value_new_int16(C.int16_t(v)) }, nil
	case uint8:
		return func() *C.TlValue { return C.tl_value_new_byte(C.uint8_t(v)) }, nil
	case uint16:
		return func() *C.TlValue { return C.tl_value_new_uint16(C.uint16_t(v)) }, nil
	case uint32:
		return func() *C.TlValue { return C.tl_value_new_uint32(C.uint32_t(v)) }, nil
	case uint64:
		return func() *C.TlValue { return C.tl_value_new_uint64(C.uint64_t(v)) }, nil
	case uint:
		return func() *C.TlValue { return C.tl_value_new_uint64(C.uint64_t(v)) }, nil
	case float64:
		return func() *C.TlValue { return C.tl_value_new_double(C.double(v)) }, nil
	case float32:
		return func() *C.TlValue { return C.tl_value_new_double(C.double(v)) }, nil
	case string:
		if strings.IndexByte(v, 0) >= 0 {
			return nil, errNulString
		}
		return func() *C.TlValue {
			cv := C.CString(v)
			defer C.free(unsafe.Pointer(cv))
			return C.tl_value_new_string(cv)
		}, nil
	case []byte:
		return func() *C.TlValue {
			var data unsafe.Pointer
			if len(v) > 0 {
				data = unsafe.Pointer(&v[0]) // copied by the call; holds no Go pointer
			}
			return C.tl_value_new_bytes(data, C.size_t(len(v)))
		}, nil
	}
	return nil, &Error{ErrWrongType, "no libtlslocal value type for Go type " + typeName(value)}
}

func typeName(value any) string { return fmt.Sprintf("%T", value) }

// get reads key's value into conv, which runs on t's OS thread with the value referenced (conv's
// non-OK status is a failure whose message it leaves for fail). found is false when key is absent.
func (t *Thread) get(local *Local, key string, conv func(*C.TlValue) C.int) (bool, error) {
	status, err := t.call(local, key, func(p *C.TlLocal, k *C.char) C.int {
		var v *C.TlValue
		if status := C.tl_local_get(p, k, &v); status != C.TL_OK {
			return status
		}
		defer C.tl_value_unref(v)
		return conv(v)
	}, notFound)
	return err == nil && status != C.TL_ERR_NOT_FOUND, err
}

// Get reads key from this OS thread's dictionary of local: (value, true, nil), or (nil, false,
// nil) when the key is absent. Values whose type has no Go mapping in README.md's table
// (containers, pointer values) are an Error with ErrWrongType. A basic value takes one C call
// (tl_local_get_scalar).
func (t *Thread) Get(local *Local, key string) (any, bool, error) {
	var out any
	status, err := t.call(local, key, func(p *C.TlLocal, k *C.char) C.int {
		return getAny(p, k, func(v **C.TlValue) C.int { return C.tl_local_get(p, k, v) }, &out)
	}, notFound)
	return gotAny(out, status, err)
}

// getAny reads key k's value into out on the calling OS thread: a basic value in one call
// (tl_local_get_scalar); any other through fetch, which takes a reference (bytes, or an error
// for what Go does not map).
func getAny(p *C.TlLocal, k *C.char, fetch func(**C.TlValue) C.int, out *any) C.int {
	var typ C.int
	var bits C.uint64_t
	var s *C.char
	if status := C.tl_local_get_scalar(p, k, &typ, &bits, &s); status != C.TL_OK {
		return status
	}
	if typ != 0 {
		*out = scalar(byte(typ), uint64(bits), s)
		return C.TL_OK
	}
	var v *C.TlValue
	if status := fetch(&v); status != C.TL_OK {
		return status
	}
	defer C.tl_value_unref(v)
	typeString := C.GoString(C.tl_value_type(v))
	if typeString != "ay" {
		*out = unmapped(typeString)
		return C.TL_ERR_WRONG_TYPE
	}
	var data unsafe.Pointer
	var size C.size_t
	status := C.tl_value_get_bytes(v, &data, &size)
	*out = C.GoBytes(data, C.int(size))
	return status
}

// scalar is the Go value of tl_local_get_scalar's answer; a string is borrowed, copied here.
func scalar(typ byte, bits uint64, s *C.char) any {
	switch typ {
	case 'b':
		return bits != 0
	case 'y':
		return uint8(bits)
	case 'n':
		return int16(int64(bits))
	case 'q':
		return uint16(bits)
	case 'i':
		return int32(int64(bits))
	case 'u':
		return uint32(bits)
	case 'x':
		return int64(bits)
	case 't':
		return bits
	case 'h':
		return Handle(int32(int64(bits)))
	case 'd':
		return math.Float64frombits(bits)
	}
	return C.GoString(s) // "s", "o", "g"
}

// gotAny is Get's answer from getAny's.
func gotAny(out any, status C.int, err error) (any, bool, error) {
	if err != nil {
		if u, ok := out.(unmapped); ok {
			err = &Error{ErrWrongType, "value of type '" + string(u) + "' has no Go mapping"}
		}
		return nil, false, err
	}
	if status == C.TL_ERR_NOT_FOUND {
		return nil, false, nil
	}
	return out, true, nil
}

type unmapped string

// Handle is a value of type "h" (tl_value_new_handle), read back by Get.
type Handle int32

// typed runs a typed read (tl_local_get_<type>, one call); found is false when key is absent.
func (t *Thread) typed(local *Local, key string, op func(*C.TlLocal, *C.char) C.int) (bool, error) {
	status, err := t.call(local, key, op, notFound)
	return err == nil && status != C.TL_ERR_NOT_FOUND, err
}

// GetString reads a string ("s", "o" or "g"); another type is an Error with ErrWrongType.
func (t *Thread) GetString(local *Local, key string) (string, bool, error) {
	var out string
	found, err := t.typed(local, key, func(p *C.TlLocal, k *C.char) C.int {
		var s *C.char
		status := C.tl_local_get_string(p, k, &s)
		if status == C.TL_OK {
			out = C.GoString(s) // borrowed until this thread changes the key: copied at once
		}
		return status
	})
	return out, found, err
}

// GetBytes reads a byte string ("ay") as a new slice.
func (t *Thread) GetBytes(local *Local, key string) ([]byte, bool, error) {
	var out []byte
	found, err := t.get(local, key, func(v *C.TlValue) C.int {
		var data unsafe.Pointer
		var size C.size_t
		status := C.tl_value_get_bytes(v, &data, &size)
		if status == C.TL_OK {
			out = C.GoBytes(data, C.int(size))
		}
		return status
	})
	return out, found, err
}

// GetInt64 reads an int64 ("x"); other integer types are ErrWrongType, as in C.
func (t *Thread) GetInt64(local *Local, key string) (int64, bool, error) {
	var n C.int64_t
	found, err := t.typed(local, key, func(p *C.TlLocal, k *C.char) C.int {
		return C.tl_local_get_int64(p, k, &n)
	})
	return int64(n), found, err
}

// GetUint64 reads a uint64 ("t").
func (t *Thread) GetUint64(local *Local, key string) (uint64, bool, error) {
	var n C.uint64_t
	found, err := t.typed(local, key, func(p *C.TlLocal, k *C.char) C.int {
		return C.tl_local_get_uint64(p, k, &n)
	})
	return uint64(n), found, err
}

// GetFloat64 reads a double ("d").
func (t *Thread) GetFloat64(local *Local, key string) (float64, bool, error) {
	var d C.double
	found, err := t.typed(local, key, func(p *C.TlLocal, k *C.char) C.int {
		return C.tl_local_get_double(p, k, &d)
	})
	return float64(d), found, err
}

// GetBool reads a boolean ("b").
func (t *Thread) GetBool(local *Local, key string) (bool, bool, error) {
	var b C.int
	found, err := t.typed(local, key, func(p *C.TlLocal, k *C.char) C.int {
		return C.tl_local_get_bool(p, k, &b)
	})
	return b != 0, found, err
}

// Delete is tl_local_delete: true if key was there.
func (t *Thread) Delete(local *Local, key string) (bool, error) {
	status, err := t.call(local, key, func(p *C.TlLocal, k *C.char) C.int {
		return C.tl_local_delete(p, k)
	}, notFound)
	return err == nil && status == C.TL_OK, err
}

// Contains is tl_local_contains.
func (t *Thread) Contains(local *Local, key string) (bool, error) {
	status, err := t.call(local, key, func(p *C.TlLocal, k *C.char) C.int {
		return C.tl_local_contains(p, k)
	}, nil)
	return status == 1, err
}

// Len is tl_local_size: the number of keys in this OS thread's dictionary of local.
func (t *Thread) Len(local *Local) (int, error) {
	var n C.size_t
	_, err := t.callLocal(local, func(p *C.TlLocal) C.int { return C.tl_local_size(p, &n) }, nil)
	return int(n), err
}

// Keys is tl_local_keys: this OS thread's keys of local, in insertion order.
func (t *Thread) Keys(local *Local) ([]string, error) {
	var keys []string
	_, err := t.callLocal(local, func(p *C.TlLocal) C.int {
		var strv **C.char
		status := C.tl_local_keys(p, &strv, nil)
		if status != C.TL_OK {
			return status
		}
		defer C.tl_strv_free(strv)
		for p := strv; *p != nil; p = (**C.char)(unsafe.Add(unsafe.Pointer(p),
			unsafe.Sizeof(*p))) {
			keys = append(keys, C.GoString(*p))
		}
		return status
	}, nil)
	return keys, err
}

// ClearLocal is tl_local_clear: remove every key of this OS thread's dictionary of local only.
func (t *Thread) ClearLocal(local *Local) error {
	_, err := t.callLocal(local, func(p *C.TlLocal) C.int { return C.tl_local_clear(p) }, nil)
	return err
}

// Clear is tl_thread_clear: free every dictionary of this OS thread, in every local, including
// those C code or other languages filled on it. For a task that must leave the thread as it found
// it before the next goroutine locked to it.
func (t *Thread) Clear() error {
	if err := t.enter(); err != nil {
		return err
	}
	defer runtime.UnlockOSThread()
	C.tl_thread_clear()
	return nil
}
