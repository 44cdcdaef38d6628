package consensus

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	dbm "github.com/cometbft/cometbft-db"
)

func openPebble(t *testing.T) dbm.DB {
	t.Helper()
	db, err := dbm.NewPebbleDB("guard", t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// The failure the guard exists for: Pebble panics when a closed database is read.
func TestUnguardedPebblePanicsAfterClose(t *testing.T) {
	db := openPebble(t)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("reading a closed Pebble database did not panic; the guard may no longer be needed")
		}
	}()
	_, _ = db.Get([]byte("k"))
}

func TestGuardedDBAfterClose(t *testing.T) {
	g := guardDB(openPebble(t))
	for i := range 3 {
		if err := g.SetSync([]byte(fmt.Sprint("k", i)), []byte("v")); err != nil {
			t.Fatal(err)
		}
	}
	if v, err := g.Get([]byte("k1")); err != nil || string(v) != "v" {
		t.Fatalf("Get before close = %q, %v", v, err)
	}
	it, err := g.Iterator(nil, nil)
	if err != nil || !it.Valid() {
		t.Fatalf("iterator before close: valid %v, %v", it != nil && it.Valid(), err)
	}
	if g.DB() == nil {
		t.Fatal("DB() is nil for a Pebble database")
	}

	if err := g.Close(); err != nil {
		t.Logf("close: %v", err) // Pebble reports the iterator left open
	}
	if err := g.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}

	if v, err := g.Get([]byte("k1")); v != nil || err != nil {
		t.Fatalf("Get after close = %q, %v; want nothing", v, err)
	}
	if ok, err := g.Has([]byte("k1")); ok || err != nil {
		t.Fatalf("Has after close = %v, %v", ok, err)
	}
	if it.Valid() || it.Key() != nil || it.Value() != nil || it.Error() != nil || it.Close() != nil {
		t.Fatal("an iterator opened before close still yields after it")
	}
	it.Next()
	for _, open := range []func([]byte, []byte) (dbm.Iterator, error){g.Iterator, g.ReverseIterator} {
		it, err := open(nil, nil)
		if err != nil || it.Valid() {
			t.Fatalf("iterator opened after close: valid %v, %v", it.Valid(), err)
		}
	}
	for name, err := range map[string]error{
		"Set":        g.Set([]byte("a"), []byte("b")),
		"SetSync":    g.SetSync([]byte("a"), []byte("b")),
		"Delete":     g.Delete([]byte("a")),
		"DeleteSync": g.DeleteSync([]byte("a")),
		"Compact":    g.Compact(nil, nil),
	} {
		if !errors.Is(err, errDBClosed) {
			t.Errorf("%s after close = %v, want errDBClosed", name, err)
		}
	}
	b := g.NewBatch()
	if err := b.Set([]byte("a"), []byte("b")); err != nil {
		t.Fatal(err)
	}
	if err := b.Write(); !errors.Is(err, errDBClosed) {
		t.Errorf("batch Write after close = %v, want errDBClosed", err)
	}
	if err := b.WriteSync(); !errors.Is(err, errDBClosed) {
		t.Errorf("batch WriteSync after close = %v, want errDBClosed", err)
	}
	_ = b.Close()
	if len(g.Stats()) != 0 || g.Print() != nil {
		t.Error("Stats or Print of a closed database")
	}
}

// Readers racing Close never see a panic (run with -race as make test does).
func TestGuardedDBCloseUnderLoad(t *testing.T) {
	g := guardDB(openPebble(t))
	if err := g.Set([]byte("k"), []byte("v")); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for range 2000 {
				if v, err := g.Get([]byte("k")); err != nil || (v != nil && string(v) != "v") {
					t.Errorf("Get = %q, %v", v, err)
					return
				}
				it, err := g.Iterator(nil, nil)
				if err != nil {
					t.Errorf("Iterator: %v", err)
					return
				}
				for ; it.Valid(); it.Next() {
					_ = it.Key()
				}
				_ = it.Close()
			}
		}()
	}
	close(start)
	if err := g.Close(); err != nil {
		t.Logf("close: %v", err)
	}
	wg.Wait()
}
