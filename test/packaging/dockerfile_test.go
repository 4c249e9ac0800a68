package packaging

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// No image can be built here, so the Dockerfile is read instead: its final
// stage must hold the credrotate binary and nothing else on a base with no
// shell, run it as a numeric non-root user, and start it directly. The parser
// below follows the Dockerfile reference for what this file may use (parser
// directives, comments, line continuations, exec and shell forms) and
// refuses what it does not understand (heredocs) rather than guess.

// dockerInstruction is one instruction of a Dockerfile.
type dockerInstruction struct {
	line  int
	cmd   string   // upper case: FROM, RUN, COPY ...
	flags []string // leading --name=value words
	args  string   // the rest, as written
	exec  []string // the JSON (exec) form, when args is one
}

// dockerStage is a FROM and what follows it.
type dockerStage struct {
	base, name string
	line       int
	ins        []dockerInstruction
}

// flag returns the value of --name=value, or "".
func (in dockerInstruction) flag(name string) string {
	for _, f := range in.flags {
		if v, ok := strings.CutPrefix(f, "--"+name+"="); ok {
			return v
		}
	}
	return ""
}

var dockerDirectiveRE = regexp.MustCompile(`^#\s*([a-zA-Z]+)\s*=\s*(\S+)\s*$`)

// parseDockerfile splits a Dockerfile into stages of instructions.
func parseDockerfile(src string) ([]dockerStage, error) {
	lines := strings.Split(src, "\n")
	escape := `\`
	// Parser directives: comments of the form "# name=value" before
	// anything else.
	i := 0
	for ; i < len(lines); i++ {
		m := dockerDirectiveRE.FindStringSubmatch(strings.TrimSpace(lines[i]))
		if m == nil {
			break
		}
		if strings.EqualFold(m[1], "escape") {
			if m[2] != `\` && m[2] != "`" {
				return nil, fmt.Errorf("line %d: escape=%s is not \\ or `", i+1, m[2])
			}
			escape = m[2]
		}
	}
	var stages []dockerStage
	for i < len(lines) {
		start := i + 1
		l := strings.TrimSpace(lines[i])
		i++
		if l == "" || strings.HasPrefix(l, "#") {
			continue
		}
		// Join continuation lines; comment lines inside are dropped.
		var text strings.Builder
		for {
			cont := strings.HasSuffix(l, escape)
			text.WriteString(strings.TrimSuffix(l, escape))
			if !cont {
				break
			}
			text.WriteString(" ")
			for i < len(lines) && strings.HasPrefix(strings.TrimSpace(lines[i]), "#") {
				i++
			}
			if i == len(lines) {
				break
			}
			l = strings.TrimSpace(lines[i])
			i++
		}
		in, err := parseInstruction(start, text.String())
		if err != nil {
			return nil, err
		}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			st := dockerStage{line: start}
			switch {
			case len(f) == 1:
				st.base = f[0]
			case len(f) == 3 && strings.EqualFold(f[1], "AS"):
				st.base, st.name = f[0], strings.ToLower(f[2])
			default:
				return nil, fmt.Errorf("line %d: FROM %q is not \"image [AS name]\"", start, in.args)
			}
			stages = append(stages, st)
			continue
		}
		if len(stages) == 0 {
			if in.cmd == "ARG" {
				continue // an ARG before the first FROM
			}
			return nil, fmt.Errorf("line %d: %s before the first FROM", start, in.cmd)
		}
		stages[len(stages)-1].ins = append(stages[len(stages)-1].ins, in)
	}
	if len(stages) == 0 {
		return nil, fmt.Errorf("no FROM")
	}
	return stages, nil
}

func parseInstruction(line int, text string) (dockerInstruction, error) {
	cmd, rest, _ := strings.Cut(strings.TrimSpace(text), " ")
	in := dockerInstruction{line: line, cmd: strings.ToUpper(cmd)}
	if !regexp.MustCompile(`^[A-Z]+$`).MatchString(in.cmd) {
		return in, fmt.Errorf("line %d: %q is not an instruction", line, cmd)
	}
	rest = strings.TrimSpace(rest)
	if strings.Contains(rest, "<<") && (in.cmd == "RUN" || in.cmd == "COPY" || in.cmd == "ADD") {
		return in, fmt.Errorf("line %d: a heredoc (<<) is not understood by this check", line)
	}
	for strings.HasPrefix(rest, "--") {
		f, r, _ := strings.Cut(rest, " ")
		in.flags = append(in.flags, f)
		rest = strings.TrimSpace(r)
	}
	in.args = rest
	if strings.HasPrefix(rest, "[") {
		var exec []string
		if err := json.Unmarshal([]byte(rest), &exec); err == nil {
			in.exec = exec
		}
	}
	return in, nil
}

// shellFreeBaseRE: final-stage bases that have no shell.
var shellFreeBaseRE = regexp.MustCompile(`^(scratch|gcr\.io/distroless/static-debian\d+(:[\w.-]+)?@sha256:[0-9a-f]{64})$`)

