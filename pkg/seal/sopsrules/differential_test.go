package sopsrules_test

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"filippo.io/age"
	"filippo.io/age/plugin"
	sopsconfig "github.com/getsops/sops/v3/config"
	"go.yaml.in/yaml/v3"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/seal"
	"github.com/credrotate/credrotate/pkg/seal/sopsrules"
)

// sopsNoMatch is sops's error for a path no creation rule matches.
const sopsNoMatch = "error loading config: no matching creation rules found"

// sshKey is an OpenSSH authorized_keys line of a public key in SSH wire
// format (fields: strings and mpints).
func sshKey(typ string, fields ...[]byte) string {
	var b []byte
	for _, f := range append([][]byte{[]byte(typ)}, fields...) {
		b = binary.BigEndian.AppendUint32(b, uint32(len(f)))
		b = append(b, f...)
	}
	return typ + " " + base64.StdEncoding.EncodeToString(b) + " someone@example.com"
}

func mpint(n *big.Int) []byte {
	b := n.Bytes()
	if len(b) > 0 && b[0]&0x80 != 0 {
		b = append([]byte{0}, b...)
	}
	return b
}

// recipients are the public keys the .sops.yaml variants use, by the
// placeholder that stands for each.
func recipients(t *testing.T) *strings.Replacer {
	t.Helper()
	var pairs []string
	for _, name := range []string{"{A}", "{B}", "{C}"} {
		id, err := age.GenerateX25519Identity()
		if err != nil {
			t.Fatal(err)
		}
		pairs = append(pairs, name, id.Recipient().String())
	}
	h, err := age.GenerateHybridIdentity()
	if err != nil {
		t.Fatal(err)
	}
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	pairs = append(pairs,
		"{H}", h.Recipient().String(),
		"{P}", plugin.EncodeRecipient("yubikey", []byte("0123456789abcdef0123456789abcdef0")),
		"{ED}", sshKey("ssh-ed25519", edPub),
		"{RSA}", sshKey("ssh-rsa", mpint(big.NewInt(int64(rsaKey.E))), mpint(rsaKey.N)),
		// An ed25519 key of the wrong length.
		"{BADSSH}", sshKey("ssh-ed25519", []byte("short")),
	)
	return strings.NewReplacer(pairs...)
}

