// Command compare runs benchmark cases side by side, interleaved (A B C A B
// C ...), and prints a Markdown table with the median, minimum and maximum
// of each case.
//
// The cases come from a JSON file (-cases): each has a name, a command line,
// optional environment and standard input, and the number of messages one
// run must deliver. Before timing, compare checks each case's "refuse"
// command (the same tool told to trust an unrelated CA): it must exit
// non-zero and deliver nothing, so that a tool that skips verification
// cannot look fast. After every run it counts the .eml files the server
// stored (in -messages) and fails unless exactly the expected number
// appeared; the files are then removed so that large runs do not fill the
// disk.
//
// A case measures one of:
//
//	"time"  wall-clock time of the whole process, in milliseconds
//	"rate"  messages per second, read from the 4th field of its output
//	        ("LIB N SECONDS RATE", as printed by bench/cmd/throughput)
//	"wallrate" messages per second of the whole process's wall-clock time
//
// With "rss" set the command runs under /usr/bin/time -v and the table adds
// the peak resident set size; with "bytes" set it adds MB/s.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Case is one tool or library under test.
type Case struct {
	Name     string   `json:"name"`
	Version  string   `json:"version"`
	Cmd      []string `json:"cmd"`
	Refuse   []string `json:"refuse"` // the same with an unrelated CA; must fail
	Env      []string `json:"env"`
	Stdin    string   `json:"stdin"`
	Messages int      `json:"messages"` // delivered per run; 0 means 1, -1 none (no Refuse needed)
	Measure  string   `json:"measure"`  // "time" (default) or "rate"
	RSS      bool     `json:"rss"`
	Bytes    int64    `json:"bytes"` // message size, for MB/s
	// Setup and RefuseSetup run (untimed) before each run of Cmd and of
	// Refuse, e.g. to restore a spool directory.
	Setup       []string `json:"setup"`
	RefuseSetup []string `json:"refuse_setup"`
}

type sample struct {
	ms, rate, rssMB float64
}

func main() {
	casesFile := flag.String("cases", "", "JSON file with the cases")
	msgDir := flag.String("messages", "", "the server's messages directory")
	runs := flag.Int("n", 10, "timed runs of each case")
	warm := flag.Int("warmup", 1, "untimed runs of each case first")
	title := flag.String("title", "", "table caption")
	summary := flag.String("summary", "", "also write \"NAME PEAK_RSS_MB MEDIAN\" per case to FILE (spaces in NAME become _)")
	flag.Parse()
	data, err := os.ReadFile(*casesFile)
	if err != nil {
		fail(err)
	}
	var cases []Case
	if err := json.Unmarshal(data, &cases); err != nil {
		fail(fmt.Errorf("%s: %w", *casesFile, err))
	}
	clean(*msgDir)
	for _, c := range cases {
		if c.Messages < 0 {
			continue // talks to no server: nothing to refuse
		}
		if len(c.Refuse) == 0 {
			fail(fmt.Errorf("%s: no refuse command: every case must show it refuses an unrelated CA", c.Name))
		}
		if err := setup(c.RefuseSetup); err != nil {
			fail(fmt.Errorf("%s: %v", c.Name, err))
		}
		out, err := execCase(c, c.Refuse, false)
		n := count(*msgDir)
		if err == nil {
			fail(fmt.Errorf("%s: succeeded with an unrelated CA: it does not verify the server (output: %s)", c.Name, out))
		}
		if n != 0 {
			fail(fmt.Errorf("%s: delivered %d messages with an unrelated CA", c.Name, n))
		}
		fmt.Fprintf(os.Stderr, "compare: %s refuses an unrelated CA: ok (%s)\n", c.Name, firstLine(out))
	}
	results := make([][]sample, len(cases))
	for round := -*warm; round < *runs; round++ {
		for i, c := range cases {
			s, err := runOnce(c, *msgDir)
			if err != nil {
				fail(err)
			}
			if round >= 0 {
				results[i] = append(results[i], s)
				fmt.Fprintf(os.Stderr, "compare: run %d %-24s %9.2f ms %9.1f/s rss %6.1f MB\n", round+1, c.Name, s.ms, s.rate, s.rssMB)
			}
		}
	}
	printTable(*title, cases, results, *runs)
	if *summary != "" {
		var b strings.Builder
		for i, c := range cases {
			f := func(s sample) float64 { return s.ms }
			if c.Measure == "rate" || c.Measure == "wallrate" {
				f = func(s sample) float64 { return s.rate }
			}
			fmt.Fprintf(&b, "%s %.1f %.2f\n", strings.ReplaceAll(c.Name, " ", "_"),
				slices.Max(pick(results[i], func(s sample) float64 { return s.rssMB })), median(pick(results[i], f)))
		}
		if err := os.WriteFile(*summary, []byte(b.String()), 0o644); err != nil {
			fail(err)
		}
	}
}

func setup(argv []string) error {
	if len(argv) == 0 {
		return nil
	}
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("setup %v: %v: %s", argv, err, out)
	}
	return nil
}

