package sopsout_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"github.com/credrotate/credrotate/internal/testenv/sopscmd"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"go.yaml.in/yaml/v3"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/seal"
	"github.com/credrotate/credrotate/pkg/seal/sopsout"
)

// sopsBin is the sops command built from the module go.mod pins, once for
// the package; "" when it could not be built (the tests that need it fail).
var (
	sopsBin    string
	sopsErr    error
	sopsTmpDir string
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "credrotate-sops-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sopsTmpDir = dir
	sopsBin, sopsErr = sopscmd.Build(dir)
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

var testNow = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

type identity struct {
	recipient, key string
}

func newIdentity(t *testing.T) identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return identity{recipient: id.Recipient().String(), key: id.String()}
}

// runSOPS runs the sops command with only id's key available.
func runSOPS(t *testing.T, id identity, stdin []byte, args ...string) ([]byte, error) {
	t.Helper()
	if sopsBin == "" {
		t.Fatal(sopsErr)
	}
	return sopscmd.Run(t, sopsBin, "", id.key, stdin, args...)
}

// sopsDecrypt is `sops decrypt` (which checks the MAC) of a YAML file.
func sopsDecrypt(t *testing.T, id identity, file []byte) (map[string]any, error) {
	t.Helper()
	out, err := runSOPS(t, id, file, "decrypt", "--input-type", "yaml", "--output-type", "yaml", "/dev/stdin")
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := yaml.Unmarshal(out, &m); err != nil {
		t.Fatalf("sops output: %v", err)
	}
	return m, nil
}

