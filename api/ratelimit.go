package api

import (
	"container/list"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Defaults of RateLimit.
const (
	DefaultRatePerSecond = 20
	DefaultBurst         = 60
	DefaultMaxClients    = 100_000
)

// RateLimit tunes the public listener's per-client rate limit: a token bucket per client address
// (an IPv4 address, or the /64 of an IPv6 address, which one subscriber usually holds whole). A request
// over the limit is answered 429 with Retry-After and the error code "rate_limited".
type RateLimit struct {
	// RatePerSecond is the sustained number of requests per second a client may send. Default 20.
	RatePerSecond float64
	// Burst is how many requests a client may send at once after a pause. Default 60.
	Burst int
	// TrustedProxies are the reverse proxies whose X-Forwarded-For header names the client. When the
	// direct peer is one of them, the client is the right-most address of the header that is not a
	// trusted proxy; otherwise the header is ignored, so that nobody can claim another's address.
	TrustedProxies []netip.Prefix
	// Exempt are client addresses that are never limited (the operator's own tools and monitoring).
	// None by default. A client named by a trusted proxy's X-Forwarded-For is judged by that address.
	Exempt []netip.Prefix
	// Disabled turns the limit off (when the reverse proxy in front limits already).
	Disabled bool
	// MaxClients bounds the table of clients. Clients idle long enough for their bucket to refill are
	// forgotten first (forgetting them changes nothing); when the table is full of active clients the
	// least recently seen is forgotten, and starts afresh when it returns. Default 100,000 (about
	// 30 MB).
	MaxClients int
	// OnLimited, when set, is called for each request answered 429 (to count it in a metric). It must be
	// quick and safe for concurrent use.
	OnLimited func()
}

// limiter is the middleware of a RateLimit: a bounded table of token buckets, least recently seen last.
type limiter struct {
	rate      rate.Limit
	burst     int
	max       int
	idle      time.Duration // a client idle this long has a full bucket: forgetting it loses nothing
	trusted   []netip.Prefix
	exempt    []netip.Prefix
	onLimited func()
	now       func() time.Time // time.Now; tests replace it

	mu      sync.Mutex
	clients map[netip.Prefix]*list.Element // of *bucket
	lru     list.List                      // front: most recently seen
}

type bucket struct {
	key  netip.Prefix
	lim  *rate.Limiter
	seen time.Time
}

// newLimiter returns the limiter for o, or nil when o disables it. Zero fields take the defaults.
func newLimiter(o RateLimit) *limiter {
	if o.Disabled {
		return nil
	}
	if !(o.RatePerSecond > 0) || math.IsInf(o.RatePerSecond, 0) {
		o.RatePerSecond = DefaultRatePerSecond
	}
	if o.Burst <= 0 {
		o.Burst = DefaultBurst
	}
	if o.MaxClients <= 0 {
		o.MaxClients = DefaultMaxClients
	}
	refill := time.Duration(float64(o.Burst) / o.RatePerSecond * float64(time.Second))
	return &limiter{
		rate: rate.Limit(o.RatePerSecond), burst: o.Burst, max: o.MaxClients, idle: refill + time.Second,
		trusted: unmapped(o.TrustedProxies), exempt: unmapped(o.Exempt), onLimited: o.OnLimited, now: time.Now,
		clients: make(map[netip.Prefix]*list.Element),
	}
}

// wrap returns next behind the limiter; a nil limiter returns next.
func (l *limiter) wrap(next http.Handler) http.Handler {
	if l == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		client := l.clientAddr(r)
		if inAny(l.exempt, client) {
			next.ServeHTTP(w, r)
			return
		}
		ok, wait := l.allow(clientKey(client))
		if ok {
			next.ServeHTTP(w, r)
			return
		}
		if l.onLimited != nil {
			l.onLimited()
		}
		secs := max(1, int(math.Ceil(wait.Seconds())))
		h := w.Header()
		h.Set("Retry-After", strconv.Itoa(secs))
		h.Set("Cache-Control", "no-store")
		writeError(w, http.StatusTooManyRequests, "rate_limited",
			fmt.Sprintf("too many requests from your address; retry after %d s", secs))
	})
}

