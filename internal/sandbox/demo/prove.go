package demo

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path"
	"strings"

	"github.com/credrotate/credrotate/pkg/credential"
)

// MainFile reads a file from the repository's main branch.
func (w *World) MainFile(ctx context.Context, name string) ([]byte, error) {
	out, err := exec.CommandContext(ctx, "git", "--git-dir", w.Hub.RepoDir(), "show", "main:"+name).Output()
	if err != nil {
		return nil, fmt.Errorf("reading %s on main: %w", name, err)
	}
	return out, nil
}

// Unseal decrypts the SealedSecret of key in env on main with env's private
// key — as that cluster's controller would — and returns the data key's value.
// A SOPS Secret is decrypted with env's age identity instead.
func (w *World) Unseal(ctx context.Context, env string, key credential.ProviderKey) (credential.Secret, error) {
	return w.unsealWith(ctx, env, key, env)
}

// unsealWith decrypts env's manifest of key with keyEnv's keys: its
// sealing key, or its age identity for a SOPS Secret.
func (w *World) unsealWith(ctx context.Context, env string, key credential.ProviderKey, keyEnv string) (credential.Secret, error) {
	name := path.Join("overlays", env, "credentials", string(key)+".yaml")
	b, err := w.MainFile(ctx, name)
	if err != nil {
		return credential.Secret{}, err
	}
	if isSOPSFile(b) {
		id, ok := w.AgeIdentity[keyEnv]
		if !ok {
			return credential.Secret{}, fmt.Errorf("%s is a SOPS Secret; the %s environment has no age key", name, keyEnv)
		}
		return openSOPS(b, name, keyEnv, id)
	}
	return unsealManifest(b, name, env, w.Private[keyEnv])
}

// Rollout plays Argo CD or Flux and the sealed-secrets controller: for every
// key, the prod manifest on main is decrypted and written to the key's
// current-secret file, as a mounted Secret would change. It returns the keys
// whose deployed secret changed.
func (w *World) Rollout(ctx context.Context) ([]credential.ProviderKey, error) {
	var changed []credential.ProviderKey
	for _, k := range w.Keys {
		s, err := w.Unseal(ctx, "prod", k.Key)
		if err != nil {
			return changed, err
		}
		old, _ := os.ReadFile(w.CurrentFile(k.Key))
		if strings.TrimSpace(string(old)) == s.Reveal() {
			continue
		}
		if err := writeCurrent(w.Dir, k.Key, s.Reveal()); err != nil {
			return changed, err
		}
		changed = append(changed, k.Key)
	}
	return changed, nil
}

// Proof is one manifest checked by Prove.
type Proof struct {
	Key         credential.ProviderKey
	Env         string
	Fingerprint string
}

// Prove checks the result on main: every manifest decrypts with its own
// environment's key, with no other environment's key, to a secret the
// emulator accepts now, and every environment holds the same secret.
func (w *World) Prove(ctx context.Context) ([]Proof, error) {
	var proofs []Proof
	for _, k := range w.Keys {
		var first credential.Secret
		for _, env := range Environments {
			s, err := w.Unseal(ctx, env, k.Key)
			if err != nil {
				return proofs, err
			}
			for _, other := range Environments {
				if other == env {
					continue
				}
				if _, err := w.unsealWith(ctx, env, k.Key, other); err == nil {
					return proofs, fmt.Errorf("the %s manifest of %s also decrypts with the %s key", env, k.Key, other)
				}
			}
			if !w.Service.Accepts(k.ClientID, s.Reveal()) {
				return proofs, fmt.Errorf("the %s manifest of %s holds a secret %s does not accept", env, k.Key, w.Service.Title())
			}
			if first.IsZero() {
				first = s
			} else if !first.Equal(s) {
				return proofs, fmt.Errorf("%s holds different secrets in different environments", k.Key)
			}
			proofs = append(proofs, Proof{Key: k.Key, Env: env, Fingerprint: s.Fingerprint()})
		}
	}
	return proofs, nil
}
