package redact

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"net/url"
	"runtime"
	"slices"
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

// clientSecrets returns n random 40-character client secrets in the
// alphabet identity providers mint them in, and a client id for each.
func clientSecrets(n int) (ids, secrets []string) {
	const chars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_"
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range n {
		b := make([]byte, 40)
		for j := range b {
			b[j] = chars[rng.IntN(len(chars))]
		}
		ids = append(ids, fmt.Sprintf("client-%04d", i))
		secrets = append(secrets, string(b))
	}
	return ids, secrets
}

// BenchmarkAddRetained measures the heap a Redactor keeps per registered
// value, with the secrets of a thousand-key run (a current and a new secret
// and a token each, 3,000 in all) registered through AddBasic, three values
// each. The secrets themselves are allocated before the measurement.
func BenchmarkAddRetained(b *testing.B) {
	ids, secrets := clientSecrets(3000)
	sec := make([]credential.Secret, len(secrets))
	for i, s := range secrets {
		sec[i] = credential.NewSecret(s)
	}
	var retained, values float64
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		b.StartTimer()
		r := New()
		for i := range sec {
			r.AddBasic(ids[i], sec[i])
		}
		b.StopTimer()
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(r)
		retained += float64(after.HeapAlloc) - float64(before.HeapAlloc)
		values += float64(r.Len())
		b.StartTimer()
	}
	b.ReportMetric(retained/values, "retained-B/value")
	b.ReportMetric(retained/float64(b.N)/(1<<20), "retained-MiB")
}

// BenchmarkString64KiB masks 64 KiB of log text with the 3,000 secrets of a
// thousand-key run registered; one line in eight carries a secret, raw,
// base64-encoded or inside a Basic header.
func BenchmarkString64KiB(b *testing.B) {
	ids, secrets := clientSecrets(3000)
	r := New()
	for i := range secrets {
		r.AddBasic(ids[i], credential.NewSecret(secrets[i]))
	}
	rng := rand.New(rand.NewPCG(7, 8))
	var text strings.Builder
	for n := 0; text.Len() < 64<<10; n++ {
		i := rng.IntN(len(secrets))
		detail := fmt.Sprintf("request %08x to https://idp.example.com/oauth2/v1/clients/%s/secrets returned 200 after %dms", rng.Uint32(), ids[i], rng.IntN(900))
		switch n % 24 {
		case 0:
			detail = "client_secret " + secrets[i] + " is not valid"
		case 8:
			detail = "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(ids[i]+":"+secrets[i]))
		case 16:
			detail = "sealed " + base64.StdEncoding.EncodeToString([]byte(`{"secret":"`+secrets[i]+`"}`))
		}
		fmt.Fprintf(&text, `{"level":"info","msg":"rotation step","client_id":%q,"detail":%q,"trace_id":"%016x"}`+"\n", ids[i], detail, rng.Uint64())
	}
	in := text.String()[:64<<10]
	want := strings.Count(r.String(in), Mask)
	if want < 30 {
		b.Fatalf("only %d masks", want)
	}
	b.SetBytes(int64(len(in)))
	b.ReportAllocs()
	var out string
	for b.Loop() {
		out = r.String(in)
	}
	if strings.Count(out, Mask) != want {
		b.Fatal("masked differently")
	}
}

// referenceForms is Forms as it was first written, every form computed
// and kept as a string: the Redactor's index must mask exactly these.
func referenceForms(value string) []string {
	set := map[string]bool{}
	add := func(s string) {
		if len(s) >= MinLength {
			set[s] = true
		}
	}
	add(value)
	b := []byte(value)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		add(enc.EncodeToString(b))
	}
	for _, enc := range []*base64.Encoding{base64.RawStdEncoding, base64.RawURLEncoding} {
		for off := range 3 {
			buf := make([]byte, off+len(b))
			copy(buf[off:], b)
			s := enc.EncodeToString(buf)
			first, last := (off+2)/3, (off+len(b))/3
			if last <= first || 4*last > len(s) {
				continue
			}
			if c := s[4*first : 4*last]; len(c) >= minCore {
				add(c)
			}
		}
	}
	add(url.QueryEscape(value))
	add(url.PathEscape(value))
	if j, err := json.Marshal(value); err == nil {
		add(string(j[1 : len(j)-1]))
	}
	q := strconv.Quote(value)
	add(q[1 : len(q)-1])
	q = strconv.QuoteToASCII(value)
	add(q[1 : len(q)-1])
	out := make([]string, 0, len(set))
	for s := range set {
		out = append(out, s)
	}
	slices.Sort(out)
	return out
}

