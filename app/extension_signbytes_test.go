package app_test

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/privval"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	cmttypes "github.com/cometbft/cometbft/types"

	"github.com/siegel-notary/siegel/receipt"
)

// Package receipt re-implements the bytes CometBFT signs for a vote extension, so that an offline
// verifier needs no CometBFT. These tests hold the re-implementation to CometBFT's own: the bytes are
// equal for every height, round, extension and chain ID of a table, and a signature that CometBFT's
// file private validator makes on a precommit whose extension is a checkpoint hash verifies under
// receipt.VerifyQuorum.

// TestExtensionSignBytesMatchCometBFT compares receipt.ExtensionSignBytes with
// types.VoteExtensionSignBytes.
func TestExtensionSignBytesMatchCometBFT(t *testing.T) {
	hash := sha256.Sum256([]byte("checkpoint"))
	heights := []int64{0, 1, 2, 10, 127, 128, 255, 256, 1 << 32, 1<<62 + 12345, math.MaxInt64, -1}
	rounds := []int32{0, 1, 2, 127, 128, 1000, math.MaxInt32}
	extensions := map[string][]byte{
		"32-byte hash": hash[:],
		"empty":        {},
		"nil":          nil,
		"1 byte":       {0},
		"127 bytes":    bytes.Repeat([]byte{0xab}, 127),
		"128 bytes":    bytes.Repeat([]byte{0xcd}, 128), // a length of two varint bytes
		"300 bytes":    bytes.Repeat([]byte{0xef}, 300),
	}
	chainIDs := []string{"siegel", "", "siegel-golden-4", "siegel-testnet-é", strings.Repeat("c", 127), strings.Repeat("d", 128), strings.Repeat("e", 255)}
	n := 0
	for _, h := range heights {
		for _, r := range rounds {
			for name, ext := range extensions {
				for _, chainID := range chainIDs {
					vote := &cmtproto.Vote{Type: cmtproto.PrecommitType, Height: h, Round: r, Extension: ext}
					want := cmttypes.VoteExtensionSignBytes(chainID, vote)
					got := receipt.ExtensionSignBytes(chainID, h, int64(r), ext)
					if !bytes.Equal(got, want) {
						t.Fatalf("height %d, round %d, extension %s, chain ID %q:\n got %x\nwant %x", h, r, name, chainID, got, want)
					}
					n++
				}
			}
		}
	}
	t.Logf("%d combinations equal", n)
}

// cometValidators are CometBFT file private validators with their canonical receipt.ValidatorSet.
type cometValidators struct {
	pvs []*privval.FilePV // pvs[i] is set[i]'s
	set receipt.ValidatorSet
}

func newCometValidators(t *testing.T, n int) cometValidators {
	dir := t.TempDir()
	byKey := map[[32]byte]*privval.FilePV{}
	var set receipt.ValidatorSet
	for i := range n {
		key := ed25519.GenPrivKeyFromSecret(fmt.Appendf(nil, "siegel test validator %d", i))
		pv := privval.NewFilePV(key, filepath.Join(dir, fmt.Sprintf("key-%d.json", i)), filepath.Join(dir, fmt.Sprintf("state-%d.json", i)))
		var v receipt.Validator
		copy(v.PubKey[:], key.PubKey().Bytes())
		v.Power = 10
		byKey[v.PubKey] = pv
		set = append(set, v)
	}
	cv := cometValidators{set: set.Canonical()}
	for _, v := range cv.set {
		cv.pvs = append(cv.pvs, byKey[v.PubKey])
	}
	return cv
}

// precommit has validator i precommit a block at height and round with extension, signed by
// CometBFT's FilePV, and returns the vote with its signatures.
func (cv cometValidators) precommit(t *testing.T, i int, chainID string, height int64, round int32, extension []byte) *cmtproto.Vote {
	t.Helper()
	blockHash := sha256.Sum256(fmt.Appendf(nil, "block %d", height))
	partsHash := sha256.Sum256(fmt.Appendf(nil, "parts %d", height))
	vote := &cmtproto.Vote{
		Type:             cmtproto.PrecommitType,
		Height:           height,
		Round:            round,
		BlockID:          cmtproto.BlockID{Hash: blockHash[:], PartSetHeader: cmtproto.PartSetHeader{Total: 1, Hash: partsHash[:]}},
		Timestamp:        time.Date(2025, time.March, 3, 8, 0, 0, 0, time.UTC),
		ValidatorAddress: cv.pvs[i].GetAddress(),
		ValidatorIndex:   int32(i),
		Extension:        extension,
	}
	if err := cv.pvs[i].SignVote(chainID, vote); err != nil {
		t.Fatalf("SignVote: %v", err)
	}
	if len(vote.ExtensionSignature) != 64 {
		t.Fatalf("FilePV made an extension signature of %d bytes", len(vote.ExtensionSignature))
	}
	// CometBFT accepts its own vote.
	v, err := cmttypes.VoteFromProto(vote)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := cv.pvs[i].GetPubKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := v.VerifyVoteAndExtension(chainID, pub); err != nil {
		t.Fatalf("CometBFT rejects the vote its FilePV signed: %v", err)
	}
	return vote
}

