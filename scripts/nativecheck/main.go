// Command nativecheck reads `go test -json` on standard input, prints the
// tests' output as `go test -v` would, and then holds the run to a rules
// file: the native Windows CI job (.github/workflows/windows.yml) uses it
// so that no test can skip there unless a rule says why, and so that the
// tests only that job can run did run and pass.
//
//	go test -json ./... | go run ./scripts/nativecheck -rules .github/windows-tests.txt
//
// Each line of the rules file is blank, a # comment, or
//
//	skip PACKAGE TEST-REGEXP   # why this test may skip on Windows
//	pass PACKAGE TEST-REGEXP   # a test that must have passed
//
// PACKAGE is the import path below the module (secchan/schannel), and
// TEST-REGEXP is matched against the whole test name (subtests included:
// TestSystemTrust/good), anchored at both ends. A skip rule needs its
// comment. nativecheck exits 1 when a test or a build failed, when a test
// skipped without a skip rule, when a pass rule of a package in the input
// matched no passed test, or when the input held no passed test at all; 2
// on bad usage. (Pass rules of packages the run did not test are left
// alone, so that one rules file serves several go test steps.)
package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
)

func main() {
	rulesFile := flag.String("rules", "", "the rules `FILE`")
	module := flag.String("module", "github.com/tlsmail/tlsmail", "the module `PATH` the packages in the rules are below")
	flag.Parse()
	if *rulesFile == "" || flag.NArg() != 0 {
		fmt.Fprintln(os.Stderr, "usage: go test -json ... | nativecheck -rules FILE [-module PATH]")
		os.Exit(2)
	}
	data, err := os.ReadFile(*rulesFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nativecheck:", err)
		os.Exit(2)
	}
	rules, err := parseRules(string(data))
	if err != nil {
		fmt.Fprintf(os.Stderr, "nativecheck: %s: %v\n", *rulesFile, err)
		os.Exit(2)
	}
	problems, err := check(os.Stdin, os.Stdout, rules, *module)
	if err != nil {
		fmt.Fprintln(os.Stderr, "nativecheck:", err)
		os.Exit(1)
	}
	if len(problems) > 0 {
		fmt.Fprintf(os.Stderr, "\nnativecheck: %d problem(s):\n", len(problems))
		for _, p := range problems {
			fmt.Fprintln(os.Stderr, "  "+p)
		}
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "nativecheck: every test passed or skipped by a rule; every pass rule met")
}

// rule is one line of the rules file.
type rule struct {
	kind    string // "skip" or "pass"
	pkg     string
	test    *regexp.Regexp
	why     string
	line    int
	matched bool
}

// parseRules reads the rules file's text.
func parseRules(text string) ([]*rule, error) {
	var rules []*rule
	for i, line := range strings.Split(text, "\n") {
		body, why, _ := strings.Cut(line, "#")
		f := strings.Fields(body)
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 || (f[0] != "skip" && f[0] != "pass") {
			return nil, fmt.Errorf("line %d: want 'skip|pass PACKAGE TEST-REGEXP # why', got %q", i+1, line)
		}
		re, err := regexp.Compile("^(?:" + f[2] + ")$")
		if err != nil {
			return nil, fmt.Errorf("line %d: %v", i+1, err)
		}
		why = strings.TrimSpace(why)
		if f[0] == "skip" && why == "" {
			return nil, fmt.Errorf("line %d: a skip rule must say why, after #", i+1)
		}
		rules = append(rules, &rule{kind: f[0], pkg: f[1], test: re, why: why, line: i + 1})
	}
	return rules, nil
}

// event is the part of a test2json TestEvent (and of a go build -json
// BuildEvent, which go test -json interleaves) that nativecheck reads.
type event struct {
	Action      string
	Package     string
	ImportPath  string
	Test        string
	Output      string
	FailedBuild string
}

// check reads the events from r, copies their output to w, and returns
// what breaks the rules.
func check(r io.Reader, w io.Writer, rules []*rule, module string) ([]string, error) {
	type key struct{ pkg, test string }
	var problems []string
	skipOut := map[key][]string{} // the output of each test, for the reason of a skip
	passed := 0
	seen := map[string]bool{} // the packages in the input
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		var ev event
		if err := json.Unmarshal(line, &ev); err != nil || ev.Action == "" {
			// Not an event (go vet's or the linker's words): pass it on.
			fmt.Fprintf(w, "%s\n", line)
			continue
		}
		io.WriteString(w, ev.Output)
		pkg := strings.TrimPrefix(strings.TrimPrefix(ev.Package+ev.ImportPath, module), "/")
		k := key{pkg, ev.Test}
		seen[pkg] = true
		switch ev.Action {
		case "output":
			if ev.Test != "" {
				skipOut[k] = append(skipOut[k], strings.TrimSpace(ev.Output))
			}
		case "build-fail":
			problems = append(problems, fmt.Sprintf("%s: the build failed", pkg))
		case "fail":
			switch {
			case ev.FailedBuild != "":
				problems = append(problems, fmt.Sprintf("%s: the build of %s failed", pkg, ev.FailedBuild))
			case ev.Test != "":
				problems = append(problems, fmt.Sprintf("%s %s: FAIL", pkg, ev.Test))
			default:
				problems = append(problems, fmt.Sprintf("%s: FAIL", pkg))
			}
		case "pass":
			if ev.Test == "" {
				continue
			}
			passed++
			for _, ru := range rules {
				if ru.kind == "pass" && ru.pkg == pkg && ru.test.MatchString(ev.Test) {
					ru.matched = true
				}
			}
		case "skip":
			if ev.Test == "" {
				continue // a package without tests
			}
			allowed := false
			for _, ru := range rules {
				if ru.kind == "skip" && ru.pkg == pkg && ru.test.MatchString(ev.Test) {
					ru.matched, allowed = true, true
				}
			}
			if !allowed {
				problems = append(problems, fmt.Sprintf("%s %s: skipped, and no skip rule allows it (%s)", pkg, ev.Test, skipReason(skipOut[k])))
			}
		}
		if ev.Action == "pass" || ev.Action == "fail" || ev.Action == "skip" {
			delete(skipOut, k)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading go test -json: %w", err)
	}
	if passed == 0 {
		return nil, errors.New("no test passed: is this the output of go test -json?")
	}
	for _, ru := range rules {
		if ru.kind == "pass" && !ru.matched && seen[ru.pkg] {
			problems = append(problems, fmt.Sprintf("%s %s: no such test passed (pass rule, line %d)", ru.pkg, ru.test, ru.line))
		}
	}
	return problems, nil
}

// skipReason picks the test's own words from its output lines: those after
// its "--- SKIP" line's position are the t.Skip message.
func skipReason(out []string) string {
	var words []string
	for _, l := range out {
		if l == "" || strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- ") {
			continue
		}
		words = append(words, l)
	}
	if len(words) == 0 {
		return "no reason given"
	}
	return strings.Join(words, "; ")
}
