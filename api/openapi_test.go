package api

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/big"
	"mime"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/siegel-notary/siegel/app/tx"
	"github.com/siegel-notary/siegel/receipt"
)

// A model of the parts of an OpenAPI 3.0 document the tests use.
type oaDoc struct {
	OpenAPI    string                `json:"openapi"`
	Servers    []oaServer            `json:"servers"`
	Paths      map[string]oaPathItem `json:"paths"`
	Components struct {
		Schemas    map[string]*oaSchema    `json:"schemas"`
		Responses  map[string]*oaResponse  `json:"responses"`
		Parameters map[string]*oaParameter `json:"parameters"`
		Headers    map[string]*oaHeader    `json:"headers"`
	} `json:"components"`
}

type oaServer struct {
	URL string `json:"url"`
}

type oaPathItem struct {
	Servers []oaServer   `json:"servers"`
	Get     *oaOperation `json:"get"`
	Head    *oaOperation `json:"head"`
	Post    *oaOperation `json:"post"`
	Put     *oaOperation `json:"put"`
	Patch   *oaOperation `json:"patch"`
	Delete  *oaOperation `json:"delete"`
	Options *oaOperation `json:"options"`
}

// ops returns the item's operations by HTTP method.
func (p oaPathItem) ops() map[string]*oaOperation {
	out := map[string]*oaOperation{}
	for m, op := range map[string]*oaOperation{http.MethodGet: p.Get, http.MethodHead: p.Head, http.MethodPost: p.Post,
		http.MethodPut: p.Put, http.MethodPatch: p.Patch, http.MethodDelete: p.Delete, http.MethodOptions: p.Options} {
		if op != nil {
			out[m] = op
		}
	}
	return out
}

type oaOperation struct {
	OperationID string                 `json:"operationId"`
	Tags        []string               `json:"tags"`
	Parameters  []*oaParameter         `json:"parameters"`
	RequestBody *oaRequestBody         `json:"requestBody"`
	Responses   map[string]*oaResponse `json:"responses"`
}

func (op *oaOperation) tagged(tag string) bool { return slices.Contains(op.Tags, tag) }

type oaRequestBody struct {
	Required bool               `json:"required"`
	Content  map[string]oaMedia `json:"content"`
}

type oaParameter struct {
	Ref      string    `json:"$ref"`
	Name     string    `json:"name"`
	In       string    `json:"in"`
	Required bool      `json:"required"`
	Schema   *oaSchema `json:"schema"`
}

type oaResponse struct {
	Ref         string               `json:"$ref"`
	Description string               `json:"description"`
	Headers     map[string]*oaHeader `json:"headers"`
	Content     map[string]oaMedia   `json:"content"`
}

type oaHeader struct {
	Ref      string    `json:"$ref"`
	Required bool      `json:"required"`
	Schema   *oaSchema `json:"schema"`
}

type oaMedia struct {
	Schema *oaSchema `json:"schema"`
}

type oaSchema struct {
	Ref                  string               `json:"$ref"`
	Type                 string               `json:"type"`
	Format               string               `json:"format"`
	Pattern              string               `json:"pattern"`
	Enum                 []any                `json:"enum"`
	Required             []string             `json:"required"`
	Properties           map[string]*oaSchema `json:"properties"`
	AdditionalProperties json.RawMessage      `json:"additionalProperties"` // false, true or a schema
	Items                *oaSchema            `json:"items"`
	Nullable             bool                 `json:"nullable"`
	Minimum              *float64             `json:"minimum"`
	Maximum              *float64             `json:"maximum"`
	MinLength            *int                 `json:"minLength"`
	MaxLength            *int                 `json:"maxLength"`
}

// loadOpenAPI parses the embedded document.
func loadOpenAPI(t *testing.T) *oaDoc {
	t.Helper()
	var d oaDoc
	if err := json.Unmarshal(openAPIDocument, &d); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	return &d
}

// refName returns the component name of a local reference of the given kind.
func refName(ref, kind string) (string, error) {
	name, ok := strings.CutPrefix(ref, "#/components/"+kind+"/")
	if !ok || name == "" || strings.Contains(name, "/") {
		return "", fmt.Errorf("reference %q is not to components/%s", ref, kind)
	}
	return name, nil
}

func (d *oaDoc) schema(s *oaSchema) (*oaSchema, error) {
	for i := 0; s != nil && s.Ref != ""; i++ {
		name, err := refName(s.Ref, "schemas")
		if err != nil {
			return nil, err
		}
		next, ok := d.Components.Schemas[name]
		if !ok || i > 16 {
			return nil, fmt.Errorf("unresolved schema reference %q", s.Ref)
		}
		s = next
	}
	if s == nil {
		return nil, errors.New("no schema")
	}
	return s, nil
}

func (d *oaDoc) response(r *oaResponse) (*oaResponse, error) {
	return resolveRef(r, "responses", d.Components.Responses, func(r *oaResponse) string { return r.Ref })
}

func (d *oaDoc) parameter(p *oaParameter) (*oaParameter, error) {
	return resolveRef(p, "parameters", d.Components.Parameters, func(p *oaParameter) string { return p.Ref })
}

func (d *oaDoc) header(h *oaHeader) (*oaHeader, error) {
	return resolveRef(h, "headers", d.Components.Headers, func(h *oaHeader) string { return h.Ref })
}

// resolveRef returns x, or the component of kind (e.g. "headers") in comps that x refers to when it is
// a reference; a reference to a reference is not resolved.
func resolveRef[T any](x *T, kind string, comps map[string]*T, ref func(*T) string) (*T, error) {
	if x == nil || ref(x) == "" {
		return x, nil
	}
	name, err := refName(ref(x), kind)
	if err != nil {
		return nil, err
	}
	if c, ok := comps[name]; ok && ref(c) == "" {
		return c, nil
	}
	return nil, fmt.Errorf("unresolved %s reference %q", strings.TrimSuffix(kind, "s"), ref(x))
}

var (
	patternsMu sync.Mutex
	patterns   = map[string]*regexp.Regexp{}
)

func compiled(p string) (*regexp.Regexp, error) {
	patternsMu.Lock()
	defer patternsMu.Unlock()
	if re, ok := patterns[p]; ok {
		return re, nil
	}
	re, err := regexp.Compile(p)
	if err != nil {
		return nil, err
	}
	patterns[p] = re
	return re, nil
}