// sopsVariants are .sops.yaml files (with the placeholders of recipients)
// and paths in the repository, each with the index of the rule sops
// applies to it (-1: none matches, or sops cannot read the file).
var sopsVariants = []struct {
	name  string
	yaml  string
	paths map[string]int
}{
	{"first match wins", `
creation_rules:
  - path_regex: ^overlays/prod/.*\.yaml$
    age: {A},{B}
    encrypted_regex: ^(data|stringData)$
  - path_regex: ^overlays/staging/
    age: {C}
    encrypted_regex: ^(data|stringData)$
    mac_only_encrypted: true
  - age: {A}
`, map[string]int{"overlays/prod/credentials/k.yaml": 0, "overlays/prod/credentials/k.yml": 2, "overlays/staging/k.yaml": 1, "x/overlays/prod/k.yaml": 2, "k.yaml": 2}},
	{"a rule without path_regex matches everything", `
creation_rules:
  - age: {A}
  - path_regex: ^overlays/
    age: {B}
`, map[string]int{"overlays/prod/k.yaml": 0, "k.yaml": 0}},
	{"an empty path_regex is none", `
creation_rules:
  - path_regex: ""
    age: {A}
`, map[string]int{"overlays/prod/k.yaml": 0}},
	{"unanchored path_regex", `
creation_rules:
  - path_regex: prod
    age: {A}
  - path_regex: (?i)STAGING/.+\.yaml
    age: {B}
`, map[string]int{"overlays/prod/k.yaml": 0, "overlays/staging/k.yaml": 1, "overlays/qa/k.yaml": -1, "overlays/staging/.yaml": -1}},
	{"filename_regex is not a sops field", `
creation_rules:
  - filename_regex: \.prod\.yaml$
    age: {A}
  - age: {B}
`, map[string]int{"a.prod.yaml": 0, "a.dev.yaml": 0}},
	{"no rule matches", `
creation_rules:
  - path_regex: ^overlays/prod/
    age: {A}
`, map[string]int{"overlays/qa/k.yaml": -1, "overlays/prod/k.yaml": 0}},
	{"empty creation_rules", `
creation_rules: []
`, map[string]int{"k.yaml": -1}},
	{"null creation_rules", `
creation_rules:
`, map[string]int{"k.yaml": -1}},
	{"no creation_rules", `
stores:
  yaml:
    indent: 2
`, map[string]int{"k.yaml": -1}},
	{"empty file", ``, map[string]int{"k.yaml": -1}},
	{"only destination_rules", `
destination_rules:
  - s3_bucket: b
    path_regex: .*
    recreation_rule:
      age: {A}
`, map[string]int{"k.yaml": -1}},
	{"an invalid path_regex stops sops where it is reached", `
creation_rules:
  - path_regex: ^overlays/prod/
    age: {A}
  - path_regex: ^overlays/(staging
    age: {B}
  - age: {C}
`, map[string]int{"overlays/prod/k.yaml": 0, "overlays/staging/k.yaml": 1, "k.yaml": 1}},
	{"an invalid path_regex after a rule without one is never reached", `
creation_rules:
  - age: {A}
  - path_regex: "["
    age: {B}
`, map[string]int{"k.yaml": 0}},
	{"age string with commas, spaces and newlines", `
creation_rules:
  - age: "  {A} ,{B},
      {C}, "
  - path_regex: x
    age: |
      {A},
      {B}
`, map[string]int{"k.yaml": 0}},
	{"age literal block", `
creation_rules:
  - age: >-
      {A},
      {B},,
`, map[string]int{"k.yaml": 0}},
	{"age separated by spaces only", `
creation_rules:
  - age: {A} {B}
`, map[string]int{"k.yaml": 0}},
	{"age separated by newlines only", `
creation_rules:
  - age: |
      {A}
      {B}
`, map[string]int{"k.yaml": 0}},
	{"age list", `
creation_rules:
  - age:
      - {A}
      - " {B} "
      - {C},{A}
`, map[string]int{"k.yaml": 0}},
	{"age list with an empty entry", `
creation_rules:
  - age: ["", {A}]
`, map[string]int{"k.yaml": 0}},
	{"age list of one empty entry", `
creation_rules:
  - age: [""]
    encrypted_regex: ^data$
`, map[string]int{"k.yaml": 0}},
	{"duplicate age recipients are kept at the top level", `
creation_rules:
  - age: {A},{A},{B}
`, map[string]int{"k.yaml": 0}},
	{"SSH, plugin and post-quantum recipients", `
creation_rules:
  - age: "{ED},{RSA}, {P},{H}"
`, map[string]int{"k.yaml": 0}},
	{"a malformed SSH recipient", `
creation_rules:
  - age: {BADSSH}
`, map[string]int{"k.yaml": 0}},
	{"not an age recipient", `
creation_rules:
  - age: {A},notakey
`, map[string]int{"k.yaml": 0}},
	{"a bad bech32 age recipient", `
creation_rules:
  - age: age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq
`, map[string]int{"k.yaml": 0}},
	{"a bad plugin recipient", `
creation_rules:
  - age: age1yubikey1zzzz
`, map[string]int{"k.yaml": 0}},
	{"a bad post-quantum recipient", `
creation_rules:
  - age: age1pq1qqqq
`, map[string]int{"k.yaml": 0}},
	{"age lists in key_groups", `
creation_rules:
  - key_groups:
      - age:
          - {A}
          - {B},{C}
          - ""
`, map[string]int{"k.yaml": 0}},
	{"key_groups dedupe", `
creation_rules:
  - key_groups:
      - age: [{A}, {A}, " {A}"]
        pgp: [F1, F1]
`, map[string]int{"k.yaml": 0}},
	{"key_groups entry with an empty recipient", `
creation_rules:
  - key_groups:
      - age: ["{A},"]
`, map[string]int{"k.yaml": 0}},
	{"several key groups with shamir", `
creation_rules:
  - shamir_threshold: 2
    key_groups:
      - age: [{A}]
      - age: [{B}]
      - age: [{C}]
        pgp: [85D77543B3D624B63CEA9E6DBC17301B491B3F21]
`, map[string]int{"k.yaml": 0}},
	{"key_groups win over top-level keys", `
creation_rules:
  - age: {A}
    pgp: 85D77543B3D624B63CEA9E6DBC17301B491B3F21
    kms: arn:aws:kms:eu-west-1:1:key/x
    key_groups:
      - age: [{B}]
`, map[string]int{"k.yaml": 0}},
	{"an empty key_groups is none", `
creation_rules:
  - age: {A}
    key_groups: []
`, map[string]int{"k.yaml": 0}},
	{"an empty key group", `
creation_rules:
  - age: {A}
    key_groups:
      - {}
`, map[string]int{"k.yaml": 0}},
	{"merged key groups", `
creation_rules:
  - key_groups:
      - merge:
          - age: [{A}]
            merge:
              - age: [{B}]
                pgp: [F1]
          - age: [{A}]
        age: [{C}, {B}]
        pgp: [F2, F1]
`, map[string]int{"k.yaml": 0}},
	{"top-level keys of every kind", `
creation_rules:
  - age: {A}
    pgp: "85D7 7543 B3D6 24B6 3CEA 9E6D BC17 301B 491B 3F21, FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4"
    kms: "arn:aws:kms:us-east-1:656532927350:key/920aff2e-c5f1-4040-943a-047fa387b27e+arn:aws:iam::927034868273:role/sops-dev, arn:aws:kms:ap-southeast-1:656532927350:key/9006a8aa-0fa6-4c14-930e-a2dfb916de1d"
    aws_profile: dev
    gcp_kms: projects/p/locations/global/keyRings/r/cryptoKeys/k
    hckms: [" tr-west-1:key-1 ", "", "eu:key-2,eu:key-3"]
    azure_keyvault: https://v.vault.azure.net/keys/k/0123456789abcdef
    hc_vault_transit_uri: "https://vault.example.com:8200/v1/transit/keys/k,,http://127.0.0.1:8200/v1/sops/a/keys/b?x=1"
    encrypted_regex: ^(data|stringData)$
`, map[string]int{"k.yaml": 0}},
	{"top-level key lists of every kind", `
creation_rules:
  - pgp: [85D77543B3D624B63CEA9E6DBC17301B491B3F21, "", "F1,F2"]
    kms: [arn:aws:kms:eu-west-1:1:key/x, " arn:aws:kms:eu-west-1:1:key/y "]
    gcp_kms: ["projects/p/locations/global/keyRings/r/cryptoKeys/k", ""]
    azure_keyvault: ["https://v.vault.azure.net/keys/k/v1"]
    hc_vault_transit_uri: [https://vault.example.com/v1/transit/keys/k]
`, map[string]int{"k.yaml": 0}},
	{"key_groups keys of every kind", `
creation_rules:
  - key_groups:
      - age: [{A}]
        pgp: ["85D7 7543 B3D6 24B6 3CEA 9E6D BC17 301B 491B 3F21"]
        kms:
          - arn: arn:aws:kms:eu-west-1:1:key/x
            role: arn:aws:iam::1:role/r
            context: {b: "2", a: "1", "a!": "3"}
            aws_profile: p
          - arn: arn:aws:kms:eu-west-1:1:key/y
            context: {a: "1"}
          - arn: arn:aws:kms:eu-west-1:1:key/z
            aws_profile: p
          - arn: arn:aws:kms:eu-west-1:1:key/y
            context: {a: "1"}
        gcp_kms:
          - resource_id: "projects/p/locations/global/keyRings/r/cryptoKeys/ k"
        hckms:
          - key_id: " tr-west-1:key-1"
        azure_keyvault:
          - vaultUrl: https://v.vault.azure.net
            key: k
            version: v1
        hc_vault:
          - https://vault.example.com:8200/v1/transit/keys/k
`, map[string]int{"k.yaml": 0}},
	{"no keys at all", `
creation_rules:
  - path_regex: ^a/
    encrypted_regex: ^(data|stringData)$
  - path_regex: ^b/
    key_groups: [{}, {}]
`, map[string]int{"a/k.yaml": 0, "b/k.yaml": 1}},
	{"bad hckms key IDs", `
creation_rules:
  - path_regex: ^a/
    hckms: [nocolon]
  - path_regex: ^b/
    hckms: [":uuid"]
  - path_regex: ^c/
    key_groups:
      - hckms: [{key_id: "region: "}]
`, map[string]int{"a/k.yaml": 0, "b/k.yaml": 1, "c/k.yaml": 2}},
	{"bad azure_keyvault URLs", `
creation_rules:
  - path_regex: ^a/
    azure_keyvault: http://v.vault.azure.net/keys/k/v
  - path_regex: ^b/
    azure_keyvault: https://v.vault.azure.net/k
`, map[string]int{"a/k.yaml": 0, "b/k.yaml": 1}},
	{"bad hc_vault URIs", `
creation_rules:
  - path_regex: ^a/
    hc_vault_transit_uri: vault.example.com/v1/transit/keys/k
  - path_regex: ^b/
    hc_vault_transit_uri: https://vault.example.com/transit/k
  - path_regex: ^c/
    hc_vault_transit_uri: https://vault.example.com/prefix/v1/transit/keys/k
  - path_regex: ^d/
    key_groups:
      - hc_vault: ["://x"]
  - path_regex: ^e/
    hc_vault_transit_uri: " https://vault.example.com/v1/transit/keys/k"
`, map[string]int{"a/k.yaml": 0, "b/k.yaml": 1, "c/k.yaml": 2, "d/k.yaml": 3, "e/k.yaml": 4}},
	{"key fields of the wrong type", `
creation_rules:
  - {path_regex: ^a/, age: 5}
  - {path_regex: ^b/, age: {x: y}}
  - {path_regex: ^c/, age: [{A}, 1]}
  - {path_regex: ^d/, pgp: true}
  - {path_regex: ^e/, kms: [x, [y]]}
  - {path_regex: ^f/, gcp_kms: {a: b}}
  - {path_regex: ^g/, azure_keyvault: 1.5}
  - {path_regex: ^h/, hc_vault_transit_uri: [null]}
  - {path_regex: ^i/, age: {A}, pgp: 7}
  - {path_regex: ^j/, age: null, pgp: ~}
`, map[string]int{"a/k": 0, "b/k": 1, "c/k": 2, "d/k": 3, "e/k": 4, "f/k": 5, "g/k": 6, "h/k": 7, "i/k": 8, "j/k": 9}},
	{"key_groups age as a string", `
creation_rules:
  - key_groups:
      - age: {A}
`, map[string]int{"k.yaml": -1}},
	{"hckms as a string", `
creation_rules:
  - hckms: tr-west-1:key-1
`, map[string]int{"k.yaml": -1}},
	{"shamir_threshold not a number", `
creation_rules:
  - age: {A}
    shamir_threshold: two
`, map[string]int{"k.yaml": -1}},
	{"a type error in an unused rule", `
creation_rules:
  - age: {A}
  - path_regex: [x]
`, map[string]int{"k.yaml": -1}},
	{"a type error in destination_rules", `
creation_rules:
  - age: {A}
destination_rules:
  - vault_kv_version: latest
`, map[string]int{"k.yaml": -1}},
	{"a type error in stores", `
stores:
  json:
    indent: wide
`, map[string]int{"k.yaml": -1}},
	{"not a mapping", `
- age: {A}
`, map[string]int{"k.yaml": -1}},
	{"scalars of other types as strings", `
creation_rules:
  - path_regex: 123
    age: {A}
    encrypted_regex: true
  - age: {B}
`, map[string]int{"a/123/k.yaml": 0, "k.yaml": 1}},
	{"each selector alone", `
creation_rules:
  - {path_regex: ^a/, age: {A}, encrypted_regex: ^(data|stringData)$}
  - {path_regex: ^b/, age: {A}, unencrypted_regex: ^(apiVersion|kind|metadata)$}
  - {path_regex: ^c/, age: {A}, encrypted_suffix: _enc}
  - {path_regex: ^d/, age: {A}, unencrypted_suffix: _plain}
  - {path_regex: ^e/, age: {A}, encrypted_comment_regex: sops:enc}
  - {path_regex: ^f/, age: {A}, unencrypted_comment_regex: sops:plain}
  - {path_regex: ^g/, age: {A}, encrypted_regex: ""}
`, map[string]int{"a/k": 0, "b/k": 1, "c/k": 2, "d/k": 3, "e/k": 4, "f/k": 5, "g/k": 6}},
	{"conflicting selectors", `
creation_rules:
  - {path_regex: ^a/, age: {A}, encrypted_regex: ^data$, unencrypted_regex: ^metadata$}
  - {path_regex: ^b/, age: {A}, encrypted_suffix: _enc, unencrypted_suffix: _plain}
  - {path_regex: ^c/, age: {A}, encrypted_regex: ^data$, encrypted_comment_regex: x}
  - {path_regex: ^d/, age: notakey, unencrypted_comment_regex: x, unencrypted_suffix: y}
`, map[string]int{"a/k": 0, "b/k": 1, "c/k": 2, "d/k": 3}},
	{"mac_only_encrypted", `
creation_rules:
  - {path_regex: ^a/, age: {A}, encrypted_regex: ^data$, mac_only_encrypted: true}
  - {path_regex: ^b/, age: {A}, encrypted_regex: ^data$, mac_only_encrypted: false}
  - {path_regex: ^c/, age: {A}, encrypted_regex: ^data$}
`, map[string]int{"a/k": 0, "b/k": 1, "c/k": 2}},
	{"an encrypted_regex that does not compile is not sops's concern here", `
creation_rules:
  - age: {A}
    encrypted_regex: ^(data
`, map[string]int{"k.yaml": 0}},
	{"a second YAML document is ignored", `
creation_rules:
  - age: {A}
---
creation_rules:
  - age: {B}
`, map[string]int{"k.yaml": 0}},
}