func dig(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

func b64(s string) string {
	return base64.StdEncoding.EncodeToString([]byte(s))
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func encoder(t *testing.T, identityKey string, recipients ...string) *sopsout.Encoder {
	t.Helper()
	e, err := sopsout.New(sopsout.Options{Recipients: recipients, Identity: identityKey, Now: func() time.Time { return testNow }})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func item(key, value, secretID string) seal.Item {
	return seal.Item{
		Ref:   seal.SecretRef{Name: "equifax-client", Namespace: "credit", DataKey: "client-secret"},
		Value: credential.NewSecret(value),
		Metadata: credential.Metadata{
			ProviderKey: credential.ProviderKey(key), SecretID: secretID,
			ExpiresAt: testNow.Add(90 * 24 * time.Hour), RotatedAt: testNow, TraceID: "trace-1",
		},
	}
}

// encryptedValues returns the ciphertext strings of data.* in a SOPS file.
func encryptedValues(t *testing.T, file []byte) map[string]string {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal(file, &m); err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for k, v := range dig(m, "data").(map[string]any) {
		out[k] = v.(string)
	}
	return out
}

// TestWriteEnvironmentsDecryptWithOwnIdentityOnly writes one key into two
// SOPS environments through seal.Write and checks with the sops command
// that each file opens with its environment's identity and not the other's.
func TestWriteEnvironmentsDecryptWithOwnIdentityOnly(t *testing.T) {
	t.Parallel()
	prod, staging, breakGlass := newIdentity(t), newIdentity(t), newIdentity(t)
	envs := []seal.Environment{
		{Name: "prod", Path: "overlays/prod/credentials", Encryption: seal.EncryptionSOPS, Encoder: encoder(t, "", prod.recipient, breakGlass.recipient)},
		{Name: "staging", Path: "overlays/staging/credentials", Encryption: seal.EncryptionSOPS, Encoder: encoder(t, "", staging.recipient), Namespace: "credit-staging"},
	}
	fsys := &seal.MemFS{}
	const value = "s3cr3t-value-0001"
	written, err := seal.Write(context.Background(), fsys, envs, []seal.Item{item("equifax.unique_client_id", value, "sec-1")})
	if err != nil {
		t.Fatal(err)
	}
	if len(written) != 4 { // two manifests, two kustomizations
		t.Fatalf("written = %+v", written)
	}
	for _, c := range []struct {
		path     string
		ok, deny []identity
		ns       string
	}{
		{"overlays/prod/credentials/equifax.unique_client_id.yaml", []identity{prod, breakGlass}, []identity{staging}, "credit"},
		{"overlays/staging/credentials/equifax.unique_client_id.yaml", []identity{staging}, []identity{prod, breakGlass}, "credit-staging"},
	} {
		file := must(fsys.ReadFile(c.path))
		if bytes.Contains(file, []byte(value)) || bytes.Contains(file, []byte(b64(value))) {
			t.Fatalf("%s holds the plaintext", c.path)
		}
		for _, id := range c.ok {
			m, err := sopsDecrypt(t, id, file)
			if err != nil {
				t.Fatalf("%s: sops decrypt with its own identity: %v", c.path, err)
			}
			if got := dig(m, "data", "client-secret"); got != b64(value) {
				t.Errorf("%s: data.client-secret = %v", c.path, got)
			}
			if dig(m, "metadata", "namespace") != c.ns || dig(m, "kind") != "Secret" {
				t.Errorf("%s: decrypted = %v", c.path, m)
			}
			o, err := sopsout.Open(file, id.key)
			if err != nil {
				t.Fatal(err)
			}
			if v, _ := o.Value("client-secret"); v.Reveal() != value {
				t.Errorf("Open: value differs")
			}
		}
		for _, id := range c.deny {
			if _, err := sopsDecrypt(t, id, file); err == nil {
				t.Errorf("%s: sops decrypt with another environment's identity succeeded", c.path)
			}
			if _, err := sopsout.Open(file, id.key); !errors.Is(err, sopsout.ErrDecrypt) {
				t.Errorf("Open with another identity: %v", err)
			}
		}
		// apiVersion, kind and metadata are plaintext; the planner reads them.
		ms, err := seal.ParseManifests(c.path, file)
		if err != nil || len(ms) != 1 {
			t.Fatalf("ParseManifests = %v, %v", ms, err)
		}
		m := ms[0]
		if m.Encryption != seal.EncryptionSOPS || m.Metadata.SecretID != "sec-1" || m.Metadata.ProviderKey != "equifax.unique_client_id" ||
			m.Metadata.Fingerprint != credential.NewSecret(value).Fingerprint() || !m.Metadata.RotatedAt.Equal(testNow) ||
			m.Namespace != c.ns || m.Name != "equifax-client" || len(m.DataKeys) != 1 || m.DataKeys[0] != "client-secret" {
			t.Errorf("manifest = %+v", m)
		}
		if !bytes.Contains(file, []byte("encrypted_regex: ^(data|stringData)$")) {
			t.Errorf("%s has no encrypted_regex:\n%s", c.path, file)
		}
	}
	k := string(must(fsys.ReadFile("overlays/prod/credentials/kustomization.yaml")))
	if !strings.Contains(k, "equifax.unique_client_id.yaml") {
		t.Errorf("kustomization = %s", k)
	}
	ms, err := seal.ReadManifests(context.Background(), fsys, ".")
	if err != nil || len(ms) != 2 {
		t.Fatalf("ReadManifests = %+v, %v", ms, err)
	}
}

// personsFile is a Secret a person encrypted with the sops command: the
// credrotate key, one key of their own and a label.
func personsFile(t *testing.T, ids ...identity) []byte {
	t.Helper()
	plain := `apiVersion: v1
kind: Secret
metadata:
  name: equifax-client
  namespace: credit
  labels:
    team: credit # owned by the credit team
  annotations:
    credrotate.io/provider-key: equifax.unique_client_id
    credrotate.io/secret-id: sec-1
type: Opaque
data:
  client-secret: ` + b64("old-value-0000000") + `
  other-key: ` + b64("persons-own-value") + `
`
	var rs []string
	for _, id := range ids {
		rs = append(rs, id.recipient)
	}
	out, err := runSOPS(t, ids[0], []byte(plain), "encrypt", "--age", strings.Join(rs, ","), "--encrypted-regex", sopsout.EncryptedRegex,
		"--input-type", "yaml", "--output-type", "yaml", "/dev/stdin")
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestUpdateKeepsOtherKeysCiphertextAndMAC: a file a person made with sops,
// holding a second key, is updated with an identity: the other key keeps
// its exact ciphertext, the label and its comment stay, and `sops decrypt`
// (which checks the MAC) opens the result.
func TestUpdateKeepsOtherKeysCiphertextAndMAC(t *testing.T) {
	t.Parallel()
	cluster, team := newIdentity(t), newIdentity(t)
	before := personsFile(t, cluster, team)
	oldCipher := encryptedValues(t, before)

	const value = "new-value-0000002"
	enc := encoder(t, cluster.key, cluster.recipient, team.recipient)
	it := item("equifax.unique_client_id", value, "sec-2")
	after, err := enc.Encode(before, seal.Target{Name: it.Ref.Name, Namespace: it.Ref.Namespace, DataKey: it.Ref.DataKey, Value: it.Value, Metadata: it.Metadata})
	if err != nil {
		t.Fatal(err)
	}
	newCipher := encryptedValues(t, after)
	if newCipher["other-key"] != oldCipher["other-key"] {
		t.Errorf("other-key's ciphertext changed:\n%s\n%s", oldCipher["other-key"], newCipher["other-key"])
	}
	if newCipher["client-secret"] == oldCipher["client-secret"] {
		t.Errorf("client-secret's ciphertext did not change")
	}
	for _, id := range []identity{cluster, team} {
		m, err := sopsDecrypt(t, id, after)
		if err != nil {
			t.Fatalf("sops decrypt after the update: %v\n%s", err, after)
		}
		if dig(m, "data", "client-secret") != b64(value) || dig(m, "data", "other-key") != b64("persons-own-value") {
			t.Errorf("decrypted data = %v", dig(m, "data"))
		}
		if dig(m, "metadata", "labels", "team") != "credit" || dig(m, "metadata", "annotations", seal.AnnotationSecretID) != "sec-2" {
			t.Errorf("decrypted metadata = %v", dig(m, "metadata"))
		}
	}
	if !bytes.Contains(after, []byte("# owned by the credit team")) {
		t.Errorf("the person's comment is gone:\n%s", after)
	}

	// Without an identity the other key cannot be kept: refused with the fix.
	_, err = encoder(t, "", cluster.recipient).Encode(before, seal.Target{Name: it.Ref.Name, Namespace: it.Ref.Namespace, DataKey: it.Ref.DataKey, Value: it.Value, Metadata: it.Metadata})
	if !errors.Is(err, sopsout.ErrNeedIdentity) || !strings.Contains(err.Error(), "ageKeyFile") {
		t.Errorf("without identity: %v", err)
	}

	// A file edited without sops fails its MAC: refused, as sops refuses it.
	tampered := bytes.Replace(after, []byte("team: credit"), []byte("team: debit"), 1)
	if _, err := sopsDecrypt(t, cluster, tampered); err == nil {
		t.Fatalf("sops decrypted a tampered file")
	}
	if _, err := enc.Encode(tampered, seal.Target{Name: it.Ref.Name, Namespace: it.Ref.Namespace, DataKey: it.Ref.DataKey, Value: it.Value, Metadata: it.Metadata}); !errors.Is(err, sopsout.ErrMACMismatch) {
		t.Errorf("tampered: %v", err)
	}
}

// TestUpdateWithoutIdentity: a file holding only the rotated key is
// encrypted afresh for the configured recipients, keeping a person's label;
// changing the recipients takes effect.
func TestUpdateWithoutIdentity(t *testing.T) {
	t.Parallel()
	a, b := newIdentity(t), newIdentity(t)
	fsys := &seal.MemFS{}
	env := seal.Environment{Name: "prod", Path: "p", Encryption: seal.EncryptionSOPS, Encoder: encoder(t, "", a.recipient)}
	if _, err := seal.Write(context.Background(), fsys, []seal.Environment{env}, []seal.Item{item("equifax.k", "first-value-00001", "sec-1")}); err != nil {
		t.Fatal(err)
	}
	// A person adds a label with sops itself (the MAC covers metadata too).
	first := must(fsys.ReadFile("p/equifax.k.yaml"))
	p := filepath.Join(t.TempDir(), "f.yaml")
	if err := os.WriteFile(p, first, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := runSOPS(t, a, nil, "set", p, `["metadata"]["labels"]`, `{"team":"credit"}`); err != nil {
		t.Fatalf("sops set: %v", err)
	}
	edited := must(os.ReadFile(p))
	if !bytes.Contains(edited, []byte("team: credit")) {
		t.Fatalf("sops set did not add the label:\n%s", edited)
	}
	if err := fsys.WriteFile("p/equifax.k.yaml", edited, 0o644); err != nil {
		t.Fatal(err)
	}
	env.Encoder = encoder(t, "", a.recipient, b.recipient)
	if _, err := seal.Write(context.Background(), fsys, []seal.Environment{env}, []seal.Item{item("equifax.k", "second-value-0002", "sec-2")}); err != nil {
		t.Fatal(err)
	}
	after := must(fsys.ReadFile("p/equifax.k.yaml"))
	for _, id := range []identity{a, b} {
		m, err := sopsDecrypt(t, id, after)
		if err != nil {
			t.Fatalf("sops decrypt: %v\n%s", err, after)
		}
		if dig(m, "data", "client-secret") != b64("second-value-0002") || dig(m, "metadata", "labels", "team") != "credit" {
			t.Errorf("decrypted = %v", m)
		}
	}
	k := string(must(fsys.ReadFile("p/kustomization.yaml")))
	if strings.Count(k, "equifax.k.yaml") != 1 {
		t.Errorf("kustomization lists the file %d times: %s", strings.Count(k, "equifax.k.yaml"), k)
	}
}

// TestOneKeyOfSeveralRotated: a file with two credrotate-unknown keys and
// the rotated one is rotated twice; after each update sops's MAC check
// passes and only the rotated key's ciphertext changed.
func TestOneKeyOfSeveralRotated(t *testing.T) {
	t.Parallel()
	id := newIdentity(t)
	file := personsFile(t, id)
	enc := encoder(t, id.key, id.recipient)
	for i, v := range []string{"rotation-value-01", "rotation-value-02"} {
		before := encryptedValues(t, file)
		it := item("equifax.unique_client_id", v, fmt.Sprintf("sec-%d", i+2))
		var err error
		file, err = enc.Encode(file, seal.Target{Name: it.Ref.Name, Namespace: it.Ref.Namespace, DataKey: it.Ref.DataKey, Value: it.Value, Metadata: it.Metadata})
		if err != nil {
			t.Fatal(err)
		}
		after := encryptedValues(t, file)
		if after["other-key"] != before["other-key"] || after["client-secret"] == before["client-secret"] {
			t.Errorf("rotation %d: ciphertext before %v after %v", i, before, after)
		}
		m, err := sopsDecrypt(t, id, file)
		if err != nil {
			t.Fatalf("rotation %d: sops decrypt: %v", i, err)
		}
		if dig(m, "data", "client-secret") != b64(v) {
			t.Errorf("rotation %d: value = %v", i, dig(m, "data", "client-secret"))
		}
	}
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	id := newIdentity(t)
	enc := encoder(t, "", id.recipient)
	it := item("equifax.k", "some-value-000001", "sec-1")
	tg := seal.Target{Name: it.Ref.Name, Namespace: it.Ref.Namespace, DataKey: it.Ref.DataKey, Value: it.Value, Metadata: it.Metadata}
	for name, file := range map[string]string{
		"plain secret": "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\ndata: {client-secret: eA==}\n",
		"configmap":    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
		"two docs":     "apiVersion: v1\nkind: Secret\n---\napiVersion: v1\nkind: Secret\n",
		"sealed other": "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: x}\nspec: {encryptedData: {client-secret: AgA, other: AgB}}\n",
		"not yaml":     "{{{",
	} {
		if _, err := enc.Encode([]byte(file), tg); !errors.Is(err, sopsout.ErrNotSOPSSecret) {
			t.Errorf("%s: %v", name, err)
		}
	}
	// A SealedSecret holding only the rotated key becomes a SOPS Secret.
	out, err := enc.Encode([]byte("apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata: {name: x}\nspec: {encryptedData: {client-secret: AgA}}\n"), tg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sopsDecrypt(t, id, out); err != nil {
		t.Fatal(err)
	}
	if _, err := sopsout.New(sopsout.Options{Recipients: []string{"age1bad"}}); !errors.Is(err, sopsout.ErrRecipients) {
		t.Errorf("bad recipient: %v", err)
	}
	if _, err := sopsout.New(sopsout.Options{Recipients: []string{id.recipient}, Identity: "AGE-SECRET-KEY-1NOTAKEY"}); err == nil || strings.Contains(err.Error(), "NOTAKEY") {
		t.Errorf("bad identity: %v", err)
	}
	other := item("equifax.other", "some-value-000001", "sec-1")
	first, _ := enc.Encode(nil, tg)
	if _, err := enc.Encode(first, seal.Target{Name: tg.Name, DataKey: tg.DataKey, Value: tg.Value, Metadata: other.Metadata}); !errors.Is(err, seal.ErrIncompatibleManifest) {
		t.Errorf("other provider key: %v", err)
	}
}
