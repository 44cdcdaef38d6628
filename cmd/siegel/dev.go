package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/siegel-notary/siegel/app"
	"github.com/siegel-notary/siegel/consensus"
	"github.com/siegel-notary/siegel/store"
)

// Names used by the development network.
const (
	devChainID    = "siegel-dev"
	devAgencyID   = "dev-agency"
	devAgencyName = "Development Agency"
	devKeyFile    = "dev-agency.key"
	devOperator   = "dev-operator.key"
	devMemberID   = "dev-dc"
)

func newDevCmd() *cobra.Command {
	var home string
	var lf listenFlags
	cmd := &cobra.Command{
		Use:         "dev --home DIR",
		Annotations: map[string]string{nodeCommand: "yes"},
		Short:       "Run a one-validator development network on loopback with a ready agency key",
		Long: "On first use, initialises DIR as a one-validator chain (" + devChainID + ") whose genesis registers the agency\n" +
			"'" + devAgencyID + "', and writes that agency's key to DIR/" + devKeyFile + ". Later runs on the same DIR resume the\n" +
			"same chain. Everything listens on 127.0.0.1 unless flags say otherwise; the CometBFT RPC is off unless\n" +
			"--rpc-addr is given.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if home == "" {
				return errors.New("--home DIR is required")
			}
			if err := ensureDevHome(home, lf); err != nil {
				return err
			}
			nc, err := loadNodeConfig(home)
			if err != nil {
				return err
			}
			lf.apply(&nc)
			if err := nc.validate(); err != nil {
				return err
			}
			logw, err := os.OpenFile(filepath.Join(home, "node.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
			if err != nil {
				return err
			}
			defer logw.Close()
			out := cmd.OutOrStdout()
			return runNode(cmd.Context(), home, nc, lf.overrides(), logw, func(r running) {
				printDevBanner(out, home, r)
			})
		},
	}
	cmd.Flags().StringVar(&home, "home", "", "directory of the development chain (created if missing)")
	lf.register(cmd.Flags())
	return cmd
}

// ensureDevHome initialises home on first use.
func ensureDevHome(home string, lf listenFlags) error {
	if _, err := os.Stat(consensus.GenesisFile(home)); err == nil {
		return nil
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		return err
	}
	keyPath := filepath.Join(home, devKeyFile)
	pub, err := generateKey(keyPath, true)
	if err != nil {
		return err
	}
	var k store.Key
	copy(k[:], pub)
	opub, err := generateKey(filepath.Join(home, devOperator), true)
	if err != nil {
		return err
	}
	var ok store.Key
	copy(ok[:], opub)
	p2p := tcpURL(lf.p2p)
	if p2p == "" {
		// A one-validator development chain has no peers: any free port will do, and two dev chains
		// (or a dev chain and a testnet) never collide.
		p2p = "tcp://127.0.0.1:0"
	}
	nc := defaultNodeConfig()
	nc.GossipListen = []string{"/ip4/127.0.0.1/tcp/0"} // no peers either: any free port
	return initHome(homeSpec{
		home: home, chainID: devChainID, moniker: "dev-validator",
		p2p: p2p, rpc: tcpURL(lf.rpc), timeout: 500 * time.Millisecond,
		node:       nc,
		agencies:   []store.Agency{{ID: devAgencyID, Name: devAgencyName, Keys: []store.Key{k}}},
		consortium: app.Consortium{Threshold: 1, Members: []app.Member{{ID: devMemberID, Name: "Development Data Centre", OperatorKey: ok}}},
	})
}

func printDevBanner(w io.Writer, home string, r running) {
	me := executable()
	key := filepath.Join(home, devKeyFile)
	fmt.Fprintf(w, `Siegel development network is running (chain %s, one validator). Logs: %s

  public API:  %s      (read-only: GET /v1/status, GET /v1/anchors/{sha256})
  agency API:  %s      (POST /v1/anchors)
  metrics:     %s
  agency key:  %s  (agency %q); operator key for 'siegel gov': %s

Try, in a second terminal:

  echo "my first document" > /tmp/doc.txt
  %s anchor --node %s --key %s /tmp/doc.txt
  %s verify --node %s /tmp/doc.txt        # exit status 0: genuine
  echo "another" > /tmp/other.txt
  %s verify --node %s /tmp/other.txt      # exit status 1: unknown

Stop with Ctrl-C; running the same command again resumes this chain.
`, r.ChainID, filepath.Join(home, "node.log"), r.APIURL, r.AgencyURL, orOff(r.MetricsURL), key, devAgencyID, filepath.Join(home, devOperator),
		me, r.AgencyURL, key, me, r.APIURL, me, r.APIURL)
}

func orOff(s string) string {
	if s == "" {
		return "(off)"
	}
	return s
}
