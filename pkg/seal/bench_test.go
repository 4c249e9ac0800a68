package seal

import (
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"sync"
	"syscall"
	"testing"
	"time"

	ssv1alpha1 "github.com/bitnami-labs/sealed-secrets/pkg/apis/sealedsecrets/v1alpha1"
	sscrypto "github.com/bitnami-labs/sealed-secrets/pkg/crypto"

	"github.com/credrotate/credrotate/pkg/credential"
)

// The benchmarks use 4096-bit keys, the size the controller makes.
var (
	benchOnce sync.Once
	benchKeys []*rsa.PrivateKey
)

func benchSetup(b *testing.B) ([]Environment, []Item) {
	b.Helper()
	benchOnce.Do(func() {
		for range 3 {
			k, err := rsa.GenerateKey(rand.Reader, 4096)
			if err != nil {
				b.Fatal(err)
			}
			benchKeys = append(benchKeys, k)
		}
	})
	var envs []Environment
	for i, name := range []string{"prod", "staging", "uat"} {
		k := benchKeys[i]
		envs = append(envs, Environment{Name: name, Path: "overlays/" + name + "/credentials",
			Cert: &Certificate{Env: name, PublicKey: &k.PublicKey}})
	}
	items := make([]Item, 1000)
	for i := range items {
		items[i] = Item{
			Ref:   SecretRef{Name: fmt.Sprintf("secret-%04d", i), Namespace: "credit", DataKey: "client_secret"},
			Value: credential.NewSecret(fmt.Sprintf("client-secret-value-%04d-%s", i, rand.Text())),
			Metadata: credential.Metadata{
				ProviderKey: credential.ProviderKey(fmt.Sprintf("equifax.client_%04d", i)),
				SecretID:    fmt.Sprintf("sec-%04d", i),
				ExpiresAt:   time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
				RotatedAt:   time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC),
				TraceID:     "bench",
			},
		}
	}
	return envs, items
}

// BenchmarkSeal1000x3 seals 1,000 secrets for three environments and
// writes the manifests and kustomizations (into memory): the whole of Write.
func BenchmarkSeal1000x3(b *testing.B) {
	envs, items := benchSetup(b)
	defer reportCPU(b)()
	for b.Loop() {
		fsys := &MemFS{}
		if _, err := Write(b.Context(), fsys, envs, items); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRawHybridEncrypt1000x3 is the floor: the library's bare
// HybridEncrypt of the same values with the same labels.
func BenchmarkRawHybridEncrypt1000x3(b *testing.B) {
	envs, items := benchSetup(b)
	defer reportCPU(b)()
	for b.Loop() {
		for _, env := range envs {
			for _, it := range items {
				label := ssv1alpha1.EncryptionLabel(it.Ref.Namespace, it.Ref.Name, ssv1alpha1.StrictScope)
				if _, err := sscrypto.HybridEncrypt(rand.Reader, env.Cert.PublicKey, []byte(it.Value.Reveal()), label); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
}

// reportCPU adds cpu-ns/op, the process's user+system CPU time per
// operation. On a shared machine wall time swings with other load; CPU time
// is what the comparison between the two benchmarks needs.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		if b.N > 0 {
			b.ReportMetric(float64((cpuTime()-start).Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
