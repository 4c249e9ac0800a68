package seal

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"time"

	ssv1alpha1 "github.com/bitnami-labs/sealed-secrets/pkg/apis/sealedsecrets/v1alpha1"
	"go.yaml.in/yaml/v3"

	"github.com/credrotate/credrotate/pkg/credential"
)

// ErrNotSealedSecret is returned when the file at a manifest path holds
// something other than one SealedSecret; credrotate will not overwrite it.
var ErrNotSealedSecret = errors.New("not a single SealedSecret")

// ErrIncompatibleManifest is returned when an existing manifest holds other
// keys sealed for another name, namespace or scope than the one configured:
// those keys cannot be re-sealed without their plaintext.
var ErrIncompatibleManifest = errors.New("existing manifest is sealed for another name, namespace or scope")

// annotations that tools add with a full copy of an object; they could hold
// plaintext and never belong in a sealed manifest.
var lastAppliedAnnotations = []string{
	"kubectl.kubernetes.io/last-applied-configuration",
	"kubecfg.ksonnet.io/last-applied-configuration",
}

var scopeAnnotations = []string{
	ssv1alpha1.SealedSecretNamespaceWideAnnotation,
	ssv1alpha1.SealedSecretClusterWideAnnotation,
}

// newManifestDoc returns the skeleton of a new manifest; applyManifest fills it.
func newManifestDoc() *yaml.Node {
	root := mapNode()
	mapSetString(root, "apiVersion", APIVersion)
	mapSetString(root, "kind", Kind)
	md := mapNode()
	mapSetString(md, "name", "")
	mapSetString(md, "namespace", "")
	mapSet(root, "metadata", md)
	spec := mapNode()
	mapSet(spec, "encryptedData", mapNode())
	tmpl := mapNode()
	tmd := mapNode()
	mapSetString(tmd, "name", "")
	mapSetString(tmd, "namespace", "")
	mapSet(tmpl, "metadata", tmd)
	mapSet(spec, "template", tmpl)
	mapSet(root, "spec", spec)
	return &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}}
}

// parseManifest parses an existing manifest file into its single document.
// A file with no document at all (empty, comments only) yields nil.
func parseManifest(data []byte) (*yaml.Node, error) {
	docs, err := decodeDocuments(data)
	if err != nil {
		return nil, err
	}
	switch len(docs) {
	case 0:
		return nil, nil
	case 1:
	default:
		return nil, fmt.Errorf("%w: the file holds %d documents", ErrNotSealedSecret, len(docs))
	}
	root := docs[0].Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%w: the document is not a mapping", ErrNotSealedSecret)
	}
	if av, k := mapGetString(root, "apiVersion"), mapGetString(root, "kind"); av != APIVersion || k != Kind {
		return nil, fmt.Errorf("%w: it is apiVersion %q kind %q", ErrNotSealedSecret, av, k)
	}
	return docs[0], nil
}

// sealedTarget is what one manifest must say after an update.
type sealedTarget struct {
	sealed  *ssv1alpha1.SealedSecret // the library's result for the rotated key
	dataKey string
	meta    credential.Metadata
}

