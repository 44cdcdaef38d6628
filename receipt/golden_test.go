package receipt_test

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siegel-notary/siegel/receipt"
	"github.com/siegel-notary/siegel/store/tree"
)

// The golden receipts in testdata/receipts are made by the chains simulated in this file: real map and
// log proofs from package store/tree, checkpoints signed with ed25519 over the bytes CometBFT signs for a
// vote extension, validators of equal power, fixed keys and fixed times, so that every run writes the
// same bytes. For each receipt the directory holds
//
//	<name>.json          the receipt file, as json.MarshalIndent writes a *receipt.Receipt
//	<name>.compact.hex   its compact form (EncodeCompact), in hex
//
// next to the trust roots genesis-<n>.json (CometBFT genesis files that TrustRootFromGenesis reads) and
// manifest.json, which says which receipt verifies under which genesis and what it proves. The chains:
//
//	siegel-golden-4   4 validators; 100 documents a block at heights 1-10, 20 at 11-13. The checkpoint
//	                  of height 10 hands over to a set of 5 (three of the four and two new ones), that
//	                  of height 12 to a set of 7: receipts at 11 and 13 carry one and two transitions.
//	siegel-golden-7   7 validators; 100 documents a block at heights 1-10.
//	siegel-golden-16  16 validators; 100 documents a block at heights 1-10.
//	siegel-golden-revoke
//	                  the 4 validators of siegel-golden-4; 30 documents a block at heights 1-6, and
//	                  revocations: at height 3 of document 10 (superseded by document 70), at height 4 of
//	                  document 41 (withdrawn), at height 5 of document 100 (key compromised). Its receipts,
//	                  revoked and anchored, are listed in manifest-revoked.json, so that manifest.json and
//	                  the files of the other chains stay as they were before revocations existed.
//
// Each checkpoint is signed by the smallest quorum (3 of 4, 4 of 5, 5 of 7, 11 of 16), in round 1 at
// heights divisible by 3 and round 0 otherwise. To rewrite the files after a deliberate format change:
//
//	go test -tags pebbledb ./receipt -run TestGoldenReceipts -update
const goldenDir = "testdata/receipts"

var goldenGenesisTime = time.Date(2025, time.March, 3, 8, 0, 0, 0, time.UTC)

