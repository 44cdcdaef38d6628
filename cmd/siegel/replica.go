package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/siegel-notary/siegel/consensus"
	"github.com/siegel-notary/siegel/p2p"
)

// catchUpMetadataAfterSync runs one full metadata catch-up round as soon as consensus has caught up,
// if the node started behind the chain (a new replica or validator syncing from genesis, or a node
// back from an outage). The gossip's own rounds at start and when peers connect run while the node
// still lacks the blocks, so they find no anchors; without this round the metadata of documents
// anchored before waits for the gossip's next periodic round (a minute). stop ends the watch and waits
// for it; call it before the gossip and the store close.
func catchUpMetadataAfterSync(ctx context.Context, node *consensus.Node, g *p2p.Node, logger *slog.Logger) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if !node.CatchingUp() {
			return // in step with the chain from the start: the gossip's start round saw every anchor
		}
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for node.CatchingUp() {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
		p, err := g.CatchUp(ctx)
		if err != nil {
			if ctx.Err() == nil {
				logger.Warn("metadata catch-up after sync failed; the gossip's periodic rounds go on", "err", err)
			}
			return
		}
		logger.Info("caught up with the chain: metadata catch-up round done", "scanned", p.Scanned, "missing", p.Missing, "fetched", p.Fetched)
	}()
	return func() { cancel(); <-done }
}
