package api

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// clientFrom returns an HTTP client whose connections come from the loopback address src (127.0.0.x).
func clientFrom(src string, conns int) *http.Client {
	d := &net.Dialer{Timeout: waitLimit, LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}}
	return &http.Client{Timeout: waitLimit, Transport: &http.Transport{
		DialContext: d.DialContext, MaxIdleConns: conns, MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns,
		DisableCompression: true,
	}}
}

// get sends one GET and returns its status and Retry-After, reading the body to keep the connection.
func get(ctx context.Context, c *http.Client, url string, hdr map[string]string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), nil
}

// skipWithoutSecondLoopback skips the test where 127.0.0.2 cannot be a source address (it can on
// Linux, where all of 127/8 is loopback).
func skipWithoutSecondLoopback(t *testing.T, err error) {
	t.Helper()
	if err != nil && (errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.EINVAL)) {
		t.Skipf("cannot dial from 127.0.0.2: %v", err)
	}
}

func p99(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[(len(s)*99+99)/100-1]
}

// TestRateLimitBurst: client A fires far more than its limit and gets 429 with Retry-After, while
// client B, from another address, gets 200 throughout, about as fast as without A's burst.
func TestRateLimitBurst(t *testing.T) {
	const rps, burst = 50, 50
	var limited atomic.Int64
	_, h := newDocPublic(t, PublicOptions{RateLimit: RateLimit{RatePerSecond: rps, Burst: burst, OnLimited: func() { limited.Add(1) }}})
	srv := httptest.NewServer(h)
	defer srv.Close()
	url := srv.URL + "/v1/status"
	ctx, cancel := context.WithTimeout(context.Background(), 6*waitLimit)
	defer cancel()

	const workers = 3
	a, b := clientFrom("127.0.0.1", workers), clientFrom("127.0.0.2", 1)
	defer a.CloseIdleConnections()
	defer b.CloseIdleConnections()
	if _, _, err := get(ctx, b, url, nil); err != nil {
		skipWithoutSecondLoopback(t, err)
		t.Fatal(err)
	}

	// B sends 40 requests, one each 25 ms: 40 per second, within its own limit.
	runB := func() []time.Duration {
		var lat []time.Duration
		for i := 0; i < 40; i++ {
			t0 := time.Now()
			status, _, err := get(ctx, b, url, nil)
			lat = append(lat, time.Since(t0))
			if err != nil || status != http.StatusOK {
				t.Fatalf("client B, request %d: status %d, %v", i, status, err)
			}
			time.Sleep(25 * time.Millisecond)
		}
		return lat
	}
	base := runB()
	time.Sleep(time.Second) // B's bucket refills

	// A: workers in tight loops, bounded in count and by stop.
	stop := make(chan struct{})
	started := make(chan struct{})
	var once sync.Once
	var ok, tooMany, sent atomic.Int64
	var badRetry atomic.Value
	var wg sync.WaitGroup
	t0 := time.Now()
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 20000; i++ {
				select {
				case <-stop:
					return
				default:
				}
				status, ra, err := get(ctx, a, url, nil)
				sent.Add(1)
				switch {
				case err != nil:
					badRetry.Store(fmt.Sprintf("client A: %v", err))
					return
				case status == http.StatusOK:
					ok.Add(1)
				case status == http.StatusTooManyRequests:
					tooMany.Add(1)
					if n, err := strconv.Atoi(ra); err != nil || n < 1 {
						badRetry.Store(fmt.Sprintf("Retry-After %q", ra))
					}
					once.Do(func() { close(started) })
				default:
					badRetry.Store(fmt.Sprintf("client A: status %d", status))
				}
			}
		}()
	}
	select {
	case <-started:
	case <-time.After(waitLimit):
		close(stop)
		wg.Wait()
		t.Fatalf("client A was never limited after %d requests", sent.Load())
	}
	during := runB()
	close(stop)
	wg.Wait()
	elapsed := time.Since(t0)

	if v := badRetry.Load(); v != nil {
		t.Error(v)
	}
	if tooMany.Load() == 0 {
		t.Error("client A got no 429")
	}
	if got := limited.Load(); got != tooMany.Load() {
		t.Errorf("OnLimited called %d times for %d answers 429", got, tooMany.Load())
	}
	// A can have had its burst plus the rate over the time it sent, and no more.
	if maxOK := int64(burst + rps*elapsed.Seconds() + 5); ok.Load() > maxOK {
		t.Errorf("client A got %d answers 200 in %v, want at most %d", ok.Load(), elapsed, maxOK)
	}
	pb, pd := p99(base), p99(during)
	t.Logf("client A: %d sent, %d ok, %d limited in %v; client B p99 %v alone, %v during A's burst", sent.Load(), ok.Load(), tooMany.Load(), elapsed, pb, pd)
	if pd > pb+50*time.Millisecond {
		t.Errorf("client B's p99 latency rose from %v to %v during client A's burst", pb, pd)
	}
}

