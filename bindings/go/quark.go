// SPDX-License-Identifier: LGPL-2.1-or-later

package tlslocal

/*
#include <stdlib.h>
#include <tlslocal.h>
*/
import "C"

import (
	"strings"
	"unsafe"
)

// Quark is an interned key (TlQuark): a key's string interned once for the process, then named
// by a number. A quark and its string name the same key: a value set by quark is read by string
// and the other way round. Calls by quark skip the C copy of the key Go makes for every string
// key, and the library's UTF-8 check and hash of it on writes and removals: make one per
// well-known key, once (a package-level MustQuark), never from untrusted input (interned strings
// live as long as the process). A Quark is a value: copy it, compare it, share it between
// goroutines. The zero Quark names no key (ErrInvalidKey).
type Quark struct {
	id   C.TlQuark
	name *C.char // the library's interned string: immortal
}

// NewQuark is tl_quark_from_string: the same name always gives the same Quark. ErrInvalidKey
// for a name that is not UTF-8 or holds a NUL byte.
func NewQuark(name string) (Quark, error) {
	if strings.IndexByte(name, 0) >= 0 {
		return Quark{}, &Error{ErrInvalidKey, "name contains a NUL byte"}
	}
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var q Quark
	err := locked(func() error {
		id := C.tl_quark_from_string(cname)
		if id == 0 {
			return fail(C.tl_last_error())
		}
		q = Quark{id: id, name: C.tl_quark_to_string(id)}
		return nil
	})
	return q, err
}

// MustQuark is NewQuark for names fixed in the program: it panics on an invalid name.
func MustQuark(name string) Quark {
	q, err := NewQuark(name)
	if err != nil {
		panic(err)
	}
	return q
}

// String is the interned name ("" for the zero Quark).
func (q Quark) String() string {
	if q.name == nil {
		return ""
	}
	return C.GoString(q.name)
}

// SetQuark is Set with an interned key (tl_local_set_quark); the same Go types.
func (t *Thread) SetQuark(local *Local, key Quark, value any) error {
	newValue, err := cValue(value)
	if err != nil {
		return err
	}
	_, err = t.callLocal(local, func(p *C.TlLocal) C.int {
		v := newValue()
		if v == nil {
			return C.int(C.tl_last_error())
		}
		defer C.tl_value_unref(v)
		return C.tl_local_set_quark(p, key.id, v)
	}, nil)
	return err
}

// GetQuark is Get with an interned key: a basic value in one call (tl_local_get_scalar with the
// quark's interned name, no C string to make), any other through tl_local_get_quark.
func (t *Thread) GetQuark(local *Local, key Quark) (any, bool, error) {
	var out any
	status, err := t.callLocal(local, func(p *C.TlLocal) C.int {
		return getAny(p, key.name, func(v **C.TlValue) C.int {
			return C.tl_local_get_quark(p, key.id, v)
		}, &out)
	}, notFound)
	return gotAny(out, status, err)
}

// DeleteQuark is Delete with an interned key (tl_local_delete_quark): true if it was there.
func (t *Thread) DeleteQuark(local *Local, key Quark) (bool, error) {
	status, err := t.callLocal(local, func(p *C.TlLocal) C.int {
		return C.tl_local_delete_quark(p, key.id)
	}, notFound)
	return err == nil && status == C.TL_OK, err
}
