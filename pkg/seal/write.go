package seal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"

	"github.com/credrotate/credrotate/pkg/credential"
)

// FileKind says what a written file is.
type FileKind string

// The kinds of file Write writes.
const (
	KindManifest      FileKind = "manifest"
	KindKustomization FileKind = "kustomization"
)

// Written is one file Write wrote.
type Written struct {
	Env  string
	Path string
	Kind FileKind
	// ProviderKey is set for manifests.
	ProviderKey credential.ProviderKey
	// Created is true for a file that did not exist before.
	Created bool
}

// filePerm is the mode of files written to a checkout.
const filePerm fs.FileMode = 0o644

type pendingFile struct {
	Written
	data []byte
}

// Write seals every item for every environment and writes the manifests
// into fsys: <env.Path>/<provider key>.yaml, updating existing files in
// place, and lists new files in the folder's kustomization.yaml. Everything
// is sealed and rendered before the first file is written, so a bad
// certificate, input or existing file leaves the checkout untouched.
func Write(ctx context.Context, fsys FS, envs []Environment, items []Item) ([]Written, error) {
	if len(envs) == 0 {
		return nil, invalid("no environments to seal for")
	}
	items = slices.Clone(items) // the fingerprint is filled in below
	seen := map[credential.ProviderKey]bool{}
	for i := range items {
		if err := items[i].validate(); err != nil {
			return nil, err
		}
		k := items[i].Metadata.ProviderKey
		if seen[k] {
			return nil, invalid("provider %s is listed twice", k)
		}
		seen[k] = true
		items[i].Metadata.Fingerprint = items[i].Value.Fingerprint()
	}

	var pending []pendingFile
	dirs := map[string]bool{}
	for _, env := range envs {
		files, err := planEnv(ctx, fsys, env, items)
		if err != nil {
			return nil, err
		}
		pending = append(pending, files...)
		dir, _ := cleanPath(env.Path)
		dirs[dir] = true
	}

	var written []Written
	for _, dir := range sortedKeys(dirs) {
		if dir == "." {
			continue
		}
		if err := fsys.MkdirAll(dir, 0o755); err != nil {
			return written, fmt.Errorf("creating %s: %w", dir, err)
		}
	}
	for _, f := range pending {
		if err := fsys.WriteFile(f.Path, f.data, filePerm); err != nil {
			return written, fmt.Errorf("environment %q: writing %s: %w", f.Env, f.Path, err)
		}
		written = append(written, f.Written)
	}
	return written, nil
}

// planEnv seals and renders every item for one environment.
func planEnv(ctx context.Context, fsys FS, env Environment, items []Item) ([]pendingFile, error) {
	scope, err := env.validate()
	if err != nil {
		return nil, err
	}
	dir, _ := cleanPath(env.Path)
	k, err := loadKustomization(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("environment %q: %w", env.Name, err)
	}
	var out []pendingFile
	secrets := map[string]credential.ProviderKey{}
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		key := it.Metadata.ProviderKey
		name, ns := it.Ref.Name, env.NamespaceFor(it.Ref)
		if other, dup := secrets[ns+"/"+name]; dup {
			return nil, invalid("environment %q: providers %s and %s both produce Secret %s/%s", env.Name, other, key, ns, name)
		}
		secrets[ns+"/"+name] = key
		if err := k.checkRenders(env.Name, name, ns, scope); err != nil {
			return nil, err
		}

		p := env.ManifestPath(key)
		existing, err := fsys.ReadFile(p)
		exists := err == nil
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("environment %q: reading %s: %w", env.Name, p, err)
		}
		if env.IsSOPS() {
			f, fresh, err := encodeOther(env, p, existing, exists, it, name, ns)
			if err != nil {
				return nil, err
			}
			out = append(out, f)
			if fresh {
				if err := k.addResource(path.Base(p)); err != nil {
					return nil, fmt.Errorf("environment %q: %w", env.Name, err)
				}
			}
			continue
		}
		doc, fresh := newManifestDoc(), true
		if exists {
			d, err := parseManifest(existing)
			if err != nil {
				return nil, fmt.Errorf("environment %q: %s: %w", env.Name, p, err)
			}
			if d != nil {
				doc, fresh = d, false
			}
		}

		ss, err := sealOne(env.Cert.PublicKey, scope, name, ns, it.Ref.DataKey, it.Value)
		if err != nil {
			return nil, fmt.Errorf("environment %q: %w", env.Name, err)
		}
		if err := applyManifest(doc, sealedTarget{sealed: ss, dataKey: it.Ref.DataKey, meta: it.Metadata}); err != nil {
			return nil, fmt.Errorf("environment %q: %s: %w", env.Name, p, err)
		}
		data, err := encodeDocument(doc)
		if err != nil {
			return nil, fmt.Errorf("environment %q: rendering %s: %w", env.Name, p, err)
		}
		if bytes.Contains(data, []byte(it.Value.Reveal())) {
			// Cannot happen with a sane value; a one-character secret could
			// appear by chance in base64, so only refuse long ones.
			if len(it.Value.Reveal()) >= 8 {
				return nil, fmt.Errorf("environment %q: %s: refusing to write a manifest that contains the plaintext", env.Name, p)
			}
		}
		out = append(out, pendingFile{Written: Written{Env: env.Name, Path: p, Kind: KindManifest, ProviderKey: key, Created: !exists}, data: data})
		if fresh {
			if err := k.addResource(path.Base(p)); err != nil {
				return nil, fmt.Errorf("environment %q: %w", env.Name, err)
			}
		}
	}
	if k.changed {
		data, err := k.render()
		if err != nil {
			return nil, fmt.Errorf("environment %q: rendering %s: %w", env.Name, k.path, err)
		}
		out = append(out, pendingFile{Written: Written{Env: env.Name, Path: k.path, Kind: KindKustomization, Created: k.created}, data: data})
	}
	return out, nil
}

// encodeOther renders one manifest with the environment's Encoder. fresh
// says whether the file must be listed in the kustomization: it did not
// exist or held no document.
func encodeOther(env Environment, p string, existing []byte, exists bool, it Item, name, ns string) (pendingFile, bool, error) {
	fresh := !exists
	if exists {
		docs, err := decodeDocuments(existing)
		if err != nil {
			return pendingFile{}, false, fmt.Errorf("environment %q: %s: %w", env.Name, p, err)
		}
		if len(docs) == 0 {
			existing, fresh = nil, true
		}
	}
	data, err := env.Encoder.Encode(existing, Target{Name: name, Namespace: ns, DataKey: it.Ref.DataKey, Value: it.Value, Metadata: it.Metadata})
	if err != nil {
		return pendingFile{}, false, fmt.Errorf("environment %q: %s: %w", env.Name, p, err)
	}
	if v := it.Value.Reveal(); len(v) >= 8 && bytes.Contains(data, []byte(v)) {
		return pendingFile{}, false, fmt.Errorf("environment %q: %s: refusing to write a manifest that contains the plaintext", env.Name, p)
	}
	key := it.Metadata.ProviderKey
	return pendingFile{Written: Written{Env: env.Name, Path: p, Kind: KindManifest, ProviderKey: key, Created: !exists}, data: data}, fresh, nil
}
