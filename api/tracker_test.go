package api

import (
	"sync"
	"testing"
	"time"
)

// receive waits (bounded) for an outcome on ch.
func receive(t *testing.T, ch <-chan TxOutcome) TxOutcome {
	t.Helper()
	select {
	case o := <-ch:
		return o
	case <-time.After(waitLimit):
		t.Fatal("no outcome in time")
		return TxOutcome{}
	}
}

// nothing checks that ch holds no outcome.
func nothing(t *testing.T, ch <-chan TxOutcome) {
	t.Helper()
	select {
	case o := <-ch:
		t.Errorf("unexpected outcome %+v", o)
	default:
	}
}

func TestTrackerSameHashWaiters(t *testing.T) {
	tr := NewTracker()
	h := docHash(1)
	const n = 20
	var wg sync.WaitGroup
	registered := make(chan struct{}, n)
	results := make(chan TxOutcome, n)
	for range n {
		wg.Go(func() {
			ch, cancel := tr.wait(h)
			defer cancel()
			registered <- struct{}{}
			select {
			case o := <-ch:
				results <- o
			case <-time.After(waitLimit):
				t.Error("waiter got nothing")
			}
		})
	}
	for range n {
		select {
		case <-registered:
		case <-time.After(waitLimit):
			t.Fatal("waiters did not register")
		}
	}
	if got := tr.Waiting(); got != 1 {
		t.Errorf("Waiting() = %d, want 1 (one transaction)", got)
	}
	want := TxOutcome{Hash: h, Height: 8, Index: 3, Code: 7, Log: "dup"}
	tr.Notify([]TxOutcome{want})
	wg.Wait()
	close(results)
	count := 0
	for o := range results {
		count++
		if o != want {
			t.Errorf("outcome = %+v, want %+v", o, want)
		}
	}
	if count != n {
		t.Errorf("%d of %d waiters got the outcome", count, n)
	}
	if got := tr.Waiting(); got != 0 {
		t.Errorf("Waiting() = %d after all waiters left", got)
	}
}

func TestTrackerCancel(t *testing.T) {
	tr := NewTracker()
	a, b := docHash(1), docHash(2)
	chA1, cancelA1 := tr.wait(a)
	chA2, cancelA2 := tr.wait(a)
	chB, cancelB := tr.wait(b)
	if got := tr.Waiting(); got != 2 {
		t.Fatalf("Waiting() = %d, want 2", got)
	}

	cancelA1()
	if got := tr.Waiting(); got != 2 {
		t.Errorf("after one of two waiters for a left: Waiting() = %d, want 2", got)
	}
	tr.Notify([]TxOutcome{{Hash: a, Height: 4}})
	if o := receive(t, chA2); o.Height != 4 {
		t.Errorf("remaining waiter got %+v", o)
	}
	nothing(t, chA1)
	cancelA2() // after the outcome: harmless
	cancelA1() // twice: harmless
	if got := tr.Waiting(); got != 1 {
		t.Errorf("Waiting() = %d, want 1 (b)", got)
	}

	cancelB()
	if got := tr.Waiting(); got != 0 {
		t.Errorf("Waiting() = %d, want 0", got)
	}
	tr.Notify([]TxOutcome{{Hash: b}}) // nobody waits any more: must not block or deliver
	nothing(t, chB)
}

// TestTrackerCancelKeepsLaterWaiters checks that a waiter that leaves after its outcome was delivered
// does not remove a newer waiter for the same hash.
func TestTrackerCancelKeepsLaterWaiters(t *testing.T) {
	tr := NewTracker()
	h := docHash(1)
	_, cancelOld := tr.wait(h)
	tr.Notify([]TxOutcome{{Hash: h}})
	chNew, cancelNew := tr.wait(h)
	defer cancelNew()
	cancelOld()
	if got := tr.Waiting(); got != 1 {
		t.Fatalf("Waiting() = %d, want 1", got)
	}
	tr.Notify([]TxOutcome{{Hash: h, Height: 2}})
	if o := receive(t, chNew); o.Height != 2 {
		t.Errorf("new waiter got %+v", o)
	}
}

func TestTrackerNotifyUnknown(t *testing.T) {
	tr := NewTracker()
	tr.Notify(nil)
	tr.Notify([]TxOutcome{{Hash: docHash(1)}}) // nobody waits at all
	ch, cancel := tr.wait(docHash(2))
	defer cancel()
	tr.Notify([]TxOutcome{{Hash: docHash(3)}, {Hash: docHash(4)}})
	nothing(t, ch)
	if got := tr.Waiting(); got != 1 {
		t.Errorf("Waiting() = %d, want 1", got)
	}
	// The same hash twice in one batch must not block on the one-slot channel.
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tr.Notify([]TxOutcome{{Hash: docHash(2), Height: 1}, {Hash: docHash(2), Height: 2}})
	}()
	select {
	case <-finished:
	case <-time.After(waitLimit):
		t.Fatal("Notify blocked")
	}
	if o := receive(t, ch); o.Height != 1 {
		t.Errorf("got %+v, want the first outcome", o)
	}
}

// TestTrackerConcurrent mixes waiting, leaving and notifying; run it with -race.
func TestTrackerConcurrent(t *testing.T) {
	tr := NewTracker()
	const workers, rounds = 8, 200
	var wg sync.WaitGroup
	stop := make(chan struct{})
	var notifier sync.WaitGroup
	notifier.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			tr.Notify([]TxOutcome{{Hash: docHash(i % 10)}, {Hash: docHash(i%10 + 1)}})
			_ = tr.Waiting()
		}
	})
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				ch, cancel := tr.wait(docHash((w + i) % 12))
				if i%3 == 0 {
					select {
					case <-ch:
					case <-time.After(time.Millisecond):
					}
				}
				cancel()
			}
		})
	}
	wg.Wait()
	close(stop)
	notifier.Wait()
	if got := tr.Waiting(); got != 0 {
		t.Errorf("Waiting() = %d after everyone left", got)
	}
}
