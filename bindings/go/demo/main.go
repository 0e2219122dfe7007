// SPDX-License-Identifier: LGPL-2.1-or-later

// tlslocal-demo-go: tlslocal-demo's step 4, the Go side, run as
//
//	tlslocal-demo-go HELPER LOCAL_NAME REQUEST_ID
//
// On one locked OS thread it sets request_id in the named local, lets the C helper library
// (dlopen()ed from HELPER) read it and answer in reply, and reads that reply back. Prints one
// tab-separated line: RESULT wrote c_read c_reply read_back, or ERROR why (exit 1).
package main

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>

typedef int (*demo_acknowledge_fn)(const char *, char *, size_t, char *, size_t);
static demo_acknowledge_fn demo_acknowledge;

// NULL, or dlerror()'s message (static; copied by the caller at once).
static const char *demo_load(const char *path) {
  void *helper = dlopen(path, RTLD_NOW);
  if (helper == NULL)
    return dlerror();
  demo_acknowledge = (demo_acknowledge_fn)dlsym(helper, "tldemo_acknowledge");
  return demo_acknowledge == NULL ? dlerror() : NULL;
}

static int demo_call(const char *name, char *read_out, size_t read_size, char *reply_out,
                     size_t reply_size) {
  return demo_acknowledge(name, read_out, read_size, reply_out, reply_size);
}
*/
import "C"

import (
	"fmt"
	"os"
	"strings"
	"unsafe"

	"tlslocal"
)

func run(helper, name, requestID string) error {
	chelper := C.CString(helper)
	defer C.free(unsafe.Pointer(chelper))
	if why := C.demo_load(chelper); why != nil {
		return fmt.Errorf("cannot load the C helper: %s", C.GoString(why))
	}
	ctx, err := tlslocal.Open(name) // the local C gets from tl_local_open(name)
	if err != nil {
		return err
	}
	defer ctx.Close()
	return tlslocal.WithThread(func(t *tlslocal.Thread) error {
		if err := t.Set(ctx, "request_id", requestID); err != nil {
			return err
		}
		cname := C.CString(name)
		defer C.free(unsafe.Pointer(cname))
		var read, reply [128]C.char
		// On this goroutine's locked OS thread: the helper reads the dictionary t wrote.
		status := C.demo_call(cname, &read[0], C.size_t(len(read)), &reply[0],
			C.size_t(len(reply)))
		if status != 0 {
			return fmt.Errorf("the C helper failed: status %d (%s)", int(status),
				tlslocal.StatusName(int(status)))
		}
		back, found, err := t.GetString(ctx, "reply")
		if err != nil {
			return err
		}
		if !found {
			back = "(nothing)"
		}
		fmt.Printf("RESULT\t%s\t%s\t%s\t%s\n", requestID, C.GoString(&read[0]),
			C.GoString(&reply[0]), back)
		return nil
	})
}

func main() {
	if len(os.Args) != 4 {
		fmt.Println("ERROR\tusage: tlslocal-demo-go HELPER LOCAL_NAME REQUEST_ID")
		os.Exit(1)
	}
	if err := run(os.Args[1], os.Args[2], os.Args[3]); err != nil {
		fmt.Println("ERROR\t" + strings.Join(strings.Fields(err.Error()), " "))
		os.Exit(1)
	}
}
