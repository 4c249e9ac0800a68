package seal

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/credrotate/credrotate/pkg/credential/redirect"
)

// TestLoadCertificateRedirects: an https cert.url that redirects to plain
// http (on any host, loopback included) or to another origin is refused
// before anything is fetched there, so a certificate served on that hop is
// never used to seal. A redirect within the origin is followed.
func TestLoadCertificateRedirects(t *testing.T) {
	t.Parallel()
	good := rsaCertPEM(t, "prod", 1)
	attacker := rsaCertPEM(t, "staging", 1)
	var hijacked atomic.Int32
	evil := func(w http.ResponseWriter, _ *http.Request) {
		hijacked.Add(1)
		_, _ = w.Write(attacker)
	}
	plain := httptest.NewServer(http.HandlerFunc(evil))
	t.Cleanup(plain.Close)
	other := httptest.NewTLSServer(http.HandlerFunc(evil))
	t.Cleanup(other.Close)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/cert.pem":
			_, _ = w.Write(good)
		case "/moved":
			http.Redirect(w, r, "/v1/cert.pem", http.StatusMovedPermanently)
		case "/downgrade":
			http.Redirect(w, r, plain.URL+"/v1/cert.pem", http.StatusFound)
		case "/downgrade-same-host":
			http.Redirect(w, r, "http://"+r.Host+"/v1/cert.pem", http.StatusFound)
		case "/elsewhere":
			http.Redirect(w, r, other.URL+"/v1/cert.pem", http.StatusTemporaryRedirect)
		}
	}))
	t.Cleanup(srv.Close)
	// One client trusting both TLS servers, as a real CA pool would.
	client := srv.Client()
	client.Transport.(*http.Transport).TLSClientConfig.RootCAs.AddCert(other.Certificate())

	for _, tc := range []struct {
		path   string
		reason string
	}{
		{"/moved", ""},
		{"/downgrade", redirect.ReasonDowngrade},
		{"/downgrade-same-host", redirect.ReasonDowngrade},
		{"/elsewhere", redirect.ReasonOtherOrigin},
	} {
		t.Run(tc.path, func(t *testing.T) {
			c, _, err := LoadCertificate(t.Context(), "prod", CertSource{URL: srv.URL + tc.path}, LoadOptions{Now: clock, HTTPClient: client})
			if tc.reason == "" {
				if err != nil {
					t.Fatal(err)
				}
				if c.PublicKey.N.Cmp(testKey(t, "prod").N) != 0 {
					t.Fatal("sealing with a certificate the configured origin did not serve")
				}
				return
			}
			if err == nil {
				t.Fatalf("the redirect was followed: sealing would use the certificate served at the other end (hijacked %d)", hijacked.Load())
			}
			var ce *CertError
			if !errors.Is(err, ErrCertFetch) || !errors.Is(err, redirect.ErrRefused) || !errors.As(err, &ce) || ce.Temporary() {
				t.Fatalf("want a permanent ErrCertFetch refusing the redirect, got %v", err)
			}
			if !strings.Contains(err.Error(), tc.reason) || !strings.Contains(err.Error(), `environment "prod"`) || !strings.Contains(err.Error(), "cert.url") {
				t.Errorf("the message does not say what and how to fix: %v", err)
			}
		})
	}
	if n := hijacked.Load(); n != 0 {
		t.Errorf("%d requests reached the other end of a refused redirect", n)
	}
}
