package main

import (
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/skip2/go-qrcode"
	"github.com/spf13/cobra"
)

// Bounds and default of `siegel qr --size` (pixels of a PNG, both width and height).
const (
	qrMinSize     = 128
	qrMaxSize     = 4096
	qrDefaultSize = 512
	// qrMinPixelsPerModule is the fewest pixels a PNG may give one module (one black or white square);
	// below that the library's nearest-neighbour scaling makes codes that cameras misread.
	qrMinPixelsPerModule = 2
)

func newQRCmd() *cobra.Command {
	var hash, file, base, out string
	var size int
	cmd := &cobra.Command{
		Use:   "qr (--hash HEX | --file PATH) --url BASE --out FILE",
		Short: "Write a QR code that opens the public verification page of a document",
		Long: "Writes a QR code holding BASE/?h=<sha256>: a phone camera that scans it opens the public\n" +
			"verification page at BASE for that document. BASE is the page's absolute http(s) URL, without a\n" +
			"query or fragment. --file hashes a file locally (it is not sent anywhere); --hash takes a SHA-256\n" +
			"in hex. The format follows FILE's extension, .png or .svg; --out - writes SVG to stdout.\n" +
			"Error correction level M, a quiet zone of 4 modules. After writing a file it prints the URL it encoded.",
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("siegel qr takes no arguments, got %q: give the document with --file PATH or --hash HEX", args[0])
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
			h, err := qrDocumentHash(f.Changed("hash"), hash, f.Changed("file"), file)
			if err != nil {
				return err
			}
			link, err := qrLink(base, h)
			if err != nil {
				return err
			}
			if out == "" {
				return errors.New("--out FILE is required (a .png or .svg file, or - for SVG on stdout)")
			}
			format, err := qrFormat(out)
			if err != nil {
				return err
			}
			if size < qrMinSize || size > qrMaxSize {
				return fmt.Errorf("--size %d: must be between %d and %d pixels", size, qrMinSize, qrMaxSize)
			}
			if format == "svg" && f.Changed("size") {
				return errors.New("--size applies only to PNG output: an SVG scales to any size")
			}
			q, err := qrcode.New(link, qrcode.Medium)
			if err != nil {
				return fmt.Errorf("encode %s as a QR code: %w", link, err)
			}
			var b []byte
			if format == "png" {
				if modules := len(q.Bitmap()); size < qrMinPixelsPerModule*modules {
					return fmt.Errorf("--size %d is too small for this code of %d modules: use at least %d, or a shorter --url",
						size, modules, qrMinPixelsPerModule*modules)
				}
				if b, err = q.PNG(size); err != nil {
					return fmt.Errorf("encode PNG: %w", err)
				}
			} else {
				b = qrSVG(q.Bitmap(), link, h)
			}
			if out == "-" {
				_, err = cmd.OutOrStdout().Write(b)
				return err
			}
			if err := os.WriteFile(out, b, 0o644); err != nil {
				return fmt.Errorf("write QR code: %w", err)
			}
			_, err = fmt.Fprintln(cmd.OutOrStdout(), link)
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&hash, "hash", "", "document SHA-256 in hex (64 digits)")
	fl.StringVar(&file, "file", "", "document file to hash instead of --hash")
	fl.StringVar(&base, "url", "", "absolute http(s) URL of the public verification page, e.g. https://verify.example.org")
	fl.StringVar(&out, "out", "", "file to write: NAME.png or NAME.svg, or - for SVG on stdout")
	fl.IntVar(&size, "size", qrDefaultSize, fmt.Sprintf("width and height of a PNG in pixels (%d to %d)", qrMinSize, qrMaxSize))
	return cmd
}

// qrDocumentHash returns the document hash from exactly one of --hash and --file.
func qrDocumentHash(hashSet bool, hash string, fileSet bool, file string) ([32]byte, error) {
	var h [32]byte
	switch {
	case hashSet && fileSet:
		return h, errors.New("give --hash or --file, not both")
	case !hashSet && !fileSet:
		return h, errors.New("no document: give --file PATH (to hash a file) or --hash HEX (its SHA-256)")
	case fileSet:
		h, err := hashFile(file)
		if err != nil {
			return h, fmt.Errorf("--file: %w", err)
		}
		return h, nil
	}
	return parseQRHash(hash)
}

