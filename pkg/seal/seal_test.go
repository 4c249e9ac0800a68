package seal

import (
	"errors"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	ssv1alpha1 "github.com/bitnami-labs/sealed-secrets/pkg/apis/sealedsecrets/v1alpha1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/credrotate/credrotate/pkg/credential"
)

const testSecretValue = "n3w-Cl1ent-s3cret-value"

func testItem(key string) Item {
	return Item{
		Ref:   SecretRef{Name: "equifax-credentials", Namespace: "credit", DataKey: "client_secret"},
		Value: credential.NewSecret(testSecretValue),
		Metadata: credential.Metadata{
			ProviderKey: credential.ProviderKey(key),
			SecretID:    "sec-0002",
			ExpiresAt:   testNow.Add(90 * 24 * time.Hour),
			RotatedAt:   testNow,
			TraceID:     "trace-1234",
		},
	}
}

// decodeSealed parses a written manifest with the library's own decoder, as
// the controller and kubeseal do.
func decodeSealed(t testing.TB, data []byte) *ssv1alpha1.SealedSecret {
	t.Helper()
	var ss ssv1alpha1.SealedSecret
	if err := runtime.DecodeInto(scheme.Codecs.UniversalDecoder(ssv1alpha1.SchemeGroupVersion), data, &ss); err != nil {
		t.Fatalf("decoding manifest: %v\n%s", err, data)
	}
	return &ss
}

func readFile(t testing.TB, fsys ReadFS, p string) []byte {
	t.Helper()
	b, err := fsys.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWriteRoundTripScopes(t *testing.T) {
	for _, tc := range []struct {
		name          string
		scope         Scope
		nsOverride    string
		wantNamespace string
		wantAnno      string
		// whether the library unseals a copy renamed to other/moved
		renamedOK, movedOK bool
	}{
		{"strict", ScopeStrict, "", "credit", "", false, false},
		{"default is strict", "", "", "credit", "", false, false},
		{"namespace-wide", ScopeNamespaceWide, "", "credit", ssv1alpha1.SealedSecretNamespaceWideAnnotation, true, false},
		{"cluster-wide", ScopeClusterWide, "", "credit", ssv1alpha1.SealedSecretClusterWideAnnotation, true, true},
		{"namespace override", ScopeStrict, "credit-prod", "credit-prod", "", false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := &MemFS{}
			env := Environment{Name: "prod", Path: "overlays/prod/credentials", Cert: testCert(t, "prod", "prod"), Scope: tc.scope, Namespace: tc.nsOverride}
			written, err := Write(t.Context(), fsys, []Environment{env}, []Item{testItem("equifax.unique_client_id")})
			if err != nil {
				t.Fatal(err)
			}
			wantFiles := []Written{
				{Env: "prod", Path: "overlays/prod/credentials/equifax.unique_client_id.yaml", Kind: KindManifest, ProviderKey: "equifax.unique_client_id", Created: true},
				{Env: "prod", Path: "overlays/prod/credentials/kustomization.yaml", Kind: KindKustomization, Created: true},
			}
			if !slices.Equal(written, wantFiles) {
				t.Errorf("written = %+v", written)
			}
			data := readFile(t, fsys, wantFiles[0].Path)
			if strings.Contains(string(data), testSecretValue) {
				t.Fatal("manifest contains the plaintext")
			}
			ss := decodeSealed(t, data)
			if ss.Name != "equifax-credentials" || ss.Namespace != tc.wantNamespace ||
				ss.Spec.Template.Name != "equifax-credentials" || ss.Spec.Template.Namespace != tc.wantNamespace {
				t.Errorf("name/namespace = %s/%s, template %s/%s", ss.Namespace, ss.Name, ss.Spec.Template.Namespace, ss.Spec.Template.Name)
			}
			for _, a := range []map[string]string{ss.Annotations, ss.Spec.Template.Annotations} {
				for _, k := range scopeAnnotations {
					if got, want := a[k], map[bool]string{true: "true"}[k == tc.wantAnno]; got != want {
						t.Errorf("annotation %s = %q, want %q", k, got, want)
					}
				}
			}

			sec, err := ss.Unseal(scheme.Codecs, privKeys(t, "prod"))
			if err != nil {
				t.Fatalf("unseal: %v", err)
			}
			if got := string(sec.Data["client_secret"]); got != testSecretValue {
				t.Errorf("unsealed %q", got)
			}

			// The scope is what the library makes of it: a strict secret
			// cannot be unsealed under another name, a namespace-wide one
			// not in another namespace.
			renamed := ss.DeepCopy()
			renamed.Name = "other"
			if _, err := renamed.Unseal(scheme.Codecs, privKeys(t, "prod")); (err == nil) != tc.renamedOK {
				t.Errorf("unseal under another name: err = %v, want ok=%v", err, tc.renamedOK)
			}
			moved := ss.DeepCopy()
			moved.Namespace = "elsewhere"
			if _, err := moved.Unseal(scheme.Codecs, privKeys(t, "prod")); (err == nil) != tc.movedOK {
				t.Errorf("unseal in another namespace: err = %v, want ok=%v", err, tc.movedOK)
			}

			// The annotations say what was sealed, never the value.
			want := map[string]string{
				AnnotationProviderKey: "equifax.unique_client_id",
				AnnotationSecretID:    "sec-0002",
				AnnotationExpiresAt:   "2027-02-18T12:00:00Z",
				AnnotationRotatedAt:   "2026-11-20T12:00:00Z",
				AnnotationFingerprint: credential.Fingerprint([]byte(testSecretValue)),
				AnnotationTraceID:     "trace-1234",
			}
			for k, v := range want {
				if ss.Annotations[k] != v {
					t.Errorf("annotation %s = %q, want %q", k, ss.Annotations[k], v)
				}
			}
		})
	}
}