// sopsLoad is sops's config package's reading of raw for p, from a
// .sops.yaml in a folder of its own.
func sopsLoad(t *testing.T, raw []byte, p string) (*sopsconfig.Config, error) {
	t.Helper()
	conf := filepath.Join(t.TempDir(), sopsrules.FileName)
	if err := os.WriteFile(conf, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	return sopsconfig.LoadCreationRuleForFile(conf, p, nil)
}

// sopsIndex is the index of the rule sops applies to p: the number of
// leading creation rules sops needs to stop saying that none matches,
// less one. It is -1 when sops finds none.
func sopsIndex(t *testing.T, raw []byte, p string) int {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	root := doc.Content[0]
	var rules *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		if root.Content[i].Value == "creation_rules" {
			rules = root.Content[i+1]
		}
	}
	all := rules.Content
	for n := 1; n <= len(all); n++ {
		rules.Content = all[:n]
		b, err := yaml.Marshal(&doc)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sopsLoad(t, b, p); err == nil || err.Error() != sopsNoMatch {
			return n - 1
		}
	}
	return -1
}

// fromSOPS is a sops config.Config as Resolve gives it.
func fromSOPS(sc *sopsconfig.Config) *sopsrules.Resolved {
	r := &sopsrules.Resolved{
		ShamirThreshold:         sc.ShamirThreshold,
		UnencryptedSuffix:       sc.UnencryptedSuffix,
		EncryptedSuffix:         sc.EncryptedSuffix,
		UnencryptedRegex:        sc.UnencryptedRegex,
		EncryptedRegex:          sc.EncryptedRegex,
		UnencryptedCommentRegex: sc.UnencryptedCommentRegex,
		EncryptedCommentRegex:   sc.EncryptedCommentRegex,
		MACOnlyEncrypted:        sc.MACOnlyEncrypted,
	}
	for _, g := range sc.KeyGroups {
		keys := []string{}
		for _, k := range g {
			keys = append(keys, k.TypeToIdentifier()+" "+k.ToString())
		}
		r.KeyGroups = append(r.KeyGroups, keys)
	}
	return r
}

