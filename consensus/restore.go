package consensus

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"

	cmtjson "github.com/cometbft/cometbft/libs/json"
	"github.com/cometbft/cometbft/privval"
)

// SignState is a validator's last signed height, round and step (priv_validator_state.json): its
// FilePV signs nothing at or below it.
type SignState struct {
	Height int64
	Round  int32
	Step   int8
}

// Before reports whether s comes before o in the order in which a validator signs.
func (s SignState) Before(o SignState) bool {
	if s.Height != o.Height {
		return s.Height < o.Height
	}
	if s.Round != o.Round {
		return s.Round < o.Round
	}
	return s.Step < o.Step
}

// ReadSignState reads a priv_validator_state.json.
func ReadSignState(path string) (SignState, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return SignState{}, fmt.Errorf("consensus: %w", err)
	}
	var s privval.FilePVLastSignState
	if err := cmtjson.Unmarshal(b, &s); err != nil {
		return SignState{}, fmt.Errorf("consensus: %s: not a validator sign state: %w", path, err)
	}
	if s.Height < 0 || s.Round < 0 || s.Step < 0 || s.Step > 3 {
		return SignState{}, fmt.Errorf("consensus: %s: impossible sign state (height %d, round %d, step %d)", path, s.Height, s.Round, s.Step)
	}
	return SignState{Height: s.Height, Round: s.Round, Step: s.Step}, nil
}

var doubleSignLine = regexp.MustCompile(`(?m)^[ \t]*double_sign_check_height[ \t]*=.*$`)
var consensusTable = regexp.MustCompile(`(?m)^[ \t]*\[consensus\][ \t]*(#.*)?$`)

// SetDoubleSignCheckHeight sets consensus.double_sign_check_height in home's config.toml, leaving the
// rest of the file as it is, and checks that the file then loads with that value. With n > 0, before
// it joins consensus the node looks for its own validator's signature in the commits of the last n
// blocks and refuses to start (CometBFT panics with "found signature from the same key") if it finds
// one: another process is, or was until moments ago, signing with the same key.
func SetDoubleSignCheckHeight(home string, n int64) error {
	path := filepath.Join(home, "config", "config.toml")
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("consensus: %w", err)
	}
	line := fmt.Sprintf("double_sign_check_height = %d", n)
	switch {
	case doubleSignLine.Match(b):
		b = doubleSignLine.ReplaceAll(b, []byte(line))
	case consensusTable.Match(b):
		loc := consensusTable.FindIndex(b)
		b = append(b[:loc[1]:loc[1]], append([]byte("\n"+line), b[loc[1]:]...)...)
	default:
		b = append(b, []byte("\n[consensus]\n"+line+"\n")...)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("consensus: %w", err)
	}
	if err := os.WriteFile(path, b, fi.Mode().Perm()); err != nil {
		return fmt.Errorf("consensus: %w", err)
	}
	c, err := LoadConfig(home)
	if err != nil {
		return err
	}
	if c.Consensus.DoubleSignCheckHeight != n {
		return fmt.Errorf("consensus: %s: double_sign_check_height reads back as %d, not %d", path, c.Consensus.DoubleSignCheckHeight, n)
	}
	return nil
}
