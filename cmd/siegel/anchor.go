package main

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
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
)

// document is one thing to anchor or verify: a file's name (or the hash as given) and its SHA-256.
type document struct {
	Name string
	Hash [32]byte
}

// documents hashes files, or parses --hash values; exactly one of the two must be given.
func documents(files, hashes []string) ([]document, error) {
	if len(files) > 0 && len(hashes) > 0 {
		return nil, errors.New("give files or --hash values, not both")
	}
	if len(files) == 0 && len(hashes) == 0 {
		return nil, errors.New("nothing to do: give one or more files, or --hash HEX")
	}
	var out []document
	for _, h := range hashes {
		v, err := api.ParseHash(strings.ToLower(strings.TrimSpace(h)))
		if err != nil {
			return nil, fmt.Errorf("--hash %q: %w", h, err)
		}
		out = append(out, document{Name: hex.EncodeToString(v[:]), Hash: v})
	}
	for _, f := range files {
		h, err := hashFile(f)
		if err != nil {
			return nil, err
		}
		out = append(out, document{Name: f, Hash: h})
	}
	return out, nil
}

// oneDocument is documents for the commands that take one FILE or one --hash (cobra bounds args to one).
func oneDocument(args []string, hash string) (document, error) {
	var hashes []string
	if hash != "" {
		hashes = []string{hash}
	}
	docs, err := documents(args, hashes)
	if err != nil {
		return document{}, err
	}
	return docs[0], nil
}

func hashFile(path string) ([32]byte, error) {
	var h [32]byte
	f, err := os.Open(path)
	if err != nil {
		return h, err
	}
	defer f.Close()
	s := sha256.New()
	if _, err := io.Copy(s, f); err != nil {
		return h, fmt.Errorf("hash %s: %w", path, err)
	}
	copy(h[:], s.Sum(nil))
	return h, nil
}

// signAnchor builds and signs one anchor transaction that expires ttl blocks after height.
func signAnchor(key ed25519.PrivateKey, chainID string, height, ttl uint64, hashes [][32]byte) []byte {
	entries := make([]tx.Entry, len(hashes))
	for i, h := range hashes {
		entries[i].Hash = h
	}
	return signTx(key, chainID, height+ttl, &tx.Anchor{Entries: entries})
}

// signTx signs body for chainID with a random nonce, valid until height expiry, and encodes it.
func signTx(key ed25519.PrivateKey, chainID string, expiry uint64, body tx.Body) []byte {
	var nb [8]byte
	if _, err := rand.Read(nb[:]); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	t := &tx.Tx{ChainID: chainID, Nonce: binary.BigEndian.Uint64(nb[:]), Expiry: expiry, Body: body}
	t.Sign(key)
	return t.Encode()
}

// anchorResult is one line of `siegel anchor` output.
type anchorResult struct {
	Document string `json:"document"`
	Hash     string `json:"hash"`
	Status   string `json:"status"`
	Height   uint64 `json:"height,omitempty"`
	TxHash   string `json:"tx_hash,omitempty"`
	Code     string `json:"code,omitempty"`
	Message  string `json:"message,omitempty"`
	// Metadata is "published" once the document's metadata is stored and gossiped, else why not.
	Metadata string `json:"metadata,omitempty"`
}

func newAnchorCmd() *cobra.Command {
	var nodes, keyPath, metaPath string
	var hashes []string
	var asJSON bool
	var ttl uint64
	var tf tlsFlags
	cmd := &cobra.Command{
		Use:   "anchor --key FILE [--node URL[,URL...]] [--meta META.json] (FILE... | --hash HEX...)",
		Short: "Anchor document hashes: hash locally, sign, submit, wait until committed",
		Long: "Hashes each FILE with SHA-256 on this machine (the document never leaves it), signs one transaction\n" +
			"per batch with the agency key, submits it to the agency API and waits until it is committed.\n" +
			"With --meta, each document also gets metadata (document type, issuing office, validity dates: see\n" +
			"docs/AGENCIES.md for the file): the transaction commits to its digest, and once committed the signed\n" +
			"metadata is published to the node, which gossips it to every other node.\n" +
			"Exit status: 0 all committed (and their metadata published), 1 some rejected or not published, 2 error.",
		RunE: func(cmd *cobra.Command, files []string) error {
			docs, err := documents(files, hashes)
			if err != nil {
				return err
			}
			if keyPath == "" {
				return errors.New("--key FILE is required (make one with 'siegel keys generate')")
			}
			key, err := loadKey(keyPath)
			if err != nil {
				return err
			}
			var meta *metaFile
			if metaPath != "" {
				if meta, err = loadMetaFile(metaPath); err != nil {
					return err
				}
			}
			c, err := tf.client(nodes)
			if err != nil {
				return err
			}
			results, err := anchorWithMeta(cmd.Context(), c, key, docs, meta, ttl)
			if err != nil {
				return err
			}
			return printAnchorResults(cmd.OutOrStdout(), results, asJSON)
		},
	}
	f := cmd.Flags()
	f.StringVar(&nodes, "node", "http://127.0.0.1:8081", "agency API URL(s), comma-separated; the next is tried when one is down")
	f.StringVar(&keyPath, "key", "", "agency private key file")
	f.StringArrayVar(&hashes, "hash", nil, "a SHA-256 in hex to anchor instead of a file (repeatable)")
	f.StringVar(&metaPath, "meta", "", "metadata for every document, a JSON file: {\"visibility\": \"public\", \"fields\": {\"doc_type\": \"...\"}}")
	f.BoolVar(&asJSON, "json", false, "print results as JSON")
	f.Uint64Var(&ttl, "ttl", 100, "blocks after which an unconfirmed transaction expires (capped by the chain)")
	tf.register(f)
	return cmd
}