func TestWriteThreeEnvironmentsThreeKeys(t *testing.T) {
	fsys := &MemFS{}
	names := []string{"prod", "staging", "uat"}
	var envs []Environment
	for _, n := range names {
		envs = append(envs, Environment{Name: n, Path: "overlays/" + n + "/credentials", Cert: testCert(t, n, n)})
	}
	if _, err := Write(t.Context(), fsys, envs, []Item{testItem("equifax.unique_client_id")}); err != nil {
		t.Fatal(err)
	}
	for _, env := range envs {
		ss := decodeSealed(t, readFile(t, fsys, env.ManifestPath("equifax.unique_client_id")))
		for _, keyName := range names {
			sec, err := ss.DeepCopy().Unseal(scheme.Codecs, privKeys(t, keyName))
			if keyName == env.Name {
				if err != nil || string(sec.Data["client_secret"]) != testSecretValue {
					t.Errorf("%s: own key does not unseal: %v", env.Name, err)
				}
			} else if err == nil {
				t.Errorf("%s: unsealed with %s's key", env.Name, keyName)
			}
		}
	}
}

func TestWriteIsDeterministicApartFromCiphertext(t *testing.T) {
	env := Environment{Name: "prod", Path: "p", Cert: testCert(t, "prod", "prod")}
	var outs []string
	for range 2 {
		fsys := &MemFS{}
		if _, err := Write(t.Context(), fsys, []Environment{env}, []Item{testItem("a"), testItem("b")}); err == nil {
			t.Fatal("two providers producing one Secret: want an error")
		}
		it := testItem("b")
		it.Ref.Name = "other"
		if _, err := Write(t.Context(), fsys, []Environment{env}, []Item{testItem("a"), it}); err != nil {
			t.Fatal(err)
		}
		outs = append(outs, maskCiphertext(t, readFile(t, fsys, "p/a.yaml"))+string(readFile(t, fsys, "p/kustomization.yaml")))
	}
	if outs[0] != outs[1] {
		t.Errorf("two writes differ:\n%s\n%s", outs[0], outs[1])
	}
	want := `apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata:
  name: equifax-credentials
  namespace: credit
  annotations:
    credrotate.io/provider-key: a
    credrotate.io/secret-id: sec-0002
    credrotate.io/expires-at: "2027-02-18T12:00:00Z"
    credrotate.io/rotated-at: "2026-11-20T12:00:00Z"
    credrotate.io/fingerprint: sha256:` + credential.Fingerprint([]byte(testSecretValue))[7:] + `
    credrotate.io/trace-id: trace-1234
spec:
  encryptedData:
    client_secret: SEALED
  template:
    metadata:
      name: equifax-credentials
      namespace: credit
apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
- a.yaml
- b.yaml
`
	if outs[0] != want {
		t.Errorf("got\n%s\nwant\n%s", outs[0], want)
	}
}

