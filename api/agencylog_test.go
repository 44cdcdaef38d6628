package api

import (
	"bytes"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/siegel-notary/siegel/app/tx"
)

func (f *fakeBackend) AgencyOf(key [32]byte) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if id, ok := f.signers[key]; ok {
		return id, nil
	}
	return "", ErrNotFound
}

// syncBuffer is a bytes.Buffer safe for a logger and a test reading it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// lines returns the JSON log records written so far.
func (s *syncBuffer) lines(t *testing.T) []map[string]any {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.b.String()), "\n") {
		if l == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		out = append(out, m)
	}
	return out
}

// TestSubmitLog checks the one log line each submission writes: the transaction, the agency that
// signed it (or the unknown key), the outcome and its code, and the height when it committed.
func TestSubmitLog(t *testing.T) {
	signer := [32]byte(seededKey(1).Public().(ed25519.PublicKey))
	for _, tc := range []struct {
		name  string
		setup func(r *agencyRig, h [32]byte) <-chan struct{}
		body  func(t *testing.T) ([]byte, [32]byte)
		want  map[string]any // attributes that must be there, with their values
		level string
	}{
		{
			name: "committed",
			setup: func(r *agencyRig, h [32]byte) <-chan struct{} {
				return r.notifyOnSubmit(t, TxOutcome{Hash: h, Height: 9})
			},
			want:  map[string]any{"agency": "gym-1", "status": "committed", "code": "ok", "height": 9.0, "kind": "anchor"},
			level: "INFO",
		},
		{
			name: "rejected by CheckTx",
			setup: func(r *agencyRig, _ [32]byte) <-chan struct{} {
				r.f.submitCode, r.f.submitLog = uint32(tx.CodeDuplicateHash), "already anchored"
				return nil
			},
			want:  map[string]any{"agency": "gym-1", "status": "rejected", "code": "duplicate_hash"},
			level: "INFO",
		},
		{
			name: "rejected in the block",
			setup: func(r *agencyRig, h [32]byte) <-chan struct{} {
				return r.notifyOnSubmit(t, TxOutcome{Hash: h, Height: 11, Code: uint32(tx.CodeReplayed)})
			},
			want:  map[string]any{"agency": "gym-1", "status": "rejected", "code": "replayed", "height": 11.0},
			level: "INFO",
		},
		{
			name: "unknown key",
			setup: func(r *agencyRig, _ [32]byte) <-chan struct{} {
				r.f.signers = nil
				r.f.submitCode = uint32(tx.CodeUnknownAgency)
				return nil
			},
			want:  map[string]any{"signer": fmt.Sprintf("%x", signer), "status": "rejected", "code": "unknown_agency"},
			level: "INFO",
		},
		{
			name:  "node failure",
			setup: func(r *agencyRig, _ [32]byte) <-chan struct{} { r.f.submitErr = errors.New("disk on fire"); return nil },
			want:  map[string]any{"agency": "gym-1", "status": "failed", "err": "disk on fire"},
			level: "ERROR",
		},
		{
			name:  "malformed",
			body:  func(*testing.T) ([]byte, [32]byte) { return []byte("not a transaction"), [32]byte{} },
			want:  map[string]any{"status": "rejected", "code": "malformed"},
			level: "INFO",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var buf syncBuffer
			f := newFakeBackend()
			f.signers = map[[32]byte]string{signer: "gym-1"}
			tr := NewTracker()
			r := &agencyRig{f: f, t: tr, h: AgencyHandler(f, tr, AgencyOptions{CommitWait: waitLimit}, slog.New(slog.NewJSONHandler(&buf, nil)))}
			body, h := signedTx(t, 1)
			if tc.body != nil {
				body, h = tc.body(t)
			}
			var done <-chan struct{}
			if tc.setup != nil {
				done = tc.setup(r, h)
			}
			rec := serve(t, r.h, http.MethodPost, "/v1/anchors", bytes.NewReader(body))
			if done != nil {
				<-done
			}
			lines := buf.lines(t)
			if len(lines) != 1 {
				t.Fatalf("%d log lines, want 1: %v (answer %d %s)", len(lines), lines, rec.Code, rec.Body)
			}
			l := lines[0]
			if l["msg"] != "submission" || l["level"] != tc.level {
				t.Errorf("msg %v level %v, want submission %s", l["msg"], l["level"], tc.level)
			}
			for k, v := range tc.want {
				if l[k] != v {
					t.Errorf("%s = %v, want %v (line %v)", k, l[k], v, l)
				}
			}
			if tc.body == nil && l["tx_hash"] != hexOf(h) {
				t.Errorf("tx_hash = %v, want %s", l["tx_hash"], hexOf(h))
			}
			if _, ok := l["remote"]; !ok {
				t.Errorf("no remote address in %v", l)
			}
		})
	}
}
