package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/siegel-notary/siegel/api"
	"github.com/siegel-notary/siegel/app"
	"github.com/siegel-notary/siegel/app/tx"
	"github.com/siegel-notary/siegel/consensus"
	"github.com/siegel-notary/siegel/p2p"
	"github.com/siegel-notary/siegel/receipt"
	"github.com/siegel-notary/siegel/store"
)

// backend adapts the node's parts to the API's Backend interface.
type backend struct {
	st      *store.Store
	app     *app.App
	node    *consensus.Node
	genesis []byte    // the genesis file's bytes
	gossip  *p2p.Node // the metadata gossip
}

func (b *backend) Genesis() ([]byte, error) { return b.genesis, nil }

var _ api.Backend = (*backend)(nil)

func notFound(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return api.ErrNotFound
	}
	return err
}

func (b *backend) Anchor(doc [32]byte) (receipt.Record, *receipt.Revocation, error) {
	a, err := b.st.Anchor(doc)
	return a.Record, a.Revocation, notFound(err)
}

func (b *backend) AgencyName(id string) (string, error) {
	a, err := b.st.Agency(id)
	return a.Name, notFound(err)
}

func (b *backend) AgencyOf(key [32]byte) (string, error) {
	a, err := b.st.AgencyByKey(key)
	return a.ID, notFound(err)
}

func (b *backend) TxResult(h [32]byte) (api.TxOutcome, error) {
	r, err := b.st.TxResult(h)
	return api.TxOutcome{Hash: r.Hash, Height: r.Height, Index: r.Index, Code: r.Code}, notFound(err)
}

func (b *backend) Status() api.Status {
	ns := b.node.Status()
	c, _ := b.st.LastCommit()
	p := b.app.Params()
	return api.Status{
		ChainID:    ns.ChainID,
		Height:     c.Height,
		AppHash:    c.AppHash,
		BlockTime:  ns.LatestBlockTime.UTC(),
		CatchingUp: ns.CatchingUp,
		Peers:      ns.Peers,
		NodeID:     ns.NodeID,
		Version:    version,
		MaxBatch:   p.MaxBatch,
		MaxTTL:     p.MaxTTL,
	}
}

func (b *backend) Submit(ctx context.Context, tx []byte) (uint32, string, error) {
	r, err := b.node.Submit(ctx, tx)
	switch {
	case errors.Is(err, consensus.ErrAlreadySubmitted):
		return 0, "", api.ErrAlreadySubmitted
	case errors.Is(err, consensus.ErrCatchingUp), errors.Is(err, consensus.ErrMempoolFull):
		return 0, "", errors.Join(api.ErrUnavailable, err)
	case err != nil:
		return 0, "", err
	}
	return r.Code, r.Log, nil
}

// outcomes converts a committed block's results for the API's tracker.
func outcomes(c app.Committed) []api.TxOutcome {
	out := make([]api.TxOutcome, len(c.Txs))
	for i, t := range c.Txs {
		out[i] = api.TxOutcome{Hash: t.Hash, Height: t.Height, Index: t.Index, Code: t.Code}
	}
	return out
}

// latestSigned is the height of the latest signed checkpoint whose state the store still holds.
func (b *backend) latestSigned() (uint64, error) {
	h, err := b.st.LatestSigned()
	if errors.Is(err, store.ErrNoSnapshot) {
		return 0, errors.Join(api.ErrUnavailable, err)
	}
	return h, err
}

func (b *backend) Receipt(doc [32]byte) (*receipt.Receipt, error) {
	h, err := b.latestSigned()
	if err != nil {
		return nil, err
	}
	r, err := b.st.Receipt(doc, h)
	if errors.Is(err, store.ErrNoSnapshot) { // the snapshot was just released: a newer one is signed
		if h, err = b.latestSigned(); err == nil {
			r, err = b.st.Receipt(doc, h)
		}
	}
	return r, err
}

func (b *backend) LatestCheckpoint() (api.CheckpointView, error) {
	h, err := b.latestSigned()
	if err != nil {
		return api.CheckpointView{}, err
	}
	return b.signedCheckpoint(h)
}

func (b *backend) signedCheckpoint(h uint64) (api.CheckpointView, error) {
	c, err := b.st.Checkpoint(h)
	if err != nil {
		return api.CheckpointView{}, notFound(err)
	}
	s, err := b.st.Signatures(h)
	if err != nil {
		return api.CheckpointView{}, notFound(err)
	}
	ah := c.Hash()
	return api.CheckpointView{Checkpoint: c, AppHash: ah[:], Signatures: s}, nil
}

func (b *backend) Consistency(from, to uint64) (api.ConsistencyView, error) {
	cf, err := b.st.Checkpoint(from)
	if err != nil {
		return api.ConsistencyView{}, notFound(err)
	}
	ct, err := b.st.Checkpoint(to)
	if err != nil {
		return api.ConsistencyView{}, notFound(err)
	}
	p, err := b.st.LogConsistency(cf.LogSize, ct.LogSize)
	if err != nil {
		return api.ConsistencyView{}, err
	}
	v := api.ConsistencyView{From: cf, To: ct, Proof: make([]api.HexBytes, len(p))}
	for i := range p {
		v.Proof[i] = p[i][:]
	}
	return v, nil
}

func agencyView(a store.Agency) api.AgencyView {
	v := api.AgencyView{ID: a.ID, Name: a.Name, Keys: make([]string, len(a.Keys)), Suspended: a.Suspended, DocTypes: a.DocTypes}
	for i, k := range a.Keys {
		v.Keys[i] = hexKey(k[:])
	}
	for _, k := range a.Retired {
		v.Retired = append(v.Retired, hexKey(k[:]))
	}
	return v
}

func (b *backend) Proposals() ([]api.ProposalView, error) {
	ps, err := b.st.Proposals()
	if err != nil {
		return nil, err
	}
	out := make([]api.ProposalView, 0, len(ps))
	for _, p := range ps {
		act, err := tx.DecodeAction(p.Action)
		if err != nil {
			return nil, fmt.Errorf("proposal %x: %w", p.ID, err)
		}
		av := api.ActionView{Kind: act.Kind.String(), Agency: act.Agency, Name: act.Name}
		for _, k := range act.Keys {
			av.Keys = append(av.Keys, hexKey(k[:]))
		}
		if act.Kind == tx.ActSetValidator || act.Kind == tx.ActSetParam {
			av.Power = &act.Power
		}
		av.Param, av.DocTypes = act.Param, act.DocTypes
		out = append(out, api.ProposalView{ID: tx.ProposalID(p.ID).String(), Proposer: p.Proposer, Action: av,
			Height: p.Height, Deadline: p.Deadline, Approvals: p.Approvals, Executed: p.Executed})
	}
	return out, nil
}

func (b *backend) Agencies() ([]api.AgencyView, error) {
	as, err := b.st.Agencies()
	if err != nil {
		return nil, err
	}
	out := make([]api.AgencyView, len(as))
	for i, a := range as {
		out[i] = agencyView(a)
	}
	return out, nil
}

func (b *backend) Agency(id string) (api.AgencyView, error) {
	a, err := b.st.Agency(id)
	if err != nil {
		return api.AgencyView{}, notFound(err)
	}
	return agencyView(a), nil
}
