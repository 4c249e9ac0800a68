package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/credrotate/credrotate/pkg/credential"
)

// encodings are the ways a value can leave the process that the Redactor
// must catch, each applied to the value alone.
var encodings = map[string]func(string) string{
	"raw":         func(s string) string { return s },
	"base64 std":  func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) },
	"base64 url":  func(s string) string { return base64.URLEncoding.EncodeToString([]byte(s)) },
	"base64 rstd": func(s string) string { return base64.RawStdEncoding.EncodeToString([]byte(s)) },
	"base64 rurl": func(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) },
	"query":       url.QueryEscape,
	"path":        url.PathEscape,
	"json": func(s string) string {
		b, _ := json.Marshal(s)
		return string(b[1 : len(b)-1])
	},
	"go quote": func(s string) string { q := strconv.Quote(s); return q[1 : len(q)-1] },
}

// alphabet makes secrets that exercise every escaping: URL-reserved
// characters, quotes, HTML characters JSON escapes, non-ASCII.
const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~+/=&?%#\"'<>\\ :;é漢"

func randomString(rng *rand.Rand, min, max int) string {
	runes := []rune(alphabet)
	n := min + rng.IntN(max-min+1)
	var b strings.Builder
	for range n {
		b.WriteRune(runes[rng.IntN(len(runes))])
	}
	return b.String()
}

// checkMasked asserts that no encoded form of secret survives in out.
func checkMasked(t *testing.T, secret, in, out string) {
	t.Helper()
	for name, enc := range encodings {
		f := enc(secret)
		if len(f) < MinLength {
			continue
		}
		if strings.Contains(out, f) {
			t.Fatalf("the %s form of secret %q survives:\nin:  %q\nout: %q", name, secret, in, out)
		}
	}
}

// TestNoEncodedFormSurvives is the property: for random secrets in random
// text, in every encoding, alone or several at once, nothing survives.
func TestNoEncodedFormSurvives(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		r := New()
		secrets := make([]string, 1+rng.IntN(3))
		for j := range secrets {
			secrets[j] = randomString(rng, MinLength, 48)
			r.Add(secrets[j])
		}
		var in strings.Builder
		for range 1 + rng.IntN(6) {
			in.WriteString(randomString(rng, 0, 20))
			s := secrets[rng.IntN(len(secrets))]
			for _, enc := range encodings {
				if rng.IntN(3) == 0 {
					in.WriteString(enc(s))
					in.WriteString(randomString(rng, 0, 3))
				}
			}
		}
		out := r.String(in.String())
		for _, s := range secrets {
			checkMasked(t, s, in.String(), out)
		}
		if i < 5 && !strings.Contains(out, Mask) && strings.Contains(in.String(), secrets[0]) {
			t.Fatalf("nothing masked in %q", in.String())
		}
	}
}

// TestBase64InsideLongerData: a secret base64-encoded together with other
// bytes (a Basic Authorization header, a JSON blob) at any alignment leaves
// at most the two partial groups at its edges, never its middle.
func TestBase64InsideLongerData(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	for range 500 {
		secret := randomString(rng, 16, 48)
		r := New()
		r.Add(secret)
		prefix, suffix := randomString(rng, 0, 10), randomString(rng, 0, 10)
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding} {
			blob := enc.EncodeToString([]byte(prefix + secret + suffix))
			out := r.String("Authorization: Basic " + blob)
			if !strings.Contains(out, Mask) {
				t.Fatalf("base64 of %q+secret+%q not masked: %q", prefix, suffix, out)
			}
			// What is left of the blob decodes to at most 4 bytes of the secret
			// (two partial groups of 2 bytes): try every window of the secret
			// longer than that.
			for _, part := range strings.Split(strings.TrimPrefix(out, "Authorization: Basic "), Mask) {
				for _, pad := range []string{"", "A", "AA", "AAA"} {
					dec, _ := enc.WithPadding(base64.NoPadding).Strict().DecodeString(strings.TrimRight(pad+part, "="))
					for w := 5; w <= len(secret); w++ {
						if bytes.Contains(dec, []byte(secret[:w])) || bytes.Contains(dec, []byte(secret[len(secret)-w:])) {
							if w > 6 {
								t.Fatalf("%d bytes of the secret survive in %q", w, part)
							}
						}
					}
				}
			}
		}
	}
}

func TestBasicAuthHeader(t *testing.T) {
	t.Parallel()
	r := New()
	sec := credential.NewSecret("s3cr3t&value/with+chars")
	r.AddBasic("0oa client", sec)
	for _, h := range []string{
		base64.StdEncoding.EncodeToString([]byte("0oa client:" + sec.Reveal())),
		base64.StdEncoding.EncodeToString([]byte(url.QueryEscape("0oa client") + ":" + url.QueryEscape(sec.Reveal()))),
	} {
		if out := r.String("got Basic " + h + " which is wrong"); out != "got Basic "+Mask+" which is wrong" {
			t.Errorf("header not masked whole: %q", out)
		}
	}
}

func TestShortValuesAreNotRegistered(t *testing.T) {
	t.Parallel()
	r := New()
	r.Add("prod")
	r.Add("")
	r.Add("1234567")
	if r.Len() != 0 {
		t.Fatalf("%d short values registered", r.Len())
	}
	if out := r.String("prod 1234567 true"); out != "prod 1234567 true" {
		t.Fatalf("masked %q", out)
	}
	r.Add("12345678")
	if out := r.String("x12345678y"); out != "x"+Mask+"y" {
		t.Fatalf("8 bytes not masked: %q", out)
	}
}

