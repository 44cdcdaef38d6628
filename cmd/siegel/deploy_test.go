package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"go.yaml.in/yaml/v3"
)

// The files of deploy/, from this package's directory.
const (
	deployDir      = "../../deploy"
	dashboardFile  = deployDir + "/grafana/siegel-dashboard.json"
	alertsFile     = deployDir + "/siegel-rules.yml"
	alertTestsFile = deployDir + "/prometheus/siegel-alerts.test.yml"
	promConfigFile = deployDir + "/prometheus/prometheus.example.yml"
	unitFile       = deployDir + "/systemd/siegel.service"
	exampleConfig  = deployDir + "/siegel.example.toml"
)

// notFromSiegel are the metrics the dashboard and the alert rules may query that a Siegel node does
// not export, with where they come from. Keep this list short and documented (deploy/README.md).
var notFromSiegel = map[string]string{
	"up":                          "Prometheus itself, per scraped target",
	"node_filesystem_avail_bytes": "node_exporter on the node's host",
	"node_filesystem_size_bytes":  "node_exporter on the node's host",
}

// promQL words that are never metric names: keywords, aggregation operators (which may be followed
// by "by" rather than a parenthesis), and the clauses followed by a list of label names.
var (
	promqlKeywords = map[string]bool{
		"and": true, "or": true, "unless": true, "bool": true, "offset": true, "atan2": true,
		"inf": true, "nan": true, "Inf": true, "NaN": true,
		"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
		"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
		"limitk": true, "limit_ratio": true,
	}
	promqlLabelClauses = map[string]bool{
		"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
	}
)

