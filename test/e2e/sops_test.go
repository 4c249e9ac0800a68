//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	ssautil "github.com/fluxcd/pkg/ssa/utils"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	sopsconfig "github.com/getsops/sops/v3/config"
	sopsyaml "github.com/getsops/sops/v3/stores/yaml"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/yaml"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/seal"
	"github.com/credrotate/credrotate/pkg/seal/sopsout"
)

// sopsEnv is the environment the rotation tier puts on SOPS; the other two
// stay on Sealed Secrets. It is staging, the environment of the example
// Flux Kustomization with decryption (examples/flux/sops).
const sopsEnv = "staging"

// fluxNamespace is where Flux's objects (and its decryption Secret) live.
const fluxNamespace = "flux-system"

// ageKey is an age key pair made in the test: the cluster's key, which its
// kustomize-controller decrypts with.
type ageKey struct{ identity, recipient string }

func newAgeKey(t *testing.T) ageKey {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return ageKey{identity: id.String(), recipient: id.Recipient().String()}
}

// putDecryptionSecret stores key as Flux's decryption Secret name in
// flux-system (data key age.agekey), as `kubectl create secret generic
// sops-age --from-file=age.agekey` does.
func (c *cluster) putDecryptionSecret(t *testing.T, name string, key ageKey) {
	t.Helper()
	ctx := t.Context()
	if _, err := c.clientset.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fluxNamespace}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: fluxNamespace, Name: name}, Data: map[string][]byte{"age.agekey": []byte(key.identity + "\n")}}
	if _, err := c.clientset.CoreV1().Secrets(fluxNamespace).Create(ctx, s, metav1.CreateOptions{}); apierrors.IsAlreadyExists(err) {
		_, err = c.clientset.CoreV1().Secrets(fluxNamespace).Update(ctx, s, metav1.UpdateOptions{})
		if err != nil {
			t.Fatal(err)
		}
	} else if err != nil {
		t.Fatal(err)
	}
}

