package github

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/credrotate/credrotate/pkg/forge"
)

func prJSON(n int, branch string) string {
	return fmt.Sprintf(`{"number":%d,"state":"open","head":{"ref":%q,"sha":"s","repo":{"full_name":"o/r"}},"base":{"ref":"main"},"user":{"login":%q}}`, n, branch, testLogin)
}

func TestPaginationCaps(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		mod      func(*Options)
		next     func(page int) int // 0: no next page
		perPage  int
		wantErr  bool
		wantLoop bool
	}{
		{"three pages end", nil, func(p int) int {
			if p < 3 {
				return p + 1
			}
			return 0
		}, 2, false, false},
		{"page cap", func(o *Options) { o.MaxPages = 4 }, func(p int) int { return p + 1 }, 1, true, false},
		{"item cap", func(o *Options) { o.MaxItems = 5 }, func(p int) int { return p + 1 }, 3, true, false},
		{"one oversized page", func(o *Options) { o.MaxItems = 5 }, func(int) int { return 0 }, 6, true, false},
		{"next points back", nil, func(p int) int { return 1 }, 1, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, mux := setup(t, tc.mod)
			var calls atomic.Int32
			mux.HandleFunc("/repos/o/r/pulls", func(w http.ResponseWriter, r *http.Request) {
				calls.Add(1)
				page := 1
				fmt.Sscan(r.URL.Query().Get("page"), &page)
				if n := tc.next(page); n > 0 {
					w.Header().Set("Link", fmt.Sprintf(`<http://%s/repos/o/r/pulls?page=%d>; rel="next"`, r.Host, n))
				}
				items := make([]string, tc.perPage)
				for i := range items {
					items[i] = prJSON(page*100+i, "credrotate/x")
				}
				fmt.Fprint(w, "["+strings.Join(items, ",")+"]")
			})
			prs, err := c.ListOpenPRs(t.Context(), "credrotate/")
			if !tc.wantErr {
				if err != nil || len(prs) != 6 {
					t.Fatalf("ListOpenPRs = %d, %v; want 6 PRs", len(prs), err)
				}
				return
			}
			var lt *ListTooLongError
			if !errors.Is(err, forge.ErrTooManyPages) || !errors.As(err, &lt) || lt.Loop != tc.wantLoop {
				t.Fatalf("err = %v, want ErrTooManyPages (loop=%v)", err, tc.wantLoop)
			}
			if calls.Load() > 5 {
				t.Errorf("%d calls, want the cap to stop it", calls.Load())
			}
		})
	}
}

func TestBodyCap(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		size    int
		declare bool
		wantErr bool
	}{
		{"under the cap", 900, false, false},
		{"at the cap exactly", 1024, false, false},
		{"one byte over, streamed", 1025, false, true},
		{"over, declared", 4096, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c, mux := setup(t, func(o *Options) { o.MaxResponseBytes = 1024; o.MaxRetries = -1 })
			mux.HandleFunc("/repos/o/r/pulls/1", func(w http.ResponseWriter, r *http.Request) {
				head := `{"number":1,"state":"open","title":"`
				body := head + strings.Repeat("x", tc.size-len(head)-2) + `"}`
				if tc.declare {
					w.Header().Set("Content-Length", fmt.Sprint(len(body)))
				}
				fmt.Fprint(w, body)
				if !tc.declare {
					w.(http.Flusher).Flush() // no Content-Length
				}
			})
			_, err := c.GetPR(t.Context(), 1)
			if tc.wantErr != (err != nil) {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				var tl *ResponseTooLargeError
				if !errors.Is(err, forge.ErrResponseTooLarge) || !errors.As(err, &tl) || tl.Limit != 1024 {
					t.Fatalf("err = %v, want a ResponseTooLargeError at 1024 bytes", err)
				}
			}
		})
	}
}

// A redirect within the API's origin (GitHub's 301 for a renamed
// repository) is followed, with the token; another port is another origin.
func TestRedirectWithinTheOrigin(t *testing.T) {
	t.Parallel()
	c, mux := setup(t, nil)
	mux.HandleFunc("/repos/o/r/pulls/1", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/repositories/42/pulls/1", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/repositories/42/pulls/1", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, "GET")
		fmt.Fprint(w, prJSON(1, "credrotate/x"))
	})
	if pr, err := c.GetPR(t.Context(), 1); err != nil || pr.Number != 1 {
		t.Fatalf("GetPR through a same-origin redirect = %+v, %v", pr, err)
	}

	other, otherMux := setup(t, nil)
	otherMux.HandleFunc("/repos/o/r/pulls/2", func(w http.ResponseWriter, r *http.Request) {
		t.Errorf("the other origin was reached with Authorization %q", r.Header.Get("Authorization"))
	})
	mux.HandleFunc("/repos/o/r/pulls/2", func(w http.ResponseWriter, r *http.Request) {
		// the same host, another port: another origin
		http.Redirect(w, r, strings.TrimSuffix(other.gh.BaseURL.String(), "/")+"/repos/o/r/pulls/2", http.StatusTemporaryRedirect)
	})
	_, err := c.GetPR(t.Context(), 2)
	var re *RedirectError
	if !errors.Is(err, forge.ErrRedirectRefused) || !errors.As(err, &re) {
		t.Fatalf("err = %v, want a RedirectError", err)
	}
	if strings.Contains(err.Error(), testToken) {
		t.Fatalf("error carries the token: %v", err)
	}
}
