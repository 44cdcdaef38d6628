package p2p

import "sync"

// Anchor is what the chain committed about a document, as far as its metadata is concerned.
type Anchor struct {
	// Agency is the ID of the agency that anchored the document.
	Agency string
	// Signer is the key that signed the anchoring transaction.
	Signer [32]byte
	// MetaDigest is the metadata digest the anchor committed to; nil if it committed to none.
	MetaDigest *[32]byte
}

// Chain is the node's committed state, as the metadata layer needs it. Its methods MUST be safe for
// concurrent use and MUST answer from committed state only.
type Chain interface {
	// Anchor returns the anchor of doc; found is false if doc is not anchored (as of the latest
	// commit). A revoked document is still anchored.
	Anchor(doc [32]byte) (a Anchor, found bool, err error)
	// KeyStatus says whether key is a current key of agency (registered, not retired, the agency not
	// suspended), was one once (retired, or the agency is suspended), or never was.
	KeyStatus(agency string, key [32]byte) (KeyStatus, error)
	// DocTypeAllowed reports whether agency may issue documents of type docType: governance may limit
	// an agency to some types (none set: any type).
	DocTypeAllowed(agency, docType string) (bool, error)
	// MetaAnchors lists the documents that were anchored with a metadata digest, in commit order: up
	// to limit of them, from position from on, and the position to continue from. Positions are the
	// implementation's to choose (the event log index, say), with 0 the start; a later call with next
	// MUST return what has been committed since. Fewer than limit documents means the end for now.
	MetaAnchors(from uint64, limit int) (docs [][32]byte, next uint64, err error)
	// CaughtUp reports whether consensus is caught up with the network. While it is not, metadata
	// whose anchor is not known here may well be valid: when its wait expires it is dropped without
	// penalising the peer that sent it.
	CaughtUp() bool
}

// KeyStatus is what the chain says of an agency's key now.
type KeyStatus int

// The key statuses.
const (
	KeyUnknown KeyStatus = iota // never a key of the agency
	KeyCurrent                  // may sign now
	KeyPast                     // retired, or its agency suspended: it could sign once
)

// MetaStore holds the validated metadata messages, one per document, in their encoding. Its methods
// MUST be safe for concurrent use. Put may be called twice for one document, with messages that both
// matched the committed digest; keeping either is right.
type MetaStore interface {
	// Get returns the message stored for doc; found is false if there is none. The caller may keep
	// the slice.
	Get(doc [32]byte) (raw []byte, found bool, err error)
	// Has reports whether a message is stored for doc.
	Has(doc [32]byte) (bool, error)
	// Put stores raw as the message for doc. The Node calls it only with validated messages.
	Put(doc [32]byte, raw []byte) error
}

// MemStore is a MetaStore in memory, for tests and for nodes that rebuild their metadata from peers at
// every start.
type MemStore struct {
	mu sync.RWMutex
	m  map[[32]byte][]byte
}

var _ MetaStore = (*MemStore)(nil)

// NewMemStore returns an empty MemStore.
func NewMemStore() *MemStore { return &MemStore{m: map[[32]byte][]byte{}} }

// Get implements MetaStore.
func (s *MemStore) Get(doc [32]byte) ([]byte, bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	raw, ok := s.m[doc]
	return append([]byte(nil), raw...), ok, nil
}

// Has implements MetaStore.
func (s *MemStore) Has(doc [32]byte) (bool, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	_, ok := s.m[doc]
	return ok, nil
}

// Put implements MetaStore.
func (s *MemStore) Put(doc [32]byte, raw []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[doc] = append([]byte(nil), raw...)
	return nil
}

// Len returns the number of stored messages.
func (s *MemStore) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.m)
}

// Clear removes every message.
func (s *MemStore) Clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.m)
}

// Reason says why a message was rejected or ignored. The values are stable metric labels.
type Reason string

