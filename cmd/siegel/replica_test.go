package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/siegel-notary/siegel/api"
	"github.com/siegel-notary/siegel/app/tx"
	"github.com/siegel-notary/siegel/consensus"
	"github.com/siegel-notary/siegel/receipt"
)

// getBody GETs url and returns the status and body.
func getBody(ctx context.Context, url string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, nil, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

// sameAnswer GETs path from both public APIs and fails unless both answer 200 with the same bytes.
func sameAnswer(t *testing.T, ctx context.Context, validator, replica, path string) []byte {
	t.Helper()
	sv, bv, err := getBody(ctx, validator+path)
	if err != nil || sv != http.StatusOK {
		t.Fatalf("validator GET %s: %d %v %s", path, sv, err, bv)
	}
	sr, br, err := getBody(ctx, replica+path)
	if err != nil || sr != http.StatusOK {
		t.Fatalf("replica GET %s: %d %v %s", path, sr, err, br)
	}
	if !bytes.Equal(bv, br) {
		t.Fatalf("GET %s differs:\nvalidator: %s\nreplica:   %s", path, bv, br)
	}
	return br
}

// sameAsOf GETs path from both public APIs until both answer 200 as of the same checkpoint height, at
// least minHeight (asOf reads it from a body), and fails unless the two bodies are then the same bytes.
// The chain moves on while we ask, so the two answers may straddle a block; then we ask again.
func sameAsOf(t *testing.T, ctx context.Context, validator, replica, path string, minHeight uint64, asOf func([]byte) (uint64, error)) []byte {
	t.Helper()
	for try := 0; ; try++ {
		sr, br, err1 := getBody(ctx, replica+path)
		sv, bv, err2 := getBody(ctx, validator+path)
		if err1 != nil || err2 != nil || (sr != http.StatusOK && sr != http.StatusServiceUnavailable) || sv != http.StatusOK {
			t.Fatalf("GET %s: validator %d %v, replica %d %v (%s)", path, sv, err2, sr, err1, br)
		}
		// Right after a start a node has no signed checkpoint yet and answers 503 (clients retry).
		var hr, hv uint64
		if sr == http.StatusOK {
			hr, err1 = asOf(br)
			hv, err2 = asOf(bv)
			if err1 != nil || err2 != nil {
				t.Fatalf("GET %s: cannot read the checkpoint height: validator %v, replica %v", path, err2, err1)
			}
		}
		if sr == http.StatusOK && hr == hv && hr >= minHeight {
			if !bytes.Equal(bv, br) {
				t.Fatalf("GET %s as of checkpoint %d differs:\nvalidator: %q\nreplica:   %q", path, hv, bv, br)
			}
			return br
		}
		if try == 100 || ctx.Err() != nil {
			t.Fatalf("GET %s: the replica and the validator never answered as of the same checkpoint of height %d or more (last %d and %d)", path, minHeight, hr, hv)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func receiptHeight(b []byte) (uint64, error) {
	r, err := receipt.DecodeJSON(b)
	if err != nil {
		return 0, err
	}
	return r.Checkpoint.Height, nil
}

func compactReceiptHeight(b []byte) (uint64, error) {
	r, err := receipt.DecodeCompact(b)
	if err != nil {
		return 0, err
	}
	return r.Checkpoint.Height, nil
}

func checkpointViewHeight(b []byte) (uint64, error) {
	var v api.CheckpointView
	err := json.Unmarshal(b, &v)
	return v.Checkpoint.Height, err
}

// waitCaughtUp waits until the node behind c has committed height h and no longer catches up.
func waitCaughtUp(t *testing.T, ctx context.Context, c *api.Client, h uint64, within time.Duration) api.Status {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		st, err := c.Status(ctx)
		if err == nil && st.Height >= h && !st.CatchingUp {
			return st
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has not caught up to height %d within %s: %+v %v", c.URLs[0], h, within, st, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestReplicaServesSameAnswers runs 4 validators, anchors documents and revokes some of them, then
// makes a read replica with `siegel init --full-node` from the genesis a validator serves and the
// validators' peer addresses. The replica catches up by block sync; a document anchored through its
// agency API reaches the chain; and for every document (and one never anchored) its public API gives
// the same bytes as a validator's: the lookup, and the receipt in both formats as of the same checkpoint,
// receipts that verify from the genesis. The registry, governance, checkpoint and genesis routes and the
// page agree too. The replica holds no validator key, and CometBFT sees it with no voting power. Then a
// validator-to-be joins with `siegel init --genesis` and governance adds it: it signs checkpoints, and the
// replica, following the change, still serves the validators' receipts byte for byte. Last, a second
// replica starts from a copy of the first one's data directory and catches up from there.
func TestReplicaServesSameAnswers(t *testing.T) {
	dir, spec := newTestnet(t, 4, 4)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	key, err := loadKey(filepath.Join(dir, testnetKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	agency := api.NewClient("http://"+spec.Nodes[0].Agency, "http://"+spec.Nodes[1].Agency)
	validator := "http://" + spec.Nodes[2].API

	// Before the replica exists: a batch of documents, three of them revoked (one with a successor).
	batch := docs("replica", 10)
	res, err := anchorDocuments(ctx, agency, key, batch, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Status != api.SubmitCommitted {
			t.Fatalf("anchor %s: %+v", r.Document, r)
		}
	}
	revoked := map[[32]byte]tx.Reason{batch[0].Hash: tx.ReasonSuperseded, batch[1].Hash: tx.ReasonIssuedInError, batch[2].Hash: tx.ReasonKeyCompromised}
	var wg sync.WaitGroup
	errs := make(chan error, len(revoked))
	for h, reason := range revoked {
		body := &tx.Revoke{Hash: h, Reason: reason}
		if reason == tx.ReasonSuperseded {
			body.Successor = &batch[9].Hash
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, r, err := signedSubmit(ctx, agency, key, body)
			if err == nil && r.Status != api.SubmitCommitted {
				err = fmt.Errorf("%s (%s): %s", r.Status, r.CodeName, r.Message)
			}
			if err != nil {
				errs <- fmt.Errorf("revoke %x: %w", h[:4], err)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	// Documents with metadata: public (the lookup shows it), restricted (it does not), and one whose
	// metadata was never published. The replica gets what it lacks from the gossip's catch-up.
	withMeta := []document{
		{Name: "public metadata", Hash: sha256.Sum256([]byte("replica: public metadata"))},
		{Name: "restricted metadata", Hash: sha256.Sum256([]byte("replica: restricted metadata"))},
		{Name: "unpublished metadata", Hash: sha256.Sum256([]byte("replica: unpublished metadata"))},
	}
	agencyURL := "http://" + spec.Nodes[0].Agency
	mustAnchorWithMeta(t, agencyURL, key, testnetAgencyID, withMeta[0].Hash, tx.Public, true,
		tx.Field{Key: tx.FieldDocType, Value: "diploma"}, tx.Field{Key: tx.FieldTitle, Value: "Zeugnis"})
	mustAnchorWithMeta(t, agencyURL, key, testnetAgencyID, withMeta[1].Hash, tx.Restricted, true, tx.Field{Key: tx.FieldDocType, Value: "diploma"})
	mustAnchorWithMeta(t, agencyURL, key, testnetAgencyID, withMeta[2].Hash, tx.Public, false, tx.Field{Key: tx.FieldDocType, Value: "diploma"})

	// A dozen blocks for the replica to catch up on by block sync.
	top := waitCaughtUp(t, ctx, api.NewClient(validator), 12, 30*time.Second)

	// The replica: genesis fetched from a validator's public API and checked against its hash.
	gen, err := os.ReadFile(consensus.GenesisFile(spec.Nodes[0].Home))
	if err != nil {
		t.Fatal(err)
	}
	var peers, gossip []string
	for _, nd := range spec.Nodes {
		id, err := consensus.NodeID(nd.Home)
		if err != nil {
			t.Fatal(err)
		}
		peers = append(peers, id+"@"+nd.P2P)
		gossip = append(gossip, nd.Gossip+"/p2p/"+nd.GossipID)
	}
	// joinArgs are the flags every joining node here takes: peers, and listeners on free ports.
	joinArgs := func() []string {
		return []string{"--peers", strings.Join(peers, ","), "--gossip-peers", strings.Join(gossip, ","),
			"--api-addr", freeAddr(t), "--agency-addr", freeAddr(t), "--metrics-addr", freeAddr(t),
			"--p2p-addr", freeAddr(t), "--rpc-addr", freeAddr(t), "--gossip-addr", freeAddr(t)}
	}
	home := filepath.Join(t.TempDir(), "replica")
	gh := sha256.Sum256(gen)
	out, code := runCLI(t, append([]string{"init", "--full-node", "--home", home, "--moniker", "replica",
		"--genesis", "http://" + spec.Nodes[3].API, "--genesis-sha256", hex.EncodeToString(gh[:])}, joinArgs()...)...)
	if code != 0 || !strings.Contains(out, "full node") {
		t.Fatalf("init --full-node: exit %d: %s", code, out)
	}
	started := time.Now()
	rn := startNode(t, home, listenFlags{})
	replica := rn.r.APIURL
	rc := api.NewClient(replica)
	st := waitCaughtUp(t, ctx, rc, top.Height, 60*time.Second)
	t.Logf("replica caught up to height %d (the validators were at %d when it started)", st.Height, top.Height)

	// Its agency API relays a submission through its mempool to the validators.
	more := docs("through-the-replica", 2)
	mres, err := anchorDocuments(ctx, api.NewClient(rn.r.AgencyURL), key, more, 100)
	if err != nil || mres[0].Status != api.SubmitCommitted {
		t.Fatalf("anchor through the replica: %+v %v", mres, err)
	}
	last := mres[0].Height // receipts as of a checkpoint from here on show every document's final state
	waitCaughtUp(t, ctx, api.NewClient(validator), last, 30*time.Second)

	// The metadata anchored before the replica existed reaches it by the gossip's catch-up.
	var pub api.AnchorView
	for _, d := range withMeta {
		path := "/v1/anchors/" + hex.EncodeToString(d.Hash[:])
		// Well within the gossip's periodic round (a minute): blocks that commit anchors with metadata
		// digests make the node fetch what it lacks a few seconds later, during block sync too.
		deadline := time.Now().Add(25 * time.Second)
		for {
			_, bv, err1 := getBody(ctx, validator+path)
			_, br, err2 := getBody(ctx, replica+path)
			if err1 == nil && err2 == nil && bytes.Equal(bv, br) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: the replica's lookup never matched the validator's:\nvalidator: %s\nreplica:   %s", d.Name, bv, br)
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	t.Logf("the replica has the metadata of documents anchored before it existed, %s after it started", time.Since(started).Round(time.Second))
	if err := json.Unmarshal(sameAnswer(t, ctx, validator, replica, "/v1/anchors/"+hex.EncodeToString(withMeta[0].Hash[:])), &pub); err != nil {
		t.Fatal(err)
	}
	if pub.Metadata == nil || pub.MetaDigest == "" {
		t.Fatalf("the lookup of a document with public metadata shows none: %+v", pub)
	}

	trust, err := receipt.TrustRootFromGenesis(gen)
	if err != nil {
		t.Fatal(err)
	}
	all := append(append(append([]document{}, batch...), more...), withMeta...)
	all = append(all, document{Name: "never anchored", Hash: sha256.Sum256([]byte("never anchored"))})
	for _, d := range all {
		hx := hex.EncodeToString(d.Hash[:])
		want := receipt.StateAnchored
		if _, ok := revoked[d.Hash]; ok {
			want = receipt.StateRevoked
		}
		if d.Name == "never anchored" {
			want = receipt.StateUnknown
			for _, b := range []string{validator, replica} {
				if s, body, err := getBody(ctx, b+"/v1/anchors/"+hx); err != nil || s != http.StatusNotFound {
					t.Fatalf("%s: lookup of a hash never anchored: %d %v %s", b, s, err, body)
				}
			}
		} else {
			var v api.AnchorView
			if err := json.Unmarshal(sameAnswer(t, ctx, validator, replica, "/v1/anchors/"+hx), &v); err != nil {
				t.Fatal(err)
			}
			if (v.Status == api.StatusRevoked) != (want == receipt.StateRevoked) {
				t.Fatalf("%s: status %s", d.Name, v.Status)
			}
		}
		raw := sameAsOf(t, ctx, validator, replica, "/v1/anchors/"+hx+"/receipt", last, receiptHeight)
		r, err := receipt.DecodeJSON(raw)
		if err != nil {
			t.Fatal(err)
		}
		got, err := receipt.Verify(r, trust)
		if err != nil || got.State != want || got.DocHash != d.Hash {
			t.Fatalf("%s: the replica's receipt proves %+v (%v), want %v", d.Name, got, err, want)
		}
		if want == receipt.StateRevoked && got.Revocation.Reason != uint8(revoked[d.Hash]) {
			t.Fatalf("%s: revoked for reason %d, want %d", d.Name, got.Revocation.Reason, revoked[d.Hash])
		}
		sameAsOf(t, ctx, validator, replica, "/v1/anchors/"+hx+"/receipt?format=compact", last, compactReceiptHeight)
	}
	cp := sameAsOf(t, ctx, validator, replica, "/v1/checkpoints/latest", last, checkpointViewHeight)
	h, _ := checkpointViewHeight(cp)
	for _, path := range []string{
		"/v1/agencies", "/v1/agencies/" + testnetAgencyID, "/v1/governance/proposals", "/v1/genesis", "/",
		fmt.Sprintf("/v1/checkpoints/consistency?from=1&to=%d", h),
	} {
		sameAnswer(t, ctx, validator, replica, path)
	}
	if b := sameAnswer(t, ctx, validator, replica, "/v1/genesis"); !bytes.Equal(b, gen) {
		t.Fatal("the replica's /v1/genesis is not the network's genesis.json")
	}

	// Not a validator: no key file in its home, and no voting power in CometBFT's eyes.
	if _, err := os.Stat(filepath.Join(home, "config", "priv_validator_key.json")); !os.IsNotExist(err) {
		t.Fatalf("the replica's home holds a validator key (%v)", err)
	}
	cc, err := consensus.LoadConfig(home)
	if err != nil {
		t.Fatal(err)
	}
	s, body, err := getBody(ctx, "http"+strings.TrimPrefix(cc.RPC.ListenAddress, "tcp")+"/status")
	if err != nil || s != http.StatusOK {
		t.Fatalf("replica RPC /status: %d %v", s, err)
	}
	var rpcStatus struct {
		Result struct {
			ValidatorInfo struct {
				VotingPower string `json:"voting_power"`
			} `json:"validator_info"`
		} `json:"result"`
	}
	if err := json.Unmarshal(body, &rpcStatus); err != nil || rpcStatus.Result.ValidatorInfo.VotingPower != "0" {
		t.Fatalf("replica RPC /status: voting power %q (%v): %s", rpcStatus.Result.ValidatorInfo.VotingPower, err, body)
	}

	// A validator-to-be joins the same way, without --full-node, from the genesis file; the consortium
	// adds the key that init printed. It signs checkpoints from then on, and the replica follows the
	// change: its receipts, now carrying the transition, are still the validators' byte for byte.
	vhome := filepath.Join(t.TempDir(), "newcomer")
	out, code = runCLI(t, append([]string{"init", "--home", vhome, "--moniker", "newcomer",
		"--genesis", consensus.GenesisFile(spec.Nodes[1].Home)}, joinArgs()...)...)
	if code != 0 {
		t.Fatalf("init --genesis: exit %d: %s", code, out)
	}
	newKey, err := consensus.ValidatorKey(vhome)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "set-validator --validator-key "+hex.EncodeToString(newKey)) {
		t.Fatalf("init does not print the governance command for its key:\n%s", out)
	}
	vn := startNode(t, vhome, listenFlags{})
	waitCaughtUp(t, ctx, api.NewClient(vn.r.APIURL), last, 60*time.Second)
	govVote(t, dir, "http://"+spec.Nodes[0].Agency, 4*2/3+1, "set-validator", "--validator-key", hex.EncodeToString(newKey), "--power", "10")
	for {
		raw := sameAsOf(t, ctx, validator, replica, "/v1/anchors/"+hex.EncodeToString(batch[5].Hash[:])+"/receipt", last, receiptHeight)
		r, err := receipt.DecodeJSON(raw)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := receipt.Verify(r, trust); err != nil || got.State != receipt.StateAnchored {
			t.Fatalf("receipt after the change: %+v %v", got, err)
		}
		if signedBy(r, newKey) {
			t.Logf("the newcomer signs checkpoint %d; replica and validator serve the same receipt with %d transition(s)", r.Checkpoint.Height, len(r.Transitions))
			break
		}
		if ctx.Err() != nil {
			t.Fatal("the newcomer never signed a checkpoint after the consortium added it")
		}
		time.Sleep(500 * time.Millisecond)
	}

	// A fast start for a further replica: its own home (its own node key), with the data directory of
	// the stopped first replica. It starts from that height and catches up.
	copied, err := rc.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rn.stop(t)
	home2 := filepath.Join(t.TempDir(), "replica2")
	if out, code := runCLI(t, append([]string{"init", "--full-node", "--home", home2,
		"--genesis", consensus.GenesisFile(spec.Nodes[0].Home)}, joinArgs()...)...); code != 0 {
		t.Fatalf("init of the second replica: exit %d: %s", code, out)
	}
	if err := os.RemoveAll(filepath.Join(home2, "data")); err != nil {
		t.Fatal(err)
	}
	if err := os.CopyFS(filepath.Join(home2, "data"), os.DirFS(filepath.Join(home, "data"))); err != nil {
		t.Fatal(err)
	}
	r2 := startNode(t, home2, listenFlags{})
	if st, err := api.NewClient(r2.r.APIURL).Status(ctx); err != nil || st.Height < copied.Height {
		t.Fatalf("the second replica starts at height %d (%v), not from the copy's %d", st.Height, err, copied.Height)
	}
	now, err := api.NewClient(validator).Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	waitCaughtUp(t, ctx, api.NewClient(r2.r.APIURL), now.Height, 30*time.Second)
	sameAsOf(t, ctx, validator, r2.r.APIURL, "/v1/anchors/"+hex.EncodeToString(batch[0].Hash[:])+"/receipt", now.Height-1, receiptHeight)
}

// signedBy tells whether key is among the signers of r's checkpoint.
func signedBy(r *receipt.Receipt, key []byte) bool {
	if len(r.Transitions) == 0 {
		return false // still the genesis set, which does not have the key
	}
	set := r.Transitions[len(r.Transitions)-1].Next
	for _, s := range r.Signatures.Sigs {
		if int(s.Validator) < len(set) && string(set[s.Validator].PubKey[:]) == string(key) {
			return true
		}
	}
	return false
}
