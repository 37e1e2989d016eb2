package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestMedian(t *testing.T) {
	for _, tc := range []struct {
		in   []float64
		want float64
	}{
		{[]float64{3}, 3},
		{[]float64{5, 1, 3}, 3},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{10, 10, 1, 1000, 10}, 10},
	} {
		in := append([]float64(nil), tc.in...)
		if got := median(tc.in); got != tc.want {
			t.Errorf("median(%v) = %v, want %v", in, got, tc.want)
		}
		for i := range in {
			if in[i] != tc.in[i] {
				t.Fatalf("median reordered its input: %v", tc.in)
			}
		}
	}
}

func TestParseRSS(t *testing.T) {
	for _, tc := range []struct {
		out  string
		want float64
	}{
		{"\tCommand being timed: \"x\"\n\tMaximum resident set size (kbytes): 12288\n\tAverage ...\n", 12},
		{"no time output\n", 0},
	} {
		if got := parseRSS(tc.out); got != tc.want {
			t.Errorf("parseRSS(%q) = %v, want %v", tc.out, got, tc.want)
		}
	}
}

// TestCountClean checks the delivery check: only visible .eml files count,
// and clean leaves the server's hidden temporary files alone.
func TestCountClean(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"a.eml", "a.json", "b.eml", ".tmp-c.eml"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if n := count(dir); n != 2 {
		t.Fatalf("count = %d, want 2", n)
	}
	clean(dir)
	if n := count(dir); n != 0 {
		t.Fatalf("count after clean = %d, want 0", n)
	}
	if _, err := os.Stat(filepath.Join(dir, ".tmp-c.eml")); err != nil {
		t.Fatalf("clean removed a hidden file: %v", err)
	}
}

// TestExecCase runs real commands: a case's exit status and output are
// what the comparison relies on to tell delivery from refusal.
func TestExecCase(t *testing.T) {
	out, err := execCase(Case{Env: []string{"BENCH_X=hello"}}, []string{"sh", "-c", "echo $BENCH_X; exit 0"}, false)
	if err != nil || out != "hello\n" {
		t.Fatalf("execCase = %q, %v", out, err)
	}
	if _, err := execCase(Case{}, []string{"sh", "-c", "exit 3"}, false); err == nil {
		t.Fatal("a failing command reported success")
	}
}
