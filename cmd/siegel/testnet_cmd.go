package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/siegel-notary/siegel/api"
)

func newTestnetCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "testnet",
		Short: "Run a local multi-validator network on loopback for development, tests and benchmarks",
	}
	cmd.PersistentFlags().StringVar(&dir, "dir", "testnet", "directory of the testnet")
	var n, base, full int
	var timing testnetTiming
	initCmd := &cobra.Command{
		Use:   "init --validators N [--full-nodes M] [--dir DIR] [--base-port P] [--timeout-commit D] [--gossip-sleep D]",
		Short: "Write N node homes with one shared genesis and a registered test agency",
		Long: "Node i listens on 127.0.0.1 at ports P+10i (CometBFT P2P), +1 (CometBFT RPC), +2 (public API),\n" +
			"+3 (agency API) and +4 (metrics). The test agency's key is DIR/" + testnetKeyFile + "; the operator key\n" +
			"of validator I's data centre, for 'siegel gov', is DIR/operator-I.key.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if timing.TimeoutCommit < 0 {
				return fmt.Errorf("--timeout-commit %v: must not be negative", timing.TimeoutCommit)
			}
			if g := timing.GossipSleep; g < 0 || (g > 0 && g < time.Millisecond) {
				return fmt.Errorf("--gossip-sleep %v: must be at least 1ms (shorter sleeps only burn CPU), or 0 for CometBFT's 100ms", g)
			}
			spec, err := initTestnet(dir, testnetLayout(dir, n+full, base), n, timing)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "testnet %s: %d validators in %s; agency key %s\n", spec.ChainID, len(spec.Nodes), dir, filepath.Join(dir, testnetKeyFile))
			for _, nd := range spec.Nodes {
				fmt.Fprintf(cmd.OutOrStdout(), "  %s  public http://%s  agency http://%s  metrics http://%s/metrics\n", nd.Name, nd.API, nd.Agency, nd.Metrics)
			}
			return nil
		},
	}
	initCmd.Flags().IntVar(&n, "validators", 4, "number of validators")
	initCmd.Flags().IntVar(&full, "full-nodes", 0, "number of further nodes that follow the chain without voting")
	initCmd.Flags().IntVar(&base, "base-port", 27000, "first port; node i uses base+10i to base+10i+4")
	// Half of CometBFT's 1 s: on one 2-core machine, held for 60 s at 20 tx/s x 1,000, the runs that
	// kept up had p99 2.5-3.4 s with 500 ms (two runs) against 5.4-6.0 s with 1 s, and as many runs
	// tipped into a backlog with either (docs/PERFORMANCE.md).
	initCmd.Flags().DurationVar(&timing.TimeoutCommit, "timeout-commit", 500*time.Millisecond, "CometBFT's timeout_commit for every node, the pause after each block (0: CometBFT's default, 1s)")
	// On loopback a message crosses in microseconds, and CometBFT's 100 ms sleep of an idle gossip
	// routine is what a proposal, its block parts and each round of votes wait for. 10 ms, on one 2-core
	// machine at 22 tx/s x 1,000 for 60 s: p99 3.4 / 2.1 / 1.9 / 2.7 s against 3.9 / 2.7 / 3.9 / 3.2 s
	// (four alternating pairs, the same anchors/s; docs/PERFORMANCE.md). An idle testnet's four nodes
	// take 1.8 s more CPU per 30 s.
	initCmd.Flags().DurationVar(&timing.GossipSleep, "gossip-sleep", 10*time.Millisecond, "CometBFT's peer_gossip_sleep_duration for every node, how long an idle gossip routine sleeps (0: CometBFT's default, 100ms)")

	startCmd := &cobra.Command{
		Use:   "start [--dir DIR]",
		Short: "Start every node as its own process; stop them all on SIGINT or SIGTERM",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return startTestnet(cmd.Context(), dir, cmd.OutOrStdout())
		},
	}
	stopCmd := &cobra.Command{
		Use:   "stop [--dir DIR]",
		Short: "Stop every node of the testnet",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			spec, err := loadTestnet(dir)
			if err != nil {
				return err
			}
			for _, nd := range spec.Nodes {
				if err := stopProcess(pidFile(nd)); err != nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "%s: %v\n", nd.Name, err)
				}
			}
			return nil
		},
	}
	statusCmd := &cobra.Command{
		Use:   "status [--dir DIR]",
		Short: "Show each node's height, peers, app hash and API URLs (exit 1 if a node does not answer)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return testnetStatus(cmd.Context(), dir, cmd.OutOrStdout())
		},
	}
	cmd.AddCommand(initCmd, startCmd, stopCmd, statusCmd)
	return cmd
}

