package p2p

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/siegel-notary/siegel/app/tx"
)

// newSender connects a raw peer to judge and waits until it sees judge in the topic.
func newSender(t *testing.T, judge *testNode) *rawPeer {
	t.Helper()
	sender := newRawPeer(t)
	sender.connect(t, judge.Node)
	waitFor(t, 10*time.Second, "the sender to see the node in the topic", func() bool {
		return len(sender.ps.ListPeers(Topic(testChainID))) == 1
	})
	return sender
}

// newWarmSender is newSender, then shows that valid messages from the sender reach behind through judge.
func newWarmSender(t *testing.T, label string, judge *testNode, behind *rawPeer) *rawPeer {
	t.Helper()
	sender := newSender(t, judge)
	warmUp(t, label, judge.chain.commitMeta,
		func(m *tx.Metadata) { sender.publish(t, m.Encode()) },
		func(m *tx.Metadata) bool { return behind.received(m.Encode()) })
	return sender
}

// startJudge starts a node with a raw peer behind it and a warmed-up sender in front.
func startJudge(t *testing.T, label string) (chain *fakeChain, judge *testNode, behind, sender *rawPeer) {
	t.Helper()
	chain = newChain()
	judge = startNode(t, testConfig(label), chain, nil)
	behind = newRawPeer(t)
	behind.connect(t, judge.Node)
	return chain, judge, behind, newWarmSender(t, label, judge, behind)
}

// TestRejections has a misbehaving peer send each kind of invalid message to a node with a third peer
// behind it. The node must reject it (counted by reason), must not store or forward it, and the
// sender's score at the node must fall below zero. Each case has its own sender, which first sends a
// valid message, to show that the path through the node to the peer behind works.
func TestRejections(t *testing.T) {
	chain := newChain()
	cfg := testConfig("judge")
	cfg.PendingTTL = 500 * time.Millisecond
	judge := startNode(t, cfg, chain, nil)
	behind := newRawPeer(t)
	behind.connect(t, judge.Node)

	forged := meta("forged")
	chain.commitMeta(forged)
	forged.Signature[10] ^= 0x40

	wrongAgency := metaBy("wrong-agency", "tax-office", taxKey)
	chain.commit(wrongAgency.DocHash, anchorOf(wrongAgency)) // anchored by land-registry

	foreignKey := metaBy("foreign-key", "land-registry", taxKey)
	chain.commitMeta(foreignKey)

	mismatch := meta("mismatch")
	committed := meta("mismatch")
	committed.Fields[1].Value = "what the agency committed to"
	committed.Sign(landKey)
	chain.commitMeta(committed)

	noCommitment := meta("no-commitment")
	chain.commit(noCommitment.DocHash, Anchor{Agency: "land-registry", Signer: pub(landKey)})

	otherChain := meta("other-chain")
	otherChain.ChainID = "siegel-other"
	otherChain.Sign(landKey)
	chain.commitMeta(otherChain)

	oversized := append(meta("oversized").Encode(), make([]byte, tx.MaxMetaBytes)...)

	never := meta("never-anchored")
	// Not anchored (yet) and signed by a key that is not the named agency's: no place in the queue.
	squatter := metaBy("squatter", "land-registry", taxKey)

	cases := []struct {
		name string
		raw  []byte
		want Reason
	}{
		{"forged signature", forged.Encode(), ReasonBadSignature},
		{"wrong agency", wrongAgency.Encode(), ReasonWrongAgency},
		{"key of another agency", foreignKey.Encode(), ReasonKeyNotValid},
		{"digest mismatch", mismatch.Encode(), ReasonDigestMismatch},
		{"anchor without commitment", noCommitment.Encode(), ReasonNoCommitment},
		{"other chain", otherChain.Encode(), ReasonWrongChain},
		{"oversized", oversized, ReasonOversized},
		{"malformed", []byte("this is not metadata"), ReasonMalformed},
		{"truncated", forged.Encode()[:100], ReasonMalformed},
		{"never anchored", never.Encode(), ReasonNotAnchored},
		{"not anchored, foreign key", squatter.Encode(), ReasonKeyNotValid},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sender := newWarmSender(t, fmt.Sprint("control ", i), judge, behind)

			before := judge.metrics.rejectedFor(tc.want)
			sender.publish(t, tc.raw)
			waitFor(t, 10*time.Second, "the rejection", func() bool { return judge.metrics.rejectedFor(tc.want) == before+1 })
			waitFor(t, 5*time.Second, "the sender's score to fall below zero", func() bool {
				s, ok := judge.Scores()[sender.h.ID()]
				return ok && s < 0
			})
			if s := judge.Scores()[sender.h.ID()]; s > publishThreshold {
				t.Errorf("sender's score %v, want under the publish threshold %v", s, publishThreshold)
			}
		})
	}

	// Nothing invalid was stored or forwarded. Forwarding would have happened right after validation;
	// give it a moment anyway.
	time.Sleep(200 * time.Millisecond)
	for _, tc := range cases {
		if behind.received(tc.raw) {
			t.Errorf("%s: forwarded", tc.name)
		}
	}
	for _, m := range []*tx.Metadata{forged, wrongAgency, foreignKey, mismatch, noCommitment, otherChain, never, squatter} {
		if raw, found, _ := judge.store.Get(m.DocHash); found && bytes.Equal(raw, m.Encode()) {
			t.Errorf("invalid metadata for %x stored", m.DocHash[:4])
		}
	}
	if n, want := judge.store.Len(), judge.metrics.acceptedVia(ViaGossip); n != want {
		t.Errorf("stored %d messages, want the %d valid ones", n, want)
	}
}

