package consensus

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/cometbft/cometbft/crypto"
	"github.com/cometbft/cometbft/crypto/ed25519"
	cmtproto "github.com/cometbft/cometbft/proto/tendermint/types"
	"github.com/cometbft/cometbft/types"
)

// ErrValidatorKeyOnFullNode is returned when a full node's home holds a validator key. A full node
// never signs; a key file in its home means it was copied from a validator, or is a validator that was
// marked a full node by mistake. Either way the operator must decide, not the node.
var ErrValidatorKeyOnFullNode = errors.New("consensus: a full node's home must not hold a validator key")

// errFullNodeSigns is what a full node's signer answers if CometBFT ever asks it to sign.
var errFullNodeSigns = errors.New("consensus: a full node does not sign")

// followerPV is the private validator of a full node. CometBFT needs one even on a node that is not a
// validator; this one has a key made afresh at each start and kept only in memory, so no validator
// set can ever contain it across a restart, and it refuses to sign whatever it is asked.
type followerPV struct{ pub crypto.PubKey }

func newFollowerPV() followerPV { return followerPV{pub: ed25519.GenPrivKey().PubKey()} }

func (p followerPV) GetPubKey() (crypto.PubKey, error) { return p.pub, nil }

func (followerPV) SignVote(string, *cmtproto.Vote) error { return errFullNodeSigns }

func (followerPV) SignProposal(string, *cmtproto.Proposal) error { return errFullNodeSigns }

var _ types.PrivValidator = followerPV{}

// GenesisInfo is what a node that joins a network learns from its genesis.
type GenesisInfo struct {
	ChainID    string
	Validators int
	// AppState is the application's part, for the application to check.
	AppState json.RawMessage
}

// ParseGenesis decodes and validates a genesis.json as CometBFT will when the node starts, and checks
// what Siegel needs of it: vote extensions (the validators' checkpoint signatures) from the first
// block, and at least one validator.
func ParseGenesis(raw []byte) (GenesisInfo, error) {
	doc, err := types.GenesisDocFromJSON(raw)
	if err != nil {
		return GenesisInfo{}, fmt.Errorf("consensus: not a valid CometBFT genesis: %w", err)
	}
	if h := doc.ConsensusParams.ABCI.VoteExtensionsEnableHeight; h <= 0 || h > doc.InitialHeight {
		return GenesisInfo{}, fmt.Errorf("consensus: not a Siegel genesis: vote extensions are enabled from height %d, "+
			"but Siegel's validators sign checkpoints with them from the first block (%d)", h, doc.InitialHeight)
	}
	if len(doc.Validators) == 0 {
		return GenesisInfo{}, errors.New("consensus: not a Siegel genesis: it names no validators")
	}
	return GenesisInfo{ChainID: doc.ChainID, Validators: len(doc.Validators), AppState: json.RawMessage(doc.AppState)}, nil
}
