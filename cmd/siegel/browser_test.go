package main

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/siegel-notary/siegel/api"
	"github.com/siegel-notary/siegel/app/tx"
	"github.com/siegel-notary/siegel/consensus"
	"github.com/siegel-notary/siegel/receipt"
)

// xssName is an agency display name an attacker might get registered: markup in every form the page
// could mistake for code.
const xssName = `<img src=x onerror=alert("name")><script>alert("name")</script>"'><svg onload=alert(1)>`

// chromium finds Debian's chromium (make test installs it).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("no chromium on PATH: `make test` installs Debian's chromium package (apt-get install chromium)")
	return ""
}

// browserEnv is a real dev node with a genuine, a revoked and an XSS-named agency's document, and a
// headless Chromium that records every dialog (none may ever open) and every response's headers.
type browserEnv struct {
	t                        *testing.T
	node                     *testNode
	base                     string
	genuine, revoked, xssDoc string // document files
	genuineH, revokedH, xssH string
	genesis                  []byte
	xssKey                   string // key file of the agency xss-office
	ctx                      context.Context
	mu                       sync.Mutex
	dialogs                  []string
	noCSP                    []string
	downloads                string
	ua                       string // the browser's own user agent, kept when the language changes
	shots                    string
}

func newBrowserEnv(t *testing.T) *browserEnv {
	t.Helper()
	if !api.WebAssetsComplete() {
		t.Fatal("the binary lacks the page's WebAssembly verifier: run `make web` (make test does)")
	}
	bin := chromium(t)
	home, lf := newDevHome(t)
	n := startNode(t, home, lf)
	e := &browserEnv{t: t, node: n, base: n.r.APIURL, downloads: t.TempDir(), shots: t.ArtifactDir()}
	dir := t.TempDir()
	write := func(name, content string) (string, string) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		h := sha256.Sum256([]byte(content))
		return p, hex.EncodeToString(h[:])
	}
	e.genuine, e.genuineH = write("zeugnis.pdf", "Abschlusszeugnis 2026, Gymnasium am Park")
	e.revoked, e.revokedH = write("urkunde.pdf", "Geburtsurkunde 4711")
	e.xssDoc, e.xssH = write("bescheid.pdf", "Bescheid 12/2026")
	key := filepath.Join(home, devKeyFile)
	for _, f := range []string{e.genuine, e.revoked} {
		if out, code := runCLI(t, "anchor", "--node", n.r.AgencyURL, "--key", key, f); code != 0 {
			t.Fatalf("anchor %s: exit %d: %s", f, code, out)
		}
	}
	if out, code := runCLI(t, "revoke", "--node", n.r.AgencyURL, "--key", key, "--hash", e.revokedH, "--reason", "withdrawn"); code != 0 {
		t.Fatalf("revoke: exit %d: %s", code, out)
	}
	// A second agency registered (by the dev consortium's one operator) under a hostile display name.
	xssKey := filepath.Join(dir, "xss.key")
	e.xssKey = xssKey
	pub, err := generateKey(xssKey, false)
	if err != nil {
		t.Fatal(err)
	}
	if out, code := runCLI(t, "gov", "propose", "register-agency", "--node", n.r.AgencyURL, "--key", filepath.Join(home, devOperator),
		"--agency", "xss-office", "--name", xssName, "--agency-key", hex.EncodeToString(pub)); code != 0 {
		t.Fatalf("register the agency: exit %d: %s", code, out)
	}
	if out, code := runCLI(t, "anchor", "--node", n.r.AgencyURL, "--key", xssKey, e.xssDoc); code != 0 {
		t.Fatalf("anchor with the new agency: exit %d: %s", code, out)
	}
	if e.genesis, err = os.ReadFile(consensus.GenesisFile(home)); err != nil {
		t.Fatal(err)
	}

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(bin), chromedp.NoSandbox,
		chromedp.Flag("disable-gpu", true), chromedp.WindowSize(1000, 1400))
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); acancel() })
	chromedp.ListenTarget(ctx, func(ev any) {
		switch ev := ev.(type) {
		case *page.EventJavascriptDialogOpening:
			e.mu.Lock()
			e.dialogs = append(e.dialogs, ev.Message)
			e.mu.Unlock()
			go func() { _ = chromedp.Run(ctx, page.HandleJavaScriptDialog(false)) }()
		case *network.EventResponseReceived:
			if strings.HasPrefix(ev.Response.URL, e.base) && ev.Response.Headers["Content-Security-Policy"] == nil &&
				ev.Response.Headers["content-security-policy"] == nil {
				e.mu.Lock()
				e.noCSP = append(e.noCSP, ev.Response.URL)
				e.mu.Unlock()
			}
		}
	})
	// The browser asks for German, as most of the page's readers' browsers will.
	if err := chromedp.Run(ctx, chromedp.Evaluate(`navigator.userAgent`, &e.ua)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	if err := chromedp.Run(ctx, network.Enable(), e.language("de-DE,de"),
		browser.SetDownloadBehavior(browser.SetDownloadBehaviorBehaviorAllowAndName).WithDownloadPath(e.downloads).WithEventsEnabled(true)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	e.ctx = ctx
	return e
}

// language makes the browser ask for the given languages (navigator.languages, Accept-Language).
func (e *browserEnv) language(accept string) chromedp.Action {
	return emulation.SetUserAgentOverride(e.ua).WithAcceptLanguage(accept)
}

// run runs browser actions with a deadline.
func (e *browserEnv) run(what string, actions ...chromedp.Action) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, actions...); err != nil {
		e.shot("failed-" + what)
		e.t.Fatalf("%s: %v", what, err)
	}
}

