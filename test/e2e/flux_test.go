//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/fluxcd/pkg/kustomize"
	"github.com/fluxcd/pkg/ssa"
	ssautil "github.com/fluxcd/pkg/ssa/utils"
)

// fluxKustomizationGroup is kustomize-controller's API group: the owner of
// what it applies.
const fluxKustomizationGroup = "kustomize.toolkit.fluxcd.io"

// fluxKustomization is a Flux Kustomization named name that applies path.
func fluxKustomization(name, path string) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": fluxKustomizationGroup + "/v1",
		"kind":       "Kustomization",
		"metadata":   map[string]any{"name": name, "namespace": "flux-system"},
		"spec": map[string]any{
			"interval":  "10m",
			"path":      "./" + strings.TrimPrefix(path, "./"),
			"prune":     true,
			"sourceRef": map[string]any{"kind": "GitRepository", "name": "gitops"},
		},
	}}
}

// fluxApply builds the overlay that the Flux Kustomization ks names, from
// the repository checkout repoDir, and server-side applies it the way Flux's
// kustomize-controller reconciles ks: generate kustomization.yaml when
// missing (applying ks's targetNamespace and the like), build with the
// secure on-disk filesystem rooted at the checkout, set the owner labels,
// and apply in stages with kustomize-controller's cleanup options. It
// returns the applied objects.
func (c *cluster) fluxApply(ctx context.Context, repoDir string, ks *unstructured.Unstructured) ([]*unstructured.Unstructured, error) {
	path, _, _ := unstructured.NestedString(ks.Object, "spec", "path")
	name := ks.GetName()
	identities, err := c.decryptionIdentities(ctx, ks)
	if err != nil {
		return nil, err
	}
	manifests, err := fluxBuild(repoDir, ks, identities)
	if err != nil {
		return nil, err
	}
	objects, err := ssautil.ReadObjects(bytes.NewReader(manifests))
	if err != nil {
		return nil, fmt.Errorf("reading the objects built from %s: %w", path, err)
	}

	m := ssa.NewResourceManager(c.client, c.poller, ssa.Owner{Field: "kustomize-controller", Group: fluxKustomizationGroup})
	m.SetOwnerLabels(objects, name, ks.GetNamespace())
	opts := ssa.DefaultApplyOptions()
	opts.ExclusionSelector = map[string]string{fluxKustomizationGroup + "/reconcile": "disabled"}
	opts.IfNotPresentSelector = map[string]string{fluxKustomizationGroup + "/ssa": "IfNotPresent"}
	opts.Cleanup = ssa.ApplyCleanupOptions{
		Annotations: []string{corev1.LastAppliedConfigAnnotation},
		FieldManagers: []ssa.FieldManager{
			{Name: "kubectl", OperationType: metav1.ManagedFieldsOperationApply},
			{Name: "kubectl", OperationType: metav1.ManagedFieldsOperationUpdate},
			{Name: "before-first-apply", OperationType: metav1.ManagedFieldsOperationUpdate},
		},
		Exclusions: map[string]string{fluxKustomizationGroup + "/ssa": "Ignore"},
	}
	if _, err := m.ApplyAllStaged(ctx, objects, opts); err != nil {
		return nil, fmt.Errorf("applying %s: %w", path, err)
	}
	return objects, nil
}

// fluxBuild is kustomize-controller's build of ks from the checkout
// repoDir: generate kustomization.yaml when missing, build with the secure
// on-disk filesystem rooted at the checkout, and decrypt the SOPS
// resources with identities (ks's spec.decryption). It returns the
// manifests to apply.
func fluxBuild(repoDir string, ks *unstructured.Unstructured, identities string) ([]byte, error) {
	path, _, _ := unstructured.NestedString(ks.Object, "spec", "path")
	gen := kustomize.NewGenerator(repoDir, *ks.DeepCopy())
	dirPath := repoDir + "/" + strings.TrimPrefix(path, "./")
	action, err := gen.WriteFile(dirPath, kustomize.WithSaveOriginalKustomization())
	if err != nil {
		return nil, fmt.Errorf("generating kustomization for %s: %w", path, err)
	}
	defer func() { _ = kustomize.CleanDirectory(dirPath, action) }()

	resMap, err := kustomize.SecureBuild(repoDir, dirPath, false)
	if err != nil {
		return nil, fmt.Errorf("building %s: %w", path, err)
	}
	manifests, err := decryptBuilt(resMap, identities)
	if err != nil {
		return nil, fmt.Errorf("rendering %s: %w", path, err)
	}
	return manifests, nil
}

// sealedSecretGVK is the kind the sealed-secrets controller watches.
var sealedSecretGVK = schema.GroupVersionKind{Group: "bitnami.com", Version: "v1alpha1", Kind: "SealedSecret"}

// errNotYet marks a state that may still change.
var errNotYet = errors.New("not yet")

// waitForSecretData waits until the Secret namespace/name holds want under
// key, as written by the controller after it unsealed the SealedSecret of
// the same name, and returns that Secret.
func (c *cluster) waitForSecretData(ctx context.Context, namespace, name, key, want string) (*corev1.Secret, error) {
	var got *corev1.Secret
	err := poll(ctx, time.Minute, func(ctx context.Context) error {
		s, err := c.clientset.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("secret %s/%s: %w", namespace, name, errNotYet)
		}
		if err != nil {
			return err
		}
		if string(s.Data[key]) != want {
			return fmt.Errorf("secret %s/%s key %s does not hold the expected value yet: %w", namespace, name, key, errNotYet)
		}
		got = s
		return nil
	})
	return got, err
}

// sealedSecretCondition returns the SealedSecret's Synced condition status
// and message, once the controller has processed the object's current
// generation.
func (c *cluster) sealedSecretCondition(ctx context.Context, namespace, name string) (status, message string, err error) {
	ss := &unstructured.Unstructured{}
	ss.SetGroupVersionKind(sealedSecretGVK)
	if err := c.client.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, ss); err != nil {
		return "", "", err
	}
	observed, _, _ := unstructured.NestedInt64(ss.Object, "status", "observedGeneration")
	if observed != ss.GetGeneration() {
		return "", "", fmt.Errorf("sealedsecret %s/%s generation %d not observed yet: %w", namespace, name, ss.GetGeneration(), errNotYet)
	}
	conds, _, _ := unstructured.NestedSlice(ss.Object, "status", "conditions")
	for _, raw := range conds {
		cond, _ := raw.(map[string]any)
		if cond["type"] == "Synced" {
			s, _ := cond["status"].(string)
			m, _ := cond["message"].(string)
			return s, m, nil
		}
	}
	return "", "", fmt.Errorf("sealedsecret %s/%s has no Synced condition: %w", namespace, name, errNotYet)
}

// poll calls f until it returns nil or an error that is not errNotYet, or
// until timeout.
func poll(ctx context.Context, timeout time.Duration, f func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	for {
		err := f(ctx)
		if err == nil || !errors.Is(err, errNotYet) {
			return err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("after %s: %w", timeout, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}
