package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/siegel-notary/siegel/api"
	"github.com/siegel-notary/siegel/app/tx"
)

func newRevokeCmd() *cobra.Command {
	var sf submitFlags
	var hash, reason, successor string
	cmd := &cobra.Command{
		Use:   "revoke --key FILE --hash HEX --reason CODE [--successor HEX] [--node URL]",
		Short: "Revoke a document your agency anchored",
		Long: "Signs and submits a revocation and waits until it is committed. Reasons: superseded (1),\n" +
			"issued_in_error (2), withdrawn (3), key_compromised (4). --successor names the document that\n" +
			"replaces it. Only the agency that anchored a document can revoke it, once; the anchor stays in the\n" +
			"history and verifiers see the document as revoked, with the reason, from then on.\n" +
			"Exit status: 0 revoked, 1 rejected, 2 error.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			doc, err := api.ParseHash(strings.ToLower(hash))
			if err != nil {
				return fmt.Errorf("--hash: %w", err)
			}
			r, err := tx.ParseReason(reason)
			if err != nil {
				return fmt.Errorf("--reason: %w", err)
			}
			body := &tx.Revoke{Hash: doc, Reason: r}
			if successor != "" {
				s, err := api.ParseHash(strings.ToLower(successor))
				if err != nil {
					return fmt.Errorf("--successor: %w", err)
				}
				body.Successor = &s
			}
			return sf.run(cmd, body, func(_ []byte, res api.SubmitResult) string {
				return fmt.Sprintf("%x  revoked (%s) at height %d", doc, r, res.Height)
			})
		},
	}
	f := cmd.Flags()
	sf.register(f, "agency private key file")
	f.StringVar(&hash, "hash", "", "SHA-256 of the document to revoke")
	f.StringVar(&reason, "reason", "", "superseded, issued_in_error, withdrawn, key_compromised (or 1 to 4)")
	f.StringVar(&successor, "successor", "", "SHA-256 of the document that replaces it")
	return cmd
}