// promqlMetrics returns the metric names a PromQL expression selects: identifiers that are not
// functions (followed by a parenthesis), keywords or aggregation operators, and not inside a label
// matcher ({...}), a range ([...]), a string, or the label list of by/without/on/ignoring/
// group_left/group_right. Grafana's variables ($instance, ${x}, $__rate_interval) are skipped.
func promqlMetrics(expr string) ([]string, error) {
	var names []string
	isIdentStart := func(c byte) bool { return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	isIdent := func(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }
	skipString := func(i int) (int, error) { // expr[i] is the opening quote; returns the index after the closing one
		q := expr[i]
		for j := i + 1; j < len(expr); j++ {
			switch {
			case expr[j] == '\\' && q != '`':
				j++
			case expr[j] == q:
				return j + 1, nil
			}
		}
		return 0, fmt.Errorf("unterminated string in %q", expr)
	}
	// skipTo returns the index after the bracket that closes the one at i, skipping strings.
	skipTo := func(i int, open, close byte) (int, error) {
		depth := 0
		for j := i; j < len(expr); {
			switch c := expr[j]; {
			case c == '"' || c == '\'' || c == '`':
				k, err := skipString(j)
				if err != nil {
					return 0, err
				}
				j = k
				continue
			case c == open:
				depth++
			case c == close:
				depth--
				if depth == 0 {
					return j + 1, nil
				}
			}
			j++
		}
		return 0, fmt.Errorf("unbalanced %c in %q", open, expr)
	}
	nextNonSpace := func(i int) int {
		for i < len(expr) && strings.ContainsRune(" \t\r\n", rune(expr[i])) {
			i++
		}
		return i
	}
	for i := 0; i < len(expr); {
		c := expr[i]
		var err error
		switch {
		case c == '"' || c == '\'' || c == '`':
			i, err = skipString(i)
		case c == '{':
			i, err = skipTo(i, '{', '}')
		case c == '[':
			i, err = skipTo(i, '[', ']')
		case c == '#':
			for i < len(expr) && expr[i] != '\n' {
				i++
			}
		case c == '$': // a Grafana variable
			i++
			if i < len(expr) && expr[i] == '{' {
				i, err = skipTo(i, '{', '}')
			} else {
				for i < len(expr) && isIdent(expr[i]) {
					i++
				}
			}
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(expr) && expr[i+1] >= '0' && expr[i+1] <= '9':
			for i < len(expr) && (isIdent(expr[i]) || expr[i] == '.') { // 0.99, 50e9, 5m, 1h30m
				i++
			}
		case isIdentStart(c):
			j := i
			for j < len(expr) && isIdent(expr[j]) {
				j++
			}
			word, k := expr[i:j], nextNonSpace(j)
			i = j
			switch {
			case promqlLabelClauses[word]:
				if k < len(expr) && expr[k] == '(' {
					i, err = skipTo(k, '(', ')')
				}
			case promqlKeywords[word]:
			case k < len(expr) && expr[k] == '(': // a function
			default:
				names = append(names, word)
			}
		default:
			i++
		}
		if err != nil {
			return nil, err
		}
	}
	return names, nil
}

// labelValuesQuery matches Grafana's label_values(METRIC_SELECTOR, LABEL) variable queries.
var labelValuesQuery = regexp.MustCompile(`^\s*label_values\((.*),\s*[A-Za-z_][A-Za-z0-9_]*\s*\)\s*$`)

// deployQueries returns every PromQL expression of the dashboard (panel targets, variable queries)
// and of the alert rules, keyed by where it is.
func deployQueries(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	var dash struct {
		Panels     []json.RawMessage
		Templating struct {
			List []struct {
				Name  string
				Type  string
				Query any
			}
		}
	}
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	type panel struct {
		Title   string
		Type    string
		Panels  []json.RawMessage
		Targets []struct{ Expr string }
	}
	var walk func([]json.RawMessage)
	walk = func(ps []json.RawMessage) {
		for _, raw := range ps {
			var p panel
			if err := json.Unmarshal(raw, &p); err != nil {
				t.Fatalf("%s: panel: %v", dashboardFile, err)
			}
			walk(p.Panels) // a collapsed row holds its panels
			if p.Type != "row" && len(p.Targets) == 0 {
				t.Errorf("dashboard panel %q has no query", p.Title)
			}
			for i, tg := range p.Targets {
				out[fmt.Sprintf("panel %q target %d", p.Title, i)] = tg.Expr
			}
		}
	}
	walk(dash.Panels)
	for _, v := range dash.Templating.List {
		if v.Type != "query" {
			continue
		}
		q, _ := v.Query.(string)
		if m, ok := v.Query.(map[string]any); ok {
			q, _ = m["query"].(string)
		}
		if m := labelValuesQuery.FindStringSubmatch(q); m != nil {
			out[fmt.Sprintf("variable %q", v.Name)] = m[1]
		} else {
			t.Errorf("dashboard variable %q: query %q is not label_values(METRIC, LABEL)", v.Name, q)
		}
	}
	for _, r := range alertRules(t) {
		out[fmt.Sprintf("alert %s", r.Alert)] = r.Expr
	}
	return out
}

type alertRule struct {
	Alert       string
	Expr        string
	For         string
	Labels      map[string]string
	Annotations map[string]string
}

func alertRules(t *testing.T) []alertRule {
	t.Helper()
	var f struct {
		Groups []struct {
			Name  string
			Rules []alertRule
		}
	}
	b, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("%s: %v", alertsFile, err)
	}
	var out []alertRule
	for _, g := range f.Groups {
		out = append(out, g.Rules...)
	}
	if len(out) == 0 {
		t.Fatalf("%s has no rules", alertsFile)
	}
	return out
}

