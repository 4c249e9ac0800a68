package main

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{nil, {"notes"}, {"chart", "1.0.0"}, {"chart-docs", "-write"}, {"publish"}} {
		if err := run(args, io.Discard); !errors.Is(err, errUsage) {
			t.Errorf("%v: error %v, want the usage", args, err)
		}
	}
}

func TestDistVersion(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if _, err := distVersion(dir); err == nil {
		t.Error("a dist without metadata.json has a version")
	}
	for body, want := range map[string]string{
		`{"project_name":"credrotate","version":"0.0.1-snapshot-abc1234"}`: "0.0.1-snapshot-abc1234",
		`{"version":""}`: "",
		`not json`:       "",
	} {
		if err := os.WriteFile(filepath.Join(dir, "metadata.json"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		got, err := distVersion(dir)
		if got != want || (want == "") != (err != nil) {
			t.Errorf("%s: %q, %v; want %q", body, got, err, want)
		}
	}
}