func TestNilRedactorPassesThrough(t *testing.T) {
	t.Parallel()
	var r *Redactor
	r.Add("a-long-enough-secret")
	if got := r.String("a-long-enough-secret"); got != "a-long-enough-secret" {
		t.Fatal(got)
	}
	var buf bytes.Buffer
	if r.Writer(&buf) != &buf {
		t.Fatal("a nil redactor must hand back the writer")
	}
	err := errors.New("x")
	if r.Error(err) != err {
		t.Fatal("a nil redactor must hand back the error")
	}
}

func TestErrorKeepsChain(t *testing.T) {
	t.Parallel()
	r := New()
	r.Add("hunter2hunter2")
	sentinel := errors.New("sentinel")
	err := r.Error(fmt.Errorf("client_secret hunter2hunter2 is not valid: %w", sentinel))
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("not masked: %v", err)
	}
	if !errors.Is(err, sentinel) {
		t.Fatal("errors.Is does not see through")
	}
	if r.Error(nil) != nil {
		t.Fatal("nil error must stay nil")
	}
}

// TestLogrusSinks: a logger writing through the Redactor's writer masks the
// value in the JSON formatter (which escapes <, >, & and quotes) and the
// text formatter (which quotes with %q), in messages and fields.
func TestLogrusSinks(t *testing.T) {
	t.Parallel()
	const secret = `p<a>ss&"wo\rd-é`
	for _, f := range []logrus.Formatter{&logrus.JSONFormatter{}, &logrus.TextFormatter{DisableColors: true}} {
		r := New()
		r.Add(secret)
		var buf bytes.Buffer
		l := logrus.New()
		l.SetOutput(r.Writer(&buf))
		l.SetFormatter(f)
		l.WithError(errors.New("server said: client_secret "+secret+" is not valid")).WithField("quoted", secret).Warn("msg " + secret)
		checkMasked(t, secret, "(log line)", buf.String())
		if strings.Count(buf.String(), Mask) < 3 {
			t.Errorf("%T: want three masks in %s", f, buf.String())
		}
	}
}

func TestWriterReportsFullLength(t *testing.T) {
	t.Parallel()
	r := New()
	r.Add("0123456789abcdef")
	var buf bytes.Buffer
	n, err := io.WriteString(r.Writer(&buf), "k=0123456789abcdef\n")
	if err != nil || n != len("k=0123456789abcdef\n") {
		t.Fatalf("n=%d err=%v", n, err)
	}
	if buf.String() != "k="+Mask+"\n" {
		t.Fatalf("%q", buf.String())
	}
	if Unwrap(r.Writer(&buf)) != &buf {
		t.Fatal("Unwrap does not return the underlying writer")
	}
}

// TestConcurrentUse: registering while masking from many goroutines (run
// with -race).
func TestConcurrentUse(t *testing.T) {
	t.Parallel()
	r := New()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				s := fmt.Sprintf("secret-%d-%04d-value", g, i)
				r.Add(s)
				if out := r.String("x " + s + " y"); strings.Contains(out, s) {
					t.Errorf("just-registered %q not masked", s)
					return
				}
			}
		}()
	}
	wg.Wait()
	if r.Len() != 1600 {
		t.Fatalf("%d values, want 1600", r.Len())
	}
}

func TestBound(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		max  int
		want string
	}{
		{"short", 512, "short"},
		{strings.Repeat("a", 40), 20, strings.Repeat("a", 20-len(Truncated)) + Truncated},
		// A cut never splits a rune.
		{strings.Repeat("é", 20), 17, strings.Repeat("é", 1) + Truncated},
	} {
		got := Bound(tc.in, tc.max)
		if got != tc.want {
			t.Errorf("Bound(%q, %d) = %q, want %q", tc.in, tc.max, got, tc.want)
		}
		if len(got) > tc.max {
			t.Errorf("Bound(%q, %d) is %d bytes", tc.in, tc.max, len(got))
		}
	}
}

// FuzzRedact: for any secret long enough to register and any surrounding
// text, no encoded form survives.
func FuzzRedact(f *testing.F) {
	f.Add("client-secret-value", "error: ", " is not valid")
	f.Add(`a"b\c<d>e&f`, `{"description":"`, `"}`)
	f.Add("ééééééééé", "", "")
	f.Fuzz(func(t *testing.T, secret, prefix, suffix string) {
		if len(secret) < MinLength {
			return
		}
		r := New()
		r.Add(secret)
		var in strings.Builder
		in.WriteString(prefix)
		for _, enc := range encodings {
			in.WriteString(enc(secret) + suffix)
		}
		checkMasked(t, secret, in.String(), r.String(in.String()))
	})
}

// BenchmarkString masks a 300-byte log line with the secrets of a
// thousand-key run registered (a current and a new secret and a token
// each, with their Basic forms).
func BenchmarkString(b *testing.B) {
	r := New()
	for i := range 1000 {
		r.AddBasic(fmt.Sprintf("0oaclient%04d", i), credential.NewSecret(fmt.Sprintf("current-secret-%04d-abcdefghijklmnop", i)))
		r.Add(fmt.Sprintf("new-secret-%04d-abcdefghijklmnopqrst", i))
		r.Add(fmt.Sprintf("efx.token-%04d-abcdefghijklmnopqrstuvwxyz", i))
	}
	line := `{"level":"warning","msg":"equifax call failed","op":"renew","client_id":"0oaclient0042","error":"equifax renew: transient failure (503.01): service unavailable (client_secret \"new-secret-0042-abcdefghijklmnopqrst\" is not valid)","trace_id":"e4d0a66cd58ae12f"}`
	b.SetBytes(int64(len(line)))
	b.ResetTimer()
	for range b.N {
		if strings.Contains(r.String(line), "new-secret-0042") {
			b.Fatal("not masked")
		}
	}
}
