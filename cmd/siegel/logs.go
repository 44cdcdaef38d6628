package main

import (
	"encoding/hex"
	"log/slog"
	"slices"

	"github.com/siegel-notary/siegel/app"
	"github.com/siegel-notary/siegel/app/tx"
)

// logCommitted logs a committed block: one line with its height and what it held, and one line per
// revocation with the agency, the document and the height. The block line is at info when the block
// anchors, revokes or rejects something, at debug otherwise: most blocks are empty but for the
// validators' checkpoint signatures, and one comes every timeout_commit. Anchors are counted, not
// listed: the agency API logs each submission with its agency and transaction hash (governance
// transactions too).
func logCommitted(logger *slog.Logger, c app.Committed) {
	rejected := 0
	for _, t := range c.Txs {
		if t.Code != 0 {
			rejected++
		}
	}
	if len(c.Anchors) == 0 && len(c.Revoked) == 0 && rejected == 0 {
		logger.Debug("block committed", "height", c.Height, "txs", len(c.Txs))
		return
	}
	var agencies []string
	for _, a := range c.Anchors {
		agencies = append(agencies, a.Agency)
	}
	for _, r := range c.Revoked {
		agencies = append(agencies, r.Agency)
	}
	slices.Sort(agencies)
	agencies = slices.Compact(agencies)
	logger.Info("block committed", "height", c.Height, "txs", len(c.Txs), "rejected", rejected,
		"anchors", len(c.Anchors), "revocations", len(c.Revoked), "agencies", agencies)
	for _, r := range c.Revoked {
		logger.Info("document revoked", "height", c.Height, "agency", r.Agency, "doc", hex.EncodeToString(r.Doc[:]),
			"reason", tx.Reason(r.Reason).String(), "tx_hash", hex.EncodeToString(r.TxHash[:]))
	}
}