// TestDeployPromQLNames checks the small PromQL reader the drift test relies on.
func TestDeployPromQLNames(t *testing.T) {
	for expr, want := range map[string][]string{
		`sum by (instance, code) (rate(siegel_txs_rejected_total{code!~"a}|b",x='{'}[5m])) * 60 > 10`:    {"siegel_txs_rejected_total"},
		`max by (instance) (a) - on (instance) group_left(chain_id) b offset 1h`:                         {"a", "b"},
		`histogram_quantile(0.99, sum(rate(x_bucket{instance=~"$instance"}[$__rate_interval])) by (le))`: {"x_bucket"},
		`time() - ts > 30`: {"ts"},
		"(p or\n q * 0) < 2 and bool r # a comment naming not_a_metric":  {"p", "q", "r"},
		`1 - node_filesystem_avail_bytes / node_filesystem_size_bytes`:   {"node_filesystem_avail_bytes", "node_filesystem_size_bytes"},
		`predict_linear(d{m=~"/|/var"}[6h], 4 * 86400) < 0 and d < 50e9`: {"d", "d"},
		`sum without(le) (rate(${metric_prefix}_y[1m])) + count(z)`:      {"_y", "z"},
		`{__name__="by_name"}`: nil,
	} {
		got, err := promqlMetrics(expr)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("promqlMetrics(%q) = %q, %v; want %q", expr, got, err, want)
		}
	}
	if _, err := promqlMetrics(`rate(x{a="b}[5m])`); err == nil {
		t.Error("an unterminated string was accepted")
	}
}

// hasMetric reports whether the scrape holds metric name, also as a histogram's or summary's
// _bucket, _sum or _count series.
func (s scrape) hasMetric(name string) bool {
	if _, ok := s[name]; ok {
		return true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, ok := strings.CutSuffix(name, suffix); ok {
			if f := s[base]; f != nil && (f.GetType() == dto.MetricType_HISTOGRAM || f.GetType() == dto.MetricType_SUMMARY ||
				f.GetType() == dto.MetricType_GAUGE_HISTOGRAM) {
				return true
			}
		}
	}
	return false
}

// TestDeployMetricsExist runs a two-validator network, anchors and revokes a document, and checks
// that every metric a dashboard panel, a dashboard variable or an alert rule queries is in a scrape of
// a node, so that deploy/ cannot drift from the code. Metrics from elsewhere (notFromSiegel) are the
// only exceptions.
func TestDeployMetricsExist(t *testing.T) {
	queries := deployQueries(t)
	uses := map[string][]string{} // metric -> where
	for where, expr := range queries {
		names, err := promqlMetrics(expr)
		if err != nil {
			t.Errorf("%s: %v", where, err)
			continue
		}
		if len(names) == 0 {
			t.Errorf("%s: no metric in %q", where, expr)
		}
		for _, n := range names {
			uses[n] = append(uses[n], where)
		}
	}

	dir := t.TempDir()
	spec, err := initTestnet(dir, freeLayout(t, dir, 2), 2, testnetTiming{})
	if err != nil {
		t.Fatal(err)
	}
	var nodes []*testNode
	for _, nd := range spec.Nodes {
		nodes = append(nodes, startNode(t, nd.Home, listenFlags{}))
	}
	n := nodes[0]
	doc := filepath.Join(t.TempDir(), "urkunde.pdf")
	if err := os.WriteFile(doc, []byte("Urkunde"), 0o600); err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(dir, testnetKeyFile)
	if out, code := runCLI(t, "anchor", "--node", n.r.AgencyURL, "--key", key, doc); code != 0 {
		t.Fatalf("anchor: exit %d: %s", code, out)
	}
	h, err := hashFile(doc)
	if err != nil {
		t.Fatal(err)
	}
	if out, code := runCLI(t, "revoke", "--node", n.r.AgencyURL, "--key", key, "--hash", fmt.Sprintf("%x", h), "--reason", "withdrawn"); code != 0 {
		t.Fatalf("revoke: exit %d: %s", code, out)
	}
	for _, u := range []string{n.r.APIURL + "/v1/status", n.r.APIURL + fmt.Sprintf("/v1/anchors/%x/receipt", h)} {
		if resp, err := http.Get(u); err == nil {
			resp.Body.Close()
		}
	}
	// The nodes are peers once each sees the other.
	var s scrape
	for deadline := time.Now().Add(30 * time.Second); ; {
		s = scrapeMetrics(t, n.r.MetricsURL)
		if len(s.series("cometbft_p2p_peers")) > 0 && s.sum("cometbft_p2p_peers") >= 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("node 0 has no peer after 30 s")
		}
		time.Sleep(200 * time.Millisecond)
	}

	metrics := make([]string, 0, len(uses))
	for m := range uses {
		metrics = append(metrics, m)
	}
	sort.Strings(metrics)
	for _, m := range metrics {
		if _, ok := notFromSiegel[m]; ok {
			continue
		}
		if s.hasMetric(m) {
			continue
		}
		slices.Sort(uses[m])
		t.Errorf("%s is queried by %s but not exported by a running node", m, strings.Join(uses[m], ", "))
	}
	for m := range notFromSiegel {
		if s.hasMetric(m) {
			t.Errorf("%s is exported by the node: remove it from notFromSiegel", m)
		}
	}
}

