package consensus

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/cometbft/cometbft/crypto/ed25519"
	"github.com/cometbft/cometbft/types"
)

// The genesis bounds blocks (MaxBlockBytes) and enables vote extensions from the first block.
func TestWriteGenesisParams(t *testing.T) {
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, "config"), 0o700); err != nil {
		t.Fatal(err)
	}
	vals := []Validator{{Name: "v0", PubKey: ed25519.GenPrivKey().PubKey(), Power: 10}}
	if err := WriteGenesis(home, "params-test", time.Unix(1, 0), vals, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	doc, err := types.GenesisDocFromFile(filepath.Join(home, "config", "genesis.json"))
	if err != nil {
		t.Fatal(err)
	}
	if got := doc.ConsensusParams.Block.MaxBytes; got != MaxBlockBytes {
		t.Errorf("block.max_bytes = %d, want %d", got, MaxBlockBytes)
	}
	if got := doc.ConsensusParams.ABCI.VoteExtensionsEnableHeight; got != 1 {
		t.Errorf("vote extensions from height %d, want 1", got)
	}
}

// A new home allows PeerRate on each peer connection, both ways.
func TestInitHomePeerRate(t *testing.T) {
	home := t.TempDir()
	if _, err := InitHome(home, InitOptions{Moniker: "rate"}); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(home) // as the node reads it
	if err != nil {
		t.Fatal(err)
	}
	if c.P2P.SendRate != PeerRate || c.P2P.RecvRate != PeerRate {
		t.Errorf("send_rate %d, recv_rate %d; want %d both", c.P2P.SendRate, c.P2P.RecvRate, PeerRate)
	}
}
