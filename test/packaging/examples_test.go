package packaging

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	ssv1alpha1 "github.com/bitnami-labs/sealed-secrets/pkg/apis/sealedsecrets/v1alpha1"
	sealedcrypto "github.com/bitnami-labs/sealed-secrets/pkg/crypto"
	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/credrotate/credrotate/pkg/config"
)

// environments of the example GitOps repository and the namespace each
// overlay renders.
var exampleEnvs = map[string]string{
	"prod":    "credit-prod",
	"staging": "credit-staging",
	"uat":     "credit-uat",
}

const exampleKey = "equifax.unique_client_id"

func gitopsRepo(t testing.TB) string {
	return filepath.Join(repoRoot(t), "examples", "gitops-repo")
}

// kustomizeBuild runs `kustomize build dir` in-process.
func kustomizeBuild(t testing.TB, dir string) ([]object, error) {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resMap, err := k.Run(filesys.MakeFsOnDisk(), dir)
	if err != nil {
		return nil, err
	}
	out, err := resMap.AsYaml()
	if err != nil {
		return nil, err
	}
	return splitObjects(t, "kustomize build "+dir, out), nil
}

// sealedSecret is the part of a SealedSecret the tests read.
type sealedSecret struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name        string            `json:"name"`
		Namespace   string            `json:"namespace"`
		Annotations map[string]string `json:"annotations"`
		Labels      map[string]string `json:"labels"`
	} `json:"metadata"`
	Spec struct {
		EncryptedData map[string]string `json:"encryptedData"`
		Template      struct {
			Metadata struct {
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"metadata"`
			Type string `json:"type"`
		} `json:"template"`
	} `json:"spec"`
}

func TestExampleOverlaysBuild(t *testing.T) {
	for env, ns := range exampleEnvs {
		t.Run(env, func(t *testing.T) {
			objs, err := kustomizeBuild(t, filepath.Join(gitopsRepo(t), "overlays", env))
			if err != nil {
				t.Fatalf("kustomize build overlays/%s: %v", env, err)
			}
			for _, o := range objs {
				if o.Namespace != ns {
					t.Errorf("%s/%s renders into namespace %q, want %q", o.Kind, o.Name, o.Namespace, ns)
				}
			}
			deps := only(objs, "Deployment")
			if len(deps) != 1 {
				t.Fatalf("want one Deployment, got %v", kinds(objs))
			}
			var dep appsv1.Deployment
			decodeStrict(t, deps[0], &dep)
			var reads bool
			for _, v := range dep.Spec.Template.Spec.Volumes {
				if v.Secret != nil && v.Secret.SecretName == "equifax-credentials" {
					for _, it := range v.Secret.Items {
						reads = reads || it.Key == "client_secret"
					}
				}
			}
			if !reads {
				t.Error("the Deployment does not read Secret equifax-credentials key client_secret")
			}

			sss := only(objs, "SealedSecret")
			if len(sss) != 1 {
				t.Fatalf("want one SealedSecret, got %v", kinds(objs))
			}
			var ss sealedSecret
			decodeStrict(t, sss[0], &ss)
			if ss.APIVersion != "bitnami.com/v1alpha1" {
				t.Errorf("SealedSecret apiVersion %q", ss.APIVersion)
			}
			if ss.Metadata.Name != "equifax-credentials" || ss.Metadata.Namespace != ns {
				t.Errorf("SealedSecret renders as %s/%s, want %s/equifax-credentials", ss.Metadata.Namespace, ss.Metadata.Name, ns)
			}
			// Strict scope: what it was sealed for must be what renders.
			if tm := ss.Spec.Template.Metadata; tm.Name != ss.Metadata.Name || tm.Namespace != ss.Metadata.Namespace {
				t.Errorf("sealed for %s/%s but renders as %s/%s: the controller could not decrypt it", tm.Namespace, tm.Name, ss.Metadata.Namespace, ss.Metadata.Name)
			}
			if got := ss.Metadata.Annotations["credrotate.io/provider-key"]; got != exampleKey {
				t.Errorf("credrotate.io/provider-key = %q, want %s", got, exampleKey)
			}
			for _, a := range []string{"secret-id", "expires-at", "rotated-at", "fingerprint", "trace-id"} {
				if ss.Metadata.Annotations["credrotate.io/"+a] == "" {
					t.Errorf("annotation credrotate.io/%s is missing", a)
				}
			}
			// The ciphertext is sealed-secrets' hybrid format for this
			// environment's certificate: a 2-byte length, then the session
			// key encrypted with the certificate's RSA key.
			ct, err := base64.StdEncoding.DecodeString(ss.Spec.EncryptedData["client_secret"])
			if err != nil {
				t.Fatalf("encryptedData.client_secret is not base64: %v", err)
			}
			cert := parseCert(t, readFile(t, "examples/gitops-repo/certs/"+env+".pem"))
			if n := cert.PublicKey.(*rsa.PublicKey).Size(); len(ct) < 2+n+16 || int(ct[0])<<8|int(ct[1]) != n {
				t.Errorf("client_secret ciphertext (%d bytes) is not sealed with a %d-byte RSA key", len(ct), n)
			}
		})
	}
}

func parseCert(t testing.TB, pemBytes []byte) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode(pemBytes)
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatal("not a PEM certificate")
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := cert.PublicKey.(*rsa.PublicKey); !ok {
		t.Fatalf("certificate key is %T, want RSA", cert.PublicKey)
	}
	return cert
}

// loadExampleConfig loads an example config the way credrotate does, with an
// empty environment so nothing on the test machine leaks in.
func loadExampleConfig(t testing.TB, rel string) *config.Config {
	t.Helper()
	cfg, err := config.Load(config.LoadOptions{Path: filepath.Join(repoRoot(t), filepath.FromSlash(rel)), Environ: []string{}})
	if err != nil {
		t.Fatalf("%s does not load: %v", rel, err)
	}
	return cfg
}

// TestExampleConfigs loads each example config with credrotate's own loader
// and checks it against the example repository: every environment's folder
// exists with a kustomization.yaml that lists the key's file, and is sealed
// for the namespace its overlay renders.
func TestExampleConfigs(t *testing.T) {
	for _, rel := range []string{"examples/configs/github-actions.yaml", "examples/configs/cronjob.yaml"} {
		t.Run(path.Base(rel), func(t *testing.T) {
			cfg := loadExampleConfig(t, rel)
			if len(cfg.Environments) != len(exampleEnvs) {
				t.Errorf("%d environments, want %d", len(cfg.Environments), len(exampleEnvs))
			}
			p, ok := cfg.Provider(exampleKey)
			if !ok {
				t.Fatalf("no provider %s", exampleKey)
			}
			for _, e := range cfg.Environments {
				ns, ok := exampleEnvs[e.Name]
				if !ok {
					t.Errorf("environment %q is not in the example repository", e.Name)
					continue
				}
				if got := e.NamespaceFor(p); got != ns {
					t.Errorf("%s: seals for namespace %q, but overlays/%s renders %q", e.Name, got, e.Name, ns)
				}
				manifest := filepath.Join(gitopsRepo(t), filepath.FromSlash(e.ManifestPath(p.Key)))
				if _, err := os.Stat(manifest); err != nil {
					t.Errorf("%s: %v", e.Name, err)
				}
				var kus struct {
					Resources []string `json:"resources"`
				}
				if err := yaml.Unmarshal(readFile(t, path.Join("examples/gitops-repo", e.Path, "kustomization.yaml")), &kus); err != nil {
					t.Fatal(err)
				}
				if !slices.Contains(kus.Resources, string(p.Key)+".yaml") {
					t.Errorf("%s/kustomization.yaml resources %v do not list %s.yaml", e.Path, kus.Resources, p.Key)
				}
				if e.Cert.File != "" {
					// github-actions.yaml sits at the repository's root, next to
					// certs/; the chart mounts the same names beside cronjob.yaml.
					rel := strings.TrimPrefix(filepath.ToSlash(e.Cert.File), filepath.ToSlash(filepath.Join(repoRoot(t), "examples", "configs"))+"/")
					parseCert(t, readFile(t, path.Join("examples/gitops-repo", rel)))
				}
			}
		})
	}
}

// TestSealedSecretsDecryptAfterKustomize seals a canary the way the example
// configs say (the provider's secret name, the environment's namespace) with
// a key made here, puts it where the config says, builds each overlay as Argo
// CD or Flux would, and decrypts what the overlay rendered as the
// sealed-secrets controller would. An overlay that renamed or moved the
// Secret (a namePrefix, another namespace) fails here.
func TestSealedSecretsDecryptAfterKustomize(t *testing.T) {
	cfg := loadExampleConfig(t, "examples/configs/github-actions.yaml")
	p, _ := cfg.Provider(exampleKey)
	canary := []byte("canary-" + rand.Text())

	seal := func(t *testing.T, repo string, priv *rsa.PrivateKey, envName string) {
		t.Helper()
		var env config.Environment
		for _, e := range cfg.Environments {
			if e.Name == envName {
				env = e
			}
		}
		file := filepath.Join(repo, filepath.FromSlash(env.ManifestPath(p.Key)))
		var doc map[string]any
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(b, &doc); err != nil {
			t.Fatal(err)
		}
		ns, name := env.NamespaceFor(p), p.Secret.Name
		label := ssv1alpha1.EncryptionLabel(ns, name, ssv1alpha1.StrictScope)
		ct, err := sealedcrypto.HybridEncrypt(rand.Reader, &priv.PublicKey, canary, label)
		if err != nil {
			t.Fatal(err)
		}
		meta := doc["metadata"].(map[string]any)
		meta["name"], meta["namespace"] = name, ns
		spec := doc["spec"].(map[string]any)
		spec["encryptedData"] = map[string]any{p.Secret.DataKey: base64.StdEncoding.EncodeToString(ct)}
		tm := spec["template"].(map[string]any)["metadata"].(map[string]any)
		tm["name"], tm["namespace"] = name, ns
		out, err := yaml.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// unseal decrypts the rendered SealedSecret as the controller does: with
	// the label of the name and namespace it has in the cluster.
	unseal := func(t *testing.T, objs []object, priv *rsa.PrivateKey) ([]byte, error) {
		t.Helper()
		sss := only(objs, "SealedSecret")
		if len(sss) != 1 {
			t.Fatalf("want one SealedSecret, got %v", kinds(objs))
		}
		var ss sealedSecret
		decodeStrict(t, sss[0], &ss)
		ct, err := base64.StdEncoding.DecodeString(ss.Spec.EncryptedData[p.Secret.DataKey])
		if err != nil {
			t.Fatal(err)
		}
		label := ssv1alpha1.EncryptionLabel(ss.Metadata.Namespace, ss.Metadata.Name, ssv1alpha1.StrictScope)
		return sealedcrypto.HybridDecrypt(rand.Reader, map[string]*rsa.PrivateKey{"": priv}, ct, label)
	}
	copyRepo := func(t *testing.T) string {
		t.Helper()
		dst := filepath.Join(t.TempDir(), "gitops")
		if err := os.CopyFS(dst, os.DirFS(gitopsRepo(t))); err != nil {
			t.Fatal(err)
		}
		return dst
	}
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}

	for env := range exampleEnvs {
		t.Run(env, func(t *testing.T) {
			repo := copyRepo(t)
			seal(t, repo, priv, env)
			objs, err := kustomizeBuild(t, filepath.Join(repo, "overlays", env))
			if err != nil {
				t.Fatal(err)
			}
			got, err := unseal(t, objs, priv)
			if err != nil {
				t.Fatalf("the SealedSecret overlays/%s renders does not decrypt: %v", env, err)
			}
			if !bytes.Equal(got, canary) {
				t.Fatal("decrypted value is not the canary")
			}
		})
	}

	t.Run("an overlay that renames the Secret breaks decryption", func(t *testing.T) {
		repo := copyRepo(t)
		seal(t, repo, priv, "prod")
		kus := filepath.Join(repo, "overlays", "prod", "kustomization.yaml")
		b, err := os.ReadFile(kus)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(kus, append(b, "namePrefix: v2-\n"...), 0o644); err != nil {
			t.Fatal(err)
		}
		objs, err := kustomizeBuild(t, filepath.Join(repo, "overlays", "prod"))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := unseal(t, objs, priv); err == nil {
			t.Fatal("a SealedSecret renamed by the overlay still decrypts: the check proves nothing")
		}
	})
}

// TestArgoCDExamples checks that every Application the Argo CD examples make
// syncs an overlay that exists into the namespace that overlay renders.
func TestArgoCDExamples(t *testing.T) {
	type app struct {
		Spec struct {
			Project string `json:"project"`
			Source  struct {
				RepoURL        string `json:"repoURL"`
				TargetRevision string `json:"targetRevision"`
				Path           string `json:"path"`
			} `json:"source"`
			Destination struct {
				Server    string `json:"server"`
				Namespace string `json:"namespace"`
			} `json:"destination"`
			SyncPolicy map[string]any `json:"syncPolicy"`
		} `json:"spec"`
	}
	seen := map[string]int{}
	check := func(t *testing.T, name string, a app) {
		t.Helper()
		s := a.Spec
		env := strings.TrimPrefix(s.Source.Path, "overlays/")
		ns, ok := exampleEnvs[env]
		if !ok {
			t.Errorf("%s: source.path %q is not an overlay of the example repository", name, s.Source.Path)
			return
		}
		if _, err := os.Stat(filepath.Join(gitopsRepo(t), s.Source.Path, "kustomization.yaml")); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if s.Destination.Namespace != ns {
			t.Errorf("%s: destination namespace %q, but overlays/%s renders %q", name, s.Destination.Namespace, env, ns)
		}
		if s.Source.RepoURL == "" || s.Source.TargetRevision == "" || s.Destination.Server == "" || s.Project == "" {
			t.Errorf("%s: repoURL, targetRevision, project and destination.server are required: %+v", name, s)
		}
		seen[env]++
	}

	t.Run("applicationset", func(t *testing.T) {
		objs := splitObjects(t, "applicationset.yaml", readFile(t, "examples/argocd/applicationset.yaml"))
		if len(objs) != 1 || objs[0].Kind != "ApplicationSet" || objs[0].APIVersion != "argoproj.io/v1alpha1" {
			t.Fatalf("want one argoproj.io/v1alpha1 ApplicationSet, got %v", kinds(objs))
		}
		var set struct {
			Spec struct {
				GoTemplate bool `json:"goTemplate"`
				Generators []struct {
					List struct {
						Elements []map[string]string `json:"elements"`
					} `json:"list"`
				} `json:"generators"`
				Template map[string]any `json:"template"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal(objs[0].YAML, &set); err != nil {
			t.Fatal(err)
		}
		if !set.Spec.GoTemplate || len(set.Spec.Generators) != 1 {
			t.Fatalf("want one list generator with goTemplate: %+v", set.Spec)
		}
		tmpl, err := yaml.Marshal(set.Spec.Template)
		if err != nil {
			t.Fatal(err)
		}
		for _, el := range set.Spec.Generators[0].List.Elements {
			// Argo CD's fasttemplate/Go template fields used here are {{.env}} and {{.server}}.
			doc := string(tmpl)
			for k, v := range el {
				doc = strings.ReplaceAll(doc, "{{."+k+"}}", v)
			}
			if strings.Contains(doc, "{{") {
				t.Fatalf("unresolved template field in\n%s", doc)
			}
			var a app
			if err := yaml.Unmarshal([]byte(doc), &a); err != nil {
				t.Fatal(err)
			}
			check(t, "ApplicationSet element "+el["env"], a)
		}
	})
	t.Run("applications", func(t *testing.T) {
		objs := splitObjects(t, "applications.yaml", readFile(t, "examples/argocd/applications.yaml"))
		if len(objs) != len(exampleEnvs) {
			t.Fatalf("want %d Applications, got %v", len(exampleEnvs), kinds(objs))
		}
		for _, o := range objs {
			if o.Kind != "Application" || o.APIVersion != "argoproj.io/v1alpha1" {
				t.Errorf("%s is not an argoproj.io/v1alpha1 Application", o.Kind)
				continue
			}
			var a app
			if err := yaml.Unmarshal(o.YAML, &a); err != nil {
				t.Fatal(err)
			}
			check(t, o.Name, a)
		}
	})
	for env := range exampleEnvs {
		if seen[env] != 2 {
			t.Errorf("overlay %s is synced by %d Argo CD examples, want 2 (the ApplicationSet and its Application)", env, seen[env])
		}
	}
}