// validate checks a JSON value (decoded with UseNumber) against schema s and returns what does not
// match, each problem prefixed with its place in the value (at is that of v, e.g. "$.agency.name").
func (d *oaDoc) validate(at string, s *oaSchema, v any) []string {
	s, err := d.schema(s)
	if err != nil {
		return []string{at + ": " + err.Error()}
	}
	if v == nil {
		if s.Nullable {
			return nil
		}
		return []string{fmt.Sprintf("%s: null, want %s", at, s.Type)}
	}
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, at+": "+fmt.Sprintf(format, args...)) }
	switch s.Type {
	case "object":
		obj, ok := v.(map[string]any)
		if !ok {
			bad("want an object, got %s", jsonKind(v))
			return errs
		}
		for _, k := range s.Required {
			if _, ok := obj[k]; !ok {
				bad("required property %q missing", k)
			}
		}
		for _, k := range slices.Sorted(maps.Keys(obj)) {
			if ps, ok := s.Properties[k]; ok {
				errs = append(errs, d.validate(at+"."+k, ps, obj[k])...)
				continue
			}
			switch ap := string(bytes.TrimSpace(s.AdditionalProperties)); {
			case ap == "false":
				bad("property %q is not documented", k)
			case ap == "" || ap == "true":
			default:
				var extra oaSchema
				if err := json.Unmarshal(s.AdditionalProperties, &extra); err != nil {
					bad("additionalProperties: %v", err)
				} else {
					errs = append(errs, d.validate(at+"."+k, &extra, obj[k])...)
				}
			}
		}
	case "array":
		arr, ok := v.([]any)
		if !ok {
			bad("want an array, got %s", jsonKind(v))
			return errs
		}
		if s.Items == nil {
			bad("the schema of an array has no items")
			return errs
		}
		for i, x := range arr {
			errs = append(errs, d.validate(fmt.Sprintf("%s[%d]", at, i), s.Items, x)...)
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			bad("want a string, got %s", jsonKind(v))
			return errs
		}
		errs = append(errs, d.checkString(at, s, str)...)
	case "integer", "number":
		n, ok := v.(json.Number)
		if !ok {
			bad("want %s, got %s", s.Type, jsonKind(v))
			return errs
		}
		errs = append(errs, checkNumber(at, s, n)...)
	case "boolean":
		if _, ok := v.(bool); !ok {
			bad("want a boolean, got %s", jsonKind(v))
		}
	default:
		bad("schema has no (or an unknown) type %q", s.Type)
	}
	if len(s.Enum) > 0 && !slices.ContainsFunc(s.Enum, func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(v) }) {
		bad("%v is none of the documented values %v", v, s.Enum)
	}
	return errs
}

func (d *oaDoc) checkString(at string, s *oaSchema, str string) []string {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, at+": "+fmt.Sprintf(format, args...)) }
	if s.Pattern != "" {
		re, err := compiled(s.Pattern)
		if err != nil {
			bad("pattern %q: %v", s.Pattern, err)
		} else if !re.MatchString(str) {
			bad("%q does not match the pattern %s", str, s.Pattern)
		}
	}
	if n := utf8.RuneCountInString(str); (s.MinLength != nil && n < *s.MinLength) || (s.MaxLength != nil && n > *s.MaxLength) {
		bad("length %d is out of the documented bounds", n)
	}
	switch s.Format {
	case "date-time":
		if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
			bad("%q is not an RFC 3339 date-time", str)
		}
	case "byte":
		if _, err := base64.StdEncoding.DecodeString(str); err != nil {
			bad("%q is not base64", str)
		}
	}
	return errs
}

func checkNumber(at string, s *oaSchema, n json.Number) []string {
	var errs []string
	f, ok := new(big.Float).SetString(n.String())
	if !ok {
		return []string{fmt.Sprintf("%s: %s is not a number", at, n)}
	}
	if s.Type == "integer" && !f.IsInt() {
		errs = append(errs, fmt.Sprintf("%s: %s is not an integer", at, n))
	}
	if s.Minimum != nil && f.Cmp(big.NewFloat(*s.Minimum)) < 0 {
		errs = append(errs, fmt.Sprintf("%s: %s is below the minimum %v", at, n, *s.Minimum))
	}
	if s.Maximum != nil && f.Cmp(big.NewFloat(*s.Maximum)) > 0 {
		errs = append(errs, fmt.Sprintf("%s: %s is above the maximum %v", at, n, *s.Maximum))
	}
	return errs
}

func jsonKind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}

// validateHeader checks a header value against its documented schema.
func (d *oaDoc) validateHeader(at string, s *oaSchema, v string) []string {
	s, err := d.schema(s)
	if err != nil {
		return []string{at + ": " + err.Error()}
	}
	switch s.Type {
	case "integer", "number":
		if _, err := strconv.ParseInt(v, 10, 64); s.Type == "integer" && err != nil {
			return []string{fmt.Sprintf("%s: %q is not an integer", at, v)}
		}
		return d.validate(at, s, json.Number(v))
	}
	return d.validate(at, s, v)
}

// publicOps returns the operations tagged "public", keyed "METHOD /path".
func (d *oaDoc) publicOps() map[string]*oaOperation {
	out := map[string]*oaOperation{}
	for path, item := range d.Paths {
		for m, op := range item.ops() {
			if op.tagged("public") {
				out[m+" "+path] = op
			}
		}
	}
	return out
}

// op returns the documented operation "METHOD /path".
func (d *oaDoc) op(t *testing.T, key string) *oaOperation {
	t.Helper()
	m, path, _ := strings.Cut(key, " ")
	op := d.Paths[path].ops()[m]
	if op == nil {
		t.Fatalf("openapi.json does not document %s", key)
	}
	return op
}