// TestPastGovernanceIgnored: metadata signed by a key that was retired since, or naming a document type
// that governance no longer lets the agency issue, may have been valid when it was published: from a
// peer it is ignored (not stored, not forwarded, no penalty); the agency's own publish is refused.
func TestPastGovernanceIgnored(t *testing.T) {
	chain, judge, behind, sender := startJudge(t, "governance")

	retired := metaBy("retired-key", "land-registry", landOldKey) // anchored by landKey
	chain.commitMeta(retired)
	// tax-office may issue tax assessments only; its anchor and digest are right, the type is not.
	wrongType := metaBy("wrong-type", "tax-office", taxKey)
	d := wrongType.Digest()
	chain.commit(wrongType.DocHash, Anchor{Agency: "tax-office", Signer: pub(taxKey), MetaDigest: &d})

	for _, tc := range []struct {
		m    *tx.Metadata
		want Reason
	}{{retired, ReasonKeyNotValid}, {wrongType, ReasonDocType}} {
		before := judge.metrics.ignoredFor(tc.want)
		sender.publish(t, tc.m.Encode())
		waitFor(t, 10*time.Second, "the message to be ignored", func() bool { return judge.metrics.ignoredFor(tc.want) == before+1 })
		var rej *RejectError
		if err := judge.Publish(context.Background(), tc.m.Encode()); !errors.As(err, &rej) || rej.Reason != tc.want {
			t.Errorf("Publish = %v, want a rejection for %s", err, tc.want)
		}
	}
	after := meta("after-governance")
	chain.commitMeta(after)
	sender.publish(t, after.Encode())
	waitFor(t, 10*time.Second, "a later message behind the node", func() bool { return behind.received(after.Encode()) })
	for _, m := range []*tx.Metadata{retired, wrongType} {
		if behind.received(m.Encode()) {
			t.Errorf("metadata of %x forwarded", m.DocHash[:4])
		}
		if ok, _ := judge.store.Has(m.DocHash); ok {
			t.Errorf("metadata of %x stored", m.DocHash[:4])
		}
	}
	if s := judge.Scores()[sender.h.ID()]; s < 0 {
		t.Errorf("sender's score %v, want at least 0", s)
	}
	if r := judge.metrics.totalRejected(); r != 2 { // the two refused publishes
		t.Errorf("%d rejections, want the 2 publishes", r)
	}
}

// TestReplaysBeyondAllowance: copies of metadata stored here long ago are ignored while a peer sends a
// few (an honest node does when an agency publishes there what this node has already); beyond
// replayAllowance a minute they are rejected and cost the sender score. None is forwarded.
func TestReplaysBeyondAllowance(t *testing.T) {
	chain, judge, behind, sender := startJudge(t, "replays")
	var old []*tx.Metadata
	for i := range replayAllowance + 1 {
		m := meta(fmt.Sprint("stored-long-ago-", i))
		chain.commitMeta(m)
		if err := judge.store.Put(m.DocHash, m.Encode()); err != nil { // no time the node remembers
			t.Fatal(err)
		}
		old = append(old, m)
	}
	for _, m := range old[:replayAllowance] {
		sender.publish(t, m.Encode())
	}
	waitFor(t, 10*time.Second, "the replays to be ignored", func() bool { return judge.metrics.ignoredFor(ReasonReplayed) == replayAllowance })
	if s := judge.Scores()[sender.h.ID()]; s < 0 {
		t.Errorf("sender's score %v after %d replays, want at least 0", s, replayAllowance)
	}
	sender.publish(t, old[replayAllowance].Encode())
	waitFor(t, 10*time.Second, "the replay beyond the allowance to be rejected", func() bool { return judge.metrics.rejectedFor(ReasonReplayed) == 1 })
	waitFor(t, 5*time.Second, "the sender's score to fall below zero", func() bool {
		s, ok := judge.Scores()[sender.h.ID()]
		return ok && s < 0
	})
	time.Sleep(100 * time.Millisecond)
	for _, m := range old {
		if behind.received(m.Encode()) {
			t.Fatalf("a replay was forwarded")
		}
	}
}

