package httpprov_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/provider"
)

// TestValidationOfHostileAnswers: with validation on, huge, deeply nested
// and wrongly typed answers still end in clean malformed-answer errors.
func TestValidationOfHostileAnswers(t *testing.T) {
	t.Parallel()
	huge := strings.Repeat("a", 3<<20)
	for _, tc := range []struct{ name, body string }{
		{"huge", `{"clientId":"c1","secrets":[],"pad":"` + huge + `"}`},
		{"deeply nested", `{"clientId":"c1","secrets":` + strings.Repeat(`{"a":`, 5000) + "1" + strings.Repeat("}", 5000) + "}"},
		{"wrong types", `{"clientId":7,"secrets":{"secretId":[]}}`},
		{"not JSON", `{"clientId":`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if strings.HasSuffix(r.URL.Path, "/oauth/token") {
					_, _ = io.WriteString(w, `{"access_token":"tok-Zq81","token_type":"Bearer","expires_in":1800}`)
					return
				}
				_, _ = io.WriteString(w, tc.body)
			}))
			t.Cleanup(srv.Close)
			d, err := equifaxDescription()
			if err != nil {
				t.Fatal(err)
			}
			_, err = validating(t, d, srv.URL, true).Describe(context.Background(), provider.Client{ClientID: "c1", ClientSecret: credential.NewSecret(validationSecret)})
			if !errors.Is(err, provider.ErrMalformedResponse) || strings.Contains(err.Error(), validationSecret) || len(err.Error()) > 2000 {
				t.Fatalf("err = %.300v", err)
			}
		})
	}
}