// shot saves a full-page screenshot into the test's artifact directory (go test -artifacts keeps it).
func (e *browserEnv) shot(name string) {
	var png []byte
	ctx, cancel := context.WithTimeout(e.ctx, 10*time.Second)
	defer cancel()
	if err := chromedp.Run(ctx, chromedp.FullScreenshot(&png, 100)); err != nil {
		e.t.Logf("screenshot %s: %v", name, err)
		return
	}
	p := filepath.Join(e.shots, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		e.t.Logf("screenshot %s: %v", name, err)
		return
	}
	e.t.Logf("screenshot: %s", p)
}

// text returns the text of the first element matching sel.
func (e *browserEnv) text(sel string) string {
	e.t.Helper()
	var s string
	e.run("read "+sel, chromedp.Text(sel, &s, chromedp.ByQuery))
	return s
}

// safe checks that nothing hostile ran or entered the DOM: no dialog, no element the page does not
// create itself (img, svg, iframe, object), and only the page's own two scripts.
func (e *browserEnv) safe(where string) {
	e.t.Helper()
	var n struct {
		Scripts, Foreign int
	}
	e.run("count elements", chromedp.Evaluate(`({Scripts: document.scripts.length,
		Foreign: document.querySelectorAll('img, svg, iframe, object, embed, [onerror], [onload]').length})`, &n))
	if n.Scripts > 2 || n.Foreign != 0 {
		e.shot("unsafe-" + where)
		e.t.Errorf("%s: %d scripts, %d foreign elements in the DOM", where, n.Scripts, n.Foreign)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.dialogs) > 0 {
		e.t.Errorf("%s: dialogs opened: %q", where, e.dialogs)
	}
}

