package emulator

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestScriptedFaults(t *testing.T) {
	for _, trName := range []string{"rest", "soap"} {
		for _, tc := range []struct {
			fault      Fault
			status     int
			code       string
			retryAfter string
		}{
			{Fault{Op: OpToken, Kind: FaultRateLimit, RetryAfter: 7 * time.Second}, 429, "429.01", "7"},
			{Fault{Op: OpToken, Kind: FaultRateLimit}, 429, "429.01", "1"},
			{Fault{Op: OpDescribe, Kind: FaultServerError}, 500, "500.01", ""},
			{Fault{Op: OpDescribe, Kind: FaultUnavailable, RetryAfter: 3 * time.Second}, 503, "503.01", "3"},
			{Fault{Op: OpRenew, Kind: FaultGatewayTimeout}, 504, "504.01", ""},
			{Fault{Op: OpRevoke, Kind: FaultStall, Stall: 10 * time.Millisecond}, 504, "504.01", ""},
			{Fault{Op: OpRenew, Kind: FaultMalformed}, 200, "", ""},
		} {
			t.Run(fmt.Sprintf("%s/%s/%s", trName, tc.fault.Op, tc.fault.Kind), func(t *testing.T) {
				e, srv := newServer(t, Options{})
				first := seed(t, e, "demo", "s3cret")
				e.Advance(DefaultSecretLifetime - DefaultRenewWindow)
				tr := pick(srv, trName)
				tok := mustToken(t, tr, "demo", "s3cret")
				e.ResetCalls()
				e.Script(tc.fault)

				call := func() result {
					switch tc.fault.Op {
					case OpToken:
						return tr.token("demo", "s3cret", mgmt)
					case OpDescribe:
						return tr.describe(tok, "demo")
					case OpRenew:
						return tr.renew(tok, "demo", "k1", 0, false)
					}
					return tr.revoke(tok, "demo", first.SecretID)
				}
				r := call()
				if r.status != tc.status {
					t.Fatalf("status %d, want %d: %v", r.status, tc.status, r)
				}
				if tc.fault.Kind == FaultMalformed {
					var v any
					if json.Unmarshal(r.body, &v) == nil || xml.Unmarshal(r.body, &v) == nil {
						t.Fatalf("malformed body parses: %s", r.body)
					}
				} else if r.code != tc.code {
					t.Fatalf("code %q, want %q: %v", r.code, tc.code, r)
				}
				if tc.retryAfter != "" && (r.header.Get("Retry-After") != tc.retryAfter || r.retryAfter != tc.retryAfter) {
					t.Fatalf("Retry-After %q / %q, want %s", r.header.Get("Retry-After"), r.retryAfter, tc.retryAfter)
				}
				if trName == "soap" && tc.status >= 500 && !strings.Contains(string(r.body), "<faultcode>soap:Server</faultcode>") {
					t.Errorf("a server fault should be soap:Server: %s", r.body)
				}
				// Faults other than drop-response leave the state alone.
				if info, _ := e.Client("demo"); len(info.Secrets) != 1 || info.Secrets[0].Status != "ACTIVE" {
					t.Fatalf("the faulted call changed the state: %+v", info.Secrets)
				}
				// One fault, one call; the next call goes through.
				if r := call(); r.code != "" && r.code != "409.03" {
					t.Fatalf("second call: %v", r)
				}
				if n := e.Calls(tc.fault.Op); n != 2 {
					t.Fatalf("Calls(%s) = %d, want 2", tc.fault.Op, n)
				}
			})
		}
	}
}

