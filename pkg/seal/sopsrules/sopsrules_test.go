package sopsrules_test

import (
	"bytes"
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
	"github.com/credrotate/credrotate/pkg/seal/sopsrules"
)

// sopsBin is the sops command built from the module go.mod pins, once.
var (
	sopsBin string
	sopsErr error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "credrotate-sopsrules-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sopsBin, sopsErr = sopscmd.Build(dir)
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

type identity struct{ recipient, key string }

func newIdentity(t *testing.T) identity {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	return identity{recipient: id.Recipient().String(), key: id.String()}
}

// sops runs the sops command in dir (so that it finds dir/.sops.yaml, as a
// person's sops does at the root of the checkout) with only id's key.
func sops(t *testing.T, dir string, id identity, stdin []byte, args ...string) ([]byte, error) {
	t.Helper()
	if sopsBin == "" {
		t.Fatal(sopsErr)
	}
	return sopscmd.Run(t, sopsBin, dir, id.key, stdin, args...)
}

// sopsMeta is the sops section of an encrypted file.
type sopsMeta struct {
	Age []struct {
		Recipient string `yaml:"recipient"`
	} `yaml:"age"`
	EncryptedRegex   string `yaml:"encrypted_regex"`
	MACOnlyEncrypted bool   `yaml:"mac_only_encrypted"`
}

func metaOf(t *testing.T, file []byte) sopsMeta {
	t.Helper()
	var doc struct {
		SOPS sopsMeta `yaml:"sops"`
	}
	if err := yaml.Unmarshal(file, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.SOPS
}

func recipientsOf(m sopsMeta) []string {
	var out []string
	for _, a := range m.Age {
		out = append(out, a.Recipient)
	}
	return out
}

func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for _, x := range a {
		found := false
		for _, y := range b {
			found = found || x == y
		}
		if !found {
			return false
		}
	}
	return true
}

// repo is a checkout on disk with a .sops.yaml.
func repo(t *testing.T, sopsYAML string) (string, *seal.DirFS) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, sopsrules.FileName), []byte(sopsYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	fsys, err := seal.OpenDirFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { fsys.Close() })
	return dir, fsys
}

const key = credential.ProviderKey("equifax.unique_client_id")

func target(value string) seal.Target {
	return seal.Target{
		Name: "equifax-client", Namespace: "credit", DataKey: "client-secret", Value: credential.NewSecret(value),
		Metadata: credential.Metadata{ProviderKey: key, SecretID: "sec-1", RotatedAt: time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC), TraceID: "t"},
	}
}

