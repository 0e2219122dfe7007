// SPDX-License-Identifier: LGPL-2.1-or-later

package tlslocal_test

import (
	"fmt"
	"math"
	"reflect"
	"sync"
	"testing"

	"tlslocal"
	"tlslocal/internal/ctest"
)

// A quark and its string name the same key, both ways, for every Go type Set takes.
func TestQuarkAndItsStringAreOneKey(t *testing.T) {
	l := tlslocal.NewLocal()
	defer l.Close()
	q := tlslocal.MustQuark("go-request-id")
	if q2, err := tlslocal.NewQuark("go-request-id"); q2 != q || err != nil {
		t.Fatalf("interned twice: %v %v (%v)", q, q2, err)
	}
	if q == tlslocal.MustQuark("go-other") || q.String() != "go-request-id" {
		t.Errorf("quark %v", q)
	}
	cases := []struct{ in, out any }{
		{true, true}, {int(-5), int64(-5)}, {int64(math.MinInt64), int64(math.MinInt64)},
		{int32(-7), int32(-7)}, {int16(-300), int16(-300)}, {uint8(255), uint8(255)},
		{uint16(65535), uint16(65535)}, {uint32(math.MaxUint32), uint32(math.MaxUint32)},
		{uint64(math.MaxUint64), uint64(math.MaxUint64)}, {uint(7), uint64(7)},
		{0.25, 0.25}, {float32(0.5), 0.5}, {"héllo ✓", "héllo ✓"}, {"", ""},
		{[]byte{0, 1, 255}, []byte{0, 1, 255}},
	}
	with(t, func(th *tlslocal.Thread) error {
		for _, c := range cases {
			if err := th.SetQuark(l, q, c.in); err != nil {
				t.Errorf("SetQuark(%T %v): %v", c.in, c.in, err)
				continue
			}
			got, found, err := th.Get(l, "go-request-id")
			if err != nil || !found || !reflect.DeepEqual(got, c.out) {
				t.Errorf("%T %v by string: %T %v (%v, %v)", c.in, c.in, got, got, found, err)
			}
			if err := th.Set(l, "go-request-id", c.in); err != nil {
				return err
			}
			got, found, err = th.GetQuark(l, q)
			if err != nil || !found || !reflect.DeepEqual(got, c.out) {
				t.Errorf("%T %v by quark: %T %v (%v, %v)", c.in, c.in, got, got, found, err)
			}
		}
		if n, _ := th.Len(l); n != 1 {
			t.Errorf("Len %d: one key, by quark or by string", n)
		}
		if deleted, err := th.DeleteQuark(l, q); !deleted || err != nil {
			t.Errorf("DeleteQuark: %v %v", deleted, err)
		}
		if deleted, err := th.DeleteQuark(l, q); deleted || err != nil {
			t.Errorf("DeleteQuark of an absent key: %v %v", deleted, err)
		}
		if v, found, err := th.GetQuark(l, q); v != nil || found || err != nil {
			t.Errorf("GetQuark of an absent key: %v %v %v", v, found, err)
		}
		if has, _ := th.Contains(l, "go-request-id"); has {
			t.Error("still there after DeleteQuark")
		}
		return nil
	})
}

// Values Go does not map are ErrWrongType whichever the key; the other basic types C stores
// come through tl_local_get_scalar.
func TestGetOfWhatCStores(t *testing.T) {
	const name = "go-test-parsed"
	l, err := tlslocal.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	q := tlslocal.MustQuark("go-parsed")
	with(t, func(th *tlslocal.Thread) error {
		for _, c := range []struct {
			typ, text string
			want      any
		}{{"h", "3", tlslocal.Handle(3)}, {"o", "'/a/b'", "/a/b"}, {"g", "'ai'", "ai"},
			{"n", "-2", int16(-2)}, {"d", "-0.5", -0.5}} {
			if status := ctest.WriteParsed(name, "go-parsed", c.typ, c.text); status != 0 {
				return fmt.Errorf("WriteParsed %s: %d", c.typ, status)
			}
			for _, get := range []func() (any, bool, error){
				func() (any, bool, error) { return th.Get(l, "go-parsed") },
				func() (any, bool, error) { return th.GetQuark(l, q) },
			} {
				if got, found, err := get(); !found || err != nil || got != c.want {
					t.Errorf("%s %s: %T %v (%v %v)", c.typ, c.text, got, got, found, err)
				}
			}
		}
		if status := ctest.WriteParsed(name, "go-parsed", "a{sv}", "{'a': <1>}"); status != 0 {
			return fmt.Errorf("WriteParsed a{sv}: %d", status)
		}
		_, found, err := th.Get(l, "go-parsed")
		e := wantStatus(t, err, tlslocal.ErrWrongType)
		_, found2, err := th.GetQuark(l, q)
		e2 := wantStatus(t, err, tlslocal.ErrWrongType)
		if found || found2 || e.Message != e2.Message {
			t.Errorf("container: %v / %v", e, e2)
		}
		return th.ClearLocal(l)
	})
}

