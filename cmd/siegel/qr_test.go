package main

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	gzqrcode "github.com/makiuchi-d/gozxing/qrcode"
)

const qrTestHash = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"

// decodeQR reads the QR code in img with gozxing, an implementation independent of the one that wrote it.
func decodeQR(t *testing.T, img image.Image) string {
	t.Helper()
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := gzqrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("decode QR code: %v", err)
	}
	return res.GetText()
}

func TestQRPNG(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name, out, hash, base string
		size                  int // 0: default
		wantSize              int
		want                  string
	}{
		{"default size", "qr.png", qrTestHash, "https://verify.example.org",
			0, 512, "https://verify.example.org/?h=" + qrTestHash},
		{"upper-case hash, trailing slash", "upper.png", strings.ToUpper(qrTestHash), "https://verify.example.org/",
			0, 512, "https://verify.example.org/?h=" + qrTestHash},
		{"smallest, with path and port", "small.png", qrTestHash, "http://siegel.example-dc.de:8080/pruefen/",
			128, 128, "http://siegel.example-dc.de:8080/pruefen/?h=" + qrTestHash},
		{"upper-case scheme", "scheme.png", qrTestHash, "HTTPS://verify.example.org/Pruefen",
			0, 512, "https://verify.example.org/Pruefen/?h=" + qrTestHash},
		{"upper-case extension", "big.PNG", qrTestHash, "https://verify.example.org",
			1000, 1000, "https://verify.example.org/?h=" + qrTestHash},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(dir, tc.out)
			args := []string{"qr", "--hash", tc.hash, "--url", tc.base, "--out", out}
			if tc.size != 0 {
				args = append(args, "--size", strconv.Itoa(tc.size))
			}
			stdout, code := runCLI(t, args...)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stdout)
			}
			if strings.TrimSpace(stdout) != tc.want {
				t.Errorf("printed %q, want the URL %q", stdout, tc.want)
			}
			f, err := os.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			img, err := png.Decode(f)
			if err != nil {
				t.Fatalf("not a PNG: %v", err)
			}
			if b := img.Bounds(); b.Dx() != tc.wantSize || b.Dy() != tc.wantSize {
				t.Errorf("image is %dx%d, want %dx%d", b.Dx(), b.Dy(), tc.wantSize, tc.wantSize)
			}
			if got := decodeQR(t, img); got != tc.want {
				t.Errorf("QR code holds %q, want %q", got, tc.want)
			}
		})
	}
}

// qrSVGDoc is what the tests read back from an SVG written by `siegel qr`.
type qrSVGDoc struct {
	XMLName        xml.Name `xml:"http://www.w3.org/2000/svg svg"`
	ViewBox        string   `xml:"viewBox,attr"`
	ShapeRendering string   `xml:"shape-rendering,attr"`
	Title          string   `xml:"title"`
	Rect           struct {
		Fill string `xml:"fill,attr"`
	} `xml:"rect"`
	Paths []struct {
		Fill string `xml:"fill,attr"`
		D    string `xml:"d,attr"`
	} `xml:"path"`
}

var qrUnitSquare = regexp.MustCompile(`M(\d+) (\d+)h1v1h-1z`)

// parseQRSVG parses an SVG from `siegel qr` back into its module grid (true = dark) and checks its form:
// well-formed XML, a square viewBox, crisp edges, black unit squares in one path on white.
func parseQRSVG(t *testing.T, b []byte) ([][]bool, qrSVGDoc) {
	t.Helper()
	var doc qrSVGDoc
	if err := xml.Unmarshal(b, &doc); err != nil {
		t.Fatalf("not a well-formed SVG document: %v\n%s", err, b)
	}
	n, err := qrViewBoxSize(doc.ViewBox)
	if err != nil {
		t.Fatalf("viewBox %q: %v", doc.ViewBox, err)
	}
	if doc.ShapeRendering != "crispEdges" {
		t.Errorf("shape-rendering = %q, want crispEdges", doc.ShapeRendering)
	}
	if doc.Rect.Fill != "#fff" {
		t.Errorf("background fill = %q, want #fff", doc.Rect.Fill)
	}
	if len(doc.Paths) != 1 {
		t.Fatalf("%d paths, want exactly one", len(doc.Paths))
	}
	p := doc.Paths[0]
	if p.Fill != "#000" {
		t.Errorf("path fill = %q, want #000", p.Fill)
	}
	grid := make([][]bool, n)
	for i := range grid {
		grid[i] = make([]bool, n)
	}
	covered := 0
	for _, m := range qrUnitSquare.FindAllStringSubmatch(p.D, -1) {
		x, _ := strconv.Atoi(m[1])
		y, _ := strconv.Atoi(m[2])
		if x >= n || y >= n {
			t.Fatalf("square at (%d,%d) outside the %dx%d viewBox", x, y, n, n)
		}
		if grid[y][x] {
			t.Fatalf("square at (%d,%d) drawn twice", x, y)
		}
		grid[y][x] = true
		covered += len(m[0])
	}
	if covered != len(p.D) {
		t.Fatalf("path data is not only unit squares: %q", p.D)
	}
	return grid, doc
}

