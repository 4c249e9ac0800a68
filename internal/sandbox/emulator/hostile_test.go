package emulator_test

import (
	"context"
	"encoding/base64"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/emulator"
	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/credential/redact"
	"github.com/credrotate/credrotate/pkg/credential/redirect"
	"github.com/credrotate/credrotate/pkg/equifax"
	"github.com/credrotate/credrotate/pkg/equifax/rest"
	"github.com/credrotate/credrotate/pkg/equifax/soap"
)

// The hostile Equifax: the real REST and SOAP clients against an emulator
// that quotes the credentials it receives in every error, redirects to
// another host, and serves huge and slow answers.

const (
	hostileClient = "0oahostile"
	hostileSecret = "canary-hostile-secret-7Qx9"
)

var transports = []string{"rest", "soap"}

// hostileWorld is an emulator with one client, a client of the transport
// whose every secret and token is registered with red, and a second host
// that records whatever reaches it.
type hostileWorld struct {
	emu   *emulator.Emulator
	srv   *httptest.Server
	p     equifax.Provider
	red   *redact.Redactor
	other *thief
	creds equifax.Credentials
}

// thief is the other host a redirect points at.
type thief struct {
	srv  *httptest.Server
	mu   sync.Mutex
	got  []string
	hits atomic.Int32
}

func newThief(t *testing.T) *thief {
	th := &thief{}
	th.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		th.hits.Add(1)
		b, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		th.mu.Lock()
		th.got = append(th.got, r.Header.Get("Authorization")+" "+string(b))
		th.mu.Unlock()
		http.Error(w, "gotcha", http.StatusTeapot)
	}))
	t.Cleanup(th.srv.Close)
	return th
}

func newHostileWorld(t *testing.T, transport string, opts func(*rest.Options, *soap.Options)) *hostileWorld {
	t.Helper()
	emu := emulator.New(emulator.Options{})
	// Inside the renewal window, so that a renew is allowed.
	if _, err := emu.SeedClient(hostileClient, hostileSecret, emu.Now().Add(10*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(emu)
	t.Cleanup(func() {
		emu.Close()
		srv.Close()
	})
	w := &hostileWorld{emu: emu, srv: srv, red: redact.New(), other: newThief(t),
		creds: equifax.Credentials{ClientID: hostileClient, ClientSecret: credential.NewSecret(hostileSecret)}}
	ro := rest.Options{BaseURL: srv.URL, MaxRetries: -1, Timeout: 5 * time.Second, SecretSeen: w.red.AddSecret}
	so := soap.Options{URL: srv.URL + emulator.SOAPPath, MaxRetries: -1, Timeout: 5 * time.Second, SecretSeen: w.red.AddSecret}
	if opts != nil {
		opts(&ro, &so)
	}
	var err error
	if transport == "rest" {
		w.p, err = rest.New(ro)
	} else {
		w.p, err = soap.New(so)
	}
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// TestHostileQuotesCredentials: errors that quote the client secret, the
// Basic header or the Bearer token keep their text for a person, bounded,
// and the run's redactor (fed by the client itself) masks every value the
// server quoted (finding 1).
func TestHostileQuotesCredentials(t *testing.T) {
	t.Parallel()
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			w := newHostileWorld(t, tr, nil)
			w.emu.SetHostile(emulator.Hostile{QuoteCredentials: true, RejectNewSecrets: true})

			// A wrong secret: 401 quoting it.
			wrong := equifax.Credentials{ClientID: hostileClient, ClientSecret: credential.NewSecret("wrong-secret-value-0042")}
			_, errWrong := w.p.Token(ctx, wrong, "")
			// A 5xx on describe: the fault quotes the Bearer token.
			w.emu.Script(emulator.Fault{Op: emulator.OpDescribe, Kind: emulator.FaultServerError})
			_, errDescribe := w.p.Describe(ctx, w.creds)
			// A new secret that the token endpoint refuses, quoting it: the
			// verify step of a rotation.
			res, err := w.p.Renew(ctx, w.creds, equifax.RenewRequest{IdempotencyKey: "hostile-1"})
			if err != nil {
				t.Fatal(err)
			}
			w.red.AddSecret(res.ClientSecret) // as the run's provider decorator does
			_, errVerify := w.p.Token(ctx, equifax.Credentials{ClientID: hostileClient, ClientSecret: res.ClientSecret}, "")

			quoted := w.emu.Quoted()
			if len(quoted) < 3 {
				t.Fatalf("the server quoted only %d values", len(quoted))
			}
			for name, tc := range map[string]struct {
				err  error
				kind error
			}{
				"wrong secret": {errWrong, equifax.ErrUnauthorized},
				"describe 5xx": {errDescribe, equifax.ErrTransient},
				"verify":       {errVerify, equifax.ErrUnauthorized},
			} {
				if !errors.Is(tc.err, tc.kind) {
					t.Fatalf("%s: want %v, got %v", name, tc.kind, tc.err)
				}
				var e *equifax.Error
				if !errors.As(tc.err, &e) || !strings.Contains(e.Description, "is not valid") && !strings.Contains(e.Description, "was rejected") {
					t.Errorf("%s: the server's text is gone: %v", name, tc.err)
				}
				if len(e.Description) > 512 {
					t.Errorf("%s: description of %d bytes", name, len(e.Description))
				}
				masked := w.red.String(tc.err.Error())
				for _, q := range append(quoted, "wrong-secret-value-0042") {
					if name == "wrong secret" && q == "wrong-secret-value-0042" {
						// Not a secret of the run: the client never saw it
						// authenticate, but it did send it.
						continue
					}
					if strings.Contains(masked, q) {
						t.Errorf("%s: a quoted credential survives masking: %s", name, masked)
					}
				}
			}
			if !strings.Contains(errVerify.Error(), res.ClientSecret.Reveal()) {
				t.Log("note: the verify error does not quote the new secret")
			}
		})
	}
}