// TestOpenAPIDocument checks the document on its own: references resolve, operations are complete,
// and every public operation documents the answers that every public request may get.
func TestOpenAPIDocument(t *testing.T) {
	d := loadOpenAPI(t)
	if d.OpenAPI != "3.0.3" {
		t.Errorf("openapi = %q, want 3.0.3", d.OpenAPI)
	}
	// Every $ref anywhere in the document points to something.
	var raw any
	if err := json.Unmarshal(openAPIDocument, &raw); err != nil {
		t.Fatal(err)
	}
	var walk func(at string, v any)
	walk = func(at string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				if !resolvesPointer(raw, ref) {
					t.Errorf("%s: $ref %q resolves to nothing", at, ref)
				}
				if len(v) != 1 {
					t.Errorf("%s: keys beside $ref are ignored by OpenAPI 3.0: %v", at, slices.Sorted(maps.Keys(v)))
				}
			}
			for k, x := range v {
				walk(at+"/"+k, x)
			}
		case []any:
			for i, x := range v {
				walk(fmt.Sprintf("%s/%d", at, i), x)
			}
		}
	}
	walk("#", raw)
	for name, s := range d.Components.Schemas {
		checkSchemaTyped(t, d, "components/schemas/"+name, s)
	}

	ids := map[string]string{}
	wildcard := regexp.MustCompile(`\{([^}]+)\}`)
	for path, item := range d.Paths {
		for m, op := range item.ops() {
			key := m + " " + path
			if op.OperationID == "" {
				t.Errorf("%s: no operationId", key)
			} else if other, dup := ids[op.OperationID]; dup {
				t.Errorf("%s: operationId %q also names %s", key, op.OperationID, other)
			}
			ids[op.OperationID] = key
			if len(op.Tags) == 0 || slices.ContainsFunc(op.Tags, func(s string) bool { return s != "public" && s != "agency" }) {
				t.Errorf("%s: tags %v, want public and/or agency", key, op.Tags)
			}
			if !op.tagged("public") && len(item.Servers) == 0 {
				t.Errorf("%s: an agency-only path needs servers naming the agency listener", key)
			}
			declared := map[string]bool{}
			for _, p := range op.Parameters {
				p, err := d.parameter(p)
				if err != nil {
					t.Errorf("%s: %v", key, err)
					continue
				}
				if p.Schema == nil {
					t.Errorf("%s: parameter %q has no schema", key, p.Name)
				}
				if p.In == "path" {
					declared[p.Name] = true
					if !p.Required {
						t.Errorf("%s: path parameter %q must be required", key, p.Name)
					}
				}
			}
			for _, w := range wildcard.FindAllStringSubmatch(path, -1) {
				if !declared[w[1]] {
					t.Errorf("%s: path parameter {%s} is not declared", key, w[1])
				}
				delete(declared, w[1])
			}
			if len(declared) > 0 {
				t.Errorf("%s: path parameters %v are not in the path", key, declared)
			}
			checkResponses(t, d, key, op)
		}
	}
}

// checkResponses checks an operation's responses: a description each, errors in the ErrorBody form,
// Retry-After with 429 and 503, and on public operations the statuses every request may get and a
// Cache-Control header on every answer.
func checkResponses(t *testing.T, d *oaDoc, key string, op *oaOperation) {
	t.Helper()
	if op.tagged("public") {
		for _, s := range []string{"200", "405", "413", "414", "429"} {
			if op.Responses[s] == nil {
				t.Errorf("%s: no %s response: every public route can answer it", key, s)
			}
		}
	}
	for status, r := range op.Responses {
		r, err := d.response(r)
		if err != nil {
			t.Errorf("%s %s: %v", key, status, err)
			continue
		}
		code, err := strconv.Atoi(status)
		if err != nil || code < 100 || code > 599 {
			t.Errorf("%s: response key %q is not an HTTP status", key, status)
		}
		if r.Description == "" {
			t.Errorf("%s %s: no description", key, status)
		}
		if code >= 400 && !slices.Contains([]int{422}, code) {
			if m, ok := r.Content["application/json"]; !ok || m.Schema == nil || m.Schema.Ref != "#/components/schemas/ErrorBody" {
				t.Errorf("%s %s: an error answer must have the ErrorBody schema", key, status)
			}
		}
		if code == 429 || code == 503 {
			if h, err := d.header(r.Headers["Retry-After"]); err != nil || h == nil || !h.Required {
				t.Errorf("%s %s: no required Retry-After header (%v)", key, status, err)
			}
		}
		for name, h := range r.Headers {
			if h, err := d.header(h); err != nil || h.Schema == nil {
				t.Errorf("%s %s: header %s: no schema (%v)", key, status, name, err)
			}
		}
		if op.tagged("public") && r.Headers["Cache-Control"] == nil {
			t.Errorf("%s %s: public answers all carry Cache-Control: document it", key, status)
		}
	}
}

func checkSchemaTyped(t *testing.T, d *oaDoc, at string, s *oaSchema) {
	t.Helper()
	if s == nil {
		t.Errorf("%s: no schema", at)
		return
	}
	if s.Ref != "" {
		if _, err := d.schema(s); err != nil {
			t.Errorf("%s: %v", at, err)
		}
		return
	}
	if !slices.Contains([]string{"object", "array", "string", "integer", "number", "boolean"}, s.Type) {
		t.Errorf("%s: type %q", at, s.Type)
	}
	if s.Pattern != "" {
		if _, err := compiled(s.Pattern); err != nil {
			t.Errorf("%s: pattern: %v", at, err)
		}
	}
	if s.Type == "array" {
		checkSchemaTyped(t, d, at+"/items", s.Items)
	}
	for k, p := range s.Properties {
		checkSchemaTyped(t, d, at+"/properties/"+k, p)
	}
	for _, k := range s.Required {
		if s.Properties[k] == nil && s.Type == "object" && len(s.Properties) > 0 {
			t.Errorf("%s: required %q is not a property", at, k)
		}
	}
}

// resolvesPointer reports whether a local JSON pointer ("#/a/b") names a value in root.
func resolvesPointer(root any, ref string) bool {
	p, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return false
	}
	v := root
	for _, tok := range strings.Split(p, "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := v.(map[string]any)
		if !ok {
			return false
		}
		if v, ok = m[tok]; !ok {
			return false
		}
	}
	return true
}

// TestOpenAPIRoutes checks that the document describes exactly the routes the public listener has,
// and that the listener serves the document.
func TestOpenAPIRoutes(t *testing.T) {
	d := loadOpenAPI(t)
	registered := map[string]bool{}
	for _, rt := range publicRoutes {
		key := rt.Method + " " + rt.Pattern
		if registered[key] {
			t.Errorf("route %s registered twice", key)
		}
		registered[key] = true
	}
	documented := d.publicOps()
	for key := range registered {
		if documented[key] == nil {
			t.Errorf("route %s is registered on the public listener but not documented in openapi.json", key)
		}
	}
	for key := range documented {
		if !registered[key] {
			t.Errorf("openapi.json documents %s as public, but the public listener has no such route", key)
		}
	}

	_, h := newDocPublic(t, PublicOptions{})
	rec := serve(t, h, http.MethodGet, "/v1/openapi.json", nil)
	if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), openAPIDocument) {
		t.Fatalf("GET /v1/openapi.json: status %d, %d bytes, want the %d embedded", rec.Code, rec.Body.Len(), len(openAPIDocument))
	}
	if ct := rec.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q", ct)
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "public, max-age=300" {
		t.Errorf("Cache-Control = %q", cc)
	}
}

// docBackend is the fake backend with an agency list and proposals of every shape, and an error that
// every read (but Status) returns when set.
type docBackend struct {
	*fakeBackend
	err       error
	agencyVs  []AgencyView
	proposals []ProposalView
}

