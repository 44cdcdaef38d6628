package consensus

import (
	"errors"
	"sync"

	"github.com/cockroachdb/pebble"
	dbm "github.com/cometbft/cometbft-db"
)

// errDBClosed is what writes to a CometBFT database return once the node has closed it.
var errDBClosed = errors.New("consensus: database closed (node stopped)")

// guardedDB wraps one of CometBFT's databases so that a call arriving after Close finds an empty
// database instead of crashing the process.
//
// CometBFT v0.40's node closes its block and state stores right after stopping the switch, but some
// reactor goroutines are not waited for: the consensus reactor's queryMaj23Routine sleeps 2 s
// (peer_query_maj23_sleep_duration) in the middle of an iteration and then calls LoadCommit without
// checking whether it has been stopped. Pebble panics on any call to a closed database ("pebble:
// closed"), and that panic took down a whole process (a test binary in CI; a node that restores a
// backup in the same process would go the same way). The guard makes Close wait for calls in flight and
// answers later ones as if the database were empty: reads find nothing, iterators are exhausted,
// writes fail with errDBClosed. Nothing a stopped node reads or writes any more is committed data: every
// service that writes has stopped before the node closes its databases.
type guardedDB struct {
	db     dbm.DB
	mu     sync.RWMutex
	closed bool
}

func guardDB(db dbm.DB) *guardedDB { return &guardedDB{db: db} }

// open takes the read lock and reports whether the database is still open; the caller unlocks.
func (g *guardedDB) open() bool {
	g.mu.RLock()
	return !g.closed
}

func (g *guardedDB) Get(key []byte) ([]byte, error) {
	defer g.mu.RUnlock()
	if !g.open() {
		return nil, nil
	}
	return g.db.Get(key)
}

func (g *guardedDB) Has(key []byte) (bool, error) {
	defer g.mu.RUnlock()
	if !g.open() {
		return false, nil
	}
	return g.db.Has(key)
}

func (g *guardedDB) write(f func() error) error {
	defer g.mu.RUnlock()
	if !g.open() {
		return errDBClosed
	}
	return f()
}

func (g *guardedDB) Set(k, v []byte) error { return g.write(func() error { return g.db.Set(k, v) }) }
func (g *guardedDB) SetSync(k, v []byte) error {
	return g.write(func() error { return g.db.SetSync(k, v) })
}
func (g *guardedDB) Delete(k []byte) error { return g.write(func() error { return g.db.Delete(k) }) }
func (g *guardedDB) DeleteSync(k []byte) error {
	return g.write(func() error { return g.db.DeleteSync(k) })
}
func (g *guardedDB) Compact(start, end []byte) error {
	return g.write(func() error { return g.db.Compact(start, end) })
}

func (g *guardedDB) Iterator(start, end []byte) (dbm.Iterator, error) {
	return g.iterator(start, end, g.db.Iterator)
}

func (g *guardedDB) ReverseIterator(start, end []byte) (dbm.Iterator, error) {
	return g.iterator(start, end, g.db.ReverseIterator)
}

func (g *guardedDB) iterator(start, end []byte, open func(start, end []byte) (dbm.Iterator, error)) (dbm.Iterator, error) {
	defer g.mu.RUnlock()
	if !g.open() {
		return &guardedIterator{g: g, start: start, end: end}, nil
	}
	it, err := open(start, end)
	if err != nil {
		return nil, err
	}
	return &guardedIterator{g: g, it: it, start: start, end: end}, nil
}

// Close waits for calls in flight, then closes the database; later calls see an empty database.
func (g *guardedDB) Close() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return nil
	}
	g.closed = true
	return g.db.Close()
}

func (g *guardedDB) NewBatch() dbm.Batch { return &guardedBatch{g: g, b: g.db.NewBatch()} }

func (g *guardedDB) Print() error {
	defer g.mu.RUnlock()
	if !g.open() {
		return nil
	}
	return g.db.Print()
}

func (g *guardedDB) Stats() map[string]string {
	defer g.mu.RUnlock()
	if !g.open() {
		return map[string]string{}
	}
	return g.db.Stats()
}

// DB gives Backup the Pebble database underneath, to checkpoint it; nil when the backend is not Pebble.
// The caller must not use it after the node has stopped.
func (g *guardedDB) DB() *pebble.DB {
	if p, ok := g.db.(interface{ DB() *pebble.DB }); ok {
		return p.DB()
	}
	return nil
}

// guardedBatch fails its writes once the database is closed; building it touches only memory.
type guardedBatch struct {
	g *guardedDB
	b dbm.Batch
}

func (b *guardedBatch) Set(k, v []byte) error { return b.b.Set(k, v) }
func (b *guardedBatch) Delete(k []byte) error { return b.b.Delete(k) }
func (b *guardedBatch) Write() error          { return b.g.write(b.b.Write) }
func (b *guardedBatch) WriteSync() error      { return b.g.write(b.b.WriteSync) }
func (b *guardedBatch) Close() error          { return b.b.Close() }

// guardedIterator is exhausted once the database is closed (or when it was opened after that).
type guardedIterator struct {
	g          *guardedDB
	it         dbm.Iterator // nil: opened after Close
	start, end []byte
}

func (i *guardedIterator) Domain() ([]byte, []byte) { return i.start, i.end }

func (i *guardedIterator) Valid() bool {
	defer i.g.mu.RUnlock()
	return i.g.open() && i.it != nil && i.it.Valid()
}

func (i *guardedIterator) Next() {
	defer i.g.mu.RUnlock()
	if i.g.open() && i.it != nil {
		i.it.Next()
	}
}

func (i *guardedIterator) Key() []byte {
	defer i.g.mu.RUnlock()
	if !i.g.open() || i.it == nil {
		return nil
	}
	return i.it.Key()
}

func (i *guardedIterator) Value() []byte {
	defer i.g.mu.RUnlock()
	if !i.g.open() || i.it == nil {
		return nil
	}
	return i.it.Value()
}

func (i *guardedIterator) Error() error {
	defer i.g.mu.RUnlock()
	if !i.g.open() || i.it == nil {
		return nil
	}
	return i.it.Error()
}

func (i *guardedIterator) Close() error {
	defer i.g.mu.RUnlock()
	if !i.g.open() || i.it == nil {
		return nil // Pebble released the iterator's resources when the database closed
	}
	return i.it.Close()
}
