package github

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credrotate/credrotate/pkg/forge"
)

const testToken = "ghp_unit0123456789abcdef"

// testLogin is the account testToken belongs to (GET /user).
const testLogin = "credrotate-bot"

// setup is go-github's test pattern: a mux behind an httptest server and a
// client pointed at it.
func setup(t *testing.T, mod func(*Options)) (*Client, *http.ServeMux) {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /user", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"login":%q}`, testLogin)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	opts := Options{APIURL: srv.URL + "/", Owner: "o", Repo: "r", Token: testToken,
		RetryBackoff: time.Millisecond, MaxRetryWait: 3 * time.Second, Logf: t.Logf}
	if mod != nil {
		mod(&opts)
	}
	c, err := New(context.Background(), opts)
	if err != nil {
		t.Fatal(err)
	}
	return c, mux
}

func testMethod(t *testing.T, r *http.Request, want string) {
	t.Helper()
	if r.Method != want {
		t.Errorf("method = %s, want %s", r.Method, want)
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+testToken {
		t.Errorf("Authorization = %q", got)
	}
}

func TestEndpoints(t *testing.T) {
	for _, tc := range []struct{ in, rest, gql string }{
		{"", "https://api.github.com/", "https://api.github.com/graphql"},
		{"https://api.github.com", "https://api.github.com/", "https://api.github.com/graphql"},
		{"https://ghe.example.com/api/v3/", "https://ghe.example.com/api/v3/", "https://ghe.example.com/api/graphql"},
		{"https://ghe.example.com/api/v3", "https://ghe.example.com/api/v3/", "https://ghe.example.com/api/graphql"},
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8080/", "http://127.0.0.1:8080/graphql"},
	} {
		rest, gql, _, err := endpoints(tc.in)
		if err != nil || rest != tc.rest || gql != tc.gql {
			t.Errorf("endpoints(%q) = %s, %s, %v; want %s, %s", tc.in, rest, gql, err, tc.rest, tc.gql)
		}
	}
	for _, bad := range []string{"not a url", "https://user:pw@ghe.example.com/api/v3/"} {
		if _, _, _, err := endpoints(bad); err == nil {
			t.Errorf("endpoints(%q): want error", bad)
		}
	}
}

func TestFindOpenPR(t *testing.T) {
	c, mux := setup(t, nil)
	mux.HandleFunc("/repos/o/r/pulls", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, "GET")
		if got := r.URL.Query().Get("head"); got != "o:credrotate/k" {
			t.Errorf("head = %q", got)
		}
		fmt.Fprint(w, `[{"number":3,"node_id":"PR_3","state":"open","html_url":"https://x/pull/3","title":"t","head":{"ref":"credrotate/k","sha":"abc","repo":{"full_name":"fork/r"}},"base":{"ref":"main"}},
		               {"number":4,"node_id":"PR_4","state":"open","html_url":"https://x/pull/4","title":"t","head":{"ref":"credrotate/k","sha":"def","repo":{"full_name":"o/r"}},"base":{"ref":"main"},"user":{"login":"credrotate-bot"},"labels":[{"name":"credentials"}]}]`)
	})
	pr, err := c.FindOpenPR(context.Background(), "credrotate/k")
	if err != nil || pr == nil || pr.Number != 4 || pr.HeadSHA != "def" || pr.NodeID != "PR_4" || pr.Labels[0] != "credentials" {
		t.Fatalf("FindOpenPR = %+v, %v (a fork's PR must not count)", pr, err)
	}
}

