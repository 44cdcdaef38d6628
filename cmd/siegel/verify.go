package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/siegel-notary/siegel/api"
)

// verifyResult is the output of `siegel verify`.
type verifyResult struct {
	Document string          `json:"document"`
	Hash     string          `json:"hash"`
	Status   string          `json:"status"` // anchored or unknown
	Anchor   *api.AnchorView `json:"anchor,omitempty"`
}

func newVerifyCmd() *cobra.Command {
	var nodes, hash string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "verify [--node URL] [--json] (FILE | --hash HEX)",
		Short: "Check whether a document is anchored",
		Long: "Hashes FILE locally and asks the public API whether that hash is anchored.\n" +
			"Exit status: 0 anchored and valid, 1 unknown, 2 error.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var hashes []string
			if hash != "" {
				hashes = []string{hash}
			}
			docs, err := documents(args, hashes)
			if err != nil {
				return err
			}
			d := docs[0]
			c := api.NewClient(strings.Split(nodes, ",")...)
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
	return cmd
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
		return err
	case r.Status == "unknown":
		_, err := fmt.Fprintf(w, "UNKNOWN  %s\n  %s\n  no registered agency has anchored this document\n", r.Document, r.Hash)
		return err
	}
	return errors.New("unexpected status " + r.Status)
}