// TestMatchesSOPSConfig holds the native reading of .sops.yaml to sops's
// config package (config.LoadCreationRuleForFile, which credrotate used to
// call) on each variant and path: the same rule, the same key groups and
// keys, the same settings, and the same error when sops gives one.
// RulesFor's verdict follows: ErrNoRule where sops finds no rule,
// ErrInvalid where sops cannot use the rule or the file.
func TestMatchesSOPSConfig(t *testing.T) {
	t.Parallel()
	r := recipients(t)
	for _, v := range sopsVariants {
		t.Run(v.name, func(t *testing.T) {
			t.Parallel()
			raw := []byte(r.Replace(v.yaml))
			fsys := &seal.MemFS{}
			if err := fsys.WriteFile(sopsrules.FileName, raw, 0o644); err != nil {
				t.Fatal(err)
			}
			cfg, _, loadErr := sopsrules.Load(fsys)
			for p, want := range v.paths {
				sc, sopsErr := sopsLoad(t, raw, p)
				switch {
				case loadErr != nil:
					// sops cannot read the file at all: neither can Load.
					if !errors.Is(loadErr, sopsrules.ErrInvalid) || sopsErr == nil || !strings.HasPrefix(sopsErr.Error(), "error loading config: Could not unmarshal config file: ") {
						t.Fatalf("%s: Load: %v; sops: %v", p, loadErr, sopsErr)
					}
					for _, line := range strings.Split(sopsErr.Error(), "\n")[1:] {
						// The same YAML errors, naming the same types in
						// either package.
						line = strings.ReplaceAll(strings.TrimSpace(line), "config.", "sopsrules.")
						if !strings.Contains(loadErr.Error(), line) {
							t.Errorf("%s: Load's error %q does not say sops's %q", p, loadErr, line)
						}
					}
					continue
				case cfg == nil:
					// No creation rules: sops uses its command line.
					if sc != nil || sopsErr != nil {
						t.Errorf("%s: Load found no creation rules; sops: %+v, %v", p, sc, sopsErr)
					}
					continue
				}

				i, got, err := cfg.Resolve(p)
				t.Logf("%s: rule %d: %+v, %v", p, i, got, err)
				if i != want {
					t.Errorf("%s: rule %d, want %d", p, i, want)
				}
				if sopsErr == nil || sopsErr.Error() != sopsNoMatch {
					if si := sopsIndex(t, raw, p); si != i {
						t.Errorf("%s: rule %d, sops's %d", p, i, si)
					}
				}
				switch {
				case sopsErr != nil || err != nil:
					if sopsErr == nil || err == nil || err.Error() != sopsErr.Error() {
						t.Errorf("%s: error %v, sops's %v", p, err, sopsErr)
					}
				default:
					if want := fromSOPS(sc); !reflect.DeepEqual(got, want) {
						t.Errorf("%s:\n got  %+v\n sops %+v", p, got, want)
					}
				}

				// RulesFor, with the rule's own recipients configured.
				env := sopsrules.Env{Name: "e"}
				if got != nil && len(got.KeyGroups) > 0 {
					for _, k := range got.KeyGroups[0] {
						if rec, ok := strings.CutPrefix(k, "age "); ok {
							env.Recipients = append(env.Recipients, rec)
						}
					}
				}
				_, err = cfg.RulesFor(env, map[credential.ProviderKey]string{key: p})
				switch {
				case sopsErr != nil && sopsErr.Error() == sopsNoMatch:
					if !errors.Is(err, sopsrules.ErrNoRule) {
						t.Errorf("%s: RulesFor: %v, want ErrNoRule", p, err)
					}
				case sopsErr != nil:
					if !errors.Is(err, sopsrules.ErrInvalid) || !strings.Contains(err.Error(), "sops cannot use the rule: "+sopsErr.Error()) {
						t.Errorf("%s: RulesFor: %v, want ErrInvalid with sops's %v", p, err, sopsErr)
					}
				case err != nil && !errors.Is(err, sopsrules.ErrConflict):
					t.Errorf("%s: RulesFor: %v, want nil or ErrConflict", p, err)
				}
			}
		})
	}
}