// finalStageAllowed are the instructions the final stage may have: none
// runs anything or fetches anything.
var finalStageAllowed = map[string]bool{"COPY": true, "USER": true, "ENTRYPOINT": true, "CMD": true, "LABEL": true, "ENV": true, "ARG": true, "WORKDIR": true, "EXPOSE": true, "STOPSIGNAL": true}

// dockerfileProblems returns what is wrong with a Dockerfile's final image.
func dockerfileProblems(src string) []string {
	stages, err := parseDockerfile(src)
	if err != nil {
		return []string{err.Error()}
	}
	var bad []string
	final := stages[len(stages)-1]
	if !shellFreeBaseRE.MatchString(final.base) {
		bad = append(bad, fmt.Sprintf("line %d: the final stage is based on %s; want scratch or distroless static (no shell, no git), pinned by digest", final.line, final.base))
	}
	var copies []dockerInstruction
	var user, entrypoint *dockerInstruction
	for i, in := range final.ins {
		if !finalStageAllowed[in.cmd] {
			bad = append(bad, fmt.Sprintf("line %d: %s in the final stage (it may only copy the binary in and say how to run it)", in.line, in.cmd))
		}
		switch in.cmd {
		case "COPY":
			copies = append(copies, in)
		case "USER":
			user = &final.ins[i]
		case "ENTRYPOINT":
			entrypoint = &final.ins[i]
		case "CMD":
			if in.exec == nil {
				bad = append(bad, fmt.Sprintf("line %d: CMD in shell form needs a shell; use the JSON form", in.line))
			}
		}
	}
	dest := ""
	if len(copies) != 1 {
		bad = append(bad, fmt.Sprintf("the final stage has %d COPY instructions; want exactly one, of the credrotate binary", len(copies)))
	} else {
		c := copies[0]
		from := strings.ToLower(c.flag("from"))
		parts := c.exec
		if parts == nil {
			parts = strings.Fields(c.args)
		}
		if len(parts) != 2 {
			bad = append(bad, fmt.Sprintf("line %d: COPY %s copies %d paths; want one file and its destination", c.line, c.args, len(parts)-1))
		} else {
			srcPath, dst := parts[0], parts[1]
			dest = dst
			if !strings.HasSuffix(srcPath, "/credrotate") || !strings.HasSuffix(dst, "/credrotate") || strings.ContainsAny(srcPath, "*?[") {
				bad = append(bad, fmt.Sprintf("line %d: COPY %s; want the credrotate binary alone (…/credrotate to …/credrotate)", c.line, c.args))
			}
			builder := -1
			for i, st := range stages[:len(stages)-1] {
				if st.name == from {
					builder = i
				}
			}
			if builder < 0 {
				bad = append(bad, fmt.Sprintf("line %d: COPY comes --from=%q, not an earlier stage of this file", c.line, from))
			} else if !buildsCredrotate(stages[builder], srcPath) {
				bad = append(bad, fmt.Sprintf("line %d: stage %s does not build ./cmd/credrotate (CGO off, -trimpath) into %s", c.line, from, srcPath))
			}
		}
	}
	if user == nil {
		bad = append(bad, "the final stage sets no USER: it would run as root")
	} else {
		uid, gid, hasGID := strings.Cut(user.args, ":")
		if n, err := strconv.Atoi(uid); err != nil || n == 0 {
			bad = append(bad, fmt.Sprintf("line %d: USER %s; want a numeric non-root uid (Kubernetes' runAsNonRoot can only verify a number)", user.line, user.args))
		}
		if n, err := strconv.Atoi(gid); hasGID && (err != nil || n == 0) {
			bad = append(bad, fmt.Sprintf("line %d: USER %s; want a numeric non-root gid", user.line, user.args))
		}
	}
	switch {
	case entrypoint == nil:
		bad = append(bad, "the final stage has no ENTRYPOINT")
	case entrypoint.exec == nil:
		bad = append(bad, fmt.Sprintf("line %d: ENTRYPOINT in shell form needs a shell; use [\"%s\"]", entrypoint.line, dest))
	case len(entrypoint.exec) == 0 || entrypoint.exec[0] != dest:
		bad = append(bad, fmt.Sprintf("line %d: ENTRYPOINT %v does not start the copied binary %s", entrypoint.line, entrypoint.exec, dest))
	}
	return bad
}

// buildsCredrotate reports whether a stage's RUN builds the production
// command (not the sandbox) into out with CGO off and -trimpath.
func buildsCredrotate(st dockerStage, out string) bool {
	for _, in := range st.ins {
		a := " " + in.args + " "
		if in.cmd == "RUN" && strings.Contains(a, " go build ") && strings.Contains(a, " -o "+out+" ") &&
			strings.Contains(a, " ./cmd/credrotate ") && strings.Contains(a, "CGO_ENABLED=0") &&
			strings.Contains(a, " -trimpath ") && !strings.Contains(a, "credrotate-sandbox") {
			return true
		}
	}
	return false
}