func TestWriteRefusals(t *testing.T) {
	prod := Environment{Name: "prod", Path: "ov/prod", Cert: testCert(t, "prod", "prod")}
	for _, tc := range []struct {
		name    string
		env     Environment
		item    func(Item) Item
		files   map[string]string
		wantErr error
		want    string
	}{
		{"no certificate", Environment{Name: "prod", Path: "x"}, nil, nil, ErrInvalidInput, `environment "prod" has no sealing certificate`},
		{"path escapes", Environment{Name: "prod", Path: "../x", Cert: prod.Cert}, nil, nil, ErrPathEscapes, "escapes"},
		{"bad scope", Environment{Name: "prod", Path: "x", Cert: prod.Cert, Scope: "global"}, nil, nil, ErrInvalidInput, "must be one of"},
		{"bad provider key", prod, func(it Item) Item { it.Metadata.ProviderKey = "Bad Key"; return it }, nil, ErrInvalidInput, "provider key"},
		{"empty value", prod, func(it Item) Item { it.Value = credential.Secret{}; return it }, nil, ErrInvalidInput, "empty"},
		{"bad name", prod, func(it Item) Item { it.Ref.Name = "Not_A_Name"; return it }, nil, ErrInvalidInput, "secret name"},
		{"no namespace", prod, func(it Item) Item { it.Ref.Namespace = ""; return it }, nil, ErrInvalidInput, "no namespace"},
		{"a plain Secret in the way", prod, nil, map[string]string{"ov/prod/k.yaml": "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\n"},
			ErrNotSealedSecret, `apiVersion "v1" kind "Secret"`},
		{"two documents", prod, nil, map[string]string{"ov/prod/k.yaml": "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\n---\na: b\n"},
			ErrNotSealedSecret, "2 documents"},
		{"other keys sealed for another namespace", prod, nil, map[string]string{"ov/prod/k.yaml": `apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata: {name: equifax-credentials, namespace: old}
spec:
  encryptedData: {client_id: AgA=}
`}, ErrIncompatibleManifest, "old/equifax-credentials (strict) with other keys [client_id]"},
		{"file of another provider key", prod, nil, map[string]string{"ov/prod/k.yaml": `apiVersion: bitnami.com/v1alpha1
kind: SealedSecret
metadata: {name: equifax-credentials, namespace: credit, annotations: {credrotate.io/provider-key: j}}
spec: {encryptedData: {}}
`}, ErrIncompatibleManifest, `carries credrotate.io/provider-key "j"`},
		{"kustomization moves the namespace", prod, nil, map[string]string{"ov/prod/kustomization.yaml": "namespace: credit-prod\n"},
			ErrOverlayMismatch, `set the environment's namespace to "credit-prod"`},
		{"kustomization renames", prod, nil, map[string]string{"ov/prod/kustomization.yaml": "namePrefix: prod-\n"},
			ErrOverlayMismatch, "namePrefix"},
		{"broken kustomization", prod, nil, map[string]string{"ov/prod/kustomization.yaml": "resources: [\n"},
			nil, "parsing ov/prod/kustomization.yaml"},
		{"broken manifest", prod, nil, map[string]string{"ov/prod/k.yaml": "kind: [\n"},
			nil, "ov/prod/k.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fsys := &MemFS{}
			for p, c := range tc.files {
				if err := fsys.WriteFile(p, []byte(c), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			before := maps.Clone(snapshot(t, fsys))
			it := testItem("k")
			if tc.item != nil {
				it = tc.item(it)
			}
			_, err := Write(t.Context(), fsys, []Environment{tc.env}, []Item{it})
			if err == nil {
				t.Fatal("want an error")
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("error %v is not %v", err, tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
			if strings.Contains(err.Error(), testSecretValue) {
				t.Error("error contains the plaintext")
			}
			if after := snapshot(t, fsys); !maps.Equal(before, after) {
				t.Error("a refused write changed the checkout")
			}
		})
	}
}

func snapshot(t testing.TB, m *MemFS) map[string]string {
	out := map[string]string{}
	for _, p := range m.Files() {
		out[p] = string(readFile(t, m, p))
	}
	return out
}

func TestParseScope(t *testing.T) {
	for in, want := range map[string]Scope{"": ScopeStrict, "strict": ScopeStrict, "namespace-wide": ScopeNamespaceWide, "cluster-wide": ScopeClusterWide} {
		if got, err := ParseScope(in); err != nil || got != want {
			t.Errorf("ParseScope(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseScope("global"); err == nil {
		t.Error("ParseScope(global): want an error")
	}
}
