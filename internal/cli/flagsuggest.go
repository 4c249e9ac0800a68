package cli

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// flagError is every command's FlagErrorFunc: a usage error (exit 2) that,
// for an unknown flag, suggests the command's nearest flags. cobra
// suggests only commands.
func flagError(cmd *cobra.Command, err error) error {
	msg := err.Error()
	name, ok := strings.CutPrefix(msg, "unknown flag: --")
	if !ok {
		return usageError(err)
	}
	name, _, _ = strings.Cut(name, "=")
	if s := nearestFlags(cmd, name); len(s) > 0 {
		return usageError(fmt.Errorf("%w\ndid you mean --%s? (%s --help lists the flags)", err, strings.Join(s, " or --"), cmd.CommandPath()))
	}
	return usageError(fmt.Errorf("%w (%s --help lists the flags)", err, cmd.CommandPath()))
}

// nearestFlags returns the flags of cmd whose names start with name, or
// else those within a small edit distance of it, nearest first.
func nearestFlags(cmd *cobra.Command, name string) []string {
	type cand struct {
		name string
		dist int
	}
	var prefix, near []cand
	seen := map[string]bool{}
	visit := func(f *pflag.Flag) {
		if f.Hidden || seen[f.Name] {
			return
		}
		seen[f.Name] = true
		if name != "" && strings.HasPrefix(f.Name, name) {
			prefix = append(prefix, cand{f.Name, len(f.Name) - len(name)})
			return
		}
		if len(f.Name) >= 3 && strings.HasPrefix(name, f.Name) {
			prefix = append(prefix, cand{f.Name, len(name) - len(f.Name)})
			return
		}
		if d := levenshtein(name, f.Name); d <= maxDistance(name) {
			near = append(near, cand{f.Name, d})
		}
	}
	cmd.Flags().VisitAll(visit)
	cmd.InheritedFlags().VisitAll(visit)
	pick := prefix
	if len(pick) == 0 {
		pick = near
	}
	sort.Slice(pick, func(i, j int) bool {
		if pick[i].dist != pick[j].dist {
			return pick[i].dist < pick[j].dist
		}
		return pick[i].name < pick[j].name
	})
	var out []string
	for i, c := range pick {
		if i == 3 {
			break
		}
		out = append(out, c.name)
	}
	return out
}

// maxDistance is how many edits a misspelt flag name may be from the
// real one: two, or a third of a long name.
func maxDistance(name string) int {
	return max(2, len(name)/3)
}

// levenshtein is the edit distance between a and b (insertions, deletions
// and substitutions of bytes).
func levenshtein(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
