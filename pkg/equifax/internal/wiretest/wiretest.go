// Package wiretest holds what the REST and SOAP client tests share: the
// canary credentials, scripted answers for their fake servers, and the
// checks that no secret reaches an error or a log line. It is imported by
// tests only.
package wiretest

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	logtest "github.com/sirupsen/logrus/hooks/test"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/equifax"
)

// The canary values of the fake servers: none of them may show up in an
// error or a log line.
const (
	ClientID  = "0oa-test"
	Secret    = "canary-secret-Hq7ZpX"
	Token     = "canary-token-Wd2LkM"
	NewSecret = "new-canary-Pq8"
)

// Creds are the canary client's credentials.
var Creds = equifax.Credentials{ClientID: ClientID, ClientSecret: credential.NewSecret(Secret)}

// Answer is one scripted answer of a fake server.
type Answer struct {
	// Status is the HTTP status; zero means 200.
	Status int
	// Header is set on the answer, over what the server set before.
	Header map[string]string
	// Body is written as is.
	Body string
	// Delay holds the answer back, or drops it when the request ends first.
	Delay time.Duration
}

// Write waits out a.Delay (returning without an answer when the request
// ends first), then sets a.Header and writes a.Status and a.Body.
func (a Answer) Write(w http.ResponseWriter, r *http.Request) {
	if a.Delay > 0 {
		select {
		case <-time.After(a.Delay):
		case <-r.Context().Done():
			return
		}
	}
	for k, v := range a.Header {
		w.Header().Set(k, v)
	}
	if a.Status == 0 {
		a.Status = 200
	}
	w.WriteHeader(a.Status)
	_, _ = io.WriteString(w, a.Body)
}

// AssertNoSecrets fails t if err or any line hook caught holds the client
// secret, the access token or the renewed secret.
func AssertNoSecrets(t testing.TB, hook *logtest.Hook, err error) {
	t.Helper()
	var texts []string
	if err != nil {
		texts = append(texts, err.Error(), fmt.Sprintf("%+v", err))
	}
	for _, e := range hook.AllEntries() {
		s, _ := e.String()
		texts = append(texts, s)
	}
	for _, s := range texts {
		for _, bad := range []string{Secret, Token, NewSecret} {
			if strings.Contains(s, bad) {
				t.Errorf("leaked %q in %q", bad, s)
			}
		}
	}
}

// ClosedAddr returns the host:port of a server that has just closed, so
// that a connection to it is refused.
func ClosedAddr(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.Listener.Addr().String()
	srv.Close()
	return addr
}

// AssertScrubbed fails t if err's text holds the client secret or any of
// bad (the user info or query of a URL, say).
func AssertScrubbed(t testing.TB, err error, bad ...string) {
	t.Helper()
	for _, b := range append(bad, Secret) {
		if strings.Contains(err.Error(), b) {
			t.Errorf("error leaks %q: %v", b, err)
		}
	}
}
