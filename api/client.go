package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Client talks to one or more Siegel nodes. Calls go to the first node that answers; a node that is
// down, catching up or overloaded is skipped, with back-off between rounds.
type Client struct {
	URLs []string
	HTTP *http.Client
	// Retry bounds how long a call keeps trying nodes that are unavailable. Default 30 s.
	Retry time.Duration

	// notAgency holds the base URLs that answered a POST with 404 or 405: not an agency API (a public or
	// metrics listener given by mistake). The client skips them from then on for what only the agency
	// API serves (agencyRoute) and uses the other nodes.
	notAgency sync.Map
}

// NewClient returns a client for the given base URLs (e.g. http://127.0.0.1:8081), with Go's default
// TLS settings for https:// URLs (the system's roots, no client certificate).
func NewClient(urls ...string) *Client {
	return NewClientWith(ClientOptions{}, urls...)
}

// ClientOptions tune NewClientWith. The zero value gives NewClient's client.
type ClientOptions struct {
	// TLS is used for https:// URLs: RootCAs are the authorities whose node certificates are trusted
	// (nil: the system's), Certificates or GetClientCertificate the client certificate for a node that
	// asks for one. nil: Go's defaults.
	TLS *tls.Config
}

// NewClientWith returns a client for the given base URLs with the given options.
func NewClientWith(o ClientOptions, urls ...string) *Client {
	hc := &http.Client{Timeout: 60 * time.Second}
	if o.TLS != nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = o.TLS
		hc.Transport = tr
	}
	c := &Client{HTTP: hc, Retry: 30 * time.Second}
	for _, u := range urls {
		if u = strings.TrimRight(strings.TrimSpace(u), "/"); u != "" {
			c.URLs = append(c.URLs, u)
		}
	}
	return c
}

// APIError is an error answer from a node.
type APIError struct {
	Status  int
	Code    string
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("HTTP %d %s: %s", e.Status, e.Code, e.Message)
}

// permanent tells whether a transport error would recur on every try of the same node: TLS that
// cannot succeed (the node's certificate is not trusted or does not fit, the node refused or asked for
// a client certificate, no common TLS version) or https:// to a node that speaks plain HTTP. The client
// tries the other nodes but not again.
func permanent(err error) bool {
	var (
		verify  *tls.CertificateVerificationError
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		invalid x509.CertificateInvalidError
		op      *net.OpError
	)
	switch {
	case errors.As(err, &verify), errors.As(err, &unknown), errors.As(err, &host), errors.As(err, &invalid):
		return true
	case errors.Is(err, http.ErrSchemeMismatch):
		return true
	case errors.As(err, &op) && op.Op == "remote error": // a TLS alert from the node
		return true
	}
	return false
}

// retryable tells whether another node (or a later try) may succeed.
func retryable(status int) bool {
	return status == http.StatusServiceUnavailable || status == http.StatusTooManyRequests ||
		status == http.StatusBadGateway || status == http.StatusGatewayTimeout
}

// do sends the request to each node in turn until one gives an answer that is not retryable, and
// decodes a 2xx or 422 body into out. A node that has no route for a POST (404, 405) is not an agency
// API: it is skipped, for that request and for later ones that only an agency API serves. It returns the HTTP status of the answer it used.
func (c *Client) do(ctx context.Context, method, path string, body []byte, out any) (int, error) {
	if len(c.URLs) == 0 {
		return 0, errors.New("api: no node URL given")
	}
	deadline := time.Now().Add(c.Retry)
	backoff := 200 * time.Millisecond
	var lastErr error
	agencyOnly := agencyRoute(method, path)
	for {
		failed := 0 // nodes that failed for good in this round
		for _, base := range c.URLs {
			if _, skip := c.notAgency.Load(base); skip && agencyOnly {
				failed++
				if lastErr == nil {
					lastErr = fmt.Errorf("%s: not an agency API (it had no route for an earlier request)", base)
				}
				continue
			}
			status, err := c.once(ctx, method, base+path, body, out)
			if err == nil {
				return status, nil
			}
			var ae *APIError
			if errors.As(err, &ae) && agencyOnly && noRoute(method, ae) {
				// Not an agency API (a public or metrics listener): another node may be one.
				c.notAgency.Store(base, true)
				lastErr = fmt.Errorf("%s: not an agency API for %s: %w", base, path, err)
				failed++
				continue
			}
			if errors.As(err, &ae) && !retryable(ae.Status) {
				return status, err
			}
			if ctx.Err() != nil {
				return 0, ctx.Err()
			}
			lastErr = fmt.Errorf("%s: %w", base, err)
			if permanent(err) {
				failed++
			}
		}
		if failed == len(c.URLs) {
			return 0, fmt.Errorf("api: %w", lastErr)
		}
		if time.Now().Add(backoff).After(deadline) {
			return 0, fmt.Errorf("api: no node answered: %w", lastErr)
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return 0, ctx.Err()
		}
		backoff = min(backoff*2, 3*time.Second)
	}
}

// agencyRoute tells whether only an agency API serves the request: a route of the agency listener that
// the public one lacks (agencyOnly). path may carry a query.
func agencyRoute(method, path string) bool {
	u, err := url.Parse(path)
	if err != nil {
		return false
	}
	_, pattern := agencyOnly.Handler(&http.Request{Method: method, URL: u})
	return pattern != ""
}

// noRoute tells whether an answer says the node has no such route: 405, or 404 other than the
// "unknown" that agency routes answer for a resource they lack (a POST has no resource to lack).
func noRoute(method string, ae *APIError) bool {
	return ae.Status == http.StatusMethodNotAllowed ||
		ae.Status == http.StatusNotFound && (method == http.MethodPost || ae.Code != "unknown")
}