// TestWhereSOPSCannotBeAsked covers rules sops's config package cannot
// read without a network or without crashing: a versionless Azure Key
// Vault key (sops asks Azure for its latest version), an empty hc_vault
// URI and a null KMS context value in key_groups (sops crashes on both).
func TestWhereSOPSCannotBeAsked(t *testing.T) {
	t.Parallel()
	r := recipients(t)
	m := &seal.MemFS{}
	_ = m.WriteFile(sopsrules.FileName, []byte(r.Replace(`creation_rules:
  - path_regex: ^a/
    age: {A}
    azure_keyvault: https://v.vault.azure.net/keys/k
    encrypted_regex: ^(data|stringData)$
  - path_regex: ^b/
    key_groups:
      - age: [{A}]
        azure_keyvault: [{vaultUrl: "https://v.vault.azure.net", key: k}]
  - path_regex: ^c/
    key_groups:
      - hc_vault: [""]
  - path_regex: ^d/
    key_groups:
      - kms: [{arn: "arn:aws:kms:eu-west-1:1:key/x", context: {a: null}}]
`)), 0o644)
	cfg, _, err := sopsrules.Load(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		want error
		says string
	}{
		{"a/k.yaml", sopsrules.ErrConflict, "azure_kv https://v.vault"},
		{"b/k.yaml", sopsrules.ErrConflict, "azure_kv https://v.vault"},
		{"c/k.yaml", sopsrules.ErrInvalid, "empty URI"},
		{"d/k.yaml", sopsrules.ErrInvalid, `context "a" has no value`},
	} {
		_, err := cfg.RulesFor(sopsrules.Env{Name: "e"}, map[credential.ProviderKey]string{key: c.path})
		if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v, want %v saying %q", c.path, err, c.want, c.says)
		}
	}
}

// TestLoadErrorsNameTheFile: a problem with the whole file is rendered
// without an environment or a path.
func TestLoadErrorsNameTheFile(t *testing.T) {
	t.Parallel()
	m := &seal.MemFS{}
	_ = m.WriteFile(sopsrules.FileName, []byte("creation_rules:\n  - hckms: tr-west-1:key-1\n"), 0o644)
	_, _, err := sopsrules.Load(m)
	if !errors.Is(err, sopsrules.ErrInvalid) || !strings.HasPrefix(err.Error(), ".sops.yaml: has a value of the wrong type") || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("type error: %v", err)
	}
}
