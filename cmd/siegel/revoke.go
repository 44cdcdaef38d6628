package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/siegel-notary/siegel/api"
	"github.com/siegel-notary/siegel/app/tx"
)

// signRevoke builds and signs a revocation that expires ttl blocks after height.
func signRevoke(key ed25519.PrivateKey, chainID string, height, ttl uint64, body *tx.Revoke) []byte {
	var nb [8]byte
	if _, err := rand.Read(nb[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	t := &tx.Tx{ChainID: chainID, Nonce: binary.BigEndian.Uint64(nb[:]), Expiry: height + ttl, Body: body}
	t.Sign(key)
	return t.Encode()
}

func newRevokeCmd() *cobra.Command {
	var nodes, keyPath, hash, reason, successor string
	var asJSON bool
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
			if keyPath == "" {
				return errors.New("--key FILE is required")
			}
			key, err := loadKey(keyPath)
			if err != nil {
				return err
			}
			c := api.NewClient(strings.Split(nodes, ",")...)
			st, err := c.Status(cmd.Context())
			if err != nil {
				return fmt.Errorf("node status: %w", err)
			}
			res, err := c.Submit(cmd.Context(), signRevoke(key, st.ChainID, st.Height, min(100, max(st.MaxTTL, 1)), body))
			if err != nil {
				return fmt.Errorf("submit: %w", err)
			}
			if asJSON {
				if err := json.NewEncoder(cmd.OutOrStdout()).Encode(res); err != nil {
					return err
				}
			} else if res.Status == api.SubmitCommitted {
				fmt.Fprintf(cmd.OutOrStdout(), "%x  revoked (%s) at height %d\n", doc, r, res.Height)
			}
			if res.Status != api.SubmitCommitted {
				return &exitError{code: 1, err: fmt.Errorf("revocation %s (%s): %s", res.Status, res.CodeName, res.Message)}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&nodes, "node", "http://127.0.0.1:8081", "agency API URL(s), comma-separated")
	f.StringVar(&keyPath, "key", "", "agency private key file")
	f.StringVar(&hash, "hash", "", "SHA-256 of the document to revoke")
	f.StringVar(&reason, "reason", "", "superseded, issued_in_error, withdrawn, key_compromised (or 1 to 4)")
	f.StringVar(&successor, "successor", "", "SHA-256 of the document that replaces it")
	f.BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}