func (d *docBackend) Anchor(doc [32]byte) (receipt.Record, *receipt.Revocation, error) {
	if d.err != nil {
		return receipt.Record{}, nil, d.err
	}
	return d.fakeBackend.Anchor(doc)
}

func (d *docBackend) Genesis() ([]byte, error) {
	if d.err != nil {
		return nil, d.err
	}
	return d.fakeBackend.Genesis()
}

func (d *docBackend) Receipt(doc [32]byte) (*receipt.Receipt, error) {
	if d.err != nil {
		return nil, d.err
	}
	return d.fakeBackend.Receipt(doc)
}

func (d *docBackend) LatestCheckpoint() (CheckpointView, error) {
	if d.err != nil {
		return CheckpointView{}, d.err
	}
	return d.fakeBackend.LatestCheckpoint()
}

func (d *docBackend) Consistency(from, to uint64) (ConsistencyView, error) {
	if d.err != nil {
		return ConsistencyView{}, d.err
	}
	v, err := d.fakeBackend.Consistency(from, to)
	if from == to {
		v.Proof = nil // as a log proves nothing to itself
	}
	return v, err
}

func (d *docBackend) Agencies() ([]AgencyView, error) {
	if d.err != nil {
		return nil, d.err
	}
	return slices.Clone(d.agencyVs), nil
}

func (d *docBackend) Agency(id string) (AgencyView, error) {
	if d.err != nil {
		return AgencyView{}, d.err
	}
	for _, a := range d.agencyVs {
		if a.ID == id {
			return a, nil
		}
	}
	return AgencyView{}, ErrNotFound
}

func (d *docBackend) Proposals() ([]ProposalView, error) {
	if d.err != nil {
		return nil, d.err
	}
	return slices.Clone(d.proposals), nil
}

func (d *docBackend) Metadata(doc [32]byte) (*tx.Metadata, error) {
	if d.err != nil {
		return nil, d.err
	}
	return d.fakeBackend.Metadata(doc)
}

// docMeta is the metadata of document i in newDocBackend: public for 5 and 7, restricted for 6.
func docMeta(i int) *tx.Metadata {
	if i == 6 {
		return testMeta(i, tx.Restricted, restrictedFields()...)
	}
	return testMeta(i, tx.Public, publicFields()...)
}

func (d *docBackend) TxResult(h [32]byte) (TxOutcome, error) {
	if d.err != nil {
		return TxOutcome{}, d.err
	}
	return d.fakeBackend.TxResult(h)
}

func hexKeyOf(i int) string { return hexOf(docHash(5000 + i)) }

// newDocBackend returns a backend holding one of everything: an anchored document 1 (with a metadata
// digest but no metadata), a revoked document 2 with a successor, a revoked document 3 without one, a
// document 4 of an agency no longer registered, documents 5 and 6 with public and restricted metadata
// stored, a document 7 whose public metadata is not stored yet, a receipt for any hash, checkpoints,
// agencies and proposals.
func newDocBackend() *docBackend {
	f := newFakeBackend()
	meta := docHash(99)
	f.anchors[docHash(1)] = testRecord(1, &meta)
	f.anchors[docHash(2)] = testRecord(2, nil)
	f.anchors[docHash(3)] = testRecord(3, nil)
	orphan := testRecord(4, nil)
	orphan.Agency = "gone"
	f.anchors[docHash(4)] = orphan
	succ := docHash(8)
	f.revoked = map[[32]byte]*receipt.Revocation{
		docHash(2): {Height: 30, Time: time.Unix(1_800_000_000, 0), Reason: 1, Successor: &succ},
		docHash(3): {Height: 31, Time: time.Unix(1_800_000_100, 0), Reason: 4},
	}
	f.agencies["land-registry"] = "Land Registry <North>"
	f.withMeta(5, docMeta(5), true)
	f.withMeta(6, docMeta(6), true)
	f.withMeta(7, docMeta(7), false)
	withProofs(f)
	power, zero := int64(10), int64(0)
	return &docBackend{
		fakeBackend: f,
		agencyVs: []AgencyView{
			{ID: "land-registry", Name: "Land Registry <North>", Keys: []string{hexKeyOf(1)}},
			{ID: "old-school", Name: "Old School", Keys: nil, Retired: []string{hexKeyOf(2)}, Suspended: true, DocTypes: []string{"diploma"}},
		},
		proposals: []ProposalView{
			{ID: "0011223344556677", Proposer: "dc-muenster", Action: ActionView{Kind: "register-agency", Agency: "gym", Name: "Gym", Keys: []string{hexKeyOf(3)}},
				Height: 5, Deadline: 105, Approvals: []string{"dc-muenster"}},
			{ID: "8899aabbccddeeff", Proposer: "dc-bonn", Action: ActionView{Kind: "set-validator", Keys: []string{hexKeyOf(4)}, Power: &zero},
				Height: 6, Deadline: 106, Approvals: nil},
			{ID: "0123456789abcdef", Proposer: "dc-bonn", Action: ActionView{Kind: "set-param", Param: "max_batch", Power: &power},
				Height: 7, Deadline: 107, Approvals: []string{"dc-bonn", "dc-muenster"}, Executed: 9},
			{ID: "fedcba9876543210", Proposer: "dc-bonn", Action: ActionView{Kind: "set-doc-types", Agency: "gym", DocTypes: []string{"diploma", "transcript"}},
				Height: 8, Deadline: 108, Approvals: []string{"dc-bonn"}},
		},
	}
}

func newDocPublic(t *testing.T, o PublicOptions) (*docBackend, http.Handler) {
	t.Helper()
	b := newDocBackend()
	return b, PublicHandler(b, o, discardLogger())
}

// revokedReceipt is a receipt of revoked document 2, with a validator-set transition.
func revokedReceipt() *receipt.Receipt {
	r := testReceipt()
	rec := testRecord(2, nil)
	succ := docHash(8)
	r.State, r.Record = receipt.StateRevoked, &rec
	r.Revocation = &receipt.Revocation{Height: 30, Time: time.Unix(1_800_000_000, 0).UTC(), Reason: 1, Successor: &succ,
		Signer: docHash(700), TxHash: docHash(701), LogIndex: 8}
	r.Transitions = []receipt.Transition{{Checkpoint: r.Checkpoint, Signatures: r.Signatures,
		Next: receipt.ValidatorSet{{PubKey: docHash(702), Power: 10}, {PubKey: docHash(703), Power: 20}}}}
	return r
}

// absentReceipt is a receipt proving that a hash was never anchored.
func absentReceipt() *receipt.Receipt {
	r := testReceipt()
	r.State, r.Record, r.LogIndex, r.LogProof = receipt.StateUnknown, nil, 0, nil
	return r
}

