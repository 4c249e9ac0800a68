package cli

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/credrotate/credrotate/pkg/config"
	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/seal"
	"github.com/credrotate/credrotate/pkg/seal/sopsout"
	"github.com/credrotate/credrotate/pkg/seal/sopsrules"
)

// maxAgeKeyFile bounds an age identity file.
const maxAgeKeyFile = 64 << 10

// sopsEncoder returns the encoder of an environment on sops: its age
// recipients and, when sops.ageKeyFile is set, the identity that lets an
// update keep other keys' ciphertext.
func sopsEncoder(e config.Environment) (seal.Encoder, error) {
	identity, err := ageIdentity(e)
	if err != nil {
		return nil, err
	}
	return newSOPSEncoder(e, identity, sopsout.Options{})
}

// ageIdentity reads the environment's sops.ageKeyFile ("" when unset).
func ageIdentity(e config.Environment) (string, error) {
	f := e.SOPS.AgeKeyFile
	if f == "" {
		return "", nil
	}
	fh, err := os.Open(f)
	if err != nil {
		return "", usageErrorf("environments %s: sops.ageKeyFile: %v (fix the path or remove the setting)", e.Name, err)
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, maxAgeKeyFile+1))
	if err != nil || len(b) > maxAgeKeyFile {
		return "", usageErrorf("environments %s: sops.ageKeyFile %s cannot be read or is larger than %d bytes", e.Name, f, maxAgeKeyFile)
	}
	return string(b), nil
}

// newSOPSEncoder is sopsout.New with the environment's recipients and
// identity and the rule settings of o.
func newSOPSEncoder(e config.Environment, identity string, o sopsout.Options) (seal.Encoder, error) {
	o.Recipients, o.Identity = e.SOPS.AgeRecipients, identity
	enc, err := sopsout.New(o)
	if err != nil {
		return nil, usageErrorf("environments %s: sops: %v", e.Name, err)
	}
	return enc, nil
}

// sopsRuleEncoders applies the repository's .sops.yaml (read from fsys,
// the base branch) to every environment on sops: each provider key's file
// is written as its creation rule says, and a rule that conflicts with the
// environment's configuration, or a file no rule matches, is an error
// naming both. It returns the encoders by environment name (none without a
// .sops.yaml) and sops's warnings.
func sopsRuleEncoders(fsys seal.ReadFS, cfg *config.Config, keys []credential.ProviderKey) (map[string]seal.Encoder, []string, error) {
	var sopsEnvs []config.Environment
	for _, e := range cfg.Environments {
		if e.IsSOPS() {
			sopsEnvs = append(sopsEnvs, e)
		}
	}
	if len(sopsEnvs) == 0 {
		return nil, nil, nil
	}
	rules, warnings, err := sopsrules.Load(fsys)
	if err != nil || rules == nil {
		return nil, warnings, err
	}
	out := map[string]seal.Encoder{}
	var errs []error
	for _, e := range sopsEnvs {
		paths := map[credential.ProviderKey]string{}
		for _, k := range keys {
			paths[k] = e.ManifestPath(k)
		}
		byKey, err := rules.RulesFor(sopsrules.Env{Name: e.Name, Recipients: e.SOPS.AgeRecipients}, paths)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		identity, err := ageIdentity(e)
		if err != nil {
			return nil, warnings, err
		}
		encs := sopsrules.Encoders{}
		for k, r := range byKey {
			enc, err := newSOPSEncoder(e, identity, sopsout.Options{EncryptedRegex: r.EncryptedRegex, MACAll: !r.MACOnlyEncrypted})
			if err != nil {
				return nil, warnings, err
			}
			encs[k] = enc
		}
		out[e.Name] = encs
	}
	if len(errs) > 0 {
		return nil, warnings, fmt.Errorf("%d file(s) conflict with the repository's %s: %w", len(errs), sopsrules.FileName, errors.Join(errs...))
	}
	return out, warnings, nil
}

// sopsRulesNext is the fix of a .sops.yaml problem.
const sopsRulesNext = "make the repository's .sops.yaml creation rule for the named file agree with environments[].sops (or fix the rule the message names)"

// envSpec is the rotation's view of one configured environment.
func envSpec(e config.Environment) (spec envSpecParts, err error) {
	if !e.IsSOPS() {
		return envSpecParts{}, nil
	}
	enc, err := sopsEncoder(e)
	if err != nil {
		return envSpecParts{}, err
	}
	return envSpecParts{encryption: seal.EncryptionSOPS, encoder: enc}, nil
}

// envSpecParts are the format fields of rotate.EnvSpec and seal.Environment.
type envSpecParts struct {
	encryption seal.Encryption
	encoder    seal.Encoder
}