// TestDeployAlertsTested checks that every alert has a severity, a summary, a description and a
// runbook, and that siegel-alerts.test.yml has a case where it fires and one where it does not.
func TestDeployAlertsTested(t *testing.T) {
	var f struct {
		RuleFiles []string `yaml:"rule_files"`
		Tests     []struct {
			AlertRuleTest []struct {
				Alertname string
				ExpAlerts []map[string]any `yaml:"exp_alerts"`
			} `yaml:"alert_rule_test"`
		}
	}
	b, err := os.ReadFile(alertTestsFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(f.RuleFiles, "../"+filepath.Base(alertsFile)) {
		t.Errorf("%s does not load %s", alertTestsFile, filepath.Base(alertsFile))
	}
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range f.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}
	seen := map[string]bool{}
	for _, r := range alertRules(t) {
		if seen[r.Alert] {
			t.Errorf("alert %s is defined twice", r.Alert)
		}
		seen[r.Alert] = true
		if s := r.Labels["severity"]; s != "critical" && s != "warning" {
			t.Errorf("alert %s: severity %q, want critical or warning", r.Alert, s)
		}
		for _, a := range []string{"summary", "description", "runbook"} {
			if strings.TrimSpace(r.Annotations[a]) == "" {
				t.Errorf("alert %s has no %s", r.Alert, a)
			}
		}
		if !fires[r.Alert] || !quiet[r.Alert] {
			t.Errorf("alert %s: tested firing %v, tested not firing %v; want both", r.Alert, fires[r.Alert], quiet[r.Alert])
		}
	}
	for a := range fires {
		if !seen[a] {
			t.Errorf("%s tests alert %s, which siegel-rules.yml does not define", alertTestsFile, a)
		}
	}
}

