package sopsout

import (
	"encoding/base64"
	"fmt"
	"sort"

	"github.com/getsops/sops/v3/aes"
	sopsage "github.com/getsops/sops/v3/age"

	"github.com/credrotate/credrotate/pkg/credential"
)

// Opened is a decrypted SOPS Secret.
type Opened struct {
	Name, Namespace string
	// Annotations are the Secret's metadata annotations.
	Annotations map[string]string
	// Recipients are the age recipients the data key is wrapped for.
	Recipients []string
	// data holds data (decoded) and stringData values.
	data map[string]credential.Secret
}

// Value returns the value of key (data or stringData).
func (o *Opened) Value(key string) (credential.Secret, bool) {
	v, ok := o.data[key]
	return v, ok
}

// Keys lists the Secret's data and stringData keys, sorted.
func (o *Opened) Keys() []string {
	out := make([]string, 0, len(o.data))
	for k := range o.data {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Open decrypts a SOPS Secret with the age identities (AGE-SECRET-KEY-1...,
// one a line), checks its MAC as `sops decrypt` does, and returns its
// values. It is what a cluster's kustomize-controller does with the file.
func Open(file []byte, identity string) (*Opened, error) {
	var ids sopsage.ParsedIdentities
	if err := ids.Import(identity); err != nil {
		return nil, fmt.Errorf("%w: the age identity does not parse", ErrDecrypt)
	}
	tree, err := newStore().LoadEncryptedFile(file)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotSOPSSecret, err)
	}
	if len(tree.Branches) != 1 {
		return nil, fmt.Errorf("%w: the file holds %d documents", ErrNotSOPSSecret, len(tree.Branches))
	}
	dataKey, err := dataKeyOf(&tree, ids)
	if err != nil {
		return nil, err
	}
	if err := verifyAndDecrypt(&tree, dataKey, aes.NewCipher()); err != nil {
		return nil, err
	}
	doc := tree.Branches[0]
	md := branch(get(doc, "metadata"))
	o := &Opened{Name: str(get(md, "name")), Namespace: str(get(md, "namespace")), Annotations: map[string]string{}, data: map[string]credential.Secret{}}
	for _, it := range branch(get(md, "annotations")) {
		if k := keyString(it.Key); k != "" {
			o.Annotations[k] = str(it.Value)
		}
	}
	for _, g := range tree.Metadata.KeyGroups {
		for _, k := range g {
			if ak, ok := k.(*sopsage.MasterKey); ok {
				o.Recipients = append(o.Recipients, ak.Recipient)
			}
		}
	}
	for _, it := range branch(get(doc, "data")) {
		k := keyString(it.Key)
		if k == "" {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(str(it.Value))
		if err != nil {
			return nil, fmt.Errorf("%w: data.%s is not base64", ErrNotSOPSSecret, k)
		}
		o.data[k] = credential.NewSecret(string(b))
	}
	for _, it := range branch(get(doc, "stringData")) {
		if k := keyString(it.Key); k != "" {
			o.data[k] = credential.NewSecret(str(it.Value))
		}
	}
	return o, nil
}
