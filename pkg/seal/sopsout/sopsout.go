// Package sopsout writes credrotate's manifests as Kubernetes Secrets
// encrypted with SOPS for age recipients, the format Flux's
// kustomize-controller decrypts natively, and opens them again.
//
// The SOPS format is implemented here (format.go, age.go) as sops v3 reads
// and writes it for YAML: each value sealed with AES-256-GCM under the
// file's data key and bound to its path, the MAC over the values, and the
// data key wrapped for each age recipient as an armored age file. The
// package's tests hold every kind of file it writes to the sops command
// built from the module go.mod pins (decrypt, with its MAC check, and
// set), and it reads files the sops command wrote. Linking sops's own
// library would bring every KMS client it supports into credrotate, which
// encrypts for age only.
//
// Only data and stringData are encrypted (encrypted_regex
// ^(data|stringData)$, as Flux documents it), so apiVersion, kind and
// metadata — with the credrotate.io annotations the planner reads — stay
// plaintext.
//
// An update keeps what it does not change. With an identity of one of the
// recipients (Options.Identity) the file is decrypted, its MAC checked, the
// rotated value and the annotations set, and only the changed values are
// encrypted again with the same data key: every other value keeps its exact
// ciphertext (a value's ciphertext is bound only to the data key and its
// path), its comments stay as they are, and the MAC is computed anew over
// the whole file. Without an identity the data key cannot be opened: a file
// whose encrypted part holds only the rotated key is encrypted afresh (a new
// data key) with everything else in it kept, and a file holding other keys
// is refused with the fix.
package sopsout

import (
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"filippo.io/age"
	"go.yaml.in/yaml/v3"

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
	parsed     map[string]age.Recipient
	identities []age.Identity
	now        func() time.Time
	regex      string
	sel        selector
	macAll     bool
}

var _ seal.Encoder = (*Encoder)(nil)

// New checks the recipients (and identity) and returns an Encoder.
func New(o Options) (*Encoder, error) {
	if len(o.Recipients) == 0 {
		return nil, fmt.Errorf("%w: none given", ErrRecipients)
	}
	e := &Encoder{now: o.Now, regex: o.EncryptedRegex, macAll: o.MACAll, parsed: map[string]age.Recipient{}}
	if e.regex == "" {
		e.regex = EncryptedRegex
	}
	rx, err := regexp.Compile(e.regex)
	if err != nil {
		return nil, fmt.Errorf("encrypted_regex %q does not compile: %w", e.regex, err)
	}
	e.sel = selector{encRegex: rx}
	for _, r := range o.Recipients {
		r = strings.TrimSpace(r)
		pr, err := ParseRecipient(r)
		if err != nil {
			return nil, fmt.Errorf("%w: %q: %w", ErrRecipients, r, err)
		}
		if !slices.Contains(e.recipients, r) {
			e.recipients = append(e.recipients, r)
			e.parsed[r] = pr
		}
	}
	if strings.TrimSpace(o.Identity) != "" {
		ids, err := parseIdentities(o.Identity)
		if err != nil {
			// The parse error could quote the key: say only what it is.
			return nil, fmt.Errorf("the age identity does not parse (expected AGE-SECRET-KEY-1... lines)")
		}
		e.identities = ids
	}
	if e.now == nil {
		e.now = time.Now
	}
	return e, nil
}

// Recipients returns the recipients files are encrypted for.
func (e *Encoder) Recipients() []string { return slices.Clone(e.recipients) }

// Encode implements seal.Encoder: it returns the SOPS Secret holding t,
// made from existing (nil for a new file).
func (e *Encoder) Encode(existing []byte, t seal.Target) ([]byte, error) {
	if t.Value.IsZero() {
		return nil, fmt.Errorf("the secret value is empty")
	}
	if len(strings.TrimSpace(string(existing))) == 0 {
		return e.fresh(nil, t)
	}
	doc, err := parseYAML(existing)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotSOPSSecret, err)
	}
	root := doc.Content[0]
	apiVersion, kind := scalarString(mapGet(root, "apiVersion")), scalarString(mapGet(root, "kind"))
	switch {
	case kind == seal.Kind && strings.HasPrefix(apiVersion, "bitnami.com/"):
		// An environment moved from SealedSecrets: a file holding only the
		// rotated key becomes a SOPS Secret; other keys cannot be carried
		// over without their plaintext.
		others := slices.DeleteFunc(mapKeys(mapGet(mapGet(root, "spec"), "encryptedData")), func(k string) bool { return k == t.DataKey })
		if len(others) > 0 {
			return nil, fmt.Errorf("%w: the file is a SealedSecret with other keys %v; the environment is now on sops: re-create those keys in a SOPS Secret by hand or keep the environment on sealedSecrets", ErrNotSOPSSecret, others)
		}
		return e.fresh(nil, t)
	case apiVersion == "v1" && kind == "Secret":
		if mapGet(root, metadataKey) == nil {
			return nil, fmt.Errorf("%w: the file is an unencrypted Secret: remove it from the repository (its values are exposed) and let credrotate write a SOPS one", ErrNotSOPSSecret)
		}
	default:
		return nil, fmt.Errorf("%w: it is apiVersion %q kind %q", ErrNotSOPSSecret, apiVersion, kind)
	}
	f, err := loadSOPSDoc(doc)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotSOPSSecret, err)
	}
	if pk := annotation(root, seal.AnnotationProviderKey); pk != "" && pk != string(t.Metadata.ProviderKey) {
		return nil, fmt.Errorf("%w: the file carries %s %q, not %q", seal.ErrIncompatibleManifest, seal.AnnotationProviderKey, pk, t.Metadata.ProviderKey)
	}
	if len(e.identities) > 0 {
		return e.update(f, t)
	}
	return e.reencrypt(f, t)
}