// TestRulesAgreeWithTheSOPSCommand writes files with the encoders of the
// rules a real .sops.yaml gives them, and checks with the sops command in
// that checkout that they are what sops itself would make there: `sops
// updatekeys` finds nothing to change, a Secret a person encrypts at the
// same path gets the same recipients and encrypted_regex, and `sops
// decrypt` (the MAC) passes.
func TestRulesAgreeWithTheSOPSCommand(t *testing.T) {
	t.Parallel()
	prod, breakGlass, staging := newIdentity(t), newIdentity(t), newIdentity(t)
	dir, fsys := repo(t, fmt.Sprintf(`# the repository's sops rules
creation_rules:
  - path_regex: ^overlays/prod/.*\.yaml$
    age: %s,%s
    encrypted_regex: ^(data|stringData)$
  - path_regex: ^overlays/staging/
    key_groups:
      - age: [%s]
    encrypted_regex: ^(data|stringData|password)$
    mac_only_encrypted: true
`, prod.recipient, breakGlass.recipient, staging.recipient))
	cfg, warnings, err := sopsrules.Load(fsys)
	if err != nil || cfg == nil || len(warnings) > 0 {
		t.Fatalf("Load = %v, %v, %v", cfg, warnings, err)
	}
	for _, c := range []struct {
		env        string
		recipients []string
		ids        []identity
		index      int
		regex      string
		macOnly    bool
	}{
		// The configured order need not be the rule's.
		{"prod", []string{breakGlass.recipient, prod.recipient}, []identity{prod, breakGlass}, 0, sopsout.EncryptedRegex, false},
		{"staging", []string{staging.recipient}, []identity{staging}, 1, "^(data|stringData|password)$", true},
	} {
		t.Run(c.env, func(t *testing.T) {
			p := "overlays/" + c.env + "/credentials/" + string(key) + ".yaml"
			rules, err := cfg.RulesFor(sopsrules.Env{Name: c.env, Recipients: c.recipients}, map[credential.ProviderKey]string{key: p})
			if err != nil {
				t.Fatal(err)
			}
			r := rules[key]
			if r.Index != c.index || r.EncryptedRegex != c.regex || r.MACOnlyEncrypted != c.macOnly || !sameSet(r.AgeRecipients, c.recipients) {
				t.Fatalf("rule = %+v", r)
			}
			enc, err := sopsout.New(sopsout.Options{Recipients: c.recipients, EncryptedRegex: r.EncryptedRegex, MACAll: !r.MACOnlyEncrypted})
			if err != nil {
				t.Fatal(err)
			}
			file, err := sopsrules.Encoders{key: enc}.Encode(nil, target("value-of-"+c.env+"-0001"))
			if err != nil {
				t.Fatal(err)
			}
			full := filepath.Join(dir, filepath.FromSlash(p))
			if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(full, file, 0o644); err != nil {
				t.Fatal(err)
			}
			m := metaOf(t, file)
			if m.EncryptedRegex != c.regex || m.MACOnlyEncrypted != c.macOnly || !sameSet(recipientsOf(m), c.recipients) {
				t.Errorf("written sops metadata = %+v", m)
			}
			for _, id := range c.ids {
				out, err := sops(t, dir, id, nil, "decrypt", p)
				if err != nil {
					t.Fatalf("sops decrypt with %s's key: %v", c.env, err)
				}
				if !bytes.Contains(out, []byte("client-secret: dmFsdWUtb2Yt")) {
					t.Errorf("decrypted:\n%s", out)
				}
			}
			// sops updatekeys applies the rule to the file: nothing to do.
			if _, err := sops(t, dir, c.ids[0], nil, "updatekeys", "--yes", p); err != nil {
				t.Fatalf("sops updatekeys: %v", err)
			}
			after, err := os.ReadFile(full)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(after, file) {
				t.Errorf("sops updatekeys changed the file: credrotate's recipients are not the rule's\nbefore:\n%s\nafter:\n%s", file, after)
			}
			// A person's sops, encrypting a Secret at the same path, follows
			// the same rule.
			person := filepath.Join(filepath.Dir(full), "persons.yaml")
			if err := os.WriteFile(person, []byte("apiVersion: v1\nkind: Secret\nmetadata: {name: x}\ndata: {k: eA==}\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			out, err := sops(t, dir, c.ids[0], nil, "encrypt", strings.TrimPrefix(person, dir+string(filepath.Separator)))
			if err != nil {
				t.Fatalf("sops encrypt: %v", err)
			}
			pm := metaOf(t, out)
			if pm.EncryptedRegex != m.EncryptedRegex || pm.MACOnlyEncrypted != m.MACOnlyEncrypted || !sameSet(recipientsOf(pm), recipientsOf(m)) {
				t.Errorf("sops made %+v at that path, credrotate %+v", pm, m)
			}
		})
	}
}

// TestConflicts: each way a rule can disagree with the configuration is an
// *Error naming .sops.yaml, the rule and the file, and sops itself refuses
// the path no rule matches.
func TestConflicts(t *testing.T) {
	t.Parallel()
	a, b := newIdentity(t), newIdentity(t)
	dir, fsys := repo(t, fmt.Sprintf(`creation_rules:
  - path_regex: ^overlays/prod/
    age: %[1]s,%[2]s
    encrypted_regex: ^(data|stringData)$
  - path_regex: ^overlays/uat/
    age: %[1]s
    pgp: 85D77543B3D624B63CEA9E6DBC17301B491B3F21
    encrypted_regex: ^(data|stringData)$
  - path_regex: ^overlays/dev/
    age: %[1]s
  - path_regex: ^overlays/meta/
    age: %[1]s
    encrypted_regex: ^(data|stringData|metadata)$
  - path_regex: ^overlays/shamir/
    key_groups:
      - age: [%[1]s]
      - age: [%[2]s]
  - path_regex: ^overlays/suffix/
    age: %[1]s
    unencrypted_suffix: _plain
  - path_regex: ^overlays/partial/
    age: %[1]s
    encrypted_regex: ^(stringData)$
`, a.recipient, b.recipient))
	cfg, _, err := sopsrules.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		dir     string
		want    error
		rule    int
		message []string
	}{
		{"prod", sopsrules.ErrConflict, 0, []string{`creation_rules[0] (path_regex "^overlays/prod/")`, "only in the rule: " + a.recipient[:16], "sops.ageRecipients"}},
		{"uat", sopsrules.ErrConflict, 1, []string{"creation_rules[1]", "pgp", "age only"}},
		{"dev", sopsrules.ErrConflict, 2, []string{"creation_rules[2]", "no encrypted_regex", "encrypted_regex: ^(data|stringData)$"}},
		{"meta", sopsrules.ErrConflict, 3, []string{"creation_rules[3]", "matches metadata"}},
		{"shamir", sopsrules.ErrConflict, 4, []string{"creation_rules[4]", "2 key groups"}},
		{"suffix", sopsrules.ErrConflict, 5, []string{"creation_rules[5]", "suffix"}},
		{"partial", sopsrules.ErrConflict, 6, []string{"creation_rules[6]", "does not match data"}},
		{"qa", sopsrules.ErrNoRule, -1, []string{".sops.yaml: environment qa: overlays/qa/credentials/" + string(key) + ".yaml: no creation rule matches"}},
	} {
		recipients := []string{b.recipient}
		if c.dir != "prod" {
			recipients = []string{a.recipient}
		}
		p := "overlays/" + c.dir + "/credentials/" + string(key) + ".yaml"
		_, err := cfg.RulesFor(sopsrules.Env{Name: c.dir, Recipients: recipients}, map[credential.ProviderKey]string{key: p})
		var e *sopsrules.Error
		if !errors.Is(err, c.want) || !errors.As(err, &e) || e.Rule != c.rule || e.Path != p || e.File != ".sops.yaml" {
			t.Errorf("%s: %v (%+v)", c.dir, err, e)
			continue
		}
		for _, m := range c.message {
			if !strings.Contains(err.Error(), m) {
				t.Errorf("%s: %q does not say %q", c.dir, err, m)
			}
		}
	}
	// sops agrees that nothing matches overlays/qa.
	if err := os.MkdirAll(filepath.Join(dir, "overlays", "qa"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "overlays", "qa", "s.yaml"), []byte("data: {k: v}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := sops(t, dir, a, nil, "encrypt", "overlays/qa/s.yaml"); err == nil || !strings.Contains(err.Error(), "no matching creation rules") {
		t.Errorf("sops encrypt at a path no rule matches: %v", err)
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	// No .sops.yaml: nothing to honour.
	if c, w, err := sopsrules.Load(&seal.MemFS{}); c != nil || len(w) > 0 || err != nil {
		t.Errorf("no file: %v %v %v", c, w, err)
	}
	// .sops.yml is ignored by sops, with a warning; so here.
	m := &seal.MemFS{}
	_ = m.WriteFile(".sops.yml", []byte("creation_rules: [{age: x}]\n"), 0o644)
	if c, w, err := sopsrules.Load(m); c != nil || len(w) != 1 || !strings.Contains(w[0], ".sops.yml") || err != nil {
		t.Errorf(".sops.yml: %v %v %v", c, w, err)
	}
	// No creation_rules: sops encrypts as its command line says.
	m = &seal.MemFS{}
	_ = m.WriteFile(".sops.yaml", []byte("stores: {yaml: {indent: 2}}\n"), 0o644)
	if c, _, err := sopsrules.Load(m); c != nil || err != nil {
		t.Errorf("no creation rules: %v %v", c, err)
	}
	// A private key in the file is refused without being repeated.
	id := newIdentity(t)
	m = &seal.MemFS{}
	_ = m.WriteFile(".sops.yaml", []byte("creation_rules:\n  - age: "+id.key+"\n"), 0o644)
	if _, _, err := sopsrules.Load(m); !errors.Is(err, sopsrules.ErrInvalid) || strings.Contains(err.Error(), id.key[15:]) {
		t.Errorf("private key: %v", err)
	}
	m = &seal.MemFS{}
	_ = m.WriteFile(".sops.yaml", []byte("creation_rules: {{{\n"), 0o644)
	if _, _, err := sopsrules.Load(m); !errors.Is(err, sopsrules.ErrInvalid) {
		t.Errorf("bad yaml: %v", err)
	}
	// A rule without path_regex matches every file; a bad regex is named.
	m = &seal.MemFS{}
	_ = m.WriteFile(".sops.yaml", []byte("creation_rules:\n  - path_regex: '('\n  - age: "+id.recipient+"\n"), 0o644)
	c, _, err := sopsrules.Load(m)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.RulesFor(sopsrules.Env{Name: "prod", Recipients: []string{id.recipient}}, map[credential.ProviderKey]string{key: "p/x.yaml"})
	var e *sopsrules.Error
	if !errors.As(err, &e) || e.Rule != 0 || !errors.Is(err, sopsrules.ErrInvalid) || !strings.Contains(err.Error(), "compile") {
		t.Errorf("bad regex: %v", err)
	}
}

func TestEncodersRefuseAnUncheckedKey(t *testing.T) {
	t.Parallel()
	if _, err := (sopsrules.Encoders{}).Encode(nil, target("value-000000001")); err == nil || !strings.Contains(err.Error(), string(key)) {
		t.Errorf("unchecked key: %v", err)
	}
}
