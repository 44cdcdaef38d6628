package p2p

import (
	"bytes"
	"fmt"
	"testing"
	"time"

	"github.com/siegel-notary/siegel/app/tx"
)

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

	retiredKey := metaBy("retired-key", "land-registry", landOldKey)
	chain.commitMeta(retiredKey)

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

	// tax-office may issue tax assessments only; its anchor and digest are right, the type is not.
	wrongType := metaBy("wrong-type", "tax-office", taxKey)
	d := wrongType.Digest()
	chain.commit(wrongType.DocHash, Anchor{Agency: "tax-office", Signer: pub(taxKey), MetaDigest: &d})

	oversized := append(meta("oversized").Encode(), make([]byte, tx.MaxMetaBytes)...)

	never := meta("never-anchored")

	cases := []struct {
		name string
		raw  []byte
		want Reason
	}{
		{"forged signature", forged.Encode(), ReasonBadSignature},
		{"wrong agency", wrongAgency.Encode(), ReasonWrongAgency},
		{"key of another agency", foreignKey.Encode(), ReasonKeyNotValid},
		{"retired key", retiredKey.Encode(), ReasonKeyNotValid},
		{"digest mismatch", mismatch.Encode(), ReasonDigestMismatch},
		{"document type the agency may not issue", wrongType.Encode(), ReasonDocType},
		{"anchor without commitment", noCommitment.Encode(), ReasonNoCommitment},
		{"other chain", otherChain.Encode(), ReasonWrongChain},
		{"oversized", oversized, ReasonOversized},
		{"malformed", []byte("this is not metadata"), ReasonMalformed},
		{"truncated", forged.Encode()[:100], ReasonMalformed},
		{"never anchored", never.Encode(), ReasonNotAnchored},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			sender := newRawPeer(t)
			sender.connect(t, judge.Node)
			waitFor(t, 10*time.Second, "the sender to see the node in the topic", func() bool {
				return len(sender.ps.ListPeers(Topic(testChainID))) == 1
			})
			warmUp(t, fmt.Sprint("control ", i), chain.commitMeta,
				func(m *tx.Metadata) { sender.publish(t, m.Encode()) },
				func(m *tx.Metadata) bool { return behind.received(m.Encode()) })

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
	for _, m := range []*tx.Metadata{forged, wrongAgency, foreignKey, retiredKey, mismatch, wrongType, noCommitment, otherChain, never} {
		if raw, found, _ := judge.store.Get(m.DocHash); found && bytes.Equal(raw, m.Encode()) {
			t.Errorf("invalid metadata for %x stored", m.DocHash[:4])
		}
	}
	if n, want := judge.store.Len(), judge.metrics.acceptedVia(ViaGossip); n != want {
		t.Errorf("stored %d messages, want the %d valid ones", n, want)
	}
}

// TestReplayIgnored sends metadata that the node has stored already: it is ignored, not forwarded,
// and the sender is not penalised, both when gossipsub recognises the message and when only the store
// does.
func TestReplayIgnored(t *testing.T) {
	chain := newChain()
	judge := startNode(t, testConfig("replay"), chain, nil)
	behind := newRawPeer(t)
	behind.connect(t, judge.Node)
	sender := newRawPeer(t)
	sender.connect(t, judge.Node)
	waitFor(t, 10*time.Second, "the sender to see the node in the topic", func() bool {
		return len(sender.ps.ListPeers(Topic(testChainID))) == 1
	})

	warmUp(t, "replay", chain.commitMeta,
		func(m *tx.Metadata) { sender.publish(t, m.Encode()) },
		func(m *tx.Metadata) bool { return behind.received(m.Encode()) })
	m := meta("replayed")
	chain.commitMeta(m)
	sender.publish(t, m.Encode())
	waitFor(t, 10*time.Second, "the message behind the node", func() bool { return behind.received(m.Encode()) })
	sender.publish(t, m.Encode()) // the same bytes again, from the same peer: a duplicate to gossipsub

	// Stored by other means (catch-up, say): only the store knows it.
	known := meta("known")
	chain.commitMeta(known)
	if err := judge.store.Put(known.DocHash, known.Encode()); err != nil {
		t.Fatal(err)
	}
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
	sender := newRawPeer(t)
	sender.connect(t, judge.Node)
	waitFor(t, 10*time.Second, "the sender to see the node in the topic", func() bool {
		return len(sender.ps.ListPeers(Topic(testChainID))) == 1
	})
	sender.publish(t, meta("later").Encode())
	waitFor(t, 5*time.Second, "the message to expire", func() bool { return judge.metrics.ignoredFor(ReasonExpired) == 1 })
	time.Sleep(3 * cfg.scoreInspect)
	if s := judge.Scores()[sender.h.ID()]; s < 0 {
		t.Errorf("sender's score %v, want at least 0", s)
	}
}