func TestFaultCountAndScope(t *testing.T) {
	e, srv := newServer(t, Options{})
	seed(t, e, "demo", "s3cret")
	tr := restT{srv}
	e.Script(Fault{Op: OpToken, Kind: FaultServerError, Count: 2})
	e.Script(Fault{Op: OpToken, Kind: FaultUnavailable})
	e.Script(Fault{Op: OpDescribe, Kind: FaultRateLimit})
	var codes []string
	for range 4 {
		codes = append(codes, tr.token("demo", "s3cret", mgmt).code)
	}
	if got := strings.Join(codes, ","); got != "500.01,500.01,503.01," {
		t.Fatalf("codes %s", got)
	}
	if e.Calls(OpToken) != 4 || e.Calls(OpDescribe) != 0 {
		t.Fatalf("calls %v", e.CallCounts())
	}
	e.ClearFaults()
	tok := mustToken(t, tr, "demo", "s3cret")
	wantCode(t, tr, tr.describe(tok, "demo"), "", http.StatusOK)
	e.ResetCalls()
	if c := e.CallCounts(); c[OpToken] != 0 || c[OpDescribe] != 0 {
		t.Fatalf("after reset %v", c)
	}
}

// TestRenewRetriedAfterDroppedResponse: the renew takes effect, its answer
// is lost, and the retry with the same Idempotency-Key gets the same secret:
// exactly one is minted.
func TestRenewRetriedAfterDroppedResponse(t *testing.T) {
	for _, trName := range []string{"rest", "soap"} {
		t.Run(trName, func(t *testing.T) {
			e, srv := newServer(t, Options{})
			seed(t, e, "demo", "s3cret")
			e.Advance(DefaultSecretLifetime - DefaultRenewWindow)
			tr := pick(srv, trName)
			tok := mustToken(t, tr, "demo", "s3cret")
			e.Script(Fault{Op: OpRenew, Kind: FaultDropResponse})

			lost := tr.renew(tok, "demo", "rotation-1", 0, false)
			wantCode(t, tr, lost, "504.01", http.StatusGatewayTimeout)
			info, _ := e.Client("demo")
			if len(info.Secrets) != 2 {
				t.Fatalf("the dropped renew did not take effect: %+v", info.Secrets)
			}
			minted, _ := info.Active()

			r := tr.renew(tok, "demo", "rotation-1", 0, false)
			wantCode(t, tr, r, "", http.StatusCreated)
			if r.secretID != minted.SecretID || !e.Accepts("demo", r.secret) {
				t.Fatalf("the retry got %s, want the secret minted by the lost call %s", r.secretID, minted.SecretID)
			}
			if info, _ := e.Client("demo"); len(info.Secrets) != 2 {
				t.Fatalf("%d secrets after the retry, want 2", len(info.Secrets))
			}
			if e.Calls(OpRenew) != 2 {
				t.Fatalf("renew calls %d", e.Calls(OpRenew))
			}
		})
	}
}

func TestDropResponseOnRevoke(t *testing.T) {
	e, srv := newServer(t, Options{})
	first := seed(t, e, "demo", "s3cret")
	e.Advance(DefaultSecretLifetime - DefaultRenewWindow)
	tr := restT{srv}
	tok := mustToken(t, tr, "demo", "s3cret")
	r := tr.renew(tok, "demo", "k", 0, false)
	tok = mustToken(t, tr, "demo", r.secret)
	e.Script(Fault{Op: OpRevoke, Kind: FaultDropResponse})
	wantCode(t, tr, tr.revoke(tok, "demo", first.SecretID), "504.01", http.StatusGatewayTimeout)
	info, _ := e.Client("demo")
	if s, _ := info.Find(first.SecretID); s.Status != "REVOKED" {
		t.Fatalf("dropped revoke did not take effect: %s", s.Status)
	}
	wantCode(t, tr, tr.revoke(tok, "demo", first.SecretID), "", http.StatusNoContent)
}

func TestStallUntilClientGivesUp(t *testing.T) {
	e, srv := newServer(t, Options{})
	seed(t, e, "demo", "s3cret")
	e.Script(Fault{Op: OpToken, Kind: FaultStall}) // one minute by default
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req := newReq(t, http.MethodPost, srv.URL+TokenPath, strings.NewReader("grant_type=client_credentials&scope="+mgmt))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("demo", "s3cret")
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err == nil {
		_ = resp.Body.Close()
		t.Fatalf("a stalled call answered %d", resp.StatusCode)
	}
	// The emulator still answers.
	mustToken(t, restT{srv}, "demo", "s3cret")
}