// goldenKey returns the fixed ed25519 key of a named participant.
func goldenKey(name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte("siegel golden key\n" + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

func goldenPub(k ed25519.PrivateKey) (p [32]byte) {
	copy(p[:], k.Public().(ed25519.PublicKey))
	return p
}

const goldenPower = 10

// goldenValidators is a validator set of equal power with its keys.
type goldenValidators struct {
	names []string             // in the order of the genesis file
	set   receipt.ValidatorSet // canonical
	keys  []ed25519.PrivateKey // keys[i] signs for set[i]
}

func newGoldenValidators(names ...string) *goldenValidators {
	v := &goldenValidators{names: names}
	byKey := map[[32]byte]ed25519.PrivateKey{}
	for _, n := range names {
		k := goldenKey(n)
		byKey[goldenPub(k)] = k
		v.set = append(v.set, receipt.Validator{PubKey: goldenPub(k), Power: goldenPower})
	}
	v.set = v.set.Canonical()
	for _, x := range v.set {
		v.keys = append(v.keys, byKey[x.PubKey])
	}
	return v
}

func validatorNames(ids ...int) []string {
	var out []string
	for _, i := range ids {
		out = append(out, fmt.Sprintf("validator-%d", i))
	}
	return out
}

func seq(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

// quorum is the smallest number of validators of equal power whose power exceeds 2/3 of the total.
func (v *goldenValidators) quorum() int { return 2*len(v.set)/3 + 1 }

// signers returns the validators that sign the checkpoint of height: a smallest quorum, starting at
// position height mod n, in ascending order.
func (v *goldenValidators) signers(height uint64) []int {
	n := len(v.set)
	var idx []int
	for i := range v.quorum() {
		idx = append(idx, (int(height)+i)%n)
	}
	sort.Ints(idx)
	return idx
}

// goldenSign signs c in round with key, as CometBFT signs a precommit's vote extension.
func goldenSign(key ed25519.PrivateKey, c *receipt.Checkpoint, round int32) (s [64]byte) {
	h := c.Hash()
	copy(s[:], ed25519.Sign(key, receipt.ExtensionSignBytes(c.ChainID, int64(c.Height), int64(round), h[:])))
	return s
}

func (v *goldenValidators) sign(c *receipt.Checkpoint, round int32, idx []int) receipt.Signatures {
	s := receipt.Signatures{Round: round}
	for _, i := range idx {
		s.Sigs = append(s.Sigs, receipt.Sig{Validator: uint16(i), Signature: goldenSign(v.keys[i], c, round)})
	}
	return s
}

// genesis returns a CometBFT genesis file naming the set.
func (v *goldenValidators) genesis(chainID string) []byte {
	type pubKey struct {
		Type  string `json:"type"`
		Value string `json:"value"`
	}
	type validator struct {
		Address string `json:"address"`
		PubKey  pubKey `json:"pub_key"`
		Power   string `json:"power"`
		Name    string `json:"name"`
	}
	g := struct {
		GenesisTime   time.Time   `json:"genesis_time"`
		ChainID       string      `json:"chain_id"`
		InitialHeight string      `json:"initial_height"`
		Validators    []validator `json:"validators"`
		AppHash       string      `json:"app_hash"`
	}{GenesisTime: goldenGenesisTime, ChainID: chainID, InitialHeight: "1"}
	for _, n := range v.names {
		pub := goldenPub(goldenKey(n))
		addr := sha256.Sum256(pub[:])
		g.Validators = append(g.Validators, validator{
			Address: strings.ToUpper(hex.EncodeToString(addr[:20])),
			PubKey:  pubKey{Type: "tendermint/PubKeyEd25519", Value: base64.StdEncoding.EncodeToString(pub[:])},
			Power:   fmt.Sprint(goldenPower),
			Name:    n,
		})
	}
	b, err := json.MarshalIndent(g, "", "  ")
	if err != nil {
		panic(err)
	}
	return append(b, '\n')
}

// goldenMap is an in-memory store of map nodes.
type goldenMap map[tree.Path]tree.Node

func (m goldenMap) read(p tree.Path) (tree.Node, bool, error) {
	n, ok := m[p]
	return n, ok, nil
}

type goldenLogNode struct {
	level uint8
	index uint64
}

type goldenAnchor struct {
	rec   receipt.Record
	index uint64 // in the log
}

// goldenRevoke is a revocation the next block of a golden chain makes.
type goldenRevoke struct {
	doc       [32]byte
	reason    uint8
	successor *[32]byte
}

// goldenChain is the authenticated state of a simulated chain at every height.
type goldenChain struct {
	chainID  string
	genesis  *goldenValidators
	next     *goldenValidators // the set that signs the next block
	height   uint64
	docs     int // documents anchored so far
	state    goldenMap
	maps     map[uint64]goldenMap // the map as of each height
	log      tree.LogState
	logNodes map[goldenLogNode][32]byte
	anchors  map[[32]byte]goldenAnchor
	// revoke are the revocations of the next block; revocations those made so far, by document.
	revoke      []goldenRevoke
	revocations map[[32]byte]receipt.Revocation
	vals        map[uint64]*goldenValidators // the set that signs each height
	cps         map[uint64]receipt.Checkpoint
	sigs        map[uint64]receipt.Signatures
}

func newGoldenChain(chainID string, genesis *goldenValidators) *goldenChain {
	return &goldenChain{chainID: chainID, genesis: genesis, next: genesis, state: goldenMap{},
		maps: map[uint64]goldenMap{}, logNodes: map[goldenLogNode][32]byte{}, anchors: map[[32]byte]goldenAnchor{},
		revocations: map[[32]byte]receipt.Revocation{},
		vals:        map[uint64]*goldenValidators{}, cps: map[uint64]receipt.Checkpoint{}, sigs: map[uint64]receipt.Signatures{}}
}

// goldenDoc is the hash of the d-th document anchored (the same on every chain).
func goldenDoc(d int) [32]byte {
	return sha256.Sum256(fmt.Appendf(nil, "siegel golden document %d", d))
}

// goldenAbsent is the hash of the i-th candidate for a document that is never anchored.
func goldenAbsent(i int) [32]byte {
	return sha256.Sum256(fmt.Appendf(nil, "siegel golden absent document %d", i))
}

var goldenAgencies = []string{"notary-berlin-3", "notary-hamburg-1", "registry-muenchen"}

func goldenBlockTime(h uint64) time.Time {
	return goldenGenesisTime.Add(time.Duration(h)*6*time.Second + time.Duration(h)*123_456_789)
}

// block commits a block anchoring n new documents, ten to a transaction; next is the set that signs
// the following block.
func (c *goldenChain) block(n int, next *goldenValidators) {
	c.height++
	h, now := c.height, goldenBlockTime(c.height)
	signing := c.next
	var leaves [][32]byte
	var kvs []tree.KV
	for j := range n {
		d := c.docs
		c.docs++
		a := d % len(goldenAgencies)
		rec := receipt.Record{
			DocHash: goldenDoc(d),
			Agency:  goldenAgencies[a],
			Signer:  goldenPub(goldenKey(goldenAgencies[a])),
			Height:  h,
			Time:    now,
			TxHash:  sha256.Sum256(fmt.Appendf(nil, "siegel golden tx %d/%d", h, j/10)),
			TxIndex: uint32(j / 10),
			Entry:   uint32(j % 10),
		}
		if d%4 == 1 {
			m := sha256.Sum256(fmt.Appendf(nil, "siegel golden metadata %d", d))
			rec.MetaDigest = &m
		}
		index := c.log.Size + uint64(len(leaves))
		c.anchors[rec.DocHash] = goldenAnchor{rec: rec, index: index}
		leaves = append(leaves, receipt.LogLeafHash(receipt.AnchorEvent(&rec)))
		kvs = append(kvs, tree.KV{Key: rec.DocHash, Value: receipt.MapValue(&rec, receipt.StateAnchored, index, nil)})
	}
	// Revocations follow the anchors, each in its own transaction and signed by the anchoring agency.
	for i, x := range c.revoke {
		a, ok := c.anchors[x.doc]
		if !ok || a.rec.Height >= h {
			panic("golden revocation of a document not anchored in an earlier block")
		}
		if _, ok := c.revocations[x.doc]; ok {
			panic("golden document revoked twice")
		}
		rev := receipt.Revocation{
			Height:    h,
			Time:      now,
			Reason:    x.reason,
			Successor: x.successor,
			Signer:    a.rec.Signer,
			TxHash:    sha256.Sum256(fmt.Appendf(nil, "siegel golden revocation tx %d/%d", h, i)),
			LogIndex:  c.log.Size + uint64(len(leaves)),
		}
		c.revocations[x.doc] = rev
		leaves = append(leaves, receipt.LogLeafHash(receipt.RevocationEvent(x.doc, &rev)))
		kvs = append(kvs, tree.KV{Key: x.doc, Value: receipt.MapValue(&a.rec, receipt.StateRevoked, a.index, &rev)})
	}
	c.revoke = nil
	st, logRoot, nodes, err := tree.AppendLog(c.log, leaves)
	if err != nil {
		panic(err)
	}
	c.log = st
	for _, x := range nodes {
		c.logNodes[goldenLogNode{x.Level, x.Index}] = x.Hash
	}
	mapRoot, writes, err := tree.Update(c.state.read, kvs)
	if err != nil {
		panic(err)
	}
	for _, w := range writes {
		c.state[w.Path] = w.Node
	}
	c.maps[h] = maps.Clone(c.state)
	cp := receipt.Checkpoint{ChainID: c.chainID, Height: h, Time: now, LogSize: st.Size, LogRoot: logRoot,
		MapRoot: mapRoot, Validators: signing.set.Hash(), NextValidators: next.set.Hash()}
	var round int32
	if h%3 == 0 {
		round = 1
	}
	c.cps[h], c.sigs[h], c.vals[h] = cp, signing.sign(&cp, round, signing.signers(h)), signing
	c.next = next
}

func (c *goldenChain) readLog(level uint8, index uint64) ([32]byte, error) {
	h, ok := c.logNodes[goldenLogNode{level, index}]
	if !ok {
		return h, fmt.Errorf("no log node (%d, %d)", level, index)
	}
	return h, nil
}

// receipt assembles the receipt for doc against the checkpoint of height, carrying the transitions
// made by the checkpoints of the given heights.
func (c *goldenChain) receipt(doc [32]byte, height uint64, transitions ...uint64) *receipt.Receipt {
	cp := c.cps[height]
	r := &receipt.Receipt{Version: receipt.Version, DocHash: doc, Checkpoint: cp, Signatures: c.sigs[height]}
	var err error
	if r.MapProof, err = tree.Prove(c.maps[height].read, doc); err != nil {
		panic(err)
	}
	if a, ok := c.anchors[doc]; ok && a.rec.Height <= height {
		rec := a.rec
		r.State, r.Record, r.LogIndex = receipt.StateAnchored, &rec, a.index
		if r.LogProof, err = tree.LogInclusion(c.readLog, a.index, cp.LogSize); err != nil {
			panic(err)
		}
		if rev, ok := c.revocations[doc]; ok && rev.Height <= height {
			r.State, r.Revocation = receipt.StateRevoked, &rev
		}
	}
	for _, h := range transitions {
		r.Transitions = append(r.Transitions, receipt.Transition{
			Checkpoint: c.cps[h], Signatures: c.sigs[h], Next: c.vals[h+1].set})
	}
	return r
}

// trust is the trust root of the chain: its genesis set.
func (c *goldenChain) trust() receipt.TrustRoot {
	return receipt.TrustRoot{ChainID: c.chainID, Validators: c.genesis.set}
}

// absent returns the first candidate absent document whose proof at height ends in a terminal of kind.
func (c *goldenChain) absent(height uint64, kind receipt.TerminalKind) [32]byte {
	for i := range 10000 {
		doc := goldenAbsent(i)
		p, err := tree.Prove(c.maps[height].read, doc)
		if err != nil {
			panic(err)
		}
		if p.Terminal.Kind == kind {
			return doc
		}
	}
	panic("no absent document with that terminal")
}

// goldenReceipt is one golden receipt, as manifest.json describes it.
type goldenReceipt struct {
	Name         string `json:"name"`
	Genesis      string `json:"genesis"`
	ChainID      string `json:"chain_id"`
	DocHash      string `json:"doc_hash"`
	State        string `json:"state"`
	Height       uint64 `json:"checkpoint_height"`
	LogSize      uint64 `json:"log_size"`
	MapKeys      int    `json:"map_keys"`
	Validators   int    `json:"validators"`
	Signatures   int    `json:"signatures"`
	Transitions  int    `json:"transitions"`
	JSONBytes    int    `json:"json_bytes"`
	CompactBytes int    `json:"compact_bytes"`
	// Set for revoked receipts only (and absent from manifest.json).
	RevokedAt uint64 `json:"revoked_at,omitempty"`
	Reason    uint8  `json:"reason,omitempty"`
	Successor string `json:"successor,omitempty"`

	r     *receipt.Receipt
	chain *goldenChain
}

// goldenData is everything the golden files are made of.
type goldenData struct {
	chains   map[string]*goldenChain // by chain ID
	receipts []*goldenReceipt        // of the chains without revocations, in manifest.json
	// revoked are the receipts of siegel-golden-revoke, in manifest-revoked.json.
	revoked []*goldenReceipt
	files   map[string][]byte // by name in goldenDir
}

// all returns every golden receipt.
func (g *goldenData) all() []*goldenReceipt { return append(slices.Clone(g.receipts), g.revoked...) }

var goldenOnce = sync.OnceValue(buildGolden)

func buildGolden() *goldenData {
	v4 := newGoldenValidators(validatorNames(seq(0, 4)...)...)
	v5 := newGoldenValidators(validatorNames(0, 2, 3, 4, 5)...)
	v7b := newGoldenValidators(validatorNames(seq(2, 9)...)...)

	g := &goldenData{chains: map[string]*goldenChain{}, files: map[string][]byte{}}
	newReceipt := func(name, genesis string, c *goldenChain, doc [32]byte, height uint64, transitions ...uint64) *goldenReceipt {
		r := c.receipt(doc, height, transitions...)
		gr := &goldenReceipt{Name: name, Genesis: genesis, ChainID: c.chainID,
			DocHash: hex.EncodeToString(doc[:]), State: r.State.String(), Height: height,
			LogSize: r.Checkpoint.LogSize, MapKeys: c.docsAt(height), Validators: len(c.vals[height].set),
			Signatures: len(r.Signatures.Sigs), Transitions: len(r.Transitions), r: r, chain: c}
		if rv := r.Revocation; rv != nil {
			gr.RevokedAt, gr.Reason = rv.Height, rv.Reason
			if rv.Successor != nil {
				gr.Successor = hex.EncodeToString(rv.Successor[:])
			}
		}
		return gr
	}
	add := func(name, genesis string, c *goldenChain, doc [32]byte, height uint64, transitions ...uint64) {
		g.receipts = append(g.receipts, newReceipt(name, genesis, c, doc, height, transitions...))
	}

	c4 := newGoldenChain("siegel-golden-4", v4)
	for h := 1; h <= 13; h++ {
		n, next := 100, v4
		if h > 10 {
			n = 20
		}
		switch {
		case h == 10 || h == 11:
			next = v5
		case h >= 12:
			next = v7b
		}
		c4.block(n, next)
	}
	g.chains[c4.chainID] = c4
	g.files["genesis-4.json"] = v4.genesis(c4.chainID)
	add("anchored-4", "genesis-4.json", c4, goldenDoc(437), 10)
	add("absent-empty-4", "genesis-4.json", c4, c4.absent(9, receipt.TerminalEmpty), 9)
	add("absent-other-4", "genesis-4.json", c4, c4.absent(9, receipt.TerminalOther), 9)
	add("transition-1", "genesis-4.json", c4, goldenDoc(1005), 11, 10)
	add("transition-2", "genesis-4.json", c4, goldenDoc(1030), 13, 10, 12)

	for _, x := range []struct {
		n    int
		doc  int
		kind receipt.TerminalKind
	}{{7, 0, receipt.TerminalOther}, {16, 999, receipt.TerminalEmpty}} {
		v := newGoldenValidators(validatorNames(seq(0, x.n)...)...)
		c := newGoldenChain(fmt.Sprintf("siegel-golden-%d", x.n), v)
		for range 10 {
			c.block(100, v)
		}
		g.chains[c.chainID] = c
		gen := fmt.Sprintf("genesis-%d.json", x.n)
		g.files[gen] = v.genesis(c.chainID)
		add(fmt.Sprintf("anchored-%d", x.n), gen, c, goldenDoc(x.doc), 10)
		add(fmt.Sprintf("absent-%d", x.n), gen, c, c.absent(9, x.kind), 9)
	}

	cr := newGoldenChain("siegel-golden-revoke", v4)
	for h := 1; h <= 6; h++ {
		switch h {
		case 3:
			successor := goldenDoc(70) // anchored in the same block
			cr.revoke = []goldenRevoke{{doc: goldenDoc(10), reason: 1, successor: &successor}}
		case 4:
			cr.revoke = []goldenRevoke{{doc: goldenDoc(41), reason: 3}}
		case 5:
			cr.revoke = []goldenRevoke{{doc: goldenDoc(100), reason: 4}}
		}
		cr.block(30, v4)
	}
	g.chains[cr.chainID] = cr
	g.files["genesis-revoke-4.json"] = v4.genesis(cr.chainID)
	for _, x := range []struct {
		name   string
		doc    int
		height uint64
	}{
		{"revoked-successor-4", 10, 6},
		{"revoked-4", 41, 5},
		{"anchored-before-revocation-4", 41, 3},
	} {
		g.revoked = append(g.revoked, newReceipt(x.name, "genesis-revoke-4.json", cr, goldenDoc(x.doc), x.height))
	}

	for _, gr := range g.all() {
		j, err := json.MarshalIndent(gr.r, "", "  ")
		if err != nil {
			panic(err)
		}
		j = append(j, '\n')
		compact := gr.r.EncodeCompact()
		g.files[gr.Name+".json"] = j
		g.files[gr.Name+".compact.hex"] = []byte(hex.EncodeToString(compact) + "\n")
		gr.JSONBytes, gr.CompactBytes = len(j), len(compact)
	}
	m, err := json.MarshalIndent(struct {
		Receipts []*goldenReceipt `json:"receipts"`
	}{g.receipts}, "", "  ")
	if err != nil {
		panic(err)
	}
	g.files["manifest.json"] = append(m, '\n')
	m, err = json.MarshalIndent(struct {
		Receipts []*goldenReceipt `json:"receipts"`
	}{g.revoked}, "", "  ")
	if err != nil {
		panic(err)
	}
	g.files["manifest-revoked.json"] = append(m, '\n')
	return g
}

// docsAt is the number of documents anchored up to height.
func (c *goldenChain) docsAt(height uint64) int {
	n := 0
	for _, a := range c.anchors {
		if a.rec.Height <= height {
			n++
		}
	}
	return n
}

// loadGolden reads a golden receipt file and the trust root it verifies under.
func loadGolden(t testing.TB, name string) (*receipt.Receipt, receipt.TrustRoot) {
	t.Helper()
	gr := goldenByName(t, name)
	b, err := os.ReadFile(filepath.Join(goldenDir, name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := receipt.DecodeJSON(b)
	if err != nil {
		t.Fatalf("DecodeJSON(%s.json) = %v", name, err)
	}
	return r, loadTrust(t, gr.Genesis)
}

func loadTrust(t testing.TB, genesis string) receipt.TrustRoot {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(goldenDir, genesis))
	if err != nil {
		t.Fatal(err)
	}
	trust, err := receipt.TrustRootFromGenesis(b)
	if err != nil {
		t.Fatalf("TrustRootFromGenesis(%s) = %v", genesis, err)
	}
	return trust
}

func goldenByName(t testing.TB, name string) *goldenReceipt {
	t.Helper()
	for _, gr := range goldenOnce().all() {
		if gr.Name == name {
			return gr
		}
	}
	t.Fatalf("no golden receipt %q", name)
	return nil
}

// truth checks that res, accepted under trust, states a fact of the golden chain of trust: that the
// checkpoint is one the chain signed and that the document's state at its height is the one claimed.
func (g *goldenData) truth(res receipt.Result, trust receipt.TrustRoot) error {
	c, ok := g.chains[trust.ChainID]
	if !ok || !reflect.DeepEqual(trust.Validators, c.genesis.set) {
		return fmt.Errorf("accepted under a trust root that is no golden chain's")
	}
	cp, ok := c.cps[res.AsOf.Height]
	if !ok || !bytes.Equal(cp.Encode(), res.AsOf.Encode()) || !cp.Time.Equal(res.AsOf.Time) {
		return fmt.Errorf("accepted checkpoint %+v, which the chain did not sign", res.AsOf)
	}
	a, anchored := c.anchors[res.DocHash]
	anchored = anchored && a.rec.Height <= cp.Height
	rev, revoked := c.revocations[res.DocHash]
	revoked = revoked && rev.Height <= cp.Height
	switch {
	case res.State == receipt.StateAnchored && revoked:
		return fmt.Errorf("claims %x anchored at height %d, it was revoked at %d", res.DocHash, cp.Height, rev.Height)
	case res.State == receipt.StateAnchored && res.Revocation != nil:
		return fmt.Errorf("an anchored result carries a revocation")
	case res.State == receipt.StateRevoked && !revoked:
		return fmt.Errorf("claims %x revoked at height %d, it was not", res.DocHash, cp.Height)
	case res.State == receipt.StateRevoked && (res.Record == nil || !bytes.Equal(res.Record.Encode(), a.rec.Encode()) ||
		!res.Record.Time.Equal(a.rec.Time)):
		return fmt.Errorf("claims record %+v for revoked %x, the chain recorded %+v", res.Record, res.DocHash, a.rec)
	case res.State == receipt.StateRevoked && (res.Revocation == nil || !bytes.Equal(res.Revocation.Encode(), rev.Encode()) ||
		!res.Revocation.Time.Equal(rev.Time)):
		return fmt.Errorf("claims revocation %+v for %x, the chain recorded %+v", res.Revocation, res.DocHash, rev)
	case res.State == receipt.StateUnknown && res.Revocation != nil:
		return fmt.Errorf("an absence result carries a revocation")
	case res.State == receipt.StateAnchored && !anchored:
		return fmt.Errorf("claims %x anchored at height %d, it was not", res.DocHash, cp.Height)
	case res.State == receipt.StateAnchored && (res.Record == nil || !bytes.Equal(res.Record.Encode(), a.rec.Encode()) ||
		!res.Record.Time.Equal(a.rec.Time)):
		return fmt.Errorf("claims record %+v for %x, the chain recorded %+v", res.Record, res.DocHash, a.rec)
	case res.State == receipt.StateUnknown && anchored:
		return fmt.Errorf("claims %x absent at height %d, it was anchored at %d", res.DocHash, cp.Height, a.rec.Height)
	case res.State == receipt.StateUnknown && res.Record != nil:
		return fmt.Errorf("an absence result carries a record")
	case res.State != receipt.StateAnchored && res.State != receipt.StateUnknown && res.State != receipt.StateRevoked:
		return fmt.Errorf("state %v", res.State)
	}
	return nil
}

// TestGoldenReceipts checks the files in testdata/receipts against the simulated chains (rewriting them
// under -update), and that each receipt file decodes, verifies with the expected result under its
// genesis file, and converts to the compact form and back without losing a bit.
func TestGoldenReceipts(t *testing.T) {
	g := goldenOnce()
	if *update {
		if err := os.MkdirAll(goldenDir, 0o755); err != nil {
			t.Fatal(err)
		}
		old, err := os.ReadDir(goldenDir)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range old {
			if _, ok := g.files[e.Name()]; !ok {
				if err := os.Remove(filepath.Join(goldenDir, e.Name())); err != nil {
					t.Fatal(err)
				}
			}
		}
		for name, b := range g.files {
			if err := os.WriteFile(filepath.Join(goldenDir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	entries, err := os.ReadDir(goldenDir)
	if err != nil {
		t.Fatalf("reading golden files (run with -update to create them): %v", err)
	}
	var onDisk []string
	for _, e := range entries {
		onDisk = append(onDisk, e.Name())
	}
	if want := slices.Sorted(maps.Keys(g.files)); !slices.Equal(onDisk, want) {
		t.Fatalf("%s holds %q, want %q", goldenDir, onDisk, want)
	}
	for name, want := range g.files {
		got, err := os.ReadFile(filepath.Join(goldenDir, name))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from what the simulated chain gives: the encoding or the chain changed "+
				"(run with -update if that is intended)", name)
		}
	}

	for _, gr := range g.all() {
		t.Run(gr.Name, func(t *testing.T) {
			trust := loadTrust(t, gr.Genesis)
			if !reflect.DeepEqual(trust, gr.chain.trust()) {
				t.Fatalf("TrustRootFromGenesis(%s) = %+v, want %+v", gr.Genesis, trust, gr.chain.trust())
			}
			file, err := os.ReadFile(filepath.Join(goldenDir, gr.Name+".json"))
			if err != nil {
				t.Fatal(err)
			}
			r, err := receipt.DecodeJSON(file)
			if err != nil {
				t.Fatalf("DecodeJSON = %v", err)
			}
			if !reflect.DeepEqual(r, gr.r) {
				t.Fatalf("DecodeJSON(file) = %+v, want the receipt it was written from, %+v", r, gr.r)
			}
			want := receipt.Result{DocHash: gr.r.DocHash, State: gr.r.State, Record: gr.r.Record, Revocation: gr.r.Revocation, AsOf: gr.r.Checkpoint}
			res, err := receipt.Verify(r, trust)
			if err != nil {
				t.Fatalf("Verify = %v", err)
			}
			if !reflect.DeepEqual(res, want) {
				t.Fatalf("Verify = %+v, want %+v", res, want)
			}
			if err := g.truth(res, trust); err != nil {
				t.Fatal(err)
			}
			if res, err := receipt.VerifyProofs(r); err != nil || !reflect.DeepEqual(res, want) {
				t.Fatalf("VerifyProofs = %+v, %v; want %+v", res, err, want)
			}
			wantState := receipt.StateAnchored
			switch {
			case strings.HasPrefix(gr.Name, "absent"):
				wantState = receipt.StateUnknown
			case strings.HasPrefix(gr.Name, "revoked"):
				wantState = receipt.StateRevoked
			}
			if r.State != wantState || (r.Revocation != nil) != (wantState == receipt.StateRevoked) {
				t.Fatalf("state %v, revocation %+v; want %v", r.State, r.Revocation, wantState)
			}
			if len(r.Transitions) != gr.Transitions {
				t.Fatalf("%d transitions, want %d", len(r.Transitions), gr.Transitions)
			}

			// JSON re-encoding is byte-identical, indented or not.
			again, err := json.MarshalIndent(r, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(append(again, '\n'), file) {
				t.Fatalf("MarshalIndent(DecodeJSON(file)) differs from the file")
			}
			flat, err := json.Marshal(r)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := json.Compact(&buf, file); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(flat, buf.Bytes()) {
				t.Fatalf("Marshal(DecodeJSON(file)) differs from the compacted file")
			}

			// The compact form round-trips and is the golden one.
			compact := r.EncodeCompact()
			hexFile, err := os.ReadFile(filepath.Join(goldenDir, gr.Name+".compact.hex"))
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(compact) + "\n"; got != string(hexFile) {
				t.Fatalf("EncodeCompact differs from %s.compact.hex", gr.Name)
			}
			r2, err := receipt.DecodeCompact(compact)
			if err != nil {
				t.Fatalf("DecodeCompact(EncodeCompact(r)) = %v", err)
			}
			if !reflect.DeepEqual(r2, r) {
				t.Fatalf("DecodeCompact(EncodeCompact(r)) = %+v, want %+v", r2, r)
			}
			if !bytes.Equal(r2.EncodeCompact(), compact) {
				t.Fatalf("EncodeCompact(DecodeCompact(b)) != b")
			}
			if j, _ := json.MarshalIndent(r2, "", "  "); !bytes.Equal(append(j, '\n'), file) {
				t.Fatalf("the JSON of the receipt decoded from the compact form differs from the file")
			}
			if res2, err := receipt.Verify(r2, trust); err != nil || !reflect.DeepEqual(res2, want) {
				t.Fatalf("Verify(compact) = %+v, %v; want %+v", res2, err, want)
			}
			t.Logf("%s: %d validators, %d signatures, %d transitions, log size %d, map of %d keys: JSON %d bytes, compact %d bytes",
				gr.Name, gr.Validators, gr.Signatures, gr.Transitions, gr.LogSize, gr.MapKeys, len(file), len(compact))
		})
	}
}

// TestGoldenDeterministic checks that a second simulation gives the same bytes: the golden files do not
// depend on map order or on the clock.
func TestGoldenDeterministic(t *testing.T) {
	a, b := goldenOnce(), buildGolden()
	for name := range a.files {
		if !bytes.Equal(a.files[name], b.files[name]) {
			t.Errorf("%s differs between two simulations", name)
		}
	}
}
