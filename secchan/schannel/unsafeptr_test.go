package schannel

import (
	"go/ast"
	"go/parser"
	"go/printer"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The rule this file enforces on the package's own source, Windows files
// included (it parses them; it does not build them, so it runs on every OS):
//
// A pointer converted to uintptr — uintptr(unsafe.Pointer(x)), or uintptr(p)
// where p is declared unsafe.Pointer in the same function — must appear
// directly in the argument list of a call. Only there does the compiler keep
// the pointed-to object alive and in place until the call returns (rule 4 of
// package unsafe, which Proc.Call and LazyProc.Call take with
// //go:uintptrescapes). Anywhere else (a variable, a field, a composite
// literal, an operand of another conversion) the uintptr is a bare number:
// the garbage collector may free or move the object, a SecBufferDesc for
// instance, while Schannel still reads it.
//
// The rule does not judge the callee: a Go function that takes a uintptr
// without //go:uintptrescapes (windows.CertOpenStore) does not keep its
// argument alive either; a call site that passes one needs runtime.KeepAlive.

// uintptrViolations returns "file:line: expression" for every conversion
// of a pointer to uintptr in src that is not a direct call argument.
func uintptrViolations(fset *token.FileSet, f *ast.File) []string {
	var out []string
	var stack []ast.Node
	var ptrVars map[string]bool // unsafe.Pointer-typed names of the enclosing function
	ast.Inspect(f, func(n ast.Node) bool {
		if n == nil {
			stack = stack[:len(stack)-1]
			return true
		}
		if fd, ok := n.(*ast.FuncDecl); ok {
			ptrVars = unsafePointerNames(fd)
		}
		if call, ok := n.(*ast.CallExpr); ok && isPointerToUintptr(call, ptrVars) {
			var parent ast.Node
			if len(stack) > 0 {
				parent = stack[len(stack)-1]
			}
			if !isCallArgument(parent, call) {
				out = append(out, fset.Position(call.Pos()).String()+": "+exprString(fset, call))
			}
		}
		stack = append(stack, n)
		return true
	})
	return out
}

// isPointerToUintptr reports whether call is uintptr(unsafe.Pointer(...)) or
// uintptr(p) for a name p in ptrVars.
func isPointerToUintptr(call *ast.CallExpr, ptrVars map[string]bool) bool {
	if id, ok := call.Fun.(*ast.Ident); !ok || id.Name != "uintptr" || len(call.Args) != 1 {
		return false
	}
	switch a := ast.Unparen(call.Args[0]).(type) {
	case *ast.CallExpr:
		return isUnsafePointer(a.Fun)
	case *ast.Ident:
		return ptrVars[a.Name]
	}
	return false
}

func isUnsafePointer(e ast.Expr) bool {
	sel, ok := ast.Unparen(e).(*ast.SelectorExpr)
	if !ok {
		return false
	}
	pkg, ok := sel.X.(*ast.Ident)
	return ok && pkg.Name == "unsafe" && sel.Sel.Name == "Pointer"
}

// isCallArgument reports whether e is one of parent's arguments and parent
// is a call, not a conversion to a basic type or to unsafe.Pointer.
func isCallArgument(parent ast.Node, e ast.Expr) bool {
	call, ok := parent.(*ast.CallExpr)
	if !ok || isUnsafePointer(call.Fun) {
		return false
	}
	if id, ok := call.Fun.(*ast.Ident); ok {
		switch id.Name {
		case "uintptr", "uint64", "int64", "uint32", "int", "uint":
			return false
		}
	}
	for _, a := range call.Args {
		if a == e {
			return true
		}
	}
	return false
}

// unsafePointerNames returns the parameters and variables of fd declared
// with type unsafe.Pointer or assigned an unsafe.Pointer(...) conversion.
func unsafePointerNames(fd *ast.FuncDecl) map[string]bool {
	names := map[string]bool{}
	addFields := func(fl *ast.FieldList) {
		if fl == nil {
			return
		}
		for _, f := range fl.List {
			if isUnsafePointer(f.Type) {
				for _, n := range f.Names {
					names[n.Name] = true
				}
			}
		}
	}
	addFields(fd.Type.Params)
	addFields(fd.Type.Results)
	if fd.Body == nil {
		return names
	}
	ast.Inspect(fd.Body, func(n ast.Node) bool {
		switch s := n.(type) {
		case *ast.ValueSpec:
			if s.Type != nil && isUnsafePointer(s.Type) {
				for _, n := range s.Names {
					names[n.Name] = true
				}
			}
			for i, v := range s.Values {
				if c, ok := v.(*ast.CallExpr); ok && isUnsafePointer(c.Fun) && i < len(s.Names) {
					names[s.Names[i].Name] = true
				}
			}
		case *ast.AssignStmt:
			if s.Tok != token.DEFINE || len(s.Lhs) != len(s.Rhs) {
				break
			}
			for i, v := range s.Rhs {
				if c, ok := v.(*ast.CallExpr); ok && isUnsafePointer(c.Fun) {
					if id, ok := s.Lhs[i].(*ast.Ident); ok {
						names[id.Name] = true
					}
				}
			}
		}
		return true
	})
	return names
}

func exprString(fset *token.FileSet, e ast.Expr) string {
	var b strings.Builder
	if err := printer.Fprint(&b, fset, e); err != nil {
		return "?"
	}
	return b.String()
}

// TestUintptrConversionsInsideCalls holds the package's own source, every
// file whatever its build tag, to the rule above.
func TestUintptrConversionsInsideCalls(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no Go files found: %v", err)
	}
	fset := token.NewFileSet()
	sawSyscall := false
	for _, name := range files {
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(src), "uintptr(unsafe.Pointer(") {
			sawSyscall = true
		}
		for _, v := range uintptrViolations(fset, f) {
			t.Errorf("%s: a pointer converted to uintptr outside a call's argument list: the object may be freed or moved before the call; convert inside the call expression", v)
		}
	}
	if !sawSyscall {
		t.Fatal("no uintptr(unsafe.Pointer(...)) found anywhere: the scan is not looking at the package's source")
	}
}