// fresh encrypts doc (nil: a new Secret) with t applied under a new data
// key for the configured recipients.
func (e *Encoder) fresh(doc *yaml.Node, t seal.Target) ([]byte, error) {
	if doc == nil {
		root := mappingNode()
		md := mappingNode()
		md.Content = []*yaml.Node{strNode("name"), strNode(t.Name)}
		root.Content = []*yaml.Node{
			strNode("apiVersion"), strNode("v1"),
			strNode("kind"), strNode("Secret"),
			strNode("metadata"), md,
			strNode("type"), strNode("Opaque"),
			strNode("data"), mappingNode(),
		}
		doc = &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}
	}
	root := doc.Content[0]
	mapDel(root, metadataKey)
	if err := applyTarget(root, t); err != nil {
		return nil, err
	}
	dataKey := make([]byte, 32)
	if _, err := randRead(dataKey); err != nil {
		return nil, fmt.Errorf("generating the SOPS data key: %w", err)
	}
	mac := newMAC(!e.macAll)
	err := walk(root, func(n *yaml.Node, path []string) error {
		return sealLeaf(n, path, e.sel.encrypted(path), mac, dataKey)
	})
	if err != nil {
		return nil, fmt.Errorf("encrypting the Secret: %w", err)
	}
	meta := mappingNode()
	ages := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	for _, r := range e.recipients {
		item, err := e.wrapFor(r, dataKey)
		if err != nil {
			return nil, err
		}
		ages.Content = append(ages.Content, item)
	}
	meta.Content = append(meta.Content, strNode("age"), ages)
	last, macText, err := e.sealMAC(mac, dataKey)
	if err != nil {
		return nil, err
	}
	meta.Content = append(meta.Content, strNode("lastmodified"), strNode(last), strNode("mac"), strNode(macText),
		strNode("encrypted_regex"), strNode(e.regex))
	if !e.macAll {
		meta.Content = append(meta.Content, strNode("mac_only_encrypted"), boolNode(true))
	}
	meta.Content = append(meta.Content, strNode("version"), strNode(FormatVersion))
	root.Content = append(root.Content, strNode(metadataKey), meta)
	return e.render(doc)
}

// wrapFor returns the age list item of recipient r holding dataKey.
func (e *Encoder) wrapFor(r string, dataKey []byte) (*yaml.Node, error) {
	enc, err := wrapDataKey(e.parsed[r], dataKey)
	if err != nil {
		return nil, fmt.Errorf("wrapping the SOPS data key for %s: %w", r, err)
	}
	item := mappingNode()
	item.Content = []*yaml.Node{strNode("recipient"), strNode(r), strNode("enc"), {Kind: yaml.ScalarNode, Tag: "!!str", Value: enc, Style: yaml.LiteralStyle}}
	return item, nil
}

// sealMAC stamps lastmodified and returns it with the MAC encrypted under
// the data key, bound to that time, as sops does.
func (e *Encoder) sealMAC(mac *macState, dataKey []byte) (last, sealed string, err error) {
	last = e.now().UTC().Truncate(time.Second).Format(time.RFC3339)
	sealed, err = encryptValue(plainValue{typ: "str", b: []byte(mac.hex())}, dataKey, last)
	if err != nil {
		return "", "", fmt.Errorf("encrypting the MAC: %w", err)
	}
	return last, sealed, nil
}

func (e *Encoder) render(doc *yaml.Node) ([]byte, error) {
	out, err := emit(doc)
	if err != nil {
		return nil, fmt.Errorf("rendering the SOPS file: %w", err)
	}
	return out, nil
}

