package sopsout

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// This file is the SOPS file format as the sops command (v3) reads and
// writes it for YAML: the values encrypted with AES-256-GCM, each bound to
// its path; the MAC, a SHA-512 over the values; and the sops metadata key.
// It follows getsops/sops's sops.go (the tree walk, shouldBeEncrypted and
// the MAC), aes/cipher.go (the value format) and stores (the metadata),
// and the package's tests hold every file it writes to the sops command.

// FormatVersion is the sops version written into new files' metadata: the
// version whose format this package writes (the one go.mod pins for the
// tests).
const FormatVersion = "3.13.3"

// metadataKey is the top-level key holding the SOPS metadata.
const metadataKey = "sops"

// defaultUnencryptedSuffix is what sops encrypts by when a file names no
// selector: every value except those under a key ending in it.
const defaultUnencryptedSuffix = "_unencrypted"

// macOnlyEncryptedInit starts the MAC of a mac_only_encrypted file (the
// SHA-256 of "sops"), so that it never equals the MAC over every value.
var macOnlyEncryptedInit = []byte{0x8a, 0x3f, 0xd2, 0xad, 0x54, 0xce, 0x66, 0x52, 0x7b, 0x10, 0x34, 0xf3, 0xd1, 0x47, 0xbe, 0xb, 0xb, 0x97, 0x5b, 0x3b, 0xf4, 0x4f, 0x72, 0xc6, 0xfd, 0xad, 0xec, 0x81, 0x76, 0xf2, 0x7d, 0x69}

// nonceSize is the AES-GCM nonce length sops uses.
const nonceSize = 32

// metadata is the part of a file's sops key this package reads.
type metadata struct {
	Age []struct {
		Recipient string `yaml:"recipient"`
		Enc       string `yaml:"enc"`
	} `yaml:"age"`
	LastModified            string      `yaml:"lastmodified"`
	MAC                     string      `yaml:"mac"`
	UnencryptedSuffix       string      `yaml:"unencrypted_suffix"`
	EncryptedSuffix         string      `yaml:"encrypted_suffix"`
	UnencryptedRegex        string      `yaml:"unencrypted_regex"`
	EncryptedRegex          string      `yaml:"encrypted_regex"`
	UnencryptedCommentRegex string      `yaml:"unencrypted_comment_regex"`
	EncryptedCommentRegex   string      `yaml:"encrypted_comment_regex"`
	MACOnlyEncrypted        bool        `yaml:"mac_only_encrypted"`
	Version                 string      `yaml:"version"`
	KeyGroups               []yaml.Node `yaml:"key_groups"`
}

// sopsFile is one parsed SOPS YAML document.
type sopsFile struct {
	doc  *yaml.Node // the document node
	root *yaml.Node // its top-level mapping
	// meta is the parsed sops key; metaNode its mapping (nil in a new file).
	meta     metadata
	metaNode *yaml.Node
	sel      selector
}

// parseYAML decodes in as one YAML document whose top level is a mapping,
// refusing duplicate keys as sops does.
func parseYAML(in []byte) (doc *yaml.Node, err error) {
	// Decoding into a map is what makes the decoder check that keys are
	// unique (sops does the same).
	if err := yaml.NewDecoder(bytes.NewReader(in)).Decode(&map[string]any{}); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	d := yaml.NewDecoder(bytes.NewReader(in))
	var docs []*yaml.Node
	for {
		var n yaml.Node
		err := d.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		docs = append(docs, &n)
	}
	if len(docs) != 1 {
		return nil, fmt.Errorf("the file holds %d documents", len(docs))
	}
	doc = docs[0]
	if len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("the document is not a mapping")
	}
	if hasAlias(doc) {
		return nil, errors.New("the document uses YAML anchors or aliases, which credrotate does not rewrite")
	}
	return doc, nil
}

func hasAlias(n *yaml.Node) bool {
	if n.Kind == yaml.AliasNode || n.Anchor != "" {
		return true
	}
	for _, c := range n.Content {
		if hasAlias(c) {
			return true
		}
	}
	return false
}

// loadSOPS parses an encrypted file: the document and its sops metadata.
func loadSOPS(in []byte) (*sopsFile, error) {
	doc, err := parseYAML(in)
	if err != nil {
		return nil, err
	}
	return loadSOPSDoc(doc)
}