// TestRecentSet checks the window and the bound of the set of lately stored documents.
func TestRecentSet(t *testing.T) {
	t0 := time.Unix(1_700_000_000, 0)
	r := newRecentSet(time.Minute)
	a, b := doc("a"), doc("b")
	r.add(a, t0)
	r.add(b, t0.Add(30*time.Second))
	switch {
	case !r.has(a, t0.Add(time.Minute)):
		t.Error("a forgotten within its window")
	case r.has(a, t0.Add(time.Minute+time.Second)):
		t.Error("a remembered past its window")
	case r.has(doc("c"), t0):
		t.Error("c never added")
	}
	r.add(doc("c"), t0.Add(80*time.Second)) // prunes a
	if len(r.order) != 2 || len(r.at) != 2 {
		t.Errorf("after pruning: %d in order, %d in the map; want 2", len(r.order), len(r.at))
	}
	big := newRecentSet(time.Hour)
	for i := range maxRecent + 10 {
		var d [32]byte
		d[0], d[1], d[2], d[3] = byte(i), byte(i>>8), byte(i>>16), byte(i>>24)
		big.add(d, t0)
	}
	if len(big.order) != maxRecent || len(big.at) != maxRecent {
		t.Errorf("bounded set holds %d/%d, want %d", len(big.order), len(big.at), maxRecent)
	}
}

// TestReplayIgnored sends metadata that the node has stored lately: it is ignored, not forwarded, and
// the sender is not penalised, both when gossipsub recognises the message and when only the store does
// (the copy of a message the node just fetched by catch-up, say). A copy of a message stored long ago
// is a replay: TestRejections.
func TestReplayIgnored(t *testing.T) {
	chain, judge, behind, sender := startJudge(t, "replay")
	m := meta("replayed")
	chain.commitMeta(m)
	sender.publish(t, m.Encode())
	waitFor(t, 10*time.Second, "the message behind the node", func() bool { return behind.received(m.Encode()) })
	sender.publish(t, m.Encode()) // the same bytes again, from the same peer: a duplicate to gossipsub

	// Stored a moment ago by other means (catch-up, say): only the store knows it.
	known := meta("known")
	chain.commitMeta(known)
	if err := judge.store.Put(known.DocHash, known.Encode()); err != nil {
		t.Fatal(err)
	}
	judge.recent.add(known.DocHash, time.Now())
	sender.publish(t, known.Encode())
	waitFor(t, 5*time.Second, "the duplicate to be ignored", func() bool { return judge.metrics.ignoredFor(ReasonDuplicate) == 1 })

	// A fresh valid message shows that the sender is still heard, and flushes the path.
	after := meta("after-replay")
	chain.commitMeta(after)
	sender.publish(t, after.Encode())
	waitFor(t, 10*time.Second, "a later message behind the node", func() bool { return behind.received(after.Encode()) })
	time.Sleep(100 * time.Millisecond)

	if n := behind.count(m.Encode()); n != 1 {
		t.Errorf("the replayed message arrived behind the node %d times, want 1", n)
	}
	if behind.received(known.Encode()) {
		t.Errorf("metadata that was stored already was forwarded")
	}
	if s := judge.Scores()[sender.h.ID()]; s < 0 {
		t.Errorf("sender's score %v after replays, want at least 0", s)
	}
	if r := judge.metrics.totalRejected(); r != 0 {
		t.Errorf("%d rejections, want none", r)
	}
}

// TestExpiredWhileCatchingUp checks that a message whose anchor does not come is dropped without
// penalty while the node's consensus is catching up.
func TestExpiredWhileCatchingUp(t *testing.T) {
	chain := newChain()
	chain.notUp = true
	cfg := testConfig("catching-up")
	cfg.PendingTTL = 300 * time.Millisecond
	judge := startNode(t, cfg, chain, nil)
	sender := newSender(t, judge)
	sender.publish(t, meta("later").Encode())
	waitFor(t, 5*time.Second, "the message to expire", func() bool { return judge.metrics.ignoredFor(ReasonExpired) == 1 })
	time.Sleep(3 * cfg.scoreInspect)
	if s := judge.Scores()[sender.h.ID()]; s < 0 {
		t.Errorf("sender's score %v, want at least 0", s)
	}
}