func TestBrowserVerifyPage(t *testing.T) {
	e := newBrowserEnv(t)

	t.Run("file genuine", func(t *testing.T) {
		e.run("pick a file", chromedp.Navigate(e.base+"/"), chromedp.WaitVisible("#file", chromedp.ByID),
			chromedp.SetUploadFiles("#file", []string{e.genuine}, chromedp.ByID),
			chromedp.WaitVisible("#result.genuine", chromedp.ByQuery))
		got := e.text("#result")
		if !strings.Contains(got, "Echt") || !strings.Contains(got, "Development Agency") || !strings.Contains(got, e.genuineH) {
			t.Errorf("genuine result: %q", got)
		}
		if info := e.text("#file-info"); !strings.Contains(info, "zeugnis.pdf") || !strings.Contains(info, e.genuineH) {
			t.Errorf("file info: %q", info)
		}
		e.shot("genuine")
		e.safe("genuine")
	})

	t.Run("revoked by link", func(t *testing.T) {
		e.run("open ?h=", chromedp.Navigate(e.base+"/?h="+e.revokedH), chromedp.WaitVisible("#result.revoked", chromedp.ByQuery))
		if got := e.text("#result"); !strings.Contains(got, "Widerrufen") || !strings.Contains(got, "zurückgezogen") {
			t.Errorf("revoked result: %q", got)
		}
		e.shot("revoked")
	})

	t.Run("unknown pasted", func(t *testing.T) {
		unknown := strings.Repeat("ab", 32)
		e.run("paste", chromedp.Navigate(e.base+"/"), chromedp.WaitVisible("#hash", chromedp.ByID),
			chromedp.SendKeys("#hash", "  "+strings.ToUpper(unknown)+"\n", chromedp.ByID),
			chromedp.WaitVisible("#result.unknown", chromedp.ByQuery))
		if got := e.text("#result"); !strings.Contains(got, "Unbekannt") || !strings.Contains(got, unknown) {
			t.Errorf("unknown result: %q", got)
		}
		var loc string
		e.run("location", chromedp.Location(&loc))
		if !strings.HasSuffix(loc, "/?h="+unknown) {
			t.Errorf("the page's address is %q, want a link to ?h=%s", loc, unknown)
		}
		e.shot("unknown")
	})

	t.Run("language", func(t *testing.T) {
		var htmlLang string
		e.run("german by default", chromedp.Navigate(e.base+"/?h="+e.genuineH), chromedp.WaitVisible("#result.genuine", chromedp.ByQuery),
			chromedp.Evaluate(`localStorage.removeItem('siegel-lang'); document.documentElement.lang`, &htmlLang))
		if h1 := e.text("h1"); htmlLang != "de" || h1 != "Ist mein Dokument echt?" {
			t.Errorf("default language: lang=%q h1=%q", htmlLang, h1)
		}
		e.run("switch", chromedp.Click("#lang", chromedp.ByID), chromedp.WaitVisible("#result.genuine", chromedp.ByQuery),
			chromedp.Evaluate(`document.documentElement.lang`, &htmlLang))
		if h1, res := e.text("h1"), e.text("#result"); htmlLang != "en" || h1 != "Is my document genuine?" || !strings.Contains(res, "Genuine") {
			t.Errorf("after the switch: lang=%q h1=%q result=%q", htmlLang, h1, res)
		}
		e.shot("english")
		// The choice is remembered.
		e.run("reload", chromedp.Reload(), chromedp.WaitVisible("h1", chromedp.ByQuery))
		if h1 := e.text("h1"); h1 != "Is my document genuine?" {
			t.Errorf("after reload: %q", h1)
		}
		// A browser that asks for English (and has no saved choice) gets English.
		e.run("browser asks for English", chromedp.Evaluate(`localStorage.removeItem('siegel-lang')`, nil),
			e.language("en-GB,en"), chromedp.Reload(), chromedp.WaitVisible("h1", chromedp.ByQuery))
		if h1 := e.text("h1"); h1 != "Is my document genuine?" {
			t.Errorf("browser language English: %q", h1)
		}
		e.run("back to German", chromedp.Click("#lang", chromedp.ByID), chromedp.WaitVisible("h1", chromedp.ByQuery))
		if h1 := e.text("h1"); h1 != "Ist mein Dokument echt?" {
			t.Errorf("switch back: %q", h1)
		}
		e.run("German browser again", e.language("de-DE,de"),
			chromedp.Evaluate(`localStorage.removeItem('siegel-lang')`, nil))
	})

	t.Run("receipt download and in-browser check", func(t *testing.T) {
		e.run("open", chromedp.Navigate(e.base+"/?h="+e.genuineH), chromedp.WaitVisible("#result.genuine", chromedp.ByQuery),
			chromedp.Click("#download", chromedp.ByID))
		file := waitDownload(t, e.downloads)
		body, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		s := receipt.Check(body, e.genesis)
		if !s.Valid || s.State != "anchored" || s.DocHash != e.genuineH {
			t.Fatalf("the downloaded receipt does not verify in Go: %+v", s)
		}
		var valid string
		e.run("check in the browser", chromedp.Click("#verify", chromedp.ByID),
			chromedp.WaitVisible(`#verify-result[data-valid]`, chromedp.ByQuery),
			chromedp.AttributeValue("#verify-result", "data-valid", &valid, nil, chromedp.ByID))
		if got := e.text("#verify-result"); valid != "true" || !strings.Contains(got, "Nachweis gültig") {
			t.Errorf("in-browser check: valid=%q %q", valid, got)
		}
		e.shot("receipt-checked")
		// The same file, picked as a receipt file.
		e.run("receipt file", chromedp.SetUploadFiles("#receipt-file", []string{file}, chromedp.ByID),
			chromedp.WaitVisible(`#receipt-file-result[data-valid]`, chromedp.ByQuery),
			chromedp.AttributeValue("#receipt-file-result", "data-valid", &valid, nil, chromedp.ByID))
		if got := e.text("#receipt-file-result"); valid != "true" || !strings.Contains(got, e.genuineH) {
			t.Errorf("receipt file check: valid=%q %q", valid, got)
		}
		// A tampered receipt is refused in the browser as in Go.
		bad := filepath.Join(t.TempDir(), "tampered.json")
		tampered := strings.Replace(string(body), `"height":`, `"height":1`, 1)
		if err := os.WriteFile(bad, []byte(tampered), 0o600); err != nil {
			t.Fatal(err)
		}
		e.run("tampered receipt file", chromedp.Navigate(e.base+"/"), chromedp.WaitVisible("#receipt-file", chromedp.ByID),
			chromedp.SetUploadFiles("#receipt-file", []string{bad}, chromedp.ByID),
			chromedp.WaitVisible(`#receipt-file-result[data-valid]`, chromedp.ByQuery),
			chromedp.AttributeValue("#receipt-file-result", "data-valid", &valid, nil, chromedp.ByID))
		if valid != "false" || receipt.Check([]byte(tampered), e.genesis).Valid {
			t.Errorf("tampered receipt: browser valid=%q", valid)
		}
		e.safe("receipts")
	})

	t.Run("metadata", func(t *testing.T) { metadataChecks(t, e) })
	t.Run("wasm agrees with Go", func(t *testing.T) { wasmAgrees(t, e) })
	t.Run("xss", func(t *testing.T) { xssChecks(t, e) })

	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.noCSP) > 0 {
		t.Errorf("responses without a Content-Security-Policy: %q", e.noCSP)
	}
}