// loadSOPSDoc reads the sops metadata of a document parseYAML returned.
func loadSOPSDoc(doc *yaml.Node) (*sopsFile, error) {
	var err error
	f := &sopsFile{doc: doc, root: doc.Content[0]}
	f.metaNode = mapGet(f.root, metadataKey)
	if f.metaNode == nil {
		return nil, errors.New("the file has no sops metadata")
	}
	if f.metaNode.Kind != yaml.MappingNode {
		return nil, errors.New("the sops metadata is not a mapping")
	}
	if err := f.metaNode.Decode(&f.meta); err != nil {
		return nil, fmt.Errorf("the sops metadata does not parse: %w", err)
	}
	if _, err := time.Parse(time.RFC3339, f.meta.LastModified); err != nil {
		return nil, fmt.Errorf("sops.lastmodified %q is not an RFC 3339 time", f.meta.LastModified)
	}
	if f.sel, err = f.meta.selector(); err != nil {
		return nil, err
	}
	return f, nil
}

// selector is which values of a file are encrypted: sops's
// shouldBeEncrypted for the selectors that do not depend on comments.
type selector struct {
	unencSuffix, encSuffix string
	unencRegex, encRegex   *regexp.Regexp
}

// selector checks the file's selection rule, as sops does when it loads the
// metadata: at most one, and unencrypted_suffix "_unencrypted" when none.
func (m metadata) selector() (selector, error) {
	n := 0
	for _, s := range []string{m.UnencryptedSuffix, m.EncryptedSuffix, m.UnencryptedRegex, m.EncryptedRegex, m.UnencryptedCommentRegex, m.EncryptedCommentRegex} {
		if s != "" {
			n++
		}
	}
	switch {
	case n > 1:
		return selector{}, errors.New("the sops metadata names more than one of encrypted_suffix, unencrypted_suffix, encrypted_regex, unencrypted_regex, encrypted_comment_regex and unencrypted_comment_regex")
	case m.UnencryptedCommentRegex != "" || m.EncryptedCommentRegex != "":
		return selector{}, errors.New("the file selects what to encrypt by comments (encrypted_comment_regex or unencrypted_comment_regex), which credrotate does not rewrite")
	case n == 0:
		return selector{unencSuffix: defaultUnencryptedSuffix}, nil
	}
	s := selector{unencSuffix: m.UnencryptedSuffix, encSuffix: m.EncryptedSuffix}
	var err error
	if m.UnencryptedRegex != "" {
		if s.unencRegex, err = regexp.Compile(m.UnencryptedRegex); err != nil {
			return selector{}, fmt.Errorf("sops.unencrypted_regex does not compile: %w", err)
		}
	}
	if m.EncryptedRegex != "" {
		if s.encRegex, err = regexp.Compile(m.EncryptedRegex); err != nil {
			return selector{}, fmt.Errorf("sops.encrypted_regex does not compile: %w", err)
		}
	}
	return s, nil
}

// encrypted says whether the value at path is encrypted.
func (s selector) encrypted(path []string) bool {
	enc := true
	if s.unencSuffix != "" {
		for _, p := range path {
			if strings.HasSuffix(p, s.unencSuffix) {
				enc = false
				break
			}
		}
	}
	if s.encSuffix != "" {
		enc = false
		for _, p := range path {
			if strings.HasSuffix(p, s.encSuffix) {
				enc = true
				break
			}
		}
	}
	if s.unencRegex != nil {
		for _, p := range path {
			if s.unencRegex.MatchString(p) {
				enc = false
				break
			}
		}
	}
	if s.encRegex != nil {
		enc = false
		for _, p := range path {
			if s.encRegex.MatchString(p) {
				enc = true
				break
			}
		}
	}
	return enc
}