// Reasons to reject a message: the peer that sent it loses score.
const (
	ReasonMalformed      Reason = "malformed"       // not a canonical metadata encoding
	ReasonOversized      Reason = "oversized"       // over tx.MaxMetaBytes
	ReasonWrongChain     Reason = "wrong_chain"     // for another chain ID
	ReasonBadSignature   Reason = "bad_signature"   // the signature does not verify
	ReasonNotAnchored    Reason = "not_anchored"    // its anchor was not committed within the wait
	ReasonNoCommitment   Reason = "no_commitment"   // the anchor committed to no metadata
	ReasonWrongAgency    Reason = "wrong_agency"    // it names another agency than the anchor's
	ReasonKeyNotValid    Reason = "key_not_valid"   // its key may not sign for the agency (ignored if it could once)
	ReasonDigestMismatch Reason = "digest_mismatch" // its digest is not the committed one
	ReasonDocType        Reason = "doc_type"        // its doc_type is not one the agency may issue (rejected on publish only)
	ReasonUnrequested    Reason = "unrequested"     // a catch-up answer for a document not asked for
	ReasonReplayed       Reason = "replayed"        // gossip of a message stored here long ago (rejected beyond a few a minute)
)

// Reasons to ignore a message: it is neither stored nor forwarded, and nobody is penalised.
const (
	ReasonDuplicate Reason = "duplicate"  // metadata for the document was stored lately (or is published again)
	ReasonQueueFull Reason = "queue_full" // it waited for its anchor and was pushed out by newer ones
	ReasonExpired   Reason = "expired"    // its wait expired while consensus was catching up
	ReasonInternal  Reason = "internal"   // reading the chain or writing the store failed
	ReasonShutdown  Reason = "shutdown"   // the node or the request was stopped
)

// RejectReasons and IgnoreReasons list every reason, for metrics that show each label from the start.
var (
	RejectReasons = []Reason{ReasonMalformed, ReasonOversized, ReasonWrongChain, ReasonBadSignature, ReasonNotAnchored,
		ReasonNoCommitment, ReasonWrongAgency, ReasonKeyNotValid, ReasonDigestMismatch, ReasonDocType, ReasonUnrequested, ReasonReplayed}
	IgnoreReasons = []Reason{ReasonDuplicate, ReasonQueueFull, ReasonExpired, ReasonInternal, ReasonShutdown,
		ReasonKeyNotValid, ReasonDocType, ReasonReplayed}
)

// Via says how an accepted message arrived.
type Via string

// The ways in.
const (
	ViaGossip  Via = "gossip"  // from a peer over gossipsub
	ViaSync    Via = "sync"    // from a peer in answer to a catch-up request
	ViaPublish Via = "publish" // through Publish on this node
)

// Progress is the state of a catch-up round.
type Progress struct {
	// Full is true for a round that started from the first anchor, false for one that went on from
	// where the last round ended.
	Full bool
	// Scanned counts the anchors with a metadata digest looked at so far; Missing those of them whose
	// metadata was not stored here; Fetched those of the missing that peers supplied.
	Scanned, Missing, Fetched int
	// Done is set in the last report of a round.
	Done bool
}

// Metrics receives the node's measurements. Its methods MUST be safe for concurrent use and MUST NOT
// block.
type Metrics interface {
	// Peers reports the number of connected peers.
	Peers(n int)
	// Accepted counts a message stored.
	Accepted(via Via)
	// Rejected counts a message rejected (its sender penalised).
	Rejected(reason Reason)
	// Ignored counts a message dropped without penalty.
	Ignored(reason Reason)
	// Pending reports the number of messages waiting for their anchor.
	Pending(n int)
	// CatchUp reports the progress of the current catch-up round.
	CatchUp(p Progress)
}

// NopMetrics discards every measurement.
type NopMetrics struct{}

var _ Metrics = NopMetrics{}

func (NopMetrics) Peers(int)        {}
func (NopMetrics) Accepted(Via)     {}
func (NopMetrics) Rejected(Reason)  {}
func (NopMetrics) Ignored(Reason)   {}
func (NopMetrics) Pending(int)      {}
func (NopMetrics) CatchUp(Progress) {}
