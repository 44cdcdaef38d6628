package main

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/siegel-notary/siegel/api"
	"github.com/siegel-notary/siegel/app/tx"
)

// signedSubmit signs body with key for the chain behind c and submits it, waiting for the commit.
func signedSubmit(ctx context.Context, c *api.Client, key ed25519.PrivateKey, body tx.Body) ([]byte, api.SubmitResult, error) {
	st, err := c.Status(ctx)
	if err != nil {
		return nil, api.SubmitResult{}, fmt.Errorf("node status: %w", err)
	}
	raw := signTx(key, st.ChainID, st.Height+min(100, max(st.MaxTTL, 1)), body)
	res, err := c.Submit(ctx, raw)
	return raw, res, err
}

// submitFlags are the flags of every command that signs and submits.
type submitFlags struct {
	nodes, key string
	asJSON     bool
	tls        tlsFlags
}

func (f *submitFlags) register(fs *pflag.FlagSet, keyHelp string) {
	fs.StringVar(&f.nodes, "node", "http://127.0.0.1:8081", "agency API URL(s), comma-separated")
	fs.StringVar(&f.key, "key", "", keyHelp)
	fs.BoolVar(&f.asJSON, "json", false, "print the result as JSON")
	f.tls.register(fs)
}

func (f *submitFlags) run(cmd *cobra.Command, body tx.Body, describe func(raw []byte, r api.SubmitResult) string) error {
	if f.key == "" {
		return errors.New("--key FILE is required")
	}
	key, err := loadKey(f.key)
	if err != nil {
		return err
	}
	c, err := f.tls.client(f.nodes)
	if err != nil {
		return err
	}
	raw, res, err := signedSubmit(cmd.Context(), c, key, body)
	if err != nil {
		return fmt.Errorf("submit: %w", err)
	}
	if f.asJSON {
		if err := json.NewEncoder(cmd.OutOrStdout()).Encode(res); err != nil {
			return err
		}
	} else if res.Status == api.SubmitCommitted {
		fmt.Fprintln(cmd.OutOrStdout(), describe(raw, res))
	}
	if res.Status != api.SubmitCommitted {
		return &exitError{code: 1, err: fmt.Errorf("%s (%s): %s", res.Status, res.CodeName, res.Message)}
	}
	return nil
}

// parseKey reads an ed25519 public key in hex (64 digits) or base64 (as in genesis.json).
func parseKey(s string) ([32]byte, error) {
	var k [32]byte
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != 32 {
		b, err = base64.StdEncoding.DecodeString(s)
	}
	if err != nil || len(b) != 32 {
		return k, fmt.Errorf("key %q: want 32 bytes in hex or base64", s)
	}
	copy(k[:], b)
	return k, nil
}

func newGovCmd() *cobra.Command {
	gov := &cobra.Command{Use: "gov", Short: "Consortium governance: propose, approve and list proposals (operator keys)"}
	var sf submitFlags
	var deadline uint64
	var agency, name string
	var keys []string
	var power, value int64
	var param string
	var docTypes []string
	propose := &cobra.Command{
		Use:   "propose ACTION [flags]",
		Short: "Propose a governance action, signed with your operator key",
		Long: "Actions: register-agency --agency ID --name NAME --agency-key HEX...; add-agency-key --agency ID\n" +
			"--agency-key HEX; retire-agency-key --agency ID --agency-key HEX; suspend-agency --agency ID;\n" +
			"reinstate-agency --agency ID; set-validator --validator-key KEY --power N (0 removes it; KEY in hex\n" +
			"or base64 as in genesis.json); set-param --param max_batch|max_ttl|threshold --value N; set-doc-types --agency ID\n" +
			"--doc-type TYPE... (none: any). Your proposal counts as your approval; it executes, once, in the block\n" +
			"in which it reaches the consortium's threshold, unless its deadline has passed. Prints its ID.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			act := tx.Action{Agency: agency, Name: name, Power: power}
			kinds := map[string]tx.ActionKind{}
			for k := tx.ActRegisterAgency; k <= tx.ActSetDocTypes; k++ {
				kinds[k.String()] = k
			}
			k, ok := kinds[args[0]]
			if !ok {
				return fmt.Errorf("unknown action %q (see --help)", args[0])
			}
			act.Kind = k
			if k == tx.ActSetParam {
				act.Param, act.Power = param, value
			}
			act.DocTypes = docTypes
			for _, s := range keys {
				key, err := parseKey(s)
				if err != nil {
					return err
				}
				act.Keys = append(act.Keys, key)
			}
			if want := map[tx.ActionKind]int{tx.ActAddAgencyKey: 1, tx.ActRetireAgencyKey: 1, tx.ActSetValidator: 1}[k]; want > 0 && len(act.Keys) != want {
				return fmt.Errorf("%s needs exactly one key", k)
			}
			if k == tx.ActRegisterAgency && len(act.Keys) == 0 {
				return errors.New("register-agency needs at least one --agency-key")
			}
			c, err := sf.tls.client(sf.nodes)
			if err != nil {
				return err
			}
			st, err := c.Status(cmd.Context())
			if err != nil {
				return err
			}
			body := &tx.Propose{Deadline: st.Height + deadline, Action: act}
			return sf.run(cmd, body, func(raw []byte, r api.SubmitResult) string {
				return fmt.Sprintf("proposal %s (%s) committed at height %d", tx.ProposalIDOf(raw), k, r.Height)
			})
		},
	}
	f := propose.Flags()
	sf.register(f, "operator private key file")
	f.Uint64Var(&deadline, "deadline-blocks", 10000, "blocks from now until the proposal expires")
	f.StringVar(&agency, "agency", "", "agency ID")
	f.StringVar(&name, "name", "", "agency display name (register-agency)")
	f.StringArrayVar(&keys, "agency-key", nil, "agency public key, hex (repeatable)")
	f.StringArrayVar(&keys, "validator-key", nil, "validator public key, hex or base64 (set-validator)")
	f.Int64Var(&power, "power", 10, "validator voting power (set-validator; 0 removes)")
	f.StringVar(&param, "param", "", "set-param: max_batch, max_ttl or threshold")
	f.Int64Var(&value, "value", 0, "set-param: the new value")
	f.StringArrayVar(&docTypes, "doc-type", nil, "set-doc-types: a document type the agency may issue (repeatable; none: any)")

	var af submitFlags
	approve := &cobra.Command{
		Use:   "approve PROPOSAL_ID --key FILE",
		Short: "Approve a proposal with your operator key",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			b, err := hex.DecodeString(args[0])
			if err != nil || len(b) != 8 {
				return fmt.Errorf("proposal ID %q: want 16 hex digits", args[0])
			}
			var id tx.ProposalID
			copy(id[:], b)
			return af.run(cmd, &tx.Approve{Proposal: id}, func(_ []byte, r api.SubmitResult) string {
				return fmt.Sprintf("approved %s at height %d", id, r.Height)
			})
		},
	}
	af.register(approve.Flags(), "operator private key file")

	var ln string
	var lj bool
	var ltf tlsFlags
	list := &cobra.Command{
		Use:   "list [--node URL]",
		Short: "List governance proposals",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := ltf.client(ln)
			if err != nil {
				return err
			}
			ps, err := c.Proposals(cmd.Context())
			if err != nil {
				return err
			}
			return printJSONOr(cmd.OutOrStdout(), lj, ps, func(w io.Writer) {
				for _, p := range ps {
					state := "open"
					if p.Executed != 0 {
						state = fmt.Sprintf("executed at %d", p.Executed)
					}
					fmt.Fprintf(w, "%s  %-18s %-24s by %s, approvals %s, deadline %d, %s\n", p.ID, p.Action.Kind,
						p.Action.Agency, p.Proposer, strings.Join(p.Approvals, ","), p.Deadline, state)
				}
			})
		},
	}
	list.Flags().StringVar(&ln, "node", "http://127.0.0.1:8080", "public API URL(s)")
	list.Flags().BoolVar(&lj, "json", false, "print JSON")
	ltf.register(list.Flags())
	gov.AddCommand(propose, approve, list)
	return gov
}

