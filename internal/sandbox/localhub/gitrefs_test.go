package localhub

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"
)

// pkt frames s as a git pkt-line.
func pkt(s string) string { return fmt.Sprintf("%04x", len(s)+4) + s }

func TestPushedRefs(t *testing.T) {
	t.Parallel()
	z, h := strings.Repeat("0", 40), strings.Repeat("a", 40)
	cases := []struct {
		name, body string
		refs       []string
		other      bool
	}{
		{"lease", pkt(z+" "+h+" refs/credrotate/lease\x00report-status\n") + "0000PACK...", []string{"refs/credrotate/lease"}, true},
		{"branch", pkt(z+" "+h+" refs/heads/credrotate/run\x00report-status\n") + "0000PACK", []string{"refs/heads/credrotate/run"}, false},
		{"both", pkt(z+" "+h+" refs/credrotate/lease\x00caps\n") + pkt(z+" "+h+" refs/heads/x\n") + "0000", []string{"refs/credrotate/lease", "refs/heads/x"}, false},
		{"probe", "0000", nil, false},
		{"garbage", "zzzz", nil, false},
		{"short", "00", nil, false},
		{"bad command", pkt("nonsense\n") + "0000", nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			refs, body := pushedRefs(io.NopCloser(strings.NewReader(tc.body)))
			if !slices.Equal(refs, tc.refs) || onlyOtherRefs(refs) != tc.other {
				t.Fatalf("refs %q (other %v), want %q (%v)", refs, onlyOtherRefs(refs), tc.refs, tc.other)
			}
			if b, _ := io.ReadAll(body); string(b) != tc.body {
				t.Fatalf("the body changed: %q", b)
			}
		})
	}
}