// publicSample is a valid request target of each public route, in the backend of newDocBackend.
var publicSample = map[string]string{
	"/v1/status":                  "/v1/status",
	"/v1/anchors/{hash}":          "/v1/anchors/" + hexOf(docHash(1)),
	"/v1/anchors/{hash}/receipt":  "/v1/anchors/" + hexOf(docHash(1)) + "/receipt",
	"/v1/checkpoints/latest":      "/v1/checkpoints/latest",
	"/v1/agencies":                "/v1/agencies",
	"/v1/agencies/{id}":           "/v1/agencies/land-registry",
	"/v1/governance/proposals":    "/v1/governance/proposals",
	"/v1/checkpoints/consistency": "/v1/checkpoints/consistency?from=1&to=2",
	"/v1/genesis":                 "/v1/genesis",
	"/v1/openapi.json":            "/v1/openapi.json",
}

// sampleTarget returns publicSample's target of a route, failing the test for a route without one.
func sampleTarget(t *testing.T, pattern string) string {
	t.Helper()
	s, ok := publicSample[pattern]
	if !ok {
		t.Fatalf("route %s has no sample request in publicSample: add one", pattern)
	}
	return s
}

// docCase is one request against a listener, and the status it must get.
type docCase struct {
	name   string
	op     string // the documented operation, "METHOD /path"
	method string // default GET
	target string
	body   io.Reader
	setup  func(*docBackend)
	want   int
}

// conformance checks answers against the document and records which documented statuses were seen.
type conformance struct {
	d    *oaDoc
	seen map[string]map[string]bool // op → status
}

// check checks one answer to a request for op: its status is documented for op, its Content-Type is
// one the status documents, its JSON body validates against the schema, its documented headers are
// there (when required) and valid. public says the answer came from the public listener, which always
// sets Cache-Control.
func (c *conformance) check(t *testing.T, op, method string, rec *httptest.ResponseRecorder, public bool) {
	t.Helper()
	o := c.d.op(t, op)
	status := strconv.Itoa(rec.Code)
	if c.seen[op] == nil {
		c.seen[op] = map[string]bool{}
	}
	c.seen[op][status] = true
	r, err := c.d.response(o.Responses[status])
	if err != nil {
		t.Fatalf("%s: %v", op, err)
	}
	if r == nil {
		t.Fatalf("%s answered %d, which openapi.json does not document for it (documented: %v); body %s",
			op, rec.Code, slices.Sorted(maps.Keys(o.Responses)), rec.Body.String())
	}
	for name, h := range r.Headers {
		h, err := c.d.header(h)
		if err != nil {
			t.Fatalf("%s %s: header %s: %v", op, status, name, err)
		}
		v := rec.Header().Get(name)
		if v == "" {
			if h.Required && (public || name != "Cache-Control") {
				t.Errorf("%s %s: documented header %s is missing", op, status, name)
			}
			continue
		}
		for _, e := range c.d.validateHeader("header "+name, h.Schema, v) {
			t.Errorf("%s %s: %s", op, status, e)
		}
	}
	if public {
		if cc := rec.Header().Get("Cache-Control"); cc == "" {
			t.Errorf("%s %s: no Cache-Control", op, status)
		} else if r.Headers["Cache-Control"] == nil {
			t.Errorf("%s %s: Cache-Control %q is not documented", op, status, cc)
		}
	}
	if method == http.MethodHead {
		return // no body goes out
	}
	if len(r.Content) == 0 {
		if rec.Body.Len() > 0 {
			t.Errorf("%s %s: documented without a body, got %s", op, status, rec.Body.String())
		}
		return
	}
	mt, _, err := mime.ParseMediaType(rec.Header().Get("Content-Type"))
	if err != nil {
		t.Fatalf("%s %s: Content-Type %q: %v", op, status, rec.Header().Get("Content-Type"), err)
	}
	media, ok := r.Content[mt]
	if !ok {
		t.Fatalf("%s %s: Content-Type %s is not documented (documented: %v)", op, status, mt, slices.Sorted(maps.Keys(r.Content)))
	}
	if mt != "application/json" {
		if rec.Body.Len() == 0 {
			t.Errorf("%s %s: empty %s body", op, status, mt)
		}
		return
	}
	dec := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("%s %s: body is not JSON: %v: %s", op, status, err, rec.Body.String())
	}
	if dec.More() {
		t.Errorf("%s %s: data after the JSON value", op, status)
	}
	for _, e := range c.d.validate("$", media.Schema, v) {
		t.Errorf("%s %s: body does not match the documented schema: %s", op, status, e)
	}
}

