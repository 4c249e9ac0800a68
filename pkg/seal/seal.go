package seal

import (
	"crypto/rsa"
	"errors"
	"fmt"
	"strings"

	ssv1alpha1 "github.com/bitnami-labs/sealed-secrets/pkg/apis/sealedsecrets/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes/scheme"

	"github.com/credrotate/credrotate/pkg/credential"
)

// Scope is the sealing scope of an environment: where the controller may
// unseal the secret.
type Scope string

// The sealing scopes of sealed-secrets.
const (
	// ScopeStrict binds the ciphertext to the Secret's name and namespace.
	ScopeStrict Scope = "strict"
	// ScopeNamespaceWide binds it to the namespace only.
	ScopeNamespaceWide Scope = "namespace-wide"
	// ScopeClusterWide lets it be unsealed under any name and namespace.
	ScopeClusterWide Scope = "cluster-wide"
)

// ParseScope reads a configured scope; "" is strict, the default.
func ParseScope(s string) (Scope, error) {
	var ss ssv1alpha1.SealingScope
	if err := ss.Set(s); err != nil {
		return "", fmt.Errorf("sealing scope %q: %w", s, err)
	}
	return Scope(ss.String()), nil
}

// library returns the sealed-secrets library's value for s.
func (s Scope) library() (ssv1alpha1.SealingScope, error) {
	var ss ssv1alpha1.SealingScope
	if err := ss.Set(string(s)); err != nil {
		return 0, fmt.Errorf("sealing scope %q: %w", string(s), err)
	}
	return ss, nil
}

// Annotation keys credrotate writes on every SealedSecret's metadata.
const (
	AnnotationProviderKey = "credrotate.io/provider-key"
	AnnotationSecretID    = "credrotate.io/secret-id"
	AnnotationExpiresAt   = "credrotate.io/expires-at"
	AnnotationRotatedAt   = "credrotate.io/rotated-at"
	AnnotationFingerprint = "credrotate.io/fingerprint"
	AnnotationTraceID     = "credrotate.io/trace-id"
	// AnnotationPreviousSecretID names the secret a rotation replaces.
	AnnotationPreviousSecretID = "credrotate.io/previous-secret-id"
	// AnnotationEmergency is "true" on a secret an emergency rotation
	// minted.
	AnnotationEmergency = "credrotate.io/emergency"
)

// metadataAnnotations returns the credrotate annotations of md in the order
// they are written; an empty value means the annotation is removed.
func metadataAnnotations(md credential.Metadata) (order []string, values map[string]string) {
	emergency := ""
	if md.Emergency {
		emergency = "true"
	}
	values = map[string]string{
		AnnotationProviderKey:      string(md.ProviderKey),
		AnnotationSecretID:         md.SecretID,
		AnnotationExpiresAt:        formatTime(md.ExpiresAt),
		AnnotationRotatedAt:        formatTime(md.RotatedAt),
		AnnotationFingerprint:      md.Fingerprint,
		AnnotationTraceID:          md.TraceID,
		AnnotationPreviousSecretID: md.PreviousSecretID,
		AnnotationEmergency:        emergency,
	}
	return append([]string(nil), metadataAnnotationKeys...), values
}

// metadataAnnotationKeys are the annotations metadataAnnotations writes.
var metadataAnnotationKeys = []string{AnnotationProviderKey, AnnotationSecretID, AnnotationExpiresAt, AnnotationRotatedAt,
	AnnotationFingerprint, AnnotationTraceID, AnnotationPreviousSecretID, AnnotationEmergency}

// MetadataAnnotations lists every annotation credrotate writes from a
// secret's metadata: each stays plaintext in an encrypted manifest.
func MetadataAnnotations() []string { return append([]string(nil), metadataAnnotationKeys...) }

// Manifest identity.
const (
	APIVersion = "bitnami.com/v1alpha1"
	Kind       = "SealedSecret"
)

// Environment is one overlay to seal into, with its checked certificate.
type Environment struct {
	// Name names the environment in messages ("prod").
	Name string
	// Path is the overlay folder in the checkout; the manifest of a provider
	// key is <Path>/<key>.yaml.
	Path string
	// Cert is the environment's sealing certificate (LoadCertificate).
	Cert *Certificate
	// Scope is the sealing scope; "" is strict.
	Scope Scope
	// Namespace, when set, is the namespace this overlay renders the Secret
	// in, instead of SecretRef.Namespace.
	Namespace string
	// Encryption is how the environment's manifests are encrypted; "" is
	// SealedSecrets. For EncryptionSOPS, Encoder writes them and Cert and
	// Scope are unused.
	Encryption Encryption
	// Encoder renders the manifests of an environment that is not on
	// SealedSecrets (the sopsout package's Encoder for SOPS).
	Encoder Encoder
}

// Encryption names the format of an environment's manifests.
type Encryption string

// The formats Write writes.
const (
	// EncryptionSealedSecrets is a Bitnami SealedSecret (the default).
	EncryptionSealedSecrets Encryption = "sealedSecrets"
	// EncryptionSOPS is a Kubernetes Secret whose data and stringData
	// values are SOPS-encrypted, as Flux's kustomize-controller decrypts it.
	EncryptionSOPS Encryption = "sops"
)

// IsSOPS says whether the environment's manifests are SOPS Secrets.
func (e Environment) IsSOPS() bool { return e.Encryption == EncryptionSOPS }

// Target is what one manifest must hold after an update: the rotated data
// key's value in the Secret name/namespace, and the credrotate annotations.
type Target struct {
	Name      string
	Namespace string
	DataKey   string
	Value     credential.Secret
	// Metadata becomes the credrotate annotations (Fingerprint filled in).
	Metadata credential.Metadata
}