// sealLeaf adds a plaintext scalar to the MAC and, when enc, replaces it
// with its ciphertext.
func sealLeaf(n *yaml.Node, path []string, enc bool, mac *macState, dataKey []byte) error {
	pv, err := scalarValue(n)
	if err != nil {
		return fmt.Errorf("%s: %w", strings.Join(path, "."), err)
	}
	mac.add(pv, enc)
	if enc {
		return encryptNode(n, pv, dataKey, path)
	}
	return nil
}

// encryptNode replaces a scalar's value with its ciphertext.
func encryptNode(n *yaml.Node, pv plainValue, dataKey []byte, path []string) error {
	s, err := encryptValue(pv, dataKey, additionalData(path))
	if err != nil {
		return err
	}
	n.Kind, n.Tag, n.Value, n.Style = yaml.ScalarNode, "!!str", s, 0
	return nil
}

// reencrypt handles an existing SOPS Secret without an identity: possible
// only when its encrypted part holds nothing but the rotated key.
func (e *Encoder) reencrypt(f *sopsFile, t seal.Target) ([]byte, error) {
	m := f.meta
	if m.EncryptedRegex != e.regex || m.UnencryptedSuffix != "" || m.EncryptedSuffix != "" || m.UnencryptedRegex != "" {
		return nil, fmt.Errorf("%w (it was encrypted with other SOPS rules than encrypted_regex %s): set environments[].sops.ageKeyFile to an identity of one of its recipients", ErrNeedIdentity, e.regex)
	}
	root := f.root
	if p := encryptedOutside(root); p != "" {
		// A value encrypted outside data and stringData (a label the regex
		// matches) cannot be carried over without the data key.
		return nil, fmt.Errorf("%w (%s is encrypted): set environments[].sops.ageKeyFile to an identity of one of the file's recipients", ErrNeedIdentity, p)
	}
	var others []string
	for _, sect := range []string{"data", "stringData"} {
		for _, k := range mapKeys(mapGet(root, sect)) {
			if k != t.DataKey {
				others = append(others, sect+"."+k)
			}
		}
	}
	if len(others) > 0 {
		return nil, fmt.Errorf("%w (%v): set environments[].sops.ageKeyFile to an identity of one of the file's recipients", ErrNeedIdentity, others)
	}
	for _, sect := range []string{"data", "stringData"} {
		if b := mapGet(root, sect); b != nil && b.Kind == yaml.MappingNode {
			// Encrypted comments cannot be carried over without the key.
			mapDel(b, t.DataKey)
			stripComments(b)
		}
	}
	return e.fresh(f.doc, t)
}

// stripComments removes the comments of n and everything below it.
func stripComments(n *yaml.Node) {
	n.HeadComment, n.LineComment, n.FootComment = "", "", ""
	for _, c := range n.Content {
		stripComments(c)
	}
}

// update decrypts the file with the identities, checks its MAC, applies t
// and encrypts what changed with the same data key, keeping every unchanged
// value's ciphertext.
func (e *Encoder) update(f *sopsFile, t seal.Target) ([]byte, error) {
	if len(f.meta.KeyGroups) > 0 {
		return nil, fmt.Errorf("%w: the file's data key is split across %d key_groups (Shamir); credrotate updates files with one group", ErrNotSOPSSecret, len(f.meta.KeyGroups))
	}
	dataKey, err := dataKeyOf(f, e.identities)
	if err != nil {
		return nil, err
	}
	plain, err := verifyAndDecrypt(f, dataKey)
	if err != nil {
		return nil, err
	}
	if err := applyTarget(f.root, t); err != nil {
		return nil, err
	}
	mac := newMAC(f.meta.MACOnlyEncrypted)
	err = walk(f.root, func(n *yaml.Node, path []string) error {
		enc := f.sel.encrypted(path)
		if pv, ok := plain[n]; ok && enc {
			mac.add(pv, true)
			return nil
		}
		return sealLeaf(n, path, enc, mac, dataKey)
	})
	if err != nil {
		return nil, fmt.Errorf("encrypting the Secret: %w", err)
	}
	// The age list: kept for configured recipients, added for new ones,
	// dropped for the rest; keys of other kinds (a person's PGP or KMS
	// key) are left as they are.
	ages := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
	have := map[string]bool{}
	if old := mapGet(f.metaNode, "age"); old != nil {
		for _, item := range old.Content {
			r := strings.TrimSpace(scalarString(mapGet(item, "recipient")))
			if slices.Contains(e.recipients, r) && !have[r] {
				have[r] = true
				ages.Content = append(ages.Content, item)
			}
		}
	}
	for _, r := range e.recipients {
		if have[r] {
			continue
		}
		item, err := e.wrapFor(r, dataKey)
		if err != nil {
			return nil, err
		}
		ages.Content = append(ages.Content, item)
	}
	mapSet(f.metaNode, "age", ages)
	last, macText, err := e.sealMAC(mac, dataKey)
	if err != nil {
		return nil, err
	}
	mapSet(f.metaNode, "lastmodified", strNode(last))
	mapSet(f.metaNode, "mac", strNode(macText))
	mapSet(f.metaNode, "version", strNode(FormatVersion))
	return e.render(f.doc)
}

