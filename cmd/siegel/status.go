package main

import (
	"cmp"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/siegel-notary/siegel/consensus"
	"github.com/siegel-notary/siegel/store"
)

func newStatusCmd() *cobra.Command {
	var home string
	var asJSON bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "status --home DIR [--json]",
		Short: "Show a node's height, peers, validator, app hash, disk use and version",
		Long: "Asks the node running on DIR, over its admin socket DIR/" + adminSocketName + ", for its height, peers, whether it\n" +
			"is catching up, its app hash, its version, and whether its validator is in the validator set and\n" +
			"signed the commits of the last " + fmt.Sprint(recentCommits) + " blocks; adds the disk use of DIR/data, per database.\n" +
			"When no node runs on DIR, says so and prints what it reads from disk: the disk use and, unless\n" +
			"another process holds the databases, the last committed height and app hash. When the socket accepts\n" +
			"connections but the node does not answer within --timeout, says STARTING (a node binds the socket first\n" +
			"and answers once it runs; or it hangs). A read replica shows no validator.\n" +
			"Run it as the node's user (or root). Exit status: 0 running, 1 not running, 2 error.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if home == "" {
				return errors.New("--home DIR is required")
			}
			ctx, cancel := context.WithTimeout(cmd.Context(), timeout)
			defer cancel()
			rep, err := readStatus(ctx, home)
			if err != nil {
				return err
			}
			if asJSON {
				enc := json.NewEncoder(cmd.OutOrStdout())
				enc.SetIndent("", "  ")
				if err := enc.Encode(rep); err != nil {
					return err
				}
			} else {
				printStatus(cmd.OutOrStdout(), rep, time.Now())
			}
			if !rep.Running {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&home, "home", "", "node home directory")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the status as JSON")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Second, "how long to wait for the node's answer")
	return cmd
}

// statusReport is what `siegel status` prints.
type statusReport struct {
	Home    string `json:"home"`
	Running bool   `json:"running"`
	// Starting: the admin socket accepts connections but the node did not answer in time: it is
	// starting (the socket is bound first and served once the node runs), or hung.
	Starting bool `json:"starting,omitempty"`
	// Problem says why the node did not answer, when it did not.
	Problem string `json:"problem,omitempty"`
	// Version is this command's; the running node reports its own in Node.
	Version string       `json:"version"`
	Node    *adminStatus `json:"node,omitempty"`
	// OnDisk is what the databases of a stopped node hold.
	OnDisk *onDisk   `json:"on_disk,omitempty"`
	Disk   diskUsage `json:"disk"`
}

type onDisk struct {
	AppHeight   uint64 `json:"app_height,omitempty"`
	AppHash     string `json:"app_hash,omitempty"`
	BlockHeight int64  `json:"block_height,omitempty"`
	StateHeight int64  `json:"state_height,omitempty"`
	// Error says why the databases could not be read (another process holds them, for example).
	Error string `json:"error,omitempty"`
}

type diskUsage struct {
	Dir     string      `json:"dir"`
	Bytes   int64       `json:"bytes"`
	Entries []diskEntry `json:"entries"`
	Error   string      `json:"error,omitempty"`
}

type diskEntry struct {
	Name  string `json:"name"`
	Bytes int64  `json:"bytes"`
}

// readStatus asks the node of home for its status, or reads what it can from disk.
func readStatus(ctx context.Context, home string) (statusReport, error) {
	if _, err := os.Stat(filepath.Join(home, "config", "config.toml")); err != nil {
		return statusReport{}, fmt.Errorf("%s is not a node home (no config/config.toml): %w", home, err)
	}
	rep := statusReport{Home: home, Version: version, Disk: dataUsage(filepath.Join(home, "data"))}
	var st adminStatus
	ac := newAdminClient(home)
	err := ac.do(ctx, "GET", "/v1/status", nil, &st)
	if err == nil {
		rep.Running, rep.Node = true, &st
		return rep, nil
	}
	rep.Problem = err.Error()
	if !errors.Is(err, errNotRunning) {
		rep.Starting = ac.connected.Load() && ctx.Err() != nil
		return rep, nil // it may run; do not touch its databases
	}
	od := &onDisk{}
	rep.OnDisk = od
	c, err := store.ReadCommit(filepath.Join(home, "data", "siegel"))
	if err != nil {
		od.Error = err.Error()
		return rep, nil
	}
	od.AppHeight, od.AppHash = c.Height, hex.EncodeToString(c.AppHash)
	h, err := consensus.ReadHeights(home)
	if err != nil {
		od.Error = err.Error()
		return rep, nil
	}
	od.BlockHeight, od.StateHeight = h.Block, h.State
	return rep, nil
}