func (c *Client) once(ctx context.Context, method, url string, body []byte, out any) (int, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/octet-stream")
	}
	req.Header.Set("Accept", "application/json")
	hc := c.HTTP
	if hc == nil { // a Client literal without HTTP
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return resp.StatusCode, err
	}
	if resp.StatusCode/100 == 2 || resp.StatusCode == http.StatusUnprocessableEntity {
		if err := json.Unmarshal(b, out); err != nil {
			return resp.StatusCode, fmt.Errorf("api: bad answer from %s: %w", url, err)
		}
		return resp.StatusCode, nil
	}
	var eb ErrorBody
	if json.Unmarshal(b, &eb) != nil || eb.Error.Code == "" {
		eb.Error.Code, eb.Error.Message = "http_error", strings.TrimSpace(string(b))
	}
	return resp.StatusCode, &APIError{Status: resp.StatusCode, Code: eb.Error.Code, Message: eb.Error.Message}
}

// Status returns GET /v1/status of the first node that answers.
func (c *Client) Status(ctx context.Context) (Status, error) {
	var s Status
	_, err := c.do(ctx, http.MethodGet, "/v1/status", nil, &s)
	return s, err
}

// Anchor looks up a document hash. found is false for an unknown hash.
func (c *Client) Anchor(ctx context.Context, doc [32]byte) (v AnchorView, found bool, err error) {
	_, err = c.do(ctx, http.MethodGet, "/v1/anchors/"+hex.EncodeToString(doc[:]), nil, &v)
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		return v, false, nil
	}
	return v, err == nil, err
}

// Submit sends a signed transaction and waits until it is committed or rejected, or until ctx ends.
// It resubmits the same bytes to other nodes when one is unavailable, and polls while the answer is
// "pending"; a transaction that turns out to be committed already is reported as committed, once.
func (c *Client) Submit(ctx context.Context, tx []byte) (SubmitResult, error) {
	h := sha256.Sum256(tx)
	path := "/v1/txs/" + hex.EncodeToString(h[:])
	for {
		var r SubmitResult
		_, err := c.do(ctx, http.MethodPost, "/v1/anchors", tx, &r)
		if err != nil {
			return r, err
		}
		if r.Status != SubmitPending {
			return r, nil
		}
		// Pending: the transaction is in a mempool. Ask where it landed, then offer it again (which is
		// harmless: the same bytes are never applied twice).
		for i := 0; i < 5; i++ {
			select {
			case <-ctx.Done():
				return r, ctx.Err()
			case <-time.After(time.Second):
			}
			var q SubmitResult
			if _, err := c.do(ctx, http.MethodGet, path, nil, &q); err == nil {
				return q, nil
			}
		}
	}
}

// Receipt fetches the JSON receipt file of a document hash (also for an unknown hash: an absence
// proof). It waits and retries while the node has no signed checkpoint yet.
func (c *Client) Receipt(ctx context.Context, doc [32]byte) (json.RawMessage, error) {
	var raw json.RawMessage
	_, err := c.do(ctx, http.MethodGet, "/v1/anchors/"+hex.EncodeToString(doc[:])+"/receipt", nil, &raw)
	return raw, err
}

// Agencies lists the registered agencies.
func (c *Client) Agencies(ctx context.Context) ([]AgencyView, error) {
	var v struct {
		Agencies []AgencyView `json:"agencies"`
	}
	_, err := c.do(ctx, http.MethodGet, "/v1/agencies", nil, &v)
	return v.Agencies, err
}

// Proposals lists the governance proposals.
func (c *Client) Proposals(ctx context.Context) ([]ProposalView, error) {
	var v struct {
		Proposals []ProposalView `json:"proposals"`
	}
	_, err := c.do(ctx, http.MethodGet, "/v1/governance/proposals", nil, &v)
	return v.Proposals, err
}

// PublishMetadata sends a signed metadata message (tx.Metadata's encoding) to the agency API and waits
// until the node has checked it against the chain, stored and gossiped it; a node that cannot take it
// now is skipped or asked again, as for Submit. A message the chain does not back is a *RejectedError
// whose Reason is the node's reason (not_anchored, digest_mismatch, ...); one that is not a metadata
// message at all is an *APIError (400 malformed, 413 oversized).
func (c *Client) PublishMetadata(ctx context.Context, raw []byte) (MetadataPublished, error) {
	var out struct {
		MetadataPublished
		ErrorBody
	}
	status, err := c.do(ctx, http.MethodPost, "/v1/metadata", raw, &out)
	if err != nil {
		return MetadataPublished{}, err
	}
	if status == http.StatusUnprocessableEntity {
		if out.Error.Code == "" {
			return MetadataPublished{}, errors.New("api: a 422 answer without an error code")
		}
		return MetadataPublished{}, &RejectedError{Reason: out.Error.Code, Err: errors.New(out.Error.Message)}
	}
	return out.MetadataPublished, nil
}

// Metadata returns the metadata a node stores for a document, public or restricted (agency API). It
// returns an error that wraps ErrNotFound when the node stores none. Check the answer with
// MetadataView.Check before relying on it.
func (c *Client) Metadata(ctx context.Context, doc [32]byte) (*MetadataView, error) {
	var v MetadataView
	_, err := c.do(ctx, http.MethodGet, "/v1/metadata/"+hex.EncodeToString(doc[:]), nil, &v)
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound && ae.Code == "unknown" {
		return nil, fmt.Errorf("metadata of %x: %w", doc[:8], ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	return &v, nil
}
