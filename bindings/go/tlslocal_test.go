// SPDX-License-Identifier: LGPL-2.1-or-later

package tlslocal_test

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"runtime"
	"sync"
	"testing"
	"time"

	"tlslocal"
	"tlslocal/internal/ctest"
)

// with runs fn in WithThread and fails the test on its error.
func with(tb testing.TB, fn func(t *tlslocal.Thread) error) {
	tb.Helper()
	if err := tlslocal.WithThread(fn); err != nil {
		tb.Fatal(err)
	}
}

func wantStatus(tb testing.TB, err error, status int) *tlslocal.Error {
	tb.Helper()
	var e *tlslocal.Error
	if !errors.As(err, &e) || e.Status != status {
		tb.Fatalf("want a %s error, got %v", tlslocal.StatusName(status), err)
	}
	if e.Message == "" {
		tb.Fatalf("%v: no message", err)
	}
	return e
}

func TestStatusConstantsAreTheHeaders(t *testing.T) {
	c := ctest.StatusValues()
	for name, value := range map[string]int{"TL_OK": tlslocal.OK,
		"TL_ERR_INVALID_ARGUMENT": tlslocal.ErrInvalidArgument,
		"TL_ERR_INVALID_KEY": tlslocal.ErrInvalidKey, "TL_ERR_NOT_FOUND": tlslocal.ErrNotFound,
		"TL_ERR_WRONG_TYPE": tlslocal.ErrWrongType, "TL_ERR_PARSE": tlslocal.ErrParse,
		"TL_ERR_NO_MEMORY": tlslocal.ErrNoMemory, "TL_ERR_INVALID_UTF8": tlslocal.ErrInvalidUTF8,
		"TL_ERR_OUT_OF_RANGE": tlslocal.ErrOutOfRange,
		"TL_ERR_INIT_FAILED": tlslocal.ErrInitFailed, "TL_ERR_UNSUPPORTED": tlslocal.ErrUnsupported,
	} {
		if c[name] != value {
			t.Errorf("%s: Go %d, C %d", name, value, c[name])
		}
	}
	if tlslocal.Version() == "" || tlslocal.StatusText(tlslocal.ErrNotFound) == "" {
		t.Error("no version or status text")
	}
}

// 50 goroutines at once, each in WithThread, each sets its own value, yields and sleeps (so the
// scheduler runs the others meanwhile), and reads back its own value, from Go and from C.
func TestManyGoroutinesEachSeeTheirOwnThread(t *testing.T) {
	ctx, err := tlslocal.Open("go-test-many")
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Close()
	for round := 0; round < 20; round++ {
		var wg sync.WaitGroup
		errs := make(chan error, 50)
		for i := 0; i < 50; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				errs <- tlslocal.WithThread(func(th *tlslocal.Thread) error {
					if th.ID() != ctest.ThreadID() {
						return fmt.Errorf("Thread %d is not this OS thread's %d", th.ID(),
							ctest.ThreadID())
					}
					want := fmt.Sprintf("goroutine-%d-%d", round, i)
					if err := th.Set(ctx, "id", want); err != nil {
						return err
					}
					for step := 0; step < 3; step++ {
						runtime.Gosched()
						time.Sleep(time.Duration(i%3) * time.Millisecond)
						got, found, err := th.GetString(ctx, "id")
						if err != nil || !found || got != want {
							return fmt.Errorf("read %q (%v, %v), wrote %q", got, found, err, want)
						}
						if c, status := ctest.Read("go-test-many", "id"); c != want {
							return fmt.Errorf("C read %q (status %d), Go wrote %q", c, status, want)
						}
					}
					_, err := th.Delete(ctx, "id")
					return err
				})
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatalf("round %d: %v", round, err)
			}
		}
	}
}

