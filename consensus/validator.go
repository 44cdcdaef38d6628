package consensus

import (
	"bytes"

	"github.com/cometbft/cometbft/types"
)

// ValidatorStatus is what an operator wants to know about this node's validator.
type ValidatorStatus struct {
	Address string
	// InSet reports whether the address is in the validator set of the next height; Power is its voting
	// power there, of TotalPower, among Validators validators.
	InSet      bool
	Power      int64
	TotalPower int64
	Validators int
	// Checked is how many commits of the latest blocks (up to the number asked for) were found; Signed how
	// many of them carry this validator's signature for the block; LastSigned is the highest of those
	// heights, 0 if none.
	Checked    int
	Signed     int
	LastSigned int64
}

// Validator reports this node's validator: whether it is in the set, and whether it signed the
// commits of the latest `recent` blocks. A full node has no validator: only the set's size and power are
// reported.
func (n *Node) Validator(recent int) ValidatorStatus {
	var vs ValidatorStatus
	vals := n.n.EvidencePool().State().Validators
	if vals != nil {
		vs.Validators, vs.TotalPower = vals.Size(), vals.TotalVotingPower()
	}
	if n.fullNode {
		return vs
	}
	pk, err := n.n.PrivValidator().GetPubKey()
	if err != nil {
		return vs
	}
	addr := pk.Address()
	vs.Address = addr.String()
	if vals != nil {
		if _, v := vals.GetByAddress(addr); v != nil {
			vs.InSet, vs.Power = true, v.VotingPower
		}
	}
	bs := n.n.BlockStore()
	top := bs.Height()
	for h := top; h > top-int64(recent) && h >= max(bs.Base(), 1); h-- {
		// The commit of the latest block is the one this node saw; earlier ones are in the next block.
		var c *types.Commit
		if h == top {
			c = bs.LoadSeenCommit(h)
		} else {
			c = bs.LoadBlockCommit(h)
		}
		if c == nil {
			continue
		}
		vs.Checked++
		for _, s := range c.Signatures {
			if s.BlockIDFlag == types.BlockIDFlagCommit && bytes.Equal(s.ValidatorAddress, addr) {
				vs.Signed++
				vs.LastSigned = max(vs.LastSigned, h)
				break
			}
		}
	}
	return vs
}