// TestDeployPromtool runs promtool's checks and the rules' unit tests when promtool is installed
// (make test runs them in any case, and installs it).
func TestDeployPromtool(t *testing.T) {
	if _, err := exec.LookPath("promtool"); err != nil {
		t.Skip("promtool not installed (Debian: apt-get install prometheus)")
	}
	for _, args := range [][]string{
		{"check", "rules", alertsFile},
		{"test", "rules", alertTestsFile},
		{"check", "config", promConfigFile},
	} {
		if out, err := exec.Command("promtool", args...).CombinedOutput(); err != nil {
			t.Errorf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
}

// TestDeployDashboard checks the dashboard's structure: Grafana can import it, every panel queries the
// data source chosen in the DS_PROMETHEUS variable, and the node can be chosen with $instance.
func TestDeployDashboard(t *testing.T) {
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Title, UID    string
		SchemaVersion int
		Panels        []struct {
			ID         int
			Title      string
			Type       string
			Datasource struct{ Type, UID string }
			Targets    []struct {
				Expr       string
				Datasource struct{ Type, UID string }
			}
			GridPos struct{ H, W, X, Y int }
		}
		Templating struct {
			List []struct {
				Name, Type string
				Query      any
			}
		}
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatal(err)
	}
	if dash.Title == "" || dash.UID == "" || dash.SchemaVersion == 0 {
		t.Errorf("title %q, uid %q, schemaVersion %d", dash.Title, dash.UID, dash.SchemaVersion)
	}
	vars := map[string]string{}
	for _, v := range dash.Templating.List {
		vars[v.Name] = v.Type
	}
	if vars["DS_PROMETHEUS"] != "datasource" || vars["instance"] != "query" {
		t.Errorf("variables %v: want DS_PROMETHEUS (datasource) and instance (query)", vars)
	}
	ids := map[int]bool{}
	for _, p := range dash.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		if p.GridPos.W == 0 || p.GridPos.H == 0 || p.GridPos.X+p.GridPos.W > 24 {
			t.Errorf("panel %q: gridPos %+v", p.Title, p.GridPos)
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource.UID != "${DS_PROMETHEUS}" {
			t.Errorf("panel %q: data source %q, want ${DS_PROMETHEUS}", p.Title, p.Datasource.UID)
		}
		for _, tg := range p.Targets {
			if tg.Datasource.UID != "${DS_PROMETHEUS}" {
				t.Errorf("panel %q: target data source %q", p.Title, tg.Datasource.UID)
			}
			if strings.Contains(tg.Expr, "siegel_") && !strings.Contains(tg.Expr, `instance=~"$instance"`) {
				t.Errorf("panel %q: %q does not filter on $instance", p.Title, tg.Expr)
			}
		}
	}
}

// TestDeployExampleConfig loads deploy/siegel.example.toml as the node would, and checks that it
// names every option of siegel.toml, so that a new option cannot go undocumented there.
func TestDeployExampleConfig(t *testing.T) {
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, "config"), 0o700); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(exampleConfig)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(nodeConfigPath(home), b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadNodeConfig(home); err != nil {
		t.Fatalf("%s: %v", exampleConfig, err)
	}
	for _, f := range reflect.VisibleFields(reflect.TypeFor[nodeConfig]()) { // with the embedded structs' fields
		key, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if key == "" || key == "-" {
			continue
		}
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(key) + `\s*=`).Match(b) {
			t.Errorf("%s does not set %s", exampleConfig, key)
		}
	}
}

// TestDeploySystemdUnit checks the unit's hardening, and has systemd-analyze verify it when installed.
func TestDeploySystemdUnit(t *testing.T) {
	b, err := os.ReadFile(unitFile)
	if err != nil {
		t.Fatal(err)
	}
	unit := string(b)
	for _, want := range []string{
		"User=siegel", "NoNewPrivileges=yes", "ProtectSystem=strict", "ReadWritePaths=/var/lib/siegel",
		"PrivateTmp=yes", "ProtectHome=yes", "CapabilityBoundingSet=\n",
		"RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX AF_NETLINK", "SystemCallFilter=@system-service",
		"MemoryDenyWriteExecute=yes", "LimitNOFILE=", "Restart=on-failure", "TimeoutStopSec=",
		"ExecStart=/usr/local/bin/siegel start --home /var/lib/siegel", "ExecReload=/bin/kill -HUP $MAINPID",
	} {
		if !strings.Contains(unit, "\n"+want) {
			t.Errorf("%s lacks %q", unitFile, strings.TrimSpace(want))
		}
	}
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Skip("systemd-analyze not installed")
	}
	// verify wants the executable to exist: point ExecStart at this test binary.
	dir := t.TempDir()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	copyUnit := filepath.Join(dir, "siegel.service")
	if err := os.WriteFile(copyUnit, []byte(strings.ReplaceAll(unit, "ExecStart=/usr/local/bin/siegel", "ExecStart="+exe)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("systemd-analyze", "verify", copyUnit).CombinedOutput()
	if err != nil || strings.Contains(string(out), "siegel.service") {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}