// The only handle is the *Thread, and it works nowhere but on its goroutine during WithThread.
func TestStaleOrForeignThreadIsRefused(t *testing.T) {
	l := tlslocal.NewLocal()
	defer l.Close()
	var stale *tlslocal.Thread
	with(t, func(th *tlslocal.Thread) error {
		stale = th
		// Another goroutine, not locked to this OS thread, given the handle during fn.
		done := make(chan error)
		go func() { done <- th.Set(l, "x", 1) }()
		wantStatus(t, <-done, tlslocal.ErrInvalidArgument)
		go func() { _, _, err := th.Get(l, "x"); done <- err }()
		wantStatus(t, <-done, tlslocal.ErrInvalidArgument)
		go func() { done <- th.Clear() }()
		wantStatus(t, <-done, tlslocal.ErrInvalidArgument)
		return th.Set(l, "x", 1)
	})
	e := wantStatus(t, stale.Set(l, "x", 2), tlslocal.ErrInvalidArgument)
	if e.Message != "Thread used outside its WithThread" {
		t.Errorf("message %q", e.Message)
	}
	_, _, err := stale.GetInt64(l, "x")
	wantStatus(t, err, tlslocal.ErrInvalidArgument)
	wantStatus(t, stale.Clear(), tlslocal.ErrInvalidArgument)
	_, err = stale.Keys(l)
	wantStatus(t, err, tlslocal.ErrInvalidArgument)
	// Stale from every OS thread: also from goroutines that may run on the thread it named.
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			if err := stale.Set(l, "x", 3); err == nil {
				t.Error("a stale Thread wrote")
			}
		}()
	}
	wg.Wait()
	var nilThread *tlslocal.Thread
	wantStatus(t, nilThread.Set(l, "x", 1), tlslocal.ErrInvalidArgument)
}

func TestNestedWithThreadIsTheSameThread(t *testing.T) {
	l := tlslocal.NewLocal()
	defer l.Close()
	with(t, func(outer *tlslocal.Thread) error {
		if err := outer.Set(l, "k", "outer"); err != nil {
			return err
		}
		with(t, func(inner *tlslocal.Thread) error {
			if inner.ID() != outer.ID() {
				t.Error("nested WithThread on another OS thread")
			}
			got, _, err := inner.GetString(l, "k")
			if got != "outer" {
				t.Errorf("inner read %q %v", got, err)
			}
			return err
		})
		_, err := outer.Contains(l, "k") // still locked and active after the inner one
		return err
	})
}

func TestEveryTypeRoundTrips(t *testing.T) {
	l := tlslocal.NewLocal()
	defer l.Close()
	cases := []struct{ in, out any }{
		{true, true}, {false, false},
		{int(-5), int64(-5)}, {int64(math.MinInt64), int64(math.MinInt64)},
		{int32(math.MinInt32), int32(math.MinInt32)}, {int16(-300), int16(-300)},
		{uint8(255), uint8(255)}, {uint16(65535), uint16(65535)},
		{uint32(math.MaxUint32), uint32(math.MaxUint32)},
		{uint64(math.MaxUint64), uint64(math.MaxUint64)}, {uint(7), uint64(7)},
		{1.5, 1.5}, {float32(0.25), 0.25}, {math.Inf(-1), math.Inf(-1)},
		{"", ""}, {"héllo ✓", "héllo ✓"},
		{[]byte{}, []byte{}}, {[]byte{0, 1, 2, 255}, []byte{0, 1, 2, 255}},
	}
	with(t, func(th *tlslocal.Thread) error {
		for i, c := range cases {
			key := fmt.Sprint("k", i)
			if err := th.Set(l, key, c.in); err != nil {
				t.Errorf("Set(%T %v): %v", c.in, c.in, err)
				continue
			}
			got, found, err := th.Get(l, key)
			if err != nil || !found || !reflect.DeepEqual(got, c.out) {
				t.Errorf("%T %v: Get gave %T %v (%v, %v)", c.in, c.in, got, got, found, err)
			}
		}
		if s, _, err := th.GetString(l, "k15"); s != "héllo ✓" || err != nil {
			t.Errorf("GetString %q %v", s, err)
		}
		if n, _, err := th.GetInt64(l, "k3"); n != math.MinInt64 || err != nil {
			t.Errorf("GetInt64 %d %v", n, err)
		}
		if n, _, err := th.GetUint64(l, "k9"); n != math.MaxUint64 || err != nil {
			t.Errorf("GetUint64 %d %v", n, err)
		}
		if d, _, err := th.GetFloat64(l, "k11"); d != 1.5 || err != nil {
			t.Errorf("GetFloat64 %v %v", d, err)
		}
		if b, _, err := th.GetBool(l, "k0"); !b || err != nil {
			t.Errorf("GetBool %v %v", b, err)
		}
		if b, _, err := th.GetBytes(l, "k17"); !reflect.DeepEqual(b, []byte{0, 1, 2, 255}) ||
			err != nil {
			t.Errorf("GetBytes %v %v", b, err)
		}
		n, err := th.Len(l)
		if n != len(cases) || err != nil {
			t.Errorf("Len %d %v", n, err)
		}
		keys, err := th.Keys(l)
		if len(keys) != len(cases) || keys[0] != "k0" || keys[17] != "k17" || err != nil {
			t.Errorf("Keys %v %v", keys, err)
		}
		return nil
	})
}

