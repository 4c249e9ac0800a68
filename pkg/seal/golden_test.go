package seal

import (
	"flag"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes/scheme"

	"github.com/credrotate/credrotate/pkg/credential"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden after/ folders")

var encryptedLine = regexp.MustCompile(`(?m)^(\s+[A-Za-z0-9._-]+: )[A-Za-z0-9+/]{100,}={0,2}$`)

// maskCiphertext replaces every long ciphertext value with SEALED:
// ciphertext is random, so goldens compare structure and tests check values
// by decrypting.
func maskCiphertext(t testing.TB, data []byte) string {
	t.Helper()
	return encryptedLine.ReplaceAllString(string(data), "${1}SEALED")
}

var rotatedLine = regexp.MustCompile(`(?m)^(\s+client_secret: )[A-Za-z0-9+/]{100,}={0,2}$`)

// copyTree copies the folder src into dst.
func copyTree(t testing.TB, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// readTree returns every file below dir by its slash path.
func readTree(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestUpdateGolden updates a file that has other keys, a person's labels,
// annotations and comments, and adds a new provider key to the same folder.
// The rotated client_secret values are masked and checked by decrypting;
// everything else must match testdata/update/after byte for byte.
func TestUpdateGolden(t *testing.T) {
	dir := t.TempDir()
	copyTree(t, "testdata/update/before", dir)
	fsys, err := OpenDirFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fsys.Close() })

	rotated := testItem("equifax.unique_client_id")
	added := Item{
		Ref:   SecretRef{Name: "equifax-batch-credentials", Namespace: "credit", DataKey: "client_secret"},
		Value: credential.NewSecret("b4tch-s3cret-value"),
		Metadata: credential.Metadata{
			ProviderKey: "equifax.batch_client_id", SecretID: "sec-0100",
			ExpiresAt: testNow.Add(60 * 24 * time.Hour), RotatedAt: testNow, TraceID: "trace-1234",
		},
	}
	env := Environment{Name: "prod", Path: "overlays/prod/credentials", Cert: testCert(t, "prod", "prod")}
	written, err := Write(t.Context(), fsys, []Environment{env}, []Item{rotated, added})
	if err != nil {
		t.Fatal(err)
	}
	if len(written) != 3 || written[0].Created || !written[1].Created || written[2].Kind != KindKustomization || written[2].Created {
		t.Errorf("written = %+v", written)
	}

	got := readTree(t, dir)
	values := map[string]string{
		"overlays/prod/credentials/equifax.unique_client_id.yaml": testSecretValue,
		"overlays/prod/credentials/equifax.batch_client_id.yaml":  "b4tch-s3cret-value",
	}
	for p, want := range values {
		// Only client_secret was sealed here; the untouched client_id (and
		// the template built from it) belong to another key.
		ss := decodeSealed(t, []byte(got[p]))
		ss.Spec.EncryptedData = map[string]string{"client_secret": ss.Spec.EncryptedData["client_secret"]}
		ss.Spec.Template.Data = nil
		sec, err := ss.Unseal(scheme.Codecs, privKeys(t, "prod"))
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if string(sec.Data["client_secret"]) != want {
			t.Errorf("%s: client_secret does not decrypt to the new value", p)
		}
		got[p] = rotatedLine.ReplaceAllString(got[p], "${1}SEALED")
	}

	afterDir := "testdata/update/after"
	if *updateGolden {
		_ = os.RemoveAll(afterDir)
		for p, c := range got {
			f := filepath.Join(afterDir, filepath.FromSlash(p))
			if err := os.MkdirAll(filepath.Dir(f), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(f, []byte(c), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := readTree(t, afterDir)
	for p := range want {
		if _, ok := got[p]; !ok {
			t.Errorf("missing %s", p)
		}
	}
	for p, g := range got {
		if w, ok := want[p]; !ok {
			t.Errorf("unexpected file %s", p)
		} else if g != w {
			t.Errorf("%s differs from the golden file:\n--- got\n%s\n--- want\n%s", p, g, w)
		}
	}
}