// TestUintptrRule shows the checker finds each bad shape and accepts the
// good ones, so that a clean package means something.
func TestUintptrRule(t *testing.T) {
	cases := []struct {
		name string
		body string
		bad  int
	}{
		{"inside a Call", `proc.Call(uintptr(unsafe.Pointer(&x)), 0)`, 0},
		{"inside SyscallN", `syscall.SyscallN(addr, uintptr(unsafe.Pointer(d)))`, 0},
		{"unsafe.Pointer parameter inside a Call", `proc.Call(uintptr(p))`, 0},
		{"unsafe.Pointer parameter in a variable", `v := uintptr(p); proc.Call(v)`, 1},
		{"before the call", `v := uintptr(unsafe.Pointer(d)); proc.Call(v)`, 1},
		{"assigned in a branch", `var v uintptr; if d != nil { v = uintptr(unsafe.Pointer(d)) }; proc.Call(v)`, 1},
		{"in a composite literal", `a := []uintptr{uintptr(unsafe.Pointer(d))}; proc.Call(a...)`, 1},
		{"in a struct field", `s.p = uintptr(unsafe.Pointer(d))`, 1},
		{"inside another conversion", `proc.Call(uintptr(uint64(uintptr(unsafe.Pointer(d)))))`, 1},
		{"returned", `return uintptr(unsafe.Pointer(d))`, 1},
		{"local unsafe.Pointer variable", `q := unsafe.Pointer(d); v := uintptr(q); proc.Call(v)`, 1},
		{"not a pointer", `v := uintptr(n); proc.Call(v)`, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := "package x\nfunc f(p unsafe.Pointer, d *T, n int) uintptr {\n" + c.body + "\nreturn 0\n}\n"
			fset := token.NewFileSet()
			f, err := parser.ParseFile(fset, "x.go", src, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got := uintptrViolations(fset, f); len(got) != c.bad {
				t.Errorf("%d violations %q, want %d", len(got), got, c.bad)
			}
		})
	}
}