func pidFile(nd testnetNode) string { return filepath.Join(nd.Home, "siegel.pid") }

// startTestnet runs `siegel start` for every node and supervises them until ctx ends.
func startTestnet(ctx context.Context, dir string, out io.Writer) error {
	spec, err := loadTestnet(dir)
	if err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	// child is a started node and a channel closed when it has exited (Wait runs in one goroutine only).
	type child struct {
		cmd  *exec.Cmd
		done chan struct{}
	}
	var procs []child
	defer func() {
		for _, p := range procs {
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
		}
		for _, p := range procs {
			select {
			case <-p.done:
			case <-time.After(15 * time.Second):
				_ = p.cmd.Process.Kill()
				<-p.done
			}
		}
		for _, nd := range spec.Nodes {
			_ = os.Remove(pidFile(nd))
		}
	}()
	exited := make(chan string, len(spec.Nodes))
	for _, nd := range spec.Nodes {
		logf, err := os.OpenFile(filepath.Join(nd.Home, "node.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			return err
		}
		p := exec.Command(self, "start", "--home", nd.Home)
		p.Stdout, p.Stderr = logf, logf
		p.Env = os.Environ()
		if err := p.Start(); err != nil {
			logf.Close()
			return fmt.Errorf("%s: %w", nd.Name, err)
		}
		logf.Close()
		c := child{cmd: p, done: make(chan struct{})}
		procs = append(procs, c)
		if err := os.WriteFile(pidFile(nd), []byte(strconv.Itoa(p.Process.Pid)), 0o600); err != nil {
			return err
		}
		name := nd.Name
		go func() { _ = p.Wait(); close(c.done); exited <- name }()
		fmt.Fprintf(out, "%s started (pid %d): public http://%s  agency http://%s  log %s\n", nd.Name, p.Process.Pid, nd.API, nd.Agency, filepath.Join(nd.Home, "node.log"))
	}
	fmt.Fprintln(out, "testnet running; stop with Ctrl-C or 'siegel testnet stop'")
	for running := len(procs); running > 0; running-- {
		select {
		case <-ctx.Done():
			return nil
		case name := <-exited:
			fmt.Fprintf(out, "%s exited\n", name)
		}
	}
	return errors.New("every node has exited")
}

// stopProcess sends SIGTERM to the process in a pid file and waits up to 20 s for it to exit.
func stopProcess(path string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil // not running
	}
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return fmt.Errorf("bad pid file %s", path)
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		_ = os.Remove(path)
		return nil // already gone
	}
	for i := 0; i < 200; i++ {
		if syscall.Kill(pid, 0) != nil {
			_ = os.Remove(path)
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	return fmt.Errorf("pid %d did not stop within 20 s; killed", pid)
}

func testnetStatus(ctx context.Context, dir string, out io.Writer) error {
	spec, err := loadTestnet(dir)
	if err != nil {
		return err
	}
	down := 0
	fmt.Fprintf(out, "testnet %s (%s)\n", spec.ChainID, dir)
	for _, nd := range spec.Nodes {
		c := api.NewClient("http://" + nd.API)
		c.Retry = 0
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		st, err := c.Status(cctx)
		cancel()
		if err != nil {
			down++
			fmt.Fprintf(out, "  %s  DOWN  public http://%s  agency http://%s\n", nd.Name, nd.API, nd.Agency)
			continue
		}
		fmt.Fprintf(out, "  %s  height %d  peers %d  app_hash %x  public http://%s  agency http://%s\n",
			nd.Name, st.Height, st.Peers, []byte(st.AppHash)[:min(8, len(st.AppHash))], nd.API, nd.Agency)
	}
	if down > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d of %d nodes do not answer", down, len(spec.Nodes))}
	}
	return nil
}
