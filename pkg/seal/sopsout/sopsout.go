// Package sopsout writes credrotate's manifests as Kubernetes Secrets
// encrypted with SOPS for age recipients, the format Flux's
// kustomize-controller decrypts natively, and opens them again.
//
// Everything SOPS-specific is SOPS's own code: the YAML store
// (stores/yaml) parses and emits the file, the tree encrypts and decrypts
// the values and computes the MAC, the AES-GCM cipher (aes) encrypts them
// and the age key source (age) wraps the data key for each recipient. Only
// data and stringData are encrypted (encrypted_regex ^(data|stringData)$,
// as Flux documents it), so apiVersion, kind and metadata — with the
// credrotate.io annotations the planner reads — stay plaintext.
//
// An update keeps what it does not change. With an identity of one of the
// recipients (Options.Identity) the file is decrypted, its MAC checked, the
// rotated value and the annotations set, and the file encrypted again with
// the same data key; every value whose plaintext did not change keeps its
// exact ciphertext (a value's ciphertext is bound only to the data key and
// its path, so reusing it is what SOPS would decrypt), and the MAC is
// computed anew over the whole tree by SOPS. Without an identity the data
// key cannot be opened: a file whose encrypted part holds only the rotated
// key is encrypted afresh (a new data key) with everything else in it kept,
// and a file holding other keys is refused with the fix.
package sopsout

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/getsops/sops/v3"
	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"
	"github.com/getsops/sops/v3/config"
	"github.com/getsops/sops/v3/keys"
	sopsyaml "github.com/getsops/sops/v3/stores/yaml"
	"github.com/getsops/sops/v3/version"

	"github.com/credrotate/credrotate/pkg/seal"
)

// EncryptedRegex is the encrypted_regex of every file this package writes:
// only the Secret's data and stringData are encrypted.
const EncryptedRegex = "^(data|stringData)$"

// Errors Encode and Open return; each is wrapped with what was found.
var (
	// ErrNotSOPSSecret: the file holds something other than one
	// SOPS-encrypted Kubernetes Secret; credrotate will not overwrite it.
	ErrNotSOPSSecret = errors.New("not a single SOPS-encrypted Secret")
	// ErrNeedIdentity: the file holds other keys, which only a recipient's
	// private key can keep.
	ErrNeedIdentity = errors.New("the file holds other keys and no age identity is configured to keep them")
	// ErrMACMismatch: the file's values do not match its MAC (edited
	// without sops, or tampered with).
	ErrMACMismatch = errors.New("SOPS MAC mismatch")
	// ErrDecrypt: no given identity opens the file's data key.
	ErrDecrypt = errors.New("cannot decrypt the SOPS data key")
	// ErrRecipients: a configured recipient is not usable.
	ErrRecipients = errors.New("invalid age recipients")
)

// Options configure an Encoder.
type Options struct {
	// Recipients are the age public keys every file is encrypted for.
	Recipients []string
	// Identity is optional: age identities (AGE-SECRET-KEY-1..., one a
	// line) of which one belongs to a recipient, to keep other keys'
	// ciphertext when updating a file that holds them.
	Identity string
	// Now is the clock for SOPS's lastmodified; nil is time.Now.
	Now func() time.Time
	// EncryptedRegex is the encrypted_regex of new files; "" is
	// EncryptedRegex. A repository's .sops.yaml creation rule may name
	// another (pkg/seal/sopsrules checks that it still encrypts data and
	// stringData and leaves apiVersion, kind and metadata plaintext).
	EncryptedRegex string
	// MACAll makes the MAC of new files cover every value, plaintext ones
	// included (SOPS's own default). Without it new files are written with
	// SOPS's mac_only_encrypted: the MAC covers the encrypted values, so
	// that an overlay's transformers (labels, a namespace) do not break it
	// when kustomize-controller verifies it after the build. An existing
	// file keeps its own setting.
	MACAll bool
}

// Encoder writes SOPS Secrets for one environment; it implements
// seal.Encoder.
type Encoder struct {
	recipients []string
	identities sopsage.ParsedIdentities
	now        func() time.Time
	regex      string
	macAll     bool
}