// walk calls fn for every scalar value of the document except the sops key,
// in document order, with the path of mapping keys that leads to it (a
// sequence adds nothing to the path, as in sops). Null values are skipped,
// as sops skips them.
func walk(root *yaml.Node, fn func(n *yaml.Node, path []string) error) error {
	var visit func(n *yaml.Node, path []string, top bool) error
	visit = func(n *yaml.Node, path []string, top bool) error {
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				var k any
				if err := n.Content[i].Decode(&k); err != nil {
					return err
				}
				key, ok := k.(string)
				if !ok {
					return fmt.Errorf("the key %q is not a string (sops supports string keys only)", n.Content[i].Value)
				}
				if top && key == metadataKey {
					continue
				}
				if err := visit(n.Content[i+1], append(path[:len(path):len(path)], key), false); err != nil {
					return err
				}
			}
		case yaml.SequenceNode:
			for _, c := range n.Content {
				if err := visit(c, path, false); err != nil {
					return err
				}
			}
		case yaml.ScalarNode:
			if n.ShortTag() == "!!null" {
				return nil
			}
			return fn(n, path)
		default:
			return fmt.Errorf("unexpected YAML node at %s", strings.Join(path, "."))
		}
		return nil
	}
	return visit(root, nil, true)
}

// plainValue is a scalar as sops types it: the type name of its ciphertext
// and the bytes that are encrypted and go into the MAC.
type plainValue struct {
	typ string
	b   []byte
}

// scalarValue types a plaintext scalar node as sops's YAML store does
// (the YAML decoder's own typing).
func scalarValue(n *yaml.Node) (plainValue, error) {
	var v any
	if err := n.Decode(&v); err != nil {
		return plainValue{}, err
	}
	switch t := v.(type) {
	case string:
		return plainValue{"str", []byte(t)}, nil
	case int:
		return plainValue{"int", []byte(strconv.Itoa(t))}, nil
	case float64:
		return plainValue{"float", []byte(strconv.FormatFloat(t, 'f', -1, 64))}, nil
	case bool:
		if t {
			return plainValue{"bool", []byte("True")}, nil
		}
		return plainValue{"bool", []byte("False")}, nil
	case time.Time:
		b, err := t.MarshalText()
		return plainValue{"time", b}, err
	default:
		return plainValue{}, fmt.Errorf("a value of type %T cannot be encrypted by sops", v)
	}
}

var encRE = regexp.MustCompile(`^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]`)

// decryptValue opens one ENC[AES256_GCM,...] value bound to additional
// data ad. An empty string is an empty value, as in sops.
func decryptValue(s string, key []byte, ad string) (plainValue, error) {
	if s == "" {
		return plainValue{typ: "str"}, nil
	}
	m := encRE.FindStringSubmatch(s)
	if m == nil {
		return plainValue{}, errors.New("the value is not in sops's ENC[AES256_GCM,...] format")
	}
	var parts [3][]byte
	for i := range parts {
		b, err := base64.StdEncoding.DecodeString(m[i+1])
		if err != nil {
			return plainValue{}, errors.New("the value's base64 does not decode")
		}
		parts[i] = b
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return plainValue{}, err
	}
	if len(parts[1]) == 0 {
		return plainValue{}, errors.New("the value has an empty iv")
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, len(parts[1]))
	if err != nil {
		return plainValue{}, err
	}
	out, err := gcm.Open(nil, parts[1], append(parts[0], parts[2]...), []byte(ad))
	if err != nil {
		return plainValue{}, errors.New("AES-GCM authentication failed")
	}
	v := plainValue{typ: m[4], b: out}
	// What goes into the MAC is the typed value as sops prints it again.
	switch v.typ {
	case "str", "bytes", "comment":
	case "int":
		i, err := strconv.Atoi(string(out))
		if err != nil {
			return plainValue{}, errors.New("an int value does not parse")
		}
		v.b = []byte(strconv.Itoa(i))
	case "float":
		f, err := strconv.ParseFloat(string(out), 64)
		if err != nil {
			return plainValue{}, errors.New("a float value does not parse")
		}
		v.b = []byte(strconv.FormatFloat(f, 'f', -1, 64))
	case "bool":
		b, err := strconv.ParseBool(string(out))
		if err != nil {
			return plainValue{}, errors.New("a bool value does not parse")
		}
		v.b = []byte("False")
		if b {
			v.b = []byte("True")
		}
	case "time":
		var t time.Time
		if err := t.UnmarshalText(out); err != nil {
			return plainValue{}, errors.New("a time value does not parse")
		}
		v.b, _ = t.MarshalText()
	default:
		return plainValue{}, fmt.Errorf("unknown sops value type %q", v.typ)
	}
	return v, nil
}

