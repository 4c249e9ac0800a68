package forge

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

func sampleState() RotationState {
	exp := time.Date(2027, 2, 1, 0, 0, 0, 0, time.UTC)
	return RotationState{
		Version: StateVersion,
		TraceID: "4bf92f3577b34da6a3ce929d0e0e4736",
		Command: "credrotate renew --cron-mode",
		Keys: []KeyState{
			{ProviderKey: "equifax.z", ClientID: "0oaZ", NewSecretID: "sec-new-z", OldSecretID: "sec-old-z",
				Fingerprint: "sha256:0123456789abcdef", ExpiresAt: exp,
				Environments: []EnvFile{{Env: "prod", Path: "overlays/prod/credentials/equifax.z.yaml"}}},
			{ProviderKey: "equifax.a", ClientID: "0oaA", NewSecretID: "sec-new-a",
				Fingerprint: "sha256:fedcba9876543210", ExpiresAt: exp,
				Environments: []EnvFile{
					{Env: "prod", Path: "overlays/prod/credentials/equifax.a.yaml"},
					{Env: "staging", Path: "overlays/staging/credentials/equifax.a.yaml"},
				}},
		},
	}
}

func TestRenderBodyRoundTrip(t *testing.T) {
	s := sampleState()
	body := RenderBody(s)
	for _, want := range []string{
		"| `equifax.a` | first rotation | `sec-new-a`<br>`sha256:fedcba9876543210` | 2027-02-01 | prod, staging |",
		"| `equifax.z` | replaces `sec-old-z` | `sec-new-z`<br>`sha256:0123456789abcdef` | 2027-02-01 | prod |",
		"- `overlays/staging/credentials/equifax.a.yaml`",
		"**Trace ID:** `4bf92f3577b34da6a3ce929d0e0e4736`",
		"**Command:** `credrotate renew --cron-mode`",
		"<!-- credrotate:state {",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	if strings.Index(body, "equifax.a") > strings.Index(body, "equifax.z") {
		t.Error("keys are not sorted")
	}
	got, found, err := ParseState(body)
	if err != nil || !found {
		t.Fatalf("ParseState = %v, %v", found, err)
	}
	want := s
	want.Keys = nil // in the rotation branch's manifests, not the marker
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, want)
	}
}

// The marker identifies the run only: it is the same size for one key and
// for a thousand.
func TestMarkerIsFlatInKeys(t *testing.T) {
	s := sampleState()
	one := markerOf(t, RenderBody(RotationState{Version: StateVersion, TraceID: s.TraceID, Command: s.Command, Keys: s.Keys[:1]}))
	many := s
	many.Keys = nil
	for i := range 1000 {
		k := s.Keys[0]
		k.ProviderKey = fmt.Sprintf("equifax.k%04d", i)
		many.Keys = append(many.Keys, k)
	}
	if m := markerOf(t, RenderBody(many)); m != one {
		t.Fatalf("the marker grows with the keys:\n1 key:     %s\n1000 keys: %s", one, m)
	}
}

func markerOf(t *testing.T, body string) string {
	t.Helper()
	i := strings.Index(body, markerOpen)
	if i < 0 {
		t.Fatalf("no marker in\n%s", body)
	}
	return body[i:]
}

// A version 1 marker, written before each key's state moved to the branch,
// is still read with its keys.
func TestParseStateVersion1(t *testing.T) {
	body := "## credrotate\n\n" + `<!-- credrotate:state {"version":1,"traceId":"t","keys":[{"providerKey":"equifax.k","newSecretId":"s2","oldSecretId":"s1","fingerprint":"sha256:0123456789abcdef","expiresAt":"2027-01-01T00:00:00Z","emergency":true}]} -->`
	got, found, err := ParseState(body)
	if err != nil || !found {
		t.Fatalf("ParseState = %v, %v", found, err)
	}
	want := []KeyState{{ProviderKey: "equifax.k", NewSecretID: "s2", OldSecretID: "s1", Fingerprint: "sha256:0123456789abcdef",
		ExpiresAt: time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), Emergency: true}}
	if got.Version != 1 || !reflect.DeepEqual(got.Keys, want) {
		t.Fatalf("ParseState = %+v", got)
	}
}

func TestParseStateToleratesEdits(t *testing.T) {
	body := RenderBody(sampleState())
	i := strings.Index(body, "<!--")
	edited := "Reviewed by @ops, LGTM.\r\n\r\n" + strings.ReplaceAll(body[:i], "\n", "\r\n") + "\r\n> a quote\r\n" + body[i:] + "\r\n\r\nmore notes after"
	got, found, err := ParseState(edited)
	if err != nil || !found || got.TraceID != sampleState().TraceID {
		t.Fatalf("ParseState(edited) = %+v, %v, %v", got, found, err)
	}
}

