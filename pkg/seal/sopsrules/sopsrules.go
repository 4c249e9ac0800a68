// Package sopsrules honours a GitOps repository's .sops.yaml: the creation
// rules that people's `sops` commands follow in that repository. For each
// file credrotate writes on an environment on sops it finds the rule SOPS
// would apply, following SOPS's own rule selection (the first rule whose
// path_regex matches the file's path relative to the repository root, or
// that has none) and its reading of the rule's keys and settings; a test
// holds that to SOPS's config package and to the sops command. It then
// checks that the rule agrees with the environment's configuration: the
// same age recipients, in one key group, with nothing else (credrotate
// encrypts for age only), and an encrypted_regex that encrypts data and
// stringData and leaves apiVersion, kind and metadata plaintext, as Flux
// documents it. Files are then written with the rule's encrypted_regex and
// mac_only_encrypted.
//
// A disagreement or a path no rule matches is an *Error naming the file,
// the rule and the fix, found before anything is renewed. A repository
// without .sops.yaml, or one whose .sops.yaml has no creation_rules, is
// written as configured (sops itself then uses its command line).
package sopsrules

import (
	"errors"
	"fmt"
	"io/fs"
	"regexp"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/seal"
	"github.com/credrotate/credrotate/pkg/seal/sopsout"
)

// FileName is SOPS's configuration file at the root of the repository.
const FileName = ".sops.yaml"

// alternateName is the name sops ignores (with a warning).
const alternateName = ".sops.yml"

// MaxFileSize bounds .sops.yaml.
const MaxFileSize = 1 << 20

// Errors an *Error wraps.
var (
	// ErrNoRule: .sops.yaml has creation rules and none matches the file.
	ErrNoRule = errors.New("no creation rule matches")
	// ErrConflict: the matching rule disagrees with the configuration.
	ErrConflict = errors.New("the creation rule conflicts with the configuration")
	// ErrInvalid: .sops.yaml cannot be used (it does not parse, is too
	// large, or holds a private key), or sops cannot use the rule.
	ErrInvalid = errors.New("invalid .sops.yaml")
)

// Error is a .sops.yaml problem with one file credrotate writes.
type Error struct {
	// File is the configuration file (FileName).
	File string
	// Env is the environment; Path the manifest credrotate would write.
	Env, Path string
	// Rule is the index in creation_rules of the rule that matched, or -1.
	Rule int
	// PathRegex is that rule's path_regex ("" for a rule without one).
	PathRegex string
	// Reason says what is wrong; Fix what to do.
	Reason, Fix string
	err         error
}

// Error renders the problem with the file, the rule and the fix.
func (e *Error) Error() string {
	where := e.File
	if e.Rule >= 0 {
		re := "no path_regex"
		if e.PathRegex != "" {
			re = fmt.Sprintf("path_regex %q", e.PathRegex)
		}
		where = fmt.Sprintf("%s creation_rules[%d] (%s)", e.File, e.Rule, re)
	}
	msg := fmt.Sprintf("%s: environment %s: %s: %s", where, e.Env, e.Path, e.Reason)
	if e.Env == "" && e.Path == "" {
		// A problem with the whole file (Load's).
		msg = where + ": " + e.Reason
	}
	if e.Fix != "" {
		msg += ": " + e.Fix
	}
	return msg
}

// Unwrap returns ErrNoRule, ErrConflict or ErrInvalid.
func (e *Error) Unwrap() error { return e.err }

// Config is a repository's .sops.yaml.
type Config struct {
	// rules are its creation_rules, as sops reads them.
	rules []creationRule
}

