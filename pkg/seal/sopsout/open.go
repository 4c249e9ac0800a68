package sopsout

import (
	"encoding/base64"
	"fmt"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"

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
	ids, err := parseIdentities(identity)
	if err != nil {
		return nil, fmt.Errorf("%w: the age identity does not parse", ErrDecrypt)
	}
	f, err := loadSOPS(file)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotSOPSSecret, err)
	}
	dataKey, err := dataKeyOf(f, ids)
	if err != nil {
		return nil, err
	}
	plain, err := verifyAndDecrypt(f, dataKey)
	if err != nil {
		return nil, err
	}
	value := func(n *yaml.Node) string {
		if d, ok := plain[n]; ok {
			return string(d.b)
		}
		return scalarString(n)
	}
	md := mapGet(f.root, "metadata")
	o := &Opened{Name: value(mapGet(md, "name")), Namespace: value(mapGet(md, "namespace")), Annotations: map[string]string{}, data: map[string]credential.Secret{}}
	if a := mapGet(md, "annotations"); a != nil && a.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(a.Content); i += 2 {
			o.Annotations[a.Content[i].Value] = value(a.Content[i+1])
		}
	}
	for _, a := range f.meta.Age {
		o.Recipients = append(o.Recipients, strings.TrimSpace(a.Recipient))
	}
	if d := mapGet(f.root, "data"); d != nil && d.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(d.Content); i += 2 {
			k := d.Content[i].Value
			b, err := base64.StdEncoding.DecodeString(value(d.Content[i+1]))
			if err != nil {
				return nil, fmt.Errorf("%w: data.%s is not base64", ErrNotSOPSSecret, k)
			}
			o.data[k] = credential.NewSecret(string(b))
		}
	}
	if sd := mapGet(f.root, "stringData"); sd != nil && sd.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(sd.Content); i += 2 {
			o.data[sd.Content[i].Value] = credential.NewSecret(value(sd.Content[i+1]))
		}
	}
	return o, nil
}
