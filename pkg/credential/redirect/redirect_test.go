package redirect

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// recorder is a server that records what reaches it.
type recorder struct {
	mu   sync.Mutex
	hits []string
}

func (rc *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.hits = append(rc.hits, r.Method+" "+r.URL.Path+" auth="+r.Header.Get("Authorization")+" body="+string(b))
	rc.mu.Unlock()
	_, _ = io.WriteString(w, "landed")
}

func (rc *recorder) count() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.hits)
}

func TestPolicy(t *testing.T) {
	t.Parallel()
	other := &recorder{}
	otherSrv := httptest.NewServer(other)
	t.Cleanup(otherSrv.Close)

	var self string
	mux := http.NewServeMux()
	mux.HandleFunc("/away", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, otherSrv.URL+"/stolen?x=1", http.StatusFound)
	})
	mux.HandleFunc("/away307", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, otherSrv.URL+"/stolen", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/here", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/landing", http.StatusFound)
	})
	mux.HandleFunc("/here307", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/landing", http.StatusTemporaryRedirect)
	})
	mux.HandleFunc("/here308", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/landing", http.StatusPermanentRedirect)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	mux.HandleFunc("/down", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://"+strings.TrimPrefix(self, "https://")+"/landing", http.StatusMovedPermanently)
	})
	landed := &recorder{}
	mux.Handle("/landing", landed)

	plain := httptest.NewServer(mux)
	t.Cleanup(plain.Close)
	tlsSrv := httptest.NewTLSServer(mux)
	t.Cleanup(tlsSrv.Close)
	self = tlsSrv.URL

	for _, tc := range []struct {
		name   string
		base   string
		method string
		path   string
		body   string
		reason string // "" means followed
	}{
		{"same origin GET", plain.URL, http.MethodGet, "/here", "", ""},
		{"same origin 307 without a body", plain.URL, http.MethodGet, "/here307", "", ""},
		{"same origin 302 POST becomes GET", plain.URL, http.MethodPost, "/here", "client_secret=s3cret", ""},
		{"another host", plain.URL, http.MethodGet, "/away", "", ReasonOtherOrigin},
		{"another host, 307 with a body", plain.URL, http.MethodPost, "/away307", "client_secret=s3cret", ReasonOtherOrigin},
		{"same origin 307 with a body", plain.URL, http.MethodPost, "/here307", "client_secret=s3cret", ReasonResendBody},
		{"same origin 308 with a body", plain.URL, http.MethodPost, "/here308", "<wsse:Password>s3cret</wsse:Password>", ReasonResendBody},
		{"https to http on the same host", tlsSrv.URL, http.MethodGet, "/down", "", ReasonDowngrade},
		{"a loop", plain.URL, http.MethodGet, "/loop", "", ReasonTooMany},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := Client(tlsSrv.Client())
			before := other.count()
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			req, err := http.NewRequest(tc.method, tc.base+tc.path, body)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer tok-123456789")
			resp, err := client.Do(req)
			if tc.reason == "" {
				if err != nil {
					t.Fatalf("want the redirect followed, got %v", err)
				}
				resp.Body.Close()
				return
			}
			if err == nil {
				resp.Body.Close()
				t.Fatalf("want the redirect refused (%s), got HTTP %d", tc.reason, resp.StatusCode)
			}
			var re *RefusedError
			if !errors.Is(err, ErrRefused) || !errors.As(err, &re) || re.Reason != tc.reason {
				t.Fatalf("want a RefusedError for %q, got %v", tc.reason, err)
			}
			if strings.Contains(re.Error(), "x=1") {
				t.Errorf("the refusal quotes the Location's query: %v", re)
			}
			if n := other.count() - before; n != 0 {
				t.Errorf("the other host received %d requests", n)
			}
		})
	}
	if landed.count() == 0 {
		t.Fatal("no followed redirect landed")
	}
}

func TestClientKeepsItsOwnCheck(t *testing.T) {
	t.Parallel()
	stop := errors.New("own check")
	c := Client(&http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return stop }})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/a" {
			http.Redirect(w, r, "/b", http.StatusFound)
		}
	}))
	t.Cleanup(srv.Close)
	_, err := c.Get(srv.URL + "/a")
	if !errors.Is(err, stop) {
		t.Fatalf("want the client's own CheckRedirect after the policy, got %v", err)
	}
	if Client(nil).CheckRedirect == nil {
		t.Fatal("a nil client gets no policy")
	}
}

func TestOrigin(t *testing.T) {
	t.Parallel()
	for _, tc := range [][2]string{
		{"https://API.example.com/x", "https://api.example.com:443"},
		{"https://api.example.com:443/y", "https://api.example.com:443"},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080"},
		{"http://[::1]/", "http://[::1]:80"},
	} {
		u, _ := http.NewRequest(http.MethodGet, tc[0], nil)
		if got := Origin(u.URL); got != tc[1] {
			t.Errorf("Origin(%s) = %s, want %s", tc[0], got, tc[1])
		}
	}
}