// allow takes a token from key's bucket; when there is none it returns how long until there is.
func (l *limiter) allow(key netip.Prefix) (bool, time.Duration) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	// Forget clients idle long enough to have a full bucket again: a fresh bucket is the same.
	for e := l.lru.Back(); e != nil && now.Sub(e.Value.(*bucket).seen) >= l.idle; e = l.lru.Back() {
		l.forget(e)
	}
	e := l.clients[key]
	if e == nil {
		if len(l.clients) >= l.max {
			l.forget(l.lru.Back())
		}
		e = l.lru.PushFront(&bucket{key: key, lim: rate.NewLimiter(l.rate, l.burst)})
		l.clients[key] = e
	} else {
		l.lru.MoveToFront(e)
	}
	b := e.Value.(*bucket)
	b.seen = now
	if b.lim.AllowN(now, 1) {
		return true, 0
	}
	missing := 1 - b.lim.TokensAt(now)
	return false, time.Duration(missing / float64(l.rate) * float64(time.Second))
}

func (l *limiter) forget(e *list.Element) {
	delete(l.clients, e.Value.(*bucket).key)
	l.lru.Remove(e)
}

// size is the number of clients in the table.
func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.clients)
}

// clientAddr is the address a request is counted against: the direct peer, or, when the peer is a
// trusted proxy, the right-most address of X-Forwarded-For that is not a trusted proxy. Walking from
// the right stops at an entry that does not parse: what lies left of it was not written by a trusted
// proxy, so the last trusted hop is the client. The zero Addr (an unparsable RemoteAddr) is a client
// of its own.
func (l *limiter) clientAddr(r *http.Request) netip.Addr {
	client := parseHop(r.RemoteAddr)
	if !client.IsValid() || !inAny(l.trusted, client) {
		return client
	}
	vals := r.Header.Values("X-Forwarded-For")
	for i := len(vals) - 1; i >= 0; i-- {
		rest := vals[i]
		for rest != "" {
			var hop string
			if j := strings.LastIndexByte(rest, ','); j >= 0 {
				rest, hop = rest[:j], rest[j+1:]
			} else {
				rest, hop = "", rest
			}
			if strings.TrimSpace(hop) == "" {
				continue // an empty element ("a,,b" or a trailing comma)
			}
			a := parseHop(hop)
			if !a.IsValid() {
				return client
			}
			client = a
			if !inAny(l.trusted, a) {
				return client
			}
		}
	}
	return client
}

// parseHop parses an address as RemoteAddr or X-Forwarded-For give it: 192.0.2.1, 192.0.2.1:80,
// 2001:db8::1, [2001:db8::1]:80 or [2001:db8::1]. IPv4-mapped IPv6 addresses become IPv4; zones are
// dropped.
func parseHop(s string) netip.Addr {
	s = strings.TrimSpace(s)
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
	if err != nil {
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return netip.Addr{}
		}
		a = ap.Addr()
	}
	return a.Unmap().WithZone("")
}

// clientKey is the bucket of an address: the address itself for IPv4, its /64 for IPv6.
func clientKey(a netip.Addr) netip.Prefix {
	if !a.IsValid() {
		return netip.Prefix{}
	}
	bits := 32
	if a.Is6() {
		bits = 64
	}
	p, _ := a.Prefix(bits)
	return p
}

// unmapped returns ps with IPv4-mapped IPv6 prefixes (::ffff:10.0.0.0/104) as IPv4 prefixes, since
// addresses are compared unmapped.
func unmapped(ps []netip.Prefix) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(ps))
	for _, p := range ps {
		if a := p.Addr(); a.Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(a.Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out
}

func inAny(ps []netip.Prefix, a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