// TestHostileLongErrorIsBounded: a fault description of 64 KiB is cut to
// 512 bytes with a visible marker.
func TestHostileLongErrorIsBounded(t *testing.T) {
	t.Parallel()
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			w := newHostileWorld(t, tr, nil)
			w.emu.SetHostile(emulator.Hostile{QuoteCredentials: true})
			long := equifax.Credentials{ClientID: hostileClient, ClientSecret: credential.NewSecret(strings.Repeat("x", 30000))}
			_, err := w.p.Token(context.Background(), long, "")
			var e *equifax.Error
			if !errors.As(err, &e) {
				t.Fatalf("want an *equifax.Error, got %v", err)
			}
			if len(e.Description) > 512 || !strings.HasSuffix(e.Description, redact.Truncated) {
				t.Fatalf("description of %d bytes, want at most 512 ending in %q", len(e.Description), redact.Truncated)
			}
		})
	}
}

// TestHostileRedirects: every operation redirected to another host, with
// every redirect status, ends in a clean, named error, and the other host
// never receives a request, let alone a credential (finding 2).
func TestHostileRedirects(t *testing.T) {
	t.Parallel()
	for _, tr := range transports {
		for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
			t.Run(tr+"/"+http.StatusText(status), func(t *testing.T) {
				t.Parallel()
				ctx := context.Background()
				w := newHostileWorld(t, tr, nil)
				// A token first, so the management calls carry a Bearer.
				if _, err := w.p.Token(ctx, w.creds, ""); err != nil {
					t.Fatal(err)
				}
				w.emu.SetHostile(emulator.Hostile{RedirectTo: w.other.srv.URL, RedirectStatus: status})
				calls := map[string]func() error{
					"token":    func() error { _, err := w.p.Token(ctx, w.creds, ""); return err },
					"describe": func() error { _, err := w.p.Describe(ctx, w.creds); return err },
					"renew": func() error {
						_, err := w.p.Renew(ctx, w.creds, equifax.RenewRequest{IdempotencyKey: "redirect-1"})
						return err
					},
					"revoke": func() error { return w.p.Revoke(ctx, w.creds, "sec-0000") },
				}
				for op, call := range calls {
					err := call()
					var re *redirect.RefusedError
					if !errors.Is(err, redirect.ErrRefused) || !errors.As(err, &re) || re.Reason != redirect.ReasonOtherOrigin {
						t.Fatalf("%s: want the redirect to another origin refused, got %v", op, err)
					}
					if !errors.Is(err, equifax.ErrMalformedResponse) || equifax.Retryable(err) {
						t.Errorf("%s: want a permanent malformed-response error, got %v", op, err)
					}
				}
				if n := w.other.hits.Load(); n != 0 {
					t.Fatalf("the other host received %d requests: %q", n, w.other.got)
				}
			})
		}
	}
}

