package gitops

import (
	"fmt"
	"sort"
	"strings"
)

// CommitMessage is the message of a rotation commit. It names the provider
// keys, the environments and the trace id, and nothing else: it is built
// from names only, so no secret can reach it.
//
//	credrotate: rotate equifax.unique_client_id
//
//	Provider-Keys: equifax.unique_client_id
//	Environments: prod, staging, uat
//	Credrotate-Trace-Id: 4bf92f3577b34da6a3ce929d0e0e4736
func CommitMessage(keys []string, envs []string, traceID string) string {
	keys, envs = sortedUnique(keys), sortedUnique(envs)
	var subject string
	switch {
	case len(keys) == 0:
		subject = "credrotate: update sealed credentials"
	case len(keys) == 1:
		subject = "credrotate: rotate " + keys[0]
	default:
		subject = fmt.Sprintf("credrotate: rotate %d credentials", len(keys))
		if s := "credrotate: rotate " + strings.Join(keys, ", "); len(s) <= 72 {
			subject = s
		}
	}
	var b strings.Builder
	b.WriteString(subject)
	b.WriteString("\n\n")
	if len(keys) > 0 {
		fmt.Fprintf(&b, "Provider-Keys: %s\n", strings.Join(keys, ", "))
	}
	if len(envs) > 0 {
		fmt.Fprintf(&b, "Environments: %s\n", strings.Join(envs, ", "))
	}
	if traceID != "" {
		fmt.Fprintf(&b, "Credrotate-Trace-Id: %s\n", oneLine(traceID))
	}
	return b.String()
}

func sortedUnique(in []string) []string {
	seen := map[string]bool{}
	out := make([]string, 0, len(in))
	for _, s := range in {
		s = oneLine(s)
		if s == "" || seen[s] {
			continue
		}
		seen[s] = true
		out = append(out, s)
	}
	sort.Strings(out)
	return out
}

func oneLine(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if r == '\n' || r == '\r' {
			return ' '
		}
		return r
	}, s))
}
