package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/siegel-notary/siegel/store"
)

func newGossipIDCmd() *cobra.Command {
	var home string
	cmd := &cobra.Command{
		Use:   "gossip-id --home DIR",
		Short: "Print this node's peer ID and addresses in the metadata gossip, for the others' gossip_bootstrap",
		Long: "Prints the node's libp2p peer ID (from gossip_key_file, created if missing) and, for each address in\n" +
			"gossip_listen, the multiaddr that the other nodes put into their gossip_bootstrap. An address that\n" +
			"listens on 0.0.0.0 is printed as is: replace it with the address the other data centres reach.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if home == "" {
				return errors.New("--home DIR is required")
			}
			nc, err := loadNodeConfig(home)
			if err != nil {
				return err
			}
			path := gossipKeyPath(home, nc)
			if _, err := loadOrCreateGossipKey(path, discardLogger()); err != nil {
				return err
			}
			id, err := gossipPeerID(path)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "peer ID: %s\n", id)
			for _, a := range nc.GossipListen {
				fmt.Fprintf(out, "bootstrap address: %s/p2p/%s\n", a, id)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&home, "home", "", "the node's home directory")
	return cmd
}

func newMetadataCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "metadata",
		Short: "Read, publish and rebuild document metadata (the facts beside a document's hash)",
	}
	var home string
	wipe := &cobra.Command{
		Use:   "wipe --home DIR",
		Short: "Delete the node's stored metadata so that it fetches all of it from its peers again (node stopped)",
		Long: "Metadata is not consensus state: every node keeps what it received by gossip, checked against the\n" +
			"commitments on chain, and fetches what it lacks from its peers at start. If a node's metadata is in\n" +
			"doubt, stop the node, run this, and start it: it rebuilds the metadata from its peers\n" +
			"(siegel_metadata_catchup_missing falls to 0). The chain's own state is not touched.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if home == "" {
				return errors.New("--home DIR is required")
			}
			dir := filepath.Join(home, "data", "siegel")
			if _, err := os.Stat(filepath.Join(dir, "CURRENT")); err != nil {
				return fmt.Errorf("%s holds no node store (%s): is --home a node's home?", home, dir)
			}
			st, err := store.Open(dir, store.Options{Logger: discardLogger(), CacheBytes: 8 << 20})
			if err != nil {
				return fmt.Errorf("%w (is the node still running? stop it first)", err)
			}
			n, err := st.MetadataCount()
			if err == nil {
				err = st.WipeMetadata()
			}
			if cerr := st.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "deleted %d metadata messages; start the node to fetch them from its peers\n", n)
			return nil
		},
	}
	wipe.Flags().StringVar(&home, "home", "", "the node's home directory")
	cmd.AddCommand(wipe)
	return cmd
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