// TestCometBFTSignaturesVerify has CometBFT's FilePV sign precommits whose extension is a checkpoint's
// hash, as the validators of a Siegel chain do, and checks them with receipt.VerifyQuorum.
func TestCometBFTSignaturesVerify(t *testing.T) {
	for _, tc := range []struct {
		n      int
		height uint64
		round  int32
	}{
		{4, 1, 0},
		{4, 12345, 0},
		{4, 1 << 40, 3},
		{7, 99, 1},
		{16, 1<<62 + 1, 200},
	} {
		t.Run(fmt.Sprintf("validators=%d/height=%d/round=%d", tc.n, tc.height, tc.round), func(t *testing.T) {
			const chainID = "siegel-cometbft-test"
			cv := newCometValidators(t, tc.n)
			c := receipt.Checkpoint{
				ChainID:        chainID,
				Height:         tc.height,
				Time:           time.Date(2025, time.March, 3, 8, 0, 1, 234567890, time.UTC),
				LogSize:        1000,
				LogRoot:        sha256.Sum256([]byte("log root")),
				MapRoot:        sha256.Sum256([]byte("map root")),
				Validators:     cv.set.Hash(),
				NextValidators: cv.set.Hash(),
			}
			ext := c.Hash()
			sigs := receipt.Signatures{Round: tc.round}
			for i := range cv.set {
				vote := cv.precommit(t, i, chainID, int64(tc.height), tc.round, ext[:])
				s := receipt.Sig{Validator: uint16(i)}
				copy(s.Signature[:], vote.ExtensionSignature)
				sigs.Sigs = append(sigs.Sigs, s)
			}
			if err := receipt.VerifyQuorum(cv.set, &c, sigs); err != nil {
				t.Fatalf("VerifyQuorum(all signatures) = %v", err)
			}
			q := 2*tc.n/3 + 1
			quorum := receipt.Signatures{Round: tc.round, Sigs: sigs.Sigs[tc.n-q:]}
			if err := receipt.VerifyQuorum(cv.set, &c, quorum); err != nil {
				t.Fatalf("VerifyQuorum(%d of %d) = %v", q, tc.n, err)
			}
			short := receipt.Signatures{Round: tc.round, Sigs: sigs.Sigs[:q-1]}
			if err := receipt.VerifyQuorum(cv.set, &c, short); !errors.Is(err, receipt.ErrNoQuorum) {
				t.Fatalf("VerifyQuorum(%d of %d) = %v, want ErrNoQuorum", q-1, tc.n, err)
			}
			// The signatures are for this round, this height, this chain and this checkpoint only.
			other := receipt.Signatures{Round: tc.round + 1, Sigs: sigs.Sigs}
			if err := receipt.VerifyQuorum(cv.set, &c, other); !errors.Is(err, receipt.ErrSignature) {
				t.Fatalf("VerifyQuorum(another round) = %v, want ErrSignature", err)
			}
			for name, change := range map[string]func(*receipt.Checkpoint){
				"height":   func(c *receipt.Checkpoint) { c.Height++ },
				"chain ID": func(c *receipt.Checkpoint) { c.ChainID += "x" },
				"map root": func(c *receipt.Checkpoint) { c.MapRoot[0] ^= 1 },
			} {
				c2 := c
				change(&c2)
				if err := receipt.VerifyQuorum(cv.set, &c2, sigs); !errors.Is(err, receipt.ErrSignature) {
					t.Fatalf("VerifyQuorum(checkpoint with another %s) = %v, want ErrSignature", name, err)
				}
			}
		})
	}
}