// parseQRHash parses a SHA-256 in hex, either case, and says precisely what is wrong with a bad one.
func parseQRHash(s string) ([32]byte, error) {
	var h [32]byte
	if strings.HasPrefix(s, "0x") || strings.HasPrefix(s, "0X") {
		return h, fmt.Errorf("--hash %q: give the 64 hex digits without a 0x prefix", s)
	}
	if len(s) != 64 {
		return h, fmt.Errorf("--hash %q: a SHA-256 hash is exactly 64 hex digits, got %d characters", s, len(s))
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return h, fmt.Errorf("--hash %q: character %d (%q) is not a hex digit (0-9, a-f)", s, i+1, rune(c))
		}
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil { // cannot fail after the checks above
		return h, fmt.Errorf("--hash %q: %w", s, err)
	}
	return h, nil
}

// qrLink checks base and returns base/?h=<hash in lower-case hex>, with one trailing slash of base dropped.
func qrLink(base string, h [32]byte) (string, error) {
	if base == "" {
		return "", errors.New("--url BASE is required: the public verification page, e.g. https://verify.example.org")
	}
	bad := func(why string) error { return fmt.Errorf("--url %q: %s", base, why) }
	for _, r := range base {
		if unicode.IsSpace(r) || unicode.IsControl(r) {
			return "", bad("contains white space or a control character")
		}
	}
	u, err := url.Parse(base)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // ue repeats the whole URL
		}
		return "", bad("not a URL: " + err.Error())
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		if u.Scheme == "" {
			return "", bad("not an absolute URL: it must start with https:// (or http://)")
		}
		return "", bad(fmt.Sprintf("scheme %q is not allowed: use https:// (or http://)", u.Scheme))
	}
	if u.Host == "" || u.Hostname() == "" {
		return "", bad("no host: write it as https://host/path")
	}
	if u.User != nil {
		return "", bad("must not contain a user name or password")
	}
	if strings.Contains(base, "?") {
		return "", bad("must not contain a query (?...): the QR code adds ?h=<hash> itself")
	}
	if strings.Contains(base, "#") {
		return "", bad("must not contain a fragment (#...)")
	}
	// url.Parse lowers the scheme's case (HTTPS: -> https:); some camera apps only open lower-case links.
	link := u.Scheme + strings.TrimSuffix(base[len(u.Scheme):], "/")
	return link + "/?h=" + hex.EncodeToString(h[:]), nil
}

// qrFormat returns "png" or "svg" from the name of the output file ("-" is SVG on stdout).
func qrFormat(out string) (string, error) {
	if out == "-" {
		return "svg", nil
	}
	switch ext := strings.ToLower(filepath.Ext(out)); ext {
	case ".png":
		return "png", nil
	case ".svg":
		return "svg", nil
	case "":
		return "", fmt.Errorf("--out %q has no extension: name it .png or .svg (or - for SVG on stdout)", out)
	default:
		return "", fmt.Errorf("--out %q: unsupported format %q: name it .png or .svg (or - for SVG on stdout)", out, ext)
	}
}

// qrSVG draws a QR bitmap (quiet zone included) as an SVG: one module is one unit of the viewBox, the
// dark modules are one path of unit squares, black on a white background.
func qrSVG(bitmap [][]bool, link string, h [32]byte) []byte {
	n := len(bitmap)
	var b strings.Builder
	b.WriteString("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
	fmt.Fprintf(&b, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" shape-rendering=\"crispEdges\" role=\"img\">\n", n, n)
	b.WriteString("<title>")
	title := fmt.Sprintf("QR code of the Siegel verification page for the document with SHA-256 %x: %s", h, link)
	_ = xml.EscapeText(&b, []byte(title)) // a strings.Builder does not fail
	b.WriteString("</title>\n")
	fmt.Fprintf(&b, "<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n", n, n)
	b.WriteString("<path fill=\"#000\" d=\"")
	for y, row := range bitmap {
		for x, dark := range row {
			if dark {
				fmt.Fprintf(&b, "M%d %dh1v1h-1z", x, y)
			}
		}
	}
	b.WriteString("\"/>\n</svg>\n")
	return []byte(b.String())
}
