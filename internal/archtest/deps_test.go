package archtest

import (
	"os/exec"
	"strings"
	"testing"
)

const mod = "github.com/siegel-notary/siegel/"

// rule says what one package may import directly (of ours) and what it must never reach.
type rule struct {
	pkg string
	// ours lists the packages of this module it may import directly; nil means none.
	ours []string
	// forbiddenDirect are import paths (or prefixes ending in "/") it must not import directly.
	forbiddenDirect []string
	// forbiddenDeep are path substrings that must not appear anywhere in its dependency graph.
	forbiddenDeep []string
}

var rules = []rule{
	{pkg: "receipt", forbiddenDeep: []string{"cometbft", "pebble", "libp2p", "prometheus", "net/http"}},
	{pkg: "store/tree", ours: []string{"receipt"}, forbiddenDeep: []string{"pebble", "cometbft"}},
	{pkg: "store", ours: []string{"store/tree", "receipt"}},
	{pkg: "app/tx", ours: []string{"receipt"}, forbiddenDeep: []string{"pebble", "libp2p"}},
	{pkg: "app", ours: []string{"store", "store/tree", "app/tx", "receipt"},
		forbiddenDirect: []string{"net", "net/", "os", "os/", "time/tzdata", "math/rand", "math/rand/v2", "github.com/prometheus/"}},
	{pkg: "consensus"},
	{pkg: "p2p", ours: []string{"app/tx"}, forbiddenDeep: []string{"cometbft", "pebble"}},
	{pkg: "api", ours: []string{"receipt", "app/tx"}},
}

// golist runs go list in the module root with the project's build tag.
func golist(t *testing.T, args ...string) []string {
	t.Helper()
	cmd := exec.Command("go", append([]string{"list", "-tags", "pebbledb"}, args...)...)
	cmd.Dir = "../.."
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list %v: %v", args, err)
	}
	return strings.Fields(string(out))
}

func TestDependencyRules(t *testing.T) {
	for _, r := range rules {
		t.Run(r.pkg, func(t *testing.T) {
			for _, imp := range golist(t, "-f", `{{join .Imports " "}}`, "./"+r.pkg) {
				if rest, ok := strings.CutPrefix(imp, mod); ok {
					if !contains(r.ours, rest) {
						t.Errorf("%s imports %s; it may import only %v of this module", r.pkg, rest, r.ours)
					}
					continue
				}
				for _, f := range r.forbiddenDirect {
					if imp == f || (strings.HasSuffix(f, "/") && strings.HasPrefix(imp, f)) {
						t.Errorf("%s imports %s, which it must not", r.pkg, imp)
					}
				}
			}
			if len(r.forbiddenDeep) == 0 {
				return
			}
			for _, dep := range golist(t, "-deps", "./"+r.pkg) {
				for _, f := range r.forbiddenDeep {
					if strings.Contains(dep, f) {
						t.Errorf("%s depends on %s (matches %q)", r.pkg, dep, f)
					}
				}
			}
		})
	}
}

// TestNothingImportsCommands checks that no package imports cmd/ or testnet/.
func TestNothingImportsCommands(t *testing.T) {
	lines := golist(t, "-f", `{{.ImportPath}}:{{join .Imports ","}}`, "./...")
	for _, l := range lines {
		pkg, imps, _ := strings.Cut(l, ":")
		for _, imp := range strings.Split(imps, ",") {
			if strings.HasPrefix(imp, mod+"cmd/") || strings.HasPrefix(imp, mod+"testnet") {
				t.Errorf("%s imports %s", pkg, imp)
			}
		}
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
