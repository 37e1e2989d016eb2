//go:build ignore

// cli-lines measures package main (cmd/tlsmail) by kind of code: each
// top-level declaration of a non-test file, with its doc comment, is
// counted under the kind its file or name says; multi-line string
// literals (cobra's Long and Example, usage prose) are counted as help
// text wherever they are. Run: go run scripts/cli-lines.go [DIR].
package main

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// kindOf names the kind of a declaration from its file and name.
func kindOf(file, name string) string {
	base := filepath.Base(file)
	has := func(subs ...string) bool {
		for _, s := range subs {
			if strings.Contains(name, s) {
				return true
			}
		}
		return false
	}
	switch {
	case strings.HasPrefix(base, "flaghints"):
		return "flag-hint table"
	case base == "exit.go" || has("queueError", "certError", "classify", "hint", "needsFixing", "problemsFound", ".err", "Refusal"):
		return "exit codes and error texts"
	case base == "output.go" || base == "progress.go" || base == "sendmaillog.go" ||
		has("print", "write", "JSON", "render", "Text", "oneLine", "recipients", "orNull", "orNone", "indented", "Write", "Flush", "flushLocked", "Reply", "Notice", "Title"):
		return "output"
	case base == "sendconfig.go" || base == "queueaccount.go" || base == "secrets.go" || base == "providers.go" ||
		base == "providers_other.go" || base == "providers_windows.go" || base == "certstore_windows.go" ||
		base == "revcache.go" || base == "transcriptfile.go" || base == "queuestore.go" ||
		has("buildAccount", "planConnection", "passwordRef", "checkAuthFlags", "authenticate", "sendmailAccount",
			"msmtpOverrides", "sendmailSearch", "expander", "configQueueDir", "resolve", "open", "planProbe", "homeDir", "accountSource", "dialSpecialNames", "systemFileText"):
		return "flags -> account"
	case base == "certflags.go" || base == "trustflags.go" || has("register", "Command", "parse", "Option", "optValue", "Argv", "wantsJSON", "interruptible", "splitServer", "probeTarget", "checkPin", "peekFrom"):
		return "argv and flag parsing"
	}
	return "command bodies (send/queue/probe/cert/serve/demo flow)"
}

func main() {
	dir := "cmd/tlsmail"
	if len(os.Args) > 1 {
		dir = os.Args[1]
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	lines := map[string]int{}
	total := 0
	fset := token.NewFileSet()
	for _, path := range files {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, parser.ParseComments)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		n := fset.File(f.Pos()).LineCount()
		total += n
		counted := 0
		for _, d := range f.Decls {
			start, end := d.Pos(), d.End()
			name := ""
			switch d := d.(type) {
			case *ast.FuncDecl:
				if d.Doc != nil {
					start = d.Doc.Pos()
				}
				name = d.Name.Name
				if d.Recv != nil && len(d.Recv.List) > 0 {
					name = "." + name
				}
			case *ast.GenDecl:
				if d.Doc != nil {
					start = d.Doc.Pos()
				}
				if d.Tok == token.IMPORT {
					continue
				}
				for _, s := range d.Specs {
					switch s := s.(type) {
					case *ast.TypeSpec:
						name += s.Name.Name
					case *ast.ValueSpec:
						for _, id := range s.Names {
							name += id.Name
						}
					}
				}
			}
			span := fset.Position(end).Line - fset.Position(start).Line + 1
			help := 0
			ast.Inspect(d, func(x ast.Node) bool {
				if l, ok := x.(*ast.BasicLit); ok && l.Kind == token.STRING {
					if h := fset.Position(l.End()).Line - fset.Position(l.Pos()).Line + 1; h > 1 {
						help += h
					}
				}
				return true
			})
			lines["help text (multi-line strings)"] += help
			lines[kindOf(path, name)] += span - help
			counted += span
		}
		lines["package, imports, blank lines between"] += n - counted
	}
	kinds := make([]string, 0, len(lines))
	for k := range lines {
		kinds = append(kinds, k)
	}
	sort.Slice(kinds, func(i, j int) bool { return lines[kinds[i]] > lines[kinds[j]] })
	for _, k := range kinds {
		fmt.Printf("%6d  %4.1f%%  %s\n", lines[k], 100*float64(lines[k])/float64(total), k)
	}
	fmt.Printf("%6d  total non-test lines in %s\n", total, dir)
}