var _ seal.Encoder = (*Encoder)(nil)

// New checks the recipients (and identity) and returns an Encoder.
func New(o Options) (*Encoder, error) {
	if len(o.Recipients) == 0 {
		return nil, fmt.Errorf("%w: none given", ErrRecipients)
	}
	e := &Encoder{now: o.Now, regex: o.EncryptedRegex, macAll: o.MACAll}
	if e.regex == "" {
		e.regex = EncryptedRegex
	}
	if _, err := regexp.Compile(e.regex); err != nil {
		return nil, fmt.Errorf("encrypted_regex %q does not compile: %w", e.regex, err)
	}
	for _, r := range o.Recipients {
		r = strings.TrimSpace(r)
		if _, err := sopsage.MasterKeyFromRecipient(r); err != nil {
			return nil, fmt.Errorf("%w: %q: %w", ErrRecipients, r, err)
		}
		if !slices.Contains(e.recipients, r) {
			e.recipients = append(e.recipients, r)
		}
	}
	if strings.TrimSpace(o.Identity) != "" {
		if err := e.identities.Import(o.Identity); err != nil {
			// The parse error could quote the key: say only what it is.
			return nil, fmt.Errorf("the age identity does not parse (expected AGE-SECRET-KEY-1... lines)")
		}
	}
	if e.now == nil {
		e.now = time.Now
	}
	return e, nil
}

// Recipients returns the recipients files are encrypted for.
func (e *Encoder) Recipients() []string { return slices.Clone(e.recipients) }

func newStore() *sopsyaml.Store { return sopsyaml.NewStore(&config.YAMLStoreConfig{}) }

// Encode implements seal.Encoder: it returns the SOPS Secret holding t,
// made from existing (nil for a new file).
func (e *Encoder) Encode(existing []byte, t seal.Target) ([]byte, error) {
	if t.Value.IsZero() {
		return nil, fmt.Errorf("the secret value is empty")
	}
	if len(bytes.TrimSpace(existing)) == 0 {
		return e.fresh(nil, t)
	}
	store := newStore()
	plain, err := store.LoadPlainFile(existing)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotSOPSSecret, err)
	}
	if len(plain) != 1 {
		return nil, fmt.Errorf("%w: the file holds %d documents", ErrNotSOPSSecret, len(plain))
	}
	doc := plain[0]
	apiVersion, kind := str(get(doc, "apiVersion")), str(get(doc, "kind"))
	switch {
	case kind == seal.Kind && strings.HasPrefix(apiVersion, "bitnami.com/"):
		// An environment moved from SealedSecrets: a file holding only the
		// rotated key becomes a SOPS Secret; other keys cannot be carried
		// over without their plaintext.
		others := slices.DeleteFunc(keysOf(get(branch(get(doc, "spec")), "encryptedData")), func(k string) bool { return k == t.DataKey })
		if len(others) > 0 {
			return nil, fmt.Errorf("%w: the file is a SealedSecret with other keys %v; the environment is now on sops: re-create those keys in a SOPS Secret by hand or keep the environment on sealedSecrets", ErrNotSOPSSecret, others)
		}
		return e.fresh(nil, t)
	case apiVersion == "v1" && kind == "Secret":
		if get(doc, "sops") == nil {
			return nil, fmt.Errorf("%w: the file is an unencrypted Secret: remove it from the repository (its values are exposed) and let credrotate write a SOPS one", ErrNotSOPSSecret)
		}
	default:
		return nil, fmt.Errorf("%w: it is apiVersion %q kind %q", ErrNotSOPSSecret, apiVersion, kind)
	}

	tree, err := store.LoadEncryptedFile(existing)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotSOPSSecret, err)
	}
	if pk := annotation(tree.Branches[0], seal.AnnotationProviderKey); pk != "" && pk != string(t.Metadata.ProviderKey) {
		return nil, fmt.Errorf("%w: the file carries %s %q, not %q", seal.ErrIncompatibleManifest, seal.AnnotationProviderKey, pk, t.Metadata.ProviderKey)
	}
	if len(e.identities) > 0 {
		return e.update(&tree, t)
	}
	return e.reencrypt(tree, t)
}

