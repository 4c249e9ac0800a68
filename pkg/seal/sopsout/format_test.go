package sopsout_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	sopsversion "github.com/getsops/sops/v3/version"

	"github.com/credrotate/credrotate/internal/testenv/sopscmd"
	"github.com/credrotate/credrotate/pkg/seal"
	"github.com/credrotate/credrotate/pkg/seal/sopsout"
)

// typedSecret is a Secret with values of every scalar type sops types:
// strings (empty, multi-line, quoted digits), ints, floats, bools and a
// timestamp, in data, stringData and metadata.
const typedSecret = `apiVersion: v1
kind: Secret
metadata:
  name: equifax-client
  namespace: credit
  labels:
    tier: "3"
    team: credit
  annotations:
    credrotate.io/provider-key: equifax.unique_client_id
    note: 2026-01-01T00:00:00Z
type: Opaque
immutable: false
data:
  client-secret: b2xkLXZhbHVlLTAwMDAwMDA=
  other-key: cGVyc29ucy1vd24tdmFsdWU=
stringData:
  port: 8080
  enabled: true
  ratio: 0.25
  empty: ""
  zip: "01234"
  multi: |
    line one
    line two
  list:
    - a
    - 7
    - nested: yes
`

// TestSOPSWrittenFilesOfEveryKind: files the sops command encrypted under
// each selector and MAC setting credrotate can keep are opened (MAC
// checked) and updated with an identity; sops decrypts every result, and
// each value that was not rotated keeps its ciphertext and its type.
func TestSOPSWrittenFilesOfEveryKind(t *testing.T) {
	t.Parallel()
	// Each case is the creation rule sops encrypts the file by (sops has
	// no flag for mac_only_encrypted).
	for name, rule := range map[string]string{
		"encrypted_regex, MAC over all":       "encrypted_regex: " + sopsout.EncryptedRegex,
		"encrypted_regex, mac_only_encrypted": "encrypted_regex: " + sopsout.EncryptedRegex + "\n    mac_only_encrypted: true",
		"unencrypted_regex":                   "unencrypted_regex: ^(apiVersion|kind|metadata|type|immutable)$",
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			id := newIdentity(t)
			dir := t.TempDir()
			conf := "creation_rules:\n  - age: " + id.recipient + "\n    " + rule + "\n"
			if err := os.WriteFile(filepath.Join(dir, ".sops.yaml"), []byte(conf), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "s.yaml"), []byte(typedSecret), 0o600); err != nil {
				t.Fatal(err)
			}
			file, err := sopscmd.Run(t, sopsBin, dir, id.key, nil, "encrypt", "s.yaml")
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(rule, "mac_only") != bytes.Contains(file, []byte("mac_only_encrypted: true")) {
				t.Fatalf("sops did not apply the rule:\n%s", file)
			}
			o, err := sopsout.Open(file, id.key)
			if err != nil {
				t.Fatalf("Open of a file sops wrote: %v\n%s", err, file)
			}
			if v, _ := o.Value("client-secret"); v.Reveal() != "old-value-0000000" {
				t.Errorf("Open: client-secret = %q", v.Reveal())
			}
			if v, _ := o.Value("port"); v.Reveal() != "8080" {
				t.Errorf("Open: port = %q", v.Reveal())
			}
			before := encryptedValues(t, file)
			it := item("equifax.unique_client_id", "new-value-0000009", "sec-9")
			tg := seal.Target{Name: it.Ref.Name, Namespace: it.Ref.Namespace, DataKey: it.Ref.DataKey, Value: it.Value, Metadata: it.Metadata}
			after, err := encoder(t, id.key, id.recipient).Encode(file, tg)
			if err != nil {
				t.Fatalf("update: %v", err)
			}
			got := encryptedValues(t, after)
			if got["other-key"] != before["other-key"] || got["client-secret"] == before["client-secret"] {
				t.Errorf("ciphertext before %v\nafter %v", before, got)
			}
			m, err := sopsDecrypt(t, id, after)
			if err != nil {
				t.Fatalf("sops decrypt after the update: %v\n%s", err, after)
			}
			want := map[string]any{"port": 8080, "enabled": true, "ratio": 0.25, "empty": "", "zip": "01234", "multi": "line one\nline two\n"}
			for k, v := range want {
				if g := dig(m, "stringData", k); g != v {
					t.Errorf("stringData.%s = %#v, want %#v", k, g, v)
				}
			}
			if dig(m, "data", "client-secret") != b64("new-value-0000009") || dig(m, "metadata", "labels", "tier") != "3" || dig(m, "immutable") != false {
				t.Errorf("decrypted = %v", m)
			}
			if l, _ := dig(m, "stringData", "list").([]any); len(l) != 3 || l[1] != 7 {
				t.Errorf("stringData.list = %v", dig(m, "stringData", "list"))
			}
			// And credrotate opens its own result.
			if o, err := sopsout.Open(after, id.key); err != nil {
				t.Errorf("Open after the update: %v", err)
			} else if v, _ := o.Value("client-secret"); v.Reveal() != "new-value-0000009" {
				t.Errorf("Open after the update: client-secret = %q", v.Reveal())
			}
		})
	}
}

