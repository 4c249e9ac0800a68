package kube

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/credrotate/credrotate/pkg/credential/source"
)

const value = "s3cret-value"

func secret(data map[string]string) *corev1.Secret {
	s := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "credit", Name: "equifax-credentials"}, Data: map[string][]byte{}}
	for k, v := range data {
		s.Data[k] = []byte(v)
	}
	return s
}

func TestRead(t *testing.T) {
	opts := Options{Namespace: "credit", Name: "equifax-credentials", Key: "client_secret"}
	forbidden := func(cs *fake.Clientset) {
		cs.PrependReactor("get", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "equifax-credentials",
				fmt.Errorf(`User "system:serviceaccount:jobs:credrotate" cannot get resource "secrets"`))
		})
	}
	unavailable := func(cs *fake.Clientset) {
		cs.PrependReactor("get", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
			return true, nil, apierrors.NewServiceUnavailable("etcd is down")
		})
	}
	for _, tc := range []struct {
		name    string
		objects []runtime.Object
		react   func(*fake.Clientset)
		want    string
		wantIs  error
		wantAPI func(error) bool
		wantMsg []string
	}{
		{name: "value", objects: []runtime.Object{secret(map[string]string{"client_secret": value, "other": "x"})}, want: value},
		{name: "one trailing newline dropped", objects: []runtime.Object{secret(map[string]string{"client_secret": value + "\n"})}, want: value},
		{name: "missing key", objects: []runtime.Object{secret(map[string]string{"clientSecret": value, "id": "x"})},
			wantIs: ErrKeyMissing, wantMsg: []string{"credit/equifax-credentials", `no key "client_secret"`, "keys clientSecret, id", "currentSecret.kubernetes.key"}},
		{name: "empty value", objects: []runtime.Object{secret(map[string]string{"client_secret": ""})},
			wantIs: source.ErrEmpty, wantMsg: []string{"credit/equifax-credentials"}},
		{name: "not found", wantAPI: apierrors.IsNotFound,
			wantMsg: []string{"credit/equifax-credentials", "currentSecret.kubernetes.namespace and name"}},
		{name: "forbidden", react: forbidden, wantAPI: apierrors.IsForbidden,
			wantMsg: []string{"credit/equifax-credentials", "grant get on secrets, resourceNames [equifax-credentials], in namespace credit"}},
		{name: "unavailable", react: unavailable, wantAPI: apierrors.IsServiceUnavailable,
			wantMsg: []string{"credit/equifax-credentials"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cs := fake.NewClientset(tc.objects...)
			if tc.react != nil {
				tc.react(cs)
			}
			src, err := NewForClient(cs, opts)
			if err != nil {
				t.Fatal(err)
			}
			got, err := src.Read(context.Background())
			if tc.want != "" {
				if err != nil {
					t.Fatal(err)
				}
				if got.Reveal() != tc.want {
					t.Fatalf("read %q, want %q", got.Reveal(), tc.want)
				}
				return
			}
			if err == nil {
				t.Fatal("no error")
			}
			if tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Errorf("error %v is not %v", err, tc.wantIs)
			}
			if tc.wantAPI != nil && !tc.wantAPI(err) {
				t.Errorf("error %v lost its API status", err)
			}
			for _, m := range tc.wantMsg {
				if !strings.Contains(err.Error(), m) {
					t.Errorf("error %q does not say %q", err, m)
				}
			}
			if strings.Contains(err.Error(), value) {
				t.Errorf("error %q reveals the secret", err)
			}
		})
	}
}

func TestDescribeNeverPrintsTheValue(t *testing.T) {
	cs := fake.NewClientset(secret(map[string]string{"client_secret": value}))
	src, err := NewForClient(cs, Options{Namespace: "credit", Name: "equifax-credentials", Key: "client_secret"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := src.Read(context.Background()); err != nil {
		t.Fatal(err)
	}
	d := src.Describe()
	if d != "Kubernetes Secret credit/equifax-credentials key client_secret" {
		t.Errorf("Describe() = %q", d)
	}
	if strings.Contains(d, value) {
		t.Errorf("Describe() = %q reveals the secret", d)
	}
}

func TestOptionsValidated(t *testing.T) {
	for _, tc := range []struct {
		opts Options
		want string
	}{
		{Options{Name: "n", Key: "k"}, "currentSecret.kubernetes.namespace"},
		{Options{Namespace: "ns", Key: "k"}, "currentSecret.kubernetes.name"},
		{Options{Namespace: "ns", Name: "n"}, "currentSecret.kubernetes.key"},
	} {
		t.Run(tc.want, func(t *testing.T) {
			_, err := New(tc.opts)
			if !errors.Is(err, ErrInvalidOptions) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New(%+v) = %v, want ErrInvalidOptions naming %s", tc.opts, err, tc.want)
			}
		})
	}
}

func TestNewConfig(t *testing.T) {
	dir := t.TempDir()
	kubeconfig := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(`apiVersion: v1
kind: Config
clusters:
- name: c
  cluster: {server: "https://127.0.0.1:6443"}
users:
- name: u
  user: {token: abc}
contexts:
- name: ctx
  context: {cluster: c, user: u}
current-context: ctx
`), 0o600); err != nil {
		t.Fatal(err)
	}
	opts := Options{Namespace: "credit", Name: "equifax-credentials", Key: "client_secret"}

	t.Run("kubeconfig path", func(t *testing.T) {
		o := opts
		o.Kubeconfig = kubeconfig
		if _, err := New(o); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("missing kubeconfig path", func(t *testing.T) {
		o := opts
		o.Kubeconfig = filepath.Join(dir, "nope")
		_, err := New(o)
		if err == nil || !strings.Contains(err.Error(), "currentSecret.kubernetes.kubeconfig") {
			t.Fatalf("err = %v, want one naming currentSecret.kubernetes.kubeconfig", err)
		}
	})
	t.Run("KUBECONFIG", func(t *testing.T) {
		t.Setenv("KUBECONFIG", kubeconfig)
		src, err := New(opts)
		if err != nil {
			t.Fatal(err)
		}
		if src.via != "kubeconfig context ctx" {
			t.Errorf("via = %q", src.via)
		}
	})
	t.Run("nothing", func(t *testing.T) {
		t.Setenv("KUBECONFIG", filepath.Join(dir, "absent"))
		t.Setenv("HOME", dir)
		t.Setenv("KUBERNETES_SERVICE_HOST", "")
		t.Setenv("KUBERNETES_SERVICE_PORT", "")
		_, err := New(opts)
		if err == nil || !strings.Contains(err.Error(), "set KUBECONFIG") {
			t.Fatalf("err = %v, want the fix", err)
		}
	})
}