// TestOpenAPIConformance calls every documented operation, with valid and invalid parameters and with
// every kind of backend failure, and checks each answer against the document. At the end, every status
// the document lists must have been produced by some request: the document promises nothing the
// handlers do not do.
func TestOpenAPIConformance(t *testing.T) {
	d := loadOpenAPI(t)
	c := &conformance{d: d, seen: map[string]map[string]bool{}}
	h64 := hexOf(docHash(1))
	long := "?pad=" + strings.Repeat("a", maxURLBytes)
	failures := []struct {
		name   string
		err    error
		status int
	}{
		{"not found", fmt.Errorf("gone: %w", ErrNotFound), http.StatusNotFound},
		{"unavailable", ErrUnavailable, http.StatusServiceUnavailable},
		{"fails", errors.New("pebble: disk on fire"), http.StatusInternalServerError},
	}
	setReceipt := func(r *receipt.Receipt) func(*docBackend) { return func(b *docBackend) { b.receipt = r } }

	var cases []docCase
	for _, rt := range publicRoutes {
		op := rt.Method + " " + rt.Pattern
		target := sampleTarget(t, rt.Pattern)
		sep := "?"
		if strings.Contains(target, "?") {
			sep = "&"
		}
		cases = append(cases,
			docCase{name: "valid", op: op, target: target, want: http.StatusOK},
			docCase{name: "HEAD", op: op, method: http.MethodHead, target: target, want: http.StatusOK},
			docCase{name: "body", op: op, target: target, body: strings.NewReader("{}"), want: http.StatusRequestEntityTooLarge},
			docCase{name: "long URL", op: op, target: target + sep + long[1:], want: http.StatusRequestURITooLong},
		)
		for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions} {
			cases = append(cases, docCase{name: m, op: op, method: m, target: target, want: http.StatusMethodNotAllowed})
		}
		if rt.Pattern == "/v1/status" || rt.Pattern == "/v1/openapi.json" {
			continue // no backend call that can fail
		}
		for _, f := range failures {
			want := f.status
			if rt.Pattern == "/v1/anchors/{hash}" && f.status == http.StatusServiceUnavailable {
				want = http.StatusInternalServerError // the anchor lookup maps not-found only
			}
			cases = append(cases, docCase{name: f.name, op: op, target: target, setup: func(b *docBackend) { b.err = f.err }, want: want})
		}
	}
	anchor, rcpt := "GET /v1/anchors/{hash}", "GET /v1/anchors/{hash}/receipt"
	cons, agency := "GET /v1/checkpoints/consistency", "GET /v1/agencies/{id}"
	cases = append(cases,
		docCase{name: "revoked with successor", op: anchor, target: "/v1/anchors/" + hexOf(docHash(2)), want: 200},
		docCase{name: "revoked", op: anchor, target: "/v1/anchors/" + hexOf(docHash(3)), want: 200},
		docCase{name: "unregistered agency", op: anchor, target: "/v1/anchors/" + hexOf(docHash(4)), want: 200},
		docCase{name: "upper case", op: anchor, target: "/v1/anchors/" + strings.ToUpper(h64), want: 200},
		docCase{name: "unknown", op: anchor, target: "/v1/anchors/" + hexOf(docHash(404)), want: 404},
		docCase{name: "short", op: anchor, target: "/v1/anchors/abc", want: 400},
		docCase{name: "not hex", op: anchor, target: "/v1/anchors/" + strings.Repeat("g", 64), want: 400},
		docCase{name: "agency lookup fails", op: anchor, target: "/v1/anchors/" + h64, setup: func(b *docBackend) { b.agencyErr = errors.New("x") }, want: 500},
		docCase{name: "public metadata", op: anchor, target: "/v1/anchors/" + hexOf(docHash(5)), want: 200},
		docCase{name: "restricted metadata", op: anchor, target: "/v1/anchors/" + hexOf(docHash(6)), want: 200},
		docCase{name: "metadata lookup fails", op: anchor, target: "/v1/anchors/" + hexOf(docHash(5)), setup: func(b *docBackend) { b.metaErr = errors.New("x") }, want: 500},

		docCase{name: "json", op: rcpt, target: "/v1/anchors/" + h64 + "/receipt?format=json", want: 200},
		docCase{name: "compact", op: rcpt, target: "/v1/anchors/" + h64 + "/receipt?format=compact", want: 200},
		docCase{name: "revoked", op: rcpt, target: "/v1/anchors/" + hexOf(docHash(2)) + "/receipt", setup: setReceipt(revokedReceipt()), want: 200},
		docCase{name: "absent", op: rcpt, target: "/v1/anchors/" + hexOf(docHash(404)) + "/receipt", setup: setReceipt(absentReceipt()), want: 200},
		docCase{name: "no checkpoint yet", op: rcpt, target: "/v1/anchors/" + h64 + "/receipt", setup: setReceipt(nil), want: 503},
		docCase{name: "bad format", op: rcpt, target: "/v1/anchors/" + h64 + "/receipt?format=xml", want: 400},
		docCase{name: "bad hash", op: rcpt, target: "/v1/anchors/xyz/receipt?format=compact", want: 400},

		docCase{name: "same height", op: cons, target: "/v1/checkpoints/consistency?from=5&to=5", want: 200},
		docCase{name: "missing", op: cons, target: "/v1/checkpoints/consistency", want: 400},
		docCase{name: "from zero", op: cons, target: "/v1/checkpoints/consistency?from=0&to=2", want: 400},
		docCase{name: "reversed", op: cons, target: "/v1/checkpoints/consistency?from=3&to=2", want: 400},
		docCase{name: "not a number", op: cons, target: "/v1/checkpoints/consistency?from=a&to=2", want: 400},

		docCase{name: "suspended with retired keys", op: agency, target: "/v1/agencies/old-school", want: 200},
		docCase{name: "unknown", op: agency, target: "/v1/agencies/nobody", want: 404},
		docCase{name: "ID too long", op: agency, target: "/v1/agencies/" + strings.Repeat("x", 65), want: 400},
		docCase{name: "none", op: "GET /v1/agencies", target: "/v1/agencies", setup: func(b *docBackend) { b.agencyVs = nil }, want: 200},
		docCase{name: "none", op: "GET /v1/governance/proposals", target: "/v1/governance/proposals", setup: func(b *docBackend) { b.proposals = nil }, want: 200},
	)
	for _, tc := range cases {
		method := cmp.Or(tc.method, http.MethodGet)
		t.Run(tc.op+"/"+tc.name, func(t *testing.T) {
			b, h := newDocPublic(t, PublicOptions{RateLimit: RateLimit{Disabled: true}})
			if tc.setup != nil {
				tc.setup(b)
			}
			rec := serve(t, h, method, tc.target, tc.body)
			if rec.Code != tc.want {
				t.Errorf("%s %s: status %d, want %d; body %s", method, tc.target, rec.Code, tc.want, rec.Body.String())
			}
			c.check(t, tc.op, method, rec, true)
			wantExtraHeaders(t, rec.Header())
		})
	}
	// Over the rate limit, every route answers 429.
	for _, rt := range publicRoutes {
		op := rt.Method + " " + rt.Pattern
		t.Run(op+"/rate limited", func(t *testing.T) {
			_, h := newDocPublic(t, PublicOptions{RateLimit: RateLimit{RatePerSecond: 0.001, Burst: 1}})
			target := sampleTarget(t, rt.Pattern)
			if rec := serve(t, h, http.MethodGet, target, nil); rec.Code != http.StatusOK {
				t.Fatalf("first request: %d", rec.Code)
			}
			rec := serve(t, h, http.MethodGet, target, nil)
			if rec.Code != http.StatusTooManyRequests {
				t.Fatalf("second request: %d, want 429", rec.Code)
			}
			c.check(t, op, http.MethodGet, rec, true)
		})
	}

	agencyCases(t, c)

	for path, item := range d.Paths {
		for m, op := range item.ops() {
			key := m + " " + path
			for status := range op.Responses {
				if !c.seen[key][status] {
					t.Errorf("%s: openapi.json documents status %s, but no request in this test produced it (a case is missing, or the document promises too much)", key, status)
				}
			}
		}
	}
}

// errReader fails every read.
type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

