package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// docBlock returns the shell block that follows `<!-- doctest: name -->` in a markdown file.
func docBlock(t *testing.T, file, name string) string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "<!-- doctest: "+name+" -->\n```sh\n")
	if !ok {
		t.Fatalf("%s has no doctest block %q", file, name)
	}
	block, _, ok := strings.Cut(rest, "```")
	if !ok {
		t.Fatalf("%s: doctest block %q is not closed", file, name)
	}
	return block
}

var expectExit = regexp.MustCompile(`\s+#\s*exit (\d+).*$`)

// doctestScript turns doc lines into a bash script that checks each command's exit status: 0 unless
// the line ends with a comment `# exit N`.
func doctestScript(block string) string {
	var sb strings.Builder
	sb.WriteString("set +e\n")
	for _, line := range strings.Split(strings.ReplaceAll(block, "\\\n", " "), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		want := "0"
		if m := expectExit.FindStringSubmatch(line); m != nil {
			want, line = m[1], expectExit.ReplaceAllString(line, "")
		}
		fmt.Fprintf(&sb, "%s\nrc=$?; if [ $rc -ne %s ]; then echo \"doctest: exit $rc, want %s: %s\" >&2; exit 1; fi\n",
			line, want, want, strings.ReplaceAll(line, `"`, `\"`))
	}
	return sb.String()
}

// TestDocWalkthroughs runs the commands of the agency and operator walkthroughs in docs/ against a
// dev network, as a reader would type them, and checks each exit status.
func TestDocWalkthroughs(t *testing.T) {
	home, lf := newDevHome(t)
	n := startNode(t, home, lf)
	bin := t.TempDir()
	wrapper := fmt.Sprintf("#!/bin/sh\nSIEGEL_TEST_EXEC=1 exec %q \"$@\"\n", os.Args[0])
	if err := os.WriteFile(filepath.Join(bin, "siegel"), []byte(wrapper), 0o700); err != nil {
		t.Fatal(err)
	}
	script := doctestScript(docBlock(t, "../../docs/AGENCIES.md", "agencies-keys")) +
		doctestScript(docBlock(t, "../../docs/OPERATORS.md", "operators-onboard")) +
		doctestScript(docBlock(t, "../../docs/AGENCIES.md", "agencies-work")) +
		doctestScript(docBlock(t, "../../docs/AGENCIES.md", "agencies-meta"))
	cmd := exec.Command("bash", "-c", script)
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "DIR="+t.TempDir(), "HOME_DIR="+home,
		"AGENCY_API="+n.r.AgencyURL, "PUBLIC_API="+n.r.APIURL)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("walkthrough failed: %v\n%s", err, out)
	}
	for _, want := range []string{"proposal", "gym-muster", "committed at height", "GENUINE", "key_retired", "REVOKED",
		"metadata published", "issuer_office: Sekretariat, Gymnasium Musterstadt", "public metadata of agency gym-muster",
		"may issue documents of type zeugnis, abiturzeugnis, not \"fuehrerschein\""} {
		if !strings.Contains(string(out), want) {
			t.Errorf("walkthrough output lacks %q:\n%s", want, out)
		}
	}
}