func runOnce(c Case, msgDir string) (sample, error) {
	if err := setup(c.Setup); err != nil {
		return sample{}, fmt.Errorf("%s: %v", c.Name, err)
	}
	start := time.Now()
	out, err := execCase(c, c.Cmd, c.RSS)
	d := time.Since(start)
	if err != nil {
		return sample{}, fmt.Errorf("%s failed: %v\n%s", c.Name, err, out)
	}
	want := c.Messages
	switch {
	case want == 0:
		want = 1
	case want < 0:
		want = 0
	}
	if got := count(msgDir); got != want {
		return sample{}, fmt.Errorf("%s: the server stored %d messages, want %d", c.Name, got, want)
	}
	clean(msgDir)
	s := sample{ms: float64(d.Microseconds()) / 1000}
	switch c.Measure {
	case "wallrate":
		s.rate = float64(want) / d.Seconds()
	case "rate":
		f := strings.Fields(lastLine(out))
		if len(f) < 4 {
			return s, fmt.Errorf("%s: no rate in output %q", c.Name, out)
		}
		if s.rate, err = strconv.ParseFloat(f[3], 64); err != nil {
			return s, fmt.Errorf("%s: %v", c.Name, err)
		}
	}
	if c.RSS {
		s.rssMB = parseRSS(out)
	}
	return s, nil
}

// execCase runs argv with the case's environment and input; the combined
// output is returned for diagnostics and parsing.
func execCase(c Case, argv []string, rss bool) (string, error) {
	if rss {
		argv = append([]string{"/usr/bin/time", "-v"}, argv...)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), c.Env...)
	if c.Stdin != "" {
		f, err := os.Open(c.Stdin)
		if err != nil {
			return "", err
		}
		defer f.Close()
		cmd.Stdin = f
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func parseRSS(out string) float64 {
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if v, ok := strings.CutPrefix(l, "Maximum resident set size (kbytes): "); ok {
			kb, _ := strconv.ParseFloat(v, 64)
			return kb / 1024
		}
	}
	return 0
}

// count returns the number of stored messages (visible .eml files).
func count(dir string) int {
	ents, _ := os.ReadDir(dir)
	n := 0
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") && strings.HasSuffix(e.Name(), ".eml") {
			n++
		}
	}
	return n
}

func clean(dir string) {
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") {
			os.Remove(filepath.Join(dir, e.Name()))
		}
	}
}

func median(v []float64) float64 {
	v = slices.Clone(v)
	slices.Sort(v)
	n := len(v)
	if n%2 == 1 {
		return v[n/2]
	}
	return (v[n/2-1] + v[n/2]) / 2
}

func pick(s []sample, f func(sample) float64) []float64 {
	r := make([]float64, len(s))
	for i := range s {
		r[i] = f(s[i])
	}
	return r
}

func printTable(title string, cases []Case, res [][]sample, runs int) {
	rate := cases[0].Measure == "rate" || cases[0].Measure == "wallrate"
	rss := cases[0].RSS
	mb := cases[0].Bytes > 0
	if title != "" {
		fmt.Printf("%s (%d interleaved runs each)\n\n", title, runs)
	}
	h := "| tool | version | median ms | min ms | max ms |"
	sep := "|---|---|---:|---:|---:|"
	if rate {
		h = "| library | version | median msg/s | min msg/s | max msg/s |"
	}
	if mb {
		h += " median MB/s |"
		sep += "---:|"
	}
	if rss {
		h += " peak RSS MB (max) |"
		sep += "---:|"
	}
	h += " relative to the first row |"
	sep += "---:|"
	fmt.Println(h)
	fmt.Println(sep)
	var base float64
	for i, c := range cases {
		f := func(s sample) float64 { return s.ms }
		if c.Measure == "rate" || c.Measure == "wallrate" {
			f = func(s sample) float64 { return s.rate }
		}
		v := pick(res[i], f)
		med := median(v)
		if i == 0 {
			base = med
		}
		line := fmt.Sprintf("| %s | %s | %.1f | %.1f | %.1f |", c.Name, c.Version, med, slices.Min(v), slices.Max(v))
		if rate {
			line = fmt.Sprintf("| %s | %s | %.0f | %.0f | %.0f |", c.Name, c.Version, med, slices.Min(v), slices.Max(v))
		}
		if mb {
			line += fmt.Sprintf(" %.1f |", float64(c.Bytes)/1e6/(median(pick(res[i], func(s sample) float64 { return s.ms }))/1000))
		}
		if rss {
			line += fmt.Sprintf(" %.1f |", slices.Max(pick(res[i], func(s sample) float64 { return s.rssMB })))
		}
		line += fmt.Sprintf(" %.2f× |", med/base)
		fmt.Println(line)
	}
	fmt.Println()
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 100 {
		s = s[:100] + "..."
	}
	return s
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "compare:", err)
	os.Exit(1)
}