// decryptionIdentities returns the age identities a Flux Kustomization
// decrypts with: spec.decryption {provider: sops, secretRef} names a Secret
// in the Kustomization's namespace whose keys ending in .agekey hold them
// (kustomize-controller's convention). "" when ks has no decryption.
func (c *cluster) decryptionIdentities(ctx context.Context, ks *unstructured.Unstructured) (string, error) {
	provider, _, _ := unstructured.NestedString(ks.Object, "spec", "decryption", "provider")
	if provider == "" {
		return "", nil
	}
	if provider != "sops" {
		return "", fmt.Errorf("%s: decryption provider %q is not sops", ks.GetName(), provider)
	}
	name, _, _ := unstructured.NestedString(ks.Object, "spec", "decryption", "secretRef", "name")
	s, err := c.clientset.CoreV1().Secrets(ks.GetNamespace()).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("%s: reading the decryption Secret %s/%s: %w", ks.GetName(), ks.GetNamespace(), name, err)
	}
	var keys []string
	for k := range s.Data {
		if strings.HasSuffix(k, ".agekey") {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var ids []string
	for _, k := range keys {
		ids = append(ids, strings.TrimSpace(string(s.Data[k])))
	}
	if len(ids) == 0 {
		return "", fmt.Errorf("%s: the decryption Secret %s has no .agekey entry", ks.GetName(), name)
	}
	return strings.Join(ids, "\n"), nil
}

// decryptBuilt is kustomize-controller's decryption step: after the
// build, every resource that carries SOPS metadata is decrypted with the
// Kustomization's age identities — SOPS's YAML store loads it, SOPS's age
// key source unwraps the data key, SOPS's tree and AES cipher decrypt the
// values and recompute the MAC, which must equal the file's — and replaced
// by its plaintext. A SOPS resource without identities is an error, as
// kustomize-controller refuses to apply one. It returns the manifests.
func decryptBuilt(resMap resmap.ResMap, identities string) ([]byte, error) {
	var out bytes.Buffer
	for i, res := range resMap.Resources() {
		doc, err := res.AsYAML()
		if err != nil {
			return nil, err
		}
		fields, err := res.Map()
		if err != nil {
			return nil, err
		}
		if _, encrypted := fields["sops"]; encrypted {
			if identities == "" {
				return nil, fmt.Errorf("%s %s/%s is SOPS-encrypted and the Kustomization has no decryption", res.GetKind(), res.GetNamespace(), res.GetName())
			}
			if doc, err = sopsDecrypt(doc, identities); err != nil {
				return nil, fmt.Errorf("decrypting %s %s/%s: %w", res.GetKind(), res.GetNamespace(), res.GetName(), err)
			}
		}
		if i > 0 {
			out.WriteString("---\n")
		}
		out.Write(doc)
	}
	return out.Bytes(), nil
}

// sopsDecrypt decrypts one SOPS YAML document with age identities and
// verifies its MAC, as `sops decrypt` and kustomize-controller do.
func sopsDecrypt(doc []byte, identities string) ([]byte, error) {
	var ids sopsage.ParsedIdentities
	if err := ids.Import(identities); err != nil {
		return nil, fmt.Errorf("the age identities do not parse")
	}
	store := sopsyaml.NewStore(&sopsconfig.YAMLStoreConfig{})
	tree, err := store.LoadEncryptedFile(doc)
	if err != nil {
		return nil, err
	}
	var dataKey []byte
	for _, g := range tree.Metadata.KeyGroups {
		for _, k := range g {
			ak, ok := k.(*sopsage.MasterKey)
			if !ok || dataKey != nil {
				continue
			}
			ids.ApplyToMasterKey(ak)
			if dk, err := ak.Decrypt(); err == nil {
				dataKey = dk
			}
		}
	}
	if dataKey == nil {
		return nil, fmt.Errorf("no identity opens the data key")
	}
	cipher := aes.NewCipher()
	mac, err := tree.Decrypt(dataKey, cipher)
	if err != nil {
		return nil, err
	}
	fileMAC, err := cipher.Decrypt(tree.Metadata.MessageAuthenticationCode, dataKey, tree.Metadata.LastModified.Format(time.RFC3339))
	if err != nil || fileMAC != mac {
		return nil, fmt.Errorf("failed to verify sops data integrity (MAC mismatch)")
	}
	return store.EmitPlainFile(tree.Branches)
}

// sopsKustomizations are the example Flux Kustomizations with decryption
// (examples/flux/sops), by environment.
func sopsKustomizations(t *testing.T) map[string]*unstructured.Unstructured {
	t.Helper()
	f, err := os.Open(filepath.Join(repoRoot, "examples", "flux", "sops", "kustomizations.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	objs, err := ssautil.ReadObjects(f)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*unstructured.Unstructured{}
	for _, o := range objs {
		path, _, _ := unstructured.NestedString(o.Object, "spec", "path")
		out[strings.TrimPrefix(path, "./overlays/")] = o
	}
	if out[sopsEnv] == nil {
		t.Fatalf("examples/flux/sops/kustomizations.yaml has no Kustomization for overlays/%s", sopsEnv)
	}
	return out
}

// requireAppliedByFlux checks that a Secret of an environment on SOPS is
// kustomize-controller's work: applied server-side by its field manager,
// with its owner labels, and holding no SOPS metadata.
func requireAppliedByFlux(t *testing.T, s *corev1.Secret) {
	t.Helper()
	managed := false
	for _, f := range s.ManagedFields {
		managed = managed || (f.Manager == "kustomize-controller" && f.Operation == metav1.ManagedFieldsOperationApply)
	}
	if !managed || s.Labels[fluxKustomizationGroup+"/name"] == "" {
		t.Errorf("Secret %s/%s was not applied by kustomize-controller: labels %v", s.Namespace, s.Name, s.Labels)
	}
	if len(s.OwnerReferences) > 0 {
		t.Errorf("Secret %s/%s has owners %+v; a SOPS Secret is applied directly", s.Namespace, s.Name, s.OwnerReferences)
	}
	if b, _ := yaml.Marshal(s); bytes.Contains(b, []byte("ENC[AES256_GCM")) {
		t.Errorf("Secret %s/%s holds SOPS ciphertext", s.Namespace, s.Name)
	}
}

// TestSOPSOverlayBuild needs no cluster: the example repository's staging
// overlay with a SOPS Secret credrotate's seal package wrote is built and
// decrypted the way kustomize-controller does (the MAC verified after the
// overlay's transformers ran), and yields the Secret with the value; with
// another cluster's identity it is refused.
func TestSOPSOverlayBuild(t *testing.T) {
	t.Parallel()
	key, other := newAgeKey(t), newAgeKey(t)
	dir := t.TempDir()
	example := filepath.Join(repoRoot, "examples", "gitops-repo")
	files := map[string]string{}
	for _, name := range []string{"base/kustomization.yaml", "base/deployment.yaml", "overlays/" + sopsEnv + "/kustomization.yaml"} {
		b, err := os.ReadFile(filepath.Join(example, filepath.FromSlash(name)))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = string(b)
	}
	files["overlays/"+sopsEnv+"/credentials/kustomization.yaml"] = "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: []\n"
	writeFiles(t, dir, files)
	enc, err := sopsout.New(sopsout.Options{Recipients: []string{key.recipient}})
	if err != nil {
		t.Fatal(err)
	}
	value := credential.NewSecret(randomValue(t))
	env := seal.Environment{Name: sopsEnv, Path: "overlays/" + sopsEnv + "/credentials", Namespace: appNamespace(sopsEnv), Encryption: seal.EncryptionSOPS, Encoder: enc}
	if _, err := seal.Write(t.Context(), dirFS(t, dir), []seal.Environment{env}, []seal.Item{checkItem("equifax.unique_client_id", "equifax-credentials", value)}); err != nil {
		t.Fatal(err)
	}
	ks := sopsKustomizations(t)[sopsEnv]
	manifests, err := fluxBuild(dir, ks, key.identity)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := ssautil.ReadObjects(bytes.NewReader(manifests))
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, o := range objs {
		if o.GetKind() != "Secret" {
			continue
		}
		found = true
		var s corev1.Secret
		b, _ := yaml.Marshal(o.Object)
		if err := yaml.Unmarshal(b, &s); err != nil {
			t.Fatal(err)
		}
		if string(s.Data["client_secret"]) != value.Reveal() || s.Namespace != appNamespace(sopsEnv) || s.Annotations[seal.AnnotationSecretID] != "sec-equifax-credentials" {
			t.Errorf("built Secret %s/%s: annotations %v, value matches %v", s.Namespace, s.Name, s.Annotations, string(s.Data["client_secret"]) == value.Reveal())
		}
		if _, ok := o.Object["sops"]; ok {
			t.Error("the built Secret still carries SOPS metadata")
		}
	}
	if !found {
		t.Fatalf("the build has no Secret:\n%s", manifests)
	}
	if _, err := fluxBuild(dir, ks, other.identity); err == nil || !strings.Contains(err.Error(), "no identity opens") {
		t.Errorf("built with another cluster's identity: %v", err)
	}
	if _, err := fluxBuild(dir, ks, ""); err == nil || !strings.Contains(err.Error(), "no decryption") {
		t.Errorf("built without decryption: %v", err)
	}

	// Why credrotate writes mac_only_encrypted: a MAC over every value
	// breaks once the overlay's labels transformer has run.
	all, err := sopsout.New(sopsout.Options{Recipients: []string{key.recipient}, MACAll: true})
	if err != nil {
		t.Fatal(err)
	}
	env.Encoder = all
	if err := os.Remove(filepath.Join(dir, "overlays", sopsEnv, "credentials", "equifax.unique_client_id.yaml")); err != nil {
		t.Fatal(err)
	}
	if _, err := seal.Write(t.Context(), dirFS(t, dir), []seal.Environment{env}, []seal.Item{checkItem("equifax.unique_client_id", "equifax-credentials", value)}); err != nil {
		t.Fatal(err)
	}
	if _, err := fluxBuild(dir, ks, key.identity); err == nil || !strings.Contains(err.Error(), "MAC mismatch") {
		t.Errorf("a MAC over every value after the labels transformer: %v", err)
	}
}