func TestDockerfileFinalImage(t *testing.T) {
	t.Parallel()
	src := string(readFile(t, "Dockerfile"))
	for _, msg := range dockerfileProblems(src) {
		t.Error("Dockerfile: " + msg)
	}
	stages, err := parseDockerfile(src)
	if err != nil {
		t.Fatal(err)
	}
	// The build stage copies what ./cmd/credrotate imports: cmd, internal and
	// pkg (a build without internal/ fails).
	var copied []string
	for _, in := range stages[0].ins {
		if in.cmd == "COPY" {
			copied = append(copied, strings.Fields(in.args)[0])
		}
	}
	for _, want := range []string{"cmd", "internal", "pkg"} {
		if !strings.Contains(" "+strings.Join(copied, " ")+" ", " "+want+" ") {
			t.Errorf("the build stage copies %v, not %s", copied, want)
		}
	}
}

// TestDockerfileChecksCatchMistakes: each way the final image could carry
// more than the binary, run as root or need a shell is refused.
func TestDockerfileChecksCatchMistakes(t *testing.T) {
	t.Parallel()
	good := string(readFile(t, "Dockerfile"))
	if len(dockerfileProblems(good)) > 0 {
		t.Skip("the Dockerfile itself fails; TestDockerfileFinalImage says why")
	}
	final := strings.LastIndex(good, "\nFROM ")
	head, tail := good[:final], good[final:]
	for _, tc := range []struct{ name, from, to string }{
		{"a shell in the final stage", "COPY --from=build", "RUN apk add git\nCOPY --from=build"},
		{"a debian final base", "gcr.io/distroless/static-debian12:nonroot@", "debian:12@"},
		{"root", "USER 65532:65532", "USER 0:0"},
		{"a user name", "USER 65532:65532", "USER nonroot"},
		{"no user", "USER 65532:65532\n", ""},
		{"the sandbox", "/out/credrotate /usr/local/bin/credrotate", "/out/credrotate-sandbox /usr/local/bin/credrotate-sandbox"},
		{"a whole folder", "/out/credrotate /usr/local/bin/credrotate", "/out/ /usr/local/bin/"},
		{"a second copy", "USER 65532", "COPY --from=build /usr/bin/git /usr/bin/git\nUSER 65532"},
		{"ADD", "USER 65532", "ADD https://example.com/tool /tool\nUSER 65532"},
		{"shell-form entrypoint", `ENTRYPOINT ["/usr/local/bin/credrotate"]`, "ENTRYPOINT /usr/local/bin/credrotate"},
		{"entrypoint of another program", `ENTRYPOINT ["/usr/local/bin/credrotate"]`, `ENTRYPOINT ["/bin/sh", "-c"]`},
		{"a heredoc", "USER 65532", "COPY <<EOF /x\nhi\nEOF\nUSER 65532"},
	} {
		mutated := head + strings.Replace(tail, tc.from, tc.to, 1)
		if mutated == good {
			t.Errorf("%s: the mutation did not apply (%q not in the final stage)", tc.name, tc.from)
			continue
		}
		if len(dockerfileProblems(mutated)) == 0 {
			t.Errorf("%s: accepted:\n%s", tc.name, mutated[final:])
		}
	}
	// The build stage must build the production command.
	for _, tc := range []struct{ name, from, to string }{
		{"building the sandbox", "./cmd/credrotate\n", "./cmd/credrotate-sandbox\n"},
		{"cgo on", "CGO_ENABLED=0 go build", "go build"},
		{"another output", "-o /out/credrotate", "-o /out/other"},
	} {
		mutated := strings.Replace(head, tc.from, tc.to, 1) + tail
		if mutated == good {
			t.Errorf("%s: the mutation did not apply", tc.name)
			continue
		}
		if len(dockerfileProblems(mutated)) == 0 {
			t.Errorf("%s: accepted", tc.name)
		}
	}
}

func TestParseDockerfile(t *testing.T) {
	t.Parallel()
	src := "# syntax=docker/dockerfile:1\n# escape=`\nARG V=1\nFROM a@sha256:x AS Build\nRUN echo one `\n  # a comment inside\n  two\nFROM scratch\nCOPY --from=build --chmod=0755 [\"/o/credrotate\", \"/credrotate\"]\n"
	stages, err := parseDockerfile(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(stages) != 2 || stages[0].name != "build" || stages[1].base != "scratch" {
		t.Fatalf("stages %+v", stages)
	}
	if run := stages[0].ins[0]; run.cmd != "RUN" || run.args != "echo one  two" {
		t.Errorf("continued RUN %+v", run)
	}
	c := stages[1].ins[0]
	if c.flag("from") != "build" || c.flag("chmod") != "0755" || len(c.exec) != 2 || c.exec[1] != "/credrotate" {
		t.Errorf("COPY %+v", c)
	}
	for _, bad := range []string{"RUN x\n", "FROM a b c d\n", "FROM a\n0PS\n"} {
		if _, err := parseDockerfile(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}
