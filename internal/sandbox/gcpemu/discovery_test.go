package gcpemu_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"

	"github.com/credrotate/credrotate/internal/sandbox/gcpemu"
)

// schema is the part of a discovery document's JSON schema the checker
// reads.
type schema struct {
	Type                 string             `json:"type"`
	Ref                  string             `json:"$ref"`
	Format               string             `json:"format"`
	Enum                 []string           `json:"enum"`
	Properties           map[string]*schema `json:"properties"`
	Items                *schema            `json:"items"`
	AdditionalProperties *schema            `json:"additionalProperties"`
}

var (
	discoveryOnce sync.Once
	discovery     map[string]*schema
	discoveryErr  error
)

// schemas reads iam-api.json from the google.golang.org/api module that
// go.mod pins: the discovery document its iam/v1 client was generated from.
func schemas(t *testing.T) map[string]*schema {
	t.Helper()
	discoveryOnce.Do(func() {
		out, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "google.golang.org/api").Output()
		if err != nil {
			discoveryErr = fmt.Errorf("locating google.golang.org/api: %w", err)
			return
		}
		b, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "iam", "v1", "iam-api.json"))
		if err != nil {
			discoveryErr = err
			return
		}
		var doc struct {
			Schemas map[string]*schema `json:"schemas"`
		}
		discoveryErr = json.Unmarshal(b, &doc)
		discovery = doc.Schemas
	})
	if discoveryErr != nil {
		t.Fatal(discoveryErr)
	}
	return discovery
}