// TestRateLimitRetryAfter: the answer over the limit, and the defaults.
func TestRateLimitRetryAfter(t *testing.T) {
	var limited atomic.Int32
	_, h := newDocPublic(t, PublicOptions{RateLimit: RateLimit{RatePerSecond: 0.1, Burst: 2, OnLimited: func() { limited.Add(1) }}})
	for i := range 2 {
		if rec := serve(t, h, http.MethodGet, "/v1/status", nil); rec.Code != http.StatusOK {
			t.Fatalf("request %d: status %d", i, rec.Code)
		}
	}
	rec := serve(t, h, http.MethodGet, "/v1/status", nil)
	wantError(t, rec, http.StatusTooManyRequests, "rate_limited")
	wantSecureHeaders(t, rec.Header())
	// One token comes each 10 s; the next is at most 10 s away.
	if ra, err := strconv.Atoi(rec.Header().Get("Retry-After")); err != nil || ra < 9 || ra > 10 {
		t.Errorf("Retry-After = %q, want 10", rec.Header().Get("Retry-After"))
	}
	if cc := rec.Header().Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q", cc)
	}
	// Unknown routes and wrong methods count too.
	if rec := serve(t, h, http.MethodPost, "/nope", nil); rec.Code != http.StatusTooManyRequests {
		t.Errorf("POST /nope over the limit: %d", rec.Code)
	}
	if n := limited.Load(); n != 2 {
		t.Errorf("OnLimited called %d times, want 2", n)
	}

	// The zero RateLimit: 60 at once, then 20 per second.
	l := newLimiter(RateLimit{})
	now := time.Unix(1_000_000, 0)
	l.now = func() time.Time { return now }
	key := clientKey(netip.MustParseAddr("192.0.2.1"))
	for i := range DefaultBurst {
		if ok, _ := l.allow(key); !ok {
			t.Fatalf("default limit: request %d refused", i)
		}
	}
	if ok, wait := l.allow(key); ok || wait != time.Second/DefaultRatePerSecond {
		t.Errorf("request %d: allowed %v, wait %v, want refused for 50ms", DefaultBurst+1, ok, wait)
	}
	now = now.Add(time.Second)
	for i := range DefaultRatePerSecond {
		if ok, _ := l.allow(key); !ok {
			t.Fatalf("a second later: request %d refused", i)
		}
	}
	if ok, _ := l.allow(key); ok {
		t.Error("more than the rate allowed")
	}
	if l.max != DefaultMaxClients {
		t.Errorf("MaxClients default %d", l.max)
	}

	// Disabled: no limit at all.
	_, h = newDocPublic(t, PublicOptions{RateLimit: RateLimit{RatePerSecond: 0.001, Burst: 1, Disabled: true}})
	for i := range 100 {
		if rec := serve(t, h, http.MethodGet, "/v1/status", nil); rec.Code != http.StatusOK {
			t.Fatalf("disabled limit: request %d: status %d", i, rec.Code)
		}
	}
}

