package tree_test

import (
	"bytes"
	"cmp"
	"encoding/hex"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/siegel-notary/siegel/receipt"
	"github.com/siegel-notary/siegel/store/tree"
)

// randPath returns a random valid path.
func randPath(r *rand.Rand) tree.Path {
	p := tree.Path{Depth: uint16(r.IntN(receipt.MaxMapDepth + 1))}
	k := randKey(r)
	for i := range int(p.Depth) {
		if receipt.MapKeyBit(k, i) == 1 {
			p.Bits[i/8] |= 0x80 >> (i % 8)
		}
	}
	return p
}

func TestPathKey(t *testing.T) {
	if got := hex.EncodeToString(tree.Path{}.Key()); got != "0000" {
		t.Errorf("root Key = %s, want 0000", got)
	}
	p := tree.Path{Depth: 9}
	p.Bits[0], p.Bits[1] = 0xab, 0x80
	if got := hex.EncodeToString(p.Key()); got != "0009ab80" {
		t.Errorf("Key = %s, want 0009ab80", got)
	}
	r := rand.New(rand.NewPCG(3, 4))
	paths := []tree.Path{{}, {Depth: 256}}
	for range 2000 {
		paths = append(paths, randPath(r))
	}
	for _, p := range paths {
		b := p.Key()
		if len(b) != 2+(int(p.Depth)+7)/8 {
			t.Fatalf("Key(%+v) is %d bytes", p, len(b))
		}
		if !bytes.Equal(p.AppendKey([]byte("x")), append([]byte("x"), b...)) {
			t.Fatalf("AppendKey differs from Key")
		}
		if q, err := tree.ParsePath(b); err != nil || q != p {
			t.Fatalf("ParsePath(Key(%+v)) = %+v, %v", p, q, err)
		}
	}
	// Byte order is the order of (Depth, Bits).
	byKey := slices.Clone(paths)
	slices.SortFunc(byKey, func(a, b tree.Path) int { return bytes.Compare(a.Key(), b.Key()) })
	byField := slices.Clone(paths)
	slices.SortFunc(byField, func(a, b tree.Path) int {
		return cmp.Or(cmp.Compare(a.Depth, b.Depth), bytes.Compare(a.Bits[:], b.Bits[:]))
	})
	if !slices.Equal(byKey, byField) {
		t.Errorf("Key order differs from (Depth, Bits) order")
	}
	for name, s := range map[string]string{
		"empty":           "",
		"one byte":        "00",
		"depth 257":       "0101" + "00000000000000000000000000000000000000000000000000000000000000000000",
		"short":           "0009ab",
		"long":            "0009ab8000",
		"bit past depth":  "0009abc0",
		"bits at depth 0": "000000",
		"depth 1 bit 1":   "000140",
	} {
		b, _ := hex.DecodeString(s)
		if p, err := tree.ParsePath(b); !errors.Is(err, tree.ErrMalformedNode) {
			t.Errorf("%s: ParsePath(%s) = %+v, %v; want ErrMalformedNode", name, s, p, err)
		}
	}
}

func TestNodeEncoding(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	k, v := randKey(r), randKey(r)
	leaf := tree.Node{Leaf: true, Key: k, Value: v}
	inner := tree.Node{Left: k, Right: v}
	half := tree.Node{Right: v}
	for _, n := range []tree.Node{leaf, inner, half, {Left: k}} {
		b := n.Encode()
		if got, err := tree.DecodeNode(b); err != nil || got != n {
			t.Errorf("DecodeNode(Encode(%+v)) = %+v, %v", n, got, err)
		}
	}
	if got := leaf.Encode(); got[0] != 0 || !bytes.Equal(got[1:33], k[:]) || !bytes.Equal(got[33:], v[:]) {
		t.Errorf("leaf Encode = %x", got)
	}
	if leaf.Hash() != receipt.MapLeafHash(k, v) || inner.Hash() != receipt.MapNodeHash(k, v) {
		t.Errorf("Hash differs from receipt's")
	}
	for name, b := range map[string][]byte{
		"empty":          nil,
		"short":          leaf.Encode()[:64],
		"long":           append(leaf.Encode(), 0),
		"tag 2":          append([]byte{2}, make([]byte, 64)...),
		"empty internal": append([]byte{1}, make([]byte, 64)...),
	} {
		if n, err := tree.DecodeNode(b); !errors.Is(err, tree.ErrMalformedNode) {
			t.Errorf("%s: DecodeNode = %+v, %v; want ErrMalformedNode", name, n, err)
		}
	}
}

// TestCorrupt checks that Update and Prove report a stored tree that is not one, rather than trusting it.
func TestCorrupt(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	good := mem{}
	var keys [][32]byte
	for range 50 {
		keys = append(keys, randKey(r))
		good.update(t, []tree.KV{{Key: keys[len(keys)-1], Value: randKey(r)}})
	}
	// Find a child leaf of an internal node, to remove or misplace it.
	var leafPath tree.Path
	for p, n := range good {
		if n.Leaf && p.Depth > 0 {
			leafPath = p
			break
		}
	}
	leafKey := good[leafPath].Key
	for name, damage := range map[string]func(m mem){
		"missing child": func(m mem) { delete(m, leafPath) },
		"leaf off its path": func(m mem) {
			n := m[leafPath]
			n.Key[0] ^= 0x80 // bit 0 is above every non-root position
			m[leafPath] = n
		},
		"internal at depth 256": func(m mem) {
			clear(m)
			m[tree.Path{}] = tree.Node{Left: leafKey}
			for d := 1; d <= 256; d++ {
				m[tree.Path{Depth: uint16(d)}] = tree.Node{Left: leafKey}
			}
		},
	} {
		m := mem{}
		for p, n := range good {
			m[p] = n
		}
		damage(m)
		var zeroKey [32]byte
		key := leafKey
		if name == "internal at depth 256" {
			key = zeroKey
		}
		if _, err := tree.Prove(m.read, key); !errors.Is(err, tree.ErrCorrupt) {
			t.Errorf("%s: Prove = %v, want ErrCorrupt", name, err)
		}
		if _, _, err := tree.Update(m.read, []tree.KV{{Key: key, Value: randKey(r)}}); !errors.Is(err, tree.ErrCorrupt) {
			t.Errorf("%s: Update = %v, want ErrCorrupt", name, err)
		}
	}
	boom := errors.New("disk on fire")
	failing := func(tree.Path) (tree.Node, bool, error) { return tree.Node{}, false, boom }
	if _, _, err := tree.Update(failing, []tree.KV{{}}); !errors.Is(err, boom) {
		t.Errorf("Update with a failing Read = %v", err)
	}
	if _, err := tree.Prove(failing, [32]byte{}); !errors.Is(err, boom) {
		t.Errorf("Prove with a failing Read = %v", err)
	}
	if _, err := tree.Root(failing); !errors.Is(err, boom) {
		t.Errorf("Root with a failing Read = %v", err)
	}
	// A failure below the root, too.
	below := func(p tree.Path) (tree.Node, bool, error) {
		if p.Depth > 0 {
			return tree.Node{}, false, boom
		}
		return good.read(p)
	}
	if _, _, err := tree.Update(below, []tree.KV{{Key: keys[0]}}); !errors.Is(err, boom) {
		t.Errorf("Update with a failing Read below the root = %v", err)
	}
	if _, err := tree.Prove(below, keys[0]); !errors.Is(err, boom) {
		t.Errorf("Prove with a failing Read below the root = %v", err)
	}
}
