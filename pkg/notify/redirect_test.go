package notify

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/credrotate/credrotate/pkg/credential/redirect"
)

// TestWebhookRedirects: the webhook URL is a credential and the notice is
// the run's business; a redirect to another host, or one that would post
// the notice again (307/308), is refused before anything reaches the new
// location, and the error names neither URL's path.
func TestWebhookRedirects(t *testing.T) {
	t.Parallel()
	var stolen atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { stolen.Add(1) }))
	t.Cleanup(other.Close)
	var landed atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/hook/T0KEN-away":
			http.Redirect(w, r, other.URL+"/collect", http.StatusFound)
		case "/hook/T0KEN-away307":
			http.Redirect(w, r, other.URL+"/collect", http.StatusTemporaryRedirect)
		case "/hook/T0KEN-repost":
			http.Redirect(w, r, "/hook/T0KEN-landed", http.StatusPermanentRedirect)
		default:
			landed.Add(1)
		}
	}))
	t.Cleanup(srv.Close)
	e := Event{Status: "failure", TraceID: "abc123"}
	for _, path := range []string{"/hook/T0KEN-away", "/hook/T0KEN-away307", "/hook/T0KEN-repost"} {
		err := (Webhook{URL: srv.URL + path}).Notify(context.Background(), e)
		if !errors.Is(err, redirect.ErrRefused) {
			t.Fatalf("%s: want the redirect refused, got %v", path, err)
		}
		if strings.Contains(err.Error(), "T0KEN") || strings.Contains(err.Error(), "collect") {
			t.Errorf("%s: the error quotes a path: %v", path, err)
		}
	}
	if n := stolen.Load(); n != 0 {
		t.Errorf("the other host received %d notices", n)
	}
	if n := landed.Load(); n != 0 {
		t.Errorf("the notice was posted again %d times", n)
	}
}
