package main

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/siegel-notary/siegel/api"
	"github.com/siegel-notary/siegel/app/tx"
	"github.com/siegel-notary/siegel/receipt"
)

func newReceiptCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "receipt", Short: "Fetch and verify receipts that prove a document's state offline"}
	var nodes, hash string
	var tf tlsFlags
	get := &cobra.Command{
		Use:   "get --hash HEX [--node URL] > receipt.json",
		Short: "Fetch the receipt of a document hash from the public API",
		Long: "Writes the JSON receipt file to stdout. For a hash that was never anchored the receipt proves\n" +
			"its absence. The receipt is as of the latest checkpoint signed by the validators.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			h, err := api.ParseHash(strings.ToLower(hash))
			if err != nil {
				return fmt.Errorf("--hash: %w", err)
			}
			c, err := tf.client(nodes)
			if err != nil {
				return err
			}
			raw, err := c.Receipt(cmd.Context(), h)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", raw)
			return err
		},
	}
	get.Flags().StringVar(&nodes, "node", "http://127.0.0.1:8080", "public API URL(s), comma-separated")
	get.Flags().StringVar(&hash, "hash", "", "document SHA-256 in hex")
	tf.register(get.Flags())

	var genesis string
	var asJSON bool
	verify := &cobra.Command{
		Use:   "verify RECEIPT.json --genesis genesis.json",
		Short: "Verify a receipt offline against the network's genesis validators",
		Long: "Checks every part of the receipt without asking any server: the validator signatures on its\n" +
			"checkpoint (more than 2/3 of the voting power of the genesis validators, or of the sets that the\n" +
			"receipt's transitions lead to), the document's state in the map, and the record's place in the log.\n" +
			"Exit status: 0 valid, 1 invalid (the reason is printed), 2 error.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if genesis == "" {
				return errors.New("--genesis FILE is required: the network's genesis.json is the trust root")
			}
			trust, err := loadTrustRoot(genesis)
			if err != nil {
				return err
			}
			r, err := loadReceipt(args[0])
			if err != nil {
				return err
			}
			res, err := receipt.Verify(r, trust)
			if err != nil {
				return &exitError{code: 1, err: fmt.Errorf("INVALID receipt: %w", err)}
			}
			return printVerified(cmd.OutOrStdout(), res, asJSON)
		},
	}
	verify.Flags().StringVar(&genesis, "genesis", "", "the network's genesis.json (trust root)")
	verify.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	cmd.AddCommand(get, verify)
	return cmd
}

func loadTrustRoot(path string) (receipt.TrustRoot, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return receipt.TrustRoot{}, err
	}
	return receipt.TrustRootFromGenesis(b)
}

// loadReceipt reads a receipt file: JSON, or the compact binary form.
func loadReceipt(path string) (*receipt.Receipt, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, receipt.MaxJSONBytes+1))
	if err != nil {
		return nil, err
	}
	var r *receipt.Receipt
	if len(b) >= 2 && string(b[:2]) == "SR" {
		r, err = receipt.DecodeCompact(b)
	} else {
		r, err = receipt.DecodeJSON(b)
	}
	if err != nil {
		return nil, &exitError{code: 1, err: fmt.Errorf("INVALID receipt %s: %w", path, err)}
	}
	return r, nil
}

type verifiedView struct {
	Valid      bool               `json:"valid"`
	DocHash    string             `json:"doc_hash"`
	State      string             `json:"state"`
	Agency     string             `json:"agency,omitempty"`
	Height     uint64             `json:"height,omitempty"`
	Checkpoint receipt.Checkpoint `json:"as_of"`
}

func printVerified(w io.Writer, res receipt.Result, asJSON bool) error {
	v := verifiedView{Valid: true, DocHash: hex.EncodeToString(res.DocHash[:]), State: res.State.String(), Checkpoint: res.AsOf}
	if res.Record != nil {
		v.Agency, v.Height = res.Record.Agency, res.Record.Height
	}
	if asJSON {
		return json.NewEncoder(w).Encode(v)
	}
	c := res.AsOf
	switch res.State {
	case receipt.StateAnchored:
		_, err := fmt.Fprintf(w, "VALID receipt: %s was anchored by agency %s at height %d (%s)\n  and is not revoked as of checkpoint %d (%s), signed by the validators of chain %s\n",
			v.DocHash, v.Agency, v.Height, res.Record.Time.Format("2006-01-02 15:04:05 UTC"), c.Height, c.Time.Format("2006-01-02 15:04:05 UTC"), c.ChainID)
		return err
	case receipt.StateRevoked:
		rv := res.Revocation
		_, err := fmt.Fprintf(w, "VALID receipt: %s was anchored by agency %s at height %d (%s)\n  and REVOKED at height %d (%s), reason %s, as of checkpoint %d of chain %s\n",
			v.DocHash, v.Agency, v.Height, res.Record.Time.Format("2006-01-02 15:04:05 UTC"), rv.Height, rv.Time.Format("2006-01-02 15:04:05 UTC"), tx.Reason(rv.Reason), c.Height, c.ChainID)
		return err
	default:
		_, err := fmt.Fprintf(w, "VALID receipt: %s was never anchored, as of checkpoint %d (%s) of chain %s\n",
			v.DocHash, c.Height, c.Time.Format("2006-01-02 15:04:05 UTC"), c.ChainID)
		return err
	}
}