// check lists where v departs from the schema s: unknown fields, wrong
// types, values outside an enum, times that are not RFC 3339.
func check(all map[string]*schema, s *schema, v any, path string) []string {
	if s.Ref != "" {
		ref, ok := all[s.Ref]
		if !ok {
			return []string{path + ": unknown schema " + s.Ref}
		}
		s = ref
	}
	var out []string
	bad := func(format string, args ...any) { out = append(out, path+": "+fmt.Sprintf(format, args...)) }
	switch s.Type {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			bad("is %T, want an object", v)
			return out
		}
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p, ok := s.Properties[k]
			switch {
			case ok:
				out = append(out, check(all, p, m[k], path+"."+k)...)
			case s.AdditionalProperties != nil:
				out = append(out, check(all, s.AdditionalProperties, m[k], path+"."+k)...)
			default:
				bad("field %q is not in the schema", k)
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			bad("is %T, want an array", v)
			return out
		}
		for i, x := range a {
			out = append(out, check(all, s.Items, x, fmt.Sprintf("%s[%d]", path, i))...)
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			bad("is %T, want a string", v)
			return out
		}
		if len(s.Enum) > 0 && !contains(s.Enum, str) {
			bad("%q is not one of %v", str, s.Enum)
		}
		switch s.Format {
		case "google-datetime":
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				bad("%q is not an RFC 3339 time", str)
			}
		case "byte":
			if strings.ContainsAny(str, " \n") {
				bad("is not base64")
			}
		case "int64", "uint64":
			if strings.Trim(str, "-0123456789") != "" {
				bad("%q is not an integer", str)
			}
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			bad("is %T, want a boolean", v)
		}
	case "integer", "number":
		if _, ok := v.(float64); !ok {
			bad("is %T, want a number", v)
		}
	case "any", "":
	default:
		bad("unknown schema type %q", s.Type)
	}
	return out
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// TestAnswersMatchDiscovery checks every answer of the emulator's IAM
// calls against the discovery document: ListServiceAccountKeysResponse for
// list, ServiceAccountKey for get and create, Empty for disable, enable and
// delete, ListServiceAccountsResponse for both pages of serviceAccounts.list.
func TestAnswersMatchDiscovery(t *testing.T) {
	t.Parallel()
	all := schemas(t)
	emu := gcpemu.New(gcpemu.Options{KeyBits: 1024, KeyExpiry: 0})
	srv := httptest.NewServer(emu)
	t.Cleanup(srv.Close)
	emu.SetURL(srv.URL)
	_, mgmt, err := emu.SeedKey("ops@p.iam.gserviceaccount.com", emu.Now().Add(-time.Hour), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	const sa = "app@p.iam.gserviceaccount.com"
	if _, _, err := emu.SeedKey(sa, emu.Now().Add(-time.Hour), emu.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	cfg, err := google.JWTConfigFromJSON(mgmt, "https://www.googleapis.com/auth/cloud-platform")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, srv.Client())
	tok, err := cfg.TokenSource(ctx).Token()
	if err != nil {
		t.Fatal(err)
	}
	base := srv.URL + "/v1/projects/-/serviceAccounts/" + sa + "/keys"
	call := func(method, url, body string) map[string]any {
		t.Helper()
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
		req.Header.Set("Content-Type", "application/json")
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("%s %s: %d %s", method, url, res.StatusCode, b)
		}
		var v map[string]any
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
		return v
	}
	created := call("POST", base, `{"privateKeyType":"TYPE_GOOGLE_CREDENTIALS_FILE","keyAlgorithm":"KEY_ALG_RSA_2048"}`)
	name, _ := created["name"].(string)
	id := name[strings.LastIndex(name, "/")+1:]
	answers := []struct {
		what, schema string
		v            map[string]any
	}{
		{"create", "ServiceAccountKey", created},
		{"list", "ListServiceAccountKeysResponse", call("GET", base+"?keyTypes=USER_MANAGED", "")},
		{"get", "ServiceAccountKey", call("GET", base+"/"+id, "")},
		{"disable", "Empty", call("POST", base+"/"+id+":disable", `{}`)},
		{"get disabled", "ServiceAccountKey", call("GET", base+"/"+id, "")},
		{"enable", "Empty", call("POST", base+"/"+id+":enable", `{}`)},
		{"delete", "Empty", call("DELETE", base+"/"+id, "")},
		{"accounts", "ListServiceAccountsResponse", call("GET", srv.URL+"/v1/projects/p/serviceAccounts?pageSize=1", "")},
		{"accounts page 2", "ListServiceAccountsResponse", nil},
	}
	page, _ := answers[len(answers)-2].v["nextPageToken"].(string)
	if page == "" {
		t.Fatal("serviceAccounts.list with pageSize=1 over two accounts gave no nextPageToken")
	}
	answers[len(answers)-1].v = call("GET", srv.URL+"/v1/projects/p/serviceAccounts?pageSize=1&pageToken="+page, "")
	if _, more := answers[len(answers)-1].v["nextPageToken"]; more {
		t.Error("the last page of serviceAccounts.list has a nextPageToken")
	}
	for _, a := range answers {
		s, ok := all[a.schema]
		if !ok {
			t.Fatalf("the discovery document has no %s", a.schema)
		}
		if v := check(all, s, a.v, a.what); len(v) != 0 {
			t.Errorf("%s: %d violations:\n%s", a.what, len(v), strings.Join(v, "\n"))
		}
	}
	// The list names every field a key carries.
	keys, _ := answers[1].v["keys"].([]any)
	if len(keys) != 2 {
		t.Fatalf("list has %d keys, want 2", len(keys))
	}
	for _, f := range []string{"name", "validAfterTime", "validBeforeTime", "keyAlgorithm", "keyOrigin", "keyType", "publicKeyData"} {
		if _, ok := keys[0].(map[string]any)[f]; !ok {
			t.Errorf("a listed key has no %s", f)
		}
	}
	if _, ok := created["privateKeyData"]; !ok {
		t.Error("create gave no privateKeyData")
	}
}

// TestCheckerRejects: the checker finds a wrong field, a wrong type, a value
// outside an enum and a bad time.
func TestCheckerRejects(t *testing.T) {
	t.Parallel()
	all := schemas(t)
	bad := map[string]any{
		"keys": []any{map[string]any{
			"name":           7,
			"privateKeyJSON": "x",
			"keyType":        "ROOT",
			"validAfterTime": "yesterday",
			"disabled":       "no",
		}},
	}
	v := check(all, all["ListServiceAccountKeysResponse"], bad, "list")
	if len(v) != 5 {
		t.Fatalf("%d violations, want 5:\n%s", len(v), strings.Join(v, "\n"))
	}
	for _, want := range []string{"privateKeyJSON", "keys[0].name", "ROOT", "yesterday", "disabled"} {
		if !strings.Contains(strings.Join(v, "\n"), want) {
			t.Errorf("no violation names %s", want)
		}
	}
}
