package receipt

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// ErrGenesis is returned by TrustRootFromGenesis for a file it cannot take a trust root from.
var ErrGenesis = errors.New("receipt: unusable genesis file")

// TrustRootFromGenesis reads the chain ID and the validator set from a CometBFT genesis.json, the
// trust root every receipt of the chain can be verified from.
func TrustRootFromGenesis(genesisJSON []byte) (TrustRoot, error) {
	var g struct {
		ChainID    string `json:"chain_id"`
		Validators []struct {
			PubKey struct {
				Type  string `json:"type"`
				Value string `json:"value"`
			} `json:"pub_key"`
			Power json.RawMessage `json:"power"`
		} `json:"validators"`
	}
	if err := json.Unmarshal(genesisJSON, &g); err != nil {
		return TrustRoot{}, fmt.Errorf("%w: %v", ErrGenesis, err)
	}
	if g.ChainID == "" {
		return TrustRoot{}, fmt.Errorf("%w: no chain_id", ErrGenesis)
	}
	var set ValidatorSet
	for i, v := range g.Validators {
		if v.PubKey.Type != "tendermint/PubKeyEd25519" {
			return TrustRoot{}, fmt.Errorf("%w: validator %d has key type %q; only ed25519 is supported", ErrGenesis, i, v.PubKey.Type)
		}
		k, err := base64.StdEncoding.DecodeString(v.PubKey.Value)
		if err != nil || len(k) != 32 {
			return TrustRoot{}, fmt.Errorf("%w: validator %d: bad public key", ErrGenesis, i)
		}
		// CometBFT writes the power as a JSON string; accept a number too.
		var p string
		if json.Unmarshal(v.Power, &p) != nil {
			p = string(v.Power)
		}
		power, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return TrustRoot{}, fmt.Errorf("%w: validator %d: power %s", ErrGenesis, i, v.Power)
		}
		var val Validator
		copy(val.PubKey[:], k)
		val.Power = power
		set = append(set, val)
	}
	set = set.Canonical()
	if err := set.Validate(); err != nil {
		return TrustRoot{}, fmt.Errorf("%w: %v", ErrGenesis, err)
	}
	return TrustRoot{ChainID: g.ChainID, Validators: set}, nil
}