// TestHostileRedirectResendingBody: a 307 within the origin is refused for
// a call with a body (the token form, the IssueToken envelope with the
// secret, a renew), so nothing is posted twice.
func TestHostileRedirectResendingBody(t *testing.T) {
	t.Parallel()
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			w := newHostileWorld(t, tr, nil)
			w.emu.SetHostile(emulator.Hostile{RedirectTo: w.srv.URL, RedirectStatus: http.StatusTemporaryRedirect, Ops: []emulator.Op{emulator.OpToken}})
			_, err := w.p.Token(context.Background(), w.creds, "")
			var re *redirect.RefusedError
			if !errors.As(err, &re) || re.Reason != redirect.ReasonResendBody {
				t.Fatalf("want the 307 refused for resending the body, got %v", err)
			}
			if n := w.emu.Calls(emulator.OpToken); n != 1 {
				t.Fatalf("the token endpoint was called %d times, want 1", n)
			}
		})
	}
}

// TestHostileHugeBody: answers of 256 MiB, streamed by the emulator, on
// the token call and on a management call, with success and error
// statuses. Each ends in a clean error and the process's peak heap stays
// far below the body's size. Not parallel: the heap is the process's.
func TestHostileHugeBody(t *testing.T) {
	const huge = 256 << 20
	const bound = 48 << 20
	for _, tr := range transports {
		for _, tc := range []struct {
			op     emulator.Op
			status int
		}{
			{emulator.OpToken, http.StatusOK},
			{emulator.OpToken, http.StatusInternalServerError},
			{emulator.OpDescribe, http.StatusOK},
			{emulator.OpRenew, http.StatusServiceUnavailable},
		} {
			t.Run(tr+"/"+string(tc.op)+"/"+http.StatusText(tc.status), func(t *testing.T) {
				ctx := context.Background()
				w := newHostileWorld(t, tr, nil)
				if tc.op != emulator.OpToken {
					if _, err := w.p.Token(ctx, w.creds, ""); err != nil {
						t.Fatal(err)
					}
				}
				w.emu.SetHostile(emulator.Hostile{HugeBody: huge, HugeStatus: tc.status, Ops: []emulator.Op{tc.op}})
				var err error
				peak := peakHeap(t, func() {
					switch tc.op {
					case emulator.OpToken:
						_, err = w.p.Token(ctx, w.creds, "")
					case emulator.OpDescribe:
						_, err = w.p.Describe(ctx, w.creds)
					default:
						_, err = w.p.Renew(ctx, w.creds, equifax.RenewRequest{IdempotencyKey: "huge-1"})
					}
				})
				var e *equifax.Error
				if err == nil || !errors.As(err, &e) {
					t.Fatalf("want a typed error, got %v", err)
				}
				if tc.status < 400 && !errors.Is(err, equifax.ErrMalformedResponse) {
					t.Errorf("a huge success answer: want ErrMalformedResponse, got %v", err)
				}
				if peak > bound {
					t.Fatalf("peak heap grew by %d MiB for a %d MiB answer (bound %d MiB)", peak>>20, huge>>20, bound>>20)
				}
				t.Logf("%v; peak heap growth %.1f MiB", err, float64(peak)/(1<<20))
			})
		}
	}
}

