package forge

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestRenderBodyFitsGitHub: a pull request of many keys stays under
// GitHub's body limit, and its marker still identifies the run.
func TestRenderBodyFitsGitHub(t *testing.T) {
	for _, n := range []int{1, 10, 100, 1000, 3000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			s := RotationState{Version: StateVersion, TraceID: "0123456789abcdef", Command: "credrotate renew --cron-mode"}
			for i := 0; i < n; i++ {
				key := fmt.Sprintf("equifax.a_rather_long_provider_key_name_%04d", i)
				k := KeyState{ProviderKey: key, ClientID: fmt.Sprintf("0oa%012d", i), NewSecretID: fmt.Sprintf("sec-%016x", i), OldSecretID: fmt.Sprintf("sec-%016x", i+1<<20),
					Fingerprint: "sha256:0123456789abcdef", ExpiresAt: time.Date(2027, 5, 24, 0, 0, 0, 0, time.UTC)}
				for _, env := range []string{"prod", "staging", "uat"} {
					k.Environments = append(k.Environments, EnvFile{Env: env, Path: "overlays/" + env + "/credentials/" + key + ".yaml"})
				}
				s.Keys = append(s.Keys, k)
			}
			body := RenderBody(s)
			if len(body) > MaxBodySize {
				t.Fatalf("body of %d keys is %d characters, over GitHub's %d", n, len(body), MaxBodySize)
			}
			got, found, err := ParseState(body)
			if err != nil || !found || got.TraceID != s.TraceID {
				t.Fatalf("ParseState: %v found=%v %+v", err, found, got)
			}
			if n >= 100 && !strings.Contains(body, fmt.Sprintf("<summary>All %d provider keys</summary>", n)) {
				t.Error("a long table is not folded under a summary")
			}
		})
	}
}