// qrViewBoxSize parses a viewBox "0 0 N N" and returns N.
func qrViewBoxSize(vb string) (int, error) {
	f := strings.Fields(vb)
	if len(f) == 4 && f[0] == "0" && f[1] == "0" && f[2] == f[3] {
		if n, err := strconv.Atoi(f[2]); err == nil && n > 0 {
			return n, nil
		}
	}
	return 0, fmt.Errorf("want \"0 0 N N\", got %q", vb)
}

// rasterQR draws a module grid into a grey image, scale pixels per module.
func rasterQR(grid [][]bool, scale int) *image.Gray {
	n := len(grid)
	img := image.NewGray(image.Rect(0, 0, n*scale, n*scale))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for y, row := range grid {
		for x, dark := range row {
			if !dark {
				continue
			}
			for py := y * scale; py < (y+1)*scale; py++ {
				for px := x * scale; px < (x+1)*scale; px++ {
					img.Pix[img.PixOffset(px, py)] = 0
				}
			}
		}
	}
	return img
}

// checkQuietZone checks that the outer 4 modules of the grid are light.
func checkQuietZone(t *testing.T, grid [][]bool) {
	t.Helper()
	n := len(grid)
	for y := range n {
		for x := range n {
			if grid[y][x] && (x < 4 || y < 4 || x >= n-4 || y >= n-4) {
				t.Fatalf("dark module at (%d,%d) inside the 4-module quiet zone of a %dx%d code", x, y, n, n)
			}
		}
	}
}

func TestQRSVG(t *testing.T) {
	out := filepath.Join(t.TempDir(), "qr.svg")
	want := "https://verify.example.org/?h=" + qrTestHash
	stdout, code := runCLI(t, "qr", "--hash", strings.ToUpper(qrTestHash), "--url", "https://verify.example.org/", "--out", out)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stdout)
	}
	if strings.TrimSpace(stdout) != want {
		t.Errorf("printed %q, want %q", stdout, want)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	grid, doc := parseQRSVG(t, b)
	checkQuietZone(t, grid)
	if !strings.Contains(doc.Title, "QR code") || !strings.Contains(doc.Title, want) {
		t.Errorf("title %q does not say what the code is and holds", doc.Title)
	}
	if got := decodeQR(t, rasterQR(grid, 8)); got != want {
		t.Errorf("QR code holds %q, want %q", got, want)
	}
}

// TestQRSVGStdout hashes a file and writes the SVG to stdout; nothing else is printed.
func TestQRSVGStdout(t *testing.T) {
	doc := filepath.Join(t.TempDir(), "zeugnis.pdf")
	content := []byte("Abschlusszeugnis Max Mustermann 2026")
	if err := os.WriteFile(doc, content, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(content)
	want := "https://verify.example.org/?h=" + hex.EncodeToString(sum[:])
	stdout, code := runCLI(t, "qr", "--file", doc, "--url", "https://verify.example.org", "--out", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stdout)
	}
	if !strings.HasPrefix(stdout, "<?xml") || !strings.HasSuffix(stdout, "</svg>\n") {
		t.Errorf("stdout is not just the SVG document:\n%s", stdout)
	}
	grid, _ := parseQRSVG(t, []byte(stdout))
	checkQuietZone(t, grid)
	if got := decodeQR(t, rasterQR(grid, 6)); got != want {
		t.Errorf("QR code holds %q, want %q", got, want)
	}
}

