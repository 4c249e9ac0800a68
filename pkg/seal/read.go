package seal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/credrotate/credrotate/pkg/credential"
)

// ErrMalformedManifest is returned for a credrotate file that does not
// parse or whose annotations cannot be read.
var ErrMalformedManifest = errors.New("malformed credrotate manifest")

// Manifest is what a SealedSecret file in a checkout says about the secret
// it holds.
type Manifest struct {
	// Path is the file, relative to the checkout root.
	Path string
	// Dir is its folder: the environment's path.
	Dir string
	// Name and Namespace are the SealedSecret's.
	Name      string
	Namespace string
	// DataKeys are the keys of spec.encryptedData, sorted.
	DataKeys []string
	// Metadata is read from the credrotate annotations.
	Metadata credential.Metadata
	// Encryption is the file's format: EncryptionSealedSecrets, or
	// EncryptionSOPS for a SOPS-encrypted Secret (whose DataKeys are the
	// keys of data and stringData: SOPS encrypts values, not keys).
	Encryption Encryption
}

// isSOPSSecret says whether root is a Kubernetes Secret encrypted by SOPS:
// apiVersion v1, kind Secret, and SOPS's top-level sops metadata.
func isSOPSSecret(root *yaml.Node) bool {
	return mapGetString(root, "apiVersion") == "v1" && mapGetString(root, "kind") == "Secret" &&
		mapGet(root, "sops") != nil && mapGet(root, "sops").Kind == yaml.MappingNode
}

// skipDirs are never walked.
var skipDirs = map[string]bool{".git": true, "node_modules": true}

// ReadManifests walks dirs of the checkout ("." for all of it) and returns
// every SealedSecret that carries the credrotate.io/provider-key annotation,
// sorted by path. Files a person edited are fine: comments, unknown fields,
// other annotations and other kinds of document are ignored. A YAML file
// that mentions credrotate annotations but does not parse, or whose
// annotations are malformed, is an error naming the file: the planner must
// not mistake a broken file for a missing one. YAML files that never mention
// credrotate (Helm templates, say) are not parsed at all.
func ReadManifests(ctx context.Context, fsys ReadFS, dirs ...string) ([]Manifest, error) {
	if len(dirs) == 0 {
		dirs = []string{"."}
	}
	var out []Manifest
	seen := map[string]bool{}
	var walk func(dir string) error
	walk = func(dir string) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		entries, err := fsys.ReadDir(dir)
		if err != nil {
			return fmt.Errorf("reading folder %s: %w", dir, err)
		}
		for _, e := range entries {
			p := path.Join(dir, e.Name())
			if e.IsDir() {
				if skipDirs[e.Name()] {
					continue
				}
				if err := walk(p); err != nil {
					return err
				}
				continue
			}
			if !strings.HasSuffix(p, ".yaml") && !strings.HasSuffix(p, ".yml") {
				continue
			}
			if seen[p] {
				continue
			}
			seen[p] = true
			data, err := fsys.ReadFile(p)
			if err != nil {
				return fmt.Errorf("reading %s: %w", p, err)
			}
			ms, err := ParseManifests(p, data)
			if err != nil {
				return err
			}
			out = append(out, ms...)
		}
		return nil
	}
	for _, d := range dirs {
		c, err := cleanPath(d)
		if err != nil {
			return nil, err
		}
		if err := walk(c); err != nil {
			return nil, err
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// ParseManifests reads the credrotate SealedSecrets of one file (usually
// one; a multi-document file may hold several). name is used in errors and
// as Manifest.Path.
func ParseManifests(name string, data []byte) ([]Manifest, error) {
	if !bytes.Contains(data, []byte("credrotate.io/")) {
		return nil, nil
	}
	docs, err := decodeDocuments(data)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrMalformedManifest, name, err)
	}
	var out []Manifest
	for _, doc := range docs {
		if len(doc.Content) != 1 {
			continue
		}
		root := doc.Content[0]
		if root.Kind != yaml.MappingNode {
			continue
		}
		enc := EncryptionSealedSecrets
		switch {
		case mapGetString(root, "kind") == Kind && strings.HasPrefix(mapGetString(root, "apiVersion"), "bitnami.com/"):
		case isSOPSSecret(root):
			enc = EncryptionSOPS
		default:
			continue
		}
		md := mapGet(root, "metadata")
		annos := stringMap(mapGet(md, "annotations"))
		key := annos[AnnotationProviderKey]
		if key == "" {
			continue
		}
		m := Manifest{
			Path:      name,
			Dir:       path.Dir(name),
			Name:      mapGetString(md, "name"),
			Namespace: mapGetString(md, "namespace"),
			Metadata: credential.Metadata{
				ProviderKey: credential.ProviderKey(key),
				SecretID:    annos[AnnotationSecretID],
				Fingerprint: annos[AnnotationFingerprint],
				TraceID:     annos[AnnotationTraceID],

				PreviousSecretID: annos[AnnotationPreviousSecretID],
			},
		}
		switch v := annos[AnnotationEmergency]; v {
		case "", "false":
		case "true":
			m.Metadata.Emergency = true
		default:
			return nil, fmt.Errorf("%w: %s: %s %q is neither \"true\" nor \"false\"", ErrMalformedManifest, name, AnnotationEmergency, v)
		}
		if err := m.Metadata.ProviderKey.Validate(); err != nil {
			return nil, fmt.Errorf("%w: %s: %s: %w", ErrMalformedManifest, name, AnnotationProviderKey, err)
		}
		for _, f := range []struct {
			anno string
			dst  *time.Time
		}{{AnnotationExpiresAt, &m.Metadata.ExpiresAt}, {AnnotationRotatedAt, &m.Metadata.RotatedAt}} {
			v := annos[f.anno]
			if v == "" {
				continue
			}
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %s %q is not an RFC 3339 time", ErrMalformedManifest, name, f.anno, v)
			}
			*f.dst = t
		}
		m.Encryption = enc
		if enc == EncryptionSOPS {
			m.DataKeys = append(mapKeys(mapGet(root, "data")), mapKeys(mapGet(root, "stringData"))...)
			m.DataKeys = slices.Compact(slices.Sorted(slices.Values(m.DataKeys)))
		} else {
			ed := mapGet(mapGet(root, "spec"), "encryptedData")
			m.DataKeys = mapKeys(ed)
			sort.Strings(m.DataKeys)
		}
		out = append(out, m)
	}
	return out, nil
}
