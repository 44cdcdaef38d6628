package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

func newKeysCmd() *cobra.Command {
	keys := &cobra.Command{Use: "keys", Short: "Manage agency signing keys"}
	var out string
	var force bool
	gen := &cobra.Command{
		Use:   "generate --out FILE",
		Short: "Generate an ed25519 agency key; print its public key",
		Long: "Writes a new ed25519 private key as PKCS#8 PEM to FILE (mode 0600) and prints the public key in hex,\n" +
			"which the consortium registers for the agency. Keep FILE secret; it refuses to overwrite a file.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return errors.New("--out FILE is required")
			}
			pub, err := generateKey(out, force)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), hex.EncodeToString(pub))
			return nil
		},
	}
	gen.Flags().StringVar(&out, "out", "", "file to write the private key to")
	gen.Flags().BoolVar(&force, "force", false, "overwrite an existing file")
	keys.AddCommand(gen)
	return keys
}

func generateKey(path string, force bool) (ed25519.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(path, flags, 0o600)
	if err != nil {
		return nil, fmt.Errorf("write key: %w", err)
	}
	if err := pem.Encode(f, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
		f.Close()
		return nil, fmt.Errorf("write key: %w", err)
	}
	return pub, f.Close()
}

func loadKey(path string) (ed25519.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "PRIVATE KEY" {
		return nil, fmt.Errorf("read key %s: not a PEM \"PRIVATE KEY\" file (make one with 'siegel keys generate')", path)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("read key %s: %w", path, err)
	}
	priv, ok := k.(ed25519.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("read key %s: %T is not an ed25519 key", path, k)
	}
	return priv, nil
}