// Annotations returns the credrotate annotations of t in the order they are
// written; an empty value means the annotation is removed.
func (t Target) Annotations() (order []string, values map[string]string) {
	order, values = metadataAnnotations(t.Metadata)
	for _, k := range lastAppliedAnnotations {
		values[k] = ""
		order = append(order, k)
	}
	return order, values
}

// Encoder renders one manifest of an environment in a format other than
// SealedSecrets. existing is the file's current content (nil when there is
// none); the result replaces it. Encode must keep what it does not change:
// other keys' ciphertext and a person's additions.
type Encoder interface {
	Encode(existing []byte, t Target) ([]byte, error)
}

// ManifestPath is where the SealedSecret of key lives in this environment.
func (e Environment) ManifestPath(key credential.ProviderKey) string {
	p, err := cleanPath(e.Path)
	if err != nil {
		p = e.Path
	}
	if p == "." {
		return string(key) + ".yaml"
	}
	return p + "/" + string(key) + ".yaml"
}

// NamespaceFor returns the namespace the overlay renders ref in.
func (e Environment) NamespaceFor(ref SecretRef) string {
	if e.Namespace != "" {
		return e.Namespace
	}
	return ref.Namespace
}

// SecretRef is the Kubernetes Secret a SealedSecret produces.
type SecretRef struct {
	Name      string
	Namespace string
	// DataKey is the key of the secret value in the Secret's data.
	DataKey string
}

// Item is one secret to seal into every environment.
type Item struct {
	// Ref is the Secret the value belongs in.
	Ref SecretRef
	// Value is the plaintext; it leaves the process only encrypted.
	Value credential.Secret
	// Metadata becomes the credrotate annotations. ProviderKey and RotatedAt
	// are required; Fingerprint is computed from Value; an empty SecretID,
	// TraceID or zero ExpiresAt removes that annotation.
	Metadata credential.Metadata
}

// ErrInvalidInput reports an Item or Environment that cannot be sealed.
var ErrInvalidInput = errors.New("invalid sealing input")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidInput, fmt.Sprintf(format, args...))
}

func (it Item) validate() error {
	if err := it.Metadata.ProviderKey.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidInput, err)
	}
	key := it.Metadata.ProviderKey
	if errs := validation.IsDNS1123Subdomain(it.Ref.Name); len(errs) > 0 {
		return invalid("provider %s: secret name %q: %s", key, it.Ref.Name, strings.Join(errs, "; "))
	}
	if it.Ref.Namespace != "" {
		if errs := validation.IsDNS1123Label(it.Ref.Namespace); len(errs) > 0 {
			return invalid("provider %s: secret namespace %q: %s", key, it.Ref.Namespace, strings.Join(errs, "; "))
		}
	}
	if errs := validation.IsConfigMapKey(it.Ref.DataKey); len(errs) > 0 {
		return invalid("provider %s: secret data key %q: %s", key, it.Ref.DataKey, strings.Join(errs, "; "))
	}
	if it.Value.IsZero() {
		return invalid("provider %s: the secret value is empty", key)
	}
	if it.Metadata.RotatedAt.IsZero() {
		return invalid("provider %s: rotated-at is not set", key)
	}
	return nil
}

func (e Environment) validate() (ssv1alpha1.SealingScope, error) {
	switch e.Encryption {
	case "", EncryptionSealedSecrets:
	case EncryptionSOPS:
		if e.Encoder == nil {
			return 0, invalid("environment %q is on sops but has no encoder", e.Name)
		}
		return e.validateCommon(ssv1alpha1.ClusterWideScope)
	default:
		return 0, invalid("environment %q: encryption %q is not sealedSecrets or sops", e.Name, e.Encryption)
	}
	if e.Cert == nil || e.Cert.PublicKey == nil {
		return 0, invalid("environment %q has no sealing certificate", e.Name)
	}
	if _, err := e.validateCommon(0); err != nil {
		return 0, err
	}
	sc := e.Scope
	if sc == "" {
		sc = ScopeStrict
	}
	s, err := sc.library()
	if err != nil {
		return 0, fmt.Errorf("%w: environment %q: %w", ErrInvalidInput, e.Name, err)
	}
	return s, nil
}

// validateCommon checks what every format needs and returns scope.
func (e Environment) validateCommon(scope ssv1alpha1.SealingScope) (ssv1alpha1.SealingScope, error) {
	if _, err := cleanPath(e.Path); err != nil {
		return 0, fmt.Errorf("%w: environment %q path: %w", ErrInvalidInput, e.Name, err)
	}
	if e.Namespace != "" {
		if errs := validation.IsDNS1123Label(e.Namespace); len(errs) > 0 {
			return 0, invalid("environment %q namespace %q: %s", e.Name, e.Namespace, strings.Join(errs, "; "))
		}
	}
	return scope, nil
}

// sealOne encrypts one value for name/namespace under scope with the
// library's whole-Secret path, which sets the encryption label, the scope
// annotations and the template metadata exactly as kubeseal does.
func sealOne(pub *rsa.PublicKey, scope ssv1alpha1.SealingScope, name, namespace, dataKey string, value credential.Secret) (*ssv1alpha1.SealedSecret, error) {
	if scope != ssv1alpha1.ClusterWideScope && namespace == "" {
		return nil, invalid("secret %q has no namespace: set the provider's secret.namespace or the environment's namespace", name)
	}
	sec := &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Namespace:   namespace,
			Annotations: ssv1alpha1.UpdateScopeAnnotations(nil, scope),
		},
		Data: map[string][]byte{dataKey: []byte(value.Reveal())},
	}
	ss, err := ssv1alpha1.NewSealedSecret(scheme.Codecs, pub, sec)
	if err != nil {
		return nil, fmt.Errorf("sealing %s/%s: %w", namespace, name, err)
	}
	return ss, nil
}
