// Command siegel runs a Siegel notarisation node and is the client of agencies and citizens.
// It only wires the packages together: see the README for the commands.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// exitError carries an exit status other than 2 (the status of any other error).
type exitError struct {
	code int
	err  error // printed when not nil
}

func (e *exitError) Error() string {
	if e.err == nil {
		return fmt.Sprintf("exit status %d", e.code)
	}
	return e.err.Error()
}

// nodeCommand marks (in a command's Annotations) the commands that run a node: main takes SIGHUP for
// them from the start, so that a reload during start-up does not end the process.
const nodeCommand = "siegel-node"

func main() {
	root := newRootCmd()
	if c, _, err := root.Find(os.Args[1:]); err == nil && c.Annotations[nodeCommand] != "" {
		catchSIGHUP()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := root.ExecuteContext(ctx)
	var ee *exitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		if ee.err != nil {
			fmt.Fprintln(os.Stderr, "siegel:", ee.err)
		}
		os.Exit(ee.code)
	default:
		fmt.Fprintln(os.Stderr, "siegel:", err)
		os.Exit(2)
	}
}

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "siegel",
		Short:         "Siegel: notarise document hashes on a permissioned CometBFT network",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.AddCommand(
		newInitCmd(), newStartCmd(), newDevCmd(),
		newKeysCmd(), newAnchorCmd(), newRevokeCmd(), newVerifyCmd(), newReceiptCmd(), newBenchCmd(), newTestnetCmd(), newGovCmd(), newAgencyCmd(),
		newQRCmd(), newMetadataCmd(), newGossipIDCmd(), newNodeIDCmd(), newTLSCmd(),
		newStatusCmd(), newBackupCmd(), newRestoreCmd(),
		&cobra.Command{
			Use:   "version",
			Short: "Print Siegel's version",
			Args:  cobra.NoArgs,
			Run:   func(cmd *cobra.Command, _ []string) { fmt.Fprintln(cmd.OutOrStdout(), version) },
		},
	)
	addTLSHints(root)
	return root
}
