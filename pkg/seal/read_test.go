package seal

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/credrotate/credrotate/pkg/credential"
)

func TestReadManifestsAfterWrite(t *testing.T) {
	fsys := &MemFS{}
	var envs []Environment
	for _, n := range []string{"prod", "staging"} {
		envs = append(envs, Environment{Name: n, Path: "overlays/" + n + "/credentials", Cert: testCert(t, n, n)})
	}
	it := testItem("equifax.unique_client_id")
	if _, err := Write(t.Context(), fsys, envs, []Item{it}); err != nil {
		t.Fatal(err)
	}
	// Things a checkout also holds, none of them credrotate's.
	extra := map[string]string{
		"charts/gw/templates/secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: {{ .Release.Name }}\n",
		"overlays/prod/app.yaml":          "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: gw}\n",
		"overlays/prod/other-sealed.yaml": "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: tls}\nspec: {encryptedData: {a: b}}\n",
		".git/config.yaml":                "credrotate.io/provider-key: [broken\n",
		"README.md":                       "credrotate.io/provider-key",
	}
	for p, c := range extra {
		if err := fsys.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := ReadManifests(t.Context(), fsys)
	if err != nil {
		t.Fatal(err)
	}
	want := credential.Metadata{
		ProviderKey: "equifax.unique_client_id", SecretID: "sec-0002",
		ExpiresAt: testNow.Add(90 * 24 * time.Hour), RotatedAt: testNow,
		Fingerprint: credential.Fingerprint([]byte(testSecretValue)), TraceID: "trace-1234",
	}
	if len(got) != 2 {
		t.Fatalf("got %d manifests: %+v", len(got), got)
	}
	for i, env := range []string{"prod", "staging"} {
		m := got[i]
		if m.Path != "overlays/"+env+"/credentials/equifax.unique_client_id.yaml" || m.Dir != "overlays/"+env+"/credentials" ||
			m.Name != "equifax-credentials" || m.Namespace != "credit" || !slices.Equal(m.DataKeys, []string{"client_secret"}) {
			t.Errorf("manifest %d = %+v", i, m)
		}
		if !m.Metadata.ExpiresAt.Equal(want.ExpiresAt) || !m.Metadata.RotatedAt.Equal(want.RotatedAt) {
			t.Errorf("times = %v %v", m.Metadata.ExpiresAt, m.Metadata.RotatedAt)
		}
		m.Metadata.ExpiresAt, m.Metadata.RotatedAt = want.ExpiresAt, want.RotatedAt
		if m.Metadata != want {
			t.Errorf("metadata = %+v, want %+v", m.Metadata, want)
		}
	}

	// Only some folders.
	got, err = ReadManifests(t.Context(), fsys, "overlays/staging")
	if err != nil || len(got) != 1 || got[0].Dir != "overlays/staging/credentials" {
		t.Errorf("ReadManifests(staging) = %+v, %v", got, err)
	}
}

func TestReadManifestsEditedByHand(t *testing.T) {
	fsys := fstest.MapFS{
		"ov/prod/a.yaml": {Data: []byte(`# a person's comment
---
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata:
  name: a
  namespace: ns
  labels: {x: y}
  annotations:
    credrotate.io/provider-key: key.a   # rotated by credrotate
    credrotate.io/secret-id: s1
    credrotate.io/expires-at: 2027-01-01T00:00:00+01:00
    extra: [not, a, scalar]
spec:
  encryptedData: {k2: x, k1: y}
  unknownField: true
status: {}
`)},
		// Multi-document file: another kind and a second credrotate document.
		"ov/prod/b.yml": {Data: []byte(`apiVersion: v1
kind: ConfigMap
metadata: {name: c, annotations: {credrotate.io/provider-key: not-me}}
---
apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata: {name: b, annotations: {credrotate.io/provider-key: key.b}}
`)},
	}
	got, err := ReadManifests(t.Context(), fsys, "ov")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("got %+v", got)
	}
	a := got[0]
	if a.Metadata.ProviderKey != "key.a" || a.Metadata.SecretID != "s1" || !a.Metadata.ExpiresAt.Equal(time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC)) ||
		!a.Metadata.RotatedAt.IsZero() || !slices.Equal(a.DataKeys, []string{"k1", "k2"}) || a.Namespace != "ns" {
		t.Errorf("a = %+v", a)
	}
	if got[1].Metadata.ProviderKey != "key.b" || got[1].Path != "ov/prod/b.yml" {
		t.Errorf("b = %+v", got[1])
	}
}

func TestReadManifestsStrictAboutBrokenFiles(t *testing.T) {
	for _, tc := range []struct {
		name, file, want string
	}{
		{"does not parse", "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  annotations:\n    credrotate.io/provider-key: [k\n", "ov/k.yaml"},
		{"bad time", "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  annotations:\n    credrotate.io/provider-key: k\n    credrotate.io/expires-at: next week\n", `credrotate.io/expires-at "next week" is not an RFC 3339 time`},
		{"bad key", "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  annotations:\n    credrotate.io/provider-key: Not A Key\n", "credrotate.io/provider-key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadManifests(t.Context(), fstest.MapFS{"ov/k.yaml": {Data: []byte(tc.file)}})
			if !errors.Is(err, ErrMalformedManifest) || !strings.Contains(err.Error(), "ov/k.yaml") || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error = %v", err)
			}
		})
	}
}

func TestReadManifestsMissingFolder(t *testing.T) {
	if _, err := ReadManifests(t.Context(), fstest.MapFS{}, "nope"); err == nil {
		t.Error("want an error for a missing folder")
	}
	if _, err := ReadManifests(t.Context(), fstest.MapFS{}, "../x"); !errors.Is(err, ErrPathEscapes) {
		t.Errorf("error = %v, want ErrPathEscapes", err)
	}
}

// FuzzParseManifests: whatever a person (or a merge) leaves in a file, the
// reader returns an error or valid metadata, and never panics.
func FuzzParseManifests(f *testing.F) {
	for _, s := range []string{
		"",
		"apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: a\n  annotations:\n    credrotate.io/provider-key: k\n    credrotate.io/rotated-at: \"2026-01-01T00:00:00Z\"\nspec:\n  encryptedData: {a: b}\n",
		"---\n---\nkind: SealedSecret\napiVersion: bitnami.com/v1\nmetadata: {annotations: {credrotate.io/provider-key: x}}\n",
		"a: &a [*a]\ncredrotate.io/",
		"metadata: !!binary credrotate.io/",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ms, err := ParseManifests("f.yaml", data)
		if err != nil {
			if !errors.Is(err, ErrMalformedManifest) || !strings.Contains(err.Error(), "f.yaml") {
				t.Errorf("error %v does not name the file", err)
			}
			return
		}
		for _, m := range ms {
			if m.Metadata.ProviderKey.Validate() != nil || m.Path != "f.yaml" {
				t.Errorf("invalid manifest %+v", m)
			}
		}
	})
}