// anchorDocuments submits docs in batches of the chain's maximum and reports one result per document.
func anchorDocuments(ctx context.Context, c *api.Client, key ed25519.PrivateKey, docs []document, ttl uint64) ([]anchorResult, error) {
	return anchorWithMeta(ctx, c, key, docs, nil, ttl)
}

// anchorWithMeta is anchorDocuments, and with meta set, each document's entry commits to the digest of
// its metadata, which is published once the batch is committed.
func anchorWithMeta(ctx context.Context, c *api.Client, key ed25519.PrivateKey, docs []document, meta *metaFile, ttl uint64) ([]anchorResult, error) {
	st, err := c.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("node status: %w", err)
	}
	var metas []signedMeta
	if meta != nil {
		if metas, err = signMetadata(ctx, c, st.ChainID, key, meta, docs); err != nil {
			return nil, err
		}
	}
	if st.MaxTTL > 0 {
		ttl = min(ttl, st.MaxTTL)
	}
	batch := max(st.MaxBatch, 1)
	var results []anchorResult
	for start := 0; start < len(docs); start += batch {
		part := docs[start:min(start+batch, len(docs))]
		entries := make([]tx.Entry, len(part))
		for i, d := range part {
			entries[i].Hash = d.Hash
			if metas != nil {
				dg := metas[start+i].msg.Digest()
				entries[i].MetaDigest = &dg
			}
		}
		r, err := c.Submit(ctx, signTx(key, st.ChainID, st.Height+ttl, &tx.Anchor{Entries: entries}))
		if err != nil {
			return results, fmt.Errorf("submit: %w", err)
		}
		for i, d := range part {
			res := anchorResult{
				Document: d.Name, Hash: hex.EncodeToString(d.Hash[:]), Status: r.Status, Height: r.Height,
				TxHash: r.TxHash, Code: r.CodeName, Message: r.Message,
			}
			switch {
			case metas == nil:
			case r.Status == api.SubmitCommitted:
				res.Metadata = publishOne(ctx, c, metas[start+i].raw)
			case r.Status == api.SubmitPending:
				res.Metadata = "not published yet: once the anchor is committed, publish it with 'siegel metadata publish'"
			}
			results = append(results, res)
		}
	}
	return results, nil
}

func printAnchorResults(w io.Writer, results []anchorResult, asJSON bool) error {
	failed, unpublished := 0, 0
	for _, r := range results {
		if r.Status != api.SubmitCommitted {
			failed++
		} else if r.Metadata != "" && r.Metadata != metaPublished {
			unpublished++
		}
	}
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		if err := enc.Encode(results); err != nil {
			return err
		}
	} else {
		for _, r := range results {
			switch r.Status {
			case api.SubmitCommitted:
				fmt.Fprintf(w, "%s  %s  committed at height %d", r.Hash, r.Document, r.Height)
				if r.Metadata != "" {
					fmt.Fprintf(w, "; metadata %s", r.Metadata)
				}
				fmt.Fprintln(w)
			default:
				fmt.Fprintf(w, "%s  %s  %s (%s): %s\n", r.Hash, r.Document, r.Status, r.Code, r.Message)
			}
		}
	}
	if failed > 0 {
		return &exitError{code: 1, err: fmt.Errorf("%d of %d documents were not anchored", failed, len(results))}
	}
	if unpublished > 0 {
		return &exitError{code: 1, err: fmt.Errorf("the metadata of %d documents was not published: they are anchored; "+
			"publish it again with 'siegel metadata publish' and the same --key, --meta and documents", unpublished)}
	}
	return nil
}