// TestFluxExamples checks the GitRepository and that each Kustomization
// applies an overlay that exists, from that GitRepository, into the
// namespace the overlay renders; and that the folder itself builds.
func TestFluxExamples(t *testing.T) {
	objs, err := kustomizeBuild(t, filepath.Join(repoRoot(t), "examples", "flux"))
	if err != nil {
		t.Fatalf("kustomize build examples/flux: %v", err)
	}
	repos := only(objs, "GitRepository")
	if len(repos) != 1 || repos[0].APIVersion != "source.toolkit.fluxcd.io/v1" {
		t.Fatalf("want one source.toolkit.fluxcd.io/v1 GitRepository, got %v", kinds(objs))
	}
	var repo struct {
		Spec struct {
			URL string `json:"url"`
			Ref struct {
				Branch string `json:"branch"`
			} `json:"ref"`
			Interval string `json:"interval"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(repos[0].YAML, &repo); err != nil {
		t.Fatal(err)
	}
	if repo.Spec.URL == "" || repo.Spec.Ref.Branch == "" || repo.Spec.Interval == "" {
		t.Errorf("GitRepository needs url, ref.branch and interval: %+v", repo.Spec)
	}
	seen := map[string]bool{}
	for _, o := range only(objs, "Kustomization") {
		if o.APIVersion != "kustomize.toolkit.fluxcd.io/v1" {
			t.Errorf("%s: apiVersion %q", o.Name, o.APIVersion)
		}
		var k struct {
			Spec struct {
				Path      string `json:"path"`
				SourceRef struct {
					Kind string `json:"kind"`
					Name string `json:"name"`
				} `json:"sourceRef"`
				TargetNamespace string `json:"targetNamespace"`
				Prune           bool   `json:"prune"`
				Interval        string `json:"interval"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal(o.YAML, &k); err != nil {
			t.Fatal(err)
		}
		env := strings.TrimPrefix(k.Spec.Path, "./overlays/")
		ns, ok := exampleEnvs[env]
		if !ok {
			t.Errorf("%s: path %q is not an overlay of the example repository", o.Name, k.Spec.Path)
			continue
		}
		if _, err := os.Stat(filepath.Join(gitopsRepo(t), filepath.FromSlash(k.Spec.Path), "kustomization.yaml")); err != nil {
			t.Errorf("%s: %v", o.Name, err)
		}
		if k.Spec.SourceRef.Kind != "GitRepository" || k.Spec.SourceRef.Name != repos[0].Name {
			t.Errorf("%s: sourceRef %+v, want GitRepository %s", o.Name, k.Spec.SourceRef, repos[0].Name)
		}
		// targetNamespace moves every object; a SealedSecret moved away from
		// the namespace it was sealed for does not decrypt.
		if k.Spec.TargetNamespace != "" && k.Spec.TargetNamespace != ns {
			t.Errorf("%s: targetNamespace %q, but overlays/%s is sealed for %q", o.Name, k.Spec.TargetNamespace, env, ns)
		}
		if k.Spec.Interval == "" {
			t.Errorf("%s: no interval", o.Name)
		}
		seen[env] = true
	}
	for env := range exampleEnvs {
		if !seen[env] {
			t.Errorf("no Flux Kustomization applies overlays/%s", env)
		}
	}
}