// Load reads FileName at the root of fsys. It returns nil (and no error)
// when there is none, or when it has no creation_rules (sops then ignores
// it for encryption). A file sops cannot read (it does not parse, or has a
// value of the wrong type anywhere) is an ErrInvalid *Error. Warnings say
// what sops would warn about.
func Load(fsys seal.ReadFS) (*Config, []string, error) {
	var warnings []string
	b, err := fsys.ReadFile(FileName)
	if errors.Is(err, fs.ErrNotExist) {
		if _, err := fsys.ReadFile(alternateName); err == nil {
			warnings = append(warnings, fmt.Sprintf("the repository has %s, which sops ignores (it reads %s only); credrotate ignores it too: rename it to %s", alternateName, FileName, FileName))
		}
		return nil, warnings, nil
	}
	if err != nil {
		return nil, nil, invalid(fmt.Sprintf("cannot be read: %v", err))
	}
	if len(b) > MaxFileSize {
		return nil, nil, invalid(fmt.Sprintf("is larger than %d bytes", MaxFileSize))
	}
	if strings.Contains(string(b), "AGE-SECRET-KEY-") {
		return nil, nil, invalid("holds an age private key (AGE-SECRET-KEY-...): remove it from the repository, rotate that key, and list only public keys (age1...)")
	}
	// sops decodes the whole file, and fails on every file when it cannot
	// (a field of the wrong type, anywhere).
	var doc configFile
	if err := yaml.Unmarshal(b, &doc); err != nil {
		if te := (*yaml.TypeError)(nil); errors.As(err, &te) {
			e := invalid("has a value of the wrong type, so sops cannot read it either (" + strings.Join(te.Errors, "; ") + ")")
			e.Fix = "give the value on that line the type sops expects (see sops's documentation of .sops.yaml)"
			return nil, nil, e
		}
		return nil, nil, invalid("does not parse as YAML: " + err.Error())
	}
	if doc.CreationRules == nil {
		return nil, warnings, nil
	}
	return &Config{rules: doc.CreationRules}, warnings, nil
}

func invalid(reason string) *Error {
	return &Error{File: FileName, Rule: -1, Reason: reason, err: ErrInvalid}
}

// Rule is the creation rule SOPS applies to one file, as credrotate uses it.
type Rule struct {
	// Index is the rule's place in creation_rules; PathRegex its path_regex.
	Index     int
	PathRegex string
	// AgeRecipients are the rule's age recipients.
	AgeRecipients []string
	// EncryptedRegex and MACOnlyEncrypted are the rule's settings for new
	// files.
	EncryptedRegex   string
	MACOnlyEncrypted bool
}

// Env is an environment on sops as configured.
type Env struct {
	Name       string
	Recipients []string
}

// RulesFor finds and checks the rule of each path (a provider key's
// manifest in env). It reports every problem, joined.
func (c *Config) RulesFor(env Env, paths map[credential.ProviderKey]string) (map[credential.ProviderKey]Rule, error) {
	out := map[credential.ProviderKey]Rule{}
	var errs []error
	keys := make([]credential.ProviderKey, 0, len(paths))
	for k := range paths {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		r, err := c.ruleFor(env, paths[k])
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out[k] = r
	}
	return out, errors.Join(errs...)
}

// ruleFor is RulesFor of one path.
func (c *Config) ruleFor(env Env, p string) (Rule, error) {
	e := &Error{File: FileName, Env: env.Name, Path: p, Rule: -1}
	fail := func(err error, reason, fix string) (Rule, error) {
		e.err, e.Reason, e.Fix = err, reason, fix
		return Rule{}, e
	}
	i, sc, err := c.resolve(p)
	if i >= 0 {
		e.Rule, e.PathRegex = i, c.rules[i].PathRegex
	}
	switch {
	case i < 0:
		return fail(ErrNoRule, "no creation rule matches this path, so `sops` cannot encrypt it here either",
			"add a rule whose path_regex matches it, with the environment's sops.ageRecipients as age recipients and encrypted_regex: "+sopsout.EncryptedRegex)
	case err != nil:
		// sops's message names a key or regex of the rule, never a private
		// key (Load refused those).
		return fail(ErrInvalid, "sops cannot use the rule: "+err.Error(), "fix the rule")
	}

	r := Rule{Index: e.Rule, PathRegex: e.PathRegex, EncryptedRegex: sc.encryptedRegex, MACOnlyEncrypted: sc.macOnlyEncrypted}
	if len(sc.keyGroups) != 1 {
		return fail(ErrConflict, fmt.Sprintf("the rule has %d key groups (Shamir secret sharing); credrotate writes one group of age recipients", len(sc.keyGroups)),
			"give credrotate's files a rule of their own with `age:` recipients only")
	}
	var others []string
	for _, k := range sc.keyGroups[0] {
		if k.kind == kindAge {
			if !slices.Contains(r.AgeRecipients, k.id) {
				r.AgeRecipients = append(r.AgeRecipients, k.id)
			}
			continue
		}
		others = append(others, k.kind+" "+shorten(k.id))
	}
	if len(others) > 0 {
		return fail(ErrConflict, fmt.Sprintf("the rule also encrypts for %s, which credrotate does not encrypt for (age only)", strings.Join(others, ", ")),
			"give credrotate's files a rule of their own with `age:` recipients only")
	}
	onlyRule, onlyConf := difference(r.AgeRecipients, env.Recipients), difference(env.Recipients, r.AgeRecipients)
	if len(onlyRule) > 0 || len(onlyConf) > 0 {
		var parts []string
		if len(onlyRule) > 0 {
			parts = append(parts, "only in the rule: "+strings.Join(shortenAll(onlyRule), ", "))
		}
		if len(onlyConf) > 0 {
			parts = append(parts, "only in environments["+env.Name+"].sops.ageRecipients: "+strings.Join(shortenAll(onlyConf), ", "))
		}
		return fail(ErrConflict, "the rule's age recipients differ from the environment's configured ones ("+strings.Join(parts, "; ")+")",
			"make the rule's age list and sops.ageRecipients the same, so that files written by sops and by credrotate open with the same keys")
	}
	if reason := checkSelector(sc); reason != "" {
		return fail(ErrConflict, reason, "use encrypted_regex: "+sopsout.EncryptedRegex+" in the rule, as Flux documents it")
	}
	return r, nil
}

