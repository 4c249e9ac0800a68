package sandboxcmd

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2/clientcredentials"
)

func TestParseClientFlags(t *testing.T) {
	for _, tc := range []struct {
		name   string
		values []string
		want   []emulatorSeed
		errHas string
	}{
		{name: "none", values: nil, want: []emulatorSeed{}},
		{name: "one", values: []string{"demo=s3cret"}, want: []emulatorSeed{{"demo", "s3cret"}}},
		{name: "secret with '='", values: []string{"demo=a=b", "other=x"}, want: []emulatorSeed{{"demo", "a=b"}, {"other", "x"}}},
		{name: "no '='", values: []string{"demo"}, errHas: "ID=SECRET"},
		{name: "empty secret", values: []string{"demo="}, errHas: "ID=SECRET"},
		{name: "empty id", values: []string{"=s3cret"}, errHas: "ID=SECRET"},
		{name: "bad id", values: []string{"de mo=s3cret"}, errHas: "letters, digits"},
		{name: "twice", values: []string{"demo=a", "demo=b"}, errHas: "twice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseClientFlags(tc.values)
			if tc.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), tc.errHas) {
					t.Fatalf("error %v, want one saying %q", err, tc.errHas)
				}
				for _, v := range tc.values {
					if _, secret, _ := strings.Cut(v, "="); secret != "" && strings.Contains(err.Error(), "="+secret) {
						t.Fatalf("error %q echoes the secret", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("got %v, want %v", got, tc.want)
				}
			}
		})
	}
}

func TestEmulatorCommandUsageErrors(t *testing.T) {
	for _, args := range [][]string{
		{"emulator", "--client", "demo"},
		{"emulator", "--client", "demo=x", "--client", "demo=y"},
		{"emulator", "--latency", "-1s"},
		{"emulator", "--latency", "soon"},
		{"emulator", "extra-argument"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr)
			if code := exitCode(err, &stderr); code != exitUsage {
				t.Fatalf("exit %d (%v), want %d", code, err, exitUsage)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout: %s", stdout.String())
			}
		})
	}
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"emulator", "--client", "demo"}, strings.NewReader(""), io.Discard, &stderr)
	exitCode(err, &stderr)
	if !strings.Contains(stderr.String(), "ID=SECRET") {
		t.Errorf("message %q does not give the expected form", stderr.String())
	}
}

// emuSyncBuffer is a bytes.Buffer safe for a writer and a reader.
type emuSyncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *emuSyncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *emuSyncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestEmulatorCommandServesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr emuSyncBuffer
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"emulator", "--listen", "127.0.0.1:0", "--client", "demo=s3cret"}, strings.NewReader(""), &stdout, &stderr)
	}()
	var tokenURL, wsdlURL string
	for tokenURL == "" {
		select {
		case err := <-done:
			t.Fatalf("the emulator stopped: %v\n%s", err, stderr.String())
		case <-time.After(5 * time.Millisecond):
		}
		for _, line := range strings.Split(stdout.String(), "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "token URL:"); ok {
				tokenURL = strings.TrimSpace(v)
			}
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), "WSDL:"); ok {
				wsdlURL = strings.TrimSpace(v)
			}
		}
	}
	if strings.Contains(stdout.String(), "s3cret") {
		t.Fatal("the banner prints a secret")
	}

	cfg := clientcredentials.Config{ClientID: "demo", ClientSecret: "s3cret", TokenURL: tokenURL, Scopes: []string{"https://api.equifax.com/business/security/v1"}}
	tok, err := cfg.Token(ctx)
	if err != nil || tok.AccessToken == "" {
		t.Fatalf("token from the running emulator: %v", err)
	}
	resp, err := http.Get(wsdlURL)
	if err != nil {
		t.Fatal(err)
	}
	wsdlBody, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if !bytes.Contains(wsdlBody, []byte(`location="`+strings.TrimSuffix(wsdlURL, "?wsdl")+`"`)) {
		t.Fatalf("WSDL address does not point at %s", wsdlURL)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("stopping: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the emulator did not stop")
	}
	logs := stderr.String()
	if !strings.Contains(logs, "rest token client=demo status=200") {
		t.Errorf("no log line for the token call:\n%s", logs)
	}
	if strings.Contains(logs, "s3cret") || strings.Contains(logs, tok.AccessToken) {
		t.Fatal("the log holds a secret")
	}
}
