package main

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dbm "github.com/cometbft/cometbft-db"
	cmtlog "github.com/cometbft/cometbft/libs/log"
	"github.com/cometbft/cometbft/light"
	"github.com/cometbft/cometbft/light/provider"
	lhttp "github.com/cometbft/cometbft/light/provider/http"
	lstore "github.com/cometbft/cometbft/light/store/db"

	"github.com/siegel-notary/siegel/api"
	"github.com/siegel-notary/siegel/consensus"
	"github.com/siegel-notary/siegel/receipt"
)

// newTestnet writes an n-validator testnet on free loopback ports and starts every node in-process.
func newTestnet(t *testing.T, n, validators int) (string, *testnetSpec) {
	t.Helper()
	dir := t.TempDir()
	spec, err := initTestnet(dir, freeLayout(t, dir, n), validators, testnetTiming{})
	if err != nil {
		t.Fatal(err)
	}
	for _, nd := range spec.Nodes {
		startNode(t, nd.Home, listenFlags{})
	}
	return dir, spec
}

// freeLayout lays out n testnet nodes in dir on free loopback ports.
func freeLayout(t testing.TB, dir string, n int) []testnetNode {
	t.Helper()
	nodes := testnetLayout(dir, n, 0)
	for i := range nodes {
		nodes[i].P2P, nodes[i].RPC, nodes[i].API = freeAddr(t), freeAddr(t), freeAddr(t)
		nodes[i].Agency, nodes[i].Metrics = freeAddr(t), freeAddr(t)
		nodes[i].Gossip = gossipMultiaddr(freeAddr(t))
	}
	return nodes
}