// verifyAndDecrypt opens every encrypted value of the file and checks the
// MAC the way `sops decrypt` does. It returns the opened values by node;
// the file is not changed.
func verifyAndDecrypt(f *sopsFile, dataKey []byte) (map[*yaml.Node]plainValue, error) {
	plain := map[*yaml.Node]plainValue{}
	mac := newMAC(f.meta.MACOnlyEncrypted)
	err := walk(f.root, func(n *yaml.Node, path []string) error {
		enc := f.sel.encrypted(path)
		if !enc {
			pv, err := scalarValue(n)
			if err != nil {
				return fmt.Errorf("%s: %w", strings.Join(path, "."), err)
			}
			mac.add(pv, false)
			return nil
		}
		if n.ShortTag() != "!!str" {
			return fmt.Errorf("%s is not encrypted", strings.Join(path, "."))
		}
		pv, err := decryptValue(n.Value, dataKey, additionalData(path))
		if err != nil {
			return fmt.Errorf("%s: %w", strings.Join(path, "."), err)
		}
		plain[n] = pv
		mac.add(pv, true)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDecrypt, err)
	}
	fileMAC, err := f.decryptMAC(dataKey)
	if err != nil || fileMAC != mac.hex() {
		return nil, fmt.Errorf("%w: the file's values do not match its MAC (edited without sops?): open it with `sops edit` or restore it", ErrMACMismatch)
	}
	return plain, nil
}

// dataKeyOf unwraps the data key with the identities, trying every age key
// of the file.
func dataKeyOf(f *sopsFile, ids []age.Identity) ([]byte, error) {
	if len(ids) == 0 {
		return nil, fmt.Errorf("%w: no identity given", ErrDecrypt)
	}
	if len(f.meta.KeyGroups) > 0 {
		return nil, fmt.Errorf("%w: the file has %d key groups; one is supported", ErrDecrypt, len(f.meta.KeyGroups))
	}
	for _, a := range f.meta.Age {
		if dk, err := unwrapDataKey(a.Enc, ids); err == nil {
			return dk, nil
		}
	}
	return nil, fmt.Errorf("%w: none of the file's age recipients matches the identity", ErrDecrypt)
}

// applyTarget sets the Secret's name, namespace and credrotate annotations
// and the rotated value (in data, base64; removed from stringData).
func applyTarget(root *yaml.Node, t seal.Target) error {
	md := mapGet(root, "metadata")
	switch {
	case md == nil || md.ShortTag() == "!!null":
		md = mappingNode()
		mapSet(root, "metadata", md)
	case md.Kind != yaml.MappingNode:
		return fmt.Errorf("%w: metadata is not a mapping", ErrNotSOPSSecret)
	}
	mapSet(md, "name", strNode(t.Name))
	if t.Namespace != "" {
		mapSet(md, "namespace", strNode(t.Namespace))
	} else {
		mapDel(md, "namespace")
	}
	mapDel(md, "creationTimestamp")
	annos := mapGet(md, "annotations")
	switch {
	case annos == nil || annos.ShortTag() == "!!null":
		annos = mappingNode()
	case annos.Kind != yaml.MappingNode:
		return fmt.Errorf("%w: metadata.annotations is not a mapping", ErrNotSOPSSecret)
	}
	md1 := t.Metadata
	if md1.Fingerprint == "" {
		md1.Fingerprint = t.Value.Fingerprint()
	}
	t.Metadata = md1
	order, values := t.Annotations()
	for _, k := range order {
		if v := values[k]; v != "" {
			mapSet(annos, k, strNode(v))
		} else {
			mapDel(annos, k)
		}
	}
	if len(annos.Content) > 0 {
		if mapGet(md, "annotations") != annos {
			mapSet(md, "annotations", annos)
		}
	} else {
		mapDel(md, "annotations")
	}

	data := mapGet(root, "data")
	switch {
	case data == nil || data.ShortTag() == "!!null":
		data = mappingNode()
		mapSet(root, "data", data)
	case data.Kind != yaml.MappingNode:
		return fmt.Errorf("%w: data is not a mapping", ErrNotSOPSSecret)
	}
	mapSet(data, t.DataKey, strNode(base64.StdEncoding.EncodeToString([]byte(t.Value.Reveal()))))
	if sd := mapGet(root, "stringData"); sd != nil && sd.Kind == yaml.MappingNode {
		mapDel(sd, t.DataKey)
		if len(sd.Content) == 0 {
			mapDel(root, "stringData")
		}
	}
	return nil
}