// dataUsage adds up the sizes of the files under dir, per entry of dir.
func dataUsage(dir string) diskUsage {
	du := diskUsage{Dir: dir}
	entries, err := os.ReadDir(dir)
	if err != nil {
		du.Error = err.Error()
		return du
	}
	for _, e := range entries {
		var n int64
		err := filepath.WalkDir(filepath.Join(dir, e.Name()), func(_ string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil // removed meanwhile (Pebble deletes obsolete files)
				}
				return err
			}
			if d.Type().IsRegular() {
				if fi, err := d.Info(); err == nil {
					n += fi.Size()
				}
			}
			return nil
		})
		if err != nil && du.Error == "" {
			du.Error = err.Error()
		}
		du.Entries = append(du.Entries, diskEntry{Name: e.Name(), Bytes: n})
		du.Bytes += n
	}
	slices.SortFunc(du.Entries, func(a, b diskEntry) int { // largest first
		return cmp.Or(cmp.Compare(b.Bytes, a.Bytes), strings.Compare(a.Name, b.Name))
	})
	return du
}

func printStatus(w io.Writer, r statusReport, now time.Time) {
	if r.Starting {
		fmt.Fprintf(w, "node %s: STARTING (or not answering): its admin socket accepts connections, but it did not answer in time: %s\n", r.Home, r.Problem)
		fmt.Fprintf(w, "  a node binds the socket first and answers once it runs (after opening its databases and replaying\n")
		fmt.Fprintf(w, "  blocks): try again in a moment; if it stays so, see its log\n")
		fmt.Fprintf(w, "  this command:   siegel %s\n", r.Version)
	} else if !r.Running {
		fmt.Fprintf(w, "node %s: NOT RUNNING: %s\n", r.Home, r.Problem)
		fmt.Fprintf(w, "  this command:   siegel %s\n", r.Version)
		if od := r.OnDisk; od != nil {
			if od.Error != "" {
				fmt.Fprintf(w, "  on disk:        cannot read the databases: %s\n", od.Error)
			} else {
				fmt.Fprintf(w, "  on disk:        application at height %d, app hash %s; block store at %d, CometBFT state at %d\n",
					od.AppHeight, od.AppHash, od.BlockHeight, od.StateHeight)
			}
		}
	} else {
		n := r.Node
		fmt.Fprintf(w, "node %s: running siegel %s (this command: %s)\n", r.Home, n.Version, r.Version)
		fmt.Fprintf(w, "  chain:          %s\n", n.ChainID)
		fmt.Fprintf(w, "  node ID:        %s\n", n.NodeID)
		if n.BlockTime.IsZero() {
			fmt.Fprintf(w, "  height:         %d (no block yet)\n", n.Height)
		} else {
			fmt.Fprintf(w, "  height:         %d (block time %s, %s ago)\n", n.Height, n.BlockTime.Format(time.RFC3339), now.Sub(n.BlockTime).Round(time.Second))
		}
		fmt.Fprintf(w, "  app hash:       %s (height %d)\n", n.AppHash, n.AppHeight)
		fmt.Fprintf(w, "  catching up:    %s\n", yesNo(n.CatchingUp))
		fmt.Fprintf(w, "  peers:          %d\n", n.Peers)
		v := n.Validator
		switch {
		case n.FullNode:
			fmt.Fprintf(w, "  validator:      none (a read replica, full_node = true; validator set of %d)\n", v.Validators)
		case v.InSet:
			fmt.Fprintf(w, "  validator:      yes, %s, power %d of %d (validator set of %d)\n", v.Address, v.Power, v.TotalPower, v.Validators)
			mark := ""
			if v.Checked > 0 && v.Signed == 0 {
				mark = "  <- MISSING"
			}
			last := "none"
			if v.LastSigned > 0 {
				last = fmt.Sprintf("last at height %d", v.LastSigned)
			}
			fmt.Fprintf(w, "  signed:         %d of the last %d commits, %s%s\n", v.Signed, v.Checked, last, mark)
		default:
			fmt.Fprintf(w, "  validator:      no (%s is not in the validator set of %d)\n", v.Address, v.Validators)
		}
	}
	fmt.Fprintf(w, "  disk:           %s in %s\n", humanBytes(r.Disk.Bytes), r.Disk.Dir)
	for _, e := range r.Disk.Entries {
		fmt.Fprintf(w, "    %-28s %s\n", e.Name, humanBytes(e.Bytes))
	}
	if r.Disk.Error != "" {
		fmt.Fprintf(w, "    (incomplete: %s)\n", r.Disk.Error)
	}
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// humanBytes prints n in binary units, with the exact count of bytes.
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d bytes", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB (%d bytes)", float64(n)/float64(div), "KMGTPE"[exp], n)
}