func TestParseState(t *testing.T) {
	valid := RenderBody(sampleState())
	markerAt := strings.Index(valid, "<!--")
	for _, tc := range []struct {
		name      string
		body      string
		wantFound bool
		wantErr   bool
	}{
		{"no marker", "just a PR", false, false},
		{"empty", "", false, false},
		{"valid", valid, true, false},
		{"two markers", valid + valid[markerAt:], true, true},
		{"unterminated", "<!-- credrotate:state {\"version\":1", true, true},
		{"not json", "<!-- credrotate:state nope -->", true, true},
		{"unknown field", `<!-- credrotate:state {"version":1,"traceId":"t","keys":[],"secret":"x"} -->`, true, true},
		{"trailing data", `<!-- credrotate:state {"version":1,"traceId":"t","keys":[]} {} -->`, true, true},
		{"future version", `<!-- credrotate:state {"version":3,"traceId":"t"} -->`, true, true},
		{"version 2 with keys", `<!-- credrotate:state {"version":2,"traceId":"t","keys":[{"providerKey":"k","newSecretId":"s","expiresAt":"2027-01-01T00:00:00Z"}]} -->`, true, true},
		{"version 1", `<!-- credrotate:state {"version":1,"traceId":"t","keys":[{"providerKey":"k","newSecretId":"s","expiresAt":"2027-01-01T00:00:00Z"}]} -->`, true, false},
		{"no provider key", `<!-- credrotate:state {"version":1,"traceId":"t","keys":[{"newSecretId":"s","expiresAt":"2027-01-01T00:00:00Z"}]} -->`, true, true},
		{"no secret id", `<!-- credrotate:state {"version":1,"traceId":"t","keys":[{"providerKey":"k","expiresAt":"2027-01-01T00:00:00Z"}]} -->`, true, true},
		{"duplicate key", `<!-- credrotate:state {"version":1,"traceId":"t","keys":[{"providerKey":"k","newSecretId":"s","expiresAt":"2027-01-01T00:00:00Z"},{"providerKey":"k","newSecretId":"s","expiresAt":"2027-01-01T00:00:00Z"}]} -->`, true, true},
		{"bad fingerprint", `<!-- credrotate:state {"version":1,"traceId":"t","keys":[{"providerKey":"k","newSecretId":"s","fingerprint":"hunter2","expiresAt":"2027-01-01T00:00:00Z"}]} -->`, true, true},
		{"too large", "<!-- credrotate:state " + strings.Repeat(" ", 10) + "{" + strings.Repeat("x", MaxStateSize) + "} -->", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, found, err := ParseState(tc.body)
			if found != tc.wantFound || (err != nil) != tc.wantErr {
				t.Fatalf("found=%v err=%v, want found=%v err=%v", found, err, tc.wantFound, tc.wantErr)
			}
			if err != nil && !errors.Is(err, ErrStateMarker) {
				t.Fatalf("err = %v, want ErrStateMarker", err)
			}
		})
	}
}

func TestRenderBodyEscapes(t *testing.T) {
	s := RotationState{TraceID: "t`|x", Command: "credrotate renew --provider-key 'a|b'", Keys: []KeyState{{
		ProviderKey: "k", NewSecretID: "id --> <script>", ExpiresAt: time.Unix(0, 0).UTC(),
		Environments: []EnvFile{{Env: "pr|od\n", Path: "p"}},
	}}}
	body := RenderBody(s)
	if strings.Count(body, "-->") != 1 || strings.Contains(body, "<script") {
		t.Fatalf("a value closed the marker early:\n%s", body)
	}
	if visible := body[:strings.Index(body, "<!--")]; strings.Contains(visible, "pr|od") || strings.Contains(visible, "t`|x") {
		t.Fatalf("table cell not escaped:\n%s", body)
	}
	got, found, err := ParseState(body)
	if err != nil || !found || got.TraceID != "t`|x" {
		t.Fatalf("ParseState = %+v, %v, %v", got, found, err)
	}
}

func FuzzParseState(f *testing.F) {
	f.Add(RenderBody(sampleState()))
	f.Add("<!-- credrotate:state {} -->")
	f.Add("<!-- credrotate:state {\"version\":1,\"keys\":[{\"providerKey\":\"k\",\"newSecretId\":\"s\",\"expiresAt\":\"2027-01-01T00:00:00Z\"}]} -->")
	f.Add("<!-- credrotate:state ")
	f.Fuzz(func(t *testing.T, body string) {
		s, found, err := ParseState(body)
		if err != nil || !found {
			return
		}
		// whatever parses renders to a body that parses to the same state
		again, found2, err := ParseState(RenderBody(s))
		if err != nil || !found2 {
			t.Fatalf("re-render of a parsed state does not parse: %v", err)
		}
		if len(again.Keys) != 0 || again.TraceID != s.TraceID || again.Command != s.Command || again.MockSafe != s.MockSafe {
			t.Fatalf("round trip changed the state: %+v vs %+v", again, s)
		}
	})
}