// agencyCases checks the agency listener's documented operations.
func agencyCases(t *testing.T, c *conformance) {
	good, goodHash := signedTx(t, 1)
	submit, txs, status := "POST /v1/anchors", "GET /v1/txs/{hash}", "GET /v1/status"
	publish, getMeta := "POST /v1/metadata", "GET /v1/metadata/{hash}"
	agencies, agency := "GET /v1/agencies", "GET /v1/agencies/{id}"
	public, restricted, unstored := docMeta(5), docMeta(6), docMeta(7)
	forged := testMeta(7, tx.Public, tx.Field{Key: tx.FieldTitle, Value: "not what the anchor committed to"})
	committed := func(code uint32) func(*docBackend) {
		return func(b *docBackend) { b.setTx(TxOutcome{Hash: goodHash, Height: 12, Index: 1, Code: code}) }
	}
	txPath := "/v1/txs/" + hexOf(goodHash)
	cases := []docCase{
		{name: "committed before", op: submit, method: http.MethodPost, target: "/v1/anchors", body: bytes.NewReader(good), setup: committed(0), want: 200},
		{name: "rejected in block", op: submit, method: http.MethodPost, target: "/v1/anchors", body: bytes.NewReader(good), setup: committed(uint32(tx.CodeDuplicateHash)), want: 422},
		{name: "rejected by CheckTx", op: submit, method: http.MethodPost, target: "/v1/anchors", body: bytes.NewReader(good),
			setup: func(b *docBackend) { b.submitCode, b.submitLog = uint32(tx.CodeBadSignature), "bad signature" }, want: 422},
		{name: "malformed", op: submit, method: http.MethodPost, target: "/v1/anchors", body: strings.NewReader("garbage"), want: 422},
		{name: "pending", op: submit, method: http.MethodPost, target: "/v1/anchors", body: bytes.NewReader(good), want: 202},
		{name: "oversized", op: submit, method: http.MethodPost, target: "/v1/anchors", body: bytes.NewReader(make([]byte, tx.MaxTxBytes+1)), want: 413},
		{name: "unreadable", op: submit, method: http.MethodPost, target: "/v1/anchors", body: errReader{}, want: 400},
		{name: "unavailable", op: submit, method: http.MethodPost, target: "/v1/anchors", body: bytes.NewReader(good),
			setup: func(b *docBackend) { b.submitErr = fmt.Errorf("mempool full: %w", ErrUnavailable) }, want: 503},
		{name: "fails", op: submit, method: http.MethodPost, target: "/v1/anchors", body: bytes.NewReader(good),
			setup: func(b *docBackend) { b.submitErr = errors.New("x") }, want: 500},
		{name: "GET", op: submit, method: http.MethodGet, target: "/v1/anchors", want: 405},

		{name: "committed", op: txs, target: txPath, setup: committed(0), want: 200},
		{name: "rejected", op: txs, target: txPath, setup: committed(uint32(tx.CodeExpired)), want: 422},
		{name: "unknown", op: txs, target: txPath, want: 404},
		{name: "malformed", op: txs, target: "/v1/txs/xyz", want: 400},
		{name: "fails", op: txs, target: txPath, setup: func(b *docBackend) { b.err = errors.New("x") }, want: 500},
		{name: "POST", op: txs, method: http.MethodPost, target: txPath, want: 405},

		{name: "agency listener", op: status, target: "/v1/status", want: 200},
		{name: "agency listener POST", op: status, method: http.MethodPost, target: "/v1/status", want: 405},

		{name: "agency listener", op: agencies, target: "/v1/agencies", want: 200},
		{name: "agency listener fails", op: agencies, target: "/v1/agencies", setup: func(b *docBackend) { b.err = errors.New("x") }, want: 500},
		{name: "agency listener POST", op: agencies, method: http.MethodPost, target: "/v1/agencies", want: 405},
		{name: "agency listener", op: agency, target: "/v1/agencies/old-school", want: 200},
		{name: "agency listener unknown", op: agency, target: "/v1/agencies/nobody", want: 404},
		{name: "agency listener ID too long", op: agency, target: "/v1/agencies/" + strings.Repeat("x", 65), want: 400},
		{name: "agency listener POST", op: agency, method: http.MethodPost, target: "/v1/agencies/old-school", want: 405},

		{name: "stored", op: publish, method: http.MethodPost, target: "/v1/metadata", body: bytes.NewReader(unstored.Encode()), want: 200},
		{name: "stored already", op: publish, method: http.MethodPost, target: "/v1/metadata", body: bytes.NewReader(public.Encode()), want: 200},
		{name: "restricted", op: publish, method: http.MethodPost, target: "/v1/metadata", body: bytes.NewReader(restricted.Encode()), want: 200},
		{name: "not anchored", op: publish, method: http.MethodPost, target: "/v1/metadata", body: bytes.NewReader(testMeta(404, tx.Public, publicFields()...).Encode()), want: 422},
		{name: "digest mismatch", op: publish, method: http.MethodPost, target: "/v1/metadata", body: bytes.NewReader(forged.Encode()), want: 422},
		{name: "unknown reason", op: publish, method: http.MethodPost, target: "/v1/metadata", body: bytes.NewReader(public.Encode()),
			setup: func(b *docBackend) { b.publishErr = &RejectedError{Reason: "moon_phase"} }, want: 422},
		{name: "malformed", op: publish, method: http.MethodPost, target: "/v1/metadata", body: strings.NewReader("garbage"), want: 400},
		{name: "unreadable", op: publish, method: http.MethodPost, target: "/v1/metadata", body: errReader{}, want: 400},
		{name: "oversized", op: publish, method: http.MethodPost, target: "/v1/metadata", body: bytes.NewReader(make([]byte, tx.MaxMetaBytes+1)), want: 413},
		{name: "unavailable", op: publish, method: http.MethodPost, target: "/v1/metadata", body: bytes.NewReader(public.Encode()),
			setup: func(b *docBackend) { b.publishErr = fmt.Errorf("queue full: %w", ErrUnavailable) }, want: 503},
		{name: "anchor not committed in time", op: publish, method: http.MethodPost, target: "/v1/metadata", body: bytes.NewReader(public.Encode()),
			setup: func(b *docBackend) { b.publishBlock = true }, want: 503},
		{name: "fails", op: publish, method: http.MethodPost, target: "/v1/metadata", body: bytes.NewReader(public.Encode()),
			setup: func(b *docBackend) { b.publishErr = errors.New("x") }, want: 500},
		{name: "GET", op: publish, method: http.MethodGet, target: "/v1/metadata", want: 405},

		{name: "public", op: getMeta, target: "/v1/metadata/" + hexOf(docHash(5)), want: 200},
		{name: "restricted", op: getMeta, target: "/v1/metadata/" + strings.ToUpper(hexOf(docHash(6))), want: 200},
		{name: "HEAD", op: getMeta, method: http.MethodHead, target: "/v1/metadata/" + hexOf(docHash(6)), want: 200},
		{name: "none stored", op: getMeta, target: "/v1/metadata/" + hexOf(docHash(1)), want: 404},
		{name: "malformed", op: getMeta, target: "/v1/metadata/xyz", want: 400},
		{name: "fails", op: getMeta, target: "/v1/metadata/" + hexOf(docHash(5)), setup: func(b *docBackend) { b.err = errors.New("x") }, want: 500},
		{name: "POST", op: getMeta, method: http.MethodPost, target: "/v1/metadata/" + hexOf(docHash(5)), want: 405},
	}
	for _, tc := range cases {
		method := cmp.Or(tc.method, http.MethodGet)
		t.Run("agency "+tc.op+"/"+tc.name, func(t *testing.T) {
			b := newDocBackend()
			if tc.setup != nil {
				tc.setup(b)
			}
			h := AgencyHandler(b, NewTracker(), AgencyOptions{CommitWait: 50 * time.Millisecond, PublishWait: 50 * time.Millisecond}, discardLogger())
			ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
			defer cancel()
			req := httptest.NewRequest(method, tc.target, tc.body).WithContext(ctx)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Errorf("%s %s: status %d, want %d; body %s", method, tc.target, rec.Code, tc.want, rec.Body.String())
			}
			c.check(t, tc.op, method, rec, false)
		})
	}
}