func printJSONOr(w io.Writer, asJSON bool, v any, text func(io.Writer)) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	}
	text(w)
	return nil
}

func newAgencyCmd() *cobra.Command {
	ag := &cobra.Command{Use: "agency", Short: "Registered agencies; rotate your agency's key"}
	var node string
	var asJSON bool
	var tf tlsFlags
	list := &cobra.Command{
		Use:  "list [--node URL]",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := tf.client(node)
			if err != nil {
				return err
			}
			as, err := c.Agencies(cmd.Context())
			if err != nil {
				return err
			}
			return printJSONOr(cmd.OutOrStdout(), asJSON, as, func(w io.Writer) {
				for _, a := range as {
					state := "active"
					if a.Suspended {
						state = "SUSPENDED"
					}
					fmt.Fprintf(w, "%-24s %-9s %d key(s), %d retired  %s\n", a.ID, state, len(a.Keys), len(a.Retired), a.Name)
				}
			})
		},
		Short: "List registered agencies",
	}
	list.Flags().StringVar(&node, "node", "http://127.0.0.1:8080", "public API URL(s)")
	list.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	tf.register(list.Flags())
	show := &cobra.Command{
		Use:   "show ID [--node URL]",
		Short: "Show one agency and its keys",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := tf.client(node)
			if err != nil {
				return err
			}
			as, err := c.Agencies(cmd.Context())
			if err != nil {
				return err
			}
			for _, a := range as {
				if a.ID == args[0] {
					enc := json.NewEncoder(cmd.OutOrStdout())
					enc.SetIndent("", "  ")
					return enc.Encode(a)
				}
			}
			return &exitError{code: 1, err: fmt.Errorf("no agency %q", args[0])}
		},
	}
	show.Flags().StringVar(&node, "node", "http://127.0.0.1:8080", "public API URL(s)")
	tf.register(show.Flags())
	var sf submitFlags
	var newKey string
	rotate := &cobra.Command{
		Use:   "rotate-key --key CURRENT_FILE --new-key NEW_FILE",
		Short: "Replace your agency's signing key: the new key is registered, the current one retired",
		Long: "Signed with the current key. Make the new key with 'siegel keys generate'. Documents anchored with\n" +
			"the old key stay valid; the old key can write nothing after the rotation.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			nk, err := loadKey(newKey)
			if err != nil {
				return err
			}
			var pub [32]byte
			copy(pub[:], nk.Public().(ed25519.PublicKey))
			return sf.run(cmd, &tx.RotateKey{NewKey: pub}, func(_ []byte, r api.SubmitResult) string {
				return fmt.Sprintf("key rotated at height %d; the new key is %x", r.Height, pub)
			})
		},
	}
	sf.register(rotate.Flags(), "the agency's current private key file")
	rotate.Flags().StringVar(&newKey, "new-key", "", "the new private key file")
	ag.AddCommand(list, show, rotate)
	return ag
}