// TestRateLimitTrustedProxy: behind a trusted proxy each client named in X-Forwarded-For has its own
// bucket; an untrusted peer is limited by its own address whatever the header says.
func TestRateLimitTrustedProxy(t *testing.T) {
	_, h := newDocPublic(t, PublicOptions{RateLimit: RateLimit{RatePerSecond: 0.001, Burst: 2,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}}})
	srv := httptest.NewServer(h)
	defer srv.Close()
	url := srv.URL + "/v1/status"
	ctx, cancel := context.WithTimeout(context.Background(), 2*waitLimit)
	defer cancel()
	proxy, untrusted := clientFrom("127.0.0.1", 1), clientFrom("127.0.0.2", 1)
	defer proxy.CloseIdleConnections()
	defer untrusted.CloseIdleConnections()

	// Through the trusted proxy: 10 clients, 2 requests each, all within their own burst.
	for i := range 10 {
		for j := range 2 {
			xff := map[string]string{"X-Forwarded-For": fmt.Sprintf("198.51.100.99, 203.0.113.%d", i)}
			if status, _, err := get(ctx, proxy, url, xff); err != nil || status != http.StatusOK {
				t.Fatalf("trusted proxy, client %d, request %d: status %d, %v", i, j, status, err)
			}
		}
	}
	// The third request of one of them is over its limit.
	status, ra, err := get(ctx, proxy, url, map[string]string{"X-Forwarded-For": "203.0.113.4"})
	if err != nil || status != http.StatusTooManyRequests || ra == "" {
		t.Errorf("trusted proxy, client 4's third request: status %d Retry-After %q, %v; want 429", status, ra, err)
	}
	// The proxy's own requests (no header) are its own client.
	for j := range 2 {
		if status, _, err := get(ctx, proxy, url, nil); err != nil || status != http.StatusOK {
			t.Fatalf("proxy's own request %d: status %d, %v", j, status, err)
		}
	}

	// An untrusted peer cannot pose as other clients.
	var statuses []int
	for i := range 4 {
		status, _, err := get(ctx, untrusted, url, map[string]string{"X-Forwarded-For": fmt.Sprintf("203.0.113.%d", 100+i)})
		if err != nil {
			skipWithoutSecondLoopback(t, err)
			t.Fatal(err)
		}
		statuses = append(statuses, status)
	}
	if want := []int{200, 200, 429, 429}; !slices.Equal(statuses, want) {
		t.Errorf("untrusted peer with a different X-Forwarded-For each time: statuses %v, want %v", statuses, want)
	}
}

func TestClientAddr(t *testing.T) {
	l := newLimiter(RateLimit{TrustedProxies: []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8"), netip.MustParsePrefix("::ffff:172.16.0.0/108"),
	}})
	for _, tc := range []struct {
		name, remote string
		xff          []string
		want         string
	}{
		{"direct", "203.0.113.5:4000", nil, "203.0.113.5"},
		{"untrusted peer's header ignored", "203.0.113.5:4000", []string{"198.51.100.1"}, "203.0.113.5"},
		{"trusted peer without header", "10.1.2.3:4000", nil, "10.1.2.3"},
		{"trusted peer", "10.1.2.3:4000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"right-most untrusted", "10.1.2.3:4000", []string{"192.0.2.66, 198.51.100.1, 10.9.9.9"}, "198.51.100.1"},
		{"spoofed left part ignored", "10.1.2.3:4000", []string{"10.5.5.5, 198.51.100.1"}, "198.51.100.1"},
		{"several header lines", "10.1.2.3:4000", []string{"192.0.2.66", "198.51.100.1, 10.0.0.7"}, "198.51.100.1"},
		{"all trusted", "10.1.2.3:4000", []string{"10.0.0.1, 10.0.0.2"}, "10.0.0.1"},
		{"garbage stops the walk", "10.1.2.3:4000", []string{"198.51.100.1, unknown, 10.0.0.2"}, "10.0.0.2"},
		{"garbage right away", "10.1.2.3:4000", []string{"<script>"}, "10.1.2.3"},
		{"empty elements", "10.1.2.3:4000", []string{"198.51.100.1,, "}, "198.51.100.1"},
		{"with port", "10.1.2.3:4000", []string{"198.51.100.1:5555"}, "198.51.100.1"},
		{"IPv6 peer and client", "[fd00::1]:4000", []string{"2001:db8::1"}, "2001:db8::1"},
		{"IPv6 client in brackets with port", "10.1.2.3:4000", []string{"[2001:db8::2]:443"}, "2001:db8::2"},
		{"IPv6 in brackets", "10.1.2.3:4000", []string{"[2001:db8::3]"}, "2001:db8::3"},
		{"IPv4-mapped peer", "[::ffff:10.1.2.3]:4000", []string{"198.51.100.1"}, "198.51.100.1"},
		{"IPv4-mapped prefix", "172.16.0.9:4000", []string{"198.51.100.2"}, "198.51.100.2"},
		{"IPv4-mapped client unmapped", "10.1.2.3:4000", []string{"::ffff:198.51.100.3"}, "198.51.100.3"},
		{"zone dropped", "[fe80::1%eth0]:4000", nil, "fe80::1"},
		{"unparsable peer", "@", []string{"198.51.100.1"}, "invalid IP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/v1/status", nil)
			r.RemoteAddr = tc.remote
			for _, v := range tc.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := l.clientAddr(r).String(); got != tc.want {
				t.Errorf("client = %s, want %s", got, tc.want)
			}
		})
	}
}

