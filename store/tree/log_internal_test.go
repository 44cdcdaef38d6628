package tree

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/transparency-dev/merkle/rfc6962"
)

// TestHashChildren holds the log's hash of two children to the library's, also for inputs that are not
// 32 bytes long (where it defers to the library).
func TestHashChildren(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	for _, n := range []struct{ l, r int }{{32, 32}, {32, 32}, {32, 32}, {0, 32}, {31, 33}, {64, 0}} {
		l, r := make([]byte, n.l), make([]byte, n.r)
		for i := range l {
			l[i] = byte(rng.Uint32())
		}
		for i := range r {
			r[i] = byte(rng.Uint32())
		}
		if got, want := hashChildren(l, r), rfc6962.DefaultHasher.HashChildren(l, r); !bytes.Equal(got, want) {
			t.Fatalf("hashChildren(%d, %d bytes) = %x, library %x", n.l, n.r, got, want)
		}
	}
}
