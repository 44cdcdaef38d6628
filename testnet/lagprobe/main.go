// Command lagprobe measures how long after a block is committed its checkpoint is available signed by
// more than 2/3 of the voting power, as one node's public API shows it.
//
// It polls GET /v1/status (height) and GET /v1/checkpoints/latest (checkpoint.height) every interval
// for a duration, notes for each height h the wall-clock time it was first seen committed (status height
// >= h) and the time its checkpoint was first seen signed (latest signed checkpoint height >= h), and
// prints the percentiles of the difference over the heights seen both ways. Heights already committed
// at the first poll are left out: their commit time is unknown. After the duration it keeps polling,
// for at most 30 s, until the heights it took in are signed. It also prints the percentiles of the time
// from each height's block time (consensus time, taken from the status when it showed that height) to
// its checkpoint seen signed, which is meaningful when the nodes run on the probe's machine.
//
//	go run ./testnet/lagprobe -url http://127.0.0.1:31002 -duration 60s
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"net/http"
	"os"
	"slices"
	"time"
)

func main() {
	url := flag.String("url", "http://127.0.0.1:31002", "public API of the node to poll")
	duration := flag.Duration("duration", 60*time.Second, "how long to poll")
	interval := flag.Duration("interval", 50*time.Millisecond, "time between polls")
	verbose := flag.Bool("v", false, "print every height's times")
	flag.Parse()
	if err := run(*url, *duration, *interval, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "lagprobe:", err)
		os.Exit(1)
	}
}

type status struct {
	Height    uint64    `json:"height"`
	BlockTime time.Time `json:"block_time"`
}

type latest struct {
	Checkpoint struct {
		Height uint64 `json:"height"`
	} `json:"checkpoint"`
}

func run(url string, duration, interval time.Duration, verbose bool) error {
	client := &http.Client{Timeout: 2 * time.Second}
	committed := map[uint64]time.Time{} // height -> first seen committed
	blockTime := map[uint64]time.Time{} // height -> its consensus time, when status showed that height
	signed := map[uint64]time.Time{}    // height -> first seen with a signed checkpoint
	var first, top, topSigned uint64    // first height seen committed; highest committed; highest signed
	var polls, failures int
	start := time.Now()
	tick := time.NewTicker(interval)
	defer tick.Stop()
	// After duration, heights are no longer taken in, but the checkpoints of those taken in are waited
	// for (up to grace), so that the slowest are not cut off.
	const grace = 30 * time.Second
	for now := start; ; now = <-tick.C {
		taking := now.Sub(start) < duration
		if !taking && (topSigned >= top || now.Sub(start) >= duration+grace) {
			break
		}
		polls++
		var st status
		var cp latest
		// Status first: a checkpoint signed at h is never seen before h is committed.
		errS := get(client, url+"/v1/status", &st)
		errC := get(client, url+"/v1/checkpoints/latest", &cp)
		seen := time.Now()
		if errS != nil {
			failures++
		} else if taking && st.Height > top {
			if first == 0 {
				first = st.Height + 1 // heights committed before the first poll have no commit time
			}
			for h := max(top+1, first); h <= st.Height; h++ {
				committed[h] = seen
			}
			if st.Height >= first {
				blockTime[st.Height] = st.BlockTime
			}
			top = st.Height
		}
		if errC != nil {
			failures++ // 503 until a first checkpoint is signed
		} else if h := cp.Checkpoint.Height; h > topSigned {
			for g := max(topSigned+1, first); g <= h && first > 0; g++ {
				signed[g] = seen
			}
			topSigned = h
		}
	}
	var lags, fromBlock []time.Duration
	for h := first; first > 0 && h <= top; h++ {
		c, okC := committed[h]
		s, okS := signed[h]
		if !okC || !okS {
			continue
		}
		lags = append(lags, s.Sub(c))
		bt, okB := blockTime[h]
		if okB {
			fromBlock = append(fromBlock, s.Sub(bt))
		}
		if verbose {
			fmt.Printf("height %d: committed %s, signed %s, lag %s", h, c.Format("15:04:05.000"), s.Format("15:04:05.000"), s.Sub(c))
			if okB {
				fmt.Printf(", block time %s", bt.Local().Format("15:04:05.000"))
			}
			fmt.Println()
		}
	}
	fmt.Printf("%s: %d polls every %s over %s, %d failed; heights %d..%d taken in, signed up to %d\n",
		url, polls, interval, time.Since(start).Round(time.Millisecond), failures, first, top, topSigned)
	if len(lags) == 0 {
		return fmt.Errorf("no height was seen both committed and signed")
	}
	printPercentiles(fmt.Sprintf("commit-to-signed lag over %d heights:", len(lags)), lags, interval)
	if len(fromBlock) > 0 {
		printPercentiles(fmt.Sprintf("block-time-to-signed over %d heights:", len(fromBlock)), fromBlock, interval)
	}
	return nil
}

func printPercentiles(label string, d []time.Duration, interval time.Duration) {
	slices.Sort(d)
	r := func(x time.Duration) time.Duration { return x.Round(time.Millisecond) }
	fmt.Printf("%s p50 %s  p95 %s  p99 %s  max %s  (poll resolution %s)\n",
		label, r(pct(d, 50)), r(pct(d, 95)), r(pct(d, 99)), r(d[len(d)-1]), interval)
}

// pct returns the p-th percentile of sorted, by the nearest-rank method.
func pct(sorted []time.Duration, p float64) time.Duration {
	i := int(math.Ceil(p/100*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func get(client *http.Client, url string, v any) error {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
