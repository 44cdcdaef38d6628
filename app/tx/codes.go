package tx

import "fmt"

// Code is the result code of a transaction, as the node returns it from CheckTx and FinalizeBlock
// (codespace "siegel") and as clients report it.
type Code uint32

// The result codes. They are part of the protocol: never renumber them.
const (
	CodeOK              Code = 0
	CodeMalformed       Code = 1  // the bytes do not decode
	CodeOversized       Code = 2  // too many bytes or entries
	CodeBadSignature    Code = 3  // the signature does not verify
	CodeUnknownAgency   Code = 4  // the signing key belongs to no registered agency
	CodeReplayed        Code = 5  // the signer already used this nonce
	CodeExpired         Code = 6  // the expiry height has passed
	CodeDuplicateHash   Code = 7  // a document hash is already anchored (or twice in one block)
	CodeWrongChain      Code = 8  // signed for another chain
	CodeExpiryTooFar    Code = 9  // the expiry height is further ahead than the chain allows
	CodeNotAnchored     Code = 10 // a revocation names a document that is not anchored
	CodeNotOwner        Code = 11 // a revocation names a document another agency anchored
	CodeRevoked         Code = 12 // the document is already revoked
	CodeKeyRetired      Code = 13 // the signing key was retired
	CodeSuspended       Code = 14 // the signer's agency is suspended
	CodeNotOperator     Code = 15 // a governance transaction not signed by a consortium member's operator key
	CodeNoProposal      Code = 16 // an approval names an unknown proposal
	CodeProposalExpired Code = 17 // the proposal's deadline has passed
	CodeApproved        Code = 18 // this member already approved the proposal
	CodeClosed          Code = 19 // the proposal was already executed
	CodeInvalidAction   Code = 20 // the proposed action cannot apply to the current state
	CodeNoQuorum        Code = 21 // the validator-set change would leave no safe quorum
)

// Codespace is the ABCI codespace of Siegel's codes.
const Codespace = "siegel"

var codeNames = [...]string{
	CodeOK:              "ok",
	CodeMalformed:       "malformed",
	CodeOversized:       "oversized",
	CodeBadSignature:    "bad_signature",
	CodeUnknownAgency:   "unknown_agency",
	CodeReplayed:        "replayed",
	CodeExpired:         "expired",
	CodeDuplicateHash:   "duplicate_hash",
	CodeWrongChain:      "wrong_chain",
	CodeExpiryTooFar:    "expiry_too_far",
	CodeNotAnchored:     "not_anchored",
	CodeNotOwner:        "not_owner",
	CodeRevoked:         "already_revoked",
	CodeKeyRetired:      "key_retired",
	CodeSuspended:       "agency_suspended",
	CodeNotOperator:     "not_operator",
	CodeNoProposal:      "unknown_proposal",
	CodeProposalExpired: "proposal_expired",
	CodeApproved:        "already_approved",
	CodeClosed:          "proposal_closed",
	CodeInvalidAction:   "invalid_action",
	CodeNoQuorum:        "no_quorum",
}

// String returns the code's stable name, as used in JSON and metrics labels.
func (c Code) String() string {
	if c < Code(len(codeNames)) && codeNames[c] != "" {
		return codeNames[c]
	}
	return fmt.Sprintf("code_%d", uint32(c))
}
