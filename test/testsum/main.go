// Command testsum reads `go test -json` on stdin and writes what a person
// reads: each package's result line, the whole output of every test that
// failed, the build errors, and a line per environment skip (a test that
// could not run for want of a tool; see internal/testenv). It ends with
// "N skipped: ..." when N > 0, and exits 1 when any test or package failed.
//
//	go test -json ./... | go run ./test/testsum
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/credrotate/credrotate/internal/testenv"
)

// event is one line of `go test -json` (cmd/test2json).
type event struct {
	Action  string
	Package string
	Test    string
	Output  string
	// ImportPath is set on build-output events.
	ImportPath string
}

// skip is one environment skip.
type skip struct{ name, why string }

// summary is what testsum learned from a stream.
type summary struct {
	failed bool
	skips  []skip
}

func main() {
	s, err := summarise(os.Stdin, os.Stdout)
	if err != nil {
		fmt.Fprintln(os.Stderr, "testsum:", err)
		os.Exit(1)
	}
	if s.failed {
		os.Exit(1)
	}
}

// maxLine bounds one line of go test's output.
const maxLine = 16 << 20

func summarise(r io.Reader, w io.Writer) (summary, error) {
	var s summary
	buf := map[string]*strings.Builder{}
	key := func(e event) string { return e.Package + "\x00" + e.Test }
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), maxLine)
	for sc.Scan() {
		line := sc.Bytes()
		var e event
		if len(line) == 0 || line[0] != '{' || json.Unmarshal(line, &e) != nil {
			// Not an event: go's own messages (a build failure, a panic
			// before the test binary speaks).
			fmt.Fprintln(w, string(line))
			continue
		}
		switch {
		case e.Action == "build-output":
			fmt.Fprint(w, e.Output)
		case e.Action == "build-fail":
			s.failed = true
		case e.Test == "":
			// Package-level lines: ok/FAIL/no test files, and what a
			// TestMain prints; the per-test noise of -v is left out.
			switch e.Action {
			case "output":
				if o := e.Output; o != "PASS\n" && o != "FAIL\n" && !strings.HasPrefix(o, "=== ") && !strings.HasPrefix(o, "--- ") {
					fmt.Fprint(w, o)
				}
			case "fail":
				s.failed = true
			}
		case e.Action == "output":
			b := buf[key(e)]
			if b == nil {
				b = &strings.Builder{}
				buf[key(e)] = b
			}
			if b.Len() < maxLine {
				b.WriteString(e.Output)
			}
		case e.Action == "fail":
			s.failed = true
			if b := buf[key(e)]; b != nil {
				fmt.Fprint(w, b.String())
			}
			delete(buf, key(e))
		case e.Action == "skip":
			if b := buf[key(e)]; b != nil {
				if why, ok := marked(b.String()); ok {
					s.skips = append(s.skips, skip{name: e.Package + "." + e.Test, why: why})
					fmt.Fprintf(w, "--- SKIP: %s %s: %s\n", e.Package, e.Test, why)
				}
			}
			delete(buf, key(e))
		case e.Action == "pass":
			delete(buf, key(e))
		}
	}
	if err := sc.Err(); err != nil {
		return s, err
	}
	if len(s.skips) > 0 {
		sort.Slice(s.skips, func(i, j int) bool { return s.skips[i].name < s.skips[j].name })
		var names []string
		for _, k := range s.skips {
			names = append(names, k.name)
		}
		fmt.Fprintf(w, "\n%d skipped: %s\n", len(s.skips), strings.Join(names, ", "))
		fmt.Fprintln(w, "(each could not run for want of a tool; the lines above say what to install. CI=true makes them failures.)")
	}
	return s, nil
}

// marked returns the environment-skip message in a test's output.
func marked(out string) (string, bool) {
	i := strings.Index(out, testenv.Marker)
	if i < 0 {
		return "", false
	}
	why := out[i+len(testenv.Marker):]
	why, _, _ = strings.Cut(why, "\n")
	return strings.TrimSpace(why), true
}