// fresh encrypts base (nil: a new Secret) with t applied under a new data
// key for the configured recipients.
func (e *Encoder) fresh(base sops.TreeBranch, t seal.Target) ([]byte, error) {
	if base == nil {
		base = sops.TreeBranch{
			{Key: "apiVersion", Value: "v1"},
			{Key: "kind", Value: "Secret"},
			{Key: "metadata", Value: sops.TreeBranch{{Key: "name", Value: t.Name}}},
			{Key: "type", Value: "Opaque"},
			{Key: "data", Value: sops.TreeBranch{}},
		}
	}
	base, err := applyTarget(base, t)
	if err != nil {
		return nil, err
	}
	tree := sops.Tree{
		Branches: sops.TreeBranches{base},
		Metadata: sops.Metadata{EncryptedRegex: e.regex, MACOnlyEncrypted: !e.macAll, Version: version.Version},
	}
	dataKey := make([]byte, 32)
	if _, err := randRead(dataKey); err != nil {
		return nil, fmt.Errorf("generating the SOPS data key: %w", err)
	}
	group, err := e.keyGroup(nil, dataKey)
	if err != nil {
		return nil, err
	}
	tree.Metadata.KeyGroups = []sops.KeyGroup{group}
	return e.encryptAndEmit(&tree, dataKey, aes.NewCipher())
}

// reencrypt handles an existing SOPS Secret without an identity: possible
// only when its encrypted part holds nothing but the rotated key.
func (e *Encoder) reencrypt(tree sops.Tree, t seal.Target) ([]byte, error) {
	if tree.Metadata.EncryptedRegex != e.regex || tree.Metadata.UnencryptedSuffix != "" || tree.Metadata.EncryptedSuffix != "" ||
		tree.Metadata.UnencryptedRegex != "" || tree.Metadata.EncryptedCommentRegex != "" || tree.Metadata.UnencryptedCommentRegex != "" {
		return nil, fmt.Errorf("%w (it was encrypted with other SOPS rules than encrypted_regex %s): set environments[].sops.ageKeyFile to an identity of one of its recipients", ErrNeedIdentity, e.regex)
	}
	doc := tree.Branches[0]
	if p := encryptedOutside(doc); p != "" {
		// A value encrypted outside data and stringData (a label the regex
		// matches) cannot be carried over without the data key.
		return nil, fmt.Errorf("%w (%s is encrypted): set environments[].sops.ageKeyFile to an identity of one of the file's recipients", ErrNeedIdentity, p)
	}
	var others []string
	for _, sect := range []string{"data", "stringData"} {
		for _, k := range keysOf(get(doc, sect)) {
			if k != t.DataKey {
				others = append(others, sect+"."+k)
			}
		}
	}
	if len(others) > 0 {
		return nil, fmt.Errorf("%w (%v): set environments[].sops.ageKeyFile to an identity of one of the file's recipients, or move those keys to a file of their own", ErrNeedIdentity, others)
	}
	for _, sect := range []string{"data", "stringData"} {
		if b, ok := get(doc, sect).(sops.TreeBranch); ok {
			// Encrypted comments cannot be carried over without the key.
			b = slices.DeleteFunc(b, func(it sops.TreeItem) bool { _, c := it.Key.(sops.Comment); return c || keyString(it.Key) == t.DataKey })
			doc = set(doc, sect, b)
		}
	}
	return e.fresh(doc, t)
}

