package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/siegel-notary/siegel/api"
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
	cmd.AddCommand(newMetadataGetCmd(), newMetadataPublishCmd(), wipe)
	return cmd
}

func newMetadataGetCmd() *cobra.Command {
	var nodes, public, hash string
	var asJSON bool
	var tf tlsFlags
	cmd := &cobra.Command{
		Use:   "get [--node AGENCY_URL] [--api PUBLIC_URL] [--json] (FILE | --hash HEX)",
		Short: "Print a document's metadata, public or restricted, from the agency API",
		Long: "Asks the agency API (which serves restricted metadata too; the public API shows public metadata\n" +
			"beside 'siegel verify') for the metadata stored for the document, checks it against the commitment of\n" +
			"the document's anchor (from the public API) and the agency's signature, and prints it.\n" +
			"Exit status: 0 printed, 1 none stored (yet), 2 error.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := oneDocument(args, hash)
			if err != nil {
				return err
			}
			c, err := tf.client(nodes)
			if err != nil {
				return err
			}
			pc, err := tf.client(public)
			if err != nil {
				return err
			}
			v, err := c.Metadata(cmd.Context(), d.Hash)
			if errors.Is(err, api.ErrNotFound) {
				return &exitError{code: 1, err: fmt.Errorf("no metadata stored for %x (not anchored with metadata, or not received yet)", d.Hash)}
			}
			if err != nil {
				return err
			}
			// Check it here too, against the commitment the public API shows and the agency's signature,
			// and print the checked message: a tampered answer is not printed.
			a, found, err := pc.Anchor(cmd.Context(), d.Hash)
			if err != nil {
				return fmt.Errorf("look up the anchor on the public API %s: %w", public, err)
			}
			if !found {
				return fmt.Errorf("the public API %s knows no anchor of %x, but the agency API serves metadata for it", public, d.Hash)
			}
			m, err := checkedMeta(v, a.MetaDigest)
			if err != nil {
				return fmt.Errorf("metadata of %x does not check out: %w", d.Hash, err)
			}
			out := cmd.OutOrStdout()
			if asJSON {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(v)
			}
			fmt.Fprintf(out, "%x  %s\n  %s metadata of agency %s, signed by %x\n", m.DocHash, d.Name, m.Visibility, m.AgencyID, m.Signer)
			return printFields(out, "  ", m.Fields)
		},
	}
	f := cmd.Flags()
	f.StringVar(&nodes, "node", "http://127.0.0.1:8081", "agency API URL(s), comma-separated")
	f.StringVar(&public, "api", "http://127.0.0.1:8080", "public API URL(s), comma-separated, for the anchor's commitment")
	f.StringVar(&hash, "hash", "", "SHA-256 in hex instead of a file")
	f.BoolVar(&asJSON, "json", false, "print the metadata view as JSON")
	tf.register(f)
	return cmd
}

func newMetadataPublishCmd() *cobra.Command {
	var nodes, keyPath, metaPath string
	var hashes []string
	var tf tlsFlags
	cmd := &cobra.Command{
		Use:   "publish --key FILE --meta META.json [--node URL] (FILE... | --hash HEX...)",
		Short: "Publish the metadata of documents already anchored with it (again, e.g. after a failure)",
		Long: "Signs the metadata of META.json for each document with the agency key, as 'siegel anchor --meta' did,\n" +
			"and publishes it. ed25519 signatures are deterministic: the same key, file and document give the\n" +
			"message whose digest the anchor committed to. Publishing again what a node stores already is harmless.\n" +
			"Exit status: 0 all published, 1 some rejected (the line says why), 2 error.",
		RunE: func(cmd *cobra.Command, files []string) error {
			docs, err := documents(files, hashes)
			if err != nil {
				return err
			}
			if keyPath == "" || metaPath == "" {
				return errors.New("--key FILE and --meta META.json are required")
			}
			key, err := loadKey(keyPath)
			if err != nil {
				return err
			}
			meta, err := loadMetaFile(metaPath)
			if err != nil {
				return err
			}
			c, err := tf.client(nodes)
			if err != nil {
				return err
			}
			st, err := c.Status(cmd.Context())
			if err != nil {
				return fmt.Errorf("node status: %w", err)
			}
			metas, err := signMetadata(cmd.Context(), c, st.ChainID, key, meta, docs)
			if err != nil {
				return err
			}
			failed := 0
			for i, d := range docs {
				res := publishOne(cmd.Context(), c, metas[i].raw)
				if res != metaPublished {
					failed++
				}
				fmt.Fprintf(cmd.OutOrStdout(), "%x  %s  metadata %s\n", d.Hash, d.Name, res)
			}
			if failed > 0 {
				return &exitError{code: 1, err: fmt.Errorf("the metadata of %d of %d documents was not published", failed, len(docs))}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&nodes, "node", "http://127.0.0.1:8081", "agency API URL(s), comma-separated")
	f.StringVar(&keyPath, "key", "", "agency private key file")
	f.StringVar(&metaPath, "meta", "", "the metadata JSON file the documents were anchored with")
	f.StringArrayVar(&hashes, "hash", nil, "a SHA-256 in hex instead of a file (repeatable)")
	tf.register(f)
	return cmd
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
