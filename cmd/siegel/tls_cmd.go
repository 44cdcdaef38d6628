package main

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func newTLSCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "tls", Short: "The TLS certificates of the node's listeners"}
	var home string
	check := &cobra.Command{
		Use:   "check --home DIR",
		Short: "Check the certificate files siegel.toml names, as the node loads them, and say what each listener serves",
		Long: "Reads siegel.toml and every certificate, key and client CA file it names, with the checks the node\n" +
			"makes at start and on reload, and prints for each listener whether it serves TLS, the certificate's\n" +
			"names and expiry, and the client CAs. Run it after putting new files in place and before\n" +
			"'systemctl reload siegel'. Exit status: 0 all good, 1 a certificate is expired or not valid yet,\n" +
			"2 a file is missing or wrong (the node would not start with it, or would keep its old certificate).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if home == "" {
				return errors.New("--home DIR is required")
			}
			nc, err := loadNodeConfig(home)
			if err != nil {
				return err
			}
			nt, err := loadNodeTLS(home, nc, discardLogger())
			if err != nil {
				return err
			}
			if bad := printTLS(cmd.OutOrStdout(), nc, nt, time.Now()); bad > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d certificate(s) not valid now", bad)}
			}
			return nil
		},
	}
	check.Flags().StringVar(&home, "home", "", "the node's home directory")
	cmd.AddCommand(check)
	return cmd
}

// printTLS describes each listener's TLS and returns how many certificates are not valid at now.
func printTLS(w io.Writer, nc nodeConfig, nt *nodeTLS, now time.Time) (bad int) {
	addrs := map[string]string{"public": nc.APIAddr, "agency": nc.AgencyAddr, "metrics": nc.MetricsAddr}
	for _, name := range []string{"public", "agency", "metrics"} {
		addr := addrs[name]
		l := nt.listener(name)
		switch {
		case addr == "":
			fmt.Fprintf(w, "%-8s off\n", name)
			continue
		case l == nil:
			fmt.Fprintf(w, "%-8s %s: plain HTTP\n", name, addr)
			continue
		}
		m := l.cur.Load()
		leaf := m.cert.Leaf
		names := append(append([]string(nil), leaf.DNSNames...), ipStrings(leaf.IPAddresses)...)
		state := fmt.Sprintf("valid until %s (%d days)", leaf.NotAfter.UTC().Format(time.DateOnly), int(leaf.NotAfter.Sub(now).Hours()/24))
		switch {
		case now.After(leaf.NotAfter):
			state, bad = "EXPIRED on "+leaf.NotAfter.UTC().Format(time.DateOnly), bad+1
		case now.Before(leaf.NotBefore):
			state, bad = "NOT VALID before "+leaf.NotBefore.UTC().Format(time.DateOnly), bad+1
		}
		fmt.Fprintf(w, "%-8s %s: TLS %s+, certificate %s for %s, %s, %d intermediate(s)\n", name, addr, nc.TLSMinVersion,
			leaf.Subject, strings.Join(names, ", "), state, len(m.cert.Certificate)-1)
		for _, ca := range m.caList {
			fmt.Fprintf(w, "%-8s   client certificates required from CA %s (until %s)\n", "", ca.Subject, ca.NotAfter.UTC().Format(time.DateOnly))
		}
	}
	return bad
}