// update decrypts tree with the identities, checks its MAC, applies t and
// encrypts it again with the same data key, keeping every unchanged value's
// ciphertext.
func (e *Encoder) update(tree *sops.Tree, t seal.Target) ([]byte, error) {
	dataKey, err := dataKeyOf(tree, e.identities)
	if err != nil {
		return nil, err
	}
	rc := &reusingCipher{inner: aes.NewCipher(), seen: map[string][]seenValue{}}
	if err := verifyAndDecrypt(tree, dataKey, rc); err != nil {
		return nil, err
	}
	doc, err := applyTarget(tree.Branches[0], t)
	if err != nil {
		return nil, err
	}
	tree.Branches[0] = doc
	if len(tree.Metadata.KeyGroups) != 1 {
		return nil, fmt.Errorf("%w: the file has %d key groups (Shamir); credrotate updates files with one", ErrNotSOPSSecret, len(tree.Metadata.KeyGroups))
	}
	group, err := e.keyGroup(tree.Metadata.KeyGroups[0], dataKey)
	if err != nil {
		return nil, err
	}
	tree.Metadata.KeyGroups[0] = group
	tree.Metadata.Version = version.Version
	return e.encryptAndEmit(tree, dataKey, rc)
}

// keyGroup returns the key group for the configured recipients: an age key
// already in old for a configured recipient keeps its wrapped data key, new
// recipients get dataKey wrapped for them, age keys no longer configured are
// dropped, and keys of other kinds (a person's PGP or KMS key) are kept.
func (e *Encoder) keyGroup(old sops.KeyGroup, dataKey []byte) (sops.KeyGroup, error) {
	var group sops.KeyGroup
	have := map[string]bool{}
	for _, k := range old {
		ak, ok := k.(*sopsage.MasterKey)
		if !ok {
			group = append(group, k)
			continue
		}
		if slices.Contains(e.recipients, ak.Recipient) && !have[ak.Recipient] {
			have[ak.Recipient] = true
			group = append(group, ak)
		}
	}
	for _, r := range e.recipients {
		if have[r] {
			continue
		}
		mk, err := sopsage.MasterKeyFromRecipient(r)
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %w", ErrRecipients, r, err)
		}
		if err := mk.Encrypt(dataKey); err != nil {
			return nil, fmt.Errorf("wrapping the SOPS data key for %s: %w", r, err)
		}
		group = append(group, mk)
	}
	return group, nil
}

// encryptAndEmit encrypts the tree and its MAC as SOPS does
// (common.EncryptTree, with this Encoder's clock) and renders the file.
func (e *Encoder) encryptAndEmit(tree *sops.Tree, dataKey []byte, cipher sops.Cipher) ([]byte, error) {
	mac, err := tree.Encrypt(dataKey, cipher)
	if err != nil {
		return nil, fmt.Errorf("encrypting the Secret: %w", err)
	}
	tree.Metadata.LastModified = e.now().UTC().Truncate(time.Second)
	tree.Metadata.MessageAuthenticationCode, err = aes.NewCipher().Encrypt(mac, dataKey, tree.Metadata.LastModified.Format(time.RFC3339))
	if err != nil {
		return nil, fmt.Errorf("encrypting the MAC: %w", err)
	}
	out, err := newStore().EmitEncryptedFile(*tree)
	if err != nil {
		return nil, fmt.Errorf("rendering the SOPS file: %w", err)
	}
	return out, nil
}

// verifyAndDecrypt decrypts tree in place and checks its MAC the way
// common.DecryptTree does.
func verifyAndDecrypt(tree *sops.Tree, dataKey []byte, cipher sops.Cipher) error {
	computed, err := tree.Decrypt(dataKey, cipher)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrDecrypt, err)
	}
	fileMac, err := aes.NewCipher().Decrypt(tree.Metadata.MessageAuthenticationCode, dataKey, tree.Metadata.LastModified.Format(time.RFC3339))
	if err != nil || fileMac != computed {
		return fmt.Errorf("%w: the file's values do not match its MAC (edited without sops?): open it with `sops edit` or restore it", ErrMACMismatch)
	}
	return nil
}

// dataKeyOf unwraps the data key with the identities, trying every age key
// of the file's (single) key group.
func dataKeyOf(tree *sops.Tree, ids sopsage.ParsedIdentities) ([]byte, error) {
	if len(ids) == 0 {
		return nil, fmt.Errorf("%w: no identity given", ErrDecrypt)
	}
	if len(tree.Metadata.KeyGroups) != 1 {
		return nil, fmt.Errorf("%w: the file has %d key groups; one is supported", ErrDecrypt, len(tree.Metadata.KeyGroups))
	}
	for _, k := range tree.Metadata.KeyGroups[0] {
		ak, ok := k.(*sopsage.MasterKey)
		if !ok {
			continue
		}
		probe := &sopsage.MasterKey{Recipient: ak.Recipient, EncryptedKey: ak.EncryptedKey}
		ids.ApplyToMasterKey(probe)
		if dk, err := probe.Decrypt(); err == nil {
			return dk, nil
		}
	}
	return nil, fmt.Errorf("%w: none of the file's age recipients matches the identity", ErrDecrypt)
}

