package notify

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestWebhook(t *testing.T) {
	var got map[string]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &got); err != nil {
			t.Error(err)
		}
		if r.URL.Path == "/fail/T0KEN" {
			w.WriteHeader(500)
		}
	}))
	defer srv.Close()
	e := Event{Status: "success", TraceID: "abc123", PRURL: "http://hub/pull/1", Summary: []string{"equifax.a: renewed s-2"}}
	if err := (Webhook{URL: srv.URL + "/hook/T0KEN"}).Notify(context.Background(), e); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got["text"], "abc123") || !strings.Contains(got["text"], "http://hub/pull/1") {
		t.Fatalf("text = %q", got["text"])
	}
	err := (Webhook{URL: srv.URL + "/fail/T0KEN"}).Notify(context.Background(), e)
	if err == nil || strings.Contains(err.Error(), "T0KEN") {
		t.Fatalf("err = %v: want an error without the URL's secret path", err)
	}
	err = (Webhook{URL: "http://127.0.0.1:1/x/T0KEN"}).Notify(context.Background(), e)
	if err == nil || strings.Contains(err.Error(), "T0KEN") {
		t.Fatalf("err = %v: want an error without the URL's secret path", err)
	}
	if err := (Webhook{}).Notify(context.Background(), e); err != nil {
		t.Fatalf("no URL must be a no-op: %v", err)
	}
}
