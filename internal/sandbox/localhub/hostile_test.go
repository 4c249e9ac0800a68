package localhub_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/credrotate/credrotate/internal/sandbox/localhub"
)

func TestForeignPRsRenderLikeGitHub(t *testing.T) {
	t.Parallel()
	h := newHub(t, localhub.Options{Token: testToken})
	ctx := context.Background()
	gh := h.client(testToken)
	h.commit(t, "credrotate/insider", "rotate", map[string]string{"x.yaml": "1\n"})
	for _, f := range []localhub.ForeignPR{
		{Branch: "credrotate/gone", Title: "gone", ForkGone: true},
		{Branch: "credrotate/fork", Title: "fork", Fork: "mallory/gitops"},
		{Branch: "credrotate/insider", Title: "insider", User: "insider"},
	} {
		if _, err := h.OpenForeignPR(ctx, f); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.OpenForeignPR(ctx, localhub.ForeignPR{Branch: "credrotate/missing", Title: "x"}); err == nil {
		t.Error("a foreign pull request from a missing branch of this repository was opened")
	}
	for n, want := range map[int]struct{ repo, user string }{1: {"", "mallory"}, 2: {"mallory/gitops", "mallory"}, 3: {"acme/gitops", "insider"}} {
		pr, _, err := gh.PullRequests.Get(ctx, "acme", "gitops", n)
		if err != nil {
			t.Fatal(err)
		}
		if (pr.GetHead().GetRepo() == nil) != (want.repo == "") || pr.GetHead().GetRepo().GetFullName() != want.repo || pr.GetUser().GetLogin() != want.user {
			t.Errorf("#%d head.repo = %v, user %s; want %q, %s", n, pr.GetHead().GetRepo().GetFullName(), pr.GetUser().GetLogin(), want.repo, want.user)
		}
		if pr.GetState() != "open" {
			t.Errorf("#%d is %s: a fork's branch is not this repository's, and must not close it", n, pr.GetState())
		}
	}
	// head=acme:branch finds only this repository's branches.
	list, _, err := gh.PullRequests.List(ctx, "acme", "gitops", nil)
	if err != nil || len(list) != 3 {
		t.Fatalf("list = %d, %v", len(list), err)
	}
}

func TestHostileModes(t *testing.T) {
	t.Parallel()
	h := newHub(t, localhub.Options{Token: testToken})
	get := func(path string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, h.ts.URL+path, nil)
		req.Header.Set("Authorization", "token "+testToken)
		resp, err := (&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	h.SetHostile(localhub.Hostile{RedirectTo: "http://evil.example"})
	if r := get("/repos/acme/gitops/pulls?state=open"); r.StatusCode != http.StatusTemporaryRedirect || r.Header.Get("Location") != "http://evil.example/repos/acme/gitops/pulls?state=open" {
		t.Errorf("redirect: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
	h.SetHostile(localhub.Hostile{EndlessNext: true})
	for _, p := range []string{"/repos/acme/gitops/pulls?page=7", "/repos/acme/gitops/commits/main/check-runs?page=7"} {
		if link := get(p).Header.Get("Link"); !strings.Contains(link, "page=8") || !strings.Contains(link, `rel="next"`) {
			t.Errorf("%s: Link = %q, want a next page 8", p, link)
		}
	}
	h.SetHostile(localhub.Hostile{HugeBody: 3 << 20, Path: "/pulls"})
	r := get("/repos/acme/gitops/pulls")
	n, _ := io.Copy(io.Discard, r.Body)
	if n != 3<<20 || r.ContentLength != -1 {
		t.Errorf("huge body: %d bytes, Content-Length %d", n, r.ContentLength)
	}
	if r := get("/repos/acme/gitops"); r.StatusCode != http.StatusOK || r.ContentLength > 1<<20 {
		t.Errorf("Path limits the misbehaviour: %d, %d bytes", r.StatusCode, r.ContentLength)
	}
	h.SetHostile(localhub.Hostile{})
	if link := get("/repos/acme/gitops/pulls").Header.Get("Link"); link != "" {
		t.Errorf("cleared, but Link = %q", link)
	}
}
