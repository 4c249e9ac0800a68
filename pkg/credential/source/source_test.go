package source

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFileAndEnv(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "secret")
	if err := os.WriteFile(good, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CREDROTATE_TEST_SECRET", "from-env")
	for _, tc := range []struct {
		name    string
		r       Reader
		want    string
		wantErr string
	}{
		{"file", File(good), "s3cret", ""},
		{"missing file", File(filepath.Join(dir, "nope")), "", "no such file"},
		{"empty file", File(empty), "", "empty"},
		{"env", Env("CREDROTATE_TEST_SECRET"), "from-env", ""},
		{"unset env", Env("CREDROTATE_TEST_UNSET"), "", "is not set"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := tc.r.Read(context.Background())
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Reveal() != tc.want {
				t.Fatalf("got %q", s.Reveal())
			}
		})
	}
	if _, err := File(empty).Read(context.Background()); !errors.Is(err, ErrEmpty) {
		t.Fatalf("empty file: %v is not ErrEmpty", err)
	}
}