func TestQuarkErrors(t *testing.T) {
	for _, name := range []string{"bad\xffname", "nul\x00name"} {
		q, err := tlslocal.NewQuark(name)
		wantStatus(t, err, tlslocal.ErrInvalidKey)
		if q != (tlslocal.Quark{}) {
			t.Errorf("%q gave a quark", name)
		}
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("MustQuark of a bad name did not panic")
			}
		}()
		tlslocal.MustQuark("bad\xff")
	}()
	l := tlslocal.NewLocal()
	defer l.Close()
	q := tlslocal.MustQuark("go-errors")
	with(t, func(th *tlslocal.Thread) error {
		var zero tlslocal.Quark
		wantStatus(t, th.SetQuark(l, zero, 1), tlslocal.ErrInvalidKey)
		_, _, err := th.GetQuark(l, zero)
		wantStatus(t, err, tlslocal.ErrInvalidKey)
		_, err = th.DeleteQuark(l, zero)
		wantStatus(t, err, tlslocal.ErrInvalidKey)
		wantStatus(t, th.SetQuark(l, q, "nul\x00"), tlslocal.ErrInvalidArgument)
		wantStatus(t, th.SetQuark(l, q, "bad\xff"), tlslocal.ErrInvalidUTF8)
		wantStatus(t, th.SetQuark(l, q, int8(1)), tlslocal.ErrWrongType)
		wantStatus(t, th.SetQuark(nil, q, 1), tlslocal.ErrInvalidArgument)
		if n, _ := th.Len(l); n != 0 {
			t.Errorf("failed SetQuarks stored %d keys", n)
		}
		return nil
	})
}

// 50 goroutines at once intern the same name and their own, write by quark, read by string.
func TestQuarksFromManyGoroutines(t *testing.T) {
	l := tlslocal.NewLocal()
	defer l.Close()
	for round := 0; round < 20; round++ {
		var wg sync.WaitGroup
		errs := make(chan error, 50)
		quarks := make([]tlslocal.Quark, 50)
		for i := 0; i < 50; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				errs <- tlslocal.WithThread(func(th *tlslocal.Thread) error {
					common, err := tlslocal.NewQuark("go-quark-common")
					if err != nil {
						return err
					}
					quarks[i] = common
					ownName := fmt.Sprintf("go-quark-r%d-g%d", round, i)
					own := tlslocal.MustQuark(ownName)
					for j := 0; j < 10; j++ {
						want := int64(i*1000 + j)
						if err := th.SetQuark(l, common, want); err != nil {
							return err
						}
						if err := th.Set(l, ownName, ownName); err != nil {
							return err
						}
						if n, _, err := th.GetInt64(l, "go-quark-common"); n != want || err != nil {
							return fmt.Errorf("goroutine %d: %d, want %d (%v)", i, n, want, err)
						}
						if s, _, err := th.GetQuark(l, own); s != ownName || err != nil {
							return fmt.Errorf("goroutine %d: %v, want %s (%v)", i, s, ownName, err)
						}
					}
					if ok, err := th.DeleteQuark(l, own); !ok || err != nil {
						return fmt.Errorf("DeleteQuark: %v %v", ok, err)
					}
					return th.ClearLocal(l) // the OS thread goes back to the pool clean
				})
			}(i)
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		for _, q := range quarks {
			if q != quarks[0] {
				t.Fatalf("one name, two quarks: %v %v", q, quarks[0])
			}
		}
	}
}