// referenceMask masks s the plain way: at each position, the longest of
// forms that s continues with.
func referenceMask(forms map[string]bool, s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		n := 0
		for f := range forms {
			if len(f) > n && strings.HasPrefix(s[i:], f) {
				n = len(f)
			}
		}
		if n == 0 {
			b.WriteByte(s[i])
			i++
			continue
		}
		b.WriteString(Mask)
		i += n
	}
	return b.String()
}

// TestFormsAreTheReference: Forms, and the form of each kind the index
// compares a text with, are what the first implementation computed.
func TestFormsAreTheReference(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(9, 10))
	for i := range 3000 {
		v := randomString(rng, 1, 60)
		if i%5 == 0 {
			b := make([]byte, 1+rng.IntN(60))
			for j := range b {
				b[j] = byte(rng.Uint32())
			}
			v = string(b) // not UTF-8
		}
		want := referenceForms(v)
		if got := Forms(v); !slices.Equal(got, want) {
			t.Fatalf("Forms(%q) =\n%q\nwant\n%q", v, got, want)
		}
		var kinds []string
		for k := range numKinds {
			f, ok := form(v, k)
			if !ok {
				continue
			}
			kinds = append(kinds, f)
			if !isForm(v, k, f) {
				t.Fatalf("isForm(%q, %d, %q) is false", v, k, f)
			}
			for _, other := range []string{f[:len(f)-1], f + "=", f[1:] + "A", "A" + f[:len(f)-1], f[:len(f)/2] + string(f[len(f)/2]^1) + f[len(f)/2+1:]} {
				if other != f && isForm(v, k, other) {
					t.Fatalf("isForm(%q, %d, %q) is true, the form is %q", v, k, other, f)
				}
			}
		}
		for _, f := range want {
			if !slices.Contains(kinds, f) {
				t.Fatalf("%q: no kind gives %q", v, f)
			}
		}
	}
}

// TestIndexMasksLikeTheReference registers values that crowd the index
// (many sharing their first eight bytes in many lengths, values that are
// forms or prefixes of others, registered in either order) and checks that
// String masks exactly what the plain longest-match scan does; again with
// form hashes that collide and prefixes that share their lengths, so every
// fallback path of the index is taken.
func TestIndexMasksLikeTheReference(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		new  func() *Redactor
	}{
		{"maphash", New},
		{"colliding", func() *Redactor {
			r := New()
			r.weakHash = func(s string) uint32 { return uint32(len(s) % 5) }
			r.prefixMask = 3
			return r
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			rng := rand.New(rand.NewPCG(11, 12))
			for range 200 {
				r := tc.new()
				forms := map[string]bool{}
				values := map[string]bool{}
				add := func(v string) {
					r.Add(v)
					if len(v) >= MinLength {
						values[v] = true
						for _, f := range referenceForms(v) {
							forms[f] = true
						}
					}
				}
				var registered []string
				for range 1 + rng.IntN(12) {
					var v string
					switch rng.IntN(5) {
					case 0:
						v = "shared-p" + randomString(rng, 0, 30)
					case 1:
						v = "shared-p" + strings.Repeat("x", rng.IntN(40))
					case 2:
						if len(registered) > 0 {
							fs := referenceForms(registered[rng.IntN(len(registered))])
							v = fs[rng.IntN(len(fs))]
							break
						}
						fallthrough
					case 3:
						if len(registered) > 0 {
							p := registered[rng.IntN(len(registered))]
							v = p[:rng.IntN(len(p)+1)]
							break
						}
						fallthrough
					default:
						v = randomString(rng, 4, 40)
					}
					add(v)
					registered = append(registered, v)
				}
				if r.Len() != len(values) {
					t.Fatalf("Len %d, want %d", r.Len(), len(values))
				}
				all := slices.Sorted(maps.Keys(forms))
				var in strings.Builder
				for range 1 + rng.IntN(10) {
					in.WriteString(randomString(rng, 0, 6))
					if len(all) > 0 {
						f := all[rng.IntN(len(all))]
						if rng.IntN(4) == 0 {
							f = f[:rng.IntN(len(f)+1)]
						}
						in.WriteString(f)
					}
				}
				want := referenceMask(forms, in.String())
				if got := r.String(in.String()); got != want {
					t.Fatalf("values %q\nin:   %q\ngot:  %q\nwant: %q", slices.Sorted(maps.Keys(values)), in.String(), got, want)
				}
			}
		})
	}
}