// TestOpenAPIValidator checks that the validator catches what it must, so that the conformance test
// means something.
func TestOpenAPIValidator(t *testing.T) {
	d := loadOpenAPI(t)
	ref := func(name string) *oaSchema { return &oaSchema{Ref: "#/components/schemas/" + name} }
	h64 := hexOf(docHash(1))
	for _, tc := range []struct {
		name, schema, body string
		want               string // a fragment of the first problem; "" means valid
	}{
		{"valid error", "ErrorBody", `{"error":{"code":"not_found","message":"x"}}`, ""},
		{"undocumented error code", "ErrorBody", `{"error":{"code":"teapot","message":"x"}}`, "none of the documented values"},
		{"missing property", "ErrorBody", `{"error":{"code":"not_found"}}`, `required property "message"`},
		{"undocumented property", "ErrorBody", `{"error":{"code":"not_found","message":"x"},"trace":"y"}`, `property "trace" is not documented`},
		{"wrong type", "AgencyRef", `{"id":"a","name":7}`, "$.name: want a string, got a number"},
		{"null array", "AgencyList", `{"agencies":null}`, "$.agencies: null"},
		{"fraction", "Checkpoint", `{"chain_id":"c","height":1.5,"time":"2025-01-01T00:00:00Z","log_size":0,"log_root":"` + h64 +
			`","map_root":"` + h64 + `","validators":"` + h64 + `","next_validators":"` + h64 + `"}`, "not an integer"},
		{"negative", "Revocation", `{"height":-1,"time":"2025-01-01T00:00:00Z","reason":"withdrawn","reason_code":3}`, "below the minimum"},
		{"valid ref", "AgencyRef", `{"id":"a","name":"b"}`, ""},
		{"nested", "Consistency", `{"from":{},"to":{},"proof":["ABC"]}`, `$.from: required property "chain_id"`},
		{"bad hash in array", "Consistency", `{"from":{},"to":{},"proof":["ABC"]}`, `$.proof[0]: "ABC" does not match`},
		{"bad time", "Revocation", `{"height":1,"time":"yesterday","reason":"withdrawn","reason_code":3}`, "not an RFC 3339 date-time"},
		{"uppercase hash", "Anchor", `{"hash":"` + strings.ToUpper(h64) + `"}`, "does not match the pattern"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dec := json.NewDecoder(strings.NewReader(tc.body))
			dec.UseNumber()
			var v any
			if err := dec.Decode(&v); err != nil {
				t.Fatal(err)
			}
			errs := d.validate("$", ref(tc.schema), v)
			switch {
			case tc.want == "" && len(errs) > 0:
				t.Errorf("valid body rejected: %v", errs)
			case tc.want != "" && !slices.ContainsFunc(errs, func(e string) bool { return strings.Contains(e, tc.want) }):
				t.Errorf("problems %v, want one containing %q", errs, tc.want)
			}
		})
	}
	if errs := d.validateHeader("Retry-After", &oaSchema{Ref: ""}, "1"); len(errs) == 0 {
		t.Error("a header schema without a type passed")
	}
}

// TestOpenAPIExamples checks every example in the document against the schema it illustrates, and that
// the example metadata is a real signed message whose digest and signature check.
func TestOpenAPIExamples(t *testing.T) {
	d := loadOpenAPI(t)
	dec := json.NewDecoder(bytes.NewReader(openAPIDocument))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		t.Fatal(err)
	}
	n := 0
	var walk func(at string, v any)
	walk = func(at string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if ex, ok := v["example"]; ok {
				target := v
				if s, ok := v["schema"].(map[string]any); ok {
					target = s // a media type object: the example illustrates its schema
				}
				b, _ := json.Marshal(target)
				var s oaSchema
				if err := json.Unmarshal(b, &s); err != nil {
					t.Fatalf("%s: %v", at, err)
				}
				n++
				for _, e := range d.validate("$", &s, ex) {
					t.Errorf("%s: the example does not match its schema: %s", at, e)
				}
			}
			for k, x := range v {
				walk(at+"/"+k, x)
			}
		case []any:
			for i, x := range v {
				walk(fmt.Sprintf("%s/%d", at, i), x)
			}
		}
	}
	walk("#", raw)
	if n < 3 {
		t.Errorf("%d examples checked, want at least 3", n)
	}

	var doc struct {
		Components struct {
			Schemas struct {
				Metadata struct {
					Example MetadataView `json:"example"`
				} `json:"Metadata"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPIDocument, &doc); err != nil {
		t.Fatal(err)
	}
	ex := doc.Components.Schemas.Metadata.Example
	digest, err := ParseHash(ex.Digest)
	if err != nil {
		t.Fatalf("example digest: %v", err)
	}
	if _, err := ex.Check(digest); err != nil {
		t.Errorf("the example metadata does not check: %v", err)
	}
}

// TestOpenAPIRejectReasons: every reason POST /v1/metadata answers with is a documented error code.
func TestOpenAPIRejectReasons(t *testing.T) {
	d := loadOpenAPI(t)
	s, err := d.schema(d.Components.Schemas["ErrorBody"].Properties["error"].Properties["code"])
	if err != nil {
		t.Fatal(err)
	}
	for _, code := range append(slices.Sorted(maps.Keys(metadataRejections)), "rejected") {
		if !slices.Contains(s.Enum, any(code)) {
			t.Errorf("error code %q is not documented in ErrorBody", code)
		}
	}
}