func TestCloseReleasesStalledCalls(t *testing.T) {
	e, srv := newServer(t, Options{})
	seed(t, e, "demo", "s3cret")
	e.Script(Fault{Op: OpToken, Kind: FaultStall, Stall: time.Hour})
	done := make(chan result, 1)
	go func() { done <- restT{srv}.token("demo", "s3cret", mgmt) }()
	for e.Calls(OpToken) == 0 {
		time.Sleep(time.Millisecond)
	}
	e.Close()
	if r := <-done; r.status != http.StatusGatewayTimeout || r.code != "504.01" {
		t.Fatalf("released stall: %v", r)
	}
}

func TestLatency(t *testing.T) {
	e, srv := newServer(t, Options{Latency: time.Hour})
	seed(t, e, "demo", "s3cret")
	client := &http.Client{Timeout: 50 * time.Millisecond}
	req := newReq(t, http.MethodGet, srv.URL+secretsPath("demo"), nil)
	if resp, err := client.Do(req); err == nil {
		_ = resp.Body.Close()
		t.Fatalf("a call under an hour of latency answered %d", resp.StatusCode)
	}
	if e.Calls(OpDescribe) != 1 {
		t.Fatalf("calls %v", e.CallCounts())
	}
	// The controls and the WSDL are not delayed.
	st, _, _ := doWith(t, client, newReq(t, http.MethodGet, srv.URL+ControlPrefix+"calls", nil))
	if st != 200 {
		t.Fatalf("calls control: %d", st)
	}
	e.SetLatency(0)
	wantCode(t, restT{srv}, restT{srv}.describe("", "demo"), "401.02", http.StatusUnauthorized)
}

func doWith(t *testing.T, c *http.Client, req *http.Request) (int, http.Header, []byte) {
	t.Helper()
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	return resp.StatusCode, resp.Header, nil
}

func TestScriptRejectsUnknownFaults(t *testing.T) {
	for _, f := range []Fault{{Op: "list", Kind: FaultStall}, {Op: OpToken, Kind: "explode"}, {Op: OpToken, Kind: FaultStall, Count: -1}} {
		if f.Validate() == nil {
			t.Errorf("%+v validated", f)
		}
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Script(%+v) did not panic", f)
				}
			}()
			New(Options{}).Script(f)
		}()
	}
}

func TestLogLines(t *testing.T) {
	var mu sync.Mutex
	var lines []string
	e, srv := newServer(t, Options{Logf: func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, fmt.Sprintf(format, args...))
	}})
	seed(t, e, "demo", "s3cret")
	e.Advance(DefaultSecretLifetime - DefaultRenewWindow)
	var txIDs, secrets []string
	for _, tr := range []transport{restT{srv}, soapT{srv}} {
		tk := tr.token("demo", "s3cret", mgmt)
		r := tr.renew(tk.token, "demo", "k-"+tr.name(), 0, tr.name() == "soap")
		bad := tr.token("demo", "wrong-secret", mgmt)
		txIDs = append(txIDs, tk.header.Get("efx-transaction-id"), r.header.Get("efx-transaction-id"), bad.header.Get("efx-transaction-id"))
		secrets = append(secrets, tk.token, r.secret)
	}
	secrets = append(secrets, "s3cret", "wrong-secret")
	mu.Lock()
	defer mu.Unlock()
	if len(lines) != 6 {
		t.Fatalf("%d log lines, want 6:\n%s", len(lines), strings.Join(lines, "\n"))
	}
	for i, l := range lines {
		for _, s := range secrets {
			if s != "" && strings.Contains(l, s) {
				t.Fatalf("log line %q holds a secret", l)
			}
		}
		if !strings.Contains(l, "efx-transaction-id="+txIDs[i]) || !strings.Contains(l, "client=demo") {
			t.Errorf("log line %q lacks the transaction id %s or the client", l, txIDs[i])
		}
	}
}