// resolve is sops's config.LoadCreationRuleForFile for p (relative to the
// repository root, where .sops.yaml is): the index of the rule sops picks
// (-1 when none matches) and what sops makes of it, or sops's error.
func (c *Config) resolve(p string) (int, *ruleConfig, error) {
	i, err := matchRule(c.rules, p)
	if err != nil {
		return i, nil, err
	}
	sc, err := configFromRule(&c.rules[i])
	return i, sc, err
}

// plaintextKeys are the keys credrotate reads without decrypting: each
// must stay plaintext under a rule's encrypted_regex.
var plaintextKeys = append([]string{"apiVersion", "kind", "metadata", "name", "namespace", "annotations"}, seal.MetadataAnnotations()...)

// checkSelector says why a rule's choice of what to encrypt does not fit a
// Secret credrotate and Flux both read, or "".
func checkSelector(sc *ruleConfig) string {
	switch {
	case sc.unencryptedSuffix != "", sc.encryptedSuffix != "", sc.unencryptedRegex != "", sc.unencryptedCommentRegex != "", sc.encryptedCommentRegex != "":
		return "the rule selects what to encrypt by suffix, unencrypted_regex or comments; credrotate writes Secrets with encrypted_regex, keeping metadata (and its credrotate.io annotations) plaintext"
	case sc.encryptedRegex == "":
		return "the rule has no encrypted_regex, so sops encrypts every value, metadata included, and credrotate could not read its annotations without the key"
	}
	rx, err := regexp.Compile(sc.encryptedRegex)
	if err != nil {
		return fmt.Sprintf("encrypted_regex %q does not compile", sc.encryptedRegex)
	}
	for _, k := range []string{"data", "stringData"} {
		if !rx.MatchString(k) {
			return fmt.Sprintf("encrypted_regex %q does not match %s, so the Secret's values would be written in plaintext", sc.encryptedRegex, k)
		}
	}
	for _, k := range plaintextKeys {
		if rx.MatchString(k) {
			return fmt.Sprintf("encrypted_regex %q matches %s, which must stay plaintext for credrotate (and people) to read the file's metadata", sc.encryptedRegex, k)
		}
	}
	return ""
}

func difference(a, b []string) []string {
	var out []string
	for _, x := range a {
		if !slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// shorten keeps a public key readable in a message.
func shorten(s string) string {
	if len(s) > 24 {
		return s[:16] + "…" + s[len(s)-6:]
	}
	return s
}

func shortenAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = shorten(s)
	}
	return out
}

// Encoders writes each provider key's file with the Encoder made for its
// rule; it implements seal.Encoder.
type Encoders map[credential.ProviderKey]seal.Encoder

var _ seal.Encoder = Encoders(nil)

// Encode implements seal.Encoder with the encoder of t's provider key.
func (m Encoders) Encode(existing []byte, t seal.Target) ([]byte, error) {
	e, ok := m[t.Metadata.ProviderKey]
	if !ok {
		return nil, fmt.Errorf("no %s rule was checked for %s", FileName, t.Metadata.ProviderKey)
	}
	return e.Encode(existing, t)
}