func TestRetries(t *testing.T) {
	for _, tc := range []struct {
		name    string
		fail    func(w http.ResponseWriter, n int32)
		wantErr func(error) bool
		calls   int32
	}{
		{"429 with Retry-After", func(w http.ResponseWriter, n int32) {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
		}, nil, 2},
		{"403 primary limit until reset", func(w http.ResponseWriter, n int32) {
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Second).Unix(), 10))
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"message":"API rate limit exceeded"}`)
		}, nil, 2},
		{"503", func(w http.ResponseWriter, n int32) { w.WriteHeader(http.StatusServiceUnavailable) }, nil, 2},
		{"wait longer than the cap", func(w http.ResponseWriter, n int32) {
			w.Header().Set("X-RateLimit-Limit", "5000")
			w.Header().Set("X-RateLimit-Remaining", "0")
			w.Header().Set("X-RateLimit-Reset", strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10))
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"message":"API rate limit exceeded for user","documentation_url":"https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"}`)
		}, func(err error) bool { return errors.Is(err, forge.ErrRateLimited) }, 1},
		{"secondary limit longer than the cap", func(w http.ResponseWriter, n int32) {
			w.Header().Set("Retry-After", "3600")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"message":"You have exceeded a secondary rate limit","documentation_url":"https://docs.github.com/rest/overview/rate-limits-for-the-rest-api#about-secondary-rate-limits"}`)
		}, func(err error) bool { return errors.Is(err, forge.ErrRateLimited) }, 1},
		{"403 permission is not retried", func(w http.ResponseWriter, n int32) {
			w.Header().Set("X-Accepted-GitHub-Permissions", "pull_requests=read")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprint(w, `{"message":"Resource not accessible by integration"}`)
		}, func(err error) bool {
			var pe *PermissionError
			return errors.As(err, &pe) && pe.Permission == "pull_requests=read" && strings.Contains(err.Error(), "pull_requests=read")
		}, 1},
		{"500 forever", func(w http.ResponseWriter, n int32) {
			if n <= 10 {
				w.WriteHeader(http.StatusInternalServerError)
			}
		}, func(err error) bool { return err != nil }, 4},
		{"malformed body", func(w http.ResponseWriter, n int32) {
			fmt.Fprint(w, `[{"number": "not a number"`)
		}, func(err error) bool { return err != nil }, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, mux := setup(t, nil)
			var calls atomic.Int32
			mux.HandleFunc("/repos/o/r/pulls", func(w http.ResponseWriter, r *http.Request) {
				n := calls.Add(1)
				if n == 1 || tc.calls == 4 || tc.name == "malformed body" {
					tc.fail(w, n)
					return
				}
				fmt.Fprint(w, `[]`)
			})
			_, err := c.ListOpenPRs(context.Background(), "credrotate/")
			if tc.wantErr == nil && err != nil {
				t.Fatalf("err = %v", err)
			}
			if tc.wantErr != nil && !tc.wantErr(err) {
				t.Fatalf("err = %v", err)
			}
			if got := calls.Load(); got != tc.calls {
				t.Errorf("calls = %d, want %d", got, tc.calls)
			}
			if err != nil && strings.Contains(err.Error(), testToken) {
				t.Errorf("error leaks the token: %v", err)
			}
		})
	}
}

func TestPOSTNotRetriedOn5xx(t *testing.T) {
	c, mux := setup(t, nil)
	var calls atomic.Int32
	mux.HandleFunc("/repos/o/r/issues", func(w http.ResponseWriter, r *http.Request) {
		if r.Method == "GET" {
			fmt.Fprint(w, `[]`)
			return
		}
		calls.Add(1)
		w.WriteHeader(http.StatusBadGateway)
	})
	_, err := c.RaiseAlert(context.Background(), forge.Alert{Key: "k", Title: "t", Body: "b"})
	if err == nil || calls.Load() != 1 {
		t.Fatalf("err = %v, POST calls = %d; a POST that may have landed must not be resent", err, calls.Load())
	}
}

func TestTimeout(t *testing.T) {
	c, mux := setup(t, func(o *Options) { o.HTTPClient = &http.Client{Timeout: 200 * time.Millisecond}; o.MaxRetries = -1 })
	mux.HandleFunc("/repos/o/r/pulls/1", func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	if _, err := c.GetPR(context.Background(), 1); err == nil {
		t.Fatal("want a timeout error")
	}
}

func TestEnableAutoMergeGraphQL(t *testing.T) {
	c, mux := setup(t, nil)
	var got struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	mux.HandleFunc("/graphql", func(w http.ResponseWriter, r *http.Request) {
		testMethod(t, r, "POST")
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		fmt.Fprint(w, `{"data":{"enablePullRequestAutoMerge":{"pullRequest":{"number":5,"autoMergeRequest":{"enabledAt":"2026-01-01T00:00:00Z","mergeMethod":"SQUASH"}}}}}`)
	})
	if _, err := c.EnableAutoMerge(context.Background(), forge.PR{Number: 5, NodeID: "PR_5", HeadSHA: "abc"}, "squash"); err != nil {
		t.Fatal(err)
	}
	if got.Query != EnableAutoMergeMutation || got.Variables["pullRequestId"] != "PR_5" || got.Variables["mergeMethod"] != "SQUASH" || got.Variables["expectedHeadOid"] != "abc" {
		t.Fatalf("sent %+v", got)
	}

	t.Run("graphql rate limit", func(t *testing.T) {
		c, mux := setup(t, nil)
		mux.HandleFunc("/graphql", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"errors":[{"type":"RATE_LIMITED","message":"API rate limit exceeded for user ID 1."}]}`)
		})
		_, err := c.EnableAutoMerge(context.Background(), forge.PR{Number: 5, NodeID: "PR_5"}, "merge")
		if !errors.Is(err, forge.ErrRateLimited) {
			t.Fatalf("err = %v, want ErrRateLimited", err)
		}
	})
	t.Run("not allowed", func(t *testing.T) {
		c, mux := setup(t, nil)
		mux.HandleFunc("/graphql", func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprint(w, `{"data":{"enablePullRequestAutoMerge":null},"errors":[{"type":"UNPROCESSABLE","message":"Auto merge is not allowed for this repository"}]}`)
		})
		_, err := c.EnableAutoMerge(context.Background(), forge.PR{Number: 5, NodeID: "PR_5"}, "merge")
		if err == nil || !strings.Contains(err.Error(), "strategy: direct") {
			t.Fatalf("err = %v, want a hint at the direct strategy", err)
		}
	})
}

