package api

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/siegel-notary/siegel/app/tx"
)

// AgencyOptions tune the agency listener.
type AgencyOptions struct {
	// CommitWait is how long POST /v1/anchors waits for the commit before it answers "pending".
	// Default 20 s.
	CommitWait time.Duration
	// PublishWait bounds how long POST /v1/metadata waits for the document's anchor to be committed
	// before it answers 503. Default CommitWait, which the server's write timeout allows for.
	PublishWait time.Duration
}

// AgencyHandler serves the agency API: submissions of transactions and of metadata, transaction
// status, stored metadata (public and restricted), the agency registry and node status.
func AgencyHandler(b Backend, t *Tracker, o AgencyOptions, logger *slog.Logger) http.Handler {
	if o.CommitWait == 0 {
		o.CommitWait = 20 * time.Second
	}
	if o.PublishWait == 0 {
		o.PublishWait = o.CommitWait
	}
	a := &agency{b: b, t: t, o: o, log: logger}
	p := &public{b: b, log: logger}
	mux := http.NewServeMux()
	for _, rt := range agencyRoutes {
		mux.HandleFunc(rt.Pattern, method(rt.Method, rt.handler(a, p)))
	}
	mux.HandleFunc("/", notFound)
	return secure(mux)
}

// agencyRouteSpec is one route of the agency listener; handler picks its handler.
type agencyRouteSpec struct {
	Method, Pattern string
	handler         func(*agency, *public) http.HandlerFunc
}

// agencyRoutes are the routes of the agency listener. AgencyHandler registers exactly these; those the
// public listener lacks are served by agency APIs only, and clients route them so (agencyRoute).
var agencyRoutes = []agencyRouteSpec{
	{http.MethodGet, "/v1/status", func(_ *agency, p *public) http.HandlerFunc { return p.status }},
	{http.MethodPost, "/v1/anchors", func(a *agency, _ *public) http.HandlerFunc { return a.submit }},
	{http.MethodGet, "/v1/txs/{hash}", func(a *agency, _ *public) http.HandlerFunc { return a.txStatus }},
	{http.MethodPost, "/v1/metadata", func(a *agency, _ *public) http.HandlerFunc { return a.publishMetadata }},
	{http.MethodGet, "/v1/metadata/{hash}", func(a *agency, _ *public) http.HandlerFunc { return a.metadata }},
	// The registry, as on the public listener: a client finds the agency of its key here.
	{http.MethodGet, "/v1/agencies", func(_ *agency, p *public) http.HandlerFunc { return p.agencies }},
	{http.MethodGet, "/v1/agencies/{id}", func(_ *agency, p *public) http.HandlerFunc { return p.agency }},
}

// agencyOnly matches the requests that only an agency API serves: the routes of agencyRoutes that
// publicRoutes lacks, each with its method (GET also matching HEAD, as method allows).
var agencyOnly = func() *http.ServeMux {
	m := http.NewServeMux()
	for _, rt := range agencyRoutes {
		if !slices.ContainsFunc(publicRoutes, func(p route) bool { return p.Method == rt.Method && p.Pattern == rt.Pattern }) {
			m.HandleFunc(rt.Method+" "+rt.Pattern, func(http.ResponseWriter, *http.Request) {})
		}
	}
	return m
}()

type agency struct {
	b   Backend
	t   *Tracker
	o   AgencyOptions
	log *slog.Logger
}