// applyManifest updates the manifest document doc in place: the rotated data
// key's ciphertext, name, namespace and scope annotations (only while no
// other key depends on them), and the credrotate annotations. Everything
// else in the file stays as it is.
func applyManifest(doc *yaml.Node, t sealedTarget) error {
	root := doc.Content[0]
	md, err := ensureMap(root, "metadata")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNotSealedSecret, err)
	}
	spec, err := ensureMap(root, "spec")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrNotSealedSecret, err)
	}
	ed, err := ensureMap(spec, "encryptedData")
	if err != nil {
		return fmt.Errorf("%w: spec.%w", ErrNotSealedSecret, err)
	}
	ss := t.sealed

	if pk := stringMap(mapGet(md, "annotations"))[AnnotationProviderKey]; pk != "" && pk != string(t.meta.ProviderKey) {
		return fmt.Errorf("%w: the file carries %s %q, not %q", ErrIncompatibleManifest, AnnotationProviderKey, pk, t.meta.ProviderKey)
	}

	// Other keys were sealed with the label of the file's current name,
	// namespace and scope; changing any of them would make those keys
	// undecryptable.
	others := slices.DeleteFunc(mapKeys(ed), func(k string) bool { return k == t.dataKey })
	if len(others) > 0 {
		name, ns := mapGetString(md, "name"), mapGetString(md, "namespace")
		scope := scopeOf(stringMap(mapGet(md, "annotations")))
		want := scopeOf(ss.Annotations)
		if name != ss.Name || ns != ss.Namespace || scope != want {
			return fmt.Errorf("%w: it is sealed for %s/%s (%s) with other keys %v, the configuration says %s/%s (%s): move the file aside or re-seal its other keys by hand",
				ErrIncompatibleManifest, ns, name, scope.String(), others, ss.Namespace, ss.Name, want.String())
		}
	}

	// metadata
	setNameNamespace(md, ss.Name, ss.Namespace)
	mapDelete(md, "creationTimestamp")
	order, annos := metadataAnnotations(t.meta)
	for _, k := range scopeAnnotations {
		annos[k] = ss.Annotations[k]
	}
	order = append(order, scopeAnnotations...)
	for _, k := range lastAppliedAnnotations {
		annos[k] = ""
		order = append(order, k)
	}
	if err := setAnnotations(md, order, annos); err != nil {
		return fmt.Errorf("%w: metadata.%w", ErrNotSealedSecret, err)
	}

	// spec.encryptedData: only the rotated key changes.
	mapSetString(ed, t.dataKey, ss.Spec.EncryptedData[t.dataKey])

	// spec.template.metadata, as the library made it.
	tmpl, err := ensureMap(spec, "template")
	if err != nil {
		return fmt.Errorf("%w: spec.%w", ErrNotSealedSecret, err)
	}
	tmd, err := ensureMap(tmpl, "metadata")
	if err != nil {
		return fmt.Errorf("%w: spec.template.%w", ErrNotSealedSecret, err)
	}
	setNameNamespace(tmd, ss.Spec.Template.Name, ss.Spec.Template.Namespace)
	mapDelete(tmd, "creationTimestamp")
	tannos := map[string]string{}
	torder := append([]string{}, scopeAnnotations...)
	for _, k := range scopeAnnotations {
		tannos[k] = ss.Spec.Template.Annotations[k]
	}
	for _, k := range lastAppliedAnnotations {
		tannos[k] = ""
		torder = append(torder, k)
	}
	if err := setAnnotations(tmd, torder, tannos); err != nil {
		return fmt.Errorf("%w: spec.template.metadata.%w", ErrNotSealedSecret, err)
	}
	return nil
}

func setNameNamespace(md *yaml.Node, name, namespace string) {
	mapSetString(md, "name", name)
	if namespace != "" {
		mapSetString(md, "namespace", namespace)
	} else {
		mapDelete(md, "namespace")
	}
}

// setAnnotations sets (or, for an empty value, removes) the given
// annotations, in order for new ones, leaving all others alone. An
// annotations mapping left empty is removed.
func setAnnotations(md *yaml.Node, order []string, values map[string]string) error {
	existing := mapGet(md, "annotations")
	if existing == nil {
		needed := false
		for _, v := range values {
			needed = needed || v != ""
		}
		if !needed {
			return nil
		}
	}
	a, err := ensureMap(md, "annotations")
	if err != nil {
		return err
	}
	for _, k := range order {
		if v := values[k]; v != "" {
			mapSetString(a, k, v)
		} else {
			mapDelete(a, k)
		}
	}
	if len(a.Content) == 0 {
		mapDelete(md, "annotations")
	}
	return nil
}

// scopeOf returns the scope the annotations declare, by the library's rules.
func scopeOf(annos map[string]string) ssv1alpha1.SealingScope {
	var s ssv1alpha1.SealedSecret
	s.Annotations = annos
	return ssv1alpha1.SecretScope(&s)
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