func TestMergeIfGreenChecks(t *testing.T) {
	for _, tc := range []struct {
		name, status, runs string
		wantMerged         bool
		wantErr            error
	}{
		{"no checks at all", `{"state":"pending","total_count":0,"statuses":[]}`, `{"total_count":0,"check_runs":[]}`, true, nil},
		{"all green", `{"state":"success","total_count":1,"statuses":[{"state":"success"}]}`, `{"total_count":2,"check_runs":[{"name":"a","status":"completed","conclusion":"success"},{"name":"b","status":"completed","conclusion":"skipped"}]}`, true, nil},
		{"status pending", `{"state":"pending","total_count":1,"statuses":[{"state":"pending"}]}`, `{"total_count":0,"check_runs":[]}`, false, nil},
		{"run in progress", `{"state":"success","total_count":0}`, `{"total_count":1,"check_runs":[{"name":"a","status":"in_progress"}]}`, false, nil},
		{"run failed", `{"state":"success","total_count":0}`, `{"total_count":1,"check_runs":[{"name":"a","status":"completed","conclusion":"failure"}]}`, false, forge.ErrChecksFailed},
		{"status failed", `{"state":"failure","total_count":1,"statuses":[{"state":"failure"}]}`, `{"total_count":0,"check_runs":[]}`, false, forge.ErrChecksFailed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, mux := setup(t, nil)
			mux.HandleFunc("/repos/o/r/pulls/9", func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprint(w, `{"number":9,"state":"open","head":{"ref":"b","sha":"abc","repo":{"full_name":"o/r"}},"base":{"ref":"main"},"user":{"login":"credrotate-bot"}}`)
			})
			mux.HandleFunc("/repos/o/r/commits/abc/status", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, tc.status) })
			mux.HandleFunc("/repos/o/r/commits/abc/check-runs", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, tc.runs) })
			mux.HandleFunc("/repos/o/r/pulls/9/merge", func(w http.ResponseWriter, r *http.Request) {
				testMethod(t, r, "PUT")
				var body map[string]any
				_ = json.NewDecoder(r.Body).Decode(&body)
				if body["sha"] != "abc" || body["merge_method"] != "rebase" {
					t.Errorf("merge body = %v", body)
				}
				fmt.Fprint(w, `{"merged":true,"sha":"m1"}`)
			})
			merged, err := c.MergeIfGreen(context.Background(), forge.PR{Number: 9, HeadSHA: "abc"}, "rebase")
			if merged != tc.wantMerged || !errors.Is(err, tc.wantErr) {
				t.Fatalf("merged=%v err=%v, want %v %v", merged, err, tc.wantMerged, tc.wantErr)
			}
		})
	}
}

func TestNewValidates(t *testing.T) {
	for _, opts := range []Options{
		{Owner: "o", Repo: "r"},
		{Owner: "o", Token: "t"},
		{Owner: "o", Repo: "r", App: &AppAuth{ID: 1, InstallationID: 2, PrivateKeyPEM: []byte("nope")}},
		{Owner: "o", Repo: "r", Token: "t", APIURL: "::"},
	} {
		if _, err := New(context.Background(), opts); err == nil {
			t.Errorf("New(%+v): want error", opts)
		}
	}
}
