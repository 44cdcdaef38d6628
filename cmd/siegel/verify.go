package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/siegel-notary/siegel/api"
	"github.com/siegel-notary/siegel/app/tx"
	"github.com/siegel-notary/siegel/receipt"
)

// verifyResult is the output of `siegel verify`.
type verifyResult struct {
	Document string          `json:"document"`
	Hash     string          `json:"hash"`
	Status   string          `json:"status"` // anchored, revoked or unknown
	Anchor   *api.AnchorView `json:"anchor,omitempty"`
}

func newVerifyCmd() *cobra.Command {
	var nodes, hash, offline, genesis string
	var asJSON bool
	var tf tlsFlags
	cmd := &cobra.Command{
		Use:   "verify [--node URL] [--json] (FILE | --hash HEX)",
		Short: "Check whether a document is anchored",
		Long: "Hashes FILE locally and asks the public API whether that hash is anchored.\n" +
			"Exit status: 0 anchored and valid, 1 unknown or revoked, 2 error.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := oneDocument(args, hash)
			if err != nil {
				return err
			}
			if offline != "" {
				return verifyOffline(cmd.OutOrStdout(), cmd.ErrOrStderr(), d, offline, genesis, asJSON)
			}
			c, err := tf.client(nodes)
			if err != nil {
				return err
			}
			v, found, err := c.Anchor(cmd.Context(), d.Hash)
			if err != nil {
				return err
			}
			res := verifyResult{Document: d.Name, Hash: fmt.Sprintf("%x", d.Hash), Status: "unknown"}
			if found {
				res.Status, res.Anchor = v.Status, &v
			}
			if err := printVerify(cmd.OutOrStdout(), res, asJSON); err != nil {
				return err
			}
			if res.Status != api.StatusAnchored {
				return &exitError{code: 1}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&nodes, "node", "http://127.0.0.1:8080", "public API URL(s), comma-separated")
	f.StringVar(&hash, "hash", "", "SHA-256 in hex to check instead of a file")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	f.StringVar(&offline, "offline", "", "check against this receipt file instead of asking a node")
	f.StringVar(&genesis, "genesis", "", "with --offline: the network's genesis.json, to check the validators' signatures")
	tf.register(f)
	return cmd
}

// verifyOffline checks a document against a receipt file, asking no server.
func verifyOffline(out, errw io.Writer, d document, path, genesis string, asJSON bool) error {
	r, err := loadReceipt(path)
	if err != nil {
		return err
	}
	if r.DocHash != d.Hash {
		return &exitError{code: 1, err: fmt.Errorf("MISMATCH: %s has SHA-256 %x, the receipt is for %x", d.Name, d.Hash, r.DocHash)}
	}
	var res receipt.Result
	if genesis != "" {
		trust, err := loadTrustRoot(genesis)
		if err != nil {
			return err
		}
		res, err = receipt.Verify(r, trust)
		if err != nil {
			return &exitError{code: 1, err: fmt.Errorf("INVALID receipt: %w", err)}
		}
	} else {
		if res, err = receipt.VerifyProofs(r); err != nil {
			return &exitError{code: 1, err: fmt.Errorf("INVALID receipt: %w", err)}
		}
		fmt.Fprintln(errw, "warning: the proofs hold, but without --genesis the validators' signatures on the checkpoint were not checked")
	}
	if err := printVerified(out, res, asJSON); err != nil {
		return err
	}
	if res.State != receipt.StateAnchored {
		return &exitError{code: 1}
	}
	return nil
}

func printVerify(w io.Writer, r verifyResult, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(r)
	}
	switch {
	case r.Anchor != nil && r.Status == api.StatusAnchored:
		a := r.Anchor
		_, err := fmt.Fprintf(w, "GENUINE  %s\n  %s\n  anchored by %s (%s) at height %d, %s\n",
			r.Document, r.Hash, a.Agency.Name, a.Agency.ID, a.Height, a.Time.Format("2006-01-02 15:04:05 UTC"))
		if err == nil {
			err = printMetaLines(w, a)
		}
		return err
	case r.Anchor != nil && r.Status == api.StatusRevoked:
		a, rv := r.Anchor, r.Anchor.Revocation
		_, err := fmt.Fprintf(w, "REVOKED  %s\n  %s\n  anchored by %s (%s) at height %d, %s\n  revoked at height %d, %s: %s\n",
			r.Document, r.Hash, a.Agency.Name, a.Agency.ID, a.Height, a.Time.Format("2006-01-02 15:04:05 UTC"),
			rv.Height, rv.Time.Format("2006-01-02 15:04:05 UTC"), rv.Reason)
		if err == nil && rv.Successor != "" {
			_, err = fmt.Fprintf(w, "  replaced by %s\n", rv.Successor)
		}
		if err == nil {
			err = printMetaLines(w, a)
		}
		return err
	case r.Status == "unknown":
		_, err := fmt.Fprintf(w, "UNKNOWN  %s\n  %s\n  no registered agency has anchored this document\n", r.Document, r.Hash)
		return err
	}
	return errors.New("unexpected status " + r.Status)
}

// printMetaLines prints the public metadata of an anchor, if it has any, or that it committed to
// metadata this node does not show (not received yet, or not public). The metadata is checked here,
// against the anchor's commitment and the agency's signature, and printed from the checked message, so
// that a node's answer cannot put other text (or terminal control sequences) on the screen.
func printMetaLines(w io.Writer, a *api.AnchorView) error {
	switch {
	case a.Metadata != nil:
		m, err := checkedMeta(a.Metadata, a.MetaDigest)
		if err != nil {
			_, err = fmt.Fprintf(w, "  metadata: the node's answer does not check out (%v): not shown\n", err)
			return err
		}
		if _, err := fmt.Fprintf(w, "  metadata, signed by the agency (matches the commitment on chain):\n"); err != nil {
			return err
		}
		return printFields(w, "    ", m.Fields)
	case a.MetaDigest != "":
		_, err := fmt.Fprintf(w, "  metadata: committed to, not received yet or not public\n")
		return err
	}
	return nil
}

// checkedMeta checks a metadata view against the digest an anchor committed to (hex) and returns the
// decoded message.
func checkedMeta(v *api.MetadataView, committedHex string) (*tx.Metadata, error) {
	committed, err := api.ParseHash(committedHex)
	if err != nil {
		return nil, fmt.Errorf("the anchor shows no valid metadata digest: %w", err)
	}
	return v.Check(committed)
}

// printFields prints metadata fields (checked: no control characters), one per line in key order.
func printFields(w io.Writer, indent string, fields []tx.Field) error {
	for _, f := range fields {
		if _, err := fmt.Fprintf(w, "%s%s: %s\n", indent, f.Key, f.Value); err != nil {
			return err
		}
	}
	return nil
}