// waitDownload waits for the one file the browser saves into dir (named by its GUID).
func waitDownload(t *testing.T, dir string) string {
	t.Helper()
	for range 200 {
		ents, _ := os.ReadDir(dir)
		for _, ent := range ents {
			if !strings.HasSuffix(ent.Name(), ".crdownload") {
				p := filepath.Join(dir, ent.Name())
				if fi, err := os.Stat(p); err == nil && fi.Size() > 0 {
					return p
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("no download within 10 s")
	return ""
}

// wasmAgrees runs the page's WebAssembly verifier on every golden receipt, and on mutations of each,
// and requires its JSON answer to be exactly what receipt.Check answers in Go.
func wasmAgrees(t *testing.T, e *browserEnv) {
	dir := filepath.Join("..", "..", "receipt", "testdata", "receipts")
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	type pair struct{ name, r, g string }
	var cases []pair
	geneses := map[string]string{}
	for _, ent := range ents {
		if strings.HasPrefix(ent.Name(), "genesis-") {
			b, _ := os.ReadFile(filepath.Join(dir, ent.Name()))
			geneses[ent.Name()] = string(b)
		}
	}
	var manifest struct {
		Receipts []struct{ Name, Genesis string } `json:"receipts"`
	}
	mb, _ := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err := json.Unmarshal(mb, &manifest); err != nil || len(manifest.Receipts) == 0 {
		t.Fatalf("manifest: %v", err)
	}
	for _, m := range manifest.Receipts {
		rb, err := os.ReadFile(filepath.Join(dir, m.Name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		r := string(rb)
		other := "genesis-16.json"
		if m.Genesis == other {
			other = "genesis-4.json"
		}
		cases = append(cases, pair{m.Name, r, geneses[m.Genesis]}, pair{m.Name + "/other genesis", r, geneses[other]})
		// Mutations: a character changed at spread-out positions (most break a proof or a signature).
		for i := 40; i < len(r); i += len(r) / 7 {
			c := byte('0')
			if r[i] == '0' {
				c = '1'
			}
			cases = append(cases, pair{fmt.Sprintf("%s/byte %d", m.Name, i), r[:i] + string(c) + r[i+1:], geneses[m.Genesis]})
		}
	}
	cases = append(cases, pair{"garbage", "not json", "{}"}, pair{"empty", "", ""})
	e.run("load the verifier", chromedp.Navigate(e.base+"/"), chromedp.WaitVisible("#file", chromedp.ByID),
		chromedp.Evaluate(`(async () => { const go = new Go();
			const r = await WebAssembly.instantiate(await (await fetch('/static/verify.wasm')).arrayBuffer(), go.importObject);
			go.run(r.instance); return typeof siegelCheckReceipt; })()`, nil, func(p *runtime.EvaluateParams) *runtime.EvaluateParams {
			return p.WithAwaitPromise(true)
		}))
	valid := 0
	for _, c := range cases {
		want, _ := json.Marshal(receipt.Check([]byte(c.r), []byte(c.g)))
		rq, _ := json.Marshal(c.r)
		gq, _ := json.Marshal(c.g)
		var got string
		e.run("check "+c.name, chromedp.Evaluate(fmt.Sprintf(`siegelCheckReceipt(%s, %s)`, rq, gq), &got))
		if got != string(want) {
			t.Errorf("%s: wasm says %s, Go says %s", c.name, got, want)
		}
		if strings.HasPrefix(got, `{"valid":true`) {
			valid++
		}
	}
	if valid != len(manifest.Receipts) {
		t.Errorf("%d valid verdicts, want exactly the %d golden receipts", valid, len(manifest.Receipts))
	}
	t.Logf("wasm and Go agree on %d receipts (%d valid)", len(cases), valid)
}

// xssChecks feeds markup through every input the page has and requires that none of it runs.
func xssChecks(t *testing.T, e *browserEnv) {
	payloads := []string{`<script>alert(1)</script>`, `"><img src=x onerror=alert(2)>`, `javascript:alert(3)`, `';alert(4);//`}
	for i, p := range payloads {
		e.run("h payload", chromedp.Navigate(e.base+"/?h="+url.QueryEscape(p)), chromedp.WaitVisible("#hash-error", chromedp.ByID))
		if got := e.text("#hash-error"); !strings.Contains(got, "64") {
			t.Errorf("payload %d in ?h=: error text %q", i, got)
		}
		e.safe(fmt.Sprintf("h-payload-%d", i))
	}
	// In the path: the server answers 404 with its JSON error and the API policy.
	e.run("path payload", chromedp.Navigate(e.base+"/%3Cscript%3Ealert(5)%3C/script%3E/x%22%3E%3Cimg%20src=x%20onerror=alert(6)%3E"))
	e.safe("path-payload")
	// In a file name.
	dir := t.TempDir()
	name := filepath.Join(dir, `"><img src=x onerror=alert(7)>.pdf`)
	if err := os.WriteFile(name, []byte("irgendein Dokument"), 0o600); err != nil {
		t.Fatal(err)
	}
	e.run("file name payload", chromedp.Navigate(e.base+"/"), chromedp.WaitVisible("#file", chromedp.ByID),
		chromedp.SetUploadFiles("#file", []string{name}, chromedp.ByID), chromedp.WaitVisible("#result.unknown", chromedp.ByQuery))
	if got := e.text("#file-info"); !strings.Contains(got, `"><img src=x onerror=alert(7)>.pdf`) {
		t.Errorf("file name not shown as text: %q", got)
	}
	e.safe("file-name-payload")
	// In an agency's registered display name.
	e.run("agency name payload", chromedp.Navigate(e.base+"/?h="+e.xssH), chromedp.WaitVisible("#result.genuine", chromedp.ByQuery))
	if got := e.text("#result"); !strings.Contains(got, `<img src=x onerror=alert("name")>`) {
		t.Errorf("agency name not shown as text: %q", got)
	}
	e.shot("xss-agency-name")
	e.safe("agency-name-payload")
	// In metadata: values, and keys that name JavaScript's object machinery.
	xssKey, err := loadKey(e.xssKey)
	if err != nil {
		t.Fatal(err)
	}
	metaDoc := sha256.Sum256([]byte("Bescheid mit Angaben"))
	mustAnchorWithMeta(t, e.node.r.AgencyURL, xssKey, "xss-office", metaDoc, tx.Public, true,
		tx.Field{Key: tx.FieldTitle, Value: `<img src=x onerror=alert("meta")>`},
		tx.Field{Key: tx.FieldIssuerOffice, Value: `<script>alert("meta")</script>`},
		tx.Field{Key: "__proto__", Value: `"><svg onload=alert("proto")>`},
		tx.Field{Key: "constructor", Value: `javascript:alert("ctor")`},
		tx.Field{Key: "note", Value: `&lt;b&gt;&amp; <b>bold</b> <a href="javascript:alert(8)">link</a>`})
	e.run("metadata payload", chromedp.Navigate(e.base+"/?h="+hex.EncodeToString(metaDoc[:])),
		chromedp.WaitVisible(`#meta[data-state="shown"]`, chromedp.ByQuery))
	for key, want := range map[string]string{
		"title": `<img src=x onerror=alert("meta")>`, "issuer_office": `<script>alert("meta")</script>`,
		"__proto__": `"><svg onload=alert("proto")>`, "constructor": `javascript:alert("ctor")`,
		"note": `&lt;b&gt;&amp; <b>bold</b> <a href="javascript:alert(8)">link</a>`,
	} {
		if got := e.text(`#meta dd[data-key="` + key + `"]`); got != want {
			t.Errorf("metadata %s shown as %q, want the text %q", key, got, want)
		}
	}
	var dts []string
	e.run("metadata labels", chromedp.Evaluate(`[...document.querySelectorAll('#meta dt')].map((d) => d.textContent)`, &dts))
	if want := []string{"Titel", "Ausstellende Stelle", "__proto__", "constructor", "note"}; !slices.Equal(dts, want) {
		t.Errorf("metadata labels %q, want %q", dts, want)
	}
	var elements int
	e.run("no markup from metadata", chromedp.Evaluate(`document.querySelectorAll('#meta *:not(section):not(h3):not(dl):not(dt):not(dd):not(p)').length`, &elements))
	if elements != 0 {
		t.Errorf("%d elements in the metadata section that the page does not make", elements)
	}
	e.shot("xss-metadata")
	e.safe("metadata-payload")
	// The server never reflects the query or path into a response.
	for _, u := range []string{"/?h=%3Cscript%3Ealert(1)%3C%2Fscript%3E", "/v1/anchors/%3Cscript%3Ealert(1)%3C%2Fscript%3E"} {
		res, err := http.Get(e.base + u)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if strings.Contains(string(b), "<script>alert") {
			t.Errorf("%s reflects markup: %s", u, b)
		}
		if res.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("%s: no CSP", u)
		}
	}
}

// mustAnchorWithMeta anchors doc for the agency agencyID with key, committing to the digest of metadata
// with the given visibility and fields (what `siegel anchor --meta` does), and, if publish is set,
// publishes the signed metadata through the agency API, which waits until the node has stored it.
func mustAnchorWithMeta(t *testing.T, agencyURL string, key ed25519.PrivateKey, agencyID string, doc [32]byte,
	vis tx.Visibility, publish bool, fields ...tx.Field) *tx.Metadata {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := api.NewClient(agencyURL)
	st, err := c.Status(ctx)
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	m := &tx.Metadata{ChainID: st.ChainID, DocHash: doc, AgencyID: agencyID, Visibility: vis, Fields: slices.Clone(fields)}
	tx.SortFields(m.Fields)
	m.Sign(key) // sets the signer, which the digest covers
	if err := m.Check(); err != nil {
		t.Fatalf("test metadata: %v", err)
	}
	digest := m.Digest()
	res, err := c.Submit(ctx, signTx(key, st.ChainID, st.Height+100, &tx.Anchor{Entries: []tx.Entry{{Hash: doc, MetaDigest: &digest}}}))
	if err != nil || res.Status != api.SubmitCommitted {
		t.Fatalf("anchor with a metadata digest: %+v, %v", res, err)
	}
	if publish {
		publishMeta(t, agencyURL, m)
	}
	return m
}

// publishMeta publishes m through the agency API and checks the answer.
func publishMeta(t *testing.T, agencyURL string, m *tx.Metadata) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	p, err := api.NewClient(agencyURL).PublishMetadata(ctx, m.Encode())
	d := m.Digest()
	if err != nil || p.Hash != hex.EncodeToString(m.DocHash[:]) || p.Digest != hex.EncodeToString(d[:]) || p.Visibility != m.Visibility.String() {
		t.Fatalf("publish metadata: %+v, %v", p, err)
	}
}

// metadataChecks anchors documents with public, restricted and not yet published metadata and checks
// what the page shows (and the public API answers) for each.
func metadataChecks(t *testing.T, e *browserEnv) {
	key, err := loadKey(filepath.Join(e.node.home, devKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	diploma := sha256.Sum256([]byte("Abiturzeugnis 2026, Gymnasium am Park"))
	diplomaH := hex.EncodeToString(diploma[:])
	mustAnchorWithMeta(t, e.node.r.AgencyURL, key, devAgencyID, diploma, tx.Public, true,
		tx.Field{Key: tx.FieldDocType, Value: "diploma"},
		tx.Field{Key: tx.FieldIssuerOffice, Value: "Sekretariat, Gymnasium am Park"},
		tx.Field{Key: tx.FieldValidFrom, Value: "2026-07-01"},
		tx.Field{Key: tx.FieldValidUntil, Value: "2031-06-30"},
		tx.Field{Key: tx.FieldLanguage, Value: "de"},
		tx.Field{Key: tx.FieldTitle, Value: "Zeugnis der allgemeinen Hochschulreife"},
		tx.Field{Key: "grade_scale", Value: "1,0–6,0"})

	meta := func(key string) string { return e.text(`#meta dd[data-key="` + key + `"]`) }
	var dts []string
	labels := chromedp.Evaluate(`[...document.querySelectorAll('#meta dt')].map((d) => d.textContent)`, &dts)
	e.run("public metadata", chromedp.Navigate(e.base+"/?h="+diplomaH), chromedp.WaitVisible(`#meta[data-state="shown"]`, chromedp.ByQuery), labels)
	if want := []string{"Titel", "Dokumentart", "Ausstellende Stelle", "Gültig ab", "Gültig bis", "Sprache", "grade_scale"}; !slices.Equal(dts, want) {
		t.Errorf("German labels %q, want %q", dts, want)
	}
	for k, want := range map[string]string{
		"title": "Zeugnis der allgemeinen Hochschulreife", "doc_type": "diploma", "issuer_office": "Sekretariat, Gymnasium am Park",
		"valid_from": "1. Juli 2026", "valid_until": "30. Juni 2031", "language": "Deutsch (de)", "grade_scale": "1,0–6,0",
	} {
		if got := meta(k); got != want {
			t.Errorf("German: %s shown as %q, want %q", k, got, want)
		}
	}
	if got := e.text("#meta"); !strings.Contains(got, "Angaben zum Dokument") || !strings.Contains(got, "von Development Agency signiert") ||
		!strings.Contains(got, "Prüfwert") {
		t.Errorf("German metadata section: %q", got)
	}
	if got := e.text("#result-heading"); got != "Echt" {
		t.Errorf("verdict %q", got)
	}
	e.shot("metadata-de")
	e.run("English", chromedp.Click("#lang", chromedp.ByID), chromedp.WaitVisible(`#meta[data-state="shown"]`, chromedp.ByQuery), labels)
	if want := []string{"Title", "Document type", "Issuing office", "Valid from", "Valid until", "Language", "grade_scale"}; !slices.Equal(dts, want) {
		t.Errorf("English labels %q, want %q", dts, want)
	}
	for k, want := range map[string]string{"valid_from": "1 July 2026", "valid_until": "30 June 2031", "language": "German (de)"} {
		if got := meta(k); got != want {
			t.Errorf("English: %s shown as %q, want %q", k, got, want)
		}
	}
	if got := e.text("#meta"); !strings.Contains(got, "Document details") || !strings.Contains(got, "signed by Development Agency") {
		t.Errorf("English metadata section: %q", got)
	}
	e.shot("metadata-en")
	e.run("back to German", chromedp.Click("#lang", chromedp.ByID), chromedp.WaitVisible(`#meta[data-state="shown"]`, chromedp.ByQuery),
		chromedp.Evaluate(`localStorage.removeItem('siegel-lang')`, nil))

	// Restricted: stored by the node, shown on the agency API only; the page says what it says when the
	// metadata has not arrived.
	secret := sha256.Sum256([]byte("Personenstandsurkunde 0815"))
	secretH := hex.EncodeToString(secret[:])
	sm := mustAnchorWithMeta(t, e.node.r.AgencyURL, key, devAgencyID, secret, tx.Restricted, true,
		tx.Field{Key: tx.FieldDocType, Value: "civil-status"}, tx.Field{Key: "holder", Value: "Erika Mustermann"})
	e.run("restricted metadata", chromedp.Navigate(e.base+"/?h="+secretH), chromedp.WaitVisible(`#meta[data-state="pending"]`, chromedp.ByQuery))
	restrictedText := e.text("#meta")
	if strings.Contains(restrictedText, "Mustermann") || strings.Contains(restrictedText, "civil-status") || !strings.Contains(restrictedText, "noch nicht empfangen") {
		t.Errorf("restricted metadata on the page: %q", restrictedText)
	}
	pub, err := http.Get(e.base + "/v1/anchors/" + secretH)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(pub.Body)
	pub.Body.Close()
	if pub.StatusCode != 200 || strings.Contains(string(body), "Mustermann") || strings.Contains(string(body), `"metadata"`) ||
		!strings.Contains(string(body), `"metadata_digest"`) {
		t.Errorf("public API for restricted metadata: %d %s", pub.StatusCode, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	v, err := api.NewClient(e.node.r.AgencyURL).Metadata(ctx, secret)
	if err != nil {
		t.Fatalf("agency API: %v", err)
	}
	if m, err := v.Check(sm.Digest()); err != nil || v.Fields["holder"] != "Erika Mustermann" || m.Visibility != tx.Restricted {
		t.Errorf("agency API view of restricted metadata: %v %+v", err, v)
	}

	// A digest on chain, the metadata not published yet: "not received"; published, it appears.
	later := sha256.Sum256([]byte("Bescheinigung, Angaben folgen"))
	laterH := hex.EncodeToString(later[:])
	lm := mustAnchorWithMeta(t, e.node.r.AgencyURL, key, devAgencyID, later, tx.Public, false, tx.Field{Key: tx.FieldTitle, Value: "Bescheinigung"})
	e.run("metadata not received", chromedp.Navigate(e.base+"/?h="+laterH), chromedp.WaitVisible(`#meta[data-state="pending"]`, chromedp.ByQuery))
	if got := e.text("#meta"); got != restrictedText {
		t.Errorf("not received yet %q differs from restricted %q", got, restrictedText)
	}
	e.shot("metadata-pending")
	publishMeta(t, e.node.r.AgencyURL, lm)
	e.run("metadata received", chromedp.Reload(), chromedp.WaitVisible(`#meta[data-state="shown"]`, chromedp.ByQuery))
	if got := meta("title"); got != "Bescheinigung" {
		t.Errorf("after publishing: title %q", got)
	}
	// A document anchored without metadata has no metadata section.
	var sections int
	e.run("no metadata", chromedp.Navigate(e.base+"/?h="+e.genuineH), chromedp.WaitVisible("#result.genuine", chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelectorAll('#meta').length`, &sections))
	if sections != 0 {
		t.Error("a metadata section for a document without a metadata digest")
	}
	e.safe("metadata")
}
