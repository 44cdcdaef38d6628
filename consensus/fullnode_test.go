package consensus

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	"github.com/cometbft/cometbft/crypto/ed25519"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
)

// TestFullNode: a full node's home has no validator key; the node runs with a signer that refuses to
// sign and reports no validator address; a full node whose home holds a validator key does not start,
// nor can InitHome make a full node's home where a key is.
func TestFullNode(t *testing.T) {
	home := t.TempDir()
	opts := InitOptions{Moniker: "replica", P2PAddr: "tcp://127.0.0.1:0", FullNode: true}
	pub, err := InitHome(home, opts)
	if err != nil || pub != nil {
		t.Fatalf("InitHome of a full node: %v, %v; want no key", pub, err)
	}
	keyFile := filepath.Join(home, "config", "priv_validator_key.json")
	if _, err := os.Stat(keyFile); !os.IsNotExist(err) {
		t.Fatalf("a full node's home holds %s (%v)", keyFile, err)
	}
	other := ed25519.GenPrivKey().PubKey()
	if err := WriteGenesis(home, "siegel-test", time.Now(), []Validator{{Name: "v", PubKey: other, Power: 10}}, []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	c, err := LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.DiscardHandler)
	n, err := New(context.Background(), c, abci.NewBaseApplication(), Options{Logger: logger, CometLogLevel: slog.LevelError, FullNode: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := n.Start(); err != nil {
		t.Fatal(err)
	}
	if st := n.Status(); st.ValidatorAddress != "" || st.ChainID != "siegel-test" {
		t.Errorf("full node status: %+v; want chain siegel-test and no validator address", st)
	}
	pv := n.n.PrivValidator()
	pk, err := pv.GetPubKey()
	if err != nil || pk.Equals(other) {
		t.Errorf("full node's signer key %v (%v)", pk, err)
	}
	if err := pv.SignVote("siegel-test", &cmtproto.Vote{Type: cmtproto.PrecommitType, Height: 1}); !errors.Is(err, errFullNodeSigns) {
		t.Errorf("full node signed a vote: %v", err)
	}
	if err := pv.SignProposal("siegel-test", &cmtproto.Proposal{Type: cmtproto.ProposalType, Height: 1}); !errors.Is(err, errFullNodeSigns) {
		t.Errorf("full node signed a proposal: %v", err)
	}
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(keyFile); !os.IsNotExist(err) {
		t.Fatalf("running a full node wrote %s (%v)", keyFile, err)
	}

	// A validator key appears in the home (say, copied from a validator): the full node refuses it.
	valHome := t.TempDir()
	if _, err := InitHome(valHome, InitOptions{}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(valHome, "config", "priv_validator_key.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := New(context.Background(), c, abci.NewBaseApplication(), Options{Logger: logger, FullNode: true}); !errors.Is(err, ErrValidatorKeyOnFullNode) {
		t.Fatalf("New of a full node with a validator key: %v, want ErrValidatorKeyOnFullNode", err)
	}
	if _, err := InitHome(home, opts); !errors.Is(err, ErrValidatorKeyOnFullNode) {
		t.Fatalf("InitHome of a full node where a validator key is: %v, want ErrValidatorKeyOnFullNode", err)
	}
}

// TestRemoteSignerRefused: with priv_validator_laddr set in config.toml (a remote signer), New refuses
// a full node (CometBFT would sign with the remote signer instead of the one that never signs) and a
// validator (Siegel does not support remote signers), before CometBFT listens for the signer.
func TestRemoteSignerRefused(t *testing.T) {
	logger := slog.New(slog.DiscardHandler)
	for _, full := range []bool{true, false} {
		home := t.TempDir()
		if _, err := InitHome(home, InitOptions{P2PAddr: "tcp://127.0.0.1:0", FullNode: full}); err != nil {
			t.Fatal(err)
		}
		if err := WriteGenesis(home, "siegel-test", time.Now(), []Validator{{Name: "v", PubKey: ed25519.GenPrivKey().PubKey(), Power: 10}}, []byte(`{}`)); err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(home, "config", "config.toml")
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		const unset = `priv_validator_laddr = ""`
		if !bytes.Contains(b, []byte(unset)) {
			t.Fatalf("config.toml has no %s", unset)
		}
		if err := os.WriteFile(file, bytes.Replace(b, []byte(unset), []byte(`priv_validator_laddr = "tcp://127.0.0.1:26659"`), 1), 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := LoadConfig(home)
		if err != nil {
			t.Fatal(err)
		}
		if c.PrivValidatorListenAddr != "tcp://127.0.0.1:26659" {
			t.Fatalf("LoadConfig did not read priv_validator_laddr: %q", c.PrivValidatorListenAddr)
		}
		n, err := New(context.Background(), c, abci.NewBaseApplication(), Options{Logger: logger, FullNode: full})
		if !errors.Is(err, ErrRemoteSigner) {
			if n != nil {
				_ = n.Stop()
			}
			t.Fatalf("full node %v with priv_validator_laddr: New returned %v, want ErrRemoteSigner", full, err)
		}
		t.Logf("full node %v: %v", full, err)
	}
}