// peakHeap runs fn and returns how far the live heap rose above where it
// started, sampled while fn runs.
func peakHeap(t *testing.T, fn func()) uint64 {
	t.Helper()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var peak atomic.Uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var m runtime.MemStats
		for {
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	}()
	fn()
	close(stop)
	<-done
	if p := peak.Load(); p > base {
		return p - base
	}
	return 0
}

// TestHostileDrip: an answer dripped a byte at a time ends, at the
// client's per-attempt timeout, in a transient "no answer in time".
func TestHostileDrip(t *testing.T) {
	t.Parallel()
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			t.Parallel()
			w := newHostileWorld(t, tr, func(ro *rest.Options, so *soap.Options) {
				ro.Timeout, so.Timeout = 300*time.Millisecond, 300*time.Millisecond
			})
			w.emu.SetHostile(emulator.Hostile{Drip: 50 * time.Millisecond})
			_, err := w.p.Token(context.Background(), w.creds, "")
			if !errors.Is(err, equifax.ErrTransient) || !strings.Contains(err.Error(), "no answer in time") {
				t.Fatalf("want a transient timeout, got %v", err)
			}
		})
	}
}

// TestHostileControl: the mode is set, shown and cleared over the control
// API, and bad settings are refused.
func TestHostileControl(t *testing.T) {
	t.Parallel()
	emu := emulator.New(emulator.Options{})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	do := func(method, body string) (int, string) {
		req, _ := http.NewRequest(method, srv.URL+"/__emulator/hostile", strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := do(http.MethodPost, `{"quoteCredentials":true,"redirectTo":"http://127.0.0.1:1","redirectStatus":302,"drip":"10ms","ops":["token"]}`); code != http.StatusNoContent {
		t.Fatalf("POST: %d %s", code, body)
	}
	if code, body := do(http.MethodGet, ""); code != http.StatusOK || !strings.Contains(body, `"redirectStatus":302`) || !strings.Contains(body, `"drip":"10ms"`) {
		t.Fatalf("GET: %d %s", code, body)
	}
	for _, bad := range []string{`{"redirectStatus":200}`, `{"ops":["steal"]}`, `{"redirectTo":"/relative"}`, `{"drip":"soon"}`, `{"nope":1}`} {
		if code, body := do(http.MethodPost, bad); code != http.StatusBadRequest {
			t.Errorf("POST %s: %d %s, want 400", bad, code, body)
		}
	}
	if code, _ := do(http.MethodDelete, ""); code != http.StatusNoContent {
		t.Fatalf("DELETE: %d", code)
	}
	if code, body := do(http.MethodGet, ""); code != http.StatusOK || strings.Contains(body, "redirectTo") {
		t.Fatalf("after DELETE: %d %s", code, body)
	}
}

// TestHostileQuotesBasicHeader: a Basic header quoted whole is masked by
// the redactor's Basic forms.
func TestHostileQuotesBasicHeader(t *testing.T) {
	t.Parallel()
	emu := emulator.New(emulator.Options{Hostile: emulator.Hostile{QuoteCredentials: true}})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	req, _ := http.NewRequest(http.MethodPost, srv.URL+emulator.TokenPath, strings.NewReader("grant_type=client_credentials&scope="+emulator.DefaultManagementScope))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("0oaunknown", "unknown-secret-value-1")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	header := base64.StdEncoding.EncodeToString([]byte("0oaunknown:unknown-secret-value-1"))
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(b), header) || !strings.Contains(string(b), "unknown-secret-value-1") {
		t.Fatalf("%d %s: want a 401 quoting the header and the secret", resp.StatusCode, b)
	}
	red := redact.New()
	red.AddBasic("0oaunknown", credential.NewSecret("unknown-secret-value-1"))
	if out := red.String(string(b)); strings.Contains(out, header) || strings.Contains(out, "unknown-secret-value-1") {
		t.Fatalf("not masked: %s", out)
	}
}
