package demo_test

import (
	"context"
	"testing"
	"time"

	"github.com/credrotate/credrotate/internal/sandbox/demo"
	"github.com/credrotate/credrotate/pkg/equifax"
)

func TestStartExpiresIn(t *testing.T) {
	day := 24 * time.Hour
	cases := []struct {
		name      string
		expiresIn time.Duration
		want      []time.Duration
	}{
		{"spread by default", 0, []time.Duration{5 * day, 10 * day, 60 * day, 120 * day, 5 * day}},
		{"every key due", 5 * day, []time.Duration{5 * day, 5 * day, 5 * day, 5 * day, 5 * day}},
		{"no key due", 120 * day, []time.Duration{120 * day, 120 * day, 120 * day, 120 * day, 120 * day}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			w, err := demo.Start(ctx, demo.Options{Dir: t.TempDir(), Keys: len(tc.want), ExpiresIn: tc.expiresIn})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(w.Close)
			now := w.Emulator.Now()
			for i, k := range w.Keys {
				if k.ExpiresIn != tc.want[i] {
					t.Errorf("%s: ExpiresIn = %s, want %s", k.Key, k.ExpiresIn, tc.want[i])
				}
				info, ok := w.Emulator.Client(k.ClientID)
				if !ok {
					t.Fatalf("%s: client %s not seeded", k.Key, k.ClientID)
				}
				var active *equifax.SecretInfo
				for j := range info.Secrets {
					if info.Secrets[j].Status == equifax.StatusActive {
						active = &info.Secrets[j]
					}
				}
				if active == nil {
					t.Fatalf("%s: no active secret", k.Key)
				}
				if left := active.ExpiresAt.Sub(now); left < tc.want[i]-time.Minute || left > tc.want[i]+time.Minute {
					t.Errorf("%s: secret expires in %s, want about %s", k.Key, left, tc.want[i])
				}
			}
			// The seeded world proves itself: every manifest decrypts to
			// the secret Equifax holds.
			if _, err := w.Prove(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}