func TestAbsentKeysAndErrors(t *testing.T) {
	l := tlslocal.NewLocal()
	defer l.Close()
	with(t, func(th *tlslocal.Thread) error {
		if v, found, err := th.Get(l, "nothing"); v != nil || found || err != nil {
			t.Errorf("absent: %v %v %v", v, found, err)
		}
		if s, found, err := th.GetString(l, "nothing"); s != "" || found || err != nil {
			t.Errorf("absent string: %q %v %v", s, found, err)
		}
		if deleted, err := th.Delete(l, "nothing"); deleted || err != nil {
			t.Errorf("delete absent: %v %v", deleted, err)
		}
		if err := th.Set(l, "s", "text"); err != nil {
			return err
		}
		_, found, err := th.GetInt64(l, "s")
		e := wantStatus(t, err, tlslocal.ErrWrongType)
		if found || !errors.Is(err, &tlslocal.Error{Status: tlslocal.ErrWrongType}) {
			t.Errorf("found %v, errors.Is false: %v", found, err)
		}
		t.Logf("wrong type: %v", e)
		if err := th.Set(l, "i", int32(1)); err != nil {
			return err
		}
		_, _, err = th.GetInt64(l, "i") // strict, as in C: an int32 is not an int64
		wantStatus(t, err, tlslocal.ErrWrongType)
		wantStatus(t, th.Set(l, "bad\xff", 1), tlslocal.ErrInvalidKey) // C refuses non-UTF-8
		wantStatus(t, th.Set(l, "nul\x00key", 1), tlslocal.ErrInvalidKey)
		wantStatus(t, th.Set(l, "s", "bad\xffutf8"), tlslocal.ErrInvalidUTF8)
		wantStatus(t, th.Set(l, "s", "nul\x00"), tlslocal.ErrInvalidArgument)
		wantStatus(t, th.Set(l, "s", int8(1)), tlslocal.ErrWrongType)
		wantStatus(t, th.Set(l, "s", nil), tlslocal.ErrWrongType)
		wantStatus(t, th.Set(nil, "s", 1), tlslocal.ErrInvalidArgument)
		// A failed call leaves the dictionary as it was.
		if s, _, _ := th.GetString(l, "s"); s != "text" {
			t.Errorf("after failed sets: %q", s)
		}
		return nil
	})
	_, err := tlslocal.Open("bad\xffname")
	wantStatus(t, err, tlslocal.ErrInvalidKey)
	wantStatus(t, tlslocal.Unregister("go-test-never-opened"), tlslocal.ErrNotFound)
}

// C and Go on one OS thread share a named local both ways; another OS thread sees neither.
func TestNamedLocalSharedWithC(t *testing.T) {
	ctx, err := tlslocal.Open("go-test-shared")
	if err != nil {
		t.Fatal(err)
	}
	defer ctx.Close()
	with(t, func(th *tlslocal.Thread) error {
		if err := th.Set(ctx, "request_id", "req-7"); err != nil {
			return err
		}
		if got, status := ctest.Read("go-test-shared", "request_id"); got != "req-7" {
			t.Errorf("C read %q, status %d", got, status)
		}
		if status := ctest.Write("go-test-shared", "reply", "ack req-7"); status != 0 {
			t.Errorf("C write: %d", status)
		}
		if got, found, err := th.GetString(ctx, "reply"); got != "ack req-7" || !found {
			t.Errorf("Go read C's %q %v %v", got, found, err)
		}
		// Another goroutine on another OS thread, at the same time: nothing there.
		done := make(chan struct{})
		go func() {
			defer close(done)
			with(t, func(other *tlslocal.Thread) error {
				if found, err := other.Contains(ctx, "request_id"); found || err != nil {
					t.Errorf("other OS thread sees request_id: %v %v", found, err)
				}
				if _, status := ctest.Read("go-test-shared", "reply"); status !=
					tlslocal.ErrNotFound {
					t.Errorf("C on the other OS thread: status %d", status)
				}
				return nil
			})
		}()
		<-done
		return nil
	})
	// Two Locals of one name are one local.
	again, err := tlslocal.Open("go-test-shared")
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close()
	with(t, func(th *tlslocal.Thread) error {
		if err := th.Set(ctx, "a", 1); err != nil {
			return err
		}
		n, _, err := th.GetInt64(again, "a")
		if n != 1 {
			t.Errorf("second Open reads %d %v", n, err)
		}
		return th.ClearLocal(ctx)
	})
}