// reusingCipher is SOPS's AES cipher that remembers what it decrypted and,
// encrypting the same plaintext at the same path again, returns the
// original ciphertext, so that an update changes only what changed.
type reusingCipher struct {
	inner aes.Cipher
	seen  map[string][]seenValue
}

type seenValue struct {
	plain, cipher string
	used          bool
}

func repr(v any) string { return fmt.Sprintf("%T:%v", v, v) }

func (c *reusingCipher) Decrypt(ciphertext string, key []byte, additionalData string) (any, error) {
	v, err := c.inner.Decrypt(ciphertext, key, additionalData)
	if err == nil {
		c.seen[additionalData] = append(c.seen[additionalData], seenValue{plain: repr(v), cipher: ciphertext})
	}
	return v, err
}

func (c *reusingCipher) Encrypt(plaintext any, key []byte, additionalData string) (string, error) {
	p := repr(plaintext)
	for i, s := range c.seen[additionalData] {
		if !s.used && s.plain == p {
			c.seen[additionalData][i].used = true
			return s.cipher, nil
		}
	}
	return c.inner.Encrypt(plaintext, key, additionalData)
}

var _ sops.Cipher = (*reusingCipher)(nil)

// applyTarget sets the Secret's name, namespace and credrotate annotations
// and the rotated value (in data, base64; removed from stringData).
func applyTarget(doc sops.TreeBranch, t seal.Target) (sops.TreeBranch, error) {
	md, ok := get(doc, "metadata").(sops.TreeBranch)
	if !ok {
		if get(doc, "metadata") != nil {
			return nil, fmt.Errorf("%w: metadata is not a mapping", ErrNotSOPSSecret)
		}
		md = sops.TreeBranch{}
	}
	md = set(md, "name", t.Name)
	if t.Namespace != "" {
		md = set(md, "namespace", t.Namespace)
	} else {
		md = del(md, "namespace")
	}
	md = del(md, "creationTimestamp")
	annos, ok := get(md, "annotations").(sops.TreeBranch)
	if !ok {
		if get(md, "annotations") != nil {
			return nil, fmt.Errorf("%w: metadata.annotations is not a mapping", ErrNotSOPSSecret)
		}
		annos = sops.TreeBranch{}
	}
	md1 := t.Metadata
	if md1.Fingerprint == "" {
		md1.Fingerprint = t.Value.Fingerprint()
	}
	t.Metadata = md1
	order, values := t.Annotations()
	for _, k := range order {
		if v := values[k]; v != "" {
			annos = set(annos, k, v)
		} else {
			annos = del(annos, k)
		}
	}
	if len(annos) > 0 {
		md = set(md, "annotations", annos)
	} else {
		md = del(md, "annotations")
	}
	doc = set(doc, "metadata", md)

	data, ok := get(doc, "data").(sops.TreeBranch)
	if !ok {
		if get(doc, "data") != nil {
			return nil, fmt.Errorf("%w: data is not a mapping", ErrNotSOPSSecret)
		}
		data = sops.TreeBranch{}
	}
	data = set(data, t.DataKey, base64.StdEncoding.EncodeToString([]byte(t.Value.Reveal())))
	doc = set(doc, "data", data)
	if sd, ok := get(doc, "stringData").(sops.TreeBranch); ok {
		sd = del(sd, t.DataKey)
		if len(sd) == 0 {
			doc = del(doc, "stringData")
		} else {
			doc = set(doc, "stringData", sd)
		}
	}
	return doc, nil
}

// keys.MasterKey is named so that the key group's element type is clear.
var _ keys.MasterKey = (*sopsage.MasterKey)(nil)
