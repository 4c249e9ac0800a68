// Package kube reads the current secret from the deployed Kubernetes Secret
// through the API, for operators who do not mount that Secret into the job.
// It reaches the API with a kubeconfig (a path, KUBECONFIG, or
// ~/.kube/config) or, inside a pod, the in-cluster service account, which
// needs only get on that one Secret.
package kube

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/credrotate/credrotate/pkg/credential"
	"github.com/credrotate/credrotate/pkg/credential/source"
)

// defaultTimeout bounds one API request when the caller's context does not.
const defaultTimeout = 30 * time.Second

// ErrKeyMissing is returned when the Secret exists but has no entry under the
// configured key.
var ErrKeyMissing = errors.New("key not in secret")

// ErrInvalidOptions is returned by New and NewForClient for incomplete options.
var ErrInvalidOptions = errors.New("invalid kubernetes secret source")

// Options names the Secret to read and how to reach the API. They mirror
// the config block currentSecret: {kubernetes: {namespace, name, key, kubeconfig}}.
type Options struct {
	// Namespace and Name identify the Secret.
	Namespace string
	Name      string
	// Key is the entry of the Secret's data that holds the client secret.
	Key string
	// Kubeconfig is the path of a kubeconfig file. When empty, KUBECONFIG or
	// ~/.kube/config is used if present, and the in-cluster service account
	// otherwise.
	Kubeconfig string
}

func (o Options) validate() error {
	for _, f := range []struct{ name, value string }{
		{"namespace", o.Namespace}, {"name", o.Name}, {"key", o.Key},
	} {
		if f.value == "" {
			return fmt.Errorf("%w: currentSecret.kubernetes.%s is empty: set it to the deployed Secret's %s", ErrInvalidOptions, f.name, f.name)
		}
	}
	return nil
}

// Source reads one key of one Secret through the Kubernetes API. It
// implements source.Reader.
type Source struct {
	opts    Options
	via     string
	secrets corev1client.SecretsGetter
}

var _ source.Reader = (*Source)(nil)

// New returns a Source that reaches the API as Options.Kubeconfig says. It
// contacts nothing: a wrong address or missing permission shows on Read.
func New(opts Options) (*Source, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	cfg, via, err := restConfig(opts.Kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg = rest.CopyConfig(cfg)
	if cfg.Timeout == 0 {
		cfg.Timeout = defaultTimeout
	}
	cfg.UserAgent = "credrotate"
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client from %s: %w", via, err)
	}
	return &Source{opts: opts, via: via, secrets: cs.CoreV1()}, nil
}

// NewForClient returns a Source that reads through client, such as a fake
// clientset in tests or a client the caller already holds.
func NewForClient(client kubernetes.Interface, opts Options) (*Source, error) {
	if err := opts.validate(); err != nil {
		return nil, err
	}
	return &Source{opts: opts, via: "the given client", secrets: client.CoreV1()}, nil
}

// restConfig loads the client configuration and says where it came from.
func restConfig(kubeconfig string) (*rest.Config, string, error) {
	if kubeconfig != "" {
		cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
		if err != nil {
			return nil, "", fmt.Errorf("loading kubeconfig %s (currentSecret.kubernetes.kubeconfig): %w", kubeconfig, err)
		}
		return cfg, "kubeconfig " + kubeconfig, nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	// The deferred loader falls back to the in-cluster service account when
	// no kubeconfig is found.
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{})
	cfg, err := cc.ClientConfig()
	if err != nil {
		if clientcmd.IsEmptyConfig(err) {
			return nil, "", fmt.Errorf("no Kubernetes configuration: run inside a pod with a service account, set KUBECONFIG, or set currentSecret.kubernetes.kubeconfig: %w", err)
		}
		return nil, "", fmt.Errorf("loading Kubernetes configuration: %w", err)
	}
	via := "the in-cluster service account"
	if raw, rerr := cc.RawConfig(); rerr == nil && raw.CurrentContext != "" {
		via = "kubeconfig context " + raw.CurrentContext
	}
	return cfg, via, nil
}

// Read implements source.Reader. One trailing newline is dropped, as for a
// mounted file.
func (s *Source) Read(ctx context.Context) (credential.Secret, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultTimeout)
		defer cancel()
	}
	o := s.opts
	sec, err := s.secrets.Secrets(o.Namespace).Get(ctx, o.Name, metav1.GetOptions{})
	if err != nil {
		return credential.Secret{}, s.explain(err)
	}
	v, ok := sec.Data[o.Key]
	if !ok {
		keys := make([]string, 0, len(sec.Data))
		for k := range sec.Data {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		has := "no keys"
		if len(keys) > 0 {
			has = "keys " + strings.Join(keys, ", ")
		}
		return credential.Secret{}, fmt.Errorf("reading current secret: Secret %s/%s has no key %q (it has %s): set currentSecret.kubernetes.key to the right one: %w",
			o.Namespace, o.Name, o.Key, has, ErrKeyMissing)
	}
	str := strings.TrimSuffix(strings.TrimSuffix(string(v), "\n"), "\r")
	if str == "" {
		return credential.Secret{}, fmt.Errorf("reading current secret: %s: %w", s.Describe(), source.ErrEmpty)
	}
	return credential.NewSecret(str), nil
}

// explain wraps an API error with what to do about it. The API's status
// error stays reachable for apierrors.IsNotFound and friends.
func (s *Source) explain(err error) error {
	o := s.opts
	what := fmt.Sprintf("reading current secret from Secret %s/%s via %s", o.Namespace, o.Name, s.via)
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%s: %w (check currentSecret.kubernetes.namespace and name, and that the overlay was applied)", what, err)
	case apierrors.IsForbidden(err):
		return fmt.Errorf("%s: %w (grant get on secrets, resourceNames [%s], in namespace %s to the job's identity: the chart's RBAC does)", what, err, o.Name, o.Namespace)
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("%s: %w (the API rejected the credentials: check the kubeconfig or service account token)", what, err)
	default:
		return fmt.Errorf("%s: %w", what, err)
	}
}

// Describe implements source.Reader; it names the Secret, never its value.
func (s *Source) Describe() string {
	return fmt.Sprintf("Kubernetes Secret %s/%s key %s", s.opts.Namespace, s.opts.Name, s.opts.Key)
}