// TestLengthSets: whatever order lengths come in, a prefix's set of lengths
// (packed or not) holds each once, longest first.
func TestLengthSets(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(13, 14))
	for range 5000 {
		r := New()
		want := map[int]bool{}
		base := MinLength + rng.IntN(100)
		for range 1 + rng.IntN(6) {
			l := base + rng.IntN(20)
			switch rng.IntN(10) {
			case 0:
				l = MinLength + rng.IntN(300)
			case 1:
				l = 1<<lenBits - 2 + rng.IntN(4)
			}
			r.addLength(7, l)
			want[l] = true
			var got []int
			if e := r.lengths[7]; e == 0 {
				got = r.long[7]
			} else {
				got = unpackLengths(e)
			}
			w := slices.Sorted(maps.Keys(want))
			slices.Reverse(w)
			if !slices.Equal(got, w) {
				t.Fatalf("lengths %v, want %v", got, w)
			}
		}
	}
}

// TestSharedPrefixLongestWins: a hundred values share their first eight
// bytes, each one byte longer than the last; each is masked whole wherever
// it appears, and the text after it is not swallowed.
func TestSharedPrefixLongestWins(t *testing.T) {
	t.Parallel()
	r := New()
	const long = "client_secret=0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyz"
	var lengths []int
	for l := MinLength; l <= 110; l += 1 + l%3 {
		r.Add(long[:l])
		lengths = append(lengths, l)
	}
	for l := MinLength; l <= 110; l++ {
		in := "<" + long[:l] + ">"
		// The longest registered value that long[:l] starts with.
		m := 0
		for k := MinLength; k <= l; k += 1 + k%3 {
			m = k
		}
		want := "<" + Mask + long[m:l] + ">"
		if got := r.String(in); got != want {
			t.Fatalf("%q masked as %q, want %q", in, got, want)
		}
	}
	for _, l := range lengths {
		enc := base64.StdEncoding.EncodeToString([]byte(long[:l]))
		if got := r.String(enc + "!"); got != Mask+"!" {
			t.Fatalf("the base64 of %q is masked as %q", long[:l], got)
		}
	}
}

// TestConcurrentAddAndStringCrowded: values sharing their prefixes (and,
// with the colliding hash, every hash) are registered from several
// goroutines while others mask text holding values registered earlier
// (run with -race).
func TestConcurrentAddAndStringCrowded(t *testing.T) {
	t.Parallel()
	for _, weak := range []bool{false, true} {
		r := New()
		if weak {
			r.weakHash = func(s string) uint32 { return uint32(len(s) % 3) }
			r.prefixMask = 1
		}
		var wg sync.WaitGroup
		for g := range 4 {
			wg.Go(func() {
				for i := range 150 {
					s := fmt.Sprintf("shared-prefix-%d-%s", g, strings.Repeat("v", i))
					r.Add(s)
					b64 := base64.RawURLEncoding.EncodeToString([]byte(s))
					if out := r.String("x " + s + " y " + b64 + " z"); out != "x "+Mask+" y "+Mask+" z" {
						t.Errorf("just-registered %q masked as %q", s, out)
						return
					}
				}
			})
		}
		wg.Wait()
		if r.Len() != 600 {
			t.Fatalf("%d values, want 600", r.Len())
		}
	}
}