func TestClear(t *testing.T) {
	a, b := tlslocal.NewLocal(), tlslocal.NewLocal()
	defer a.Close()
	defer b.Close()
	named, err := tlslocal.Open("go-test-clear")
	if err != nil {
		t.Fatal(err)
	}
	defer named.Close()
	with(t, func(th *tlslocal.Thread) error {
		for _, l := range []*tlslocal.Local{a, b} {
			if err := th.Set(l, "k", "v"); err != nil {
				return err
			}
		}
		ctest.Write("go-test-clear", "from_c", "x")
		// ClearLocal: one local only.
		if err := th.ClearLocal(a); err != nil {
			return err
		}
		if n, _ := th.Len(a); n != 0 {
			t.Errorf("ClearLocal left %d keys", n)
		}
		if found, _ := th.Contains(b, "k"); !found {
			t.Error("ClearLocal(a) cleared b")
		}
		// Clear: every local of this OS thread, C's values too.
		if err := th.Clear(); err != nil {
			return err
		}
		for _, l := range []*tlslocal.Local{a, b, named} {
			if n, _ := th.Len(l); n != 0 {
				t.Errorf("Clear left %d keys", n)
			}
		}
		if _, status := ctest.Read("go-test-clear", "from_c"); status != tlslocal.ErrNotFound {
			t.Errorf("C's value survived Clear: status %d", status)
		}
		return th.Set(a, "after", true) // usable again
	})
}

// Close frees every thread's dictionaries of a local at once; the finalizer does it when Close was
// never called. Counted by the library itself.
func TestCloseAndFinalizerLeaveNothing(t *testing.T) {
	runtime.GC()
	base := waitStats(t, tlslocal.LiveStats())
	l := tlslocal.NewLocal()
	// All 8 inside WithThread at once, so on 8 OS threads: one after the other, they could all
	// run on one reused OS thread and share one dictionary.
	var wg, set sync.WaitGroup
	set.Add(8)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			with(t, func(th *tlslocal.Thread) error {
				err := th.Set(l, "v", fmt.Sprint("value ", i))
				set.Done()
				set.Wait()
				return err
			})
		}(i)
	}
	wg.Wait()
	if s := tlslocal.LiveStats(); s.Locals != base.Locals+1 || s.Values != base.Values+8 ||
		s.Dicts != base.Dicts+8 {
		t.Errorf("before Close: %+v (base %+v)", s, base)
	}
	l.Close()
	l.Close() // a no-op
	if s := tlslocal.LiveStats(); s.Locals != base.Locals || s.Values != base.Values ||
		s.Dicts != base.Dicts {
		t.Errorf("after Close: %+v, base %+v", s, base)
	}
	with(t, func(th *tlslocal.Thread) error {
		e := wantStatus(t, th.Set(l, "v", 1), tlslocal.ErrInvalidArgument)
		if e.Message != "Local used after Close" {
			t.Errorf("message %q", e.Message)
		}
		return nil
	})

	// Never closed: the finalizer unrefs.
	func() {
		dropped := tlslocal.NewLocal()
		with(t, func(th *tlslocal.Thread) error { return th.Set(dropped, "big", make([]byte, 64)) })
	}()
	if s := tlslocal.LiveStats(); s.Locals != base.Locals+1 {
		t.Fatalf("dropped local not live before GC: %+v", s)
	}
	deadline := time.Now().Add(10 * time.Second)
	for tlslocal.LiveStats().Locals != base.Locals && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if s := tlslocal.LiveStats(); s.Locals != base.Locals || s.Values != base.Values {
		t.Errorf("after the finalizer: %+v, base %+v", s, base)
	}
}

// waitStats lets finalizers of earlier tests finish, so the counts stand still.
func waitStats(t *testing.T, s tlslocal.Stats) tlslocal.Stats {
	for i := 0; i < 50; i++ {
		runtime.GC()
		time.Sleep(5 * time.Millisecond)
		next := tlslocal.LiveStats()
		if next == s {
			return s
		}
		s = next
	}
	return s
}

// Close from one goroutine while others use the local: the users get values or the closed error,
// never a freed local.
func TestCloseWhileInUse(t *testing.T) {
	for round := 0; round < 20; round++ {
		l := tlslocal.NewLocal()
		var wg sync.WaitGroup
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_ = tlslocal.WithThread(func(th *tlslocal.Thread) error {
					for j := 0; j < 200; j++ {
						if err := th.Set(l, "k", j); err != nil {
							wantStatus(t, err, tlslocal.ErrInvalidArgument)
							return nil
						}
					}
					return nil
				})
			}()
		}
		time.Sleep(time.Millisecond)
		l.Close()
		wg.Wait()
	}
}
