package credential

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

const canary = "canary-Zq9xW3-do-not-print"

func TestSecretRedactsEverywhere(t *testing.T) {
	s := NewSecret(canary)
	type wrapper struct {
		Name   string
		Secret Secret
		Ptr    *Secret
	}
	w := wrapper{Name: "x", Secret: s, Ptr: &s}
	outputs := map[string]string{
		"%s":     fmt.Sprintf("%s", s),
		"%v":     fmt.Sprintf("%v", s),
		"%+v":    fmt.Sprintf("%+v", w),
		"%#v":    fmt.Sprintf("%#v", w),
		"%q":     fmt.Sprintf("%q", s),
		"%x":     fmt.Sprintf("%x", s),
		"%d":     fmt.Sprintf("%d", s),
		"Sprint": fmt.Sprint(s, &s),
		"error":  fmt.Errorf("renewing: %v", s).Error(),
	}
	j, err := json.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	outputs["json"] = string(j)
	txt, _ := s.MarshalText()
	outputs["text"] = string(txt)
	// Each redaction directly, so that removing any one of them fails here
	// even where another would have covered for it.
	outputs["String"] = s.String()
	outputs["GoString"] = s.GoString()
	js, _ := s.MarshalJSON()
	outputs["MarshalJSON"] = string(js)
	ym, _ := s.MarshalYAML()
	outputs["MarshalYAML"] = fmt.Sprint(ym)
	for name, out := range outputs {
		if strings.Contains(out, canary) {
			t.Errorf("%s leaks the secret: %s", name, out)
		}
		if !strings.Contains(out, Redacted) {
			t.Errorf("%s does not show %s: %s", name, Redacted, out)
		}
	}
	if s.Reveal() != canary {
		t.Fatal("Reveal lost the value")
	}
}

func TestFingerprint(t *testing.T) {
	got := NewSecret("s3cret").Fingerprint()
	// printf s3cret | sha256sum
	if want := "sha256:1ec1c26b50d5d3c5"; got != want {
		t.Fatalf("fingerprint = %q, want %q", got, want)
	}
	if got != Fingerprint([]byte("s3cret")) {
		t.Fatal("Secret.Fingerprint and Fingerprint disagree")
	}
	if NewSecret("a").Fingerprint() == NewSecret("b").Fingerprint() {
		t.Fatal("different secrets share a fingerprint")
	}
}

func TestSecretEqual(t *testing.T) {
	if !NewSecret("a").Equal(NewSecret("a")) || NewSecret("a").Equal(NewSecret("b")) {
		t.Fatal("Equal is wrong")
	}
}

func TestProviderKeyValidate(t *testing.T) {
	for _, tc := range []struct {
		key string
		ok  bool
	}{
		{"equifax.unique_client_id", true},
		{"a", true},
		{"", false},
		{"Upper", false},
		{"../escape", false},
		{"has/slash", false},
		{"trailing.", false},
	} {
		t.Run(tc.key, func(t *testing.T) {
			err := ProviderKey(tc.key).Validate()
			if (err == nil) != tc.ok {
				t.Fatalf("Validate(%q) = %v, want ok=%v", tc.key, err, tc.ok)
			}
		})
	}
}
