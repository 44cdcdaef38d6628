package app

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"unicode"
	"unicode/utf8"

	"github.com/siegel-notary/siegel/app/tx"
	"github.com/siegel-notary/siegel/store"
)

// Params are the chain's parameters, fixed in genesis.
type Params struct {
	// MaxBatch is the most document hashes one anchor transaction may carry. Default 1000.
	MaxBatch int `json:"max_batch"`
	// MaxTTL is how far ahead of the current height a transaction's expiry may lie, in blocks. It bounds
	// how long the chain must remember used nonces. Default 1000 (about 20 minutes at 1.3 s a block).
	MaxTTL uint64 `json:"max_ttl"`
}

// DefaultParams returns the documented defaults.
func DefaultParams() Params { return Params{MaxBatch: 1000, MaxTTL: 1000} }

func (p Params) validate() error {
	if p.MaxBatch < 1 || p.MaxBatch > tx.MaxEntries {
		return fmt.Errorf("app: params: max_batch %d is outside 1..%d", p.MaxBatch, tx.MaxEntries)
	}
	if p.MaxTTL < 1 || p.MaxTTL > 1_000_000 {
		return fmt.Errorf("app: params: max_ttl %d is outside 1..1000000", p.MaxTTL)
	}
	return nil
}

// Genesis is the application's part of genesis.json (its "app_state").
type Genesis struct {
	Params     Params         `json:"params"`
	Consortium Consortium     `json:"consortium"`
	Agencies   []store.Agency `json:"agencies"`
}

// Consortium is the set of data centres that govern the chain: Threshold of the Members' operator keys
// must approve a proposal before it executes. Without members, no governance is possible.
type Consortium struct {
	Threshold int      `json:"threshold"`
	Members   []Member `json:"members"`
}

// Member is a consortium member: a data centre and the operator key that signs its governance votes.
type Member struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	OperatorKey store.Key `json:"operator_key"`
}

// member returns the member whose operator key is k.
func (c *Consortium) member(k [32]byte) (Member, bool) {
	for _, m := range c.Members {
		if m.OperatorKey == k {
			return m, true
		}
	}
	return Member{}, false
}

func (c *Consortium) validate(agencyKeys map[store.Key]string) error {
	if len(c.Members) == 0 {
		if c.Threshold != 0 {
			return fmt.Errorf("%w: a threshold of %d without members", ErrGenesis, c.Threshold)
		}
		return nil
	}
	if c.Threshold < 1 || c.Threshold > len(c.Members) {
		return fmt.Errorf("%w: threshold %d must be 1 to %d", ErrGenesis, c.Threshold, len(c.Members))
	}
	ids, keys := map[string]bool{}, map[store.Key]bool{}
	for _, m := range c.Members {
		if err := ValidateAgencyID(m.ID); err != nil {
			return fmt.Errorf("%w: member: %v", ErrGenesis, err)
		}
		if err := ValidateAgencyName(m.Name); err != nil {
			return fmt.Errorf("%w: member %q: %v", ErrGenesis, m.ID, err)
		}
		if ids[m.ID] || keys[m.OperatorKey] {
			return fmt.Errorf("%w: member %q or its operator key appears twice", ErrGenesis, m.ID)
		}
		if a, ok := agencyKeys[m.OperatorKey]; ok {
			return fmt.Errorf("%w: member %q's operator key is also a key of agency %q", ErrGenesis, m.ID, a)
		}
		ids[m.ID], keys[m.OperatorKey] = true, true
	}
	return nil
}

// ErrGenesis is returned for an app_state that cannot start a chain.
var ErrGenesis = errors.New("app: invalid genesis")

// MaxAgencyNameLen bounds an agency's display name, in bytes.
const MaxAgencyNameLen = 200

// ParseGenesis decodes and validates an app_state. Unknown fields are rejected so that a typo in a
// hand-edited genesis does not pass silently.
func ParseGenesis(b []byte) (Genesis, error) {
	var g Genesis
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&g); err != nil {
		return g, fmt.Errorf("%w: app_state: %v", ErrGenesis, err)
	}
	// dec.More would miss a trailing '}' or ']': only the end of the input may follow.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return g, fmt.Errorf("%w: app_state: trailing data", ErrGenesis)
	}
	return g, g.Validate()
}

// Validate checks the genesis state: valid parameters, well-formed unique agency IDs, printable names,
// at least one key per agency and no key shared between agencies.
func (g Genesis) Validate() error {
	if err := g.Params.validate(); err != nil {
		return fmt.Errorf("%w: %v", ErrGenesis, err)
	}
	ids := map[string]bool{}
	keys := map[store.Key]string{}
	for i, a := range g.Agencies {
		if err := ValidateAgencyID(a.ID); err != nil {
			return fmt.Errorf("%w: agency %d: %v", ErrGenesis, i, err)
		}
		if ids[a.ID] {
			return fmt.Errorf("%w: agency ID %q appears twice", ErrGenesis, a.ID)
		}
		ids[a.ID] = true
		if err := ValidateAgencyName(a.Name); err != nil {
			return fmt.Errorf("%w: agency %q: %v", ErrGenesis, a.ID, err)
		}
		if len(a.Keys) == 0 {
			return fmt.Errorf("%w: agency %q has no keys", ErrGenesis, a.ID)
		}
		for _, k := range a.Keys {
			if other, ok := keys[k]; ok {
				return fmt.Errorf("%w: key %x belongs to both %q and %q", ErrGenesis, k[:4], other, a.ID)
			}
			keys[k] = a.ID
		}
		if len(a.Retired) > 0 || a.Suspended {
			return fmt.Errorf("%w: agency %q: genesis agencies start active, with no retired keys", ErrGenesis, a.ID)
		}
	}
	return g.Consortium.validate(keys)
}

// ValidateAgencyID checks an agency ID: 1 to 64 characters of a-z, 0-9 and '-', not starting with '-'.
func ValidateAgencyID(id string) error {
	if !tx.ValidAgencyID(id) {
		return fmt.Errorf("agency ID %q must be 1 to 64 characters of a-z, 0-9 and '-', not starting with '-'", id)
	}
	return nil
}

// ValidateAgencyName checks a display name: 1 to MaxAgencyNameLen bytes of valid UTF-8 with no control
// characters. (Names are shown on web pages; escaping there is still the page's duty.)
func ValidateAgencyName(name string) error {
	if name == "" || len(name) > MaxAgencyNameLen {
		return fmt.Errorf("name must be 1 to %d bytes", MaxAgencyNameLen)
	}
	if !utf8.ValidString(name) {
		return errors.New("name is not valid UTF-8")
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return fmt.Errorf("name contains control character %U", r)
		}
	}
	return nil
}

// genesisHash is the app hash before the first block: it commits to the chain ID and the validated
// genesis state in its canonical JSON form.
func genesisHash(chainID string, g Genesis) ([]byte, error) {
	b, err := json.Marshal(g)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	h.Write([]byte("siegel/genesis/v1\n"))
	h.Write([]byte(chainID))
	h.Write([]byte{0})
	h.Write(b)
	return h.Sum(nil), nil
}