// encryptValue seals v under key, bound to additional data ad, in sops's
// format. An empty value stays empty, as in sops.
func encryptValue(v plainValue, key []byte, ad string) (string, error) {
	if len(v.b) == 0 && (v.typ == "str" || v.typ == "bytes" || v.typ == "comment") {
		return "", nil
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", err
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, nonceSize)
	if err != nil {
		return "", err
	}
	iv := make([]byte, nonceSize)
	if _, err := randRead(iv); err != nil {
		return "", fmt.Errorf("generating an iv: %w", err)
	}
	out := gcm.Seal(nil, iv, v.b, []byte(ad))
	n := len(out) - gcm.Overhead()
	return "ENC[AES256_GCM,data:" + base64.StdEncoding.EncodeToString(out[:n]) +
		",iv:" + base64.StdEncoding.EncodeToString(iv) +
		",tag:" + base64.StdEncoding.EncodeToString(out[n:]) +
		",type:" + v.typ + "]", nil
}

// additionalData is the path a value is bound to: its keys joined and
// ended with ":".
func additionalData(path []string) string { return strings.Join(path, ":") + ":" }

// macState computes a file's MAC: SHA-512 over the values in document
// order (only the encrypted ones when macOnlyEncrypted), upper-case hex.
type macState struct {
	h        hash.Hash
	onlyEncr bool
}

func newMAC(macOnlyEncrypted bool) *macState {
	h := sha512.New()
	if macOnlyEncrypted {
		h.Write(macOnlyEncryptedInit)
	}
	return &macState{h: h, onlyEncr: macOnlyEncrypted}
}

func (m *macState) add(v plainValue, encrypted bool) {
	if v.typ == "comment" || (m.onlyEncr && !encrypted) {
		return
	}
	m.h.Write(v.b)
}

func (m *macState) hex() string { return fmt.Sprintf("%X", m.h.Sum(nil)) }

// lastModifiedAD is the additional data the MAC is bound to: the
// lastmodified time, as RFC 3339.
func lastModifiedAD(s string) string {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return s
	}
	return t.Format(time.RFC3339)
}

// decryptMAC opens the file's MAC.
func (f *sopsFile) decryptMAC(key []byte) (string, error) {
	v, err := decryptValue(f.meta.MAC, key, lastModifiedAD(f.meta.LastModified))
	if err != nil || v.typ != "str" {
		return "", errors.New("the MAC does not decrypt")
	}
	return string(v.b), nil
}

// emit renders the document as sops does (four-space indentation).
func emit(doc *yaml.Node) ([]byte, error) {
	var b bytes.Buffer
	e := yaml.NewEncoder(&b)
	e.SetIndent(4)
	if err := e.Encode(doc); err != nil {
		return nil, err
	}
	if err := e.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// Mapping node helpers.

// mapGet returns the value node of key in mapping n, or nil.
func mapGet(n *yaml.Node, key string) *yaml.Node {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Kind == yaml.ScalarNode && n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

// mapSet replaces key's value in mapping n, or appends it.
func mapSet(n *yaml.Node, key string, v *yaml.Node) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Kind == yaml.ScalarNode && n.Content[i].Value == key {
			// Comments on the old value stay with the key.
			v.LineComment = n.Content[i+1].LineComment
			n.Content[i+1] = v
			return
		}
	}
	n.Content = append(n.Content, strNode(key), v)
}

// mapDel removes key from mapping n.
func mapDel(n *yaml.Node, key string) {
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Kind == yaml.ScalarNode && n.Content[i].Value == key {
			n.Content = append(n.Content[:i], n.Content[i+2:]...)
			return
		}
	}
}

// mapKeys lists the keys of mapping n.
func mapKeys(n *yaml.Node) []string {
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	var out []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		out = append(out, n.Content[i].Value)
	}
	return out
}

func strNode(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

func boolNode(b bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: strconv.FormatBool(b)}
}

func mappingNode() *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"} }

// scalarString is a scalar node's text ("" for other nodes).
func scalarString(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		return ""
	}
	return n.Value
}
