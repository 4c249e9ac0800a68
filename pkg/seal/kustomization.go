package seal

import (
	"errors"
	"fmt"
	"io/fs"
	"path"

	ssv1alpha1 "github.com/bitnami-labs/sealed-secrets/pkg/apis/sealedsecrets/v1alpha1"
	"go.yaml.in/yaml/v3"
)

// ErrOverlayMismatch is returned when an overlay folder's kustomization.yaml
// would render a SealedSecret under another name or namespace than the one
// it is sealed for, so the controller could not unseal it.
var ErrOverlayMismatch = errors.New("the overlay renders another name or namespace than the secret is sealed for")

// kustomizationNames are the file names kustomize accepts, in its order.
var kustomizationNames = []string{"kustomization.yaml", "kustomization.yml", "Kustomization"}

// kustomization is the kustomization file of one overlay folder.
type kustomization struct {
	path    string
	doc     *yaml.Node
	created bool
	changed bool
	listed  map[string]bool // resources entries, cleaned; built on first use
}

// loadKustomization reads the kustomization file of dir, or starts one.
func loadKustomization(fsys ReadFS, dir string) (*kustomization, error) {
	for _, n := range kustomizationNames {
		p := path.Join(dir, n)
		data, err := fsys.ReadFile(p)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", p, err)
		}
		docs, err := decodeDocuments(data)
		if err != nil {
			return nil, fmt.Errorf("parsing %s: %w", p, err)
		}
		if len(docs) == 0 {
			doc := &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{newKustomizationRoot()}}
			return &kustomization{path: p, doc: doc, changed: true}, nil
		}
		if len(docs) != 1 || docs[0].Content[0].Kind != yaml.MappingNode {
			return nil, fmt.Errorf("parsing %s: expected one mapping document", p)
		}
		return &kustomization{path: p, doc: docs[0]}, nil
	}
	doc := &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{newKustomizationRoot()}}
	return &kustomization{path: path.Join(dir, kustomizationNames[0]), doc: doc, created: true, changed: true}, nil
}

func newKustomizationRoot() *yaml.Node {
	root := mapNode()
	mapSetString(root, "apiVersion", "kustomize.config.k8s.io/v1beta1")
	mapSetString(root, "kind", "Kustomization")
	return root
}

// checkRenders refuses a target that this folder's kustomization would
// rename or move: strict scope needs the exact name and namespace, namespace
// scope the namespace.
func (k *kustomization) checkRenders(env, name, namespace string, scope ssv1alpha1.SealingScope) error {
	root := k.doc.Content[0]
	if scope == ssv1alpha1.ClusterWideScope {
		return nil
	}
	if ns := mapGetString(root, "namespace"); ns != "" && ns != namespace {
		return fmt.Errorf("%w: environment %q: %s sets namespace %q but the secret %q is sealed for namespace %q: set the environment's namespace to %q",
			ErrOverlayMismatch, env, k.path, ns, name, namespace, ns)
	}
	if scope != ssv1alpha1.StrictScope {
		return nil
	}
	for _, f := range []string{"namePrefix", "nameSuffix"} {
		if v := mapGetString(root, f); v != "" {
			return fmt.Errorf("%w: environment %q: %s sets %s %q, which renames the SealedSecret %q after sealing with strict scope: use namespace-wide scope for this environment or drop %s",
				ErrOverlayMismatch, env, k.path, f, v, name, f)
		}
	}
	return nil
}

// addResource lists file (relative to the folder) in resources unless it
// is there already.
func (k *kustomization) addResource(file string) error {
	root := k.doc.Content[0]
	res := mapGet(root, "resources")
	switch {
	case res == nil:
		res = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		mapSet(root, "resources", res)
	case res.Kind == yaml.ScalarNode && (res.Tag == "!!null" || res.Value == ""):
		res = &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		mapSet(root, "resources", res)
	case res.Kind != yaml.SequenceNode:
		return fmt.Errorf("%s: resources is not a list", k.path)
	}
	if k.listed == nil {
		k.listed = map[string]bool{}
		for _, n := range res.Content {
			if n.Kind == yaml.ScalarNode {
				k.listed[path.Clean(n.Value)] = true
			}
		}
	}
	if k.listed[path.Clean(file)] {
		return nil
	}
	res.Content = append(res.Content, strNode(file))
	k.listed[path.Clean(file)] = true
	k.changed = true
	return nil
}

func (k *kustomization) render() ([]byte, error) {
	return encodeDocument(k.doc)
}
