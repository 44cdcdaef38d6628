package api

import "sync"

// Tracker lets submissions wait for their transaction to be committed. The node calls Notify after
// each commit; handlers call wait before submitting.
type Tracker struct {
	mu      sync.Mutex
	waiters map[[32]byte][]chan TxOutcome
}

// NewTracker returns an empty tracker.
func NewTracker() *Tracker { return &Tracker{waiters: map[[32]byte][]chan TxOutcome{}} }

// Notify reports committed transactions to whoever waits for them. It never blocks.
func (t *Tracker) Notify(txs []TxOutcome) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.waiters) == 0 {
		return
	}
	for _, o := range txs {
		for _, ch := range t.waiters[o.Hash] {
			ch <- o // buffered, one send per channel
		}
		delete(t.waiters, o.Hash)
	}
}

// wait registers interest in a transaction; cancel must be called when the caller stops waiting.
func (t *Tracker) wait(h [32]byte) (ch <-chan TxOutcome, cancel func()) {
	c := make(chan TxOutcome, 1)
	t.mu.Lock()
	t.waiters[h] = append(t.waiters[h], c)
	t.mu.Unlock()
	return c, func() {
		t.mu.Lock()
		defer t.mu.Unlock()
		ws := t.waiters[h]
		for i, w := range ws {
			if w == c {
				ws = append(ws[:i], ws[i+1:]...)
				break
			}
		}
		if len(ws) == 0 {
			delete(t.waiters, h)
		} else {
			t.waiters[h] = ws
		}
	}
}

// Waiting returns how many transactions someone is waiting for.
func (t *Tracker) Waiting() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.waiters)
}
