package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// sample is a module whose tests pass, skip (with and without a rule) and
// fail, run by the real `go test -json`.
const sample = `package sample

import "testing"

func TestPass(t *testing.T) {}

func TestSkipRuled(t *testing.T) { t.Skip("signals are tested on Unix") }

func TestSkipUnruled(t *testing.T) { t.Skip("Wine 8.0: no TLS 1.3") }

func TestSub(t *testing.T) {
	t.Run("good", func(t *testing.T) {})
	t.Run("wine", func(t *testing.T) { t.Skip("no exclusive root") })
}

func TestFail(t *testing.T) { t.Error("broken") }
`

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	for name, text := range map[string]string{
		"go.mod":         "module example.org/m\n\ngo 1.22\n",
		"p/p_test.go":    sample,
		"empty/empty.go": "package empty\n",
	} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "test", "-json", "-count=1", "./...")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	out, _ := cmd.Output() // exit 1: TestFail
	if !bytes.Contains(out, []byte(`"Action":"skip"`)) {
		t.Fatalf("go test -json printed no skip:\n%s", out)
	}

	rules, err := parseRules(`
# comment line
skip p TestSkipRuled        # signals are Unix-only
pass p TestSub/good
pass p TestNotThere          # a test that must have run
pass q TestElsewhere         # a package this run did not test: not checked
`)
	if err != nil {
		t.Fatal(err)
	}
	var echo bytes.Buffer
	problems, err := check(bytes.NewReader(out), &echo, rules, "example.org/m")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"p TestSkipUnruled: skipped, and no skip rule allows it (p_test.go:9: Wine 8.0: no TLS 1.3)",
		"p TestSub/wine: skipped, and no skip rule allows it (p_test.go:13: no exclusive root)",
		"p TestFail: FAIL",
		"p: FAIL",
		"p ^(?:TestNotThere)$: no such test passed (pass rule, line 5)",
	}
	if !reflect.DeepEqual(problems, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", strings.Join(problems, "\n"), strings.Join(want, "\n"))
	}
	if !strings.Contains(echo.String(), "--- FAIL: TestFail") || !strings.Contains(echo.String(), "broken") {
		t.Errorf("the tests' output was not passed on:\n%s", echo.String())
	}

	// Not go test -json at all: an error, not a pass.
	if _, err := check(strings.NewReader("ok  \tpkg\t0.1s\n"), &echo, rules, "example.org/m"); err == nil {
		t.Error("input without a passed test: no error")
	}
}

func TestParseRulesErrors(t *testing.T) {
	for _, text := range []string{
		"skip p TestX",              // no reason
		"allow p TestX # why",       // unknown kind
		"pass p",                    // no regexp
		"pass p Test( # unbalanced", // bad regexp
	} {
		if _, err := parseRules(text); err == nil {
			t.Errorf("%q: no error", text)
		}
	}
}

// TestRulesFile: the native job's rules file parses, so that the job
// cannot fail on it (it runs only on GitHub's Windows runners).
func TestRulesFile(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", ".github", "windows-tests.txt"))
	if err != nil {
		t.Fatal(err)
	}
	rules, err := parseRules(string(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) == 0 {
		t.Fatal("no rules")
	}
	// Each rule names a test function that exists in its package, so that
	// a renamed test shows here rather than only on the Windows runner.
	fn := regexp.MustCompile(`^\^\(\?:(Test[A-Za-z0-9_]+)`)
	for _, ru := range rules {
		m := fn.FindStringSubmatch(ru.test.String())
		if m == nil {
			t.Errorf("line %d: %s does not start with a test function's name", ru.line, ru.test)
			continue
		}
		files, _ := filepath.Glob(filepath.Join("..", "..", filepath.FromSlash(ru.pkg), "*_test.go"))
		found := false
		for _, f := range files {
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			if bytes.Contains(src, []byte("func "+m[1]+"(t *testing.T)")) {
				found = true
				break
			}
		}
		if !found {
			t.Errorf("line %d: no func %s(t *testing.T) in %s", ru.line, m[1], ru.pkg)
		}
	}
}