// TestRateLimitKeys: an IPv6 /64 is one client; IPv4 addresses are each their own; exempt clients are
// never limited.
func TestRateLimitKeys(t *testing.T) {
	_, h := newDocPublic(t, PublicOptions{RateLimit: RateLimit{RatePerSecond: 0.001, Burst: 1,
		Exempt: []netip.Prefix{netip.MustParsePrefix("192.0.2.128/25")}}})
	status := func(remote string) int {
		r := httptest.NewRequest(http.MethodGet, "/v1/status", nil)
		r.RemoteAddr = remote
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec.Code
	}
	for _, tc := range []struct {
		remote string
		want   int
	}{
		{"[2001:db8:1:2::1]:1", 200},
		{"[2001:db8:1:2:ffff::9]:1", 429}, // same /64
		{"[2001:db8:1:3::1]:1", 200},      // another /64
		{"192.0.2.1:1", 200},
		{"192.0.2.2:1", 200},
		{"192.0.2.1:2", 429},
		{"192.0.2.200:1", 200}, // exempt
		{"192.0.2.200:1", 200},
		{"192.0.2.200:1", 200},
	} {
		if got := status(tc.remote); got != tc.want {
			t.Errorf("%s: status %d, want %d", tc.remote, got, tc.want)
		}
	}
}

// TestRateLimitEviction: a spray of source addresses cannot grow the table past MaxClients; idle
// clients, whose buckets have refilled, are forgotten; a client that is being limited stays limited.
func TestRateLimitEviction(t *testing.T) {
	const maxClients = 100
	l := newLimiter(RateLimit{RatePerSecond: 1, Burst: 2, MaxClients: maxClients})
	now := time.Unix(1_000_000, 0)
	l.now = func() time.Time { return now }
	addr := func(i int) netip.Prefix {
		return clientKey(netip.AddrFrom4([4]byte{198, 18, byte(i >> 8), byte(i)}))
	}
	victim := clientKey(netip.MustParseAddr("203.0.113.1"))
	for range 2 {
		l.allow(victim)
	}
	victimOK := 0
	for i := range 10_000 {
		if ok, _ := l.allow(victim); ok { // the victim keeps asking, so it stays among the most recent
			victimOK++
		}
		if ok, _ := l.allow(addr(i)); !ok {
			t.Fatalf("new client %d refused", i)
		}
		if n := l.size(); n > maxClients {
			t.Fatalf("after %d clients the table holds %d, more than %d", i+1, n, maxClients)
		}
		now = now.Add(time.Millisecond)
	}
	if n := l.size(); n != maxClients {
		t.Errorf("table holds %d, want %d", n, maxClients)
	}
	// Over 10 s at 1 per second, with its burst spent before: 10 tokens, not a fresh burst each time
	// the table overflowed.
	if victimOK > 10 {
		t.Errorf("the victim was allowed %d requests in 10 s at 1 per second: the spray reset its limit", victimOK)
	}
	// Idle long enough to have a full bucket again: forgotten at the next request of anyone.
	now = now.Add(l.idle)
	l.allow(addr(0))
	if n := l.size(); n != 1 {
		t.Errorf("after everyone was idle for %v the table holds %d, want 1", l.idle, n)
	}
	if l.idle < 2*time.Second {
		t.Errorf("idle %v is shorter than the time a bucket takes to refill (2 s)", l.idle)
	}
}