// waitReceipt fetches the receipt of doc once its checkpoint is signed, and decodes it.
func waitReceipt(t testing.TB, ctx context.Context, c *api.Client, doc [32]byte, minHeight uint64) *receipt.Receipt {
	t.Helper()
	for {
		raw, err := c.Receipt(ctx, doc)
		if err != nil {
			t.Fatalf("receipt: %v", err)
		}
		r, err := receipt.DecodeJSON(raw)
		if err != nil {
			t.Fatalf("decode receipt: %v", err)
		}
		if r.Checkpoint.Height >= minHeight {
			return r
		}
		select {
		case <-ctx.Done():
			t.Fatalf("no receipt as of height %d: %v", minHeight, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// TestReceiptMatchesLightClient runs 4 validators, anchors a document, and checks that the receipt
// served by another node verifies offline from the genesis trust root, and that the checkpoint it
// carries hashes to the app hash that CometBFT's own light client accepts for that height.
func TestReceiptMatchesLightClient(t *testing.T) {
	dir, spec := newTestnet(t, 4, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	key, err := loadKey(filepath.Join(dir, testnetKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	agency := api.NewClient("http://"+spec.Nodes[0].Agency, "http://"+spec.Nodes[1].Agency)
	doc := document{Name: "lc", Hash: sha256.Sum256([]byte("light client"))}
	res, err := anchorDocuments(ctx, agency, key, []document{doc}, 100)
	if err != nil || res[0].Status != api.SubmitCommitted {
		t.Fatalf("anchor: %+v %v", res, err)
	}
	r := waitReceipt(t, ctx, api.NewClient("http://"+spec.Nodes[2].API), doc.Hash, res[0].Height)

	gen, err := os.ReadFile(consensus.GenesisFile(spec.Nodes[3].Home))
	if err != nil {
		t.Fatal(err)
	}
	trust, err := receipt.TrustRootFromGenesis(gen)
	if err != nil {
		t.Fatal(err)
	}
	got, err := receipt.Verify(r, trust)
	if err != nil {
		t.Fatalf("receipt does not verify from genesis: %v", err)
	}
	if got.State != receipt.StateAnchored || got.Record.Height != res[0].Height || got.Record.Agency != testnetAgencyID {
		t.Fatalf("receipt proves %+v, want anchored at %d by %s", got, res[0].Height, testnetAgencyID)
	}
	if n := len(r.Signatures.Sigs); n < 3 {
		t.Fatalf("checkpoint signed by %d of 4 validators", n)
	}

	// CometBFT's light client, trusting the header of height 1 and checking every header from there.
	h := int64(r.Checkpoint.Height) + 1
	primary, err := lhttp.New(spec.ChainID, "http://"+spec.Nodes[0].RPC)
	if err != nil {
		t.Fatal(err)
	}
	witness, err := lhttp.New(spec.ChainID, "http://"+spec.Nodes[1].RPC)
	if err != nil {
		t.Fatal(err)
	}
	first, err := primary.LightBlock(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	lc, err := light.NewClient(ctx, spec.ChainID,
		light.TrustOptions{Period: time.Hour, Height: 1, Hash: first.Hash()},
		primary, []provider.Provider{witness}, lstore.New(dbm.NewMemDB(), spec.ChainID),
		light.SequentialVerification(), light.Logger(cmtlog.NewNopLogger()))
	if err != nil {
		t.Fatal(err)
	}
	for {
		b, err := lc.VerifyLightBlockAtHeight(ctx, h, time.Now())
		if err == nil {
			ch := r.Checkpoint.Hash()
			if string(b.AppHash) != string(ch[:]) {
				t.Fatalf("light client's app hash at height %d is %X, the receipt's checkpoint hashes to %X", h, b.AppHash, ch)
			}
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("light client at height %d: %v", h, err)
		}
		time.Sleep(300 * time.Millisecond) // height h may not be committed yet
	}
}

// `testnet init --timeout-commit` and `--gossip-sleep` write CometBFT's pace into every node's
// config.toml: 500 ms and 10 ms unless given, CometBFT's 1 s and 100 ms for 0; a negative pause, and a
// gossip sleep under a millisecond, are refused.
func TestTestnetInitTiming(t *testing.T) {
	for _, c := range []struct {
		flag          []string
		want          []string
		commit, sleep time.Duration // as the node reads them back
	}{
		{nil, []string{`timeout_commit = "500ms"`, `peer_gossip_sleep_duration = "10ms"`}, 500 * time.Millisecond, 10 * time.Millisecond},
		{[]string{"--timeout-commit", "300ms", "--gossip-sleep", "25ms"}, []string{`timeout_commit = "300ms"`, `peer_gossip_sleep_duration = "25ms"`}, 300 * time.Millisecond, 25 * time.Millisecond},
		{[]string{"--timeout-commit", "0", "--gossip-sleep", "0"}, []string{`timeout_commit = "1s"`, `peer_gossip_sleep_duration = "100ms"`}, time.Second, 100 * time.Millisecond},
	} {
		dir := t.TempDir()
		cmd := newTestnetCmd()
		cmd.SetArgs(append([]string{"init", "--validators", "2", "--dir", dir}, c.flag...))
		cmd.SetOut(io.Discard)
		if err := cmd.Execute(); err != nil {
			t.Fatal(err)
		}
		for i := range 2 {
			b, err := os.ReadFile(filepath.Join(dir, fmt.Sprintf("node%d", i), "config", "config.toml"))
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range c.want {
				if !strings.Contains(string(b), "\n"+w+"\n") {
					t.Errorf("init %v: node%d: config.toml has no line %s", c.flag, i, w)
				}
			}
			// What the node runs with: nothing at load time may override them.
			conf, err := consensus.LoadConfig(filepath.Join(dir, fmt.Sprintf("node%d", i)))
			if err != nil {
				t.Fatal(err)
			}
			if conf.Consensus.TimeoutCommit != c.commit || conf.Consensus.PeerGossipSleepDuration != c.sleep {
				t.Errorf("init %v: node%d loads timeout_commit %v and peer_gossip_sleep_duration %v, want %v and %v",
					c.flag, i, conf.Consensus.TimeoutCommit, conf.Consensus.PeerGossipSleepDuration, c.commit, c.sleep)
			}
		}
	}
	for _, c := range []struct{ flag, want string }{
		{"--timeout-commit=-1s", "must not be negative"},
		{"--gossip-sleep=-1ms", "must be at least 1ms"},
		{"--gossip-sleep=500us", "must be at least 1ms"},
	} {
		cmd := newTestnetCmd()
		cmd.SetArgs([]string{"init", "--validators", "1", "--dir", t.TempDir(), c.flag})
		cmd.SetOut(io.Discard)
		cmd.SetErr(io.Discard)
		if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error saying %q", c.flag, err, c.want)
		}
	}
}
