package tx

import (
	"encoding/binary"
	"fmt"

	"github.com/siegel-notary/siegel/receipt"
)

// KindCheckpointSigs carries validators' signatures on an earlier checkpoint. Only a block's proposer
// puts one, first, into a block (from the vote extensions it received); it is never submitted.
//
//	version(1) = 1 | kind(1) = 2 | height(8) | receipt.Signatures encoding
const KindCheckpointSigs Kind = 2

// CheckpointSigs is the body of a KindCheckpointSigs transaction.
type CheckpointSigs struct {
	Height     uint64
	Signatures receipt.Signatures
}

// Encode returns the transaction bytes.
func (c *CheckpointSigs) Encode() []byte {
	b := []byte{Version, byte(KindCheckpointSigs)}
	b = binary.BigEndian.AppendUint64(b, c.Height)
	return append(b, c.Signatures.Encode()...)
}

// PeekKind returns the kind byte of an encoded transaction, or 0 if there is none.
func PeekKind(b []byte) Kind {
	if len(b) < 2 || b[0] != Version {
		return 0
	}
	return Kind(b[1])
}

// DecodeCheckpointSigs parses a KindCheckpointSigs transaction strictly.
func DecodeCheckpointSigs(b []byte) (*CheckpointSigs, error) {
	if PeekKind(b) != KindCheckpointSigs || len(b) < 10 {
		return nil, fmt.Errorf("%w: not a checkpoint signatures transaction", ErrMalformed)
	}
	sigs, err := receipt.DecodeSignatures(b[10:])
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return &CheckpointSigs{Height: binary.BigEndian.Uint64(b[2:10]), Signatures: sigs}, nil
}
