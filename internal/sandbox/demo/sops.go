package demo

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"filippo.io/age"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/seal"
	"github.com/credrotate/credrotate/pkg/seal/sopsout"
)

// ParseEncryption reads the demo's --encryption: "sealedSecrets" or "sops"
// for every environment, or env=format pairs ("staging=sops,uat=sops").
// It returns the environments on sops.
func ParseEncryption(s string) ([]string, error) {
	var out []string
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		env, format, per := strings.Cut(part, "=")
		if !per {
			format, env = env, ""
		}
		switch format {
		case "sops", "sealedSecrets", "":
		default:
			return nil, fmt.Errorf("%q is not an encryption: use sealedSecrets or sops", format)
		}
		if env != "" && !slices.Contains(Environments, env) {
			return nil, fmt.Errorf("%q is not a demo environment (%s)", env, strings.Join(Environments, ", "))
		}
		for _, e := range Environments {
			if env != "" && e != env {
				continue
			}
			out = slices.DeleteFunc(out, func(x string) bool { return x == e })
			if format == "sops" {
				out = append(out, e)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}

// onSOPS says whether env's manifests are SOPS Secrets in this world.
func (w *World) onSOPS(env string) bool { _, ok := w.AgeIdentity[env]; return ok }

// makeAgeIdentities makes an age identity for each environment on sops (the
// key a cluster's Flux decryption Secret would hold) and keeps it in
// keys/<env>.agekey.
func (w *World) makeAgeIdentities(envs []string) error {
	for _, env := range envs {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			return err
		}
		w.AgeIdentity[env] = id.String()
		w.AgeRecipient[env] = id.Recipient().String()
		body := fmt.Sprintf("# the %s cluster's age key (Flux: the sops-age Secret)\n# public key: %s\n%s\n", env, id.Recipient(), id)
		if err := os.WriteFile(filepath.Join(w.Dir, "keys", env+".agekey"), []byte(body), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// sealEnvironment is env as the seeding writes it.
func (w *World) sealEnvironment(env string, cert *seal.Certificate) (seal.Environment, error) {
	e := seal.Environment{Name: env, Path: "overlays/" + env + "/credentials", Cert: cert, Scope: seal.ScopeStrict, Namespace: "credit-" + env}
	if !w.onSOPS(env) {
		return e, nil
	}
	enc, err := sopsout.New(sopsout.Options{Recipients: []string{w.AgeRecipient[env]}})
	if err != nil {
		return e, err
	}
	e.Cert, e.Scope, e.Encryption, e.Encoder = nil, "", seal.EncryptionSOPS, enc
	return e, nil
}

// envConfig is env's line in the demo's configuration.
func (w *World) envConfig(env string) string {
	if w.onSOPS(env) {
		return fmt.Sprintf("  - {name: %s, path: overlays/%s/credentials, encryption: sops, sops: {ageRecipients: [%s]}, namespace: credit-%s}\n", env, env, w.AgeRecipient[env], env)
	}
	return fmt.Sprintf("  - {name: %s, path: overlays/%s/credentials, cert: {file: keys/%s.crt}, namespace: credit-%s}\n", env, env, env, env)
}

// sopsRules is the repository's .sops.yaml when environments are on sops
// ("" when none is): one creation rule per such environment, with its age
// recipient, Flux's encrypted_regex and mac_only_encrypted, so that a person's `sops` at the
// root of the repository encrypts as credrotate does (credrotate checks
// that they agree).
func (w *World) sopsRules() string {
	if len(w.AgeRecipient) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("# sops creation rules: the age key of each environment's cluster (Flux decrypts with it)\ncreation_rules:\n")
	for _, env := range Environments {
		if r, ok := w.AgeRecipient[env]; ok {
			fmt.Fprintf(&b, "  - path_regex: ^overlays/%s/\n    age: %s\n    encrypted_regex: %s\n    mac_only_encrypted: true\n", env, r, sopsout.EncryptedRegex)
		}
	}
	return b.String()
}

// isSOPSFile says whether a manifest is a SOPS Secret rather than a
// SealedSecret.
func isSOPSFile(b []byte) bool {
	ms, err := seal.ParseManifests("f.yaml", b)
	return err == nil && len(ms) == 1 && ms[0].Encryption == seal.EncryptionSOPS || bytes.Contains(b, []byte("\nsops:\n"))
}

// openSOPS decrypts a SOPS Secret with an age identity, as a cluster's
// kustomize-controller would (MAC checked), and returns its one value.
func openSOPS(b []byte, name, env, identity string) (credential.Secret, error) {
	o, err := sopsout.Open(b, identity)
	if err != nil {
		return credential.Secret{}, fmt.Errorf("%s does not decrypt with the %s age key: %w", name, env, err)
	}
	keys := o.Keys()
	if len(keys) != 1 {
		return credential.Secret{}, fmt.Errorf("%s holds %d keys, not the one the demo writes", name, len(keys))
	}
	v, _ := o.Value(keys[0])
	return v, nil
}

// readAgeIdentity reads keys/<env>.agekey of a demo folder.
func readAgeIdentity(dir, env string) (string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "keys", env+".agekey"))
	if err != nil {
		return "", fmt.Errorf("reading the demo's %s age key: %w", env, err)
	}
	return string(b), nil
}
