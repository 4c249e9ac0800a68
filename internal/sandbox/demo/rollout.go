package demo

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"

	ssv1alpha1 "github.com/bitnami-labs/sealed-secrets/pkg/apis/sealedsecrets/v1alpha1"
	sscrypto "github.com/bitnami-labs/sealed-secrets/pkg/crypto"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"

	"github.com/credrotate/credrotate/pkg/credential"
)

// RolloutDir plays the rollout of a demo kept in dir (`credrotate-sandbox demo
// --workdir dir`), from its files alone, while the demo serves or after it
// stopped: each key's prod manifest on main is decrypted with keys/prod.key
// and written to current/<key>, as a mounted Secret would change. It
// returns the keys whose deployed secret changed.
func RolloutDir(ctx context.Context, dir string) ([]credential.ProviderKey, error) {
	repo := filepath.Join(dir, "gitops.git")
	if _, err := os.Stat(filepath.Join(repo, "HEAD")); err != nil {
		return nil, fmt.Errorf("%s holds no demo (no gitops.git): run `credrotate-sandbox demo --workdir %s` first", dir, dir)
	}
	priv, err := readPrivateKey(filepath.Join(dir, "keys", "prod.key"))
	if err != nil {
		return nil, err
	}
	ageID := ""
	if _, err := os.Stat(filepath.Join(dir, "keys", "prod.agekey")); err == nil {
		if ageID, err = readAgeIdentity(dir, "prod"); err != nil {
			return nil, err
		}
	}
	entries, err := os.ReadDir(filepath.Join(dir, "current"))
	if err != nil {
		return nil, fmt.Errorf("reading the demo's current secrets: %w", err)
	}
	var keys []credential.ProviderKey
	for _, e := range entries {
		if !e.IsDir() && !strings.HasSuffix(e.Name(), ".tmp") {
			keys = append(keys, credential.ProviderKey(e.Name()))
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	var changed []credential.ProviderKey
	for _, k := range keys {
		name := path.Join("overlays", "prod", "credentials", string(k)+".yaml")
		b, err := exec.CommandContext(ctx, "git", "--git-dir", repo, "show", "main:"+name).Output()
		if err != nil {
			return changed, fmt.Errorf("reading %s on main: %w", name, err)
		}
		var s credential.Secret
		if isSOPSFile(b) {
			s, err = openSOPS(b, name, "prod", ageID)
		} else {
			s, err = unsealManifest(b, name, "prod", priv)
		}
		if err != nil {
			return changed, err
		}
		old, _ := os.ReadFile(filepath.Join(dir, "current", string(k)))
		if strings.TrimSpace(string(old)) == s.Reveal() {
			continue
		}
		if err := writeCurrent(dir, k, s.Reveal()); err != nil {
			return changed, err
		}
		changed = append(changed, k)
	}
	return changed, nil
}

// unsealManifest decrypts a SealedSecret manifest with priv, as env's
// controller would, and returns the value of its one key.
func unsealManifest(b []byte, name, env string, priv *rsa.PrivateKey) (credential.Secret, error) {
	var ss ssv1alpha1.SealedSecret
	if err := yaml.Unmarshal(b, &ss); err != nil {
		return credential.Secret{}, fmt.Errorf("%s: %w", name, err)
	}
	fp, err := sscrypto.PublicKeyFingerprint(&priv.PublicKey)
	if err != nil {
		return credential.Secret{}, err
	}
	sec, err := ss.Unseal(scheme.Codecs, map[string]*rsa.PrivateKey{fp: priv})
	if err != nil {
		return credential.Secret{}, fmt.Errorf("%s does not decrypt with the %s key: %w", name, env, err)
	}
	// The demo's Secrets hold one key: client_secret, or a service
	// account's key file.
	if len(sec.Data) != 1 {
		return credential.Secret{}, fmt.Errorf("%s holds %d keys, not the one the demo writes", name, len(sec.Data))
	}
	for _, v := range sec.Data {
		return credential.NewSecret(string(v)), nil
	}
	return credential.Secret{}, nil
}

func readPrivateKey(p string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("reading the demo's sealing key: %w", err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, errors.New(p + " is not a PEM private key")
	}
	return x509.ParsePKCS1PrivateKey(blk.Bytes)
}