// TestNewFilesUnderRuleSettings: new files written with a rule's own
// encrypted_regex and with the MAC over every value open with sops.
func TestNewFilesUnderRuleSettings(t *testing.T) {
	t.Parallel()
	id := newIdentity(t)
	for _, o := range []sopsout.Options{
		{MACAll: true},
		{EncryptedRegex: "^(data|stringData|secretRef)$"},
		{EncryptedRegex: "^(data|stringData)$", MACAll: true},
	} {
		o.Recipients, o.Now = []string{id.recipient}, func() time.Time { return testNow }
		enc, err := sopsout.New(o)
		if err != nil {
			t.Fatal(err)
		}
		it := item("equifax.k", "some-value-000001", "sec-1")
		out, err := enc.Encode(nil, seal.Target{Name: it.Ref.Name, DataKey: it.Ref.DataKey, Value: it.Value, Metadata: it.Metadata})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := sopsDecrypt(t, id, out); err != nil {
			t.Errorf("%+v: sops decrypt: %v\n%s", o, err, out)
		}
		if got := bytes.Contains(out, []byte("mac_only_encrypted: true")); got == o.MACAll {
			t.Errorf("%+v: mac_only_encrypted written = %v", o, got)
		}
		if !strings.Contains(string(out), "version: "+sopsout.FormatVersion) {
			t.Errorf("no version:\n%s", out)
		}
	}
}

// FuzzOpenAndUpdate: hostile files never panic either reader; what they
// return is an error or a file sops would accept.
func FuzzOpenAndUpdate(f *testing.F) {
	f.Add([]byte(typedSecret))
	f.Add([]byte("apiVersion: v1\nkind: Secret\nsops: {lastmodified: x}\n"))
	f.Add([]byte("apiVersion: v1\nkind: Secret\ndata: {a: 'ENC[AES256_GCM,data:AA==,iv:,tag:AA==,type:str]'}\nsops: {lastmodified: '2026-01-01T00:00:00Z', mac: 'ENC[AES256_GCM,data:AA==,iv:AA==,tag:AA==,type:int]', encrypted_regex: '^data$', age: [{recipient: r, enc: x}]}\n"))
	f.Add([]byte("a: &x [1]\nb: *x\n"))
	id, err := age.GenerateX25519Identity()
	if err != nil {
		f.Fatal(err)
	}
	enc, err := sopsout.New(sopsout.Options{Recipients: []string{id.Recipient().String()}, Identity: id.String()})
	if err != nil {
		f.Fatal(err)
	}
	it := item("equifax.unique_client_id", "new-value-0000009", "sec-9")
	tg := seal.Target{Name: it.Ref.Name, DataKey: it.Ref.DataKey, Value: it.Value, Metadata: it.Metadata}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = sopsout.Open(b, id.String())
		out, err := enc.Encode(b, tg)
		if err != nil {
			return
		}
		if _, err := sopsout.Open(out, id.String()); err != nil {
			t.Errorf("credrotate cannot open what it wrote: %v\n%s", err, out)
		}
	})
}

// TestFormatVersionIsThePinnedSOPS: the version new files name is the sops
// go.mod pins, whose command the tests hold the files to; a bump of the pin
// must come with a look at what changed in its format.
func TestFormatVersionIsThePinnedSOPS(t *testing.T) {
	t.Parallel()
	if sopsout.FormatVersion != sopsversion.Version {
		t.Errorf("sopsout.FormatVersion = %s, but go.mod pins sops %s: check sops's changes to its file format, then update FormatVersion", sopsout.FormatVersion, sopsversion.Version)
	}
}
