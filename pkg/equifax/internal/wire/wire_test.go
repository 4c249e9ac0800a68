package wire

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/credrotate/credrotate/pkg/equifax"
)

func TestPolicy(t *testing.T) {
	transient := &equifax.Error{Kind: equifax.ErrTransient}
	cases := []struct {
		name    string
		policy  Policy
		errs    []error
		calls   int
		wantErr error
	}{
		{"success", Policy{}, []error{nil}, 1, nil},
		{"retries then success", Policy{}, []error{transient, transient, nil}, 3, nil},
		{"default 3 retries", Policy{}, []error{transient, transient, transient, transient, nil}, 4, equifax.ErrTransient},
		{"no retries", Policy{MaxRetries: -1}, []error{transient, nil}, 1, equifax.ErrTransient},
		{"4xx not retried", Policy{}, []error{&equifax.Error{Kind: equifax.ErrNotFound}, nil}, 1, equifax.ErrNotFound},
		{"plain error not retried", Policy{}, []error{errors.New("x"), nil}, 1, nil},
		{"long Retry-After returned", Policy{MaxRetryAfter: time.Second}, []error{&equifax.Error{Kind: equifax.ErrRateLimited, RetryAfter: time.Hour}, nil}, 1, equifax.ErrRateLimited},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.policy.InitialBackoff, tc.policy.MaxBackoff = time.Millisecond, 2*time.Millisecond
			calls := 0
			err := tc.policy.Do(context.Background(), func(ctx context.Context, attempt int) error {
				if attempt != calls {
					t.Fatalf("attempt %d on call %d", attempt, calls)
				}
				calls++
				return tc.errs[attempt]
			}, nil)
			if calls != tc.calls {
				t.Fatalf("calls = %d, want %d", calls, tc.calls)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if tc.wantErr == nil && tc.name != "plain error not retried" && err != nil {
				t.Fatalf("err = %v", err)
			}
		})
	}
}

func TestPolicyWaitsRetryAfter(t *testing.T) {
	var waits []time.Duration
	p := Policy{InitialBackoff: time.Millisecond, MaxBackoff: time.Millisecond}
	n := 0
	err := p.Do(context.Background(), func(context.Context, int) error {
		n++
		if n == 1 {
			return &equifax.Error{Kind: equifax.ErrRateLimited, RetryAfter: 50 * time.Millisecond}
		}
		return nil
	}, func(_ int, wait time.Duration, _ error) { waits = append(waits, wait) })
	if err != nil || len(waits) != 1 || waits[0] != 50*time.Millisecond {
		t.Fatalf("err %v, waits %v", err, waits)
	}
}

func TestPolicyStopsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	p := Policy{InitialBackoff: time.Hour, MaxBackoff: time.Hour}
	calls := 0
	done := make(chan error)
	go func() {
		done <- p.Do(ctx, func(context.Context, int) error {
			calls++
			return &equifax.Error{Kind: equifax.ErrTransient}
		}, nil)
	}()
	cancel()
	if err := <-done; !errors.Is(err, equifax.ErrTransient) || calls != 1 {
		t.Fatalf("err %v after %d calls", err, calls)
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Duration{
		"":                              0,
		"0":                             0,
		"-5":                            0,
		"7":                             7 * time.Second,
		"99999999999":                   24 * time.Hour,
		"soon":                          0,
		"Thu, 01 Jan 2026 00:00:30 GMT": 30 * time.Second,
		"Wed, 31 Dec 2025 00:00:30 GMT": 0,
	} {
		if got := RetryAfter(in, now); got != want {
			t.Errorf("RetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestScrubURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://user:pw@api.example.com/x?token=s#f": "https://api.example.com/x",
		"http://127.0.0.1:1/v2/oauth/token":           "http://127.0.0.1:1/v2/oauth/token",
		"::":                                          "(unparseable URL)",
	} {
		if got := ScrubURL(in); got != want {
			t.Errorf("ScrubURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTransportCapsAndRecords(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set(HeaderTransactionID, "tx-1")
		w.Header().Set("X-Seen-Correlation", r.Header.Get(HeaderCorrelationID))
		w.Header().Set("X-Seen-Auth", r.Header.Get("Authorization"))
		_, _ = io.WriteString(w, strings.Repeat("a", 100))
	}))
	defer srv.Close()
	c := HTTPClient(nil, 64)
	a := NewAttempt()
	a.ExtraHeaders = http.Header{"Authorization": {"Bearer x"}}
	req, _ := http.NewRequestWithContext(WithAttempt(context.Background(), a), "GET", srv.URL, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("read err = %v", err)
	}
	if !a.BodyTooLarge() || a.TransactionID() != "tx-1" || a.Status() != 200 {
		t.Fatalf("attempt = %+v", a)
	}
	if resp.Header.Get("X-Seen-Correlation") != a.CorrelationID || resp.Header.Get("X-Seen-Auth") != "Bearer x" {
		t.Fatalf("headers sent: %v", resp.Header)
	}
	if req.Header.Get("Authorization") != "" {
		t.Fatal("the caller's request was modified")
	}
	e := FailedCall(context.Background(), "describe", a, ErrBodyTooLarge)
	if !errors.Is(e, equifax.ErrMalformedResponse) {
		t.Fatalf("FailedCall = %v", e)
	}
}

func TestReadBody(t *testing.T) {
	if b, err := ReadBody(strings.NewReader("abcd"), 4); err != nil || string(b) != "abcd" {
		t.Fatalf("%q %v", b, err)
	}
	if _, err := ReadBody(strings.NewReader("abcde"), 4); !errors.Is(err, ErrBodyTooLarge) {
		t.Fatalf("err = %v", err)
	}
}
