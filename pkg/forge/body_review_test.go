package forge

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/extension"
	"github.com/yuin/goldmark/renderer/html"
)

// reviewState is a run of n keys in three environments, the old secrets
// expiring over the next weeks and retiring a week after the run.
func reviewState(n int) RotationState {
	run := time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)
	s := RotationState{Version: StateVersion, TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", Command: "credrotate renew --cron-mode",
		RotatedAt: run, RenewBefore: 30 * 24 * time.Hour, RunURL: "https://github.com/acme/gitops/actions/runs/42"}
	for i := 0; i < n; i++ {
		key := fmt.Sprintf("equifax.client_%04d", i)
		k := KeyState{ProviderKey: key, NewSecretID: fmt.Sprintf("sec-%016x", i), OldSecretID: fmt.Sprintf("sec-%016x", i+1<<20),
			Fingerprint: "sha256:0123456789abcdef", ExpiresAt: run.Add(180 * 24 * time.Hour),
			OldExpiresAt: run.Add(time.Duration(3+i%25) * 24 * time.Hour), RetiringUntil: run.Add(time.Duration(7+i%25) * 24 * time.Hour)}
		for _, env := range []string{"prod", "staging", "uat"} {
			k.Environments = append(k.Environments, EnvFile{Env: env, Path: "overlays/" + env + "/credentials/" + key + ".yaml"})
		}
		s.Keys = append(s.Keys, k)
	}
	return s
}

// gfm renders a body the way GitHub does: GitHub Flavored Markdown (tables,
// raw HTML for <details>), through goldmark.
func gfm(t *testing.T, body string) string {
	t.Helper()
	md := goldmark.New(goldmark.WithExtensions(extension.GFM), goldmark.WithRendererOptions(html.WithUnsafe()))
	var out bytes.Buffer
	if err := md.Convert([]byte(body), &out); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// TestRenderBodyForReview: rendered as GitHub Flavored Markdown, the body
// says what a reviewer must judge: the deadline to merge and roll out, one
// row per key (why it was rotated, the new secret, its expiry with days left,
// the environments listed), the files folded, and the run that opened it.
func TestRenderBodyForReview(t *testing.T) {
	t.Parallel()
	body := RenderBody(reviewState(4))
	out := gfm(t, body)
	for _, want := range []string{
		"<strong>Merge and roll out before 2026-12-09 05:00 UTC</strong> (in 7 days): then the first of the 4 secrets it replaces stops working.",
		"<td><code>equifax.client_0000</code></td>\n<td>replaces <code>sec-0000000000100000</code><br>expiring 2026-12-05 (in 3 days)</td>\n<td><code>sec-0000000000000000</code><br><code>sha256:0123456789abcdef</code></td>\n<td>2027-05-31 (in 180 days)</td>\n<td>prod, staging, uat</td>",
		"<summary>Files (12)</summary>",
		`<a href="https://github.com/acme/gitops/actions/runs/42">GitHub Actions run</a>`,
		"4 client secrets in prod, staging and uat",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the rendered body lacks %q:\n%s", want, out)
		}
	}
	if rows := strings.Count(out, "<tr>") - 1; rows != 4 {
		t.Errorf("%d table rows for 4 keys, want one per key:\n%s", rows, out)
	}
	// The file list is folded: no path outside the <details> block.
	before, _, _ := strings.Cut(out, "<details>")
	if strings.Contains(before, "overlays/") {
		t.Errorf("file paths outside the folded list:\n%s", before)
	}
	// Nothing the reviewer reads comes from the marker.
	if got, _, err := ParseState(body); err != nil || len(got.Keys) != 0 || !got.RotatedAt.IsZero() || got.RunURL != "" {
		t.Errorf("the marker carries what only the reviewer needs: %+v, %v", got, err)
	}
}

// TestRenderBodyManyKeys: at many keys the body summarises by environment
// and by when the replaced secrets expire, folds the table, and stays under
// GitHub's limit; what does not fit is cut with a pointer.
func TestRenderBodyManyKeys(t *testing.T) {
	t.Parallel()
	for _, n := range []int{21, 100, 1000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			t.Parallel()
			s := reviewState(n)
			body := RenderBody(s)
			if len(body) > MaxBodySize {
				t.Fatalf("%d characters, over GitHub's %d", len(body), MaxBodySize)
			}
			out := gfm(t, body)
			for _, want := range []string{
				fmt.Sprintf("<td>prod</td>\n<td>%d</td>", n),
				"<td>within 7 days</td>",
				fmt.Sprintf("<summary>All %d provider keys</summary>", n),
			} {
				if !strings.Contains(out, want) {
					t.Errorf("the rendered body lacks %q", want)
				}
			}
			before, _, _ := strings.Cut(out, "<details>")
			if strings.Contains(before, "equifax.client_0001") {
				t.Error("the per-key table is not folded")
			}
			if got, ok, err := ParseState(body); err != nil || !ok || got.TraceID != s.TraceID {
				t.Fatalf("ParseState: %+v, %v, %v", got, ok, err)
			}
		})
	}
}

// TestRenderBodyRunURL: only a plain http(s) URL becomes a link.
func TestRenderBodyRunURL(t *testing.T) {
	t.Parallel()
	s := reviewState(1)
	s.RunURL = "javascript:alert(1)"
	if strings.Contains(RenderBody(s), "javascript:") {
		t.Error("a non-http run URL reached the body")
	}
	s.RunURL = "https://example.com/x)](https://evil"
	if strings.Contains(RenderBody(s), "evil") {
		t.Error("a run URL broke out of its link")
	}
}