// submit takes a signed transaction (the raw bytes, application/octet-stream) and answers 200 once it
// is committed, 422 if it is rejected (by CheckTx or in the block), 202 if it is still pending when
// CommitWait runs out, 503 if the node cannot take it now. Resubmitting the same bytes is safe: a
// transaction that is already committed is reported as committed. Each submission logs one line.
func (a *agency) submit(w http.ResponseWriter, r *http.Request) {
	ev := submission{r: r}
	defer func() { a.logSubmission(ev) }()
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, tx.MaxTxBytes))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		ev.status, ev.code = SubmitRejected, tx.CodeOversized.String()
		writeError(w, http.StatusRequestEntityTooLarge, tx.CodeOversized.String(), "a transaction is at most 1 MiB")
		return
	case err != nil:
		ev.status, ev.code = "bad_body", "bad_body"
		writeError(w, http.StatusBadRequest, "bad_body", "could not read the request body")
		return
	}
	t, err := tx.Decode(body)
	if err != nil {
		code := tx.CodeMalformed
		if errors.Is(err, tx.ErrOversized) {
			code = tx.CodeOversized
		}
		ev.status, ev.code = SubmitRejected, code.String()
		writeJSON(w, http.StatusUnprocessableEntity, SubmitResult{Status: SubmitRejected, Code: uint32(code), CodeName: code.String(), Message: err.Error()})
		return
	}
	h := sha256.Sum256(body)
	ev.tx, ev.hash = t, hex.EncodeToString(h[:])
	answer := func(status int, res SubmitResult) {
		ev.status, ev.code, ev.height = res.Status, res.CodeName, res.Height
		writeJSON(w, status, res)
	}
	done, cancel := a.t.wait(h)
	defer cancel()
	if o, err := a.b.TxResult(h); err == nil {
		answer(statusOf(o), resultOf(o))
		return
	}
	code, log, err := a.b.Submit(r.Context(), body)
	switch {
	case errors.Is(err, ErrAlreadySubmitted):
		// in the mempool already: wait for it like the first submitter
	case errors.Is(err, ErrUnavailable):
		ev.status, ev.err = "unavailable", err
		w.Header().Set("Retry-After", "2")
		writeError(w, http.StatusServiceUnavailable, "unavailable", err.Error())
		return
	case err != nil:
		ev.status, ev.err = "failed", err
		writeError(w, http.StatusInternalServerError, "internal", "submission failed")
		return
	case code != 0:
		answer(http.StatusUnprocessableEntity, SubmitResult{Status: SubmitRejected, TxHash: ev.hash, Code: code, CodeName: tx.Code(code).String(), Message: log})
		return
	}
	timer := time.NewTimer(a.o.CommitWait)
	defer timer.Stop()
	select {
	case o := <-done:
		answer(statusOf(o), resultOf(o))
	case <-timer.C:
		answer(http.StatusAccepted, SubmitResult{Status: SubmitPending, TxHash: ev.hash})
	case <-r.Context().Done():
		ev.status = "client_gone"
	}
}

// submission is what the log line of one POST /v1/anchors tells.
type submission struct {
	r      *http.Request
	tx     *tx.Tx // nil if the body did not decode
	hash   string // the transaction's SHA-256, hex
	status string // committed, rejected, pending, unavailable, failed, client_gone, bad_body
	code   string // the result code's name
	height uint64
	err    error
}

// logSubmission logs one line per submission: the transaction, the agency that signed it (when its key
// is registered; otherwise the key), the outcome, and who sent it. A failure of the node is an error,
// every other outcome info.
func (a *agency) logSubmission(ev submission) {
	attrs := make([]slog.Attr, 0, 10)
	if ev.hash != "" {
		attrs = append(attrs, slog.String("tx_hash", ev.hash))
	}
	if ev.tx != nil {
		attrs = append(attrs, slog.String("kind", ev.tx.Body.Kind().String()))
		id, err := a.b.AgencyOf(ev.tx.Signer)
		switch {
		case err == nil:
			attrs = append(attrs, slog.String("agency", id))
		case errors.Is(err, ErrNotFound):
			attrs = append(attrs, slog.String("signer", hex.EncodeToString(ev.tx.Signer[:])))
		default:
			a.log.Error("agency lookup failed", "err", err)
			attrs = append(attrs, slog.String("signer", hex.EncodeToString(ev.tx.Signer[:])))
		}
	}
	attrs = append(attrs, slog.String("status", ev.status))
	if ev.code != "" {
		attrs = append(attrs, slog.String("code", ev.code))
	}
	if ev.height != 0 {
		attrs = append(attrs, slog.Uint64("height", ev.height))
	}
	attrs = append(attrs, slog.String("remote", ev.r.RemoteAddr))
	if cs := ev.r.TLS; cs != nil && len(cs.PeerCertificates) > 0 {
		attrs = append(attrs, slog.String("client_cert", cs.PeerCertificates[0].Subject.String()))
	}
	level := slog.LevelInfo
	if ev.err != nil {
		attrs = append(attrs, slog.Any("err", ev.err))
		if ev.status == "failed" {
			level = slog.LevelError
		}
	}
	a.log.LogAttrs(ev.r.Context(), level, "submission", attrs...)
}

func statusOf(o TxOutcome) int {
	if o.Code != 0 {
		return http.StatusUnprocessableEntity
	}
	return http.StatusOK
}

// txStatus answers where a transaction landed: 200 committed, 422 rejected in a block, 404 unknown
// (not committed, perhaps still in a mempool).
func (a *agency) txStatus(w http.ResponseWriter, r *http.Request) {
	h, err := ParseHash(r.PathValue("hash"))
	if err != nil {
		writeError(w, http.StatusBadRequest, "malformed_hash", err.Error())
		return
	}
	o, err := a.b.TxResult(h)
	switch {
	case errors.Is(err, ErrNotFound):
		writeError(w, http.StatusNotFound, "unknown", "no committed transaction with this hash")
	case err != nil:
		a.log.Error("tx lookup failed", "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "lookup failed")
	default:
		writeJSON(w, statusOf(o), resultOf(o))
	}
}