// TestQRSVGEscapes checks that characters of the URL that are special in XML are escaped in the SVG.
func TestQRSVGEscapes(t *testing.T) {
	base := "https://verify.example.org/a&b'c\"d<e>"
	want := base + "/?h=" + qrTestHash
	stdout, code := runCLI(t, "qr", "--hash", qrTestHash, "--url", base, "--out", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stdout)
	}
	if strings.Contains(stdout, "a&b") || strings.Contains(stdout, "d<e>") {
		t.Errorf("URL not escaped in the SVG:\n%s", stdout)
	}
	grid, doc := parseQRSVG(t, []byte(stdout))
	if !strings.Contains(doc.Title, want) {
		t.Errorf("title %q does not hold the URL %q", doc.Title, want)
	}
	if got := decodeQR(t, rasterQR(grid, 6)); got != want {
		t.Errorf("QR code holds %q, want %q", got, want)
	}
}

func TestQRErrors(t *testing.T) {
	dir := t.TempDir()
	doc := filepath.Join(dir, "doc.txt")
	if err := os.WriteFile(doc, []byte("document"), 0o600); err != nil {
		t.Fatal(err)
	}
	const base = "https://verify.example.org"
	for _, tc := range []struct {
		name string
		args []string // after "qr"; "OUT" is replaced by a fresh file name
		want string   // in the error message
	}{
		{"hash too short", []string{"--hash", qrTestHash[:63], "--url", base, "--out", "OUT.png"}, "exactly 64 hex digits, got 63 characters"},
		{"hash too long", []string{"--hash", qrTestHash + "0", "--url", base, "--out", "OUT.png"}, "exactly 64 hex digits, got 65 characters"},
		{"hash empty", []string{"--hash=", "--url", base, "--out", "OUT.png"}, "exactly 64 hex digits, got 0 characters"},
		{"hash with 0x", []string{"--hash", "0x" + qrTestHash[:62], "--url", base, "--out", "OUT.png"}, "without a 0x prefix"},
		{"hash not hex", []string{"--hash", qrTestHash[:9] + "g" + qrTestHash[10:], "--url", base, "--out", "OUT.png"}, "character 10 ('g') is not a hex digit"},
		{"hash with space", []string{"--hash", qrTestHash[:63] + " ", "--url", base, "--out", "OUT.png"}, "character 64 (' ') is not a hex digit"},
		{"both hash and file", []string{"--hash", qrTestHash, "--file", doc, "--url", base, "--out", "OUT.png"}, "give --hash or --file, not both"},
		{"neither hash nor file", []string{"--url", base, "--out", "OUT.png"}, "no document: give --file PATH"},
		{"missing file", []string{"--file", filepath.Join(dir, "nope.pdf"), "--url", base, "--out", "OUT.png"}, "--file: open"},
		{"positional argument", []string{doc, "--url", base, "--out", "OUT.png"}, "takes no arguments"},
		{"no url", []string{"--hash", qrTestHash, "--out", "OUT.png"}, "--url BASE is required"},
		{"javascript url", []string{"--hash", qrTestHash, "--url", "javascript:alert(1)", "--out", "OUT.png"}, `scheme "javascript" is not allowed`},
		{"javascript url, mixed case", []string{"--hash", qrTestHash, "--url", "JavaScript:alert(1)//", "--out", "OUT.png"}, `scheme "javascript" is not allowed`},
		{"data url", []string{"--hash", qrTestHash, "--url", "data:text/html,<b>x</b>", "--out", "OUT.png"}, `scheme "data" is not allowed`},
		{"file url", []string{"--hash", qrTestHash, "--url", "file:///etc/passwd", "--out", "OUT.png"}, `scheme "file" is not allowed`},
		{"ftp url", []string{"--hash", qrTestHash, "--url", "ftp://verify.example.org", "--out", "OUT.png"}, `scheme "ftp" is not allowed`},
		{"relative url", []string{"--hash", qrTestHash, "--url", "verify.example.org", "--out", "OUT.png"}, "not an absolute URL"},
		{"scheme-relative url", []string{"--hash", qrTestHash, "--url", "//verify.example.org", "--out", "OUT.png"}, "not an absolute URL"},
		{"unparsable url", []string{"--hash", qrTestHash, "--url", "https://[::1", "--out", "OUT.png"}, "not a URL: missing ']' in host"},
		{"no host", []string{"--hash", qrTestHash, "--url", "https://", "--out", "OUT.png"}, "no host"},
		{"opaque url", []string{"--hash", qrTestHash, "--url", "https:verify.example.org", "--out", "OUT.png"}, "no host"},
		{"url with query", []string{"--hash", qrTestHash, "--url", base + "/?lang=de", "--out", "OUT.png"}, "must not contain a query"},
		{"url with empty query", []string{"--hash", qrTestHash, "--url", base + "/?", "--out", "OUT.png"}, "must not contain a query"},
		{"url with fragment", []string{"--hash", qrTestHash, "--url", base + "/#top", "--out", "OUT.png"}, "must not contain a fragment"},
		{"url with user", []string{"--hash", qrTestHash, "--url", "https://verify.example.org@evil.example", "--out", "OUT.png"}, "user name or password"},
		{"url with space", []string{"--hash", qrTestHash, "--url", base + "/a b", "--out", "OUT.png"}, "white space"},
		{"no out", []string{"--hash", qrTestHash, "--url", base}, "--out FILE is required"},
		{"jpg", []string{"--hash", qrTestHash, "--url", base, "--out", "OUT.jpg"}, `unsupported format ".jpg": name it .png or .svg`},
		{"pdf", []string{"--hash", qrTestHash, "--url", base, "--out", "OUT.pdf"}, `unsupported format ".pdf": name it .png or .svg`},
		{"no extension", []string{"--hash", qrTestHash, "--url", base, "--out", "OUT"}, "no extension: name it .png or .svg"},
		{"size too small", []string{"--hash", qrTestHash, "--url", base, "--out", "OUT.png", "--size", "127"}, "--size 127: must be between 128 and 4096"},
		{"size too large", []string{"--hash", qrTestHash, "--url", base, "--out", "OUT.png", "--size", "4097"}, "--size 4097: must be between 128 and 4096"},
		{"size zero", []string{"--hash", qrTestHash, "--url", base, "--out", "OUT.png", "--size", "0"}, "--size 0: must be between"},
		{"size negative", []string{"--hash", qrTestHash, "--url", base, "--out", "OUT.png", "--size", "-5"}, "--size -5: must be between"},
		{"size not a number", []string{"--hash", qrTestHash, "--url", base, "--out", "OUT.png", "--size", "big"}, `invalid argument "big"`},
		{"size with svg", []string{"--hash", qrTestHash, "--url", base, "--out", "OUT.svg", "--size", "256"}, "--size applies only to PNG"},
		{"size too small for a long url", []string{"--hash", qrTestHash, "--url", base + "/" + strings.Repeat("x", 200), "--out", "OUT.png", "--size", "128"}, "too small for this code"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "qr")
			args := []string{"qr"}
			for _, a := range tc.args {
				args = append(args, strings.Replace(a, "OUT", out, 1))
			}
			msg, code := runCLI(t, args...)
			if code != 2 {
				t.Errorf("exit %d, want 2 (%s)", code, msg)
			}
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q does not contain %q", msg, tc.want)
			}
			matches, _ := filepath.Glob(out + "*")
			if len(matches) != 0 {
				t.Errorf("wrote %v despite the error", matches)
			}
		})
	}
}

// TestQRSVGStable checks that the same input gives the same bytes, so a printed code can be regenerated.
func TestQRSVGStable(t *testing.T) {
	a, code := runCLI(t, "qr", "--hash", qrTestHash, "--url", "https://verify.example.org", "--out", "-")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, a)
	}
	b, _ := runCLI(t, "qr", "--hash", strings.ToUpper(qrTestHash), "--url", "https://verify.example.org/", "--out", "-")
	if !bytes.Equal([]byte(a), []byte(b)) {
		t.Error("the same document and URL gave different SVGs")
	}
}
