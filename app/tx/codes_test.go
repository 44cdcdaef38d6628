package tx_test

import (
	"math"
	"testing"

	"github.com/siegel-notary/siegel/app/tx"
)

// TestCodeString pins both the numbers and the names of the result codes: both are protocol.
func TestCodeString(t *testing.T) {
	tests := []struct {
		code tx.Code
		num  uint32
		name string
	}{
		{tx.CodeOK, 0, "ok"},
		{tx.CodeMalformed, 1, "malformed"},
		{tx.CodeOversized, 2, "oversized"},
		{tx.CodeBadSignature, 3, "bad_signature"},
		{tx.CodeUnknownAgency, 4, "unknown_agency"},
		{tx.CodeReplayed, 5, "replayed"},
		{tx.CodeExpired, 6, "expired"},
		{tx.CodeDuplicateHash, 7, "duplicate_hash"},
		{tx.CodeWrongChain, 8, "wrong_chain"},
		{tx.CodeExpiryTooFar, 9, "expiry_too_far"},
		{tx.CodeNotAnchored, 10, "not_anchored"},
		{tx.CodeNotOwner, 11, "not_owner"},
		{tx.CodeRevoked, 12, "already_revoked"},
		{tx.CodeKeyRetired, 13, "key_retired"},
		{tx.CodeSuspended, 14, "agency_suspended"},
		{tx.CodeNotOperator, 15, "not_operator"},
		{tx.CodeNoProposal, 16, "unknown_proposal"},
		{tx.CodeProposalExpired, 17, "proposal_expired"},
		{tx.CodeApproved, 18, "already_approved"},
		{tx.CodeClosed, 19, "proposal_closed"},
		{tx.CodeInvalidAction, 20, "invalid_action"},
		{tx.CodeNoQuorum, 21, "no_quorum"},
		{22, 22, "code_22"},
		{255, 255, "code_255"},
		{math.MaxInt32, math.MaxInt32, "code_2147483647"},
		// Codes with the top bit set once panicked on 32-bit platforms, where int(c) was negative.
		{1 << 31, 1 << 31, "code_2147483648"},
		{math.MaxUint32, math.MaxUint32, "code_4294967295"},
	}
	seen := map[string]tx.Code{}
	for _, tc := range tests {
		if uint32(tc.code) != tc.num {
			t.Fatalf("code %q is %d, want %d: codes must never be renumbered", tc.name, uint32(tc.code), tc.num)
		}
		if got := tc.code.String(); got != tc.name {
			t.Fatalf("Code(%d).String() = %q, want %q", tc.num, got, tc.name)
		}
		if prev, ok := seen[tc.name]; ok {
			t.Fatalf("codes %d and %d are both named %q", prev, tc.code, tc.name)
		}
		seen[tc.name] = tc.code
	}
	if tx.Codespace != "siegel" {
		t.Fatalf("Codespace = %q, want %q", tx.Codespace, "siegel")
	}
}

func TestKindString(t *testing.T) {
	tests := []struct {
		kind tx.Kind
		want string
	}{
		{tx.KindAnchor, "anchor"},
		{0, "kind(0)"},
		{tx.KindCheckpointSigs, "checkpoint-signatures"},
		{tx.KindRevoke, "revoke"},
		{tx.KindPropose, "propose"},
		{tx.KindApprove, "approve"},
		{tx.KindRotateKey, "rotate-key"},
		{7, "kind(7)"},
		{255, "kind(255)"},
	}
	for _, tc := range tests {
		if got := tc.kind.String(); got != tc.want {
			t.Fatalf("Kind(%d).String() = %q, want %q", uint8(tc.kind), got, tc.want)
		}
	}
	if got := (&tx.Anchor{}).Kind(); got != tx.KindAnchor {
		t.Fatalf("(*Anchor).Kind() = %v, want %v", got, tx.KindAnchor)
	}
}
